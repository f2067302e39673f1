package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Frames carved from slabs ({@link FrameMemory}): many frames per slab where the backend can
 * discard, one where it cannot; a freed frame's slot reads as zeros when reused; empty slabs stay
 * mapped (their memory discarded) where slabs are shared and go with their frame where not; a
 * view kept past its unpin never reaches unmapped memory; and the heap per resident page stays
 * within the stated 64 bytes.
 */
class FrameMemoryTest extends PoolTestBase {

    private static int expectedSlabs(IoBackend b, int frames) {
        return b.canDiscard() ? (frames + FrameMemory.SLAB_FRAMES - 1) / FrameMemory.SLAB_FRAMES : frames;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void slabsHoldManyFramesAndFreedSlotsComeBackZeroed(IoBackend backend) {
        StandardBufferManager m = manager(backend, 4L << 20); // 1,024 pages of 4 KiB
        FrameMemory fm = m.frameMemoryForTest();
        PageFile f = m.createPageFile(dir.resolve("slabs.pf"), 4096);
        int n = 600;
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = f.allocatePage();
            write(f, pages[i], 5);
        }
        assertEquals(expectedSlabs(backend, n), fm.slabs(), "slabs for " + n + " resident frames");
        m.checkInvariants();
        for (int i = 0; i < n; i++) {
            verify(f, pages[i], 5);
        }
        for (long p : pages) {
            f.freePage(p);
        }
        // Where memory can be discarded: the first 256 freed (slab 0's) are kept warm, the rest are
        // discarded, and every slab stays mapped. Elsewhere every slab goes with its frame.
        assertEquals(backend.canDiscard() ? expectedSlabs(backend, n) : 0, fm.slabs(), "slabs stay mapped where memory can be discarded");
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
        assertEquals(expectedSlabs(backend, n + (backend.canDiscard() ? FrameMemory.SLAB_FRAMES : 0)), fm.slabs());
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
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = f.allocatePage();
            write(f, pages[i], 9);
        }
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
        assertEquals(backend.canDiscard() ? expectedSlabs(backend, n) : 0, fm.slabs(), "empty slabs stay mapped where they are shared");
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
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = f.allocatePage();
            write(f, pages[i], 13);
        }
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
        assertTrue(m.frameMemoryForTest().slabs() <= expectedSlabs(backend, 64) + 1,
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
        assertEquals(2 * expectedSlabs(backend, 10), m.frameMemoryForTest().slabs());
        for (int i = 0; i < 10; i++) {
            verify(small, s[i], 1);
            verify(large, l[i], 2);
        }
        small.close();
        assertEquals(backend.canDiscard() ? 2 : 10, m.frameMemoryForTest().slabs(), "a closed file's frames free their slots");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFrameFreedTwiceIsRefused(IoBackend backend) {
        StandardBufferManager m = manager(backend, 1L << 20);
        PageFile f = m.createPageFile(dir.resolve("twice.pf"), 4096);
        StandardPageFile spf = (StandardPageFile) f;
        FrameMemory fm = m.frameMemoryForTest();
        Frame fr = fm.newFrame(spf, spf.keyOf(1), Frame.DEAD, false);
        fm.free(fr); // kept warm where memory can be discarded, else its one-frame slab is gone
        assertThrows(IllegalStateException.class, () -> fm.free(fr));
    }

    /**
     * Heap per resident page, from the JVM's class histogram of live objects: the frame, its share
     * of the page table's slots, and its share of the slab's objects (the slab, its AlignedBuffer
     * and direct ByteBuffer). The goal is at most 64 bytes where slabs hold many frames; where
     * they cannot (no discard), each frame has a slab and a buffer of its own, which the assertion
     * bounds too, so a change that adds to either shows.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void heapPerResidentPageIsWithinTheGoal(IoBackend backend) throws Exception {
        int n = 8192;
        StandardBufferManager m = manager(BufferManager.builder().backend(backend).memoryLimit(2L * n * 4096));
        PageFile f = m.createPageFile(dir.resolve("heap.pf"), 4096);
        Map<String, Long> before = histogram();
        for (int i = 0; i < n; i++) {
            f.allocatePage();
        }
        Map<String, Long> after = histogram();
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
        double goal = backend.canDiscard() ? 64 : 300; // without discard: about 210 (native), 275 (nio: two ByteBuffers)
        assertTrue(perPage <= goal, String.format("%.1f bytes of heap per resident page on %s, goal %.0f:%s", perPage,
                backend.kind(), goal, detail));
        assertEquals(n, m.residentPages());
    }

    /**
     * Live bytes per class name, after a full GC (the diagnostic command jmap -histo:live uses).
     * Through reflection: the tests compile inside module dev.spillway, which does not read
     * java.management, and run on the class path, where everything is readable.
     */
    private static Map<String, Long> histogram() throws Exception {
        Object server = Class.forName("java.lang.management.ManagementFactory").getMethod("getPlatformMBeanServer")
                .invoke(null);
        Class<?> objectName = Class.forName("javax.management.ObjectName");
        Object name = objectName.getConstructor(String.class).newInstance("com.sun.management:type=DiagnosticCommand");
        String text = (String) Class.forName("javax.management.MBeanServerConnection")
                .getMethod("invoke", objectName, String.class, Object[].class, String[].class)
                .invoke(server, name, "gcClassHistogram", new Object[] {new String[0]}, new String[] {String[].class.getName()});
        Map<String, Long> bytes = new HashMap<>();
        for (String line : text.split("\n")) {
            String[] cols = line.trim().split("\\s+");
            if (cols.length >= 4 && cols[0].endsWith(":")) { // "num: instances bytes class (module)"
                bytes.merge(cols[3], Long.parseLong(cols[2]), Long::sum);
            }
        }
        return bytes;
    }
}
