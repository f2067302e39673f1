package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The SPI's offsets are absolute: a buffer's position and limit must neither move nor shift where
 * bytes land. A binding that derives addresses from position (MemorySegment.ofBuffer starts at it)
 * would read into the wrong place here.
 */
class AbsoluteOffsetsTest {
    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void positionAndLimitNeitherMatterNorMove(IoBackend b) {
        byte[] data = TestData.random(2 * 4096, 11);
        try (IoFile f = b.open(dir.resolve("abs.dat"), EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT));
                AlignedBuffer buf = b.allocate(4 * 4096); Codec c = b.newCodec()) {
            ByteBuffer bb = buf.buffer();
            bb.put(4096, data);
            bb.position(100).limit(5000);
            f.write(bb, 4096, 2 * 4096, 0);
            bb.duplicate().clear().put(4096, new byte[2 * 4096]); // absolute puts are bounded by the limit
            assertEquals(2 * 4096, f.read(bb, 4096, 2 * 4096, 0)); // [4096, 12288) lies past the limit 5000
            assertArrayEquals(data, TestData.bytes(bb.duplicate().clear(), 4096, 2 * 4096));
            assertEquals(100, bb.position());
            assertEquals(5000, bb.limit());

            ByteBuffer src = TestData.direct(data).position(17).limit(33);
            assertEquals(b.crc32c(TestData.direct(data), 4096, 100), b.crc32c(src, 4096, 100));
            ByteBuffer frame = ByteBuffer.allocateDirect(SpillFormat.compressBound(8192) + 64).position(9);
            int n = c.compress(src, 0, 8192, frame, 64, frame.capacity() - 64, 1);
            ByteBuffer back = ByteBuffer.allocateDirect(8192 + 8).position(8000);
            assertEquals(8192, c.decompress(frame, 64, n, back, 8, 8192));
            assertArrayEquals(data, TestData.bytes(back.duplicate().clear(), 8, 8192));
            assertEquals(17, src.position());
            assertEquals(9, frame.position());
        }
    }
}
