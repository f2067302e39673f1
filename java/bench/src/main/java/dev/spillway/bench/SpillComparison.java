package dev.spillway.bench;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.spill.SpillCompression;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.stream.Stream;

/**
 * Spill throughput against its references, round by round on the very same 256 KiB block: the
 * transient pool ({@link SpillThroughput}'s cases: no compression, zstd level 1, the adaptive
 * level) and, in the same round, the native harness's fused calls and raw O_DIRECT writes
 * ({@code spw_bench}) and {@code zstd -b1 -B256K} (in-memory compression, no disk). The block is
 * byte for byte the harness's ({@link BenchFiles#csv}, {@link BenchFiles#random}), so every side
 * compresses the same bytes. {@link #run} returns MB/s per round; the CLI's report turns them into
 * ratios. The JVM side keeps its round-0 warm-up uncounted, as the harness does.
 *
 * <p>Like for like with the harness: each JVM case spills into a file (the pool: one pool per
 * case) that lives across rounds and was first written in the warm-up round, as spw_bench's
 * measured round overwrites the slots its warm-up round wrote (see SpillThroughput); the harness
 * spills the same number of blocks per round ({@code --spill-blocks}; it spilled 64 always, while
 * {@code bench}'s full mode spills 256); and the cases run in an order
 * rotated each round, so none always runs first.
 */
public final class SpillComparison {
    static final int BLOCK = SpillThroughput.BLOCK;
    /** Copies of the block in the file given to {@code zstd -b}: enough for its timer, small to write. */
    static final int ZSTD_BLOCKS = 16;

    public static final List<String> JAVA_CASES = List.of("raw O_DIRECT", "fused L1", "pool none", "pool L1",
            "pool adaptive");

    /**
     * What to run: {@code blocks} spilled per case per round. {@code harness} null leaves the
     * harness out; it reads {@code harnessFile} of {@code harnessFileMiB} (any data file it
     * accepts: it only needs one to start). {@code zstd} null leaves {@code zstd -b} out.
     */
    public record Config(Path dir, int blocks, int rounds, List<String> kinds, BackendKind backend, Path harness,
            Path harnessFile, int harnessFileMiB, String zstd) {
    }

    /**
     * MB/s (10^6 bytes of raw data per second) per round, in round order, keyed
     * {@code "<kind> <case> <phase>"} with phase write, read or write+read; the harness's cases are
     * {@code "native fused L1"} and {@code "native raw"} (write only), zstd's {@code "zstd -b L1"}
     * (write = compress, read = decompress). {@code compression} is raw / stored bytes per
     * {@code "<kind> <case>"}; {@code notes} holds the adaptive level's state after the run.
     */
    public record Result(String backend, String fileSystem, Map<String, double[]> mbps, Map<String, Double> compression,
            Map<String, String> notes, List<String> commands) {
    }

    private SpillComparison() {
    }

