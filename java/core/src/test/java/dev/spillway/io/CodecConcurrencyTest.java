package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.ClosedException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A codec used from a second thread while a call runs (a caller's mistake, which must not crash
 * the JVM): close() takes effect when the running call returns, so the zstd contexts are freed
 * exactly once and never under it; a second concurrent call is refused instead of sharing them.
 * The running call is a spill write at zstd level 19 of 1 MiB, hundreds of milliseconds, so the
 * other thread's close or call lands while it is in native code.
 */
class CodecConcurrencyTest {
    private static final int N = 1 << 20;
    private static final int SLOW_LEVEL = 19;

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    /** A thread that runs one slow spill write; start() returns once the thread is about to call it. */
    private static final class SlowSpill extends Thread {
        final CountDownLatch calling = new CountDownLatch(1);
        final AtomicReference<SpillBlock> block = new AtomicReference<>();
        final AtomicReference<Throwable> failure = new AtomicReference<>();
        private final Codec codec;
        private final IoFile file;
        private final AlignedBuffer src;
        private final AlignedBuffer scratch;

        SlowSpill(Codec codec, IoFile file, AlignedBuffer src, AlignedBuffer scratch) {
            this.codec = codec;
            this.file = file;
            this.src = src;
            this.scratch = scratch;
        }

        @Override
        public void run() {
            calling.countDown();
            try {
                block.set(codec.spillWrite(file, 0, src.buffer(), 0, N, SLOW_LEVEL, N - 1, scratch));
            } catch (Throwable t) {
                failure.set(t);
            }
        }

        void startAndWaitUntilInCall() throws InterruptedException {
            start();
            calling.await();
            Thread.sleep(20);
            assertTrue(isAlive(), "the spill write finished within 20 ms: the test did not race anything");
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void closeFromAnotherThreadWaitsForTheRunningCall(IoBackend b) throws Exception {
        byte[] csv = TestData.csv(N, 3);
        try (IoFile f = b.open(dir.resolve("close-race.spill"), EnumSet.of(OpenFlag.CREATE));
                AlignedBuffer src = b.allocate(N); AlignedBuffer scratch = b.allocate(SpillFormat.scratchSize(N));
                AlignedBuffer readScratch = b.allocate(SpillFormat.scratchSize(N)); AlignedBuffer back = b.allocate(N)) {
            src.buffer().put(0, csv);
            for (int i = 0; i < 3; i++) {
                long live = AbstractCodec.liveCount();
                Codec c = b.newCodec();
                assertEquals(live + 1, AbstractCodec.liveCount());
                SlowSpill t = new SlowSpill(c, f, src, scratch);
                t.startAndWaitUntilInCall();
                c.close(); // before the fix: zstd contexts freed under the running compression (SIGSEGV on jni)
                c.close(); // a second close changes nothing
                t.join();
                // the call that was running when close came completes
                assertNull(t.failure.get(), () -> "spill write failed: " + t.failure.get());
                assertEquals(live, AbstractCodec.liveCount(), "contexts freed exactly once, after the call");
                assertThrows(ClosedException.class, () -> c.spillWrite(f, 0, src.buffer(), 0, N, 1, N - 1, scratch));
                // the block written while close was pending is intact
                SpillBlock blk = t.block.get();
                try (Codec r = b.newCodec()) {
                    r.spillRead(f, 0, blk.storedSize(), back.buffer(), 0, N, readScratch);
                }
                assertArrayEquals(csv, TestData.bytes(back.buffer(), 0, N), "round " + i);
            }
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aSecondConcurrentCallIsRefused(IoBackend b) throws Exception {
        byte[] csv = TestData.csv(N, 4);
        ByteBuffer small = TestData.direct(TestData.csv(4096, 5));
        ByteBuffer frame = ByteBuffer.allocateDirect(SpillFormat.compressBound(4096));
        long live = AbstractCodec.liveCount();
        try (IoFile f = b.open(dir.resolve("second-call.spill"), EnumSet.of(OpenFlag.CREATE));
                AlignedBuffer src = b.allocate(N); AlignedBuffer scratch = b.allocate(SpillFormat.scratchSize(N));
                AlignedBuffer back = b.allocate(N); Codec c = b.newCodec()) {
            src.buffer().put(0, csv);
            SlowSpill t = new SlowSpill(c, f, src, scratch);
            t.startAndWaitUntilInCall();
            // before the fix: both threads in one zstd context at once
            IllegalStateException e = assertThrows(IllegalStateException.class,
                    () -> c.compress(small, 0, 4096, frame, 0, frame.capacity(), 1));
            assertTrue(e.getMessage().contains("compress") && e.getMessage().contains("in use by another thread"),
                    e.getMessage());
            assertThrows(IllegalStateException.class, () -> c.decompress(frame, 0, 10, small, 0, 4096));
            t.join();
            assertNull(t.failure.get(), () -> "spill write failed: " + t.failure.get());
            // the running call was undisturbed, and the codec is free again once it returned
            c.spillRead(f, 0, t.block.get().storedSize(), back.buffer(), 0, N, scratch);
            assertArrayEquals(csv, TestData.bytes(back.buffer(), 0, N));
            int n = c.compress(small, 0, 4096, frame, 0, frame.capacity(), 1);
            assertTrue(n > 0);
        }
        assertEquals(live, AbstractCodec.liveCount());
    }
}
