package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNotNull;
import static org.junit.jupiter.api.Assertions.assertThrows;

import dev.spillway.AccessIntent;
import dev.spillway.CorruptDataException;
import dev.spillway.PageFile;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.StandardOpenOption;
import java.util.function.LongPredicate;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The states a power loss can leave a page file in, where a process crash ({@link
 * PageFileCrashStateTest}) cannot: the disk keeps what the file's last fdatasync made durable, and
 * of the writes since, any subset, in any order (a device's cache and the file system's journal
 * reorder them). So a flush must not let a write reach the disk before the writes it depends on
 * are durable: a header before the pages it counts, a free-list node before the header that lists
 * its page. A {@link FaultInjectingBackend} whose rules never fire records the file as of each
 * fdatasync; the test then builds the disk that keeps one chosen write since it and no other.
 */
class PowerLossStateTest extends ReliabilityTestSupport {
    private static final int PS = 8192;

    /** The disk of a file after a power loss that kept, of the writes since its last fdatasync, only one. */
    private static final class PowerLoss {
        private final Path file;
        private final Path synced;
        private final Path image;
        private final LongPredicate which;
        private long captured = -1;

        /** Records {@code file} through {@code io}; {@code which} picks the write (by offset) the disk keeps. */
        PowerLoss(FaultInjectingBackend io, Path file, LongPredicate which) {
            this.file = file.toAbsolutePath().normalize();
            this.synced = file.resolveSibling(file.getFileName() + ".synced");
            this.image = file.resolveSibling(file.getFileName() + ".powerloss");
            this.which = which;
            copy(this.file, synced); // what is durable now (the caller has flushed)
            io.inject(Op.SYNC).on(p -> {
                if (p.equals(this.file)) {
                    copy(this.file, synced); // what this fdatasync makes durable (before it: nothing else writes)
                }
                return false;
            });
            io.inject(Op.WRITE).on(this.file::equals).at(offset -> {
                if (captured < 0 && this.which.test(offset)) {
                    captured = offset;
                    copy(synced, image); // the disk at this write: durable so far, nothing since
                }
                return false;
            });
        }

        /** The disk that kept the chosen write ({@code length} bytes, as the file holds them now) and nothing else since its last fdatasync. */
        Path image(int length) {
            assertNotNull(captured >= 0 ? image : null, "no write chosen was seen");
            try (FileChannel from = FileChannel.open(file, StandardOpenOption.READ);
                    FileChannel to = FileChannel.open(image, StandardOpenOption.WRITE)) {
                ByteBuffer b = ByteBuffer.allocate(length);
                from.read(b, captured);
                b.flip();
                to.write(b, captured);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
            return image;
        }

        private static void copy(Path from, Path to) {
            try {
                Files.copy(from, to, StandardCopyOption.REPLACE_EXISTING);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        }
    }

    /** The header of a flush that grew the file reaches the disk, the pages it counts do not. */
    @ParameterizedTest
    @MethodSource("backends")
    void aHeaderThatCountsNewPagesIsWrittenAfterThePagesAreDurable(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 1);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("grown.pf");
        PageFile f = running.createPageFile(p, PS);
        write(f, f.allocatePage(), 1);
        write(f, f.allocatePage(), 1);
        f.flush();
        PowerLoss loss = new PowerLoss(io, p, offset -> offset == 0); // keeps the next header only
        write(f, f.allocatePage(), 1);
        write(f, f.allocatePage(), 1);
        f.flush(); // pages 3 and 4, then a header counting them

        PageFile g = manager(backend, 16L * PS).openPageFile(loss.image(4096));
        for (long page = 1; page < g.pageCount(); page++) {
            verify(g, page, 1);
        }
        g.close();
        f.close();
    }

