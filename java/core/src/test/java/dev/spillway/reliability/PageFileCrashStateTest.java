package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.spillway.AccessIntent;
import dev.spillway.CorruptDataException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import java.nio.file.Path;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The states a crash can leave a page file in, made on purpose: a second manager opens a copy of
 * the file taken while the first still runs, which holds exactly what a crash of the first would
 * leave on disk (everything it wrote, nothing it held in memory). The copy, because the file itself
 * is refused while open in another manager. {@link CrashTest} finds these states by chance.
 */
class PageFileCrashStateTest extends ReliabilityTestSupport {
    private static final int PS = 8192;

    /** A copy of what is on disk of a file open in a running manager: the file a crash would leave. */
    static Path crashImage(Path p) {
        Path copy = p.resolveSibling(p.getFileName() + ".crash");
        try {
            java.nio.file.Files.copy(p, copy);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        return copy;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFreedPageReusedAndWrittenBackBeforeTheNextFlushLeavesAFileThatOpens(IoBackend backend) {
        StandardBufferManager running = manager(backend, 4L * PS);
        Path p = dir.resolve("reuse.pf");
        PageFile f = sixPagesWithFiveAndThreeFree(running, p, PS); // header: pages 5 -> 3 free
        running.setMemoryLimit(PS); // one frame
        long reused = f.allocatePage();
        assertEquals(5, reused);
        write(f, reused, 2);
        verify(f, 1, 1); // evicts page 5: its new data lands on a page the header calls free
        running.setMemoryLimit(4L * PS);

        StandardBufferManager afterCrash = manager(backend, 4L * PS);
        PageFile g = afterCrash.openPageFile(crashImage(p)); // rebuilt free list: 3 free, 5 data
        assertEquals(1, g.freePageCount());
        verify(g, 5, 2);
        assertThrows(IllegalArgumentException.class, () -> g.pin(3, AccessIntent.READ), "page 3 is free");
        for (long page : new long[] {1, 2, 4, 6}) {
            verify(g, page, 1);
        }
        g.close();
        f.close();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aPageFreedAfterTheLastFlushKeepsItsFlushedDataOnDisk(IoBackend backend) {
        StandardBufferManager running = manager(backend, 16L * PS);
        Path p = dir.resolve("freed.pf");
        PageFile f = running.createPageFile(p, PS);
        for (int i = 0; i < 4; i++) {
            write(f, f.allocatePage(), 1);
        }
        f.flush();
        f.freePage(2);

        StandardBufferManager afterCrash = manager(backend, 16L * PS);
        PageFile g = afterCrash.openPageFile(crashImage(p));
        verify(g, 2, 1); // the free is not on disk until the next flush: the page is as flushed
        g.close();
        f.close();
    }

    /** A new page held for writing while another thread flushes: the header counts a page not yet on disk. */
    @ParameterizedTest
    @MethodSource("backends")
    void aNewPageHeldForWritingAcrossAFlushLeavesAFileThatOpens(IoBackend backend) {
        StandardBufferManager running = manager(backend, 16L * PS);
        Path p = dir.resolve("held.pf");
        PageFile f = running.createPageFile(p, PS);
        for (int i = 0; i < 3; i++) {
            write(f, f.allocatePage(), 1);
        }
        long last = f.allocatePage();
        try (PageHandle h = f.pin(last, AccessIntent.WRITE)) {
            fill(h, 2);
            f.flush(); // writes pages 1..3 and a header counting page 4, which it must skip

            StandardBufferManager afterCrash = manager(backend, 16L * PS);
            PageFile g = afterCrash.openPageFile(crashImage(p));
            assertEquals(5, g.pageCount());
            for (long page = 1; page <= 3; page++) {
                verify(g, page, 1);
            }
            CorruptDataException e = assertThrows(CorruptDataException.class, () -> verify(g, last, 2));
            assertMentions(e, "page " + last, dir.resolve("held.pf.crash").toString());
            g.close();
        }
        f.close();
        PageFile again = manager(backend, 16L * PS).openPageFile(p);
        verify(again, last, 2);
    }

    /**
     * A page taken from the free list and held for writing across a flush: the header counts it as
     * allocated while the disk still holds its free-list node. A later crash that leaves the header's
     * list stale (here a page reused after that flush and evicted) rebuilds the list from the pages'
     * kinds on disk, and must not take that node for a free page: the flushed header handed the page
     * out, so handing it out again would give two owners one page.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aReusedPageHeldForWritingAcrossAFlushIsNotFreeAfterACrash(IoBackend backend) {
        StandardBufferManager running = manager(backend, 16L * PS);
        Path p = dir.resolve("reused-held.pf");
        PageFile f = sixPagesWithFiveAndThreeFree(running, p, PS); // header: pages 5 -> 3 free, both nodes on disk
        heldAcrossAFlushThenCrashed(backend, running, f, p, 5, 3, 1, g -> {
            assertEquals(0, g.freePageCount(), "page 5 was allocated by the last header: not free");
            assertEquals(7, g.allocatePage(), "a new page, not page 5 a second time");
            verify(g, 3, 2);
            for (long page : new long[] {1, 2, 4, 6}) {
                verify(g, page, 1);
            }
        });
    }

    /**
     * As above, but the page's node was written by a flush whose last fdatasync failed: the node may
     * be on disk or not, and the page taken from the list after that failure must be treated as if it
     * is (an empty page written over it before a header counts the page as allocated).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aPageReusedAfterAFailedSyncAndHeldAcrossAFlushIsNotFreeAfterACrash(IoBackend backend) {
        dev.spillway.testing.FaultInjectingBackend io = new dev.spillway.testing.FaultInjectingBackend(backend, 5);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("reused-after-failed-sync.pf");
        PageFile f = sixPagesWithFiveAndThreeFree(running, p, PS); // header: pages 5 -> 3 free
        f.freePage(1);
        Path abs = p.toAbsolutePath().normalize();
        // pages, header and node of page 1 are written; the fdatasync after the node fails
        io.inject(dev.spillway.testing.FaultInjectingBackend.Op.SYNC).on(abs::equals).after(2).times(1);
        assertThrows(RuntimeException.class, f::flush);
        assertEquals(1, io.injected(dev.spillway.testing.FaultInjectingBackend.Op.SYNC));
        heldAcrossAFlushThenCrashed(backend, running, f, p, 1, 5, 2, g -> {
            assertEquals(1, g.freePageCount(), "only page 3 is free: page 1 was allocated by the last header");
            assertEquals(3, g.allocatePage());
            assertEquals(7, g.allocatePage(), "a new page, not page 1 a second time");
            verify(g, 5, 2);
            for (long page : new long[] {2, 4, 6}) {
                verify(g, page, 1);
            }
        });
    }

    /**
     * The scenario of the two tests above: the next allocation ({@code held}, from the free list)
     * is held for writing across a flush; then {@code reused} is allocated, written, and evicted by
     * pinning {@code evictVia} under a limit of two pages, so its data lands on a page the header
     * calls free (a stale list). {@code checkCrashImage} gets a copy of the file as a crash would
     * leave it, opened (its free list rebuilt); afterwards the running file's held page must have
     * the data written through the hold.
     */
    private void heldAcrossAFlushThenCrashed(IoBackend backend, StandardBufferManager running, PageFile f, Path p,
            long expectHeld, long expectReused, long evictVia, java.util.function.Consumer<PageFile> checkCrashImage) {
        long held = f.allocatePage();
        assertEquals(expectHeld, held, "the head of the free list");
        try (PageHandle h = f.pin(held, AccessIntent.WRITE)) {
            fill(h, 2);
            f.flush(); // the header counts the held page allocated; the flush cannot write its data
            long reused = f.allocatePage();
            assertEquals(expectReused, reused);
            write(f, reused, 2);
            running.setMemoryLimit(2L * PS); // the held page and one more
            verify(f, evictVia, 1); // evicts the reused page: its data lands on a page the header calls free

            StandardBufferManager afterCrash = manager(backend, 16L * PS);
            PageFile g = afterCrash.openPageFile(crashImage(p)); // rebuilt from the pages on disk
            checkCrashImage.accept(g);
            g.close();
        }
        running.setMemoryLimit(16L * PS);
        f.close();
        PageFile again = manager(backend, 16L * PS).openPageFile(p);
        verify(again, held, 2);
    }

    /**
     * Two threads flush one file at once. The first frees page 2 and writes a header listing it;
     * the second, freeing page 4, writes its own header before the first writes page 2's node, and
     * is slow to write the nodes itself. The first flush must not return before page 2's free is on
     * disk: a crash then would rebuild the list and leak page 2 as allocated. A sync hook orders
     * the threads; where flushes of one file are serialized, the second waits for the first instead.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aFlushReturnsWithItsFreesOnDiskWhileAnotherFlushOfTheFileRuns(IoBackend backend) throws Exception {
        dev.spillway.testing.FaultInjectingBackend io = new dev.spillway.testing.FaultInjectingBackend(backend, 5);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("two-flushes.pf");
        PageFile f = running.createPageFile(p, PS);
        for (int i = 0; i < 5; i++) {
            write(f, f.allocatePage(), 1);
        }
        f.flush();
        Path abs = p.toAbsolutePath().normalize();
        Thread first = Thread.currentThread();
        Thread[] second = new Thread[1];
        Throwable[] failed = new Throwable[1];
        java.util.concurrent.atomic.AtomicInteger firstSyncs = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicInteger secondSyncs = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.CountDownLatch secondBeforeNodes = new java.util.concurrent.CountDownLatch(1);
        java.util.concurrent.CountDownLatch release = new java.util.concurrent.CountDownLatch(1);
        io.inject(dev.spillway.testing.FaultInjectingBackend.Op.SYNC).on(q -> {
            try {
                if (!q.equals(abs)) {
                    return false;
                }
                if (Thread.currentThread() == first && firstSyncs.incrementAndGet() == 2) { // after its header
                    second[0] = new Thread(() -> {
                        try {
                            f.freePage(4);
                            f.flush();
                        } catch (Throwable t) {
                            failed[0] = t;
                        }
                    });
                    second[0].start();
                    secondBeforeNodes.await(1, java.util.concurrent.TimeUnit.SECONDS); // not reached where flushes wait
                } else if (Thread.currentThread() == second[0] && secondSyncs.incrementAndGet() == 2) {
                    secondBeforeNodes.countDown(); // its header is written, its nodes not yet
                    release.await(20, java.util.concurrent.TimeUnit.SECONDS);
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
            return false;
        });
        f.freePage(2);
        f.flush();
        Path crash = crashImage(p); // a crash the moment the first flush returned
        release.countDown();
        second[0].join();
        if (failed[0] != null) {
            throw new AssertionError(failed[0]);
        }
        PageFile g = manager(backend, 16L * PS).openPageFile(crash);
        assertEquals(1, g.freePageCount(), "page 2's free was flushed: free after the crash, not rebuilt as allocated");
        assertThrows(IllegalArgumentException.class, () -> g.pin(2, AccessIntent.READ), "page 2 is free");
        for (long page : new long[] {1, 3, 5}) {
            verify(g, page, 1);
        }
        g.close();
        f.close();
    }
}
