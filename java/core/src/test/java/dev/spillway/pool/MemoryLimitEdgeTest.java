package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferManager;
import dev.spillway.MemoryLimitExceededException;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.io.IoBackend;
import dev.spillway.testing.HeapHistogram;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The memory limit at its edges: requests larger than the whole limit, limits of one byte and of Long.MAX_VALUE. */
class MemoryLimitEdgeTest extends PoolTestBase {

    /**
     * A request that cannot fit even an empty pool is the caller's sizing error, not a pool full
     * of pinned data: the message must say so, not "nothing more can be evicted (all pinned)".
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aRequestLargerThanTheLimitSaysSo(IoBackend backend) throws Exception {
        StandardBufferManager bm = manager(BufferManager.builder().backend(backend).memoryLimit(100_000)
                .temporaryDirectory(dir.resolve("tmp")));
        MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class,
                () -> bm.allocateBuffer(MemoryTag.HASH_TABLE, 98_305)); // 102,400 bytes with the 4 KiB rounding
        assertEquals(102_400, e.requested());
        assertEquals(100_000, e.limit());
        assertTrue(e.getMessage().contains("larger than the whole 100000-byte memory limit"), e.getMessage());
        assertFalse(e.getMessage().contains("all pinned"), e.getMessage());

        bm.setMemoryLimit(1);
        try (PageFile f = bm.createPageFile(dir.resolve("a.pages"), 4096)) {
            MemoryLimitExceededException p = assertThrows(MemoryLimitExceededException.class, f::allocatePage);
            assertTrue(p.getMessage().contains("larger than the whole 1-byte memory limit"), p.getMessage());
        }
        assertEquals(0, bm.memoryUsed());
    }

    /**
     * {@code memoryLimit(Long.MAX_VALUE)}, "no limit", makes the policy's capacity hint
     * Integer.MAX_VALUE pages: no policy may allocate for that many up front (the pool grows its
     * tables as pages come).
     */
    @ParameterizedTest
    @MethodSource("dev.spillway.eviction.EvictionPolicies#names")
    void anUnboundedLimitAllocatesNoHugeTables(String policy) throws Exception {
        long before = liveHeap();
        StandardBufferManager bm = managerWithPolicy(BufferManager.builder().memoryLimit(Long.MAX_VALUE)
                .evictionPolicy(policy).temporaryDirectory(dir.resolve("tmp")));
        long grew = liveHeap() - before;
        assertTrue(grew < 64L << 20, policy + " holds " + grew + " more bytes of heap for an unbounded limit");
        try (PageFile f = bm.createPageFile(dir.resolve("a.pages"), 4096)) {
            for (int i = 0; i < 100; i++) {
                f.allocatePage();
            }
        }
    }

    private static long liveHeap() throws Exception {
        return HeapHistogram.live().values().stream().mapToLong(Long::longValue).sum();
    }
}
