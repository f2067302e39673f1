package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotSame;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.ClosedException;
import dev.spillway.MemoryLimitExceededException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.Test;

/**
 * Read pins held as per-thread hazard pointers ({@link ThreadState}): they keep their page resident
 * exactly as counted pins do, whichever thread closes them, however many a thread holds, and
 * while other threads evict around them.
 */
class ReadPinTest extends PoolTestBase {
    private static final int PS = 4096;

    private StandardBufferManager manager(long pages) {
        return manager(BufferManager.builder().backend(Backends.open(BackendKind.NIO)).memoryLimit(pages * PS));
    }

    private static long[] pagesWithTheirNumbers(PageFile f, int n) {
        long[] pages = new long[n];
        for (int i = 0; i < n; i++) {
            pages[i] = f.allocatePage();
            try (PageHandle h = f.pin(pages[i], AccessIntent.WRITE)) {
                h.putLong(0, pages[i]);
            }
        }
        f.flush();
        return pages;
    }

    @Test
    void aReadPinKeepsItsPageAgainstEvictionAndAFreeAndACloseUntilItIsClosed() {
        StandardBufferManager m = manager(2);
        PageFile f = m.createPageFile(dir.resolve("r.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 2);
        PageHandle a = f.pin(p[0], AccessIntent.READ);
        PageHandle b = f.pin(p[1], AccessIntent.READ);
        assertThrows(MemoryLimitExceededException.class, () -> f.pin(f.allocatePage(), AccessIntent.READ),
                "both frames are read-pinned: nothing to evict");
        assertThrows(IllegalStateException.class, () -> f.freePage(p[0]));
        assertThrows(IllegalStateException.class, f::close);
        assertEquals(p[0], a.getLong(0));
        a.close();
        b.close();
        long q = f.allocatePage(); // now evicts
        try (PageHandle h = f.pin(q, AccessIntent.READ)) {
            assertEquals(0, h.getLong(0));
        }
    }

    @Test
    void aReadPinClosedOnAnotherThreadIsReleased() throws InterruptedException {
        StandardBufferManager m = manager(1);
        PageFile f = m.createPageFile(dir.resolve("o.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 1);
        PageHandle h = f.pin(p[0], AccessIntent.READ);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                h.close();
            } catch (Throwable e) {
                failure.set(e);
            }
        });
        t.start();
        t.join();
        assertEquals(null, failure.get());
        assertEquals(0, m.readPinsForTest());
        f.allocatePage(); // the one frame is evictable again
    }

    @Test
    void moreReadPinsThanSlotsFallBackToCountedPinsAndAllRelease() {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("n.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 4);
        List<PageHandle> held = new ArrayList<>();
        for (int i = 0; i < 3 * ThreadState.HAZARDS; i++) {
            held.add(f.pin(p[i % p.length], AccessIntent.READ));
        }
        assertEquals(ThreadState.HAZARDS, m.readPinsForTest());
        for (PageHandle h : held) {
            assertEquals(h.pageNumber(), h.getLong(0));
            h.close();
        }
        assertEquals(0, m.readPinsForTest());
        m.checkInvariants();
    }

    @Test
    void aDeadThreadsUnclosedReadPinKeepsItsPage() throws InterruptedException {
        StandardBufferManager m = manager(1);
        PageFile f = m.createPageFile(dir.resolve("d.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 1);
        AtomicReference<PageHandle> leaked = new AtomicReference<>();
        Thread t = new Thread(() -> leaked.set(f.pin(p[0], AccessIntent.READ)));
        t.start();
        t.join();
        for (int i = 0; i < 100; i++) { // registrations sweep dead threads' states: the pinned one must stay
            Thread s = new Thread(() -> {
                try (PageHandle h = f.pin(p[0], AccessIntent.READ)) {
                    h.getLong(0);
                }
            });
            s.start();
            s.join();
        }
        assertThrows(MemoryLimitExceededException.class, f::allocatePage);
        assertEquals(p[0], leaked.get().getLong(0));
        leaked.get().close();
        f.allocatePage();
    }

    @Test
    void readersNeverSeeAnotherPageWhileEvictionsRunAroundThem() throws InterruptedException {
        StandardBufferManager m = manager(8);
        PageFile f = m.createPageFile(dir.resolve("e.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 32); // 32 pages through 8 frames
        AtomicBoolean stop = new AtomicBoolean();
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicLong reads = new AtomicLong();
        List<Thread> threads = new ArrayList<>();
        for (int t = 0; t < 3; t++) {
            int seed = t;
            threads.add(new Thread(() -> {
                java.util.Random r = new java.util.Random(seed);
                try {
                    while (!stop.get()) {
                        long page = p[r.nextInt(seed == 0 ? 4 : p.length)]; // thread 0 hits a hot few
                        try (PageHandle h = f.pin(page, AccessIntent.READ)) {
                            long first = h.getLong(0);
                            Thread.onSpinWait();
                            if (first != page || h.getLong(0) != page) {
                                throw new AssertionError("page " + page + " read " + first);
                            }
                        } catch (MemoryLimitExceededException e) {
                            continue; // every frame pinned by the others at this instant
                        }
                        reads.incrementAndGet();
                    }
                } catch (Throwable e) {
                    failure.set(e);
                }
            }));
        }
        threads.forEach(Thread::start);
        Thread.sleep(1500);
        stop.set(true);
        for (Thread t : threads) {
            t.join();
        }
        if (failure.get() != null) {
            throw new AssertionError(failure.get());
        }
        assertTrue(reads.get() > 1000, reads.get() + " reads");
        assertTrue(m.stats().pageEvictions() > 100, m.stats().pageEvictions() + " evictions");
        assertEquals(0, m.readPinsForTest());
    }

    @Test
    void aClosedHandleStaysClosedUntilItsThreadHasPinnedThatManyTimesMore() {
        StandardBufferManager m = manager(4);
        PageFile f = m.createPageFile(dir.resolve("h.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 2);
        PageHandle stale = f.pin(p[0], AccessIntent.READ);
        stale.close();
        for (int i = 0; i < ThreadState.HANDLES - 1; i++) {
            try (PageHandle h = f.pin(p[1], AccessIntent.WRITE)) {
                assertNotSame(stale, h, "pin " + i + " after the close");
                assertThrows(ClosedException.class, () -> stale.getLong(0), "the closed handle, after " + i + " pins");
            }
        }
        PageHandle again = f.pin(p[1], AccessIntent.READ); // the ring has come round: the handle is reused
        assertSame(stale, again);
        assertEquals(p[1], again.getLong(0));
        again.close();
        m.checkInvariants();
    }

    @Test
    void handlesHeldAcrossManyPinsKeepTheirPageAndAreNotReused() {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("k.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 8);
        List<PageHandle> held = new ArrayList<>();
        for (int i = 0; i < 2 * ThreadState.HANDLES + 3; i++) { // more held than the ring has handles
            held.add(f.pin(p[i % p.length], i % 3 == 0 ? AccessIntent.WRITE : AccessIntent.READ));
        }
        for (int i = 0; i < 5 * ThreadState.HANDLES; i++) { // the ring turns over and over past them
            try (PageHandle h = f.pin(p[i % p.length], AccessIntent.READ)) {
                assertFalse(held.contains(h), "a held handle was handed out again");
                assertEquals(p[i % p.length], h.getLong(0));
            }
        }
        for (int i = 0; i < held.size(); i++) {
            PageHandle h = held.get(i);
            assertTrue(h.isPinned());
            assertEquals(p[i % p.length], h.pageNumber());
            assertEquals(p[i % p.length], h.getLong(0));
            h.close();
        }
        assertEquals(0, m.readPinsForTest());
        m.checkInvariants();
    }

    @Test
    void aHandleClosedOnAnotherThreadIsReusedByItsOwnThread() throws InterruptedException {
        StandardBufferManager m = manager(4);
        PageFile f = m.createPageFile(dir.resolve("x.pf"), PS);
        long[] p = pagesWithTheirNumbers(f, 2);
        PageHandle h = f.pin(p[0], AccessIntent.WRITE);
        Thread t = new Thread(h::close);
        t.start();
        t.join();
        assertFalse(h.isPinned());
        PageHandle again = null;
        for (int i = 0; i < ThreadState.HANDLES; i++) {
            again = f.pin(p[1], AccessIntent.READ);
            if (again == h) {
                break;
            }
            again.close();
        }
        assertSame(h, again, "the ring comes round to the handle closed elsewhere");
        assertEquals(p[1], again.getLong(0));
        again.close();
        m.checkInvariants();
    }
}
