package dev.spillway.testing;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.io.NativeIoException;
import dev.spillway.io.TestData;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.util.Arrays;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The wrapper itself: map and discard reach the real backend, and a DISCARD fault fails as a real one would. */
class FaultInjectingBackendTest {
    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void discardIsDelegatedAndItsFaultFailsLikeTheBackendWithoutTouchingMemory(IoBackend real) {
        FaultInjectingBackend io = new FaultInjectingBackend(real, 1);
        byte[] data = TestData.random(4 * 4096, 11);
        try (AlignedBuffer m = io.map(4 * 4096)) {
            m.buffer().put(0, data);
            assertEquals(real.canDiscard(), io.canDiscard());
            if (!io.canDiscard()) {
                io.inject(Op.DISCARD).errno(Errno.EINVAL);
                assertThrows(UnsupportedOperationException.class, () -> io.discard(m, 4096, 8192));
                assertEquals(0, io.injected(Op.DISCARD));
                return;
            }
            io.inject(Op.DISCARD).errno(Errno.EINVAL).times(1);
            NativeIoException e = assertThrows(NativeIoException.class, () -> io.discard(m, 4096, 8192));
            assertEquals("discard", e.operation());
            assertEquals(Errno.EINVAL, e.errno());
            assertTrue(e.getMessage().contains("offset 4096") && e.getMessage().contains("8192 bytes"), e.getMessage());
            assertArrayEquals(data, TestData.bytes(m.buffer(), 0, data.length));
            io.discard(m, 4096, 8192); // the rule fired its one time: now the real discard
            Arrays.fill(data, 4096, 3 * 4096, (byte) 0);
            assertArrayEquals(data, TestData.bytes(m.buffer(), 0, data.length));
            assertEquals(2, io.calls(Op.DISCARD));
            assertEquals(1, io.injected(Op.DISCARD));
        }
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
    }
}
