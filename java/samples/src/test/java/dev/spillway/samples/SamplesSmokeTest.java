package dev.spillway.samples;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import org.junit.jupiter.api.Test;

/**
 * Runs each sample's main as a user would. Every sample checks its own results and throws on a
 * mismatch; here we also check that it got to its last step.
 */
class SamplesSmokeTest {
    private static String run(ThrowingMain main) throws Throwable {
        PrintStream old = System.out;
        ByteArrayOutputStream out = new ByteArrayOutputStream();
        System.setOut(new PrintStream(out, true, StandardCharsets.UTF_8));
        try {
            main.run();
        } finally {
            System.setOut(old);
        }
        String s = out.toString(StandardCharsets.UTF_8);
        old.print(s);
        return s;
    }

    @FunctionalInterface
    interface ThrowingMain {
        void run() throws Throwable;
    }

    @Test
    void directRead() throws Throwable {
        String out = run(() -> DirectReadSample.main(new String[0]));
        assertTrue(out.contains("page 15 at offset 61440: first byte 16"), out);
        assertTrue(out.contains("captured errno 2"), out);
    }

    @Test
    void zeroCopyChecksum() throws Throwable {
        String out = run(() -> ZeroCopyChecksumSample.main(new String[0]));
        assertTrue(out.contains("page 5: pinned") && out.contains("native true"), out);
        assertTrue(out.contains("after flipping byte 0 through the segment"), out);
    }

    @Test
    void sharedZstdFormat() throws Throwable {
        String out = run(() -> SharedZstdFormatSample.main(new String[0]));
        assertTrue(out.contains("zstd-jni -> C core zstd") && out.contains("read it back"), out);
    }
}
