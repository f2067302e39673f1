package dev.spillway.spill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertInstanceOf;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferHandle;
import dev.spillway.CorruptDataException;
import dev.spillway.MemoryLimitExceededException;
import dev.spillway.MemoryTag;
import dev.spillway.SpillwayException;
import dev.spillway.TransientBuffer;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.io.NativeIoException;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The failure semantics of spilling, by fault injection: a failed spill leaves the buffer in
 * memory and evictable, counters exact, no empty file; a failed read-back keeps the block for a
 * retry; a torn block is a corrupt-data error naming file and slot.
 */
class TransientBufferFaultTest extends SpillTestSupport {

    /** Each backend, with compression none (the fused raw spill write) and level 1 (compress, then pwrite). */
    static Stream<Arguments> backendsAndPaths() {
        List<Arguments> out = new ArrayList<>();
        backends().forEach(b -> {
            out.add(Arguments.of(b, SpillCompression.none(), Op.SPILL_WRITE));
            out.add(Arguments.of(b, SpillCompression.fixed(1), Op.WRITE));
        });
        return out.stream();
    }

    private Fixture faulty(FaultInjectingBackend io, long memory, SpillCompression c) {
        return fixture(io, memory, TemporaryFileManager.Config.of(tmp.resolve("spill")).withCompression(c));
    }

    private List<Path> tempFiles() throws Exception {
        Path d = tmp.resolve("spill");
        if (!java.nio.file.Files.isDirectory(d)) {
            return List.of();
        }
        return listDir(d).stream().filter(p -> p.toString().endsWith(".tmp")).collect(Collectors.toList());
    }

