package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class MainTest {
    @TempDir
    Path dir;

    private final ByteArrayOutputStream out = new ByteArrayOutputStream();
    private final ByteArrayOutputStream err = new ByteArrayOutputStream();

    private int run(String... args) {
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8), new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    @Test
    void demoRunsAndReportsJson() {
        assertEquals(0, run("demo", "--json", "--temp-dir", dir.toString()), err.toString());
        String json = out.toString(StandardCharsets.UTF_8);
        assertTrue(json.startsWith("{\"backend\":"), json);
        assertTrue(json.contains("\"pages_verified\":256"), json);
    }

    @Test
    void badArgumentsAreOneLineAndNonZero() {
        assertEquals(2, run("demo", "--backend", "nope"));
        assertTrue(err.toString().contains("unknown backend 'nope'"), err.toString());
        assertEquals(2, run("frobnicate"));
        assertEquals(2, run("demo", "--bogus", "1"));
        assertEquals(2, run());
    }
}
