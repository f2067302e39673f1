package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.io.TempDir;

/** Runs the CLI in-process through {@link Main#run}, capturing stdout and stderr. */
abstract class CliTestBase {
    @TempDir
    Path dir;

    private ByteArrayOutputStream out = new ByteArrayOutputStream();
    private ByteArrayOutputStream err = new ByteArrayOutputStream();

    int run(String... args) {
        out = new ByteArrayOutputStream();
        err = new ByteArrayOutputStream();
        return Main.run(args, new PrintStream(out, true, StandardCharsets.UTF_8),
                new PrintStream(err, true, StandardCharsets.UTF_8));
    }

    String out() {
        return out.toString(StandardCharsets.UTF_8);
    }

    String err() {
        return err.toString(StandardCharsets.UTF_8);
    }

    /** The command failed with {@code code} and said so in exactly one line containing {@code expected}, no stack trace. */
    void assertFails(int code, String expected, String... args) {
        int rc = run(args);
        String e = err();
        assertEquals(code, rc, "exit code of " + String.join(" ", args) + "; stderr: " + e);
        assertEquals(1, e.lines().count(), "one line of error expected, got: " + e);
        assertTrue(e.contains(expected), "expected '" + expected + "' in: " + e);
        assertFalse(e.contains("\tat "), "no stack trace without --stacktrace: " + e);
    }

    /** The number after {@code "name":} in a one-line JSON object (the first such field). */
    static double jsonNumber(String json, String name) {
        Matcher m = Pattern.compile("\"" + Pattern.quote(name) + "\":(-?[0-9.]+)").matcher(json);
        assertTrue(m.find(), "field " + name + " missing in " + json);
        return Double.parseDouble(m.group(1));
    }
}
