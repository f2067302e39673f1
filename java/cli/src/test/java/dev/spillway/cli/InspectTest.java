package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.FileTime;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;

class InspectTest extends CliTestBase {
    private static final int PAGE = 4096;

    /** A page file of 10 data pages, pages 3, 5 and 7 freed (free list 7 -> 5 -> 3). */
    private Path pageFile() {
        Path p = dir.resolve("t.pages");
        try (BufferManager bm = BufferManager.builder().memoryLimit(1L << 20).temporaryDirectory(dir.resolve("tmp")).build();
                PageFile f = bm.createPageFile(p, PAGE)) {
            for (int i = 0; i < 10; i++) {
                f.allocatePage();
            }
            f.freePage(3);
            f.freePage(5);
            f.freePage(7);
        }
        return p;
    }

    @Test
    void pageFileHeaderAndFreeListReadOnly() throws Exception {
        Path p = pageFile();
        byte[] before = Files.readAllBytes(p);
        FileTime mtime = Files.getLastModifiedTime(p);
        assertEquals(0, run("inspect", p.toString()), err());
        String o = out();
        assertTrue(o.contains("magic            SPWPAGEF"), o);
        assertTrue(o.contains("page size        4,096 bytes"), o);
        assertTrue(o.contains("page count       11 (the header page included)"), o);
        assertTrue(o.contains("free-list head   7"), o);
        assertTrue(o.contains("free pages       3"), o);
        assertTrue(o.contains("data pages       7 (page count less the header and the free pages)"), o);
        assertTrue(o.contains("header checksum  ok"), o);
        assertTrue(o.contains("file size        45,056 bytes (44.0 KiB) = page count x page size"), o);
        assertTrue(o.contains("free list        3 pages, as the header says; every node checks out"), o);
        assertArrayEquals(before, Files.readAllBytes(p), "inspect must not change the file");
        assertEquals(mtime, Files.getLastModifiedTime(p));
    }

    @Test
    void damagedHeaderAndCyclicFreeListAreReportedNotFollowed() throws Exception {
        Path p = pageFile();
        // free page 5 now points back to 7, the head: 7 -> 5 -> 7 -> ...
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer page = ByteBuffer.allocate(PAGE).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(page, 5L * PAGE);
            page.putLong(8, 7);
            CRC32C c = new CRC32C();
            c.update(page.array(), 4, PAGE - 4);
            page.putInt(0, (int) c.getValue());
            ch.write(page.flip(), 5L * PAGE);
        }
        assertEquals(0, run("inspect", p.toString()), err());
        assertTrue(out().contains("BROKEN after 2 nodes: page 7 appears twice: the list has a cycle"), out());
        // a flipped bit in the header's page count
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {10}), 16); // 11 -> 10 pages
        }
        assertEquals(0, run("inspect", p.toString()), err());
        assertTrue(out().contains("header checksum  MISMATCH"), out());
        assertTrue(out().contains("bytes past the last page"), out());
        // cut short: the header counts more pages than the file has
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.truncate(6L * PAGE);
        }
        assertEquals(0, run("inspect", p.toString()), err());
        assertTrue(out().contains("TRUNCATED"), out());
        assertTrue(out().contains("BROKEN after 0 nodes: entry 1 names page 7, outside data pages 1..5"), out());
    }

    @Test
    void hugeHeaderPageCountIsTruncatedNotOverflowed() throws Exception {
        Path p = pageFile();
        long count = (1L << 52) - 1; // times 4,096 is 2^64 - 4,096: wrapped to -4,096 in a long
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.allocate(8).order(ByteOrder.LITTLE_ENDIAN).putLong(0, count), 16);
        }
        assertEquals(0, run("inspect", p.toString()), err());
        String o = out();
        assertTrue(o.contains("header checksum  MISMATCH"), o);
        assertTrue(o.contains("file size        45,056 bytes (44.0 KiB) - TRUNCATED: the header counts"
                + " 18,446,744,073,709,547,520 bytes"), o);
        assertTrue(!o.contains("past the last page"), o);
    }

    @Test
    void temporaryDirectoryFilesSlotsAndOwners() throws Exception {
        Path tmp = dir.resolve("spill");
        int block = 256 * 1024;
        try (BufferManager bm = BufferManager.builder().memoryLimit(4L * block).temporaryDirectory(tmp)
                .spillCompressionNone().build()) {
            for (int i = 0; i < 10; i++) {
                try (BufferHandle h = bm.allocateBuffer(MemoryTag.HASH_TABLE, block)) {
                    h.buffer().putLong(0, i);
                }
            }
            // a dead owner's leftovers: a record nobody locks and a file of the 32 KiB class with two empty slots
            Files.writeString(tmp.resolve("spillway-999999-0000abcd.owner"), "pid=999999\nstart=unknown\nowner=x\n");
            Files.write(tmp.resolve("spillway-999999-0000abcd-c32k-0.tmp"), new byte[64 * 1024]);
            Files.writeString(tmp.resolve("notes.txt"), "mine");
            assertEquals(0, run("inspect", tmp.toString()), err());
            String o = out();
            assertTrue(o.contains(": Spillway temporary directory"), o);
            assertTrue(o.contains("alive (a manager in this process holds its lock); 1 size-class files"), o);
            assertTrue(o.contains("999999-0000abcd") && o.contains("STALE"), o);
            // 10 raw buffers through a limit of 4: 6 spilled into the raw class, one block per slot
            assertTrue(o.lines().anyMatch(l -> l.strip().startsWith("260 KiB    1 files, 6 blocks")), o);
            assertTrue(o.lines().anyMatch(l -> l.contains("c32k-0.tmp") && l.strip().endsWith("2        0        2")), o);
            assertTrue(o.contains("other entries: 1"), o);
        }
    }

    @Test
    void somethingElseIsAOneLineError() throws Exception {
        Path garbage = Files.write(dir.resolve("garbage.bin"), new byte[] {1, 2, 3, 4, 5, 6, 7, 8, 9});
        assertFails(1, "is not a Spillway page file (9 bytes, first bytes 01 02 03 04 05 06 07 08", "inspect",
                garbage.toString());
        Path empty = Files.createDirectories(dir.resolve("empty"));
        assertFails(1, "not a Spillway temporary directory", "inspect", empty.toString());
        assertFails(1, "no such file or directory", "inspect", dir.resolve("nothing").toString());
        assertFails(2, "inspect takes one path", "inspect", garbage.toString(), empty.toString());
    }
}
