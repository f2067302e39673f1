package dev.spillway.bench;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.SplittableRandom;

/** The data file the benchmarks and the native harness share, and the CSV-like data they spill. */
final class BenchFiles {
    /** Same default as spw_bench, so both read the very same file. */
    static final String DEFAULT_FILE = "/tmp/spw_bench.dat";
    static final long DEFAULT_SIZE = 256L << 20;

    private BenchFiles() {
    }

    static Path file() {
        return Path.of(System.getProperty("spillway.bench.file", DEFAULT_FILE));
    }

    /** The data file, created (random bytes, DEFAULT_SIZE) when missing or smaller than 64 MiB. */
    static synchronized Path dataFile(IoBackend b) throws Exception {
        Path p = file();
        if (!Files.exists(p) || Files.size(p) < (64L << 20)) {
            try (IoFile f = b.open(p, EnumSet.of(OpenFlag.CREATE)); AlignedBuffer buf = b.allocate(1 << 20)) {
                SplittableRandom r = new SplittableRandom(1);
                byte[] chunk = new byte[1 << 20];
                for (long off = 0; off < DEFAULT_SIZE; off += chunk.length) {
                    r.nextBytes(chunk);
                    buf.buffer().put(0, chunk);
                    f.write(buf.buffer(), 0, chunk.length, off);
                }
                f.sync();
            }
        }
        return p;
    }

    static long size(Path p) throws Exception {
        return Files.size(p) / 4096 * 4096;
    }

    /**
     * CSV-like rows (compress about 3x at zstd level 1), byte for byte what spw_bench's fill_csv makes
     * from the same seed (same xorshift64* and format), so both sides compress the very same block.
     */
    static byte[] csv(int n, long seed) {
        long[] state = {seed};
        byte[] out = new byte[n];
        int i = 0;
        while (i < n) {
            long a = Long.remainderUnsigned(next(state), 100000);
            long b = Long.remainderUnsigned(next(state), 5000);
            long c = Long.remainderUnsigned(next(state), 1000);
            long d = Long.remainderUnsigned(next(state), 100);
            long e = 1 + Long.remainderUnsigned(next(state), 28);
            byte[] line = String.format("%d,customer_%d,%d.%02d,2026-11-%d%n", a, b, c, d, e)
                    .replace(System.lineSeparator(), "\n").getBytes(StandardCharsets.US_ASCII);
            for (int j = 0; j < line.length && i < n; j++) {
                out[i++] = line[j];
            }
        }
        return out;
    }

    /**
     * Incompressible bytes, byte for byte what spw_bench's fill_random makes from the same seed
     * (xorshift64* words stored little-endian), so both sides spill the very same block.
     */
    static byte[] random(int n, long seed) {
        long[] state = {seed};
        ByteBuffer out = ByteBuffer.allocate((n + 7) & ~7).order(ByteOrder.LITTLE_ENDIAN);
        while (out.hasRemaining()) {
            out.putLong(next(state));
        }
        return Arrays.copyOf(out.array(), n);
    }

    /** spw_bench's next_rand (xorshift64*). */
    private static long next(long[] s) {
        long x = s[0];
        x ^= x >>> 12;
        x ^= x << 25;
        x ^= x >>> 27;
        s[0] = x;
        return x * 0x2545F4914F6CDD1DL;
    }
}
