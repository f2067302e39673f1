package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferManager;
import dev.spillway.CorruptDataException;
import dev.spillway.PageFile;
import dev.spillway.SpillwayException;
import dev.spillway.io.Backends;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.io.NativeIoException;
import dev.spillway.pool.StandardBufferManager;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Page-file I/O that fails, by fault injection on every backend: a pin miss whose read fails, a
 * dirty page whose write-back fails during eviction, a flush whose page write, header write or
 * fdatasync fails. Each time the error names operation, file, page and OS text; nothing accepted
 * is lost (a failed write-back leaves the page dirty, written later; a failed read caches nothing
 * and a retry reads the right bytes); and the validator of {@link ReliabilityTestSupport} finds
 * every count exact and nothing leaked.
 */
class PageFaultTest extends ReliabilityTestSupport {
    private static final int PS = 16 * 1024;
    private static final String EIO_TEXT = "Input/output error";

    /** Each backend with EIO and ENOSPC, and a write that stops half way and then fails. */
    static Stream<Arguments> writeFaults() {
        List<Arguments> out = new ArrayList<>();
        backends().forEach(b -> {
            out.add(Arguments.of(b, Errno.EIO, false));
            out.add(Arguments.of(b, Errno.ENOSPC, false));
            out.add(Arguments.of(b, Errno.ENOSPC, true));
        });
        return out.stream();
    }

    /** A file of {@code pages} data pages at version 1, flushed and closed, then opened again: nothing resident. */
    private PageFile fileOnDisk(StandardBufferManager m, String name, int pages) {
        Path p = dir.resolve(name);
        PageFile f = m.createPageFile(p, PS);
        for (int i = 0; i < pages; i++) {
            write(f, f.allocatePage(), 1);
        }
        f.close();
        return m.openPageFile(p);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aPinMissWhoseReadFailsNamesThePageCachesNothingAndARetryReadsIt(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 1);
        StandardBufferManager m = manager(io, 3L * PS); // 6 pages through 3 frames: every round below misses
        PageFile f = fileOnDisk(m, "miss.pf", 6);
        io.inject(Op.READ).errno(Errno.EIO).at(o -> o != 0).times(1);
        SpillwayException e = assertThrows(SpillwayException.class, () -> verify(f, 3, 1));
        assertEquals(Errno.EIO, findCause(e, NativeIoException.class).errno());
        assertMentions(e, "page 3", f.path().toString(), EIO_TEXT);
        assertEquals(0, m.residentPages(), "a failed read leaves no frame behind");
        assertEquals(0, m.memoryUsed(), "and no memory reserved");
        assertConsistent(m);
        verify(f, 3, 1); // the fault cleared: the retry reads the page from disk

        // a read that comes back short (a truncated file, a lying device): corrupt data naming the page
        io.inject(Op.READ).shortRead().at(o -> o != 0).times(1);
        CorruptDataException c = assertThrows(CorruptDataException.class, () -> verify(f, 4, 1));
        assertMentions(c, "page 4", f.path().toString());
        assertEquals(1, m.residentPages());
        assertConsistent(m);
        verify(f, 4, 1);

        // the same under eviction pressure: faults on 30% of reads, every page still right after
        io.inject(Op.READ).errno(Errno.EIO).at(o -> o != 0).probability(0.3);
        int failed = 0;
        for (int round = 0; round < 40; round++) {
            long page = 1 + round % 6;
            try {
                verify(f, page, 1);
            } catch (SpillwayException ex) {
                assertMentions(ex, "page " + page, EIO_TEXT);
                failed++;
            }
        }
        assertTrue(failed > 0 && io.injected(Op.READ) == failed + 2, failed + " failed pins, "
                + io.injected(Op.READ) + " faults");
        assertConsistent(m);
        io.clear();
        for (long page = 1; page <= 6; page++) {
            verify(f, page, 1);
        }
    }

