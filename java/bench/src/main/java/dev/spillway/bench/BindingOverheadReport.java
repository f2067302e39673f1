package dev.spillway.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collection;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.concurrent.TimeUnit;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.openjdk.jmh.results.RunResult;
import org.openjdk.jmh.runner.Runner;
import org.openjdk.jmh.runner.RunnerException;
import org.openjdk.jmh.runner.options.Options;
import org.openjdk.jmh.runner.options.OptionsBuilder;
import org.openjdk.jmh.runner.options.TimeValue;

/**
 * For each operation: the native harness (spw_bench), then {@link BindingOverheadBenchmark} through every
 * backend, then the harness again, all on the same data file. Prints one Markdown table of nanoseconds
 * per operation (medians over rounds or iterations) with each backend's ratio to the harness, whose
 * figure is the mean of its before and after medians: drift of this shared, noisy machine during the
 * JMH run shows in the native column's range.
 *
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp java/bench/target/benchmarks.jar \
 *     dev.spillway.bench.BindingOverheadReport [--native build/native/spw_bench] [--rounds 5] \
 *     [--iterations 3] [--seconds 1] [--warmups 2] [--jmh false]
 * </pre>
 * Two tables: wall-clock time from JMH, and CPU time from {@link CpuTimeProbe} (one JVM per backend)
 * against the harness's own CPU time. On a loaded machine the CPU table is the one to read: a
 * preempted round costs wall time but no CPU time. {@code --jmh false} prints only the CPU table.
 */
public final class BindingOverheadReport {
    /** Benchmark method → the harness result doing the same operation in C. */
    static final Map<String, String> NATIVE_NAME = new LinkedHashMap<>();

    static {
        NATIVE_NAME.put("noop", "noop");
        NATIVE_NAME.put("pread4kCached", "pread_4k_cached");
        NATIVE_NAME.put("pread4kDirect", "pread_4k_direct_t1");
        NATIVE_NAME.put("spillRoundTrip256k", "spill_roundtrip_256k_csv");
    }

    static final List<String> BACKENDS = List.of("jni", "ffm", "jna", "nio");

