package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assumptions.assumeTrue;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Input and output that share memory (a caller's mistake) are refused with an
 * IllegalArgumentException naming the operation and both ranges, before anything is written:
 * zstd used to write its output over input it had not read, and spill read returned other bytes
 * than were spilled, under a valid crc, with no error.
 */
class CodecOverlapTest {
    private static final int N = 1 << 20;

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @AfterEach
    void noLeaks() {
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked by the test");
        assertEquals(0, Backends.liveCodecs(), "codecs leaked by the test");
    }

    private static void assertNames(IllegalArgumentException e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage().contains(p), () -> "'" + p + "' missing in: " + e.getMessage());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void spillWriteOfTheScratchItselfIsRefused(IoBackend b) {
        byte[] data = TestData.csv(N, 11);
        Path p = dir.resolve("src-is-scratch.spill");
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE)); Codec c = b.newCodec();
                AlignedBuffer scratch = b.allocate(SpillFormat.scratchSize(N) + N); AlignedBuffer dst = b.allocate(N)) {
            ByteBuffer s = scratch.buffer();
            // the reviewer's case (zstd, "only if smaller"), raw, and a source in the scratch's tail
            for (int level : new int[] {1, SpillFormat.LEVEL_NONE}) {
                for (int at : new int[] {0, scratch.size() - N}) {
                    s.put(at, data);
                    IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                            () -> c.spillWrite(f, 0, s, at, N, level, N - 1, scratch), "level " + level + " at " + at);
                    assertNames(e, "spill write", p.toString(), "src [" + at + ", +" + N + ")",
                            "scratch [0, +" + scratch.size() + ")", "overlap");
                }
            }
            assertEquals(0, f.size(), "nothing written");
            // the codec still works, and the same data from elsewhere round-trips
            SpillBlock blk = c.spillWrite(f, 0, TestData.direct(data), 0, N, 1, N - 1, scratch);
            c.spillRead(f, 0, blk.storedSize(), dst.buffer(), 0, N, scratch);
            assertArrayEquals(data, TestData.bytes(dst.buffer(), 0, N));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void spillReadIntoTheBlockBytesOfTheScratchIsRefused(IoBackend b) {
        byte[] data = TestData.csv(N, 12);
        Path p = dir.resolve("dst-is-scratch.spill");
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE)); Codec c = b.newCodec();
                AlignedBuffer scratch = b.allocate(SpillFormat.scratchSize(N) + N)) {
            SpillBlock blk = c.spillWrite(f, 0, TestData.direct(data), 0, N, 1, N - 1, scratch);
            int stored = blk.storedSize();
            ByteBuffer s = scratch.buffer();
            for (int at : new int[] {0, 4096, stored - 1}) {
                IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                        () -> c.spillRead(f, 0, stored, s, at, N, scratch), "dst at " + at);
                assertNames(e, "spill read", p.toString(), "dst [" + at + ", +" + N + ")", "scratch [0, +" + stored + ")",
                        "overlap");
            }
            // past the block's bytes the scratch is free to use, and the bytes come back
            c.spillRead(f, 0, stored, s, stored, N, scratch);
            assertArrayEquals(data, TestData.bytes(s, stored, N));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void compressAndDecompressWithinOneBufferMustNotOverlap(IoBackend b) {
        byte[] data = TestData.csv(N, 13);
        ByteBuffer buf = ByteBuffer.allocateDirect(3 * N);
        buf.put(0, data);
        try (Codec c = b.newCodec()) {
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.compress(buf, 0, N, buf, N - 1, N, 1));
            assertNames(e, "compress", "src [0, +" + N + ")", "dst [" + (N - 1) + ", +" + N + ")", "overlap");
            assertThrows(IllegalArgumentException.class, () -> c.compress(buf, N - 1, 1, buf, 0, N, 1));
            int n = c.compress(buf, 0, N, buf, N, 2 * N, 1); // adjacent ranges of one buffer are fine
            e = assertThrows(IllegalArgumentException.class, () -> c.decompress(buf, N, n, buf, N + n - 1, N));
            assertNames(e, "decompress", "src [" + N + ", +" + n + ")", "dst [" + (N + n - 1) + ", +" + N + ")",
                    "overlap");
            assertThrows(IllegalArgumentException.class, () -> c.decompress(buf, N, n, buf, 0, N + 1));
            assertEquals(N, c.decompress(buf, N, n, buf, N + n, N));
            assertArrayEquals(data, TestData.bytes(buf, N + n, N));
        }
    }

    /**
     * A slice of the scratch is another ByteBuffer over the same memory: Java 17 cannot see that,
     * the C core can (nio cannot, a documented limit of AbstractCodec).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void viewsOfTheSameMemoryAreRefusedByTheCore(IoBackend b) {
        assumeTrue(b.kind() != BackendKind.NIO, "nio: a direct buffer's address is not visible on Java 17");
        byte[] data = TestData.csv(N, 14);
        Path p = dir.resolve("slices.spill");
        try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE)); Codec c = b.newCodec();
                AlignedBuffer scratch = b.allocate(SpillFormat.scratchSize(N) + N)) {
            ByteBuffer s = scratch.buffer();
            ByteBuffer tail = s.slice(s.capacity() - N, N);
            tail.put(0, data);
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                    () -> c.spillWrite(f, 0, tail, 0, N, 1, N - 1, scratch));
            assertNames(e, "spill write", p.toString(), "src [0, +" + N + ")", "scratch [0, +" + scratch.size() + ")",
                    "overlap in memory");
            assertThrows(IllegalArgumentException.class,
                    () -> c.spillWrite(f, 0, s.duplicate(), 0, N, SpillFormat.LEVEL_NONE, N, scratch));
            assertEquals(0, f.size(), "refused before the write");

            SpillBlock blk = c.spillWrite(f, 0, TestData.direct(data), 0, N, 1, N - 1, scratch);
            e = assertThrows(IllegalArgumentException.class,
                    () -> c.spillRead(f, 0, blk.storedSize(), s.slice(4096, N), 0, N, scratch));
            assertNames(e, "spill read", p.toString(), "dst [0, +" + N + ")", "overlap in memory");

            ByteBuffer src = s.slice(0, N);
            ByteBuffer dst = s.slice(N - 1, N);
            e = assertThrows(IllegalArgumentException.class, () -> c.compress(src, 0, N, dst, 0, N, 1));
            assertNames(e, "compress", "overlap in memory");
            assertThrows(IllegalArgumentException.class, () -> c.decompress(src, 0, N, dst, 0, N));
            // and the contexts still work
            c.spillRead(f, 0, blk.storedSize(), tail, 0, N, scratch);
            assertArrayEquals(data, TestData.bytes(tail, 0, N));
        }
    }
}
