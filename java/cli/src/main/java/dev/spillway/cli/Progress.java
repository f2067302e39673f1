package dev.spillway.cli;

import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Locale;

/**
 * Progress of a long command on stderr: a bar redrawn in place when stderr is a terminal (or when
 * asked for), otherwise one plain line when a phase starts and one when it ends, so a log file
 * gets no carriage returns.
 */
final class Progress {
    private static final int WIDTH = 20; // with the text around it, fits an 80-column terminal
    /** Redraws at most this often: a terminal does not need more, and each redraw costs a write. */
    private static final long REDRAW_NANOS = 100_000_000L;

    private final PrintStream err;
    private final boolean bar;
    private final String prefix;

    Progress(PrintStream err, boolean bar, String prefix) {
        this.err = err;
        this.bar = bar;
        this.prefix = prefix;
    }

    /** Whether the process's stderr (fd 2) is a terminal; Linux only, which is where Spillway runs. */
    static boolean stderrIsTerminal() {
        try {
            String target = Files.readSymbolicLink(Path.of("/proc/self/fd/2")).toString();
            return target.startsWith("/dev/pts/") || target.startsWith("/dev/tty");
        } catch (Exception e) {
            return false; // no /proc: assume a log, not a terminal
        }
    }

    Phase phase(String name, long total, String unit) {
        return new Phase(name, total, unit);
    }

    /** One phase of work: {@link #update} often, {@link #done} once. */
    final class Phase {
        private final String name;
        private final long total;
        private final String unit;
        private final long start = System.nanoTime();
        private long lastDraw;

        Phase(String name, long total, String unit) {
            this.name = name;
            this.total = Math.max(1, total);
            this.unit = unit;
            if (bar) {
                draw(0);
            } else {
                err.println(prefix + name + " ...");
            }
        }

        void update(long done) {
            if (!bar) {
                return;
            }
            long now = System.nanoTime();
            if (now - lastDraw >= REDRAW_NANOS) {
                lastDraw = now;
                draw(done);
            }
        }

        private void draw(long done) {
            double f = Math.min(1, (double) done / total);
            int filled = (int) Math.round(f * WIDTH);
            err.print(String.format(Locale.ROOT, "\r%s%-20s [%s%s] %3d%% %s %s %.1f s\033[K", prefix, name,
                    "#".repeat(filled), "-".repeat(WIDTH - filled), (int) (f * 100), Units.count(done), unit, seconds()));
            err.flush();
        }

        double seconds() {
            return (System.nanoTime() - start) / 1e9;
        }

        /** Ends the phase with a one-line result; returns its duration in seconds. */
        double done(String result) {
            double s = seconds();
            if (bar) {
                draw(total);
                err.print("\r\033[K");
            }
            err.println(String.format(Locale.ROOT, "%s%s: %s (%.1f s)", prefix, name, result, s));
            return s;
        }
    }
}
