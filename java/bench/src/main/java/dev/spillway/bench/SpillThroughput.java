package dev.spillway.bench;

import dev.spillway.BufferHandle;
import dev.spillway.MemoryTag;
import dev.spillway.TransientBuffer;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.Codec;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import dev.spillway.io.SpillBlock;
import dev.spillway.io.SpillFormat;
import dev.spillway.memory.MemoryAccountant;
import dev.spillway.spill.SpillCompression;
import dev.spillway.spill.TemporaryFileManager;
import dev.spillway.spill.TransientBufferPool;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.EnumSet;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.Random;
import java.util.stream.Stream;

/**
 * Spill throughput: write then read back N × 256 KiB buffers of CSV-like and of random data
 * through the transient buffer pool (a memory limit of a few blocks forces every one to spill),
 * with the adaptive level and fixed levels, and as references in the same run the same blocks
 * through the C core's fused calls ({@code Codec.spillWrite/spillRead}, one crossing per block)
 * and raw O_DIRECT 256 KiB pwrite/pread. Prints median and spread (min–max) over the rounds.
 *
 * <pre>
 * export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
 * mvn -q -o -pl java/core,java/bench -am package -DskipTests
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp java/bench/target/benchmarks.jar \
 *     dev.spillway.bench.SpillThroughput [--blocks 256] [--rounds 5] [--dir /path] [--backend jni]
 *     [--data csv,random] [--json out.json] [--native native.json]
 * </pre>
 *
 * {@code --json} writes the medians (MB/s by case) for scripts; {@code --native FILE} reads the
 * JSON of the native harness ({@code build/native/spw_bench --only spill --level 1 > native.json},
 * run just before on the same disk) and prints the Java figures' ratios to its fused L1 spill.
 */
public final class SpillThroughput {
    static final int BLOCK = TemporaryFileManager.BLOCK_SIZE;

    private SpillThroughput() {
    }

    /** One measured case: seconds per round for the write and the read phase, and bytes on disk. */
    static final class Case {
        final String name;
        final List<Double> write = new ArrayList<>();
        final List<Double> read = new ArrayList<>();
        long rawBytes;
        long storedBytes;
        String note = "";

        Case(String name) {
            this.name = name;
        }

        double mbps(List<Double> secs, int i) {
            return rawBytes / secs.get(i) / 1e6;
        }

        double[] series(String phase) {
            double[] out = new double[write.size()];
            for (int i = 0; i < out.length; i++) {
                double s = phase.equals("write") ? write.get(i) : phase.equals("read") ? read.get(i)
                        : write.get(i) + read.get(i);
                out[i] = rawBytes / s / 1e6;
            }
            Arrays.sort(out);
            return out;
        }

        double median(String phase) {
            return SpillThroughput.median(series(phase));
        }

        /** Write+read MB/s of round i (unsorted, to pair with another case's same round). */
        double both(int i) {
            return rawBytes / (write.get(i) + read.get(i)) / 1e6;
        }
    }

    static double median(double[] sorted) {
        return sorted.length % 2 == 1 ? sorted[sorted.length / 2]
                : (sorted[sorted.length / 2 - 1] + sorted[sorted.length / 2]) / 2;
    }

    /** Median over rounds of a's write+read MB/s over the faster of bs' in the same round: drift cancels. */
    static double ratio(Case a, Case... bs) {
        double[] r = new double[a.write.size()];
        for (int i = 0; i < r.length; i++) {
            double best = 0;
            for (Case b : bs) {
                best = Math.max(best, b.both(i));
            }
            r[i] = a.both(i) / best;
        }
        Arrays.sort(r);
        return median(r);
    }

