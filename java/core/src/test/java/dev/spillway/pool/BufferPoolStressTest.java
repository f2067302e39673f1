package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import java.util.stream.Stream;
import org.junit.jupiter.params.provider.Arguments;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.IoBackend;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Threads pin, write, read and flush under memory pressure (the working set, 96 pages of 4 KiB
 * and 96 of 8 KiB, is 12x the limit, or 4.5x at the limit where the pure-Java backend compacts)
 * for a bounded time, then every page's contents and the pool's invariants are checked,
 * before and after a reopen.
 *
 * <p>Each page is owned by one thread (page % threads), which alone writes it: pins are not
 * latches, so this is how a caller keeps concurrent writers apart. Every page carries its version
 * in every slot, so a torn or stale page shows. Other threads read any page while the owner may be
 * writing it, checking only that its version never goes backwards.
 */
class BufferPoolStressTest extends PoolTestBase {
    static final int THREADS = 3;
    static final int PAGES = 96;
    static final int PS = 4096;
    static final long RUN_MILLIS = 1000;

    /** The limit, in pages of {@link #PS}. */
    static final int LIMIT_PAGES = 24;
    /**
     * A limit for the pure-Java backend at which slabs hold 4 and 2 frames of the two page sizes
     * (a sixteenth of the limit), so free slots gather in slabs and compaction moves pages under
     * the threads' pins; at {@link #LIMIT_PAGES} a slab holds one frame and nothing moves.
     */
    static final int COMPACTING_LIMIT_PAGES = 64;

    static Stream<Arguments> backendsAndPolicies() {
        List<Arguments> list = new ArrayList<>();
        for (IoBackend b : Backends.available()) {
            list.add(Arguments.of(b, "test-lru", LIMIT_PAGES));
        }
        for (String policy : EvictionPolicies.names()) {
            list.add(Arguments.of(Backends.available().get(0), policy, LIMIT_PAGES));
        }
        list.add(Arguments.of(Backends.open(BackendKind.NIO), "test-lru", COMPACTING_LIMIT_PAGES));
        return list.stream();
    }

    @ParameterizedTest
    @MethodSource("backendsAndPolicies")
    void pinsWritesFlushesUnderMemoryPressure(IoBackend b, String policy, int limitPages) throws Exception {
        BufferManager.Builder builder = BufferManager.builder().backend(b).memoryLimit(limitPages * (long) PS);
        StandardBufferManager m = policy.equals("test-lru") ? manager(builder) : managerWithPolicy(builder.evictionPolicy(policy));
        assertEquals(policy, m.policyName());
        PageFile[] files = {m.createPageFile(dir.resolve("s0.pf"), PS), m.createPageFile(dir.resolve("s1.pf"), 8192)};
        AtomicLongArray versions = new AtomicLongArray(2 * PAGES + 2);
        for (PageFile f : files) {
            for (int i = 1; i <= PAGES; i++) {
                f.allocatePage();
            }
        }
        AtomicLong ops = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
        ExecutorService ex = Executors.newFixedThreadPool(THREADS);
        List<Future<?>> fs = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int me = t;
            fs.add(ex.submit(() -> {
                SplittableRandom r = new SplittableRandom(me * 7919L);
                while (System.nanoTime() < deadline) {
                    int fi = r.nextInt(2);
                    PageFile f = files[fi];
                    long page = 1 + r.nextInt(PAGES);
                    int op = r.nextInt(100);
                    // at most 3 threads x 2 pins x 8 KiB are pinned at once, half the smaller limit, so a
                    // MemoryLimitExceededException here would be a false "all pinned" and fails the test
                    if (op < 45 && page % THREADS == me) {
                        int slot = (int) (fi * PAGES + page);
                        long v = versions.get(slot) + 1;
                        try (PageHandle h = f.pin(page, AccessIntent.WRITE)) {
                            stamp(h, v);
                        }
                        versions.set(slot, v);
                    } else if (op < 90) {
                        int slot = (int) (fi * PAGES + page);
                        long floor = page % THREADS == me ? versions.get(slot) : 0;
                        try (PageHandle h = f.pin(page, AccessIntent.READ)) {
                            long v = h.getLong(0);
                            if (page % THREADS == me) {
                                checkStamp(h, v); // nobody else writes my pages: it must be whole
                                assertEquals(floor, v, "page " + page + " of " + f.path() + " lost an update");
                            } else {
                                assertTrue(v >= 0);
                            }
                        }
                    } else if (op < 93) {
                        f.flush();
                    } else {
                        // hold two pins at once, the way an index descent does
                        try (PageHandle a = f.pin(page, AccessIntent.READ);
                                PageHandle c = files[1 - fi].pin(1 + r.nextInt(PAGES), AccessIntent.READ)) {
                            assertTrue(a.getLong(0) >= 0 && c.getLong(0) >= 0);
                        }
                    }
                    ops.incrementAndGet();
                }
                return null;
            }));
        }
        for (Future<?> fu : fs) {
            fu.get(60, TimeUnit.SECONDS);
        }
        ex.shutdown();
        assertTrue(ops.get() > 1000, "too few operations: " + ops.get());
        m.checkInvariants();
        if (limitPages == COMPACTING_LIMIT_PAGES) {
            System.out.printf("stress on %s at %d pages: %d pages moved, %d evictions, %d operations%n", b.kind(), limitPages,
                    m.pagesMovedForTest(), m.stats().pageEvictions(), ops.get());
            assertTrue(m.pagesMovedForTest() > 0, "compaction moved pages during the run");
        }
        for (int fi = 0; fi < 2; fi++) {
            for (int page = 1; page <= PAGES; page++) {
                try (PageHandle h = files[fi].pin(page, AccessIntent.READ)) {
                    assertEquals(versions.get(fi * PAGES + page), h.getLong(0), "page " + page + " of file " + fi);
                    checkStamp(h, h.getLong(0));
                }
            }
        }
        m.close();
        StandardBufferManager m2 = manager(b, 24L * PS);
        for (int fi = 0; fi < 2; fi++) {
            PageFile f = m2.openPageFile(dir.resolve("s" + fi + ".pf"));
            for (int page = 1; page <= PAGES; page++) {
                try (PageHandle h = f.pin(page, AccessIntent.READ)) {
                    assertEquals(versions.get(fi * PAGES + page), h.getLong(0), "after reopen: page " + page);
                    checkStamp(h, h.getLong(0));
                }
            }
        }
    }

    private static void stamp(PageHandle h, long v) {
        for (int off = 0; off + 8 <= h.size(); off += 8) {
            h.putLong(off, off == 0 ? v : v * 1_000_003L + off + h.pageNumber());
        }
    }

    private static void checkStamp(PageHandle h, long v) {
        for (int off = 8; off + 8 <= h.size(); off += 8) {
            long want = v == 0 ? 0 : v * 1_000_003L + off + h.pageNumber();
            if (h.getLong(off) != want) {
                throw new AssertionError("page " + h.pageNumber() + " of " + h.file().path() + " is torn at " + off
                        + ": version " + v);
            }
        }
    }
}
