package dev.spillway.cli;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.Codec;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import dev.spillway.io.SpillBlock;
import dev.spillway.io.SpillFormat;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;

/**
 * {@code spillway demo}: the mechanism layer end to end through the chosen backend — pages
 * written and verified through O_DIRECT, one compressible and one incompressible block spilled
 * and read back — and what it did.
 */
final class Demo {
    private static final int PAGE = 4096;
    private static final int PAGES = 256;
    private static final int BLOCK = 256 * 1024;

    private Demo() {
    }

    static int run(Options o, PrintStream out) {
        o.checkOnly("backend", "temp-dir", "json");
        BackendKind kind = BackendKind.parse(o.get("backend", "auto"));
        IoBackend backend = Backends.open(kind);
        Path dir = tempDir(o.get("temp-dir", null));
        Path file = dir.resolve("demo.pages");
        Path spill = dir.resolve("demo.spill");
        long t0 = System.nanoTime();
        boolean direct;
        int verified = 0;
        try (IoFile f = backend.open(file, EnumSet.of(OpenFlag.CREATE, OpenFlag.TRUNCATE, OpenFlag.DIRECT));
                AlignedBuffer page = backend.allocate(PAGE)) {
            direct = f.isDirect();
            ByteBuffer b = page.buffer();
            for (int p = 0; p < PAGES; p++) {
                fillPage(backend, b, p);
                f.write(b, 0, PAGE, (long) p * PAGE);
            }
            f.sync();
            for (int p = 0; p < PAGES; p++) {
                f.read(b, 0, PAGE, (long) p * PAGE);
                if (b.getLong(0) != p || b.getInt(8) != backend.crc32c(fill(p), 0, 64)) {
                    throw new IllegalStateException("page " + p + " of " + file + " read back wrong");
                }
                verified++;
            }
        }
        byte[] csv = csv(BLOCK);
        byte[] random = new byte[BLOCK];
        new SplittableRandom(7).nextBytes(random);
        SpillBlock a;
        SpillBlock r;
        try (IoFile f = backend.open(spill, EnumSet.of(OpenFlag.CREATE, OpenFlag.TRUNCATE, OpenFlag.DIRECT));
                Codec codec = backend.newCodec(); AlignedBuffer scratch = backend.allocate(SpillFormat.scratchSize(BLOCK));
                AlignedBuffer src = backend.allocate(BLOCK); AlignedBuffer dst = backend.allocate(BLOCK)) {
            src.buffer().put(0, csv);
            a = codec.spillWrite(f, 0, src.buffer(), 0, BLOCK, 1, BLOCK - 1, scratch);
            src.buffer().put(0, random);
            r = codec.spillWrite(f, a.storedSize(), src.buffer(), 0, BLOCK, 1, BLOCK - 1, scratch);
            codec.spillRead(f, 0, a.storedSize(), dst.buffer(), 0, BLOCK, scratch);
            check(csv, dst.buffer(), "compressible block");
            codec.spillRead(f, a.storedSize(), r.storedSize(), dst.buffer(), 0, BLOCK, scratch);
            check(random, dst.buffer(), "incompressible block");
        }
        double ms = (System.nanoTime() - t0) / 1e6;
        deleteQuietly(file);
        deleteQuietly(spill);
        if (o.flag("json")) {
            out.printf("{\"backend\":\"%s\",\"o_direct\":%s,\"pages_verified\":%d,\"csv_block_stored\":%d,"
                    + "\"random_block_stored\":%d,\"ms\":%.1f}%n", backend.kind().name().toLowerCase(), direct, verified,
                    a.storedSize(), r.storedSize(), ms);
        } else {
            out.println("Spillway demo");
            out.println("  backend:          " + Backends.selection() + (kind == BackendKind.AUTO ? "" : " (asked: " + kind + ")"));
            out.println("  page file:        " + PAGES + " pages of " + PAGE + " B written, synced, read back, verified"
                    + (direct ? " (O_DIRECT)" : " (buffered: the file system refused O_DIRECT)"));
            out.printf("  spill, CSV:       %d B -> %d B on disk (%s, ratio %.2f)%n", BLOCK, a.storedSize(),
                    a.codec() == SpillFormat.CODEC_ZSTD ? "zstd level 1" : "raw", (double) BLOCK / a.storedSize());
            out.printf("  spill, random:    %d B -> %d B on disk (%s)%n", BLOCK, r.storedSize(),
                    r.codec() == SpillFormat.CODEC_ZSTD ? "zstd" : "raw: compression would not help");
            out.printf("  time:             %.1f ms%n", ms);
        }
        return 0;
    }

    private static ByteBuffer fill(int p) {
        ByteBuffer b = ByteBuffer.allocateDirect(64);
        for (int i = 0; i < 64; i++) {
            b.put(i, (byte) (p * 31 + i));
        }
        return b;
    }

    private static void fillPage(IoBackend backend, ByteBuffer b, int p) {
        for (int i = 0; i < PAGE; i++) {
            b.put(i, (byte) (p * 31 + i - 16));
        }
        b.putLong(0, p);
        b.putInt(8, backend.crc32c(fill(p), 0, 64));
    }

    private static byte[] csv(int n) {
        SplittableRandom r = new SplittableRandom(42);
        StringBuilder sb = new StringBuilder(n + 100);
        while (sb.length() < n) {
            sb.append(r.nextInt(100000)).append(",customer_").append(r.nextInt(5000)).append(',')
                    .append(r.nextInt(1000)).append('.').append(r.nextInt(100)).append(",2026-11-")
                    .append(1 + r.nextInt(28)).append('\n');
        }
        return sb.substring(0, n).getBytes(StandardCharsets.US_ASCII);
    }

    private static void check(byte[] expected, ByteBuffer actual, String what) {
        for (int i = 0; i < expected.length; i++) {
            if (expected[i] != actual.get(i)) {
                throw new IllegalStateException(what + " differs at byte " + i + " after the round trip");
            }
        }
    }

    private static Path tempDir(String given) {
        try {
            if (given != null) {
                return Files.createDirectories(Path.of(given));
            }
            Path d = Files.createTempDirectory("spillway-demo-");
            d.toFile().deleteOnExit();
            return d;
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create the demo's temp directory: " + e.getMessage(), e);
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            // the demo's own file in its own directory; a leftover is harmless and reported by nothing
        }
    }
}
