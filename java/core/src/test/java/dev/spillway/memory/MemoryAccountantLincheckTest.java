package dev.spillway.memory;

import dev.spillway.MemoryTag;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.strategy.managed.modelchecking.ModelCheckingOptions;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the accountant's lock-free reservation against the limit (lincheck model
 * checking): every concurrent history of reservations under two tags must equal some sequential
 * order of the same calls, so usage never passes the limit and no reservation is lost.
 *
 * <p>Per-tag counters are deliberately not part of this check: lincheck showed that an observer
 * can see the total updated before the tag (see MemoryAccountant's consistency note).
 */
@Param(name = "bytes", gen = IntGen.class, conf = "1:3")
public class MemoryAccountantLincheckTest {
    private final MemoryAccountant acct = new MemoryAccountant(5);

    @Operation
    public boolean tryReserveHash(@Param(name = "bytes") int bytes) {
        return acct.tryReserve(MemoryTag.HASH_TABLE, bytes);
    }

    @Operation
    public boolean tryReservePages(@Param(name = "bytes") int bytes) {
        return acct.tryReserve(MemoryTag.PAGE_CACHE, bytes);
    }

    @Operation
    public long used() {
        return acct.used();
    }

    @Test
    public void modelCheck() {
        LinChecker.check(MemoryAccountantLincheckTest.class,
                new ModelCheckingOptions().iterations(20).invocationsPerIteration(300));
    }
}
