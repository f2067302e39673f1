package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import dev.spillway.ClosedException;
import dev.spillway.CorruptDataException;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.attribute.PosixFilePermission;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * One suite for every I/O backend that loads here: every operation, the error cases, and
 * spill blocks written by one backend read back by every other.
 */
class BackendConformanceTest {
    static final EnumSet<OpenFlag> CREATE_DIRECT = EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT);
    static final int BLOCK = 256 * 1024;

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    static Stream<Arguments> backendPairs() {
        List<Arguments> pairs = new ArrayList<>();
        for (IoBackend w : Backends.available()) {
            for (IoBackend r : Backends.available()) {
                pairs.add(Arguments.of(w, r));
            }
        }
        return pairs.stream();
    }

    @AfterEach
    void noLeakedBuffers() {
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked by the test");
        assertEquals(0, Backends.liveCodecs(), "codecs leaked by the test");
    }

    @Test
    void nativeBackendIsActiveWhereItShouldBe() {
        // CI builds libspillway: a silent fallback to nio must fail here, not pass unnoticed.
        if (Boolean.getBoolean("spillway.require.native")) {
            assertEquals(BackendKind.JNI, Backends.selection().chosen(), Backends.selection().toString());
        }
        assertTrue(Backends.available().stream().anyMatch(b -> b.kind() == BackendKind.NIO));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void allocateGivesZeroedAlignedMemoryOfAnySize(IoBackend b) {
        for (int size : new int[] {1, 100, 4095, 4096, 4097, 3 * 4096 + 1, 256 * 4096 + 100}) {
            try (AlignedBuffer a = b.allocate(size)) {
                assertEquals(size, a.size());
                assertEquals(size, a.buffer().capacity());
                assertEquals(0, a.buffer().alignmentOffset(0, IoBackend.ALIGNMENT));
                assertArrayEquals(new byte[size], TestData.bytes(a.buffer(), 0, size), "size " + size);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void writeReadRoundTripWithDirectIo(IoBackend b) {
        Path p = dir.resolve("rw.dat");
        try (IoFile f = b.open(p, CREATE_DIRECT); AlignedBuffer buf = b.allocate(3 * 4096);
                AlignedBuffer back = b.allocate(4 * 4096)) {
            byte[] data = TestData.random(3 * 4096, 1);
            buf.buffer().put(0, data);
            f.write(buf.buffer(), 0, 3 * 4096, 4096);
            assertEquals(4 * 4096, f.size());
            assertEquals(3 * 4096, f.read(back.buffer(), 0, 3 * 4096, 4096));
            assertArrayEquals(data, TestData.bytes(back.buffer(), 0, 3 * 4096));
            // the gap before reads as zeros; past the end is a short read, then 0
            assertEquals(4096, f.read(back.buffer(), 0, 4096, 0));
            assertArrayEquals(new byte[4096], TestData.bytes(back.buffer(), 0, 4096));
            assertEquals(4096, f.read(back.buffer(), 0, 2 * 4096, 3 * 4096));
            assertEquals(0, f.read(back.buffer(), 0, 4096, 100 * 4096));
            f.sync();
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void directReadEndingInsideABlockIsAShortRead(IoBackend b) throws Exception {
        Path p = dir.resolve("ten.dat");
        Files.write(p, TestData.random(4096 + 10, 4));
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.DIRECT)); AlignedBuffer buf = b.allocate(8192)) {
            assertEquals(4096 + 10, f.read(buf.buffer(), 0, 8192, 0));
            assertEquals(10, f.read(buf.buffer(), 0, 4096, 4096));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void newFilesAreOwnerOnly(IoBackend b) throws Exception {
        Path p = dir.resolve("mode.dat");
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE))) {
            assertTrue(f.isOpen());
        }
        assertEquals(EnumSet.of(PosixFilePermission.OWNER_READ, PosixFilePermission.OWNER_WRITE),
                Files.getPosixFilePermissions(p));
        NativeIoException e = assertThrows(NativeIoException.class,
                () -> b.open(p, EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE)));
        assertEquals(Errno.EEXIST, e.errno());
        assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void missingFileAndSymlinkAreClearErrors(IoBackend b) throws Exception {
        Path missing = dir.resolve("nope");
        NativeIoException e = assertThrows(NativeIoException.class, () -> b.open(missing, Set.of()));
        assertTrue(e.getMessage().contains("open") && e.getMessage().contains(missing.toString()), e.getMessage());
        Path target = dir.resolve("target");
        Files.write(target, new byte[10]);
        Path link = Files.createSymbolicLink(dir.resolve("link"), target);
        assertThrows(NativeIoException.class, () -> b.open(link, EnumSet.of(OpenFlag.NO_FOLLOW)));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void fileNamesThatAreNoUtf8ReachTheFileNamed(IoBackend b) throws Exception {
        // a directory named "d" and the byte 0xff: Java cannot spell it, bash can
        Process mk;
        try {
            mk = new ProcessBuilder("bash", "-c", "mkdir -- \"$1\"/d$'\\xff'", "bash", dir.toString())
                    .redirectErrorStream(true).start();
        } catch (IOException e) {
            assumeTrue(false, "no bash to make a directory whose name is no UTF-8: " + e);
            return;
        }
        String out = new String(mk.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assumeTrue(mk.waitFor() == 0, "bash mkdir failed: " + out);
        Path d;
        try (Stream<Path> s = Files.list(dir)) {
            d = s.filter(Files::isDirectory).findFirst().orElseThrow(); // the name's raw bytes, as the OS gave them
        }
        Path p = d.resolve("f-" + b.kind());
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE)); AlignedBuffer buf = b.allocate(4096)) {
            f.write(buf.buffer(), 0, 4096, 0);
        }
        try (Stream<Path> s = Files.list(d)) {
            assertEquals(List.of(p), s.toList());
        }
        assertEquals(4096, Files.size(p));
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.READ_ONLY))) {
            assertEquals(4096, f.size());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void sizeOperations(IoBackend b) {
        Path p = dir.resolve("size.dat");
        try (IoFile f = b.open(p, CREATE_DIRECT); AlignedBuffer buf = b.allocate(4096)) {
            f.allocate(0, 8 * 4096);
            assertEquals(8 * 4096, f.size());
            buf.buffer().put(0, TestData.random(4096, 2));
            f.write(buf.buffer(), 0, 4096, 4096);
            if (f.punchHole(4096, 4096)) {
                assertEquals(8 * 4096, f.size());
                f.read(buf.buffer(), 0, 4096, 4096);
                assertArrayEquals(new byte[4096], TestData.bytes(buf.buffer(), 0, 4096));
            } else {
                assertEquals(BackendKind.NIO, b.kind(), "only nio may lack hole punching on ext4/tmpfs");
            }
            f.truncate(4096);
            assertEquals(4096, f.size());
            f.truncate(5 * 4096);
            assertEquals(5 * 4096, f.size());
        }
    }

    /**
     * nio has no fallocate and writes zeros instead: a range larger than the free space is refused
     * before any is written (before, it wrote zeros until the disk was full and left the file that
     * long). Only nio: the kernel's fallocate on ext4 may allocate up to the full disk before it fails.
     */
    @org.junit.jupiter.api.Test
    void nioRefusesToAllocateMoreThanTheFreeSpaceBeforeWritingAny() throws Exception {
        IoBackend b = Backends.open(BackendKind.NIO);
        Path p = dir.resolve("too-large.dat");
        long free = java.nio.file.Files.getFileStore(dir).getUsableSpace();
        long length = free + (1L << 40); // a TiB more than free: no other process can free that much meanwhile
        try (IoFile f = b.open(p, CREATE_DIRECT)) {
            f.allocate(0, 4096);
            long start = System.nanoTime();
            NativeIoException e = assertThrows(NativeIoException.class, () -> f.allocate(4096, length));
            assertEquals(Errno.ENOSPC, e.errno(), e.getMessage());
            assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("nothing was written"),
                    e.getMessage());
            assertEquals(4096, f.size(), "the file keeps its size");
            assertTrue(System.nanoTime() - start < 5_000_000_000L, "refused at once, not after writing");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void badArgumentsAreExceptionsNotCrashes(IoBackend b) {
        Path p = dir.resolve("args.dat");
        try (IoFile f = b.open(p, CREATE_DIRECT); AlignedBuffer buf = b.allocate(8192)) {
            ByteBuffer bb = buf.buffer();
            assertThrows(IndexOutOfBoundsException.class, () -> f.read(bb, 4096, 8192, 0));
            assertThrows(IndexOutOfBoundsException.class, () -> f.read(bb, -1, 10, 0));
            assertThrows(IllegalArgumentException.class, () -> f.read(bb, 0, 4096, -4096));
            assertThrows(IllegalArgumentException.class, () -> f.write(bb, 0, 4096, Long.MAX_VALUE - 10));
            assertThrows(IllegalArgumentException.class, () -> f.read(ByteBuffer.allocate(4096), 0, 4096, 0));
            assertThrows(IllegalArgumentException.class, () -> f.allocate(-1, 10));
            assertThrows(IllegalArgumentException.class, () -> f.truncate(-1));
            if (f.isDirect()) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.read(bb, 1, 4096, 0));
                assertTrue(e.getMessage().contains("O_DIRECT"), e.getMessage());
                assertThrows(IllegalArgumentException.class, () -> f.write(bb, 0, 100, 0));
                assertThrows(IllegalArgumentException.class, () -> f.write(bb, 0, 4096, 512));
            }
            assertThrows(IllegalArgumentException.class, () -> b.allocate(0));
            assertThrows(IllegalArgumentException.class, () -> b.allocate(-5));
        }
    }

    /**
     * The largest buffer is the same on every backend, and a larger one is refused before any
     * memory is taken (before: jni and jna handed out up to Integer.MAX_VALUE bytes, nio refused past
     * Integer.MAX_VALUE - 4096, and ffm took the memory from C, then failed to wrap more than about
     * Integer.MAX_VALUE - 8 bytes as a ByteBuffer with an IllegalStateException and never freed it).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void allocationsLargerThanEveryBackendCanWrapAreRefusedBeforeTakingMemory(IoBackend b) {
        for (int size : new int[] {Integer.MAX_VALUE, Integer.MAX_VALUE - 7, Integer.MAX_VALUE - IoBackend.ALIGNMENT + 1}) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.allocate(size).close());
            assertTrue(e.getMessage().startsWith("allocate: size " + size), e.getMessage());
            e = assertThrows(IllegalArgumentException.class, () -> b.map(size).close());
            assertTrue(e.getMessage().contains("size " + size), e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void mapGivesZeroedAlignedMemoryAndDiscardZeroesOnlyItsRange(IoBackend b) {
        int size = 256 * 4096 + 100; // not a page multiple: the tail of the last page belongs to the buffer
        long liveBefore = AlignedBuffer.liveBytes();
        try (AlignedBuffer m = b.map(size)) {
            assertEquals(liveBefore + size, AlignedBuffer.liveBytes());
            assertEquals(size, m.size());
            assertEquals(size, m.buffer().capacity());
            assertEquals(0, m.buffer().alignmentOffset(0, IoBackend.ALIGNMENT));
            assertArrayEquals(new byte[size], TestData.bytes(m.buffer(), 0, size));
            byte[] data = TestData.random(size, 9);
            m.buffer().put(0, data);
            if (!b.canDiscard()) {
                assertEquals(BackendKind.NIO, b.kind(), "every native backend can discard");
                UnsupportedOperationException e = assertThrows(UnsupportedOperationException.class,
                        () -> b.discard(m, 0, 4096));
                assertTrue(e.getMessage().contains("discard"), e.getMessage());
                assertArrayEquals(data, TestData.bytes(m.buffer(), 0, size));
                return;
            }
            // whole pages, a range with partial pages at both ends, one inside a page, the odd tail, nothing
            int[][] ranges = {{8 * 4096, 16 * 4096}, {100_000, 300_000}, {500_007, 93}, {250 * 4096 - 10, 6 * 4096 + 110},
                {size, 0}, {0, 0}};
            for (int[] r : ranges) {
                b.discard(m, r[0], r[1]);
                Arrays.fill(data, r[0], r[0] + r[1], (byte) 0);
                assertArrayEquals(data, TestData.bytes(m.buffer(), 0, size), "after discarding [" + r[0] + ", +" + r[1] + ")");
            }
            // discarded memory is ordinary memory again
            m.buffer().putLong(8 * 4096, 0x1122334455667788L);
            assertEquals(0x1122334455667788L, m.buffer().getLong(8 * 4096));
            b.discard(m, 0, size);
            assertArrayEquals(new byte[size], TestData.bytes(m.buffer(), 0, size));
        }
        assertEquals(liveBefore, AlignedBuffer.liveBytes());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void discardRefusesBadArgumentsWithoutTouchingMemory(IoBackend b) {
        int size = 16 * 4096;
        try (AlignedBuffer m = b.map(size); AlignedBuffer plain = b.allocate(4096)) {
            assertThrows(IllegalArgumentException.class, () -> b.map(0));
            assertThrows(IllegalArgumentException.class, () -> b.map(-4096));
            if (!b.canDiscard()) {
                assertThrows(UnsupportedOperationException.class, () -> b.discard(plain, 0, 4096));
                return;
            }
            byte[] data = TestData.random(size, 10);
            m.buffer().put(0, data);
            for (int[] r : new int[][] {{-1, 4096}, {0, -1}, {size - 4095, 4096}, {size + 1, 0}, {4096, Integer.MAX_VALUE},
                {Integer.MAX_VALUE, Integer.MAX_VALUE}, {Integer.MIN_VALUE, 10}}) {
                IndexOutOfBoundsException e = assertThrows(IndexOutOfBoundsException.class, () -> b.discard(m, r[0], r[1]));
                assertTrue(e.getMessage().contains("discard") && e.getMessage().contains(r[0] + ", +" + r[1])
                        && e.getMessage().contains(String.valueOf(size)), e.getMessage());
            }
            assertThrows(NullPointerException.class, () -> b.discard(null, 0, 4096));
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> b.discard(plain, 0, 4096));
            assertTrue(e.getMessage().contains("not a mapping"), e.getMessage());
            for (IoBackend other : Backends.available()) {
                if (other != b) {
                    try (AlignedBuffer theirs = other.map(4096)) {
                        assertThrows(IllegalArgumentException.class, () -> b.discard(theirs, 0, 4096),
                                "a mapping of the " + other.kind() + " backend");
                    }
                }
            }
            assertArrayEquals(data, TestData.bytes(m.buffer(), 0, size));
            AlignedBuffer closed = b.map(size);
            closed.close();
            ClosedException c = assertThrows(ClosedException.class, () -> b.discard(closed, 0, 4096));
            assertTrue(c.getMessage().contains("discard"), c.getMessage());
        }
    }

    /** What discard is for: the memory really goes back to the OS, as the process's resident set shows. */
    @ParameterizedTest
    @MethodSource("backends")
    void discardGivesTheMemoryBackToTheOs(IoBackend b) throws IOException {
        assumeTrue(b.canDiscard(), "nio cannot discard");
        Path status = Path.of("/proc/self/status");
        assumeTrue(Files.isReadable(status) && residentBytes(status) > 0, "no VmRSS in /proc/self/status");
        int size = 64 << 20;
        try (AlignedBuffer m = b.map(size)) {
            ByteBuffer bb = m.buffer();
            // the JVM allocates and frees beside us: take the best of a few rounds, each one a full touch and discard
            long bestDrop = 0;
            for (int round = 0; round < 3 && bestDrop < size * 3L / 4; round++) {
                for (int i = 0; i < size; i += 4096) {
                    bb.put(i, (byte) 1);
                }
                long touched = residentBytes(status);
                b.discard(m, 0, size);
                long discarded = residentBytes(status);
                bestDrop = Math.max(bestDrop, touched - discarded);
            }
            assertTrue(bestDrop >= size * 3L / 4, "resident set fell by " + (bestDrop >> 20) + " MiB after discarding "
                    + (size >> 20) + " MiB");
            assertEquals(0, bb.get(size - 4096));
        }
    }

    /** VmRSS of this process in bytes, or -1 where the kernel does not report it. */
    private static long residentBytes(Path status) throws IOException {
        for (String line : Files.readAllLines(status)) {
            if (line.startsWith("VmRSS:")) {
                return Long.parseLong(line.replaceAll("[^0-9]", "")) * 1024;
            }
        }
        return -1;
    }

    @ParameterizedTest
    @MethodSource("backends")
    void closedFileIsRefused(IoBackend b) {
        Path p = dir.resolve("closed.dat");
        IoFile f = b.open(p, CREATE_DIRECT);
        f.close();
        f.close(); // idempotent
        assertFalse(f.isOpen());
        try (AlignedBuffer buf = b.allocate(4096)) {
            ClosedException e = assertThrows(ClosedException.class, () -> f.read(buf.buffer(), 0, 4096, 0));
            assertTrue(e.getMessage().contains(p.toString()), e.getMessage());
            assertThrows(ClosedException.class, () -> f.write(buf.buffer(), 0, 4096, 0));
            assertThrows(ClosedException.class, f::sync);
            assertThrows(ClosedException.class, f::size);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void readOnlyFileRefusesWrites(IoBackend b) throws Exception {
        Path p = dir.resolve("ro.dat");
        Files.write(p, new byte[8192]);
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.READ_ONLY)); AlignedBuffer buf = b.allocate(4096)) {
            assertTrue(f.isReadOnly());
            assertThrows(IllegalStateException.class, () -> f.write(buf.buffer(), 0, 4096, 0));
            assertEquals(4096, f.read(buf.buffer(), 0, 4096, 0));
        }
    }

    /**
     * A spill write to a read-only file is refused in Java like a write, the same on every backend
     * (before: the native backends passed the read-only descriptor to C, whose pwrite failed with
     * EBADF, "Bad file descriptor (errno 9)", which says nothing of the file being read-only).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void readOnlyFileRefusesSpillWrites(IoBackend b) throws Exception {
        Path p = dir.resolve("ro.spill");
        Files.write(p, new byte[8192]);
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.READ_ONLY)); Codec c = b.newCodec();
                AlignedBuffer s = b.allocate(SpillFormat.scratchSize(4096))) {
            ByteBuffer src = ByteBuffer.allocateDirect(4096);
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> c.spillWrite(f, 0, src, 0, 4096, 1, 4095, s));
            assertEquals("spill write on " + p + ": file was opened read-only", e.getMessage());
        }
        assertArrayEquals(new byte[8192], Files.readAllBytes(p));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void crc32cKnownVectors(IoBackend b) {
        ByteBuffer v = TestData.direct("123456789".getBytes(StandardCharsets.US_ASCII));
        assertEquals(0xE3069283, b.crc32c(v, 0, 9));
        assertEquals(0x8A9136AA, b.crc32c(ByteBuffer.allocateDirect(32), 0, 32));
        ByteBuffer r = TestData.direct(TestData.random(10000, 3));
        java.util.zip.CRC32C ref = new java.util.zip.CRC32C();
        ref.update(r.duplicate().position(7).limit(7 + 9000));
        assertEquals((int) ref.getValue(), b.crc32c(r, 7, 9000));
        assertThrows(IndexOutOfBoundsException.class, () -> b.crc32c(r, 9000, 2000));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void compressRoundTripAtEveryKindOfLevel(IoBackend b) {
        byte[] data = TestData.csv(BLOCK, 4);
        ByteBuffer src = TestData.direct(data);
        ByteBuffer frame = ByteBuffer.allocateDirect(SpillFormat.compressBound(BLOCK));
        ByteBuffer back = ByteBuffer.allocateDirect(BLOCK);
        try (Codec c = b.newCodec()) {
            for (int level : new int[] {-5, -1, 1, 3, 5}) {
                int n = c.compress(src, 0, BLOCK, frame, 0, frame.capacity(), level);
                assertTrue(n > 0 && n < BLOCK * 3 / 4, "level " + level + " compressed to " + n);
                assertEquals(BLOCK, c.decompress(frame, 0, n, back, 0, BLOCK));
                assertArrayEquals(data, TestData.bytes(back, 0, BLOCK));
            }
            assertThrows(IllegalArgumentException.class, () -> c.compress(src, 0, BLOCK, frame, 0, frame.capacity(), 99));
            assertThrows(IllegalArgumentException.class,
                    () -> c.compress(src, 0, BLOCK, frame, 0, frame.capacity(), b.minLevel() - 1));
            // corrupt frame: exception, and the codec still works afterwards
            ByteBuffer junk = TestData.direct(TestData.random(1000, 5));
            assertThrows(CorruptDataException.class, () -> c.decompress(junk, 0, 1000, back, 0, BLOCK));
            int n = c.compress(src, 0, BLOCK, frame, 0, frame.capacity(), 1);
            assertThrows(CorruptDataException.class, () -> c.decompress(frame, 0, n / 2, back, 0, BLOCK));
            assertEquals(BLOCK, c.decompress(frame, 0, n, back, 0, BLOCK));
            // a good frame into too small a destination: the caller's mistake, the same on every backend
            IllegalArgumentException small = assertThrows(IllegalArgumentException.class,
                    () -> c.decompress(frame, 0, n, back, 0, BLOCK - 1));
            assertEquals("decompress of " + n + " bytes: output does not fit the destination", small.getMessage());
            assertEquals(BLOCK, c.decompress(frame, 0, n, back, 0, BLOCK));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void closedCodecIsRefused(IoBackend b) {
        Codec c = b.newCodec();
        c.close();
        ByteBuffer x = ByteBuffer.allocateDirect(100);
        assertThrows(ClosedException.class, () -> c.compress(x, 0, 10, x, 50, 50, 1));
    }

    @ParameterizedTest
    @MethodSource("backendPairs")
    void spillBlocksReadBackThroughEveryBackend(IoBackend writer, IoBackend reader) {
        Path p = dir.resolve("spill-" + writer.kind() + "-" + reader.kind());
        byte[] csv = TestData.csv(BLOCK, 6);
        byte[] rnd = TestData.random(BLOCK, 7);
        try (IoFile wf = writer.open(p, CREATE_DIRECT); Codec wc = writer.newCodec();
                AlignedBuffer ws = writer.allocate(SpillFormat.scratchSize(BLOCK))) {
            SpillBlock a = wc.spillWrite(wf, 0, TestData.direct(csv), 0, BLOCK, 1, 224 * 1024 - SpillFormat.HEADER_SIZE, ws);
            assertEquals(SpillFormat.CODEC_ZSTD, a.codec());
            assertTrue(a.storedSize() < BLOCK && a.storedSize() % 4096 == 0, a.toString());
            SpillBlock r = wc.spillWrite(wf, 256 * 1024 + 4096, TestData.direct(rnd), 0, BLOCK, 1, BLOCK - 1, ws);
            assertEquals(SpillFormat.CODEC_RAW, r.codec());
            assertEquals(BLOCK + 4096, r.storedSize());
            SpillBlock none = wc.spillWrite(wf, 2 * (256 * 1024 + 4096), TestData.direct(csv), 0, BLOCK,
                    SpillFormat.LEVEL_NONE, BLOCK, ws);
            assertEquals(SpillFormat.CODEC_RAW, none.codec());

            try (IoFile rf = reader.open(p, EnumSet.of(OpenFlag.DIRECT)); Codec rc = reader.newCodec();
                    AlignedBuffer rs = reader.allocate(SpillFormat.scratchSize(BLOCK))) {
                ByteBuffer dst = ByteBuffer.allocateDirect(BLOCK);
                rc.spillRead(rf, 0, a.storedSize(), dst, 0, BLOCK, rs);
                assertArrayEquals(csv, TestData.bytes(dst, 0, BLOCK));
                rc.spillRead(rf, 256 * 1024 + 4096, r.storedSize(), dst, 0, BLOCK, rs);
                assertArrayEquals(rnd, TestData.bytes(dst, 0, BLOCK));
                rc.spillRead(rf, 2 * (256 * 1024 + 4096), none.storedSize(), dst, 0, BLOCK, rs);
                assertArrayEquals(csv, TestData.bytes(dst, 0, BLOCK));
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void spillCallsUseTheWholeScratchWhateverItsLimit(IoBackend b) {
        Path p = dir.resolve("limit.spill");
        byte[] csv = TestData.csv(BLOCK, 9);
        byte[] rnd = TestData.random(BLOCK, 10);
        try (IoFile f = b.open(p, CREATE_DIRECT); Codec c = b.newCodec();
                AlignedBuffer s = b.allocate(SpillFormat.scratchSize(BLOCK))) {
            // the SPI's offsets are absolute up to the scratch's size: a limit or position the caller
            // left (relative use of the same buffer) changes nothing, as in C, which never sees them
            s.buffer().position(8).limit(16);
            SpillBlock z = c.spillWrite(f, 0, TestData.direct(csv), 0, BLOCK, 1, BLOCK - 1, s);
            assertEquals(SpillFormat.CODEC_ZSTD, z.codec());
            SpillBlock r = c.spillWrite(f, BLOCK + 4096, TestData.direct(rnd), 0, BLOCK, SpillFormat.LEVEL_NONE, 0, s);
            assertEquals(SpillFormat.CODEC_RAW, r.codec());
            ByteBuffer dst = ByteBuffer.allocateDirect(BLOCK);
            c.spillRead(f, 0, z.storedSize(), dst, 0, BLOCK, s);
            assertArrayEquals(csv, TestData.bytes(dst, 0, BLOCK));
            c.spillRead(f, BLOCK + 4096, r.storedSize(), dst, 0, BLOCK, s);
            assertArrayEquals(rnd, TestData.bytes(dst, 0, BLOCK));
            assertEquals(8, s.buffer().position());
            assertEquals(16, s.buffer().limit());
        }
    }

    /**
     * A spill write whose stored block (header and padding included) would pass the largest file
     * offset is refused in Java, naming the operation, the file and the offset, the same on every
     * backend (before: an offset with room for srcLength bytes but not for the block reached C,
     * which answered "invalid argument to the Spillway core (code -5001)", no file, no offset).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void spillWriteWhoseBlockWouldPassTheLargestOffsetIsRefusedNamingFileAndOffset(IoBackend b) {
        Path p = dir.resolve("far.spill");
        long far = Long.MAX_VALUE - 4095; // a multiple of 4096 with room for 10 bytes, not for a 4096-byte block
        try (IoFile f = b.open(p, CREATE_DIRECT); Codec c = b.newCodec();
                AlignedBuffer s = b.allocate(SpillFormat.scratchSize(BLOCK))) {
            ByteBuffer src = ByteBuffer.allocateDirect(10);
            for (int level : new int[] {1, SpillFormat.LEVEL_NONE}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> c.spillWrite(f, far, src, 0, 10, level, 9, s));
                assertTrue(e.getMessage().startsWith("spill write on " + p) && e.getMessage().contains("offset " + far),
                        e.getMessage());
            }
            assertEquals(0, f.size(), "nothing written");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void corruptSpillBlocksNameFileAndOffset(IoBackend b) {
        Path p = dir.resolve("corrupt.spill");
        byte[] csv = TestData.csv(BLOCK, 8);
        try (IoFile f = b.open(p, CREATE_DIRECT); Codec c = b.newCodec();
                AlignedBuffer s = b.allocate(SpillFormat.scratchSize(BLOCK));
                AlignedBuffer one = b.allocate(4096)) {
            SpillBlock blk = c.spillWrite(f, 4096, TestData.direct(csv), 0, BLOCK, 3, BLOCK - 1, s);
            ByteBuffer dst = ByteBuffer.allocateDirect(BLOCK);
            // flip one byte in each of: magic, codec, payload length, raw length, crc, reserved, payload
            for (int at : new int[] {0, 4, 9, 13, 17, 25, 40, 1000, blk.payloadLength() + 31}) {
                f.read(one.buffer(), 0, 4096, 4096 + (at / 4096) * 4096L);
                int i = at % 4096;
                one.buffer().put(i, (byte) (one.buffer().get(i) ^ 0x10));
                f.write(one.buffer(), 0, 4096, 4096 + (at / 4096) * 4096L);
                CorruptDataException e = assertThrows(CorruptDataException.class,
                        () -> c.spillRead(f, 4096, blk.storedSize(), dst, 0, BLOCK, s), "flip at " + at);
                assertTrue(e.getMessage().contains(p.toString()) && e.getMessage().contains("offset 4096"), e.getMessage());
                one.buffer().put(i, (byte) (one.buffer().get(i) ^ 0x10));
                f.write(one.buffer(), 0, 4096, 4096 + (at / 4096) * 4096L);
            }
            c.spillRead(f, 4096, blk.storedSize(), dst, 0, BLOCK, s);
            assertArrayEquals(csv, TestData.bytes(dst, 0, BLOCK));
            // a wrong expected length, a truncated file, and bad arguments
            assertThrows(CorruptDataException.class, () -> c.spillRead(f, 4096, blk.storedSize(), dst, 0, BLOCK - 1, s));
            assertThrows(IllegalArgumentException.class, () -> c.spillRead(f, 100, blk.storedSize(), dst, 0, BLOCK, s));
            assertThrows(IllegalArgumentException.class,
                    () -> c.spillWrite(f, 0, TestData.direct(csv), 0, BLOCK, 1, BLOCK, one));
            f.truncate(8192);
            assertThrows(CorruptDataException.class, () -> c.spillRead(f, 4096, blk.storedSize(), dst, 0, BLOCK, s));
        }
    }
}
