package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.BufferManagerStats;
import dev.spillway.MemoryTag;
import dev.spillway.TransientBuffer;
import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.BeforeAll;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Files on a file system that refuses O_DIRECT, on every backend: a ramfs mounted for the test
 * (tmpfs refused it too before Linux 6.6). Linux creates the file before open(2) refuses
 * O_DIRECT, so a backend that tries O_DIRECT first and retries without it leaves an empty file
 * behind, and with EXCLUSIVE the retry fails with EEXIST. Skipped where mount is not allowed
 * (not root, no CAP_SYS_ADMIN) or where this kernel's ramfs takes O_DIRECT.
 */
class NoDirectFileSystemTest {
    @TempDir
    static Path base;
    static Path ramfs;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @BeforeAll
    static void mountRamfs() throws Exception {
        Path dir = Files.createDirectory(base.resolve("ramfs"));
        String out;
        int rc;
        try {
            Process p = new ProcessBuilder("mount", "-t", "ramfs", "-o", "mode=0700", "ramfs", dir.toString())
                    .redirectErrorStream(true).start();
            out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
            rc = p.waitFor(30, TimeUnit.SECONDS) ? p.exitValue() : -1;
        } catch (IOException e) {
            out = e.toString();
            rc = -1;
        }
        assumeTrue(rc == 0, "cannot mount a ramfs here (" + out.strip() + ")");
        ramfs = dir;
        // the premise, checked without Spillway: this file system refuses O_DIRECT
        Path probe = Files.write(ramfs.resolve("probe"), new byte[4096]);
        boolean refused;
        try (FileChannel c = FileChannel.open(probe, StandardOpenOption.READ, ExtendedOpenOption.DIRECT)) {
            refused = false;
        } catch (IOException e) {
            refused = true;
        }
        Files.delete(probe);
        assumeTrue(refused, "this kernel's ramfs takes O_DIRECT: nothing to test");
    }

    @AfterAll
    static void unmountRamfs() throws Exception {
        if (ramfs != null) {
            // lazy: a file a failed test left open must not keep the mount (and its memory) alive
            new ProcessBuilder("umount", "-l", ramfs.toString()).inheritIO().start().waitFor(30, TimeUnit.SECONDS);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void exclusiveDirectCreateOpensBufferedAndASecondOneFailsWithEexist(IoBackend b) throws Exception {
        Path p = ramfs.resolve("excl-" + b.kind() + ".dat");
        EnumSet<OpenFlag> flags = EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE, OpenFlag.DIRECT);
        byte[] data = TestData.random(8192, 1);
        try (IoFile f = b.open(p, flags); AlignedBuffer buf = b.allocate(8192)) {
            assertFalse(f.isDirect(), "ramfs refuses O_DIRECT: the file must say it is buffered");
            buf.buffer().put(0, data);
            f.write(buf.buffer(), 0, 8192, 4096);
            buf.buffer().put(0, new byte[8192]);
            assertEquals(8192, f.read(buf.buffer(), 0, 8192, 4096));
            assertArrayEquals(data, TestData.bytes(buf.buffer(), 0, 8192));
            assertEquals(4096 + 8192, f.size());
        }
        NativeIoException e = assertThrows(NativeIoException.class, () -> b.open(p, flags));
        assertEquals(Errno.EEXIST, e.errno(), e.getMessage());
        assertTrue(e.getMessage().contains("open") && e.getMessage().contains(p.toString()), e.getMessage());
        assertEquals(4096 + 8192, Files.size(p), "the failed create must leave the file alone");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void existingFileOpensBufferedWithDirectAndTruncatesWhenAsked(IoBackend b) throws Exception {
        Path p = ramfs.resolve("existing-" + b.kind() + ".dat");
        byte[] data = TestData.random(4096 + 10, 2);
        Files.write(p, data);
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.DIRECT)); AlignedBuffer buf = b.allocate(8192)) {
            assertFalse(f.isDirect());
            assertEquals(4096 + 10, f.read(buf.buffer(), 0, 8192, 0));
            assertArrayEquals(data, TestData.bytes(buf.buffer(), 0, 4096 + 10));
        }
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.READ_ONLY, OpenFlag.DIRECT))) {
            assertFalse(f.isDirect());
            assertEquals(4096 + 10, f.size());
        }
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE, OpenFlag.TRUNCATE, OpenFlag.DIRECT))) {
            assertFalse(f.isDirect());
            assertEquals(0, f.size());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aBufferManagerSpillsIntoARamfs(IoBackend b) throws Exception {
        Path tmp = Files.createDirectory(ramfs.resolve("tmp-" + b.kind()));
        int n = 64;
        int size = 256 * 1024;
        // an explicit limit: the default (90% of free space) is 0 on a ramfs, which reports none free
        try (BufferManager bm = BufferManager.builder().memoryLimit(4L << 20).backend(b).temporaryDirectory(tmp)
                .temporaryDirectoryLimit(1L << 30).build()) {
            List<TransientBuffer> bufs = new ArrayList<>();
            for (int i = 0; i < n; i++) { // 16 MiB through a 4 MiB limit: most must spill
                try (BufferHandle h = bm.allocateBuffer(MemoryTag.ORDER_BY, size)) {
                    h.buffer().putLong(0, i).putLong(size - 8, ~i);
                    bufs.add(h.transientBuffer());
                }
            }
            BufferManagerStats s = bm.stats();
            assertTrue(s.buffersSpilled() >= n / 2 && s.failedSpills() == 0, s.toString());
            for (int i = 0; i < n; i++) {
                try (BufferHandle h = bufs.get(i).pin()) {
                    assertEquals(i, h.buffer().getLong(0));
                    assertEquals(~i, h.buffer().getLong(size - 8));
                }
                bufs.get(i).free();
            }
            assertTrue(bm.stats().buffersReadBack() > 0, bm.stats().toString());
        }
    }
}
