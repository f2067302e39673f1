package dev.spillway.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.eviction.OptimalReplay;
import dev.spillway.eviction.TraceReader;
import dev.spillway.eviction.TraceReplay;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.stream.Collectors;
import java.util.stream.Stream;

/**
 * Hit ratio of every eviction policy, of Caffeine (W-TinyLFU, the reference) and of Belady's
 * optimum, on the LIRS traces and on synthetic zipf, scan and loop workloads, at several cache
 * sizes each, all in one run. Prints a Markdown table and checks the default policy's goals
 * (never more than 1 point below LRU; on gli, loop and multi1 at least as good as Caffeine).
 *
 * <p>Run from the repository root (the table in {@code docs/eviction.md} comes from this command):
 * <pre>
 * export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64 MAVEN_OPTS=--sun-misc-unsafe-memory-access=allow
 * mvn -q -o -pl java/core,java/bench -am package -DskipTests
 * $JAVA_HOME/bin/java -cp java/bench/target/benchmarks.jar dev.spillway.bench.PolicyComparison ../shared/traces
 * </pre>
 * Options: {@code --policies a,b,c} (default: every policy, then caffeine and optimal),
 * {@code --threads n} (default 2), {@code --no-synthetic}.
 *
 * <p>The same policy classes drive the buffer pool; Caffeine is a dependency of this module only.
 */
public final class PolicyComparison {
    /** Column names for the two references that are not {@link EvictionPolicies} names. */
    public static final String CAFFEINE = "caffeine";
    public static final String OPTIMAL = "optimal";

    /** Cache sizes as fractions of a workload's distinct keys when none are given. */
    static final double[] DEFAULT_FRACTIONS = {0.05, 0.10, 0.25, 0.50, 0.75};

    /** A key stream to replay and the cache sizes (entries) to replay it at. */
    public record Workload(String name, long[] keys, int[] sizes) {
        public long distinctKeys() {
            return Arrays.stream(keys).distinct().count();
        }
    }

    /** One table row: a workload at one size, with the hit ratio (0..1) per column in column order. */
    public record Row(String workload, int size, long requests, Map<String, Double> hitRatio) {}

    private PolicyComparison() {}

    /**
     * Replays each trace file at each of {@code sizes} through each of {@code policies} (policy
     * names, or {@link #CAFFEINE} / {@link #OPTIMAL}); the entry point a CLI reuses.
     */
    public static List<Row> run(List<Path> traces, List<String> policies, int[] sizes) throws IOException {
        List<Workload> workloads = new ArrayList<>();
        for (Path trace : traces) {
            workloads.add(new Workload(traceName(trace), TraceReader.read(trace), sizes));
        }
        return run(workloads, policies, 1);
    }

    /** Replays every workload at each of its sizes through every column, on {@code threads} threads. */
    public static List<Row> run(List<Workload> workloads, List<String> columns, int threads) {
        for (String c : columns) {
            if (!c.equals(CAFFEINE) && !c.equals(OPTIMAL)) {
                EvictionPolicies.create(c, 1); // an unknown name fails here, before any work
            }
        }
        ExecutorService pool = Executors.newFixedThreadPool(Math.max(1, threads));
        try {
            List<Future<Double>> cells = new ArrayList<>();
            for (Workload w : workloads) {
                for (int size : w.sizes()) {
                    for (String c : columns) {
                        cells.add(pool.submit(() -> hitRatio(w.keys(), c, size)));
                    }
                }
            }
            List<Row> rows = new ArrayList<>();
            int i = 0;
            for (Workload w : workloads) {
                for (int size : w.sizes()) {
                    Map<String, Double> ratios = new LinkedHashMap<>();
                    for (String c : columns) {
                        ratios.put(c, cells.get(i++).get());
                    }
                    rows.add(new Row(w.name(), size, w.keys().length, ratios));
                }
            }
            return rows;
        } catch (InterruptedException e) {
            Thread.currentThread().interrupt();
            throw new IllegalStateException("interrupted", e);
        } catch (java.util.concurrent.ExecutionException e) {
            throw new IllegalStateException("replay failed: " + e.getCause(), e.getCause());
        } finally {
            pool.shutdownNow();
        }
    }

    /** The hit ratio of one column on one key stream at one size. */
    public static double hitRatio(long[] keys, String column, int size) {
        switch (column) {
            case OPTIMAL:
                return OptimalReplay.replay(keys, size).hitRatio();
            case CAFFEINE:
                return caffeineHits(keys, size) / (double) Math.max(1, keys.length);
            default:
                return TraceReplay.replay(keys, EvictionPolicies.create(column, size), size).hitRatio();
        }
    }

    /**
     * Caffeine as a user drives it: look up, and on a miss put. Maintenance runs on the calling
     * thread ({@code executor(Runnable::run)}); {@code cleanUp()} after each put drains Caffeine's
     * read buffer so the reference sees (nearly) every hit in order, as our policies do.
     */
    static long caffeineHits(long[] keys, int size) {
        Cache<Long, Boolean> cache = Caffeine.newBuilder().maximumSize(size).executor(Runnable::run).build();
        long hits = 0;
        for (long k : keys) {
            Long key = k;
            if (cache.getIfPresent(key) != null) {
                hits++;
            } else {
                cache.put(key, Boolean.TRUE);
                cache.cleanUp();
            }
        }
        return hits;
    }

