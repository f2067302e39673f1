package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.MemoryLimitExceededException;
import dev.spillway.MemoryTag;
import dev.spillway.SpillwayException;
import dev.spillway.TempFileInfo;
import dev.spillway.TransientBuffer;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.io.NativeIoException;
import dev.spillway.pool.StandardBufferManager;
import dev.spillway.spill.TemporaryFileManager;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Spilling through a {@link BufferManager} when the temporary files fail, on every backend: spill
 * write (EIO, ENOSPC, a write that stops half way), spill read, truncate, delete. The buffer whose
 * spill failed stays in memory and is spilled later; a block whose read-back failed stays on disk
 * for a retry; a failed truncate or delete costs space, never data or accounting.
 */
class SpillFaultTest extends ReliabilityTestSupport {
    private static final int BLOCK = 256 * 1024;

    /** Raw blocks go through the fused spill write; compressed ones through compress, then pwrite. */
    static Stream<Arguments> writePaths() {
        List<Arguments> out = new ArrayList<>();
        backends().forEach(b -> {
            for (boolean compressed : new boolean[] {false, true}) {
                Op op = compressed ? Op.WRITE : Op.SPILL_WRITE;
                out.add(Arguments.of(b, compressed, op, Errno.EIO, false));
                out.add(Arguments.of(b, compressed, op, Errno.ENOSPC, false));
                out.add(Arguments.of(b, compressed, op, Errno.ENOSPC, true));
            }
        });
        return out.stream();
    }

    private StandardBufferManager manager(IoBackend io, long limit, boolean compressed) {
        return manager(io, limit, compressed, TemporaryFileManager.DEFAULT_EMPTY_FILE_RETENTION);
    }

    /** {@code retention} 0: an emptied file is deleted at once (the tests of failed truncates and deletes). */
    private StandardBufferManager manager(IoBackend io, long limit, boolean compressed, long retention) {
        BufferManager.Builder b = BufferManager.builder().backend(io).memoryLimit(limit).temporaryDirectory(tempDir())
                .temporaryDirectoryLimit(BufferManager.Builder.UNLIMITED).emptyTemporaryFileRetention(retention);
        return manager(compressed ? b.spillCompressionLevel(1) : b.spillCompressionNone());
    }

    /** A buffer filled from {@code seed}, unpinned. */
    private static TransientBuffer buffer(StandardBufferManager m, long seed) {
        try (BufferHandle h = m.allocateBuffer(MemoryTag.HASH_TABLE, BLOCK)) {
            fillBuffer(h.buffer(), seed);
            return h.transientBuffer();
        }
    }

    private static void check(TransientBuffer b, long seed) {
        try (BufferHandle h = b.pin()) {
            checkBuffer(h.buffer(), seed, b.toString());
        }
    }

    private List<String> tmpFilesOnly() throws Exception {
        List<String> out = new ArrayList<>();
        for (String n : tempFiles()) {
            if (n.endsWith(".tmp")) {
                out.add(n);
            }
        }
        return out;
    }