    @ParameterizedTest
    @MethodSource("writeFaults")
    void aWriteBackThatFailsDuringEvictionKeepsThePageDirtyAndWritesItLater(IoBackend backend, int errno,
            boolean shortWrite) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 2);
        StandardBufferManager m = manager(io, 4L * PS);
        Path p = dir.resolve("evict.pf");
        PageFile f = m.createPageFile(p, PS);
        for (int i = 0; i < 4; i++) {
            write(f, f.allocatePage(), 7); // four dirty pages fill the limit
        }
        FaultInjectingBackend.Rule r = io.inject(Op.WRITE).errno(errno).at(o -> o != 0);
        if (shortWrite) {
            r.shortWrite(true);
        }
        SpillwayException e = assertThrows(SpillwayException.class, f::allocatePage);
        assertEquals(errno, findCause(e, NativeIoException.class).errno());
        assertMentions(e, "evict page", p.toString(), "stays dirty", FaultInjectingBackendText.of(errno));
        assertEquals(4, m.residentPages(), "nothing was evicted");
        assertEquals(5, f.pageCount(), "the failed allocation took no page");
        assertConsistent(m);
        long writesBefore = io.calls(Op.WRITE);
        io.clear();
        long page5 = f.allocatePage(); // evicts: the dirty victim is written now
        assertTrue(io.calls(Op.WRITE) > writesBefore, "the page that failed to write was written on the next eviction");
        write(f, page5, 8);
        for (long page = 1; page <= 4; page++) {
            verify(f, page, 7);
        }
        assertConsistent(m);
        f.close();
        PageFile g = m.openPageFile(p);
        for (long page = 1; page <= 4; page++) {
            verify(g, page, 7);
        }
        verify(g, page5, 8);
    }

    /**
     * An Error (an OutOfMemoryError, a StackOverflowError) out of an eviction's write-back: the
     * page must stay dirty and resident, as after a failed write, not held WRITEBACK for good,
     * where every later write pin, flush and close of it would wait forever. The manager is not
     * the support's: if the page is stuck, its close would hang the test run.
     */
    @Test
    void anErrorOutOfAWriteBackLeavesThePageDirtyNotHeldForGood() throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(Backends.available().get(0), 9);
        StandardBufferManager m = (StandardBufferManager) BufferManager.builder().backend(io).memoryLimit(2L * PS)
                .temporaryDirectory(tempDir()).build();
        PageFile f = m.createPageFile(dir.resolve("error.pf"), PS);
        long a = f.allocatePage();
        write(f, a, 1);
        long b = f.allocatePage();
        write(f, b, 1);
        AtomicBoolean armed = new AtomicBoolean(true);
        io.inject(Op.WRITE).at(o -> {
            if (o != 0 && armed.getAndSet(false)) {
                throw new OutOfMemoryError("injected: an Error out of a write-back");
            }
            return false;
        });
        assertThrows(OutOfMemoryError.class, f::allocatePage); // evicts a dirty page: its write-back throws
        notStuck("a write pin or flush of the page whose eviction's write-back threw", () -> {
            write(f, a, 2);
            write(f, b, 2);
            f.flush();
        });
        armed.set(true);
        write(f, a, 3);
        assertThrows(OutOfMemoryError.class, f::flush); // the flush's write-back of a throws
        notStuck("a write pin or flush of the page whose flush's write-back threw", () -> {
            write(f, a, 4);
            f.flush();
        });
        verify(f, a, 4);
        verify(f, b, 2);
        assertConsistent(m);
        m.close();
    }

    /** Runs {@code action} on a daemon thread, which must be done within 10 s. */
    private static void notStuck(String what, Runnable action) throws InterruptedException {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        Thread t = new Thread(() -> {
            try {
                action.run();
            } catch (Throwable e) {
                failure.set(e);
            }
        }, "after-the-error");
        t.setDaemon(true);
        t.start();
        t.join(10_000);
        assertFalse(t.isAlive(), what + " waits for good");
        assertNull(failure.get(), () -> what + " failed: " + failure.get());
    }

    /** A write the device tears and reports as done (a lying disk): the checksum catches it on the next read. */
    @ParameterizedTest
    @MethodSource("backends")
    void aTornWriteBackIsCaughtByThePageChecksum(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 3);
        StandardBufferManager m = manager(io, 2L * PS);
        PageFile f = m.createPageFile(dir.resolve("torn.pf"), PS);
        write(f, f.allocatePage(), 3);
        write(f, f.allocatePage(), 3);
        io.inject(Op.WRITE).shortWrite(false).at(o -> o != 0).times(1);
        write(f, f.allocatePage(), 3); // evicts page 1, torn on disk
        assertEquals(1, io.injected(Op.WRITE));
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> verify(f, 1, 3));
        assertMentions(e, "page 1", f.path().toString(), "checksum");
        assertConsistent(m);
        verify(f, 2, 3);
        verify(f, 3, 3);
    }

    @ParameterizedTest
    @MethodSource("writeFaults")
    void aFlushWhosePageWriteFailsKeepsThePagesDirtyForTheNextFlush(IoBackend backend, int errno, boolean shortWrite) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 4);
        StandardBufferManager m = manager(io, 16L * PS);
        Path p = dir.resolve("flush.pf");
        PageFile f = m.createPageFile(p, PS);
        for (int i = 0; i < 5; i++) {
            write(f, f.allocatePage(), 1);
        }
        f.flush();
        for (long page = 1; page <= 5; page++) {
            write(f, page, 2);
        }
        FaultInjectingBackend.Rule r = io.inject(Op.WRITE).errno(errno).at(o -> o == 3L * PS).times(1);
        if (shortWrite) {
            r.shortWrite(true);
        }
        SpillwayException e = assertThrows(SpillwayException.class, f::flush);
        assertMentions(e, "flush", "page 3", p.toString(), "stays dirty", FaultInjectingBackendText.of(errno));
        assertConsistent(m);
        long writes = io.calls(Op.WRITE);
        long syncs = io.calls(Op.SYNC);
        f.flush();
        assertEquals(writes + 1, io.calls(Op.WRITE), "only page 3 was still dirty (no header change)");
        assertEquals(syncs + 1, io.calls(Op.SYNC));
        f.close();
        PageFile g = m.openPageFile(p);
        for (long page = 1; page <= 5; page++) {
            verify(g, page, 2);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFlushWhoseHeaderWriteOrFdatasyncFailsIsRetriedByTheNextFlush(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 5);
        StandardBufferManager m = manager(io, 16L * PS);
        Path p = dir.resolve("header.pf");
        PageFile f = m.createPageFile(p, PS);
        for (int i = 0; i < 3; i++) {
            write(f, f.allocatePage(), 4);
        }
        io.inject(Op.WRITE).errno(Errno.EIO).at(o -> o == 0).times(1); // the header
        SpillwayException h = assertThrows(SpillwayException.class, f::flush);
        assertMentions(h, p.toString(), "offset 0", EIO_TEXT);
        io.inject(Op.SYNC).errno(Errno.EIO).times(1);
        NativeIoException s = assertThrows(NativeIoException.class, f::flush);
        assertMentions(s, "fdatasync", p.toString(), EIO_TEXT);
        assertEquals(1, io.injected(Op.SYNC));
        assertConsistent(m);
        f.flush();
        // a closed file cannot be written: close fails (and the file stays open) until the fault clears
        write(f, 2, 5);
        io.inject(Op.WRITE).errno(Errno.EIO).at(o -> o != 0);
        assertThrows(SpillwayException.class, f::close);
        assertTrue(f.isOpen());
        io.clear();
        f.close();
        PageFile g = m.openPageFile(p);
        assertEquals(4, g.pageCount());
        verify(g, 1, 4);
        verify(g, 2, 5);
        verify(g, 3, 4);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFailedFdatasyncMakesThePagesItCoveredDirtyAgainSoTheNextFlushWritesThemAgain(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 6);
        StandardBufferManager m = manager(io, 16L * PS);
        Path p = dir.resolve("fsyncgate.pf");
        PageFile f = m.createPageFile(p, PS);
        for (int i = 0; i < 3; i++) {
            write(f, f.allocatePage(), 7);
        }
        io.inject(Op.SYNC).errno(Errno.EIO).times(1);
        NativeIoException s = assertThrows(NativeIoException.class, f::flush);
        assertMentions(s, "fdatasync", p.toString(), EIO_TEXT);
        assertConsistent(m);
        // the kernel may have dropped what the failed fdatasync covered: the retry sends it all again
        long writes = io.calls(Op.WRITE);
        f.flush();
        assertEquals(writes + 4, io.calls(Op.WRITE), "3 data pages and the header written again");
        long again = io.calls(Op.WRITE);
        f.flush();
        assertEquals(again, io.calls(Op.WRITE), "after a good fdatasync nothing is written again");
        f.close();
        PageFile g = m.openPageFile(p);
        for (long page = 1; page <= 3; page++) {
            verify(g, page, 7);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFailedFdatasyncAfterWrittenPagesWereEvictedFailsEveryLaterFlushUntilReopened(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 7);
        StandardBufferManager m = manager(io, 2L * PS); // 5 dirty pages through 2 frames: 3 written back and dropped
        Path p = dir.resolve("lost.pf");
        PageFile f = m.createPageFile(p, PS);
        for (int i = 0; i < 5; i++) {
            write(f, f.allocatePage(), 8);
        }
        io.inject(Op.SYNC).errno(Errno.EIO).times(1);
        SpillwayException lost = assertThrows(SpillwayException.class, f::flush);
        assertMentions(lost, "fdatasync", p.toString(), EIO_TEXT, "3 pages", "durability", "reopen");
        assertConsistent(m);
        // a later fdatasync would succeed, but cannot bring back what the kernel may have dropped
        SpillwayException again = assertThrows(SpillwayException.class, f::flush);
        assertMentions(again, "flush", "3 pages", "durability");
        SpillwayException closed = assertThrows(SpillwayException.class, f::close);
        assertMentions(closed, "close", "is closed, but", "durability");
        assertTrue(!f.isOpen(), "close completes and reports");
        assertConsistent(m);
        PageFile g = m.openPageFile(p); // the injector lost nothing really: reopened, every page is there
        for (long page = 1; page <= 5; page++) {
            verify(g, page, 8);
        }
        g.flush();
    }

    /** The OS text the injector gives each errno. */
    static final class FaultInjectingBackendText {
        static String of(int errno) {
            return errno == Errno.ENOSPC ? "No space left on device" : EIO_TEXT;
        }
    }
}