    public static void main(String[] args) throws Exception {
        int blocks = 256;
        int rounds = 5;
        Path dir = Path.of(System.getProperty("java.io.tmpdir"));
        BackendKind kind = BackendKind.AUTO;
        Path json = null;
        Path nativeJson = null;
        List<String> kinds = List.of("csv", "random");
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--blocks" -> blocks = Integer.parseInt(args[++i]);
                case "--rounds" -> rounds = Integer.parseInt(args[++i]);
                case "--dir" -> dir = Path.of(args[++i]);
                case "--backend" -> kind = BackendKind.parse(args[++i]);
                case "--json" -> json = Path.of(args[++i]);
                case "--native" -> nativeJson = Path.of(args[++i]);
                case "--data" -> kinds = List.of(args[++i].split(","));
                default -> throw new IllegalArgumentException("unknown argument " + args[i]
                        + " (--blocks N --rounds R --dir PATH --backend KIND --data csv,random --json FILE --native FILE)");
            }
        }
        IoBackend io = Backends.open(kind);
        Path work = Files.createTempDirectory(dir, "spill-bench-");
        System.out.printf(Locale.ROOT, "spill throughput: %d × 256 KiB blocks (%d MiB) per case, %d rounds, backend %s, dir %s (%s)%n",
                blocks, blocks / 4, rounds, io.kind().name().toLowerCase(), work, Files.getFileStore(work).type());
        Map<String, Case> cases = new LinkedHashMap<>();
        try {
            for (String data : kinds) {
                List<AlignedBuffer> src = generate(io, data, Math.min(blocks, 64));
                Pools pools = new Pools(io, work);
                try {
                    for (int r = 0; r < rounds + 1; r++) { // round 0 warms up and is not counted
                        boolean count = r > 0;
                        runRaw(io, work, src, blocks, cases, data + " raw O_DIRECT", count);
                        runFused(io, work, src, blocks, cases, data + " fused none", SpillFormat.LEVEL_NONE, count);
                        runFused(io, work, src, blocks, cases, data + " fused L1", 1, count);
                        runPool(pools, src, blocks, cases, data + " pool none", SpillCompression.none(), count);
                        runPool(pools, src, blocks, cases, data + " pool L1", SpillCompression.fixed(1), count);
                        runPool(pools, src, blocks, cases, data + " pool L3", SpillCompression.fixed(3), count);
                        runPool(pools, src, blocks, cases, data + " pool adaptive", SpillCompression.adaptiveLevel(),
                                count);
                    }
                } finally {
                    pools.close();
                    src.forEach(AlignedBuffer::close);
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted((a, b) -> b.getNameCount() - a.getNameCount()).forEach(p -> p.toFile().delete());
            }
        }
        Map<String, Double> nativeFigures = nativeJson == null ? Map.of() : readJson(nativeJson);
        report(cases, kinds, nativeFigures);
        if (json != null) {
            writeJson(json, cases);
        }
    }

    // ---------------------------------------------------------------- data

    static List<AlignedBuffer> generate(IoBackend io, String kind, int n) {
        List<AlignedBuffer> out = new ArrayList<>();
        Random r = new Random(42);
        for (int i = 0; i < n; i++) {
            AlignedBuffer b = io.allocate(BLOCK);
            ByteBuffer bb = b.buffer();
            if (kind.equals("random")) {
                byte[] bytes = new byte[BLOCK];
                r.nextBytes(bytes);
                bb.put(0, bytes);
            } else {
                int at = 0;
                while (at < BLOCK) {
                    byte[] line = (r.nextInt(10_000_000) + ",customer_" + r.nextInt(50_000) + ","
                            + (r.nextInt(10_000_000) / 100.0) + ",2026-" + (10 + r.nextInt(3)) + "-" + (10 + r.nextInt(18))
                            + "," + (r.nextBoolean() ? "SHIPPED" : "PENDING") + ",warehouse " + r.nextInt(40) + "\n")
                            .getBytes(StandardCharsets.US_ASCII);
                    int k = Math.min(line.length, BLOCK - at);
                    bb.put(at, line, 0, k);
                    at += k;
                }
            }
            out.add(b);
        }
        return out;
    }

    // ---------------------------------------------------------------- cases

    /*
     * Every case spills into a file that lives across rounds, written first in the uncounted warm-up
     * round (round 0), as the native harness does: spw_bench writes its spill file in its warm-up
     * round and its measured round overwrites those blocks. Until this was so, each JVM round
     * created a fresh file (and the pool a fresh pool, its directory and owner record inside the
     * timed write), so the JVM side paid for file creation, extending O_DIRECT writes and a delete
     * that the reference never pays: unfair against the JVM. The pool is one pool per case for the
     * whole run, as an application keeps one; whether its files survive a round is its own doing.
     */

    /** Raw O_DIRECT 256 KiB pwrite then pread of the same blocks: the disk's ceiling. */
    static void runRaw(IoBackend io, Path work, List<AlignedBuffer> src, int blocks, Map<String, Case> cases, String name,
            boolean count) {
        Path p = work.resolve("raw.bin");
        try (IoFile f = io.open(p, EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT)); // kept across rounds (see above)
                AlignedBuffer dst = io.allocate(BLOCK)) {
            long t0 = System.nanoTime();
            for (int i = 0; i < blocks; i++) {
                f.write(src.get(i % src.size()).buffer(), 0, BLOCK, (long) i * BLOCK);
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < blocks; i++) {
                f.read(dst.buffer(), 0, BLOCK, (long) i * BLOCK);
            }
            long t2 = System.nanoTime();
            record(cases, name, count, t1 - t0, t2 - t1, (long) blocks * BLOCK, (long) blocks * BLOCK,
                    f.isDirect() ? "" : "(no O_DIRECT here)");
        }
    }

    /** The fused calls (compress+pwrite, pread+check+decompress in one crossing), slots of 256 KiB + 4 KiB. */
    static void runFused(IoBackend io, Path work, List<AlignedBuffer> src, int blocks, Map<String, Case> cases,
            String name, int level, boolean count) {
        Path p = work.resolve("fused.bin");
        int slot = TemporaryFileManager.RAW_SLOT;
        int maxPayload = 7 * TemporaryFileManager.CLASS_STEP - SpillFormat.HEADER_SIZE;
        try (IoFile f = io.open(p, EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT)); // kept across rounds
                Codec codec = io.newCodec();
                AlignedBuffer scratch = io.allocate(SpillFormat.scratchSize(BLOCK));
                AlignedBuffer dst = io.allocate(BLOCK)) {
            int[] stored = new int[blocks];
            long storedBytes = 0;
            long t0 = System.nanoTime();
            for (int i = 0; i < blocks; i++) {
                SpillBlock b = codec.spillWrite(f, (long) i * slot, src.get(i % src.size()).buffer(), 0, BLOCK, level,
                        maxPayload, scratch);
                stored[i] = b.storedSize();
                storedBytes += b.storedSize();
            }
            long t1 = System.nanoTime();
            for (int i = 0; i < blocks; i++) {
                codec.spillRead(f, (long) i * slot, stored[i], dst.buffer(), 0, BLOCK, scratch);
            }
            long t2 = System.nanoTime();
            if (!dst.buffer().equals(src.get((blocks - 1) % src.size()).buffer())) {
                throw new AssertionError(name + ": the last block read back differs");
            }
            record(cases, name, count, t1 - t0, t2 - t1, (long) blocks * BLOCK, storedBytes, "");
        }
    }

    /** One transient pool per case (4-block memory limit, its own directory), kept for the whole run. */
    static final class Pools implements AutoCloseable {
        private final IoBackend io;
        private final Path work;
        private final Map<String, TransientBufferPool> pools = new LinkedHashMap<>();

        Pools(IoBackend io, Path work) {
            this.io = io;
            this.work = work;
        }

        TransientBufferPool get(String name, SpillCompression compression) {
            return pools.computeIfAbsent(name, n -> new TransientBufferPool(io, new MemoryAccountant(4L * BLOCK),
                    TemporaryFileManager.Config.of(work.resolve("pool-" + n.replaceAll("[^A-Za-z0-9]", "_")))
                            .withSizeLimit(TemporaryFileManager.SIZE_UNLIMITED).withCompression(compression)));
        }

        @Override
        public void close() {
            pools.values().forEach(TransientBufferPool::close);
            pools.clear();
        }
    }

    /** The transient pool with a 4-block memory limit: allocate, fill, unpin every block; then pin+free each. */
    static void runPool(Pools pools, List<AlignedBuffer> src, int blocks, Map<String, Case> cases,
            String name, SpillCompression compression, boolean count) {
        TransientBufferPool pool = pools.get(name, compression);
        long storedBefore = pool.temporaryFileManager().storedBytesWritten();
        {
            List<TransientBuffer> bufs = new ArrayList<>(blocks);
            long t0 = System.nanoTime();
            for (int i = 0; i < blocks; i++) {
                try (BufferHandle h = pool.allocate(MemoryTag.ORDER_BY, BLOCK)) {
                    h.buffer().put(0, src.get(i % src.size()).buffer(), 0, BLOCK);
                    bufs.add(h.transientBuffer());
                }
            }
            pool.reclaim(Long.MAX_VALUE); // the last few too: every block is on disk
            long t1 = System.nanoTime();
            long stored = pool.temporaryFileManager().storedBytesWritten() - storedBefore;
            for (int i = 0; i < blocks; i++) {
                TransientBuffer b = bufs.get(i);
                try (BufferHandle h = b.pin()) {
                    if (i == blocks - 1 && !h.buffer().equals(src.get(i % src.size()).buffer())) {
                        throw new AssertionError(name + ": the last block read back differs");
                    }
                }
                b.free();
            }
            long t2 = System.nanoTime();
            record(cases, name, count, t1 - t0, t2 - t1, (long) blocks * BLOCK, stored,
                    compression.adaptive() ? pool.temporaryFileManager().compressionState() : "");
        }
    }

    static void record(Map<String, Case> cases, String name, boolean count, long writeNs, long readNs, long raw,
            long stored, String note) {
        if (!count) {
            return;
        }
        Case c = cases.computeIfAbsent(name, Case::new);
        c.write.add(writeNs / 1e9);
        c.read.add(readNs / 1e9);
        c.rawBytes = raw;
        c.storedBytes = stored;
        c.note = note;
    }

    // ---------------------------------------------------------------- report

    static void report(Map<String, Case> cases, List<String> kinds, Map<String, Double> nativeFigures) {
        System.out.printf(Locale.ROOT, "%n%-22s %22s %22s %22s %8s %10s%n", "case", "write MB/s (min-max)",
                "read MB/s (min-max)", "write+read MB/s", "ratio", "saved MiB");
        for (Case c : cases.values()) {
            double[] w = c.series("write");
            double[] r = c.series("read");
            double[] t = c.series("both");
            System.out.printf(Locale.ROOT, "%-22s %8.0f (%5.0f-%5.0f) %8.0f (%5.0f-%5.0f) %8.0f (%5.0f-%5.0f) %8.2f %10.1f%n",
                    c.name, c.median("write"), w[0], w[w.length - 1], c.median("read"), r[0], r[r.length - 1],
                    c.median("both"), t[0], t[t.length - 1], (double) c.rawBytes / c.storedBytes,
                    (c.rawBytes - c.storedBytes) / 1048576.0);
        }
        System.out.println();
        for (String data : kinds) {
            Case fusedL1 = cases.get(data + " fused L1");
            Case fusedNone = cases.get(data + " fused none");
            Case adaptive = cases.get(data + " pool adaptive");
            Case poolL1 = cases.get(data + " pool L1");
            Case poolNone = cases.get(data + " pool none");
            System.out.printf(Locale.ROOT, "%s (write+read, median of per-round ratios): pool L1 / fused L1 = %.2f; "
                    + "pool none / fused none = %.2f; adaptive / faster fused = %.2f; adaptive / faster pool fixed "
                    + "(none, L1) = %.2f; fused none / raw O_DIRECT = %.2f%n", data, ratio(poolL1, fusedL1),
                    ratio(poolNone, fusedNone), ratio(adaptive, fusedL1, fusedNone), ratio(adaptive, poolL1, poolNone),
                    ratio(fusedNone, cases.get(data + " raw O_DIRECT")));
            System.out.printf(Locale.ROOT, "%s: adaptive saved %.1f MiB of %.1f MiB (%s)%n", data,
                    (adaptive.rawBytes - adaptive.storedBytes) / 1048576.0, adaptive.rawBytes / 1048576.0, adaptive.note);
        }
        if (!nativeFigures.isEmpty()) {
            System.out.println();
            System.out.println("against the native harness (spw_bench, same fused calls, no JVM), write+read MB/s:");
            for (String data : kinds) {
                Double n = nativeFigures.get(data + " fused L1 write+read");
                if (n == null) {
                    continue;
                }
                for (String c : List.of(" fused L1", " pool L1", " pool adaptive")) {
                    Case k = cases.get(data + c);
                    System.out.printf(Locale.ROOT, "%-22s Java %.0f MB/s / native L1 %.0f MB/s = %.2f%n", k.name,
                            k.median("both"), n, k.median("both") / n);
                }
            }
        }
    }

    static void writeJson(Path out, Map<String, Case> cases) throws IOException {
        StringBuilder sb = new StringBuilder("{\n");
        boolean first = true;
        for (Case c : cases.values()) {
            for (String phase : List.of("write", "read", "write+read")) {
                sb.append(first ? "" : ",\n").append(String.format(Locale.ROOT, "  \"%s %s\": %.1f", c.name, phase,
                        c.median(phase.equals("write+read") ? "both" : phase)));
                first = false;
            }
        }
        Files.writeString(out, sb.append("\n}\n").toString());
    }

    /**
     * Reads the native harness's JSON ({@code spw_bench}: a "results" array of objects with "name"
     * and "mb_per_s") into "csv fused L1 write" / "... read" / "... write+read" (MB/s), the names of
     * this program's cases; the harness writes at {@code --level} (default 1).
     */
    static Map<String, Double> readJson(Path in) throws IOException {
        Map<String, Double> m = new LinkedHashMap<>();
        String text = Files.readString(in);
        java.util.regex.Matcher level = java.util.regex.Pattern.compile("\"level\":\\s*(-?\\d+)").matcher(text);
        String lv = level.find() ? level.group(1) : "1";
        java.util.regex.Matcher mt = java.util.regex.Pattern.compile(
                "\"name\":\\s*\"spill_(write|read)_256k_(csv|random)\"[^}]*\"mb_per_s\":\\s*([0-9.]+)").matcher(text);
        while (mt.find()) {
            m.put(mt.group(2) + " fused L" + lv + " " + mt.group(1), Double.parseDouble(mt.group(3)));
        }
        for (String data : List.of("csv", "random")) {
            Double w = m.get(data + " fused L" + lv + " write");
            Double r = m.get(data + " fused L" + lv + " read");
            if (w != null && r != null) {
                m.put(data + " fused L" + lv + " write+read", 1 / (1 / w + 1 / r));
            }
        }
        return m;
    }
}
