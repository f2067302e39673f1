package dev.spillway.hostile;

import dev.spillway.BufferHandle;
import dev.spillway.MemoryTag;
import dev.spillway.TransientBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.memory.MemoryAccountant;
import dev.spillway.spill.SpillCompression;
import dev.spillway.spill.TemporaryFileManager;
import dev.spillway.spill.TransientBufferPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.List;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.strategy.stress.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of transient buffers (lincheck, stress mode): pin-and-read, pin-and-write and
 * free on three buffers under a memory limit of two, so pins of spilled buffers spill others to
 * temporary files (eviction) and read them back. Each history must match a sequential order of
 * the same calls on {@link Model}, three values. Every buffer carries its value in every slot, so
 * a half-read-back or torn buffer fails the check; after each scenario the pool's validator runs.
 *
 * <p>Stress mode for the same reason as {@link BufferPoolLincheckTest}: spill and read-back are
 * native I/O, which lincheck's model checker cannot schedule inside.
 */
@Param(name = "buf", gen = IntGen.class, conf = "0:2")
@Param(name = "value", gen = IntGen.class, conf = "1:3")
public class TransientBufferLincheckTest {
    static final int SIZE = 8192;
    static final int BUFFERS = 3;
    private static final IoBackend BACKEND = Backends.open(BackendKind.AUTO);

    private static TransientBufferLincheckTest previous;

    private final Path scratch;
    private final MemoryAccountant accountant = new MemoryAccountant(2L * SIZE);
    private final TransientBufferPool pool;
    private final TransientBuffer[] buffers = new TransientBuffer[BUFFERS];
    private final ReentrantReadWriteLock[] latches = new ReentrantReadWriteLock[BUFFERS];

    public TransientBufferLincheckTest() {
        closePrevious();
        scratch = LincheckFiles.newScratch("transient");
        pool = new TransientBufferPool(BACKEND, accountant, new TemporaryFileManager.Config(List.of(scratch.resolve("t")),
                TemporaryFileManager.SIZE_UNLIMITED, SpillCompression.none()));
        for (int i = 0; i < BUFFERS; i++) {
            try (BufferHandle h = pool.allocate(MemoryTag.HASH_TABLE, SIZE)) {
                buffers[i] = h.transientBuffer();
            }
            latches[i] = new ReentrantReadWriteLock();
            write(i, initial(i)); // not zero: a buffer handed out before it is read back (zeros) cannot pass for one
        }
        synchronized (TransientBufferLincheckTest.class) {
            previous = this;
        }
    }

    private static synchronized void closePrevious() {
        if (previous != null) {
            previous.pool.close();
            LincheckFiles.deleteTree(previous.scratch);
            previous = null;
        }
    }

    /** The buffer's value, or -1 once freed; a torn or half-read-back buffer is an AssertionError. */
    @Operation
    public long read(@Param(name = "buf") int i) {
        latches[i].readLock().lock();
        try {
            if (buffers[i].state() == TransientBuffer.State.FREED) {
                return -1;
            }
            try (BufferHandle h = buffers[i].pin()) {
                ByteBuffer b = h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                long v = b.getLong(0);
                for (int off = 8; off + 8 <= SIZE; off += 8) {
                    if (b.getLong(off) != BufferPoolLincheckTest.pattern(v, off)) {
                        throw new AssertionError("buffer " + i + " torn at " + off + ": value " + v);
                    }
                }
                return v;
            }
        } finally {
            latches[i].readLock().unlock();
        }
    }

    /** Writes the value into every slot; false once freed. */
    @Operation
    public boolean write(@Param(name = "buf") int i, @Param(name = "value") int value) {
        latches[i].writeLock().lock();
        try {
            if (buffers[i].state() == TransientBuffer.State.FREED) {
                return false;
            }
            try (BufferHandle h = buffers[i].pin()) {
                ByteBuffer b = h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                for (int off = 0; off + 8 <= SIZE; off += 8) {
                    b.putLong(off, off == 0 ? value : BufferPoolLincheckTest.pattern(value, off));
                }
                return true;
            }
        } finally {
            latches[i].writeLock().unlock();
        }
    }

    /** Frees the buffer (its memory or its temporary block); false if it was freed already. */
    @Operation
    public boolean free(@Param(name = "buf") int i) {
        latches[i].writeLock().lock();
        try {
            if (buffers[i].state() == TransientBuffer.State.FREED) {
                return false;
            }
            buffers[i].free();
            return true;
        } finally {
            latches[i].writeLock().unlock();
        }
    }

    /** After each scenario: states, queue, temporary bytes and memory accounting agree. */
    @Validate
    public void invariants() {
        List<String> problems = pool.checkInvariants();
        if (!problems.isEmpty()) {
            throw new AssertionError(problems.toString());
        }
        if (accountant.used() != pool.residentBytes()) {
            throw new AssertionError("accountant says " + accountant.used() + " bytes, buffers hold " + pool.residentBytes());
        }
    }

    static int initial(int i) {
        return 10 * (i + 1);
    }

    /** The sequential specification: a value per buffer, or freed. */
    public static class Model {
        private final long[] values = new long[BUFFERS];
        private final boolean[] freed = new boolean[BUFFERS];

        public Model() {
            for (int i = 0; i < BUFFERS; i++) {
                values[i] = initial(i);
            }
        }

        public long read(int i) {
            return freed[i] ? -1 : values[i];
        }

        public boolean write(int i, int value) {
            if (freed[i]) {
                return false;
            }
            values[i] = value;
            return true;
        }

        public boolean free(int i) {
            if (freed[i]) {
                return false;
            }
            freed[i] = true;
            return true;
        }
    }

    @Test
    public void stress() {
        LinChecker.check(TransientBufferLincheckTest.class, new StressOptions()
                .sequentialSpecification(Model.class)
                .actorsBefore(2).threads(2).actorsPerThread(4).actorsAfter(2)
                .iterations(LincheckFiles.scaled(10)).invocationsPerIteration(LincheckFiles.scaled(150)));
    }

    @AfterAll
    public static void closeLast() {
        closePrevious();
    }
}
