package dev.spillway.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;

/**
 * Runs JMH benchmarks as a child JVM ({@code java -cp <this jar> org.openjdk.jmh.Main … -rf json})
 * and reads the JSON it writes. A child process rather than JMH's Runner API in this JVM: JMH's
 * console output goes to a log file in the report folder instead of interleaving with ours, the
 * JSON stays there as the raw data behind the tables, and the parsing is testable on recorded
 * output. The class path is this JVM's own: the CLI jar carries spillway-bench with its generated
 * {@code META-INF/BenchmarkList}, so no second jar has to be found.
 */
final class Jmh {
    /** One benchmark's result: method name (no class), parameters, threads, unit and per-iteration scores. */
    record Result(String method, Map<String, String> params, int threads, String unit, double[] iterations) {
        String param(String name) {
            return params.get(name);
        }
    }

    private Jmh() {
    }

    /** The command that runs the benchmarks matching {@code include} and writes {@code json}. */
    static List<String> command(String include, List<String> options, Path json) {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.add("--enable-native-access=ALL-UNNAMED");
        cmd.add("-cp");
        cmd.add(System.getProperty("java.class.path"));
        cmd.add("org.openjdk.jmh.Main");
        cmd.add(include);
        cmd.addAll(options);
        cmd.addAll(List.of("-rf", "json", "-rff", json.toString()));
        return cmd;
    }

    /** How often and how long to wait for another JMH run's lock: up to ten minutes, as BindingOverheadReport does. */
    static final int LOCK_ATTEMPTS = 60;
    static final long LOCK_WAIT_MS = 10_000;

    /**
     * Runs JMH with its console output in {@code log}; fails with the log's tail if JMH fails. JMH
     * allows one run per machine ({@code /tmp/jmh.lock}); people sharing this machine run JMH too,
     * so a held lock is waited for (a line on {@code progress} each time) rather than overridden,
     * which would disturb both runs.
     */
    static List<Result> run(List<String> cmd, Path json, Path log, PrintStream progress)
            throws IOException, InterruptedException {
        int rc;
        for (int attempt = 0; ; attempt++) {
            Process p = new ProcessBuilder(cmd).redirectErrorStream(true).redirectOutput(log.toFile()).start();
            rc = p.waitFor();
            if (rc == 0 || attempt >= LOCK_ATTEMPTS || !Files.readString(log).contains("Unable to acquire the JMH lock")) {
                break;
            }
            progress.println("  another JMH run holds /tmp/jmh.lock; waiting 10 s");
            Thread.sleep(LOCK_WAIT_MS);
        }
        if (rc != 0 || !Files.exists(json)) {
            List<String> lines = Files.readAllLines(log);
            throw new IllegalStateException("JMH failed (exit " + rc + "), see " + log + ": "
                    + String.join(" | ", lines.subList(Math.max(0, lines.size() - 3), lines.size())));
        }
        List<Result> r = parse(Files.readString(json));
        if (r.isEmpty()) {
            throw new IllegalStateException("JMH ran no benchmark (see " + log + ")");
        }
        return r;
    }

    /** JMH's {@code -rf json}: an array of benchmark results; the iteration scores are primaryMetric.rawData. */
    @SuppressWarnings("unchecked")
    static List<Result> parse(String json) {
        List<Result> out = new ArrayList<>();
        for (Object o : (List<Object>) JsonReader.parse(json)) {
            Map<String, Object> b = (Map<String, Object>) o;
            String name = (String) b.get("benchmark");
            Map<String, String> params = new LinkedHashMap<>();
            Object ps = b.get("params");
            if (ps instanceof Map<?, ?> m) {
                m.forEach((k, v) -> params.put((String) k, String.valueOf(v)));
            }
            Map<String, Object> pm = (Map<String, Object>) b.get("primaryMetric");
            List<Double> its = new ArrayList<>();
            for (Object fork : (List<Object>) pm.get("rawData")) {
                for (Object v : (List<Object>) fork) {
                    its.add((Double) v);
                }
            }
            if (its.isEmpty()) {
                throw new IllegalArgumentException("JMH result " + name + " has no iterations");
            }
            out.add(new Result(name.substring(name.lastIndexOf('.') + 1), params,
                    ((Double) b.get("threads")).intValue(), (String) pm.get("scoreUnit"),
                    its.stream().mapToDouble(Double::doubleValue).toArray()));
        }
        return out;
    }

    /** The one result of {@code method} whose parameters include {@code param=value} (value null: any). */
    static Result find(List<Result> results, String method, String param, String value) {
        for (Result r : results) {
            if (r.method().equals(method) && (value == null || value.equals(r.param(param)))) {
                return r;
            }
        }
        return null;
    }
}
