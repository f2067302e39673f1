package dev.spillway.cli;

import java.io.PrintStream;
import java.util.Arrays;
import java.util.List;

/**
 * {@code spillway COMMAND [ARGS]}: the command-line tool. Bad arguments print one line and exit
 * non-zero; {@code --stacktrace} shows the stack trace too.
 */
public final class Main {
    static final String USAGE = String.join("\n",
            "usage: spillway COMMAND [OPTIONS]",
            "  demo [--backend auto|jni|ffm|jna|nio] [--temp-dir DIR] [--json]",
            "                     the main job: exercise the buffer manager and print what it did",
            BenchReport.USAGE,
            "options for every command: --stacktrace (show the stack trace of an error), --help");

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit code (0 ok, 1 failure, 2 bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> rest = new java.util.ArrayList<>(Arrays.asList(args));
        boolean stack = rest.remove("--stacktrace");
        if (rest.isEmpty() || rest.contains("--help") || rest.contains("-h")) {
            (rest.isEmpty() ? err : out).println(USAGE);
            return rest.isEmpty() ? 2 : 0;
        }
        String cmd = rest.remove(0);
        try {
            switch (cmd) {
                case "demo":
                    return Demo.run(Options.parse(rest), out);
                case "bench":
                    return BenchReport.run(Options.parse(rest), out);
                default:
                    throw new UsageException("unknown command '" + cmd + "'\n" + USAGE);
            }
        } catch (UsageException | IllegalArgumentException e) { // bad values given on the command line
            err.println("spillway " + cmd + ": " + e.getMessage());
            return 2;
        } catch (RuntimeException e) {
            err.println("spillway " + cmd + ": " + e.getMessage());
            if (stack) {
                e.printStackTrace(err);
            }
            return 1;
        }
    }

    /** A user error in the command line: message only, exit 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }
}
