package dev.spillway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.TransientBuffer;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.pool.StandardBufferManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Pages and transient buffers under one memory limit, four threads, randomized, for a bounded
 * time (2 s; 60 s with {@code -Dspillway.long.tests=true}); then the validators of both pools.
 *
 * <ul>
 * <li><b>No page served while being read in:</b> pages 1..16 are written once before the run and
 *     only read during it, by every thread; the limit is a third of the working set, so they are
 *     evicted and loaded again all the time, often by several threads missing at once. Each read
 *     checks every 8-byte slot of the page against the page's pattern.
 * <li><b>No lost update:</b> every other page and every transient buffer has one owning thread,
 *     which writes a new version into every slot and, when it reads it back (after any number of
 *     evictions, write-backs, spills and read-backs), must find its last version whole.
 * <li><b>No deadlock:</b> the run must end within its time plus 60 s; otherwise the test fails
 *     with a dump of every thread's stack.
 * </ul>
 * Four threads hold at most a page and a buffer each (64 KiB), under a 96 KiB limit: a
 * reservation can always evict, so a {@code MemoryLimitExceededException} is a failure too.
 */
class MixedStressTest {
    static final int THREADS = 4;
    static final int PS = 4096;
    static final int SHARED_PAGES = 16;
    static final int PAGES = 48;
    static final int BUFFERS_PER_THREAD = 4;
    static final long RUN_MILLIS = LincheckFiles.LONG ? 60_000 : 2_000;

    @TempDir
    Path dir;

