package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import org.junit.jupiter.api.Test;

class MainTest extends CliTestBase {
    @Test
    void usageErrorsAreOneLineAndExitTwo() {
        assertFails(2, "unknown command 'frobnicate'", "frobnicate");
        assertFails(2, "unknown option --bogus", "demo", "--bogus", "1");
        assertFails(2, "option --limit needs a value", "demo", "--limit");
        assertFails(2, "--limit: 'lots' is not a size", "demo", "--limit", "lots");
        assertFails(2, "unexpected argument 'extra'", "demo", "extra");
        assertEquals(2, run());
        assertTrue(err().startsWith("usage: spillway"), err());
    }

    @Test
    void helpGoesToStdoutAndExitsZero() {
        assertEquals(0, run("--help"));
        assertTrue(out().contains("demo") && out().contains("trace FILE") && out().contains("inspect PATH"), out());
    }

    @Test
    void stacktraceIsShownOnlyWhenAskedFor() {
        assertEquals(1, run("inspect", dir.resolve("missing").toString(), "--stacktrace"));
        assertTrue(err().lines().count() > 1 && err().contains("\tat dev.spillway.cli."), err());
    }
}
