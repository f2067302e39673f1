package dev.spillway.cli;

import dev.spillway.bench.MissPathBenchmark;
import dev.spillway.bench.NativeHarness;
import dev.spillway.bench.PolicyComparison;
import dev.spillway.bench.SpillComparison;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.eviction.TraceReader;
import dev.spillway.io.BackendKind;
import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.time.Instant;
import java.time.ZoneOffset;
import java.time.format.DateTimeFormatter;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.stream.Stream;

/**
 * {@code spillway bench}: runs every comparison of {@code shared/BENCHMARKS.md} and writes a Markdown
 * report with PNG plots. Each figure is a ratio against its reference measured in the same run,
 * given as the median over rounds with the range (min–max) of the per-round ratios, and every
 * ratio reads the same way: Spillway's speed over the reference's, so 1.00 is "as fast" and more
 * is faster.
 *
 * <p>The suite, in order: the miss path ({@link MissPathBenchmark}, which also makes the data file
 * every later step reads), spill ({@link SpillComparison}), the hit path and the bindings (JMH in
 * a child JVM, {@link Jmh}), and hit ratios on the traces ({@link PolicyComparison}). A step that
 * fails is reported as such and the others still run; a reference that is not there (no native
 * harness built, no {@code zstd}, no traces) is named in the report instead of a number.
 *
 * <p>Run it (from the repository root; {@code --quick} takes about 4 minutes on the 2-core machines
 * of BENCHMARKS.md, the full suite about 10):
 * <pre>
 * ./build.sh bench --quick            # builds the jars and build/native/spw_bench first
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar java/cli/target/spillway-cli-0.1.0-all.jar \
 *     bench [--quick] [--out DIR] [--traces DIR] [--native build/native/spw_bench]
 * </pre>
 * The report goes to {@code DIR/report.md} (default {@code reports/<UTC time>/}) with its PNGs and
 * JMH's JSON and logs beside it.
 */
final class BenchReport {
    static final String USAGE = String.join("\n",
            "  bench [--quick] [--out DIR] [--traces DIR] [--native PATH]",
            "                     run the benchmark suite; write DIR/report.md (default reports/<time>/) with PNG plots");

    /** The goals of BENCHMARKS.md and the issue, as speed ratios a median must reach. */
    static final double HIT_GOAL = 1.00;
    static final double MISS_GOAL = 0.90;
    static final double SPILL_GOAL = 0.85;
    static final double ADAPTIVE_GOAL = 0.90;

    /** Cache sizes for the hit-ratio replay, as fractions of a trace's distinct keys (PolicyComparison's). */
    static final double[] FRACTIONS = {0.05, 0.10, 0.25, 0.50, 0.75};

    /** How big and how long each step is. */
    record Settings(String mode, Path out, boolean jmh, List<String> jmhOptions, int missFileMiB, long missLimit,
            int missOps, int missRounds, int spillBlocks, int spillRounds, int harnessRounds, List<Path> traces,
            List<String> policies, Path harness, String zstd, String command) {

        /** ≤ 5 minutes on the 2-core machines of BENCHMARKS.md. */
        static Settings quick(Path out, List<Path> traces, Path harness, String zstd, String command) {
            return new Settings("quick", out, true, List.of("-f", "1", "-wi", "2", "-w", "500ms", "-i", "4", "-r", "500ms"),
                    // spill: 7 rounds, not 3: a median of 3 same-round ratios moved by 0.3 between runs on
                    // the shared 2-core machines (one slow round of either side is enough); about 20 s more.
                    // miss path: 9 rounds, not 5: single rounds' ratios range over 0.70-1.13 (and
                    // FileChannel's, which does the very same reads, over 0.78-1.19); about 8 s more
                    256, 8L << 20, 4000, 9, 64, 7, 3, traces,
                    List.of(EvictionPolicies.DEFAULT, "lru", PolicyComparison.CAFFEINE, PolicyComparison.OPTIMAL),
                    harness, zstd, command);
        }

        /** ≤ 20 minutes: more rounds, longer iterations, every policy. */
        static Settings full(Path out, List<Path> traces, Path harness, String zstd, String command) {
            List<String> policies = new ArrayList<>(EvictionPolicies.names());
            policies.add(PolicyComparison.CAFFEINE);
            policies.add(PolicyComparison.OPTIMAL);
            return new Settings("full", out, true, List.of("-f", "1", "-wi", "3", "-w", "1s", "-i", "7", "-r", "1s"),
                    256, 8L << 20, 8000, 9, 256, 7, 5, traces, policies, harness, zstd, command);
        }

        /**
         * Seconds, for tests of the machinery: tiny sizes, two rounds, no JMH, no harness, no zstd.
         * Its numbers mean nothing.
         */
        static Settings smoke(Path out, List<Path> traces, Path missFile) {
            return new Settings("smoke", out, false, List.of(), 2, 256L << 10, 200, 2, 8, 2, 1, traces,
                    List.of("lru", EvictionPolicies.DEFAULT, PolicyComparison.CAFFEINE, PolicyComparison.OPTIMAL),
                    null, null, "smoke test");
        }

        Path missFile() {
            return mode.equals("smoke") ? out.resolve("misspath.pf") : MissPathBenchmark.Config.defaultFile(missFileMiB);
        }
    }