    @Test
    void pagesAndBuffersUnderOneLimit() throws Exception {
        StandardBufferManager m = (StandardBufferManager) BufferManager.builder().memoryLimit(24L * PS)
                .temporaryDirectory(dir.resolve("tmp")).spillCompressionLevel(1).build();
        PageFile f = m.createPageFile(dir.resolve("mixed.pf"), PS);
        for (int p = 1; p <= PAGES; p++) {
            f.allocatePage();
            try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                stamp(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), p <= SHARED_PAGES ? p * 7L : 0, p);
            }
        }
        AtomicLongArray pageVersions = new AtomicLongArray(PAGES + 1);
        AtomicLong ops = new AtomicLong();
        AtomicLong spillsSeen = new AtomicLong();
        long deadline = System.nanoTime() + TimeUnit.MILLISECONDS.toNanos(RUN_MILLIS);
        ExecutorService ex = Executors.newFixedThreadPool(THREADS, r -> {
            Thread t = new Thread(r, "mixed-stress");
            t.setDaemon(true);
            return t;
        });
        List<Future<List<long[]>>> futures = new ArrayList<>();
        for (int t = 0; t < THREADS; t++) {
            final int me = t;
            futures.add(ex.submit(() -> {
                SplittableRandom r = new SplittableRandom(0x5EED + me);
                TransientBuffer[] bufs = new TransientBuffer[BUFFERS_PER_THREAD];
                long[] bufVersions = new long[BUFFERS_PER_THREAD];
                for (int i = 0; i < BUFFERS_PER_THREAD; i++) {
                    bufs[i] = allocate(m, r, 0, i);
                }
                while (System.nanoTime() < deadline) {
                    int op = r.nextInt(100);
                    if (op < 35) { // read a shared page: whole, never half-loaded
                        int p = 1 + r.nextInt(SHARED_PAGES);
                        try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                            check(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), p * 7L, p, "shared page " + p);
                        }
                    } else if (op < 55) { // write or read back an own page
                        int p = ownPage(r, me);
                        if (r.nextBoolean()) {
                            long v = pageVersions.get(p) + 1;
                            try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                                stamp(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), v, p);
                            }
                            pageVersions.set(p, v);
                        } else {
                            try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                                check(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), pageVersions.get(p), p,
                                        "own page " + p + " of thread " + me);
                            }
                        }
                    } else if (op < 90) { // write or read back an own transient buffer
                        int i = r.nextInt(BUFFERS_PER_THREAD);
                        if (bufs[i].state() == TransientBuffer.State.SPILLED) {
                            spillsSeen.incrementAndGet();
                        }
                        try (BufferHandle h = bufs[i].pin()) {
                            ByteBuffer b = h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                            check(b, bufVersions[i], i, "buffer " + i + " of thread " + me);
                            if (r.nextBoolean()) {
                                stamp(b, ++bufVersions[i], i);
                            }
                        }
                    } else if (op < 95) { // free a buffer and allocate another in its place
                        int i = r.nextInt(BUFFERS_PER_THREAD);
                        bufs[i].free();
                        bufs[i] = allocate(m, r, bufVersions[i] = 0, i);
                    } else if (op < 98) {
                        f.flush();
                    } else { // a page and a buffer pinned together
                        int i = r.nextInt(BUFFERS_PER_THREAD);
                        int p = 1 + r.nextInt(SHARED_PAGES);
                        try (PageHandle h = f.pin(p, AccessIntent.READ); BufferHandle b = bufs[i].pin()) {
                            check(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), p * 7L, p, "shared page " + p);
                            check(b.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), bufVersions[i], i, "buffer " + i);
                        }
                    }
                    ops.incrementAndGet();
                }
                List<long[]> out = new ArrayList<>();
                for (int i = 0; i < BUFFERS_PER_THREAD; i++) {
                    try (BufferHandle h = bufs[i].pin()) {
                        check(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), bufVersions[i], i,
                                "at the end: buffer " + i + " of thread " + me);
                    }
                    bufs[i].free();
                }
                return out;
            }));
        }
        long waitUntil = deadline + TimeUnit.SECONDS.toNanos(60);
        for (Future<List<long[]>> fu : futures) {
            try {
                fu.get(Math.max(1, waitUntil - System.nanoTime()), TimeUnit.NANOSECONDS);
            } catch (TimeoutException e) {
                fail("the stress run did not end 60 s after its deadline: deadlock or livelock?\n" + threadDump());
            }
        }
        ex.shutdown();
        System.out.println("MixedStressTest: " + THREADS + " threads, " + ops.get() + " operations in " + RUN_MILLIS
                + " ms, " + spillsSeen.get() + " pins of spilled buffers; " + m.transientBuffers().stats());
        assertTrue(ops.get() > 1000, "too few operations: " + ops.get());
        assertTrue(spillsSeen.get() > 0, "no buffer was ever spilled: the test did not exercise eviction");

        m.checkInvariants();
        List<String> problems = m.transientBuffers().checkInvariants();
        assertTrue(problems.isEmpty(), problems.toString());
        assertEquals(0, m.transientBuffers().liveBuffers());
        assertEquals(m.accountant().used(MemoryTag.PAGE_CACHE), m.memoryUsed(), "only pages are left in memory");
        for (int p = 1; p <= PAGES; p++) {
            try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                long want = p <= SHARED_PAGES ? p * 7L : pageVersions.get(p);
                check(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), want, p, "after the run: page " + p);
            }
        }
        m.close();
        assertEquals(0, m.memoryUsed());
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
        try (Stream<Path> s = Files.list(dir)) {
            assertTrue(s.noneMatch(p -> p.getFileName().toString().equals("tmp")),
                    "the temporary directory the manager created is removed on close");
        }
        BufferManager m2 = BufferManager.builder().memoryLimit(24L * PS).build();
        try (PageFile f2 = m2.openPageFile(dir.resolve("mixed.pf"))) {
            for (int p = 1; p <= PAGES; p++) {
                try (PageHandle h = f2.pin(p, AccessIntent.READ)) {
                    long want = p <= SHARED_PAGES ? p * 7L : pageVersions.get(p);
                    check(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), want, p, "after reopen: page " + p);
                }
            }
        } finally {
            m2.close();
        }
    }

    private static int ownPage(SplittableRandom r, int me) {
        int own = (PAGES - SHARED_PAGES) / THREADS;
        return SHARED_PAGES + 1 + me + THREADS * r.nextInt(own);
    }

    /** A buffer of 8 or 12 KiB (own-file spills, zstd above 32 KiB is not reached: raw), stamped with version v. */
    private static TransientBuffer allocate(BufferManager m, SplittableRandom r, long v, int id) {
        try (BufferHandle h = m.allocateBuffer(MemoryTag.HASH_TABLE, r.nextBoolean() ? 8192 : 12288)) {
            stamp(h.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN), v, id);
            return h.transientBuffer();
        }
    }

    private static long slot(long v, long id, int off) {
        return v == 0 && id == 0 ? 0 : v * 1_000_003L + id * 7919L + off;
    }

    private static void stamp(ByteBuffer b, long v, long id) {
        b.putLong(0, v);
        for (int off = 8; off + 8 <= b.capacity(); off += 8) {
            b.putLong(off, slot(v, id, off));
        }
    }

    private static void check(ByteBuffer b, long v, long id, String what) {
        if (b.getLong(0) != v) {
            throw new AssertionError(what + ": version " + b.getLong(0) + ", expected " + v + " (a lost update, or a page served before it was read in)");
        }
        for (int off = 8; off + 8 <= b.capacity(); off += 8) {
            if (b.getLong(off) != slot(v, id, off)) {
                throw new AssertionError(what + ": slot at " + off + " does not match version " + v
                        + " (a torn or half-loaded page)");
            }
        }
    }

    private static String threadDump() {
        StringBuilder sb = new StringBuilder();
        for (var e : Thread.getAllStackTraces().entrySet()) { // the test module does not read java.management
            sb.append('"').append(e.getKey().getName()).append("\" ").append(e.getKey().getState()).append('\n');
            for (StackTraceElement el : e.getValue()) {
                sb.append("    at ").append(el).append('\n');
            }
        }
        return sb.toString();
    }
}