    @ParameterizedTest
    @MethodSource("writePaths")
    void aFailedSpillWriteLeavesTheBufferInMemoryAndItSpillsLater(IoBackend backend, boolean compressed, Op op,
            int errno, boolean shortWrite) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 11);
        StandardBufferManager m = manager(io, 2L * BLOCK, compressed);
        TransientBuffer a = buffer(m, 1);
        TransientBuffer b = buffer(m, 2);
        FaultInjectingBackend.Rule r = io.inject(op).errno(errno);
        if (shortWrite) {
            r.shortWrite(true);
        }
        MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class, () -> buffer(m, 3));
        assertEquals(errno, findCause(e, NativeIoException.class).errno());
        assertMentions(e, "spilling unpinned buffers failed", "spill write", "slot 0", tempDir().toString(),
                PageFaultTest.FaultInjectingBackendText.of(errno));
        assertEquals(TransientBuffer.State.UNPINNED, a.state(), "still in memory");
        assertEquals(TransientBuffer.State.UNPINNED, b.state());
        assertEquals(List.of(), tmpFilesOnly(), "no empty or half-written file left behind");
        assertEquals(2L * BLOCK, m.memoryUsed());
        assertConsistent(m);
        io.clear();
        TransientBuffer c = buffer(m, 3); // now a spill succeeds
        assertTrue(a.state() == TransientBuffer.State.SPILLED || b.state() == TransientBuffer.State.SPILLED);
        assertConsistent(m);
        check(a, 1);
        check(b, 2);
        check(c, 3);
    }

    /** Each backend, raw and compressed blocks. */
    static Stream<Arguments> readPaths() {
        List<Arguments> out = new ArrayList<>();
        backends().forEach(b -> {
            out.add(Arguments.of(b, false));
            out.add(Arguments.of(b, true));
        });
        return out.stream();
    }

    @ParameterizedTest
    @MethodSource("readPaths")
    void aFailedSpillReadKeepsTheBlockForARetry(IoBackend backend, boolean compressed) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 12);
        StandardBufferManager m = manager(io, 2L * BLOCK, compressed);
        TransientBuffer a = buffer(m, 1);
        buffer(m, 2);
        TransientBuffer c = buffer(m, 3);
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        c.free(); // room to read a back without evicting
        long charged = m.transientBuffers().temporaryFileManager().usedBytes();
        io.inject(Op.SPILL_READ).errno(Errno.EIO).times(1);
        SpillwayException e = assertThrows(SpillwayException.class, a::pin);
        assertEquals(Errno.EIO, findCause(e, NativeIoException.class).errno());
        assertMentions(e, "reading back", "slot 0", tempDir().toString(), "stays on disk", "Input/output error");
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        assertEquals(charged, m.transientBuffers().temporaryFileManager().usedBytes());
        assertEquals(1L * BLOCK, m.memoryUsed(), "the failed read-back gave its reservation back");
        assertConsistent(m);
        check(a, 1);
        assertConsistent(m);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFailedTruncateCostsSpaceNotDataNorAccounting(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 13);
        StandardBufferManager m = manager(io, 2L * BLOCK, false, 0);
        List<TransientBuffer> bufs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            bufs.add(buffer(m, i));
        }
        bufs.get(3).free(); // resident: 2 and 3; spilled: 0 and 1 in slots 0 and 1
        io.inject(Op.TRUNCATE).errno(Errno.EIO);
        check(bufs.get(1), 1); // frees the tail slot: the truncate fails, logged
        assertEquals(1, io.injected(Op.TRUNCATE));
        assertConsistent(m);
        check(bufs.get(0), 0);
        check(bufs.get(2), 2);
        assertConsistent(m);
        for (int i = 0; i < 3; i++) {
            bufs.get(i).free();
        }
        assertEquals(List.of(), m.temporaryFiles(), "the empty file was deleted");
        assertEquals(List.of(), tmpFilesOnly());
    }

    /**
     * The delete of an emptied temporary file fails (here: something the manager cannot remove sits
     * at its name; EIO, EPERM or EBUSY do the same). The manager warns and goes on; the next file of
     * that class wants the same name, finds it taken, and says so; once the leftover can be removed,
     * the manager removes it and spills again.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aFailedDeleteCostsSpaceAndTheNameIsReclaimedOnceItCanBe(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 14);
        StandardBufferManager m = manager(io, 2L * BLOCK, false, 0);
        TransientBuffer a = buffer(m, 1);
        TransientBuffer b = buffer(m, 2);
        TransientBuffer c = buffer(m, 3); // a spilled, alone in its file
        List<TempFileInfo> files = m.temporaryFiles();
        assertEquals(1, files.size());
        Path file = files.get(0).path();
        Files.move(file, dir.resolve("aside.tmp")); // the open descriptor still reaches the block
        Files.createDirectory(file);
        Path blocker = Files.createFile(file.resolve("blocker"));
        c.free();
        check(a, 1); // reads a back; its file is now empty and its delete fails (not empty)
        assertTrue(Files.isDirectory(file), "the leftover is still there");
        assertEquals(List.of(), m.temporaryFiles());
        assertConsistent(m);

        // the next spill needs the same name: it fails clearly, nothing lost
        MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class, () -> buffer(m, 4));
        assertMentions(e, file.toString());
        assertEquals(TransientBuffer.State.UNPINNED, a.state());
        assertEquals(TransientBuffer.State.UNPINNED, b.state());
        assertConsistent(m);

        Files.delete(blocker); // the leftover can go now: the manager takes the name back
        TransientBuffer d = buffer(m, 4);
        assertConsistent(m);
        check(a, 1);
        check(b, 2);
        check(d, 4);
        Files.delete(dir.resolve("aside.tmp"));
    }

    /** A delete that fails when the manager closes leaves a file; the next manager to start removes it. */
    @ParameterizedTest
    @MethodSource("backends")
    void aFileWhoseDeleteFailedAtCloseIsRemovedByTheNextManager(IoBackend backend) throws Exception {
        StandardBufferManager m = manager(backend, 2L * BLOCK, false);
        TransientBuffer a = buffer(m, 1);
        buffer(m, 2);
        buffer(m, 3); // a spilled
        assertEquals(TransientBuffer.State.SPILLED, a.state());
        Path file = m.temporaryFiles().get(0).path();
        Files.move(file, dir.resolve("aside.tmp"));
        Files.createDirectory(file);
        Path blocker = Files.createFile(file.resolve("blocker"));
        m.close(); // its delete of the file fails (not empty): logged, the rest is removed
        assertTrue(Files.isDirectory(file));
        assertEquals(List.of(file.getFileName().toString()), tempFiles(), "only the leftover, no owner record");
        Files.delete(blocker);
        Files.delete(dir.resolve("aside.tmp"));

        manager(backend, 2L * BLOCK, false); // starting, it removes files whose owner record is gone
        assertEquals(List.of(), tempFiles());
    }
}
