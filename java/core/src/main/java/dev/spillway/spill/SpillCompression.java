package dev.spillway.spill;

import dev.spillway.io.SpillFormat;

/**
 * How spilled blocks are compressed: adaptively by measured throughput (the default), at one
 * fixed zstd level, or never.
 *
 * @param adaptive whether the level is chosen by measurement
 * @param level    the fixed level ({@link SpillFormat#LEVEL_NONE} for none); ignored when adaptive
 */
public record SpillCompression(boolean adaptive, int level) {
    public static SpillCompression adaptiveLevel() {
        return new SpillCompression(true, 0);
    }

    public static SpillCompression fixed(int level) {
        return new SpillCompression(false, level);
    }

    public static SpillCompression none() {
        return new SpillCompression(false, SpillFormat.LEVEL_NONE);
    }

    @Override
    public String toString() {
        return adaptive ? "adaptive" : level == SpillFormat.LEVEL_NONE ? "none" : "zstd level " + level;
    }
}