    @ParameterizedTest
    @MethodSource("backendsAndPaths")
    void aFailedSpillLeavesTheBufferInMemoryAndEvictableLater(IoBackend backend, SpillCompression c, Op writeOp)
            throws Exception {
        for (int errno : new int[] {Errno.ENOSPC, Errno.EIO}) {
            FaultInjectingBackend io = new FaultInjectingBackend(backend, 1);
            Fixture f = faulty(io, BLOCK, c);
            TransientBuffer a;
            byte[] expected;
            try (BufferHandle h = f.pool.allocate(MemoryTag.HASH_TABLE, BLOCK)) {
                fillCsv(h.buffer(), 7);
                expected = contents(h.buffer());
                a = h.transientBuffer();
            }
            io.inject(writeOp).errno(errno); // every try fails (the accountant retries a few times)
            MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class,
                    () -> f.pool.allocate(MemoryTag.HASH_TABLE, BLOCK));
            assertTrue(io.injected(writeOp) >= 1);
            assertEquals(io.injected(writeOp), f.pool.failedSpills());
            assertTrue(e.getMessage().contains("spilling unpinned buffers failed"), e.getMessage());
            NativeIoException cause = findCause(e, NativeIoException.class);
            assertEquals(errno, cause.errno());
            assertTrue(e.getMessage().contains("slot 0") && e.getMessage().contains("spillway-"), e.getMessage());
            assertEquals(TransientBuffer.State.UNPINNED, a.state(), "still in memory");
            assertEquals(BLOCK, f.accountant.used());
            assertEquals(0, f.temp().usedBytes());
            assertEquals(0, f.temp().blockCount());
            assertTrue(tempFiles().isEmpty(), "no empty file left behind: " + tempFiles());
            f.assertConsistent();
            io.clear();

            // evictable later: the next reservation spills it
            try (BufferHandle h = f.pool.allocate(MemoryTag.HASH_TABLE, BLOCK)) {
                assertEquals(TransientBuffer.State.SPILLED, a.state());
                h.transientBuffer();
            }
            try (BufferHandle h = a.pin()) {
                assertContents(expected, h.buffer(), "after a failed then a good spill");
            }
            f.assertConsistent();
            f.pool.close();
        }
    }

    @ParameterizedTest
    @MethodSource("backendsAndPaths")
    void aShortWriteThatFailsLeavesNothingBehind(IoBackend backend, SpillCompression c, Op writeOp) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 2);
        Fixture f = faulty(io, BLOCK, c);
        TransientBuffer a;
        try (BufferHandle h = f.pool.allocate(MemoryTag.SPILL_IO, BLOCK)) {
            fillCsv(h.buffer(), 1); // compressible: level 1 takes the compress-then-pwrite path
            a = h.transientBuffer();
        }
        io.inject(writeOp).errno(Errno.ENOSPC).shortWrite(true);
        assertThrows(MemoryLimitExceededException.class, () -> f.pool.allocate(MemoryTag.SPILL_IO, BLOCK));
        assertTrue(io.injected(writeOp) >= 1);
        assertEquals(TransientBuffer.State.UNPINNED, a.state());
        assertTrue(tempFiles().isEmpty(), "the half-written file was deleted: " + tempFiles());
        f.assertConsistent();
        a.free();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void failingToCreateTheFileLeavesCountersExact(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 3);
        Fixture f = faulty(io, 2L * BLOCK, SpillCompression.adaptiveLevel());
        TransientBuffer a;
        try (BufferHandle h = f.pool.allocate(MemoryTag.SPILL_IO, 300_000)) {
            a = h.transientBuffer();
        }
        io.inject(Op.OPEN).errno(Errno.ENOSPC).times(3); // the accountant tries three times
        MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class,
                () -> f.pool.allocate(MemoryTag.SPILL_IO, BLOCK));
        assertEquals(Errno.ENOSPC, findCause(e, NativeIoException.class).errno());
        assertEquals(TransientBuffer.State.UNPINNED, a.state());
        assertEquals(0, f.temp().usedBytes());
        assertTrue(tempFiles().isEmpty());
        f.assertConsistent();
        f.pool.allocate(MemoryTag.SPILL_IO, BLOCK).close();
        assertEquals(TransientBuffer.State.SPILLED, a.state(), "spilled on the next try");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aCompressionFailureLeavesTheBufferInMemory(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 9);
        Fixture f = faulty(io, BLOCK, SpillCompression.fixed(1));
        TransientBuffer a;
        try (BufferHandle h = f.pool.allocate(MemoryTag.SPILL_IO, BLOCK)) {
            fillCsv(h.buffer(), 3);
            a = h.transientBuffer();
        }
        io.inject(Op.COMPRESS);
        MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class,
                () -> f.pool.allocate(MemoryTag.SPILL_IO, BLOCK));
        findCause(e, CorruptDataException.class);
        assertEquals(TransientBuffer.State.UNPINNED, a.state());
        assertEquals(0, f.temp().usedBytes());
        f.assertConsistent();
        io.clear();
        f.pool.allocate(MemoryTag.SPILL_IO, BLOCK).close();
        assertEquals(TransientBuffer.State.SPILLED, a.state());
    }

    @ParameterizedTest
    @MethodSource("backendsAndPaths")
    void aFailedReadBackKeepsTheBlockForARetry(IoBackend backend, SpillCompression c, Op writeOp) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 4);
        Fixture f = faulty(io, BLOCK, c);
        TransientBuffer a;
        byte[] expected;
        try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, BLOCK)) {
            fillCsv(h.buffer(), 11);
            expected = contents(h.buffer());
            a = h.transientBuffer();
        }
        spill(f);
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        long charged = f.temp().usedBytes();
        io.inject(Op.SPILL_READ).errno(Errno.EIO).times(1);
        SpillwayException e = assertThrows(SpillwayException.class, a::pin);
        assertEquals(Errno.EIO, findCause(e, NativeIoException.class).errno());
        assertTrue(e.getMessage().contains("stays on disk") && e.getMessage().contains("slot 0"), e.getMessage());
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        assertEquals(1, f.temp().blockCount(), "the block stays");
        assertEquals(charged, f.temp().usedBytes());
        f.assertConsistent();
        try (BufferHandle h = a.pin()) {
            assertContents(expected, h.buffer(), "the retry");
        }
        f.assertConsistent();
    }

    /** Each backend, with a buffer that fills a size-class slot and one that gets a file of its own. */
    static Stream<Arguments> backendsAndSizes() {
        List<Arguments> out = new ArrayList<>();
        backends().forEach(b -> {
            out.add(Arguments.of(b, BLOCK));
            out.add(Arguments.of(b, 300_000));
        });
        return out.stream();
    }

    /**
     * close(2) of the file a read-back empties reports EIO (NFS, FUSE; the descriptor is released
     * all the same). The read succeeded, so the pin does too, with the data; the slot is freed, the
     * file deleted and counted closed, and the class spills on (before: the buffer was lost, the
     * class's file index 0 stayed taken on disk so every later spill of it failed with EEXIST, and
     * the pool's close threw).
     */
    @ParameterizedTest
    @MethodSource("backendsAndSizes")
    void aCloseThatFailsAfterAReadBackKeepsTheDataAndTheBookkeeping(IoBackend backend, int size) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 9);
        Fixture f = fixture(io, TransientBufferPool.allocationSize(size), TemporaryFileManager.Config
                .of(tmp.resolve("spill")).withCompression(SpillCompression.none()).withEmptyFileRetention(0));
        TransientBuffer a;
        byte[] expected;
        try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, size)) {
            fillRandom(h.buffer(), 21);
            expected = contents(h.buffer());
            a = h.transientBuffer();
        }
        TransientBuffer b;
        try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, size)) { // spills a
            b = h.transientBuffer();
        }
        b.free(); // in memory: a's block is all that is on disk, so reading it back empties its file
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        assertEquals(1, tempFiles().size(), tempFiles().toString());
        io.inject(Op.CLOSE).errno(Errno.EIO).times(1);
        try (BufferHandle h = a.pin()) {
            assertContents(expected, h.buffer(), "the read-back whose close failed");
        }
        assertEquals(1, io.injected(Op.CLOSE));
        assertEquals(List.of(), tempFiles(), "deleted although its close failed");
        assertEquals(0, f.temp().openFiles());
        f.assertConsistent();
        for (int round = 0; round < 2; round++) { // the class spills on: its file name is free again
            TransientBuffer c;
            try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, size)) { // spills a again
                c = h.transientBuffer();
            }
            assertEquals(TransientBuffer.State.SPILLED, a.state());
            try (BufferHandle h = a.pin()) { // spills c
                assertContents(expected, h.buffer(), "spilled again and read back, round " + round);
            }
            f.assertConsistent();
            c.free();
        }
    }

    /**
     * Closing the pool frees every buffer and deletes every file even when each close(2) reports
     * an error (before: the first failure stopped the close, leaving the later buffers' memory and
     * files and the owner record behind).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void closingThePoolFreesEverythingEvenWhenClosesFail(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 10);
        Fixture f = fixture(io, BLOCK, TemporaryFileManager.Config.of(tmp.resolve("spill"))
                .withCompression(SpillCompression.none()).withEmptyFileRetention(0));
        for (int i = 0; i < 6; i++) {
            int size = i % 2 == 0 ? BLOCK : 100_000;
            try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, size)) {
                fillRandom(h.buffer(), i);
            }
        }
        f.pool.reclaim(Long.MAX_VALUE);
        assertEquals(6, f.temp().blockCount());
        f.assertConsistent();
        io.inject(Op.CLOSE).errno(Errno.EIO);
        f.pool.close();
        assertEquals(4, io.injected(Op.CLOSE), "three files of their own and the class's file");
        assertEquals(0, f.accountant.used());
        assertEquals(0, f.pool.liveBuffers());
        // the pool created the directory: close removes it, which it can only when nothing is left in it
        assertFalse(java.nio.file.Files.exists(tmp.resolve("spill")), "files left after close: " + tempFiles());
    }

    @ParameterizedTest
    @MethodSource("backendsAndPaths")
    void aTornBlockIsCorruptDataNamingFileAndSlot(IoBackend backend, SpillCompression c, Op writeOp) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 5);
        Fixture f = faulty(io, BLOCK, c);
        TransientBuffer a;
        try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, BLOCK)) {
            fillCsv(h.buffer(), 12);
            a = h.transientBuffer();
        }
        io.inject(writeOp).shortWrite(false).times(1); // silently torn
        spill(f);
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        CorruptDataException e = assertThrows(CorruptDataException.class, a::pin);
        assertTrue(e.getMessage().contains("slot 0") && e.getMessage().contains("spillway-"), e.getMessage());
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        f.assertConsistent();
        a.free();
        assertEquals(0, f.temp().blockCount());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void truncateAndPunchFailuresDoNotBreakAnything(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 6);
        Fixture f = faulty(io, BLOCK, SpillCompression.none());
        io.inject(Op.TRUNCATE).errno(Errno.EIO);
        io.inject(Op.PUNCH_HOLE).errno(Errno.EIO);
        List<TransientBuffer> bufs = new ArrayList<>();
        for (int i = 0; i < 6; i++) {
            try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, BLOCK)) {
                fillRandom(h.buffer(), i);
                bufs.add(h.transientBuffer());
            }
        }
        for (int i : new int[] {1, 4, 3, 0, 2, 5}) {
            bufs.get(i).pin().close();
        }
        assertTrue(io.injected(Op.TRUNCATE) + io.injected(Op.PUNCH_HOLE) > 0);
        f.assertConsistent();
        bufs.forEach(TransientBuffer::free);
        assertOnlyKeptEmptyFiles(f.pool.temporaryFiles());
    }

    /** Random EIO on 10% of spill writes and reads from four threads: every counter stays exact. */
    @ParameterizedTest
    @MethodSource("backends")
    void randomFaultsUnderConcurrencyKeepEverythingExact(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 7);
        Fixture f = faulty(io, 6L * BLOCK, SpillCompression.adaptiveLevel());
        io.inject(Op.WRITE).errno(Errno.EIO).probability(0.1);
        io.inject(Op.SPILL_WRITE).errno(Errno.ENOSPC).probability(0.1);
        io.inject(Op.SPILL_READ).errno(Errno.EIO).probability(0.1);
        ExecutorService ex = Executors.newFixedThreadPool(4);
        List<Future<?>> futures = new ArrayList<>();
        for (int t = 0; t < 4; t++) {
            int id = t;
            futures.add(ex.submit(() -> {
                List<TransientBuffer> mine = new ArrayList<>();
                List<byte[]> expected = new ArrayList<>();
                for (int i = 0; i < 16; i++) {
                    int size = i % 4 == 3 ? 70_000 : BLOCK;
                    BufferHandle h = retry(() -> f.pool.allocate(MemoryTag.HASH_TABLE, size));
                    if (i % 2 == 0) {
                        fillCsv(h.buffer(), id * 100 + i);
                    } else {
                        fillRandom(h.buffer(), id * 100 + i);
                    }
                    expected.add(contents(h.buffer()));
                    mine.add(h.transientBuffer());
                    h.close();
                }
                for (int i = 0; i < mine.size(); i++) {
                    TransientBuffer b = mine.get(i);
                    try (BufferHandle h = retry(b::pin)) {
                        assertContents(expected.get(i), h.buffer(), "thread " + id + " buffer " + i);
                    }
                }
                mine.forEach(TransientBuffer::free);
                return null;
            }));
        }
        for (Future<?> fu : futures) {
            fu.get(120, TimeUnit.SECONDS);
        }
        ex.shutdown();
        assertTrue(io.injected(Op.SPILL_READ) + io.injected(Op.WRITE) + io.injected(Op.SPILL_WRITE) > 0,
                "faults fired");
        f.assertConsistent();
        assertEquals(0, f.accountant.used());
        assertEquals(0, f.temp().usedBytes());
        assertOnlyKeptEmptyFiles(f.pool.temporaryFiles());
        assertEquals(f.pool.temporaryFiles().size(), tempFiles().size(), "on disk: " + tempFiles());
    }

    /**
     * A spill that fails is no byte released: reclaim must not count it as -1 (before: the failed
     * spill took one byte off the count, so the next buffer's release fell one byte short of the
     * request and a third buffer was spilled that no one needed gone).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aFailedSpillDoesNotMakeReclaimEvictMoreThanAsked(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 11);
        Fixture f = faulty(io, 3L * BLOCK, SpillCompression.none());
        List<TransientBuffer> bufs = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            try (BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, BLOCK)) {
                fillRandom(h.buffer(), i);
                bufs.add(h.transientBuffer());
            }
        }
        io.inject(Op.SPILL_WRITE).errno(Errno.ENOSPC).times(1); // the first victim's spill fails
        assertEquals(BLOCK, f.pool.reclaim(BLOCK), "one buffer's bytes, not one byte less");
        assertEquals(1, io.injected(Op.SPILL_WRITE));
        assertEquals(TransientBuffer.State.UNPINNED, bufs.get(0).state(), "its spill failed");
        assertEquals(TransientBuffer.State.SPILLED, bufs.get(1).state());
        assertEquals(TransientBuffer.State.UNPINNED, bufs.get(2).state(), "not needed gone");
        assertEquals(1, f.pool.spills());
        f.assertConsistent();
    }

    /** Spills the one unpinned buffer by allocating another, then frees that one. */
    private static void spill(Fixture f) {
        BufferHandle h = f.pool.allocate(MemoryTag.ORDER_BY, BLOCK);
        h.close();
        h.transientBuffer().free();
    }

    private static <T> T retry(java.util.function.Supplier<T> op) {
        for (int attempt = 0;; attempt++) {
            try {
                return op.get();
            } catch (SpillwayException e) {
                if (attempt > 50 || e instanceof CorruptDataException) {
                    throw e;
                }
            }
        }
    }

    private static <T extends Throwable> T findCause(Throwable e, Class<T> type) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " in the causes of " + e, e);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void theInjectorCountsAndFiresAsTold(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 8);
        io.inject(Op.OPEN).errno(Errno.EIO).after(1).times(1);
        Path p1 = tmp.resolve("x1");
        Path p2 = tmp.resolve("x2");
        io.open(p1, java.util.EnumSet.of(dev.spillway.io.OpenFlag.CREATE)).close();
        NativeIoException e = assertThrows(NativeIoException.class,
                () -> io.open(p2, java.util.EnumSet.of(dev.spillway.io.OpenFlag.CREATE)));
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("injected") && e.getMessage().contains(p2.toString()), e.getMessage());
        dev.spillway.io.IoFile f2 = io.open(p2, java.util.EnumSet.of(dev.spillway.io.OpenFlag.CREATE));
        assertEquals(3, io.calls(Op.OPEN));
        io.inject(Op.CLOSE).errno(Errno.EIO).times(1);
        e = assertThrows(NativeIoException.class, f2::close);
        assertEquals(Errno.EIO, e.errno());
        assertTrue(e.getMessage().contains("close") && e.getMessage().contains(p2.toString()), e.getMessage());
        assertFalse(f2.isOpen(), "closed although close reported an error, as close(2) does");
        f2.close(); // a second close is a no-op
        assertEquals(1, io.injected(Op.OPEN));
        assertFalse(io.toString().isEmpty());
        assertInstanceOf(IoBackend.class, io.delegate());
    }
}
