package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.nio.ByteBuffer;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** crc32c on both sides of the ffm backend's switch from critical to ordinary downcalls (1 MiB). */
class Crc32cSizesTest {
    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void matchesTheJdkAtEverySize(IoBackend b) {
        ByteBuffer data = TestData.direct(TestData.random(3 * (1 << 20) + 64, 21));
        for (int length : new int[] {0, 1, 4096, (1 << 20) - 1, 1 << 20, (1 << 20) + 1, 3 * (1 << 20) + 5}) {
            CRC32C ref = new CRC32C();
            ref.update(data.duplicate().position(59).limit(59 + length));
            assertEquals((int) ref.getValue(), b.crc32c(data, 59, length), b.kind() + ", " + length + " bytes");
        }
    }
}
