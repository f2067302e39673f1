package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.CorruptDataException;
import dev.spillway.InvalidPageFileException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.SpillwayException;
import dev.spillway.io.IoBackend;
import dev.spillway.io.NativeIoException;
import java.io.RandomAccessFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.FileTime;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The page file format: header, free list, page checksums, and every way a file can be refused. */
class PageFileTest extends PoolTestBase {
    static final long MB = 1 << 20;

    @ParameterizedTest
    @MethodSource("backends")
    void pagesSurviveCloseAndReopenForEveryPageSize(IoBackend b) {
        for (int ps = 4096; ps <= 256 * 1024; ps *= 2) {
            Path p = dir.resolve("sizes-" + ps + ".pf");
            StandardBufferManager m = manager(b, 8 * MB);
            try (PageFile f = m.createPageFile(p, ps)) {
                assertEquals(ps, f.pageSize());
                assertEquals(ps - 8, f.usableSize());
                assertEquals(1, f.pageCount());
                for (int i = 0; i < 3; i++) {
                    assertEquals(i + 1, f.allocatePage());
                    write(f, i + 1, ps);
                }
            }
            StandardBufferManager m2 = manager(b, 8 * MB);
            try (PageFile f = m2.openPageFile(p, ps)) {
                assertEquals(4, f.pageCount());
                for (int i = 1; i <= 3; i++) {
                    verify(f, i, ps);
                }
            }
            assertEquals(4L * ps, p.toFile().length());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void freedPagesAreReusedBeforeGrowingAndTheListPersists(IoBackend b) {
        Path p = dir.resolve("free.pf");
        StandardBufferManager m = manager(b, 4 * MB);
        PageFile f = m.createPageFile(p, 8192);
        for (int i = 1; i <= 6; i++) {
            assertEquals(i, f.allocatePage());
            write(f, i, 7);
        }
        f.freePage(2);
        f.freePage(5);
        assertEquals(2, f.freePageCount());
        IllegalArgumentException freed = assertThrows(IllegalArgumentException.class, () -> f.pin(5, AccessIntent.READ));
        assertTrue(freed.getMessage().contains("page 5") && freed.getMessage().contains(p.toString())
                && freed.getMessage().contains("free"), freed.getMessage());
        assertThrows(IllegalArgumentException.class, () -> f.freePage(5), "double free");
        assertEquals(5, f.allocatePage(), "last freed first");
        try (PageHandle h = f.pin(5, AccessIntent.READ)) {
            assertEquals(0, h.getLong(0), "a reused page starts zeroed");
        }
        assertEquals(7, f.pageCount());
        f.close();

        StandardBufferManager m2 = manager(b, 4 * MB);
        PageFile g = m2.openPageFile(p);
        assertEquals(1, g.freePageCount());
        assertEquals(7, g.pageCount());
        assertThrows(IllegalArgumentException.class, () -> g.pin(2, AccessIntent.READ));
        for (long q : new long[] {1, 3, 4, 6}) {
            verify(g, q, 7);
        }
        assertEquals(2, g.allocatePage());
        assertEquals(7, g.allocatePage(), "free list empty: the file grows");
        assertEquals(0, g.freePageCount());
        g.close();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void byteFlippedOnDiskIsDetectedAndNamed(IoBackend b) throws Exception {
        Path p = dir.resolve("flip.pf");
        StandardBufferManager m = manager(b, 4 * MB);
        try (PageFile f = m.createPageFile(p, 4096)) {
            for (int i = 1; i <= 4; i++) {
                f.allocatePage();
                write(f, i, 3);
            }
        }
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            long at = 3 * 4096 + 1000;
            raf.seek(at);
            int v = raf.read();
            raf.seek(at);
            raf.write(v ^ 0x10);
        }
        StandardBufferManager m2 = manager(b, 4 * MB);
        try (PageFile f = m2.openPageFile(p)) {
            CorruptDataException e = assertThrows(CorruptDataException.class, () -> f.pin(3, AccessIntent.READ));
            assertTrue(e.getMessage().contains("page 3") && e.getMessage().contains(p.toString())
                    && e.getMessage().contains("checksum"), e.getMessage());
            verify(f, 2, 3);
            verify(f, 4, 3);
            assertThrows(CorruptDataException.class, () -> f.pin(3, AccessIntent.WRITE), "not cached after failing");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void corruptHeaderIsRefusedAndNothingIsWritten(IoBackend b) throws Exception {
        Path p = dir.resolve("hdr.pf");
        makeFile(b, p, 8192, 2);
        flip(p, 20); // inside the page count
        assertRefusedUnchanged(b, p, 0, CorruptDataException.class, "checksum");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void notAPageFileIsRefusedAndNothingIsWritten(IoBackend b) throws Exception {
        Path p = dir.resolve("random.bin");
        byte[] junk = dev.spillway.io.TestData.random(3 * 8192, 9);
        Files.write(p, junk);
        assertRefusedUnchanged(b, p, 0, InvalidPageFileException.class, "not a Spillway page file");
        Path empty = dir.resolve("empty.bin");
        Files.write(empty, new byte[0]);
        assertRefusedUnchanged(b, empty, 0, InvalidPageFileException.class, "too short");
        Path small = dir.resolve("small.bin");
        Files.write(small, new byte[10]);
        assertRefusedUnchanged(b, small, 0, InvalidPageFileException.class, "too short");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void wrongVersionIsRefused(IoBackend b) throws Exception {
        Path p = dir.resolve("v2.pf");
        makeFile(b, p, 4096, 1);
        rewriteHeader(p, h -> h.putInt(8, 2));
        assertRefusedUnchanged(b, p, 0, InvalidPageFileException.class, "version 2");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void mismatchedPageSizeIsRefused(IoBackend b) throws Exception {
        Path p = dir.resolve("ps.pf");
        makeFile(b, p, 16384, 1);
        InvalidPageFileException e = assertRefusedUnchanged(b, p, 4096, InvalidPageFileException.class, "16384");
        assertTrue(e.getMessage().contains("4096"), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void truncatedFileIsRefused(IoBackend b) throws Exception {
        Path p = dir.resolve("trunc.pf");
        makeFile(b, p, 8192, 3);
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.setLength(raf.length() - 8192);
        }
        assertRefusedUnchanged(b, p, 0, CorruptDataException.class, "truncated");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void badCreationArgumentsAreRefused(IoBackend b) throws Exception {
        StandardBufferManager m = manager(b, 4 * MB);
        for (int bad : new int[] {0, -4096, 2048, 5000, 512 * 1024, 12288}) {
            Path p = dir.resolve("bad-" + bad + ".pf");
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> m.createPageFile(p, bad));
            assertTrue(e.getMessage().contains(String.valueOf(bad)) && e.getMessage().contains(p.toString()), e.getMessage());
            assertFalse(Files.exists(p));
        }
        Path p = dir.resolve("exists.pf");
        Files.write(p, new byte[] {1, 2, 3});
        NativeIoException e = assertThrows(NativeIoException.class, () -> m.createPageFile(p, 4096));
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
        assertArrayEquals(new byte[] {1, 2, 3}, Files.readAllBytes(p));
        Path ok = dir.resolve("ok.pf");
        PageFile f = m.createPageFile(ok, 4096);
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> m.openPageFile(ok));
        assertTrue(twice.getMessage().contains("already open"), twice.getMessage());
        f.close();
    }

    // ---- helpers ----

    private void makeFile(IoBackend b, Path p, int pageSize, int pages) {
        StandardBufferManager m = manager(b, 4 * MB);
        try (PageFile f = m.createPageFile(p, pageSize)) {
            for (int i = 0; i < pages; i++) {
                write(f, f.allocatePage(), 1);
            }
        }
    }

    private static void flip(Path p, long at) throws Exception {
        try (RandomAccessFile raf = new RandomAccessFile(p.toFile(), "rw")) {
            raf.seek(at);
            int v = raf.read();
            raf.seek(at);
            raf.write(v ^ 1);
        }
    }

    private interface HeaderEdit {
        void apply(ByteBuffer header);
    }

    /** Edits header fields and re-seals its checksum, so only the edit is wrong. */
    private static void rewriteHeader(Path p, HeaderEdit edit) throws Exception {
        byte[] all = Files.readAllBytes(p);
        ByteBuffer h = ByteBuffer.wrap(all).order(ByteOrder.LITTLE_ENDIAN);
        edit.apply(h);
        CRC32C crc = new CRC32C();
        crc.update(all, 0, 40);
        h.putInt(40, (int) crc.getValue());
        Files.write(p, all);
    }

    private <T extends SpillwayException> T assertRefusedUnchanged(IoBackend b, Path p, int expectedPageSize,
            Class<T> type, String words) throws Exception {
        byte[] before = Files.readAllBytes(p);
        FileTime mtime = FileTime.fromMillis(1_000_000_000L);
        Files.setLastModifiedTime(p, mtime);
        StandardBufferManager m = manager(b, 4 * MB);
        T e = assertThrows(type, () -> {
            if (expectedPageSize == 0) {
                m.openPageFile(p);
            } else {
                m.openPageFile(p, expectedPageSize);
            }
        });
        assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains(words), e.getMessage());
        assertArrayEquals(before, Files.readAllBytes(p), "the refused file was changed");
        assertEquals(mtime, Files.getLastModifiedTime(p), "the refused file was written");
        assertEquals(0, m.openDescriptors(), "a refused file left a descriptor open");
        return e;
    }

    /**
     * A free list that loops (every node's checksum good, the header's count as large as the file's
     * pages, the file sparse) is found as soon as the walk comes back to a page, not after reading
     * as many pages as the header counts: the file then opens with its list rebuilt from the pages.
     * Before, the walk read a page per counted entry (up to 2^31 of them on a large sparse file,
     * and kept a list that long) before it gave up.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aFreeListThatLoopsIsFoundAtOnce(IoBackend b) throws Exception {
        int ps = 4096;
        long pages = 1 << 14; // 64 MiB, sparse: pages 4.. are holes
        Path path = dir.resolve("loop.pf");
        ByteBuffer page = ByteBuffer.allocateDirect(ps).order(ByteOrder.LITTLE_ENDIAN);
        try (RandomAccessFile raf = new RandomAccessFile(path.toFile(), "rw")) {
            raf.setLength(pages * ps);
            java.nio.channels.FileChannel ch = raf.getChannel();
            PageFileFormat.encodeHeader(b, page, new PageFileFormat.Header(ps, pages, 3, pages - 1));
            ch.write(page.clear(), 0);
            for (long[] node : new long[][] {{3, 2}, {2, 3}}) { // 3 -> 2 -> 3 -> ...
                for (int i = 0; i < ps; i += 8) {
                    page.putLong(i, 0);
                }
                PageFileFormat.encodeFreePage(b, page, ps, node[1]);
                ch.write(page.clear(), node[0] * ps);
            }
        }
        dev.spillway.testing.FaultInjectingBackend io = new dev.spillway.testing.FaultInjectingBackend(b, 1);
        StandardBufferManager m = manager(dev.spillway.BufferManager.builder().backend(io).memoryLimit(64 * ps));
        try (PageFile f = m.openPageFile(path)) {
            assertEquals(pages, f.pageCount());
            assertEquals(2, f.freePageCount(), "the rebuilt list: the two free nodes");
        }
        // the rebuild reads each page once; the walk that looped read a handful more, not another 16,383
        long reads = io.calls(dev.spillway.testing.FaultInjectingBackend.Op.READ);
        assertTrue(reads < pages + 100, reads + " reads to open a file of " + pages + " pages");
    }

    /**
     * Creating a page file makes its name durable too (fsync of the directory): syncing the file
     * does not cover its directory entry, which a power loss could otherwise drop. A directory
     * sync that fails fails the create, which leaves no file behind.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void createSyncsTheDirectoryAndAFailedSyncLeavesNoFile(IoBackend b) {
        dev.spillway.testing.FaultInjectingBackend io = new dev.spillway.testing.FaultInjectingBackend(b, 1);
        StandardBufferManager m = manager(dev.spillway.BufferManager.builder().backend(io).memoryLimit(64 * 4096));
        Path sub = dir.resolve("sub");
        try {
            Files.createDirectories(sub);
        } catch (java.io.IOException e) {
            throw new java.io.UncheckedIOException(e);
        }
        java.util.List<Path> synced = new java.util.ArrayList<>();
        io.inject(dev.spillway.testing.FaultInjectingBackend.Op.SYNC_DIRECTORY).on(p -> !synced.add(p)).times(1);
        m.createPageFile(sub.resolve("a.pf"), 4096).close();
        assertEquals(java.util.List.of(sub), synced, "the new file's directory, once");

        io.clear();
        io.inject(dev.spillway.testing.FaultInjectingBackend.Op.SYNC_DIRECTORY).errno(dev.spillway.io.Errno.EIO).times(1);
        Path p = sub.resolve("b.pf");
        NativeIoException e = assertThrows(NativeIoException.class, () -> m.createPageFile(p, 4096));
        assertTrue(e.getMessage().contains("sync directory") && e.getMessage().contains(sub.toString()), e.getMessage());
        assertFalse(Files.exists(p), "a create that failed leaves no file");
        m.createPageFile(p, 4096).close(); // and may be retried
    }
}
