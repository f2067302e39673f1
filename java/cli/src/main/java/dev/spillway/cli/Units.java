package dev.spillway.cli;

import java.util.Locale;

/** Numbers for people: bytes in binary units, counts with thousands separators. */
final class Units {
    private Units() {
    }

    static String bytes(long b) {
        if (b < 1024) {
            return b + " B";
        }
        if (b < 1L << 20) {
            return String.format(Locale.ROOT, "%.1f KiB", b / 1024.0);
        }
        if (b < 1L << 30) {
            return String.format(Locale.ROOT, "%.1f MiB", b / (double) (1L << 20));
        }
        return String.format(Locale.ROOT, "%.2f GiB", b / (double) (1L << 30));
    }

    static String count(long n) {
        return String.format(Locale.ROOT, "%,d", n);
    }

    static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.1f%%", 100 * ratio);
    }
}
