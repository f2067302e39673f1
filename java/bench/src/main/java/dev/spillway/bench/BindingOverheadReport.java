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
 *     [--iterations 3] [--seconds 1] [--warmups 2]
 * </pre>
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
        for (Map.Entry<String, String> op : NATIVE_NAME.entrySet()) {
            before.putAll(runHarness(harness, file, rounds, op.getValue()));
            Options jmh = new OptionsBuilder()
                    .include(Pattern.quote(BindingOverheadBenchmark.class.getName() + "." + op.getKey()) + "$")
                    .forks(1)
                    .warmupIterations(Integer.parseInt(opt.getOrDefault("warmups", "2")))
                    .warmupTime(TimeValue.seconds(Long.parseLong(opt.getOrDefault("seconds", "1"))))
                    .measurementIterations(Integer.parseInt(opt.getOrDefault("iterations", "3")))
                    .measurementTime(TimeValue.seconds(Long.parseLong(opt.getOrDefault("seconds", "1"))))
                    .timeUnit(TimeUnit.NANOSECONDS)
                    .jvmArgsAppend("--enable-native-access=ALL-UNNAMED", "-Dspillway.bench.file=" + file)
                    .build();
            Collection<RunResult> results = new Runner(jmh).run();
            after.putAll(runHarness(harness, file, rounds, op.getValue()));
            for (RunResult r : results) {
                String backend = r.getParams().getParam("binding") != null ? r.getParams().getParam("binding")
                        : r.getParams().getParam("backend");
                // median of the measurement iterations, as the harness reports the median of its rounds:
                // on a shared 2-core machine one preempted iteration must not move the figure
                double[] it = r.getBenchmarkResults().stream()
                        .flatMap(br -> br.getIterationResults().stream())
                        .mapToDouble(ir -> ir.getPrimaryResult().getScore()).sorted().toArray();
                jvm.computeIfAbsent(op.getKey(), k -> new TreeMap<>()).put(backend,
                        new double[] {median(it), it[0], it[it.length - 1]});
            }
        }
        System.out.println();
        System.out.println(table(jvm, before, after, file));
    }

    static String table(Map<String, Map<String, double[]>> jvm, Map<String, double[]> before,
            Map<String, double[]> after, Path file) {
        StringBuilder sb = new StringBuilder();
        sb.append("Binding overhead, ns per operation (ratio to the native harness, lower is better); file ")
                .append(file).append('\n');
        sb.append("native: mean of the harness medians before/after the JMH run [min-max over all rounds]; ")
                .append("JVM: median of the JMH iterations [min-max] (ratio of the medians)\n\n");
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
            double ref = (b[0] + a[0]) / 2;
            sb.append("| ").append(e.getKey()).append(" | ")
                    .append(String.format(Locale.ROOT, "%s [%s-%s]", fmt(ref), fmt(Math.min(b[1], a[1])),
                            fmt(Math.max(b[2], a[2]))))
                    .append(" |");
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

    /** name -> {median, min, max} from the harness's JSON. */
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
            "\\{\"name\": \"([a-z0-9_]+)\"[^}]*?\"median\": ([0-9.]+), \"min\": ([0-9.]+), \"max\": ([0-9.]+)");

    static Map<String, double[]> parse(String json) {
        Map<String, double[]> out = new LinkedHashMap<>();
        Matcher m = ROW.matcher(json);
        while (m.find()) {
            out.put(m.group(1), new double[] {Double.parseDouble(m.group(2)), Double.parseDouble(m.group(3)),
                    Double.parseDouble(m.group(4))});
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