    /** Everything measured; a null field is a step that did not run, with the reason in {@link #failures}. */
    static final class Measurements {
        MissPathBenchmark.Result miss;
        SpillComparison.Result spill;
        List<Jmh.Result> hit;
        List<Jmh.Result> binding;
        Map<String, double[]> bindingNativeBefore;
        Map<String, double[]> bindingNativeAfter;
        List<PolicyComparison.Row> ratios;
        final Map<String, String> failures = new LinkedHashMap<>();
        final List<String> commands = new ArrayList<>();
        final Map<String, Double> seconds = new LinkedHashMap<>();
    }

    private BenchReport() {
    }

    /** {@code spillway bench [--quick] [--out DIR] [--traces DIR] [--native PATH]}. */
    static int run(Options o, PrintStream out) {
        o.checkOnly("quick", "out", "traces", "native");
        o.noPositional();
        Path dir = Path.of(o.get("out", "reports/" + DateTimeFormatter.ofPattern("yyyyMMdd-HHmmss")
                .withZone(ZoneOffset.UTC).format(Instant.now())));
        Path traceDir = o.values.containsKey("traces") ? Path.of(o.get("traces", "")) : findTraces();
        List<Path> traces = traceDir == null ? List.of() : tracesIn(traceDir);
        Path harness = o.values.containsKey("native") ? Path.of(o.get("native", "")) : NativeHarness.find();
        if (harness != null && !Files.isExecutable(harness)) {
            throw new Main.UsageException("--native: " + harness + " is not an executable");
        }
        StringBuilder cmd = new StringBuilder("spillway bench");
        o.values.forEach((k, v) -> cmd.append(" --").append(k).append(v.equals("true") && k.equals("quick") ? "" : " " + v));
        Settings s = o.flag("quick") ? Settings.quick(dir, traces, harness, findOnPath("zstd"), cmd.toString())
                : Settings.full(dir, traces, harness, findOnPath("zstd"), cmd.toString());
        return generate(s, out);
    }

