package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.BufferManagerStats;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.TransientBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.BackendKind;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

/** {@link BufferManager#stats()}: exact counts for a known sequence of pins, evictions and spills. */
class BufferManagerStatsTest extends PoolTestBase {
    private static final int PAGE = 64 * 1024;
    private static final int BLOCK = 256 * 1024;

    private StandardBufferManager pages(int frames) {
        return manager(BufferManager.builder().backend(Backends.open(BackendKind.AUTO)).memoryLimit((long) frames * PAGE)
                .temporaryDirectory(dir.resolve("tmp")));
    }

    @Test
    void countsHitsMissesEvictionsAndWriteBacks() {
        StandardBufferManager bm = pages(4);
        PageFile f = bm.createPageFile(dir.resolve("p.pages"), PAGE);
        for (int i = 0; i < 8; i++) { // 8 new dirty pages through 4 frames: pages 1..4 written back and evicted (LRU)
            f.allocatePage();
        }
        BufferManagerStats s = bm.stats();
        assertEquals(0, s.pageHits());
        assertEquals(0, s.pageMisses());
        assertEquals(4, s.pageEvictions(), s.toString());
        assertEquals(4, s.pageWriteBacks(), s.toString());
        f.flush(); // the 4 resident dirty pages
        assertEquals(8, bm.stats().pageWriteBacks());
        for (long p = 5; p <= 8; p++) {
            try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                assertEquals(0, h.getLong(0));
            }
        }
        try (PageHandle h = f.pin(1, AccessIntent.WRITE)) { // a miss that evicts clean page 5
            h.putLong(0, 1);
        }
        s = bm.stats();
        assertEquals(4, s.pageHits(), s.toString());
        assertEquals(1, s.pageMisses(), s.toString());
        assertEquals(5, s.pageEvictions(), s.toString());
        assertEquals(8, s.pageWriteBacks(), "a clean page is evicted without a write: " + s);
        assertEquals(0.8, s.pageHitRatio(), 1e-9);
    }

    @Test
    void hitsOfThreadsThatDiedAreKeptAndTheirCountersDropped() throws Exception {
        StandardBufferManager bm = pages(4);
        PageFile f = bm.createPageFile(dir.resolve("p.pages"), PAGE);
        long p = f.allocatePage();
        int threads = 100;
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> {
                for (int i = 0; i < 10; i++) {
                    f.pin(p, AccessIntent.READ).close();
                }
            });
            th.start();
            th.join();
        }
        assertEquals(10L * threads, bm.stats().pageHits());
        assertTrue(bm.hitCounterThreads() < threads, "dead threads' counters must be folded away, "
                + bm.hitCounterThreads() + " of " + threads + " are still registered");
        f.pin(p, AccessIntent.READ).close();
        assertEquals(10L * threads + 1, bm.stats().pageHits());
        assertEquals(0, bm.stats().pageMisses());
    }

    /**
     * Dead threads' states also go while no thread registers: a miss walks every registered state
     * (to feed its hits, and to check its read pins), so the misses sweep them every
     * {@link HitCounters#SWEEP_EVERY} feeds. Their hits still count.
     */
    @Test
    void missesSweepTheStatesOfThreadsThatDied() throws Exception {
        StandardBufferManager bm = pages(4);
        PageFile f = bm.createPageFile(dir.resolve("p.pages"), PAGE);
        long[] p = new long[8];
        for (int i = 0; i < p.length; i++) {
            p[i] = f.allocatePage();
        }
        int threads = 10;
        for (int t = 0; t < threads; t++) {
            Thread th = new Thread(() -> f.pin(p[7], AccessIntent.READ).close());
            th.start();
            th.join();
        }
        f.pin(p[7], AccessIntent.READ).close();
        assertEquals(threads + 1, bm.hitCounterThreads(), "no sweep yet: fewer states than the first registration sweep");
        for (int i = 0; i < 2 * HitCounters.SWEEP_EVERY; i++) { // 4 frames, 8 pages in turn: every pin misses
            f.pin(p[i % p.length], AccessIntent.READ).close();
        }
        assertEquals(1, bm.hitCounterThreads(), "only the living thread's state is left"); // (stats() would sweep too)
        assertEquals(threads + 1, bm.stats().pageHits(), "the dead threads' hits are still counted");
    }

    @Test
    void countsSpillsReadBacksBytesAndTemporaryFiles() {
        StandardBufferManager bm = manager(BufferManager.builder().backend(Backends.open(BackendKind.AUTO))
                .memoryLimit(4L * BLOCK).temporaryDirectory(dir.resolve("tmp")).spillCompressionLevel(1));
        List<TransientBuffer> buffers = new ArrayList<>();
        for (int i = 0; i < 10; i++) {
            try (BufferHandle h = bm.allocateBuffer(MemoryTag.ORDER_BY, BLOCK)) {
                ByteBuffer b = h.buffer();
                for (int j = 0; j < BLOCK; j += 8) {
                    b.putLong(j, j % 4096); // compressible
                }
                buffers.add(h.transientBuffer());
            }
        }
        BufferManagerStats s = bm.stats();
        assertEquals(6, s.buffersSpilled(), s.toString());
        assertEquals(6L * BLOCK, s.bytesSpilled());
        assertTrue(s.compressionRatio() > 2, "compressible blocks at level 1: " + s);
        assertTrue(s.temporaryFiles() >= 1 && s.temporaryFilesPeak() >= s.temporaryFiles(), s.toString());
        assertEquals(s.temporaryBytes(), s.temporaryBytesPeak(), "nothing was read back yet: " + s);
        for (TransientBuffer t : buffers) {
            t.pin().close(); // reading the spilled back spills others in turn
        }
        for (TransientBuffer t : buffers) {
            t.free();
        }
        s = bm.stats();
        // LRU order: each of the 10 pins evicts the least recently unpinned buffer, so 6 + 10 spills, 10 read-backs
        assertEquals(16, s.buffersSpilled(), s.toString());
        assertEquals(10, s.buffersReadBack(), s.toString());
        assertEquals(s.buffersReadBack() * BLOCK, s.bytesReadBack());
        assertEquals(0, s.temporaryBytes(), s.toString());
        // what is left: emptied files kept for reuse, holding no block (TemporaryFileManager's "Emptied files")
        assertEquals(bm.temporaryFiles().size(), s.temporaryFiles(), s.toString());
        assertTrue(bm.temporaryFiles().stream().allMatch(t -> t.slotsInUse() == 0), bm.temporaryFiles().toString());
        assertTrue(s.temporaryBytesPeak() > 0 && s.temporaryFilesPeak() >= 1, s.toString());
        assertEquals(0, s.failedSpills());
        assertTrue(bm.transientBuffers().checkInvariants().isEmpty(), bm.transientBuffers().checkInvariants().toString());
    }
}
