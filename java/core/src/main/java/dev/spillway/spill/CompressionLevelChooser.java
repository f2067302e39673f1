package dev.spillway.spill;

import dev.spillway.io.SpillFormat;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Picks the zstd level of the next spilled block by measured throughput, like DuckDB's adaptive
 * level, with "no compression" among the choices: on a fast disk a raw O_DIRECT write beats
 * compressing even at level 1 (BENCHMARKS.md). The cost of a level is the time to write a block
 * (compress + pwrite) plus the time to read it back (pread + decompress), per raw byte, each an
 * exponentially weighted moving average; the cheapest level wins. The levels are ordered by
 * effort and the search hill-climbs: only the neighbours of the best level are measured, again
 * now and then with back-off ({@link #EXPLORE_EVERY}), so a change in the data or the disk is
 * noticed without paying often for a level far off. Thread-safe; a fixed level bypasses all of it.
 */
final class CompressionLevelChooser {
    /** Candidates in order of effort: none, a fast negative level, the common default 1, and 3 for slow disks. */
    static final int[] ADAPTIVE_LEVELS = {SpillFormat.LEVEL_NONE, -3, 1, 3};
    /**
     * A losing level is measured again after 16 choices, then 32, 64 … up to 1024: quick to notice a
     * change at first, and in a steady state the exploring costs well under 1% (a level can cost 10x).
     */
    static final int EXPLORE_EVERY = 16;
    static final int MAX_EXPLORE_INTERVAL = 1024;
    /** EWMA weight of a new sample of the level in use: smooth enough for a noisy shared disk. */
    private static final double ALPHA = 1.0 / 8;
    /** EWMA weight of a sample of a level measured only now and then: its old estimate is stale. */
    private static final double EXPLORED_ALPHA = 1.0 / 2;
    /** A sample counts at most this many times the estimate (a 10 ms stall is 40x a 256 KiB write). */
    private static final double SPIKE_CAP = 4.0;

    private final boolean adaptive;
    private final int fixedLevel;
    private final AtomicLong choices = new AtomicLong();
    // guarded by this
    private final double[] writeNsPerByte = new double[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final double[] readNsPerByte = new double[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final long[] samples = new long[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final long[] exploreInterval = new long[ADAPTIVE_LEVELS.length];
    // guarded by this
    private final long[] nextExplore = new long[ADAPTIVE_LEVELS.length];
    // guarded by this
    private int lastBest = -1;

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
            int best = -1;
            for (int i = 0; i < ADAPTIVE_LEVELS.length; i++) {
                if (samples[i] > 0 && (best < 0 || cost(i) < cost(best))) {
                    best = i;
                }
            }
            if (best < 0) {
                return ADAPTIVE_LEVELS[0]; // start from "none", the cheapest to try
            }
            if (best != lastBest) { // the data or the disk changed: look around more often again
                lastBest = best;
                java.util.Arrays.fill(exploreInterval, EXPLORE_EVERY);
                java.util.Arrays.fill(nextExplore, n + EXPLORE_EVERY);
            }
            // hill-climb: only the neighbours of the best level are tried (levels are in order of effort)
            for (int j = best - 1; j <= best + 1; j += 2) {
                if (j < 0 || j >= ADAPTIVE_LEVELS.length) {
                    continue;
                }
                if (samples[j] == 0) {
                    return ADAPTIVE_LEVELS[j];
                }
                if (n >= nextExplore[j]) {
                    exploreInterval[j] = Math.min(exploreInterval[j] * 2, MAX_EXPLORE_INTERVAL);
                    nextExplore[j] = n + exploreInterval[j];
                    return ADAPTIVE_LEVELS[j];
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
            if (a[i] == 0) {
                a[i] = v;
            } else {
                // one stall on a shared disk must not flip the choice: a sample counts at most SPIKE_CAP x
                // the estimate (a real change still shows within a few samples); a level sampled only
                // now and then (not the current best) follows its new samples faster
                v = Math.min(v, SPIKE_CAP * a[i]);
                a[i] += (i == lastBest ? ALPHA : EXPLORED_ALPHA) * (v - a[i]);
            }
            if (write) {
                samples[i]++;
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