    // ---------------------------------------------------------------- workloads

    static String traceName(Path trace) {
        String file = trace.getFileName().toString();
        return file.replaceFirst("\\.gz$", "").replaceFirst("\\.trace$", "");
    }

    static int[] sizesFor(long distinct, double[] fractions) {
        return Arrays.stream(fractions).mapToInt(f -> (int) Math.max(1, Math.round(f * distinct))).distinct().toArray();
    }

    /** Every {@code *.trace.gz} / {@code *.trace} file in {@code folder}, sorted by name. */
    static List<Path> tracesIn(Path folder) throws IOException {
        if (!Files.isDirectory(folder)) {
            throw new IllegalArgumentException("trace folder " + folder.toAbsolutePath().normalize()
                    + " does not exist (pass the folder as the first argument)");
        }
        try (Stream<Path> files = Files.list(folder)) {
            List<Path> traces = files.filter(p -> p.getFileName().toString().matches(".*\\.trace(\\.gz)?"))
                    .sorted().collect(Collectors.toList());
            if (traces.isEmpty()) {
                throw new IllegalArgumentException("no *.trace or *.trace.gz files in " + folder);
            }
            return traces;
        }
    }

    /** Zipf(alpha) over {@code n} keys: rank r is drawn with probability proportional to 1/r^alpha. */
    static long[] zipf(int n, double alpha, int requests, long seed) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int r = 0; r < n; r++) {
            sum += 1 / Math.pow(r + 1, alpha);
            cdf[r] = sum;
        }
        SplittableRandom rnd = new SplittableRandom(seed);
        long[] keys = new long[requests];
        for (int i = 0; i < requests; i++) {
            int r = Arrays.binarySearch(cdf, rnd.nextDouble() * sum);
            keys[i] = r >= 0 ? r : Math.min(n - 1, -r - 1);
        }
        return keys;
    }

    /**
     * Zipf traffic interrupted every {@code period} requests by one sequential scan of
     * {@code scanLength} keys outside the zipf range (the same range each time, like a table scan).
     */
    static long[] zipfWithScans(int n, double alpha, int requests, int period, int scanLength, long seed) {
        long[] hot = zipf(n, alpha, requests, seed);
        long[] keys = new long[requests + (requests / period) * scanLength];
        int out = 0;
        for (int i = 0; i < requests; i++) {
            keys[out++] = hot[i];
            if ((i + 1) % period == 0) {
                for (int s = 0; s < scanLength; s++) {
                    keys[out++] = n + s;
                }
            }
        }
        return Arrays.copyOf(keys, out);
    }

    /** A cyclic scan of {@code n} keys, {@code rounds} times. */
    static long[] loop(int n, int rounds) {
        long[] keys = new long[n * rounds];
        for (int i = 0; i < keys.length; i++) {
            keys[i] = i % n;
        }
        return keys;
    }

    static List<Workload> synthetic() {
        List<Workload> w = new ArrayList<>();
        w.add(withDefaultSizes("zipf-0.8-100k", zipf(100_000, 0.8, 400_000, 1)));
        w.add(withDefaultSizes("zipf-1.0-10k", zipf(10_000, 1.0, 200_000, 2)));
        w.add(withDefaultSizes("zipf-0.9+scans", zipfWithScans(10_000, 0.9, 200_000, 20_000, 6_000, 3)));
        w.add(withDefaultSizes("synthetic-loop", loop(5_000, 20)));
        return w;
    }

    static Workload withDefaultSizes(String name, long[] keys) {
        long distinct = Arrays.stream(keys).distinct().count();
        return new Workload(name, keys, sizesFor(distinct, DEFAULT_FRACTIONS));
    }

    // ---------------------------------------------------------------- output

    /** The rows as a Markdown table: workload, size, then hit % per column (two decimals). */
    public static String toMarkdown(List<Row> rows) {
        if (rows.isEmpty()) {
            return "";
        }
        List<String> columns = new ArrayList<>(rows.get(0).hitRatio().keySet());
        StringBuilder sb = new StringBuilder();
        sb.append("| workload | size |");
        columns.forEach(c -> sb.append(' ').append(c).append(" |"));
        sb.append("\n| --- | ---: |");
        columns.forEach(c -> sb.append(" ---: |"));
        sb.append('\n');
        for (Row r : rows) {
            sb.append("| ").append(r.workload()).append(" | ").append(r.size()).append(" |");
            for (String c : columns) {
                sb.append(' ').append(percent(r.hitRatio().get(c))).append(" |");
            }
            sb.append('\n');
        }
        return sb.toString();
    }

    static String percent(double ratio) {
        return String.format(Locale.ROOT, "%.2f", 100 * ratio);
    }

    /** The workloads on which the default must match Caffeine (the scan-heavy LIRS traces). */
    static final List<String> SCAN_HEAVY = List.of("gli", "loop", "multi1");

    /** Checks the default's goals on every row that has the needed columns; one line per miss. */
    static List<String> goalMisses(List<Row> rows, String policy) {
        List<String> misses = new ArrayList<>();
        for (Row r : rows) {
            Double p = r.hitRatio().get(policy);
            Double lru = r.hitRatio().get("lru");
            Double caffeine = r.hitRatio().get(CAFFEINE);
            if (p == null) {
                continue;
            }
            if (lru != null && 100 * (lru - p) > 1.0) {
                misses.add(String.format(Locale.ROOT, "%s at %d: %s %s%% is %.2f points below lru %s%%",
                        r.workload(), r.size(), policy, percent(p), 100 * (lru - p), percent(lru)));
            }
            if (caffeine != null && SCAN_HEAVY.contains(r.workload()) && p < caffeine) {
                misses.add(String.format(Locale.ROOT, "%s at %d: %s %s%% is below caffeine %s%%",
                        r.workload(), r.size(), policy, percent(p), percent(caffeine)));
            }
        }
        return misses;
    }

    /**
     * One line per policy column: how often it is more than 1 point below LRU, how often below
     * Caffeine on the scan-heavy traces, its worst gap to LRU, and its mean hit ratio over all rows.
     */
    static String goalSummary(List<Row> rows) {
        List<String> columns = new ArrayList<>(rows.get(0).hitRatio().keySet());
        StringBuilder sb = new StringBuilder();
        sb.append("| policy | cells > 1 point below lru | scan-heavy cells below caffeine | worst vs lru | mean hit % |\n");
        sb.append("| --- | ---: | ---: | ---: | ---: |\n");
        for (String c : columns) {
            if (c.equals(OPTIMAL)) {
                continue;
            }
            int belowLru = 0;
            int belowCaffeine = 0;
            double worst = Double.POSITIVE_INFINITY;
            double sum = 0;
            for (Row r : rows) {
                double p = r.hitRatio().get(c);
                sum += p;
                Double lru = r.hitRatio().get("lru");
                Double caffeine = r.hitRatio().get(CAFFEINE);
                if (lru != null) {
                    worst = Math.min(worst, 100 * (p - lru));
                    if (100 * (lru - p) > 1.0) {
                        belowLru++;
                    }
                }
                if (caffeine != null && SCAN_HEAVY.contains(r.workload()) && p < caffeine) {
                    belowCaffeine++;
                }
            }
            sb.append(String.format(Locale.ROOT, "| %s | %d | %d | %+.2f | %.2f |%n", c, belowLru, belowCaffeine,
                    worst == Double.POSITIVE_INFINITY ? 0 : worst, 100 * sum / rows.size()));
        }
        return sb.toString();
    }

    public static void main(String[] args) throws IOException {
        Path folder = Path.of("../shared/traces");
        List<String> policies = null;
        int threads = 2;
        boolean synthetic = true;
        for (int i = 0; i < args.length; i++) {
            switch (args[i]) {
                case "--policies" -> policies = List.of(args[++i].split(","));
                case "--threads" -> threads = Integer.parseInt(args[++i]);
                case "--no-synthetic" -> synthetic = false;
                default -> {
                    if (args[i].startsWith("--")) {
                        throw new IllegalArgumentException("unknown option " + args[i]
                                + "; usage: PolicyComparison [trace-folder] [--policies a,b] [--threads n] [--no-synthetic]");
                    }
                    folder = Path.of(args[i]);
                }
            }
        }
        if (policies == null) {
            policies = new ArrayList<>(EvictionPolicies.names());
            policies.add(CAFFEINE);
            policies.add(OPTIMAL);
        }
        long start = System.nanoTime();
        List<Workload> workloads = new ArrayList<>();
        for (Path trace : tracesIn(folder)) {
            workloads.add(withDefaultSizes(traceName(trace), TraceReader.read(trace)));
        }
        if (synthetic) {
            workloads.addAll(synthetic());
        }
        List<Row> rows = run(workloads, policies, threads);
        System.out.print(toMarkdown(rows));
        System.out.println();
        System.out.print(goalSummary(rows));
        System.out.println();
        String def = EvictionPolicies.DEFAULT;
        List<String> misses = goalMisses(rows, def);
        System.out.printf(Locale.ROOT, "Default policy: %s. Goals: never more than 1 point below lru; "
                + "on %s at least caffeine.%n", def, String.join(", ", SCAN_HEAVY));
        if (misses.isEmpty()) {
            System.out.println("All goals met in every row.");
        } else {
            System.out.println("Goal missed in " + misses.size() + " cell(s):");
            misses.forEach(m -> System.out.println("- " + m));
        }
        System.out.printf(Locale.ROOT, "%nSizes are 5%%, 10%%, 25%%, 50%%, 75%% of each workload's distinct keys. "
                + "%d rows in %.1f s on %d thread(s).%n", rows.size(), (System.nanoTime() - start) / 1e9, threads);
    }
}
