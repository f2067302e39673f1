package dev.spillway.io;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.util.SplittableRandom;

/** Deterministic test data: CSV-like (compressible about 2-3x) and random (incompressible). */
public final class TestData {
    private TestData() {
    }

    public static byte[] csv(int n, long seed) {
        SplittableRandom r = new SplittableRandom(seed);
        byte[] out = new byte[n];
        int i = 0;
        while (i < n) {
            byte[] line = (r.nextInt(100000) + ",customer_" + r.nextInt(5000) + "," + r.nextInt(1000) + "."
                    + r.nextInt(10) + r.nextInt(10) + ",2026-11-" + (1 + r.nextInt(28)) + "\n")
                    .getBytes(StandardCharsets.US_ASCII);
            for (int j = 0; j < line.length && i < n; j++) {
                out[i++] = line[j];
            }
        }
        return out;
    }

    public static byte[] random(int n, long seed) {
        byte[] out = new byte[n];
        SplittableRandom r = new SplittableRandom(seed);
        for (int i = 0; i < n; i += 8) {
            long v = r.nextLong();
            for (int j = 0; j < 8 && i + j < n; j++) {
                out[i + j] = (byte) (v >>> (8 * j));
            }
        }
        return out;
    }

    public static ByteBuffer direct(byte[] data) {
        ByteBuffer b = ByteBuffer.allocateDirect(data.length);
        b.put(0, data);
        return b;
    }

    public static byte[] bytes(ByteBuffer b, int offset, int length) {
        byte[] out = new byte[length];
        b.get(offset, out);
        return out;
    }
}
