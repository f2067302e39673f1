package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.ClosedException;
import java.io.ByteArrayOutputStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.Random;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A codec's scratch closed by another thread while a fused spill call uses it: the close takes
 * effect when the call returns, as for a file or a codec closed under a call (before: the memory
 * of a mapped scratch was unmapped under zstd and the JVM died of SIGSEGV in libspillway). Runs in a
 * child JVM, so that a crash fails this test instead of the whole run.
 */
class ScratchCloseDuringSpillTest {
    static final int SIZE = 4 << 20;
    static final int LEVEL = 19; // slow enough that the close lands while C compresses into the scratch

    @TempDir
    Path dir;

    static Stream<BackendKind> kinds() {
        return Backends.available().stream().map(IoBackend::kind);
    }

    @ParameterizedTest
    @MethodSource("kinds")
    void closingTheScratchDuringASpillWriteWaitsForTheCall(BackendKind kind) throws Exception {
        String java = Path.of(System.getProperty("java.home"), "bin", "java").toString();
        Process p = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx512m", "-cp",
                System.getProperty("java.class.path"), Child.class.getName(), kind.name(),
                dir.resolve("spill-" + kind).toString()).redirectErrorStream(true).start();
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        Thread pump = new Thread(() -> {
            try {
                p.getInputStream().transferTo(out);
            } catch (java.io.IOException e) {
                // the child is gone: what it printed is in out
            }
        });
        pump.start();
        assertTrue(p.waitFor(300, TimeUnit.SECONDS), "child still running");
        pump.join();
        String text = out.toString();
        assertEquals(0, p.exitValue(), text);
        assertTrue(text.contains("OK"), text);
    }

    /** Spills 4 MiB at level 19 with a mapped scratch that another thread closes meanwhile. */
    public static final class Child {
        public static void main(String[] args) throws Exception {
            IoBackend b = Backends.open(BackendKind.valueOf(args[0]));
            Path path = Path.of(args[1]);
            ByteBuffer src = ByteBuffer.allocateDirect(SIZE);
            Random r = new Random(1);
            for (int i = 0; i < SIZE; i += 8) {
                src.putLong(i, r.nextInt(1000));
            }
            try (IoFile f = b.open(path, EnumSet.of(OpenFlag.CREATE)); Codec c = b.newCodec()) {
                AlignedBuffer s = b.map(SpillFormat.scratchSize(SIZE));
                CountDownLatch started = new CountDownLatch(1);
                Thread closer = new Thread(() -> {
                    try {
                        started.await();
                        Thread.sleep(100);
                    } catch (InterruptedException e) {
                        return;
                    }
                    s.close();
                });
                closer.start();
                started.countDown();
                SpillBlock blk = c.spillWrite(f, 0, src, 0, SIZE, LEVEL, SIZE, s);
                closer.join();
                check(!s.isOpen(), "the scratch is closed once the call returned");
                try {
                    c.spillRead(f, 0, blk.storedSize(), ByteBuffer.allocateDirect(SIZE), 0, SIZE, s);
                    throw new AssertionError("a closed scratch was accepted");
                } catch (ClosedException expected) {
                    // refused
                }
                ByteBuffer back = ByteBuffer.allocateDirect(SIZE);
                try (AlignedBuffer s2 = b.allocate(SpillFormat.scratchSize(SIZE))) {
                    c.spillRead(f, 0, blk.storedSize(), back, 0, SIZE, s2);
                }
                check(back.equals(src.clear()), "the block reads back");
            }
            check(AlignedBuffer.liveCount() == 0, "no aligned buffer left");
            System.out.println("OK");
        }

        private static void check(boolean ok, String what) {
            if (!ok) {
                throw new AssertionError(what);
            }
        }
    }
}