    private BindingOverheadReport() {
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> opt = new TreeMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                System.err.println("usage: BindingOverheadReport [--native PATH] [--rounds N] [--iterations N] "
                        + "[--seconds S] [--warmups N]");
                System.exit(2);
            }
            opt.put(args[i].substring(2), args[++i]);
        }
        Path harness = opt.containsKey("native") ? Path.of(opt.get("native")) : findHarness();
        int rounds = Integer.parseInt(opt.getOrDefault("rounds", "5"));
        Path file = BenchFiles.file();

        // A-B-A per operation: harness, JMH over every backend, harness again, so the reference is
        // measured within a minute of what it is compared with on this shared, noisy machine.
        Map<String, double[]> before = new LinkedHashMap<>();
        Map<String, double[]> after = new LinkedHashMap<>();
        Map<String, Map<String, double[]>> jvm = new LinkedHashMap<>(); // method -> backend -> {median, min, max}
        boolean runJmh = Boolean.parseBoolean(opt.getOrDefault("jmh", "true"));
        for (Map.Entry<String, String> op : NATIVE_NAME.entrySet()) {
            before.putAll(runHarness(harness, file, rounds, op.getValue()));
            if (runJmh) {
                jvm.putAll(runJmh(op.getKey(), opt, file));
            }
            after.putAll(runHarness(harness, file, rounds, op.getValue()));
        }
        // CPU time: each backend in a JVM of its own (CpuTimeProbe), against the harness's CPU figures
        Map<String, Map<String, double[]>> cpu = new LinkedHashMap<>();
        for (String op : NATIVE_NAME.keySet()) {
            for (String backend : BACKENDS) {
                if (!(op.equals("noop") && backend.equals("nio"))) {
                    cpu.computeIfAbsent(op, k -> new TreeMap<>()).put(backend, cpuProbe(backend, op, rounds, file));
                }
            }
        }
        System.out.println();
        if (runJmh) {
            System.out.println(table("Binding overhead, wall-clock ns per operation", jvm, before, after, 0, file,
                    "JVM: median of the JMH iterations [min-max]"));
        }
        System.out.println(table("Binding overhead, CPU ns per operation", cpu, before, after, 3, file,
                "JVM: median of CpuTimeProbe rounds (thread CPU time, one JVM per backend) [min-max]"));
    }

    private static Map<String, Map<String, double[]>> runJmh(String method, Map<String, String> opt, Path file)
            throws Exception {
        Options jmh = new OptionsBuilder()
                .include(Pattern.quote(BindingOverheadBenchmark.class.getName() + "." + method) + "$")
                .forks(1)
                .warmupIterations(Integer.parseInt(opt.getOrDefault("warmups", "2")))
                .warmupTime(TimeValue.seconds(Long.parseLong(opt.getOrDefault("seconds", "1"))))
                .measurementIterations(Integer.parseInt(opt.getOrDefault("iterations", "3")))
                .measurementTime(TimeValue.seconds(Long.parseLong(opt.getOrDefault("seconds", "1"))))
                .timeUnit(TimeUnit.NANOSECONDS)
                .jvmArgsAppend("--enable-native-access=ALL-UNNAMED", "-Dspillway.bench.file=" + file)
                .build();
        Map<String, Map<String, double[]>> out = new LinkedHashMap<>();
        for (RunResult r : runWhenLockFree(jmh)) {
            String backend = r.getParams().getParam("binding") != null ? r.getParams().getParam("binding")
                    : r.getParams().getParam("backend");
            // median of the measurement iterations, as the harness reports the median of its rounds:
            // on a shared 2-core machine one preempted iteration must not move the figure
            double[] it = r.getBenchmarkResults().stream()
                    .flatMap(br -> br.getIterationResults().stream())
                    .mapToDouble(ir -> ir.getPrimaryResult().getScore()).sorted().toArray();
            out.computeIfAbsent(method, k -> new TreeMap<>()).put(backend,
                    new double[] {median(it), it[0], it[it.length - 1]});
        }
        return out;
    }

    /**
     * JMH allows one run per machine (/tmp/jmh.lock). Others share this machine and run JMH too; wait
     * for the lock (up to ten minutes) instead of giving up or overriding it and disturbing both runs.
     */
    private static Collection<RunResult> runWhenLockFree(Options jmh) throws Exception {
        for (int attempt = 0; ; attempt++) {
            try {
                return new Runner(jmh).run();
            } catch (RunnerException e) {
                if (attempt >= 60 || e.getMessage() == null || !e.getMessage().contains("JMH lock")) {
                    throw e;
                }
                System.out.println("another JMH run holds /tmp/jmh.lock; waiting 10 s");
                Thread.sleep(10_000);
            }
        }
    }

    private static final Pattern CPU = Pattern.compile("cpu_median=([0-9.]+) cpu_min=([0-9.]+) cpu_max=([0-9.]+)");

    private static double[] cpuProbe(String backend, String op, int rounds, Path file) throws Exception {
        List<String> cmd = List.of(Path.of(System.getProperty("java.home"), "bin", "java").toString(),
                "--enable-native-access=ALL-UNNAMED", "-Dspillway.bench.file=" + file, "-cp",
                System.getProperty("java.class.path"), CpuTimeProbe.class.getName(), backend, op,
                Integer.toString(rounds));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        Matcher m = CPU.matcher(out);
        if (p.waitFor() != 0 || !m.find()) {
            throw new IllegalStateException("CpuTimeProbe " + backend + " " + op + " failed:\n" + out);
        }
        System.out.printf(Locale.ROOT, "cpu probe %s %s: %s%n", op, backend, m.group());
        return new double[] {Double.parseDouble(m.group(1)), Double.parseDouble(m.group(2)),
            Double.parseDouble(m.group(3))};
    }

    /** One Markdown table; {@code at} picks the harness's wall (0) or CPU (3) figures. */
    static String table(String title, Map<String, Map<String, double[]>> jvm, Map<String, double[]> before,
            Map<String, double[]> after, int at, Path file, String jvmNote) {
        StringBuilder sb = new StringBuilder();
        sb.append(title).append(" (ratio to the native harness; lower is better); file ").append(file).append('\n');
        sb.append("native: mean of the harness medians just before and after [min-max over all rounds]; ")
                .append(jvmNote).append("; ratio of the medians\n\n");
        sb.append("| operation | native (C) |");
        BACKENDS.forEach(b -> sb.append(' ').append(b).append(" |"));
        sb.append("\n|---|---|");
        BACKENDS.forEach(b -> sb.append("---|"));
        sb.append('\n');
        for (Map.Entry<String, String> e : NATIVE_NAME.entrySet()) {
            double[] b = before.get(e.getValue());
            double[] a = after.get(e.getValue());
            if (b == null || a == null) {
                continue;
            }
            double ref = (b[at] + a[at]) / 2;
            sb.append("| ").append(e.getKey()).append(" | ").append(String.format(Locale.ROOT, "%s [%s-%s]", fmt(ref),
                    fmt(Math.min(b[at + 1], a[at + 1])), fmt(Math.max(b[at + 2], a[at + 2])))).append(" |");
            Map<String, double[]> row = jvm.getOrDefault(e.getKey(), Map.of());
            for (String backend : BACKENDS) {
                double[] s = row.get(backend);
                sb.append(' ').append(s == null ? "n/a" : String.format(Locale.ROOT, "%s [%s-%s] (%.2fx)", fmt(s[0]),
                        fmt(s[1]), fmt(s[2]), s[0] / ref)).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static double median(double[] sorted) {
        int n = sorted.length;
        return n % 2 == 1 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
    }

    private static String fmt(double ns) {
        return ns >= 100 ? String.format(Locale.ROOT, "%.0f", ns) : String.format(Locale.ROOT, "%.2f", ns);
    }

    /** name -> {wall median, min, max, CPU median, min, max} from the harness's JSON. */
    static Map<String, double[]> runHarness(Path harness, Path file, int rounds, String only)
            throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>(List.of(harness.toString(), "--file", file.toString(), "--rounds",
                Integer.toString(rounds), "--data", "csv", "--only", only));
        Process p = new ProcessBuilder(cmd).redirectError(ProcessBuilder.Redirect.INHERIT).start();
        String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed with exit code " + p.exitValue());
        }
        System.out.println("native harness: " + String.join(" ", cmd));
        return parse(json);
    }

    private static final Pattern ROW = Pattern.compile(
            "\\{\"name\": \"([a-z0-9_]+)\"[^}]*?\"median\": ([0-9.]+), \"min\": ([0-9.]+), \"max\": ([0-9.]+)"
                    + "[^}]*?\"cpu_median\": ([0-9.]+), \"cpu_min\": ([0-9.]+), \"cpu_max\": ([0-9.]+)");

    static Map<String, double[]> parse(String json) {
        Map<String, double[]> out = new LinkedHashMap<>();
        Matcher m = ROW.matcher(json);
        while (m.find()) {
            double[] v = new double[6];
            for (int g = 0; g < 6; g++) {
                v[g] = Double.parseDouble(m.group(g + 2));
            }
            out.put(m.group(1), v); // wall median, min, max; CPU median, min, max
        }
        if (out.isEmpty()) {
            throw new IllegalStateException("no results in the harness output:\n" + json);
        }
        return out;
    }

    /** build/native/spw_bench under the first directory upwards from here that has a CMakeLists.txt. */
    private static Path findHarness() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve("CMakeLists.txt"))) {
                Path h = d.resolve("build/native/spw_bench");
                if (Files.isExecutable(h)) {
                    return h;
                }
                throw new IllegalStateException(h + " is missing: cmake --build build/native --target spw_bench");
            }
        }
        throw new IllegalStateException("spw_bench not found: pass --native PATH");
    }
}
