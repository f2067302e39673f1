package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import dev.spillway.testing.HeapHistogram;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ConcurrentLinkedQueue;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLongArray;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Frames carved from slabs ({@link FrameMemory}): many frames per slab; a freed frame's slot reads
 * as zeros when an allocation reuses it; empty slabs stay mapped (their memory discarded) where
 * the backend can discard, and where it cannot, compaction moves the pages of the emptiest slab
 * into the others and frees it (pages in use stay); a view kept past its unpin never reaches
 * unmapped memory; and the heap per resident page stays within the stated 64 bytes on every backend.
 */
class FrameMemoryTest extends PoolTestBase {

    /** Slabs for {@code frames} frames of 4 KiB filled in order (their slab size depends on the limit where memory is not discarded). */
    private static int expectedSlabs(FrameMemory fm, int frames) {
        return expectedSlabs(fm, 4096, frames);
    }

    private static int expectedSlabs(FrameMemory fm, int pageSize, int frames) {
        int perSlab = fm.slabFrames(pageSize);
        return (frames + perSlab - 1) / perSlab;
    }

    /** Allocates {@code n} pages of {@code f} and fills each with the pattern of {@code seed}. */
    private static long[] allocateWritten(PageFile f, int n, long seed) {
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = f.allocatePage();
            write(f, pages[i], seed);
        }
        return pages;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void slabsHoldManyFramesAndFreedSlotsComeBackZeroed(IoBackend backend) {
        StandardBufferManager m = manager(backend, 4L << 20); // 1,024 pages of 4 KiB
        FrameMemory fm = m.frameMemoryForTest();
        PageFile f = m.createPageFile(dir.resolve("slabs.pf"), 4096);
        int n = 600;
        long[] pages = allocateWritten(f, n, 5);
        assertEquals(expectedSlabs(fm, n), fm.slabs(), "slabs for " + n + " resident frames");
        m.checkInvariants();
        for (int i = 0; i < n; i++) {
            verify(f, pages[i], 5);
        }
        for (long p : pages) {
            f.freePage(p);
        }
        // Where memory can be discarded: the first 256 freed (slab 0's) are kept warm, the rest are
        // discarded, and every slab stays mapped. Elsewhere a slab goes with its last frame.
        assertEquals(backend.canDiscard() ? expectedSlabs(fm, n) : 0, fm.slabs(), "slabs stay mapped where memory can be discarded");
        assertEquals(backend.canDiscard() ? FrameMemory.WARM_BYTES : 0, fm.warmBytes(), "freed memory kept warm");
        m.checkInvariants();
        // the free list hands the same pages out again, over discarded slots (never warm ones, which hold old contents)
        for (int i = 0; i < n; i++) {
            long p = f.allocatePage();
            try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                for (int off = 0; off + 8 <= h.size(); off += 8) {
                    if (h.getLong(off) != 0) {
                        throw new AssertionError("allocated page " + p + " is not zero at " + off + " on " + backend.kind());
                    }
                }
            }
        }
        m.checkInvariants();
        // 600 allocations over 512 discarded slots and one new slab: slabs never exceed the peak plus one
        // (without discard, fresh slabs: as many as the first time)
        assertEquals(expectedSlabs(fm, n + (backend.canDiscard() ? FrameMemory.SLAB_FRAMES : 0)), fm.slabs());
    }

    /**
     * A view kept past its unpin is forbidden, but a ByteBuffer cannot be revoked: once its page is
     * gone it must read zeros (a discarded slot) or the old bytes (the pure-Java backend's buffer,
     * kept alive by the view), never unmapped memory. Three slabs' frames are freed in order: the
     * first slab's go warm, the second and third slabs empty; the stale view is into the third.
     * Unmapping an emptied slab would crash the test's JVM here.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aViewKeptPastItsUnpinNeverReachesUnmappedMemory(IoBackend backend) {
        StandardBufferManager m = manager(backend, 4L << 20);
        FrameMemory fm = m.frameMemoryForTest();
        PageFile f = m.createPageFile(dir.resolve("stale.pf"), 4096);
        int n = 2 * FrameMemory.SLAB_FRAMES + 10;
        long[] pages = allocateWritten(f, n, 9);
        java.nio.ByteBuffer stale;
        try (PageHandle h = f.pin(pages[n - 1], AccessIntent.READ)) {
            stale = h.buffer();
        }
        for (long p : pages) {
            f.freePage(p);
        }
        long nonZero = 0;
        for (int off = 0; off + 8 <= stale.capacity(); off += 8) {
            nonZero += stale.getLong(off) != 0 ? 1 : 0;
        }
        if (backend.canDiscard()) {
            assertEquals(0, nonZero, "a discarded slot reads as zeros");
        } else {
            assertTrue(nonZero > 0, "the pure-Java backend's buffer still holds the old bytes");
        }
        assertEquals(backend.canDiscard() ? expectedSlabs(fm, n) : 0, fm.slabs(), "empty slabs stay mapped where they are shared");
        m.checkInvariants();
    }

    /** A discard the OS refuses still leaves the slot reading as zeros: the next allocation there is a zero page. */
    @ParameterizedTest
    @MethodSource("backends")
    void aRefusedDiscardStillZeroesTheSlot(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 7);
        StandardBufferManager m = manager(io, 4L << 20);
        PageFile f = m.createPageFile(dir.resolve("refused.pf"), 4096);
        int warmSlots = FrameMemory.WARM_BYTES / 4096;
        int n = warmSlots + 40;
        long[] pages = allocateWritten(f, n, 13);
        io.inject(Op.DISCARD).errno(Errno.EINVAL);
        for (long p : pages) {
            f.freePage(p); // the first warmSlots go warm, the other 40 are discarded: refused every time
        }
        assertEquals(backend.canDiscard() ? 40 : 0, io.injected(Op.DISCARD), "refused discards");
        m.checkInvariants();
        for (int i = 0; i < n; i++) {
            long p = f.allocatePage();
            try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                for (int off = 0; off + 8 <= h.size(); off += 8) {
                    assertEquals(0, h.getLong(off), "allocated page " + p + " at " + off + " on " + backend.kind());
                }
            }
        }
        io.clear();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void evictionReusesSlotsAndKeepsEveryPagesContents(IoBackend backend) {
        StandardBufferManager m = manager(backend, 64 * 4096); // 64 frames for 300 pages
        PageFile f = m.createPageFile(dir.resolve("evict.pf"), 4096);
        int n = 300;
        for (int i = 0; i < n; i++) {
            write(f, f.allocatePage(), 11);
        }
        for (int round = 0; round < 3; round++) {
            for (long p = 1; p <= n; p++) {
                verify(f, p, 11);
            }
        }
        assertTrue(m.stats().pageEvictions() > 0, "the working set is larger than the limit");
        FrameMemory fm = m.frameMemoryForTest();
        assertTrue(fm.slabs() <= expectedSlabs(fm, 64) + 1,
                "eviction reuses freed slots instead of mapping new slabs: " + m.frameMemoryForTest().slabs());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aLoadTakesAWarmSlotAndAnAllocationNever(IoBackend backend) {
        StandardBufferManager m = manager(backend, 1L << 20);
        PageFile f = m.createPageFile(dir.resolve("warm.pf"), 4096);
        FrameMemory fm = m.frameMemoryForTest();
        long a = f.allocatePage();
        long b = f.allocatePage();
        write(f, a, 3);
        write(f, b, 4);
        f.flush();
        f.close();
        assertEquals(backend.canDiscard() ? 2 * 4096 : 0, fm.warmBytes(), "a closed file's frames are kept warm");
        PageFile g = m.openPageFile(dir.resolve("warm.pf"));
        verify(g, a, 3); // loaded over a warm slot that held page b's bytes
        assertEquals(backend.canDiscard() ? 4096 : 0, fm.warmBytes());
        long c = g.allocatePage();
        try (PageHandle h = g.pin(c, AccessIntent.READ)) {
            assertEquals(0, h.getLong(0), "an allocated page is zero, never a warm slot's old bytes");
        }
        assertEquals(backend.canDiscard() ? 4096 : 0, fm.warmBytes(), "the allocation left the warm slot alone");
        verify(g, b, 4);
        assertEquals(0, fm.warmBytes());
        m.checkInvariants();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void pageSizesHaveSlabsOfTheirOwn(IoBackend backend) {
        StandardBufferManager m = manager(backend, 16L << 20);
        PageFile small = m.createPageFile(dir.resolve("small.pf"), 4096);
        PageFile large = m.createPageFile(dir.resolve("large.pf"), 256 * 1024);
        long[] s = new long[10];
        long[] l = new long[10];
        for (int i = 0; i < 10; i++) {
            s[i] = small.allocatePage();
            l[i] = large.allocatePage();
            write(small, s[i], 1);
            write(large, l[i], 2);
        }
        FrameMemory fm = m.frameMemoryForTest();
        assertEquals(expectedSlabs(fm, 4096, 10) + expectedSlabs(fm, 256 * 1024, 10), fm.slabs());
        for (int i = 0; i < 10; i++) {
            verify(small, s[i], 1);
            verify(large, l[i], 2);
        }
        small.close();
        assertEquals(backend.canDiscard() ? 2 : expectedSlabs(fm, 256 * 1024, 10), fm.slabs(), "a closed file's frames free their slots");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFrameFreedTwiceIsRefused(IoBackend backend) {
        StandardBufferManager m = manager(backend, 1L << 20);
        PageFile f = m.createPageFile(dir.resolve("twice.pf"), 4096);
        StandardPageFile spf = (StandardPageFile) f;
        FrameMemory fm = m.frameMemoryForTest();
        Frame fr = fm.newFrame(spf, spf.keyOf(1), Frame.DEAD, false);
        fm.free(fr); // kept warm where memory can be discarded, else its slab, empty now, is gone
        assertThrows(IllegalStateException.class, () -> fm.free(fr));
    }

    /**
     * Slab sizes: 256 frames where memory is discarded (address space only); elsewhere a sixteenth
     * of the memory limit when the slab is made, at most 4 MiB, at least one frame, which bounds
     * the memory free slots hold beyond the limit's count.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void slabSizeFollowsTheLimitWhereMemoryIsNotDiscarded(IoBackend backend) {
        long[] limit = {64L << 20};
        try (FrameMemory fm = new FrameMemory(backend, () -> limit[0])) {
            boolean d = backend.canDiscard();
            assertEquals(256, fm.slabFrames(4096));
            assertEquals(d ? 256 : 16, fm.slabFrames(256 * 1024)); // 4 MiB
            limit[0] = 1L << 20;
            assertEquals(d ? 256 : 16, fm.slabFrames(4096)); // 64 KiB, a sixteenth of 1 MiB
            assertEquals(d ? 256 : 1, fm.slabFrames(256 * 1024));
            limit[0] = 1L << 40;
            assertEquals(d ? 256 : 64, fm.slabFrames(64 * 1024)); // 4 MiB
        }
    }

    /**
     * Where memory cannot be discarded, freeing three pages in four leaves four slabs a quarter
     * full, holding memory no one counts: compaction moves the survivors together and frees the
     * emptied slabs. Where it can, nothing moves (the free slots were discarded).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void compactionFreesTheSlabsThatFreedPagesLeftSparse(IoBackend backend) {
        StandardBufferManager m = manager(backend, 8L << 20);
        FrameMemory fm = m.frameMemoryForTest();
        PageFile f = m.createPageFile(dir.resolve("compact.pf"), 4096);
        int n = 4 * FrameMemory.SLAB_FRAMES;
        long[] pages = allocateWritten(f, n, 21);
        f.flush(); // clean and synced: movable
        int slabs = expectedSlabs(fm, n);
        assertEquals(slabs, fm.slabs());
        for (int i = 0; i < n; i++) {
            if (i % 4 != 0) {
                f.freePage(pages[i]);
            }
        }
        m.checkInvariants();
        if (backend.canDiscard()) {
            assertEquals(0, m.pagesMovedForTest());
            assertEquals(slabs, fm.slabs(), "slabs stay mapped, their free slots discarded");
        } else {
            assertTrue(m.pagesMovedForTest() > 0, "pages were moved");
            System.out.printf("compaction after freeing 3 pages in 4: %d slabs to %d, %d pages moved%n", slabs, fm.slabs(),
                    m.pagesMovedForTest());
            assertTrue(slabs >= 8, slabs + " slabs to start with");
            assertTrue(fm.slabs() <= expectedSlabs(fm, n / 4) + 1, fm.slabs() + " slabs of " + fm.slabFrames(4096)
                    + " frames hold " + n / 4 + " pages after compaction");
        }
        for (int i = 0; i < n; i += 4) {
            verify(f, pages[i], 21);
        }
        m.checkInvariants();
    }

    /**
     * A pinned and a dirty page are never moved (a pin would keep reading the old slot; a flush
     * that listed the old frame would miss the copy), a clean one beside them is. The slab holding
     * them stays, marked stuck.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void pagesInUseAreNotMoved(IoBackend backend) {
        StandardBufferManager m = manager(backend, 8L << 20);
        FrameMemory fm = m.frameMemoryForTest();
        PageFile f = m.createPageFile(dir.resolve("inuse.pf"), 4096);
        int n = 2 * FrameMemory.SLAB_FRAMES;
        long[] pages = allocateWritten(f, n, 31);
        f.flush();
        // the first slab keeps three pages that cannot move; the second slab keeps ten that can
        long pinned = pages[1];
        long dirty = pages[2];
        long clean = pages[3];
        write(f, dirty, 32); // dirty again after the flush
        try (PageHandle h = f.pin(pinned, AccessIntent.READ)) {
            for (int i = 0; i < n; i++) {
                boolean keep = i == 1 || i == 2 || i == 3 || i >= n - 10;
                if (!keep) {
                    f.freePage(pages[i]);
                }
            }
            check(h, 31); // (the invariant check wants every pin released: it runs below)
        }
        if (!backend.canDiscard()) {
            // Once a slab's worth of slots is free, the first slab is the emptiest (three pages): the
            // clean one moves on (and on, as the slabs it lands in empty), the pinned and the dirty
            // one stay. Two slabs are left: theirs and the last one's.
            assertEquals(2, fm.slabs());
            assertTrue(m.pagesMovedForTest() >= 1);
        }
        verify(f, pinned, 31);
        verify(f, dirty, 32);
        verify(f, clean, 31);
        for (int i = n - 10; i < n; i++) {
            verify(f, pages[i], 31);
        }
        m.checkInvariants();
    }

    /**
     * Compaction under load: two readers pin pages and check their contents, a writer rewrites
     * every fourth page and a flusher writes them back and syncs, while the memory limit swings between a quarter and all of the file, which evicts three pages in four
     * and then loads them back, so slabs empty and fill again. Every page read holds what its
     * last writer wrote, and the invariants hold at the end.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void compactionUnderConcurrentPinsKeepsEveryPage(IoBackend backend) throws Exception {
        int n = 4 * FrameMemory.SLAB_FRAMES;
        long full = (long) (n + 64) * 4096;
        StandardBufferManager m = manager(backend, full);
        PageFile f = m.createPageFile(dir.resolve("busy.pf"), 4096);
        long[] pages = allocateWritten(f, n, 0);
        AtomicLongArray version = new AtomicLongArray(n);
        f.flush();
        whileTheLimitSwings(m, full, 40, 5, 4, (id, r) -> {
            int i = r.nextInt(n);
            if (id == 3) { // the flusher: write-backs and syncs race the moves
                f.flush();
                Thread.sleep(1);
            } else if (id == 0) { // the one writer, of every fourth page; the readers check the others
                i &= ~3;
                long v = version.get(i) + 1;
                try (PageHandle h = f.pin(pages[i], AccessIntent.WRITE)) {
                    fill(h, v * 1_000_003L + i);
                }
                version.set(i, v);
            } else {
                if ((i & 3) == 0) {
                    i++;
                }
                try (PageHandle h = f.pin(pages[i], AccessIntent.READ)) {
                    check(h, 0);
                }
            }
        });
        m.checkInvariants();
        System.out.printf("compaction under load on %s: %d pages moved, %d evictions, %d slabs at the end%n", backend.kind(),
                m.pagesMovedForTest(), m.stats().pageEvictions(), m.frameMemoryForTest().slabs());
        if (!backend.canDiscard()) {
            assertTrue(m.pagesMovedForTest() > 0, "compaction moved pages while others were pinned");
        }
        for (int i = 0; i < n; i++) {
            long v = version.get(i);
            try (PageHandle h = f.pin(pages[i], AccessIntent.READ)) {
                check(h, v == 0 ? 0 : v * 1_000_003L + i);
            }
        }
        m.checkInvariants();
    }

    /**
     * A pin that races a move never sees the page before its bytes have arrived. On the pure-Java
     * backend (the one that compacts), pages of 256 KiB, so that a move's copy takes tens of
     * microseconds; two readers pin pages and check the last word first (a copy runs front to back)
     * and then the whole page, while the memory limit swings between a quarter and all of the
     * file, so slabs empty, compaction moves pages and evictions bring them back. Publishing the
     * moved frame before its copy (a mutation of {@code StandardBufferManager.move}) failed here
     * in 4 of 6 runs: a reader must pin the page within the copy's window.
     */
    @Test
    void aPinRacingAMoveNeverSeesTheCopyUnfinished() throws Exception {
        int ps = 256 << 10;
        int n = 64;
        long full = (long) (n + 4) * ps; // slabs of a sixteenth: 4 frames each
        StandardBufferManager m = manager(Backends.open(BackendKind.NIO), full);
        assertEquals(4, m.frameMemoryForTest().slabFrames(ps));
        PageFile f = m.createPageFile(dir.resolve("big.pf"), ps);
        long[] pages = allocateWritten(f, n, 41);
        f.flush();
        whileTheLimitSwings(m, full, 200, 3, 2, (id, r) -> {
            try (PageHandle h = f.pin(pages[r.nextInt(n)], AccessIntent.READ)) {
                int last = (h.size() - 8) & ~7; // the last word check() reads
                long want = pattern(h, 41, last);
                long got = h.getLong(last);
                if (got != want) {
                    throw new AssertionError("page " + h.pageNumber() + ": last word " + got + " != " + want
                            + " (pinned before its bytes arrived)");
                }
                check(h, 41);
            }
        });
        System.out.printf("pins racing moves of 256 KiB pages: %d pages moved, %d evictions%n", m.pagesMovedForTest(),
                m.stats().pageEvictions());
        assertTrue(m.pagesMovedForTest() > 100, m.pagesMovedForTest() + " pages moved under the readers' pins");
        for (long p : pages) {
            verify(f, p, 41);
        }
        m.checkInvariants();
    }

    /** One step of a worker thread of {@link #whileTheLimitSwings}. */
    private interface Step {
        void run(int worker, SplittableRandom random) throws Exception;
    }

    /**
     * Runs {@code workers} threads, each repeating its {@code step} (seeded by its number), while
     * the memory limit swings {@code rounds} times between a quarter of {@code full} and
     * {@code full}, {@code pauseMillis} at each; the first failure of a worker fails the test.
     */
    private static void whileTheLimitSwings(StandardBufferManager m, long full, int rounds, int pauseMillis, int workers,
            Step step) throws InterruptedException {
        AtomicBoolean stop = new AtomicBoolean();
        ConcurrentLinkedQueue<Throwable> errors = new ConcurrentLinkedQueue<>();
        Thread[] threads = new Thread[workers];
        for (int t = 0; t < workers; t++) {
            int id = t;
            threads[t] = new Thread(() -> {
                SplittableRandom r = new SplittableRandom(id);
                try {
                    while (!stop.get()) {
                        step.run(id, r);
                    }
                } catch (Throwable e) {
                    errors.add(e);
                }
            });
            threads[t].start();
        }
        try {
            for (int round = 0; round < rounds && errors.isEmpty(); round++) {
                try {
                    m.setMemoryLimit(full / 4);
                } catch (RuntimeException e) {
                    // pinned or dirty pages did not fit: the limit stays, try again
                }
                Thread.sleep(pauseMillis);
                m.setMemoryLimit(full);
                Thread.sleep(pauseMillis);
            }
        } finally {
            stop.set(true);
            for (Thread w : threads) {
                w.join();
            }
        }
        if (!errors.isEmpty()) {
            throw new AssertionError("a worker failed", errors.peek());
        }
    }

    /**
     * Heap per resident page, from the JVM's class histogram of live objects: the frame, its share
     * of the page table's slots, and its share of the slab's objects (the slab, its AlignedBuffer
     * and direct ByteBuffer, and where memory cannot be discarded the slab's record of its
     * frames). The goal, at most 64 bytes, holds on every backend.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void heapPerResidentPageIsWithinTheGoal(IoBackend backend) throws Exception {
        int n = 8192;
        StandardBufferManager m = manager(BufferManager.builder().backend(backend).memoryLimit(2L * n * 4096));
        PageFile f = m.createPageFile(dir.resolve("heap.pf"), 4096);
        Map<String, Long> before = HeapHistogram.live();
        for (int i = 0; i < n; i++) {
            f.allocatePage();
        }
        Map<String, Long> after = HeapHistogram.live();
        String[] counted = {"dev.spillway.pool.Frame", "[Ldev.spillway.pool.Frame;", "dev.spillway.pool.FrameMemory$Slab",
                "dev.spillway.io.AlignedBuffer", "java.nio.DirectByteBuffer"};
        StringBuilder detail = new StringBuilder();
        long bytes = 0;
        for (String c : counted) {
            long d = after.getOrDefault(c, 0L) - before.getOrDefault(c, 0L);
            bytes += d;
            detail.append(String.format(" %s %.1f", c, (double) d / n));
        }
        double perPage = (double) bytes / n;
        System.out.printf("heap per resident page on %s: %.1f bytes (%s)%n", backend.kind(), perPage, detail.toString().trim());
        double goal = 64;
        assertTrue(perPage <= goal, String.format("%.1f bytes of heap per resident page on %s, goal %.0f:%s", perPage,
                backend.kind(), goal, detail));
        assertEquals(n, m.residentPages());
    }
}