    /**
     * A page allocated past the end while a flush runs, between the fdatasync that made the file's
     * new size durable and the header: the header counts it, so the file's size must be durable
     * again before the header is. The allocation is made from inside the flush's first fdatasync.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aPageAllocatedDuringAFlushIsDurablyInTheFileBeforeTheHeaderCountsIt(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 4);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("during.pf");
        PageFile f = running.createPageFile(p, PS);
        write(f, f.allocatePage(), 1);
        f.flush();
        PowerLoss loss = new PowerLoss(io, p, offset -> offset == 0); // keeps the next header only
        write(f, f.allocatePage(), 1); // page 2: the flush below extends the file over it and syncs
        java.util.concurrent.atomic.AtomicBoolean armed = new java.util.concurrent.atomic.AtomicBoolean(true);
        long[] during = {-1};
        Path abs = p.toAbsolutePath().normalize();
        io.inject(Op.SYNC).on(q -> {
            if (q.equals(abs) && armed.getAndSet(false)) {
                during[0] = f.allocatePage(); // page 3, after the size was made durable
            }
            return false;
        });
        f.flush();
        assertEquals(3, during[0]);

        PageFile g = manager(backend, 16L * PS).openPageFile(loss.image(4096)); // before: "truncated"
        assertEquals(4, g.pageCount());
        verify(g, 1, 1);
        verify(g, 2, 1);
        assertThrows(CorruptDataException.class, () -> verify(g, 3, 1), "allocated, never written: zeros");
        g.close();
        f.close();
    }

    /**
     * As above, with allocations that never pause: another thread allocates a page past the end
     * during every fdatasync of the flush's header rounds. The flush must still not write a header
     * that counts a page the file's durable size does not hold: its last round holds allocations
     * off for one extend and fdatasync (here the other thread's allocation waits, and the hook's
     * wait for it times out).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aHeaderNeverCountsPagesPastTheDurableSizeWhileAllocationsDoNotPause(IoBackend backend) throws Exception {
        Storm storm = allocateDuringEveryHeaderRound(backend, (io, f) -> f.flush());
        PageFile g = manager(backend, 16L * PS).openPageFile(storm.loss().image(4096)); // before: "truncated"
        verify(g, 1, 1);
        verify(g, 2, 1);
        for (long page = 3; page < g.pageCount(); page++) {
            final long q = page;
            assertThrows(CorruptDataException.class, () -> verify(g, q, 1), "allocated, never written: zeros");
        }
        g.close();
        storm.f().close();
    }

    /** The same, with the last round's fdatasync failing: the flush reports that error, and the next one writes the header. */
    @ParameterizedTest
    @MethodSource("backends")
    void aFailedSyncInTheLastHeaderRoundIsReportedAndRetried(IoBackend backend) throws Exception {
        Storm storm = allocateDuringEveryHeaderRound(backend, (io, f) -> {
            io.inject(Op.SYNC).on(f.path().toAbsolutePath().normalize()::equals).after(3).times(1);
            RuntimeException e = assertThrows(RuntimeException.class, f::flush);
            assertEquals(dev.spillway.io.NativeIoException.class, e.getClass(), "the fdatasync's own error: " + e);
            assertMentions(e, "fdatasync", "errno 5");
        });
        storm.f().flush(); // the header again, now with nothing in the way
        PageFile g = manager(backend, 16L * PS).openPageFile(PageFileCrashStateTest.crashImage(storm.f().path()));
        assertEquals(7, g.pageCount());
        verify(g, 2, 1);
        g.close();
        storm.f().close();
    }

    /** A file whose flush ran with an allocation in each header round, and the power loss recorded meanwhile. */
    private record Storm(PageFile f, PowerLoss loss) {
    }

