package dev.spillway.spill;

import dev.spillway.io.SpillFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Picks the zstd level of the next spilled block by measured throughput, like DuckDB's adaptive
 * level, with "no compression" among the choices: on a fast disk a raw O_DIRECT write beats
 * compressing even at level 1 (BENCHMARKS.md). The cost of a level is the time to write a block
 * (compress + pwrite) plus the time to read it back (pread + decompress), per raw byte, each an
 * exponentially weighted moving average; the cheapest level wins, and every
 * {@link #EXPLORE_EVERY}th choice re-measures the level measured longest ago, so a change in the
 * data or the disk is noticed. Thread-safe; a fixed level bypasses all of it.
 */
final class CompressionLevelChooser {
    /** Candidates: none, a fast negative level, the common default 1, and 3 for slow disks. */
    static final int[] ADAPTIVE_LEVELS = {SpillFormat.LEVEL_NONE, -3, 1, 3};
    /** One choice in 16 explores: cheap (a block or two at a worse level) and quick to adapt. */
    static final int EXPLORE_EVERY = 16;
    /** EWMA weight of a new sample, in 1/8ths: smooth enough for a noisy shared disk. */
    private static final double ALPHA = 1.0 / 8;

    private final boolean adaptive;
    private final int fixedLevel;
    private final AtomicLong choices = new AtomicLong();
    // guarded by this
    private final double[] writeNsPerByte = new double[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final double[] readNsPerByte = new double[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final long[] lastMeasured = new long[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final long[] samples = new long[ADAPTIVE_LEVELS.length];

    CompressionLevelChooser(SpillCompression mode) {
        this.adaptive = mode.adaptive();
        this.fixedLevel = mode.level();
    }

    boolean isAdaptive() {
        return adaptive;
    }

    /** The level for the next block. */
    int choose() {
        if (!adaptive) {
            return fixedLevel;
        }
        long n = choices.incrementAndGet();
        synchronized (this) {
            for (int i = 0; i < ADAPTIVE_LEVELS.length; i++) {
                if (samples[i] == 0) {
                    return ADAPTIVE_LEVELS[i]; // not measured yet
                }
            }
            if (n % EXPLORE_EVERY == 0) {
                int oldest = 0;
                for (int i = 1; i < ADAPTIVE_LEVELS.length; i++) {
                    if (lastMeasured[i] < lastMeasured[oldest]) {
                        oldest = i;
                    }
                }
                return ADAPTIVE_LEVELS[oldest];
            }
            int best = 0;
            for (int i = 1; i < ADAPTIVE_LEVELS.length; i++) {
                if (cost(i) < cost(best)) {
                    best = i;
                }
            }
            return ADAPTIVE_LEVELS[best];
        }
    }

    private double cost(int i) {
        // a level whose blocks were not read back yet: assume reading costs what writing did
        return writeNsPerByte[i] + (readNsPerByte[i] == 0 ? writeNsPerByte[i] : readNsPerByte[i]);
    }

    /** Records the time a block of {@code rawBytes} written at {@code level} took. */
    void recordWrite(int level, long rawBytes, long nanos) {
        record(level, rawBytes, nanos, true);
    }

    /** Records the time reading back a block written at {@code level} took. */
    void recordRead(int level, long rawBytes, long nanos) {
        record(level, rawBytes, nanos, false);
    }

    private void record(int level, long rawBytes, long nanos, boolean write) {
        if (!adaptive || rawBytes <= 0) {
            return;
        }
        int i = indexOf(level);
        if (i < 0) {
            return;
        }
        double v = (double) nanos / rawBytes;
        synchronized (this) {
            double[] a = write ? writeNsPerByte : readNsPerByte;
            a[i] = a[i] == 0 ? v : a[i] + ALPHA * (v - a[i]);
            if (write) {
                samples[i]++;
                lastMeasured[i] = choices.get();
            }
        }
    }

    private static int indexOf(int level) {
        for (int i = 0; i < ADAPTIVE_LEVELS.length; i++) {
            if (ADAPTIVE_LEVELS[i] == level) {
                return i;
            }
        }
        return -1;
    }

    /** The current cost estimates, for introspection and the benchmark: "level: write+read ns/byte". */
    synchronized String describe() {
        if (!adaptive) {
            return "fixed " + (fixedLevel == SpillFormat.LEVEL_NONE ? "none" : "level " + fixedLevel);
        }
        StringBuilder sb = new StringBuilder("adaptive");
        for (int i = 0; i < ADAPTIVE_LEVELS.length; i++) {
            sb.append(i == 0 ? " [" : ", ")
                    .append(ADAPTIVE_LEVELS[i] == SpillFormat.LEVEL_NONE ? "none" : "L" + ADAPTIVE_LEVELS[i])
                    .append(String.format(": %.3f+%.3f ns/B", writeNsPerByte[i], readNsPerByte[i]));
        }
        return sb.append(']').toString();
    }
}
