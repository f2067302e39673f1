package dev.spillway.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.AccessDeniedException;
import java.nio.file.FileSystemException;
import java.nio.file.NoSuchFileException;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;

/**
 * {@code spillway COMMAND [ARGS]}: the command-line tool. Every error is one line on stderr and a
 * non-zero exit (2 for a bad command line, 1 for anything that failed while running);
 * {@code --stacktrace} adds the stack trace.
 */
public final class Main {
    static final String USAGE = String.join("\n",
            "usage: spillway COMMAND [OPTIONS]",
            "  demo [--size SIZE] [--limit SIZE] [--temp-dir DIR] [--backend auto|jni|ffm|jna|nio] [--policy NAME]",
            "       [--json] [--progress]",
            "                     the main job: an external sort 8x the memory limit and a zipf page workload",
            "                     through the buffer manager, verified, and what the buffer manager did",
            "  trace FILE... [--policy NAME,...] [--sizes N,...] [--csv] [--plot FILE.png]",
            "                     replay key traces through eviction policies, caffeine and the optimum",
            "  inspect PATH       a page file's header and free list, or a temporary directory's files and owners",
            BenchReport.USAGE,
            "options for every command: --stacktrace (show the stack trace of an error), --help");

    private Main() {
    }

    public static void main(String[] args) {
        System.exit(run(args, System.out, System.err));
    }

    /** Runs a command; returns the exit code (0 ok, 1 failure, 2 bad usage). */
    public static int run(String[] args, PrintStream out, PrintStream err) {
        List<String> rest = new ArrayList<>(Arrays.asList(args));
        boolean stack = rest.remove("--stacktrace");
        if (rest.isEmpty() || rest.contains("--help") || rest.contains("-h")) {
            (rest.isEmpty() ? err : out).println(USAGE);
            return rest.isEmpty() ? 2 : 0;
        }
        String cmd = rest.remove(0);
        try {
            switch (cmd) {
                case "demo":
                    return Demo.run(Options.parse(rest), out, err);
                case "trace":
                    return Trace.run(Options.parse(rest), out, err);
                case "inspect":
                    return Inspect.run(Options.parse(rest), out);
                case "bench":
                    return BenchReport.run(Options.parse(rest), out);
                default:
                    throw new UsageException("unknown command '" + cmd + "' (try --help)");
            }
        } catch (UsageException | IllegalArgumentException e) { // bad values given on the command line
            return fail(err, cmd, e, stack, 2);
        } catch (RuntimeException | OutOfMemoryError e) {
            return fail(err, cmd, e, stack, 1);
        }
    }

    private static int fail(PrintStream err, String cmd, Throwable e, boolean stack, int code) {
        err.println("spillway " + cmd + ": " + describe(e));
        if (stack) {
            e.printStackTrace(err);
        }
        return code;
    }

    /** One line for an error: I/O exceptions of the JDK carry only a path as their message, so say what happened. */
    static String describe(Throwable e) {
        Throwable t = e instanceof UncheckedIOException && e.getCause() != null ? e.getCause() : e;
        if (t instanceof NoSuchFileException n) {
            return "no such file or directory: " + n.getFile();
        }
        if (t instanceof AccessDeniedException a) {
            return "permission denied: " + a.getFile();
        }
        if (t instanceof FileSystemException f && f.getReason() != null) {
            return f.getFile() + ": " + f.getReason();
        }
        if (t != e && e.getMessage() != null) {
            return e.getMessage(); // our wrapper says what we were doing and includes the cause's text
        }
        String m = t.getMessage();
        if (m == null || m.isBlank()) {
            return t.getClass().getSimpleName();
        }
        // a JDK I/O error's message alone ("Is a directory") does not say it was an I/O error
        return t instanceof IOException || t instanceof OutOfMemoryError ? t.getClass().getSimpleName() + ": " + m : m;
    }

    /** A user error in the command line: message only, exit 2. */
    static final class UsageException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        UsageException(String message) {
            super(message);
        }
    }

    /** A command ran and found something wrong with its input (a bad file, a failed check): exit 1. */
    static final class CommandException extends RuntimeException {
        private static final long serialVersionUID = 1L;

        CommandException(String message) {
            super(message);
        }

        CommandException(String message, Throwable cause) {
            super(message, cause);
        }
    }
}