    /**
     * Creates a file with page 1 flushed and page 2 written, starts recording a power loss that keeps
     * the next header only, and calls {@code flush} while another thread allocates a page during
     * each of the first four fdatasyncs (the header's rounds); checks that each round got one.
     */
    private Storm allocateDuringEveryHeaderRound(IoBackend backend,
            java.util.function.BiConsumer<FaultInjectingBackend, PageFile> flush) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 4);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("storm.pf");
        PageFile f = running.createPageFile(p, PS);
        write(f, f.allocatePage(), 1);
        f.flush();
        PowerLoss loss = new PowerLoss(io, p, offset -> offset == 0); // keeps the next header only
        write(f, f.allocatePage(), 1); // page 2: the flush below must write a header
        java.util.concurrent.SynchronousQueue<Boolean> ask = new java.util.concurrent.SynchronousQueue<>();
        java.util.concurrent.SynchronousQueue<Long> allocated = new java.util.concurrent.SynchronousQueue<>();
        Thread allocator = new Thread(() -> {
            try {
                while (ask.take()) {
                    allocated.put(f.allocatePage());
                }
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            }
        });
        allocator.start();
        java.util.List<Long> during = new java.util.concurrent.CopyOnWriteArrayList<>();
        java.util.concurrent.atomic.AtomicInteger syncs = new java.util.concurrent.atomic.AtomicInteger();
        java.util.concurrent.atomic.AtomicBoolean waiting = new java.util.concurrent.atomic.AtomicBoolean();
        Path abs = p.toAbsolutePath().normalize();
        io.inject(Op.SYNC).on(q -> {
            if (q.equals(abs) && syncs.incrementAndGet() <= 4 && !waiting.get()) { // the header's rounds
                try {
                    ask.put(true);
                    Long page = allocated.poll(300, java.util.concurrent.TimeUnit.MILLISECONDS);
                    if (page != null) {
                        during.add(page);
                    } else {
                        waiting.set(true); // held off until the header is written: collected below
                    }
                } catch (InterruptedException e) {
                    throw new AssertionError(e);
                }
            }
            return false;
        });
        flush.accept(io, f);
        if (waiting.get()) {
            during.add(allocated.take());
        }
        ask.put(false);
        allocator.join();
        assertEquals(4, during.size(), "one allocation per header round: " + during);
        return new Storm(f, loss);
    }

    /** A flush that frees a page: its free-list node reaches the disk, the header that lists it does not. */
    @ParameterizedTest
    @MethodSource("backends")
    void aFreedPagesNodeIsWrittenAfterTheHeaderThatListsItIsDurable(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 2);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("freed.pf");
        PageFile f = running.createPageFile(p, PS);
        for (int i = 0; i < 4; i++) {
            write(f, f.allocatePage(), 1);
        }
        f.flush();
        PowerLoss loss = new PowerLoss(io, p, offset -> offset == 2L * PS); // keeps page 2's node only
        f.freePage(2);
        f.flush(); // the header listing page 2, and page 2's node

        PageFile g = manager(backend, 16L * PS).openPageFile(loss.image(PS));
        if (g.freePageCount() == 0) {
            verify(g, 2, 1); // the free did not reach the disk: the page holds what was flushed
        } else {
            assertThrows(IllegalArgumentException.class, () -> g.pin(2, AccessIntent.READ), "page 2 is free");
        }
        for (long page : new long[] {1, 3, 4}) {
            verify(g, page, 1);
        }
        assertEquals(5, g.pageCount());
        g.close();
        f.close();
    }

    /**
     * A page reused from the header's free list whose write-back is torn by a power loss (half the
     * new page on disk, half the old node): the header's list leads to a page that fails its
     * checksum. That is a crash's shape (a half-written data or node page), not a corrupt file: it
     * must open, with the torn page allocated and reported when read.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aTornWriteBackOfAReusedPageLeavesAFileThatOpens(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 3);
        StandardBufferManager running = manager(io, 16L * PS);
        Path p = dir.resolve("torn.pf");
        PageFile f = sixPagesWithFiveAndThreeFree(running, p, PS); // header: pages 5 -> 3 free
        long reused = f.allocatePage();
        assertEquals(5, reused);
        write(f, reused, 2);
        io.inject(Op.WRITE).at(offset -> offset == 5L * PS).shortWrite(false).times(1); // half of it, "success"
        running.setMemoryLimit(PS); // one frame
        verify(f, 1, 1); // evicts page 5: its write-back is torn

        PageFile g = manager(backend, 16L * PS).openPageFile(PageFileCrashStateTest.crashImage(p));
        assertEquals(1, g.freePageCount(), "page 3 is free");
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> verify(g, 5, 2));
        assertMentions(e, "page 5", "checksum");
        for (long page : new long[] {1, 2, 4, 6}) {
            verify(g, page, 1);
        }
        g.close();
        running.setMemoryLimit(16L * PS);
        f.close();
    }
}