    /**
     * The spill step of {@code bench} on its own, printing same-round ratios (median, min–max):
     * <pre>
     * java --enable-native-access=ALL-UNNAMED -cp java/bench/target/benchmarks.jar dev.spillway.bench.SpillComparison \
     *     [--blocks 64] [--rounds 5] [--data csv,random] [--dir /tmp] [--native build/native/spw_bench]
     *     [--harness-file /tmp/spillway-misspath-256m.pf] [--harness-mib 256] [--backend auto]
     * </pre>
     */
    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i + 1 < args.length; i += 2) {
            o.put(args[i].replaceFirst("^--", ""), args[i + 1]);
        }
        Path harness = o.containsKey("native") ? Path.of(o.get("native")) : NativeHarness.find();
        int mib = Integer.parseInt(o.getOrDefault("harness-mib", "256"));
        Path dir = Path.of(o.getOrDefault("dir", System.getProperty("java.io.tmpdir")));
        Config cfg = new Config(dir, Integer.parseInt(o.getOrDefault("blocks", "64")),
                Integer.parseInt(o.getOrDefault("rounds", "5")), List.of(o.getOrDefault("data", "csv,random").split(",")),
                BackendKind.parse(o.getOrDefault("backend", "auto")), harness,
                Path.of(o.getOrDefault("harness-file", dir.resolve("spillway-misspath-" + mib + "m.pf").toString())), mib,
                null);
        Result r = run(cfg);
        System.out.printf(Locale.ROOT, "backend %s, %s, %d blocks x %d rounds%n", r.backend(), r.fileSystem(),
                cfg.blocks(), cfg.rounds());
        for (Map.Entry<String, double[]> e : r.mbps().entrySet()) {
            System.out.printf(Locale.ROOT, "%-36s %s%n", e.getKey(), stats(e.getValue()));
        }
        for (String kind : cfg.kinds()) {
            for (String phase : List.of("write+read", "write", "read")) {
                for (String c : List.of("pool L1", "pool none", "pool adaptive", "fused L1")) {
                    double[] a = r.mbps().get(kind + " " + c + " " + phase);
                    double[] b = r.mbps().get(kind + " native fused L1 " + phase);
                    if (a == null || b == null) {
                        continue;
                    }
                    double[] q = new double[a.length];
                    for (int i = 0; i < a.length; i++) {
                        q[i] = a[i] / b[i];
                    }
                    System.out.printf(Locale.ROOT, "RATIO %-6s %-10s %-13s / native fused L1: %s%n", kind, phase, c,
                            stats(q));
                }
            }
        }
    }

    /** "median (min-max)" of a series in round order. */
    private static String stats(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        double med = s.length % 2 == 1 ? s[s.length / 2] : (s[s.length / 2 - 1] + s[s.length / 2]) / 2;
        return String.format(Locale.ROOT, "%.2f (%.2f-%.2f)", med, s[0], s[s.length - 1]);
    }

    public static Result run(Config cfg) throws IOException, InterruptedException {
        IoBackend io = Backends.open(cfg.backend());
        Files.createDirectories(cfg.dir());
        Path work = Files.createTempDirectory(cfg.dir(), "spill-compare-");
        NativeHarness harness = cfg.harness() == null ? null : new NativeHarness(cfg.harness());
        Map<String, List<Double>> series = new LinkedHashMap<>();
        Map<String, Double> compression = new LinkedHashMap<>();
        Map<String, String> notes = new LinkedHashMap<>();
        List<String> commands = new ArrayList<>();
        String fs = Files.getFileStore(work).type();
        try {
            for (String kind : cfg.kinds()) {
                byte[] bytes = switch (kind) {
                    case "csv" -> BenchFiles.csv(BLOCK, 6); // spw_bench: fill_csv(src, BLOCK, 6)
                    case "random" -> BenchFiles.random(BLOCK, 7); // spw_bench: fill_random(src, BLOCK, 7)
                    default -> throw new IllegalArgumentException("spill data must be csv or random, not " + kind);
                };
                Path zstdFile = work.resolve("zstd-" + kind + ".bin");
                if (cfg.zstd() != null) {
                    try (var out = Files.newOutputStream(zstdFile)) {
                        for (int i = 0; i < ZSTD_BLOCKS; i++) {
                            out.write(bytes);
                        }
                    }
                }
                AlignedBuffer src = io.allocate(BLOCK);
                SpillThroughput.Pools pools = new SpillThroughput.Pools(io, work);
                try {
                    src.buffer().put(0, bytes);
                    List<AlignedBuffer> srcs = List.of(src);
                    Map<String, SpillThroughput.Case> cases = new LinkedHashMap<>();
                    for (int r = 0; r <= cfg.rounds(); r++) {
                        boolean count = r > 0;
                        // The disk cases in a new order each round (rotated): in a fixed order the
                        // harness always ran first, on a disk the JVM cases had not just written to.
                        List<Step> steps = new ArrayList<>();
                        if (count && harness != null) {
                            steps.add(() -> harnessRound(harness, cfg, kind, series));
                        }
                        steps.add(() -> SpillThroughput.runRaw(io, work, srcs, cfg.blocks(), cases, "raw O_DIRECT", count));
                        steps.add(() -> SpillThroughput.runFused(io, work, srcs, cfg.blocks(), cases, "fused L1", 1, count));
                        steps.add(() -> SpillThroughput.runPool(pools, srcs, cfg.blocks(), cases, "pool none",
                                SpillCompression.none(), count));
                        steps.add(() -> SpillThroughput.runPool(pools, srcs, cfg.blocks(), cases, "pool L1",
                                SpillCompression.fixed(1), count));
                        steps.add(() -> SpillThroughput.runPool(pools, srcs, cfg.blocks(), cases, "pool adaptive",
                                SpillCompression.adaptiveLevel(), count));
                        java.util.Collections.rotate(steps, r);
                        for (Step st : steps) {
                            st.run();
                        }
                        if (count && cfg.zstd() != null) {
                            double[] z = zstdBench(cfg.zstd(), zstdFile, commands);
                            add(series, kind + " zstd -b L1 write", z[0]);
                            add(series, kind + " zstd -b L1 read", z[1]);
                            compression.put(kind + " zstd -b L1", z[2]);
                        }
                    }
                    for (SpillThroughput.Case c : cases.values()) {
                        for (int i = 0; i < c.write.size(); i++) {
                            add(series, kind + " " + c.name + " write", c.rawBytes / c.write.get(i) / 1e6);
                            add(series, kind + " " + c.name + " read", c.rawBytes / c.read.get(i) / 1e6);
                            add(series, kind + " " + c.name + " write+read", c.both(i));
                        }
                        compression.put(kind + " " + c.name, (double) c.rawBytes / c.storedBytes);
                        if (!c.note.isEmpty()) {
                            notes.put(kind + " " + c.name, c.note);
                        }
                    }
                } finally {
                    pools.close();
                    src.close();
                }
            }
        } finally {
            try (Stream<Path> s = Files.walk(work)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            }
        }
        if (harness != null) {
            commands.addAll(0, harness.commands());
        }
        Map<String, double[]> out = new LinkedHashMap<>();
        series.forEach((k, v) -> out.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
        return new Result(io.kind().name().toLowerCase(Locale.ROOT), fs, out, compression, notes, commands);
    }

    /** One case of a round. */
    private interface Step {
        void run() throws IOException, InterruptedException;
    }

    private static void add(Map<String, List<Double>> series, String key, double v) {
        series.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
    }

    /** One measured round of the harness: raw O_DIRECT writes, fused write, fused read (after its warm-up round). */
    static void harnessRound(NativeHarness h, Config cfg, String kind, Map<String, List<Double>> series)
            throws IOException, InterruptedException {
        String w = "spill_write_256k_" + kind;
        String rd = "spill_read_256k_" + kind;
        Map<String, double[]> r = h.run(List.of("--file", cfg.harnessFile().toString(), "--size-mib",
                Integer.toString(cfg.harnessFileMiB()), "--rounds", "1", "--data", kind, "--level", "1",
                "--spill-blocks", Integer.toString(cfg.blocks()), "--only",
                "write_256k_raw," + w + "," + rd));
        double wn = r.get(w)[0];
        double rn = r.get(rd)[0];
        add(series, kind + " native fused L1 write", BLOCK / wn * 1e3); // bytes per ns * 1e3 = MB/s
        add(series, kind + " native fused L1 read", BLOCK / rn * 1e3);
        add(series, kind + " native fused L1 write+read", BLOCK / (wn + rn) * 1e3);
        add(series, kind + " native raw write", BLOCK / r.get("write_256k_raw")[0] * 1e3);
    }

    /** {@code zstd -b1 -B256K -i1 FILE}: {compress MB/s, decompress MB/s, ratio}. */
    static double[] zstdBench(String zstd, Path file, List<String> commands) throws IOException, InterruptedException {
        List<String> cmd = List.of(zstd, "-b1", "-B256K", "-i1", file.toString());
        Process p = new ProcessBuilder(cmd).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed (exit " + p.exitValue() + "): " + out.strip());
        }
        String line = String.join(" ", cmd);
        if (!commands.contains(line)) {
            commands.add(line);
        }
        return parseZstdBench(out);
    }

    private static final Pattern ZSTD_RESULT = Pattern.compile(
            "->\\s*\\d+\\s*\\(x?([0-9.]+)\\),\\s*([0-9.]+)\\s*MB/s\\s*,\\s*([0-9.]+)\\s*MB/s");

    /**
     * zstd's benchmark output: progress lines separated by carriage returns, each better figure
     * overwriting the last, so the last complete "-> N (xR), C MB/s, D MB/s" holds the result.
     * Returns {compress MB/s, decompress MB/s, ratio}.
     */
    public static double[] parseZstdBench(String out) {
        Matcher m = ZSTD_RESULT.matcher(out);
        double[] last = null;
        while (m.find()) {
            last = new double[] {Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                Double.parseDouble(m.group(1))};
        }
        if (last == null) {
            throw new IllegalStateException("no result in zstd -b's output: " + out.strip());
        }
        return last;
    }
}