    /** Runs the suite and writes {@code out/report.md}; 0 if every step ran, 1 if one failed. */
    static int generate(Settings s, PrintStream log) {
        try {
            Files.createDirectories(s.out());
        } catch (IOException e) {
            throw new UncheckedIOException("cannot create " + s.out() + ": " + e.getMessage(), e);
        }
        String machine = machine(s.out());
        long start = System.nanoTime();
        Measurements m = new Measurements();
        step(m, log, "miss path", () -> {
            MissPathBenchmark.Config c = new MissPathBenchmark.Config(s.missFile(), s.missFileMiB(), s.missLimit(),
                    s.missOps(), s.missRounds(), List.of(1, 2), s.harness(), BackendKind.AUTO,
                    s.mode().equals("smoke") ? 0 : MissPathBenchmark.WARMUP_SECONDS);
            m.miss = MissPathBenchmark.run(c);
            m.commands.addAll(m.miss.harnessCommands());
        });
        step(m, log, "spill", () -> {
            SpillComparison.Config c = new SpillComparison.Config(Path.of(System.getProperty("java.io.tmpdir")),
                    s.spillBlocks(), s.spillRounds(), List.of("csv", "random"), BackendKind.AUTO,
                    m.miss == null ? null : s.harness(), s.missFile(), s.missFileMiB(), s.zstd());
            m.spill = SpillComparison.run(c);
            m.commands.addAll(m.spill.commands());
        });
        if (s.jmh()) {
            step(m, log, "hit path (JMH)", () -> m.hit = jmh(s, m, log, "HitPathBenchmark", List.of()));
            step(m, log, "bindings (JMH + native harness)", () -> binding(s, m, log));
        } else {
            m.failures.put("hit path (JMH)", "not run in " + s.mode() + " mode");
            m.failures.put("bindings (JMH + native harness)", "not run in " + s.mode() + " mode");
        }
        step(m, log, "hit ratios", () -> m.ratios = hitRatios(s));
        double total = (System.nanoTime() - start) / 1e9;
        Path report = s.out().resolve("report.md");
        try {
            Files.writeString(report, ReportWriter.markdown(s, m, machine, total));
        } catch (IOException e) {
            throw new UncheckedIOException("cannot write " + report + ": " + e.getMessage(), e);
        }
        log.printf(Locale.ROOT, "report: %s (%.0f s)%n", report, total);
        List<String> failed = m.failures.entrySet().stream().filter(e -> !e.getValue().startsWith("not run"))
                .map(e -> e.getKey() + ": " + e.getValue()).toList();
        failed.forEach(f -> log.println("failed: " + f));
        return failed.isEmpty() ? 0 : 1;
    }

    interface Step {
        void run() throws Exception;
    }

    private static void step(Measurements m, PrintStream log, String name, Step body) {
        log.printf("%s ...%n", name);
        long t0 = System.nanoTime();
        try {
            body.run();
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            m.failures.put(name, "interrupted");
        } catch (Exception | AssertionError e) {
            m.failures.put(name, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
        m.seconds.put(name, (System.nanoTime() - t0) / 1e9);
    }

    private static List<Jmh.Result> jmh(Settings s, Measurements m, PrintStream log, String include, List<String> jvmArgs)
            throws IOException, InterruptedException {
        Path json = s.out().resolve("jmh-" + include + ".json");
        List<String> opts = new ArrayList<>(s.jmhOptions());
        if (!jvmArgs.isEmpty()) { // replaces the annotation's jvmArgsAppend, so it is repeated here
            opts.add("-jvmArgsAppend");
            opts.add(String.join(" ", jvmArgs));
        }
        List<String> cmd = Jmh.command(include, opts, json);
        m.commands.add(String.join(" ", cmd).replace(System.getProperty("java.class.path"), "<this jar>"));
        return Jmh.run(cmd, json, s.out().resolve("jmh-" + include + ".log"), log);
    }

    /** Native harness, JMH over every backend, native harness again (A-B-A), on the miss path's file. */
    private static void binding(Settings s, Measurements m, PrintStream log) throws IOException, InterruptedException {
        if (s.harness() == null) {
            throw new IllegalStateException("no native harness (build/native/spw_bench): nothing to compare the backends with");
        }
        NativeHarness h = new NativeHarness(s.harness());
        List<String> args = List.of("--file", s.missFile().toString(), "--size-mib", Integer.toString(s.missFileMiB()),
                "--rounds", Integer.toString(s.harnessRounds()), "--data", "csv", "--only",
                String.join(",", ReportWriter.BINDING_NATIVE.values()));
        m.bindingNativeBefore = h.run(args);
        m.binding = jmh(s, m, log, "BindingOverheadBenchmark",
                List.of("--enable-native-access=ALL-UNNAMED", "-Dspillway.bench.file=" + s.missFile()));
        m.bindingNativeAfter = h.run(args);
        m.commands.addAll(h.commands());
    }

    private static List<PolicyComparison.Row> hitRatios(Settings s) throws IOException {
        if (s.traces().isEmpty()) {
            throw new IllegalStateException("no traces (shared/traces not found; pass --traces DIR)");
        }
        List<PolicyComparison.Workload> w = new ArrayList<>();
        for (Path p : s.traces()) {
            long[] keys = TraceReader.read(p);
            long distinct = Arrays.stream(keys).distinct().count();
            int[] sizes = Arrays.stream(FRACTIONS).mapToInt(f -> (int) Math.max(1, Math.round(f * distinct))).distinct()
                    .toArray();
            w.add(new PolicyComparison.Workload(p.getFileName().toString().replaceFirst("\\.gz$", "")
                    .replaceFirst("\\.trace$", ""), keys, sizes));
        }
        return PolicyComparison.run(w, s.policies(), 2);
    }

    // ---------------------------------------------------------------- the machine

    /** Cores, CPU, memory, JDK, kernel, the file systems of the temp and report folders, the load. */
    static String machine(Path out) {
        Map<String, String> m = new LinkedHashMap<>();
        m.put("cores (available to the JVM)", Integer.toString(Runtime.getRuntime().availableProcessors()));
        m.put("CPU", firstMatch(Path.of("/proc/cpuinfo"), "model name"));
        m.put("memory", memory(firstMatch(Path.of("/proc/meminfo"), "MemTotal")));
        m.put("JDK", System.getProperty("java.vm.name") + " " + System.getProperty("java.runtime.version") + " ("
                + System.getProperty("java.home") + ")");
        m.put("kernel", System.getProperty("os.name") + " " + System.getProperty("os.version") + " "
                + System.getProperty("os.arch"));
        Path tmp = Path.of(System.getProperty("java.io.tmpdir"));
        m.put("temp dir", tmp + " on " + fileSystem(tmp));
        m.put("report dir", out.toAbsolutePath() + " on " + fileSystem(out));
        m.put("load average at start", loadAverage());
        StringBuilder sb = new StringBuilder("| | |\n| --- | --- |\n");
        m.forEach((k, v) -> sb.append("| ").append(k).append(" | ").append(v.replace("|", "\\|")).append(" |\n"));
        return sb.toString();
    }

    /** /proc/meminfo's "24684096 kB" as GiB. */
    static String memory(String memTotal) {
        String[] f = memTotal.split("\\s+");
        if (f.length == 2 && f[1].equals("kB") && f[0].matches("\\d+")) {
            return String.format(Locale.ROOT, "%.1f GiB", Long.parseLong(f[0]) / 1048576.0);
        }
        return memTotal;
    }

    /** The 1, 5 and 15 minute load averages: how busy the shared machine was. */
    static String loadAverage() {
        String[] f = read(Path.of("/proc/loadavg")).trim().split("\\s+");
        return f.length >= 3 ? f[0] + " " + f[1] + " " + f[2] : "unknown";
    }

    private static String fileSystem(Path p) {
        try {
            var store = Files.getFileStore(p);
            return store.type() + " (" + store.name() + ")";
        } catch (IOException e) {
            return "unknown (" + e.getMessage() + ")";
        }
    }

    private static String firstMatch(Path file, String key) {
        for (String line : read(file).split("\n")) {
            if (line.startsWith(key)) {
                return line.substring(line.indexOf(':') + 1).trim();
            }
        }
        return "unknown";
    }

    private static String read(Path p) {
        try {
            return Files.readString(p);
        } catch (IOException e) {
            return "";
        }
    }

    // ---------------------------------------------------------------- finding things

    /** {@code shared/traces} in the working directory or one of its parents (the repository sits beside shared/). */
    static Path findTraces() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            Path t = d.resolve("shared/traces");
            if (Files.isDirectory(t)) {
                return t;
            }
        }
        return null;
    }

    static List<Path> tracesIn(Path dir) {
        if (!Files.isDirectory(dir)) {
            throw new Main.UsageException("--traces: " + dir + " is not a directory");
        }
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().matches(".*\\.trace(\\.gz)?")).sorted().toList();
        } catch (IOException e) {
            throw new UncheckedIOException("cannot list " + dir + ": " + e.getMessage(), e);
        }
    }

    static String findOnPath(String exe) {
        for (String d : System.getenv().getOrDefault("PATH", "").split(":")) {
            if (!d.isEmpty() && Files.isExecutable(Path.of(d, exe))) {
                return Path.of(d, exe).toString();
            }
        }
        return null;
    }
}
