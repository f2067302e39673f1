package dev.spillway.cli;

import dev.spillway.bench.MissPathBenchmark;
import dev.spillway.bench.PolicyComparison;
import dev.spillway.eviction.EvictionPolicies;
import java.time.Instant;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;

/**
 * Turns {@link BenchReport.Measurements} into the Markdown report and its PNG plots. Every ratio
 * is computed per round (a round of one side against the same round of its reference) and given as
 * the median with the range of those per-round ratios.
 */
final class ReportWriter {
    /** JMH method of BindingOverheadBenchmark → the harness result doing the same operation in C. */
    static final Map<String, String> BINDING_NATIVE = new LinkedHashMap<>();

    static {
        BINDING_NATIVE.put("noop", "noop");
        BINDING_NATIVE.put("pread4kCached", "pread_4k_cached");
        BINDING_NATIVE.put("pread4kDirect", "pread_4k_direct_t1");
        BINDING_NATIVE.put("spillRoundTrip256k", "spill_roundtrip_256k_csv");
    }

    static final List<String> BACKENDS = List.of("jni", "ffm", "jna", "nio");

    /** Median and range of a set of values (rounds, iterations, or per-round ratios). */
    record Spread(double median, double min, double max, int n) {
        static Spread of(double[] v) {
            if (v == null || v.length == 0) {
                return null;
            }
            double[] s = v.clone();
            Arrays.sort(s);
            int n = s.length;
            double med = n % 2 == 1 ? s[n / 2] : (s[n / 2 - 1] + s[n / 2]) / 2;
            return new Spread(med, s[0], s[n - 1], n);
        }

        String ratio() {
            return String.format(Locale.ROOT, "%.2f (%.2f–%.2f)", median, min, max);
        }

        String value(String fmt) {
            return String.format(Locale.ROOT, fmt + " (" + fmt + "–" + fmt + ")", median, min, max);
        }
    }

    /** a[i] / b[i] for each round both have: the drift of a noisy machine cancels within a round. */
    static double[] paired(double[] a, double[] b) {
        if (a == null || b == null) {
            return null;
        }
        int n = Math.min(a.length, b.length);
        double[] r = new double[n];
        for (int i = 0; i < n; i++) {
            r[i] = a[i] / b[i];
        }
        return r;
    }

    /** a[i] over the largest of the references' round i: "the faster of". */
    static double[] pairedBest(double[] a, double[]... refs) {
        if (a == null || Arrays.stream(refs).anyMatch(x -> x == null)) {
            return null;
        }
        int n = a.length;
        for (double[] r : refs) {
            n = Math.min(n, r.length);
        }
        double[] out = new double[n];
        for (int i = 0; i < n; i++) {
            double best = 0;
            for (double[] r : refs) {
                best = Math.max(best, r[i]);
            }
            out[i] = a[i] / best;
        }
        return out;
    }

    /** A goal row: what is compared, the per-round ratios, the target median. */
    record Goal(String goal, String comparison, double[] ratios, double target, String missing) {
        Spread spread() {
            return Spread.of(ratios);
        }

        /** "yes", "no", or "not measured". */
        String verdict() {
            Spread s = spread();
            if (s == null) {
                return "not measured";
            }
            return s.median() >= target ? "yes" : "**no**";
        }
    }

    private ReportWriter() {
    }

    static String markdown(BenchReport.Settings s, BenchReport.Measurements m, String machine, double seconds) {
        StringBuilder md = new StringBuilder();
        md.append("# Spillway benchmark report\n\n");
        md.append(String.format(Locale.ROOT, "Generated %s, mode `%s`, in %.0f s.%n%n", Instant.now().toString()
                .replaceFirst("\\.\\d+Z$", "Z"), s.mode(), seconds));
        md.append("Command: `").append(s.command()).append("`");
        ProcessHandle.current().info().commandLine().ifPresent(c -> md.append(" (JVM: `").append(c).append("`)"));
        md.append("\n\n");
        md.append("Every comparison is a ratio against its reference **measured in the same run** "
                + "(shared/BENCHMARKS.md): Spillway's speed over the reference's, so 1.00 is as fast and more is faster. "
                + "A ratio is computed per round (or JMH iteration) against the same round of its reference and given as "
                + "**median (min–max)** over the rounds. Absolute figures are medians with their range; on this shared, "
                + "noisy machine only the ratios are meant to be compared between runs.\n\n");
        md.append("## Machine\n\n").append(machine).append('\n');

        List<Goal> goals = goals(m);
        md.append("## Goals\n\n| goal | comparison | measured: median (min–max) | target | met |\n"
                + "| --- | --- | ---: | ---: | :---: |\n");
        for (Goal g : goals) {
            Spread sp = g.spread();
            md.append("| ").append(g.goal()).append(" | ").append(g.comparison()).append(" | ")
                    .append(sp == null ? "— (" + g.missing() + ")" : sp.ratio()).append(" | ")
                    .append(String.format(Locale.ROOT, "≥ %.2f", g.target())).append(" | ").append(g.verdict())
                    .append(" |\n");
        }
        md.append('\n');

        hitPath(md, s, m);
        missPath(md, s, m);
        spill(md, s, m);
        bindings(md, s, m);
        hitRatios(md, s, m);

        md.append("## How it was run\n\n");
        md.append("| step | seconds | result |\n| --- | ---: | --- |\n");
        m.seconds.forEach((k, v) -> md.append(String.format(Locale.ROOT, "| %s | %.0f | %s |%n", k, v,
                shorten(m.failures.getOrDefault(k, "ok")))));
        m.failures.forEach((k, v) -> {
            if (!m.seconds.containsKey(k)) {
                md.append("| ").append(k).append(" | — | ").append(shorten(v)).append(" |\n");
            }
        });
        md.append("\nLoad average at the end: ").append(BenchReport.loadAverage()).append(" (")
                .append(Runtime.getRuntime().availableProcessors()).append(" cores; other people's work on this "
                + "machine runs beside the benchmarks).\n");
        md.append("\nCommands run by the steps (JMH's console output and JSON are beside this report):\n\n```\n");
        m.commands.forEach(c -> md.append(c).append('\n'));
        md.append("```\n");
        return md.toString();
    }

    /** The goals of the issue, each from the same-run ratios (one row per thread count / data set / key stream). */
    static List<Goal> goals(BenchReport.Measurements m) {
        List<Goal> g = new ArrayList<>();
        for (String keys : List.of("zipf", "uniform")) {
            for (int t : List.of(1, 2)) {
                g.add(new Goal("pin+unpin ≥ Caffeine", keys + " keys, " + t + " thread" + (t > 1 ? "s" : "")
                        + ": Caffeine getIfPresent ns / pin+unpin ns",
                        hitRatio(m, "caffeineGetIfPresent_" + t + "t", keys, t), BenchReport.HIT_GOAL,
                        missing(m, "hit path (JMH)")));
            }
        }
        for (int t : List.of(1, 2)) {
            g.add(new Goal("misses ≥ 90% of the native harness", t + " thread" + (t > 1 ? "s" : "")
                    + ": pool pins/s / spw_bench O_DIRECT reads/s", missRatio(m, MissPathBenchmark.NATIVE, t),
                    BenchReport.MISS_GOAL, missing(m, "miss path")));
        }
        for (String kind : List.of("csv", "random")) {
            g.add(new Goal("spill ≥ 85% of the native harness", kind + ": pool L1 / spw_bench fused L1, write+read MB/s",
                    spill(m, kind, "pool L1 write+read", "native fused L1 write+read"), BenchReport.SPILL_GOAL,
                    missing(m, "spill")));
        }
        for (String kind : List.of("csv", "random")) {
            double[] ratios = m.spill == null ? null : pairedBest(m.spill.mbps().get(kind + " pool adaptive write+read"),
                    m.spill.mbps().get(kind + " pool none write+read"), m.spill.mbps().get(kind + " pool L1 write+read"));
            g.add(new Goal("adaptive level ≥ 90% of the faster of raw and compressed",
                    kind + ": pool adaptive / max(pool none, pool L1), write+read MB/s", ratios, BenchReport.ADAPTIVE_GOAL,
                    missing(m, "spill")));
        }
        return g;
    }

    private static String missing(BenchReport.Measurements m, String step) {
        String f = m.failures.get(step);
        if (f == null) {
            return "no reference in this run";
        }
        return f.startsWith("not run") ? f : "the " + step + " step failed, see below";
    }

    private static double[] hitRatio(BenchReport.Measurements m, String refMethod, String keys, int t) {
        if (m.hit == null) {
            return null;
        }
        Jmh.Result spill = Jmh.find(m.hit, "spillwayPinUnpin_" + t + "t", "keys", keys);
        Jmh.Result ref = Jmh.find(m.hit, refMethod, "keys", keys);
        // ns per op: the reference's time over ours is our speed over its
        return spill == null || ref == null ? null : paired(ref.iterations(), spill.iterations());
    }

    private static double[] missRatio(BenchReport.Measurements m, String ref, int t) {
        if (m.miss == null) {
            return null;
        }
        return paired(m.miss.iops().get(MissPathBenchmark.Result.key(MissPathBenchmark.SPILLWAY, t)),
                m.miss.iops().get(MissPathBenchmark.Result.key(ref, t)));
    }

    private static double[] spill(BenchReport.Measurements m, String kind, String a, String b) {
        return m.spill == null ? null : paired(m.spill.mbps().get(kind + " " + a), m.spill.mbps().get(kind + " " + b));
    }

    private static String notMeasured(BenchReport.Measurements m, String step) {
        return "Not measured: " + shorten(m.failures.getOrDefault(step, "no result")) + "\n\n";
    }

    /** A failure's message on one line, cut where a table cell would become unreadable. */
    static String shorten(String message) {
        String one = message.replace("\n", " ").replace("|", "/");
        return one.length() <= 400 ? one : one.substring(0, 400) + " …";
    }

    // ---------------------------------------------------------------- sections

    private static void hitPath(StringBuilder md, BenchReport.Settings s, BenchReport.Measurements m) {
        md.append("## Hit path: pin+unpin vs Caffeine and ConcurrentHashMap\n\n");
        md.append("`HitPathBenchmark` (JMH, ").append(String.join(" ", s.jmhOptions())).append("): pin+unpin of a "
                + "resident page vs Caffeine `getIfPresent` and `ConcurrentHashMap.get` on the same key stream, 4096 "
                + "resident pages. ns per operation per thread (median and range of the JMH iterations); ratios pair "
                + "iteration i with iteration i.\n\n");
        if (m.hit == null) {
            md.append(notMeasured(m, "hit path (JMH)"));
            return;
        }
        md.append("| keys | threads | Spillway ns/op | Caffeine ns/op | ConcurrentHashMap ns/op | vs Caffeine | vs "
                + "ConcurrentHashMap |\n| --- | ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Chart chart = new Chart("Hit path: lookups per second (all threads)", "key stream, threads", "million ops/s");
        for (String keys : List.of("zipf", "uniform")) {
            for (int t : List.of(1, 2)) {
                Jmh.Result sp = Jmh.find(m.hit, "spillwayPinUnpin_" + t + "t", "keys", keys);
                Jmh.Result caf = Jmh.find(m.hit, "caffeineGetIfPresent_" + t + "t", "keys", keys);
                Jmh.Result chm = Jmh.find(m.hit, "concurrentHashMapGet_" + t + "t", "keys", keys);
                md.append("| ").append(keys).append(" | ").append(t).append(" | ").append(ns(sp)).append(" | ")
                        .append(ns(caf)).append(" | ").append(ns(chm)).append(" | ")
                        .append(ratio(hitRatio(m, "caffeineGetIfPresent_" + t + "t", keys, t))).append(" | ")
                        .append(ratio(hitRatio(m, "concurrentHashMapGet_" + t + "t", keys, t))).append(" |\n");
                String group = keys + " " + t + "t";
                for (Jmh.Result r : new Jmh.Result[] {sp, caf, chm}) {
                    if (r != null) {
                        String name = r == sp ? "spillway pin+unpin" : r == caf ? "caffeine" : "concurrenthashmap";
                        chart.bar(group, name, t * 1e3 / Spread.of(r.iterations()).median());
                    }
                }
            }
        }
        md.append('\n');
        plot(md, s, chart, "hitpath.png", "hit path");
    }

    private static void missPath(StringBuilder md, BenchReport.Settings s, BenchReport.Measurements m) {
        md.append("## Miss path: random 4 KiB page reads vs the native harness and FileChannel DIRECT\n\n");
        if (m.miss == null) {
            md.append(notMeasured(m, "miss path"));
            return;
        }
        MissPathBenchmark.Config c = m.miss.config();
        md.append(String.format(Locale.ROOT, "`MissPathBenchmark`: uniform random pins of the %,d data pages of `%s` "
                + "(%d MiB) through a pool with a %d KiB memory limit (%.1f%% of the pages fit, so about %.0f%% of pins "
                + "miss), backend `%s`; in the same rounds, interleaved in rotating order: `spw_bench` O_DIRECT `pread` "
                + "of the same file on the same number of threads, and `FileChannel` with `ExtendedOpenOption.DIRECT`. "
                + "%,d reads per thread per round, %d rounds after warm-up rounds for %.0f s (at least one). "
                + "Aggregate reads per second.%n%n",
                m.miss.dataPages(), c.file(), c.fileMiB(), c.memoryLimit() >> 10,
                100.0 * c.memoryLimit() / 4096 / m.miss.dataPages(),
                100 - 100.0 * c.memoryLimit() / 4096 / m.miss.dataPages(), m.miss.backend(), c.opsPerThread(),
                c.rounds(), c.warmupSeconds()));
        md.append("| threads | Spillway reads/s | native harness reads/s | FileChannel DIRECT reads/s | vs native | vs "
                + "FileChannel |\n| ---: | ---: | ---: | ---: | ---: | ---: |\n");
        Chart chart = new Chart("Miss path: random 4 KiB reads per second", "threads", "reads/s");
        for (int t : c.threads()) {
            double[] sp = m.miss.iops().get(MissPathBenchmark.Result.key(MissPathBenchmark.SPILLWAY, t));
            double[] nat = m.miss.iops().get(MissPathBenchmark.Result.key(MissPathBenchmark.NATIVE, t));
            double[] fc = m.miss.iops().get(MissPathBenchmark.Result.key(MissPathBenchmark.FILE_CHANNEL, t));
            md.append("| ").append(t).append(" | ").append(value(sp, "%.0f")).append(" | ")
                    .append(nat == null ? "— (no harness)" : value(nat, "%.0f")).append(" | ").append(value(fc, "%.0f"))
                    .append(" | ").append(ratio(missRatio(m, MissPathBenchmark.NATIVE, t))).append(" | ")
                    .append(ratio(missRatio(m, MissPathBenchmark.FILE_CHANNEL, t))).append(" |\n");
            String g = t + (t == 1 ? " thread" : " threads");
            bar(chart, g, "spillway pool", sp);
            bar(chart, g, "native harness", nat);
            bar(chart, g, "FileChannel DIRECT", fc);
        }
        md.append('\n');
        plot(md, s, chart, "misspath.png", "miss path");
    }

    private static final List<String> SPILL_ROWS = List.of("pool none", "pool L1", "pool adaptive", "fused L1",
            "raw O_DIRECT", "native fused L1", "native raw", "zstd -b L1");

    private static void spill(StringBuilder md, BenchReport.Settings s, BenchReport.Measurements m) {
        md.append("## Spill: 256 KiB blocks written and read back\n\n");
        if (m.spill == null) {
            md.append(notMeasured(m, "spill"));
            return;
        }
        md.append(String.format(Locale.ROOT, "`SpillComparison`: %d blocks of 256 KiB per case per round, %d rounds after "
                + "a warm-up, backend `%s`, temp dir on %s. Every side spills the very same block (spw_bench's CSV and "
                + "random data). `pool …` is the transient buffer pool (4-block memory limit, so every block spills) at "
                + "no compression, zstd level 1 and the adaptive level; `fused L1` and `raw O_DIRECT` are the JVM "
                + "calling the C core's fused spill calls and plain 256 KiB O_DIRECT I/O; `native …` is `spw_bench` in "
                + "the same round (fused compress+pwrite / pread+decompress at level 1, and raw O_DIRECT writes); "
                + "`zstd -b L1` is `zstd -b1 -B256K` on the same block in memory (write = compress, read = decompress). "
                + "MB/s = 10^6 bytes of raw data per second.%n%n", s.spillBlocks(), s.spillRounds(), m.spill.backend(),
                m.spill.fileSystem()));
        Chart both = new Chart("Spill: write + read back, MB/s of raw data", "data", "MB/s");
        Chart write = new Chart("Spill: write (compress + pwrite), MB/s of raw data", "data", "MB/s");
        for (String kind : List.of("csv", "random")) {
            md.append("### ").append(kind).append(" data\n\n| case | write MB/s | read MB/s | write+read MB/s | "
                    + "compression |\n| --- | ---: | ---: | ---: | ---: |\n");
            for (String c : SPILL_ROWS) {
                double[] w = m.spill.mbps().get(kind + " " + c + " write");
                if (w == null) {
                    continue;
                }
                double[] r = m.spill.mbps().get(kind + " " + c + " read");
                double[] b = m.spill.mbps().get(kind + " " + c + " write+read");
                Double ratio = m.spill.compression().get(kind + " " + c);
                md.append("| ").append(c).append(" | ").append(value(w, "%.0f")).append(" | ")
                        .append(r == null ? "—" : value(r, "%.0f")).append(" | ").append(b == null ? "—" : value(b, "%.0f"))
                        .append(" | ").append(ratio == null ? "—" : String.format(Locale.ROOT, "%.2f", ratio))
                        .append(" |\n");
                bar(both, kind, c, b);
                bar(write, kind, c, w);
            }
            md.append("\n| comparison (" + kind + ") | ratio: median (min–max) |\n| --- | ---: |\n");
            spillRatio(md, m, kind, "pool L1 vs native fused L1, write+read (goal ≥ 0.85)", "pool L1 write+read",
                    "native fused L1 write+read");
            spillRatio(md, m, kind, "pool L1 vs native fused L1, write", "pool L1 write", "native fused L1 write");
            spillRatio(md, m, kind, "pool L1 vs native fused L1, read", "pool L1 read", "native fused L1 read");
            spillRatio(md, m, kind, "JVM fused L1 vs native fused L1, write+read (binding cost)", "fused L1 write+read",
                    "native fused L1 write+read");
            spillRatio(md, m, kind, "pool none vs native raw O_DIRECT, write", "pool none write", "native raw write");
            spillRatio(md, m, kind, "pool L1 vs native raw O_DIRECT, write", "pool L1 write", "native raw write");
            spillRatio(md, m, kind, "pool L1 write vs zstd -b compress (CPU only)", "pool L1 write", "zstd -b L1 write");
            spillRatio(md, m, kind, "pool L1 read vs zstd -b decompress (CPU only)", "pool L1 read", "zstd -b L1 read");
            double[] adaptive = pairedBest(m.spill.mbps().get(kind + " pool adaptive write+read"),
                    m.spill.mbps().get(kind + " pool none write+read"), m.spill.mbps().get(kind + " pool L1 write+read"));
            md.append("| pool adaptive vs the faster of pool none and pool L1, write+read (goal ≥ 0.90) | ")
                    .append(ratio(adaptive)).append(" |\n\n");
            String note = m.spill.notes().get(kind + " pool adaptive");
            if (note != null) {
                md.append("Adaptive level after the run (" + kind + "): ").append(note).append("\n\n");
            }
        }
        plot(md, s, both, "spill.png", "spill write+read");
        plot(md, s, write, "spill-write.png", "spill write");
    }

    private static void spillRatio(StringBuilder md, BenchReport.Measurements m, String kind, String label, String a,
            String b) {
        double[] r = spill(m, kind, a, b);
        if (r != null) {
            md.append("| ").append(label).append(" | ").append(ratio(r)).append(" |\n");
        }
    }

    private static void bindings(StringBuilder md, BenchReport.Settings s, BenchReport.Measurements m) {
        md.append("## Bindings: jni, ffm, jna, nio vs the native harness\n\n");
        if (m.binding == null || m.bindingNativeBefore == null || m.bindingNativeAfter == null) {
            md.append(notMeasured(m, "bindings (JMH + native harness)"));
            return;
        }
        md.append("`BindingOverheadBenchmark` (JMH, ").append(String.join(" ", s.jmhOptions())).append(") through each "
                + "backend, between two runs of `spw_bench` doing the same operation in C with no JVM (before and after, "
                + "on the same file). Cells: ns per operation, median (min–max) of the JMH iterations; then the speed "
                + "relative to C, native ns (mean of the two harness medians) / JVM ns per iteration: median (min–max). "
                + "`nio` has no native function, so no noop.\n\n");
        md.append("| operation | native (C) ns |");
        BACKENDS.forEach(b -> md.append(' ').append(b).append(" |"));
        md.append("\n| --- | ---: |");
        BACKENDS.forEach(b -> md.append(" ---: |"));
        md.append('\n');
        Chart chart = new Chart("Bindings: speed relative to the native harness (1 = C)", "operation",
                "native ns / JVM ns");
        for (Map.Entry<String, String> op : BINDING_NATIVE.entrySet()) {
            double[] before = m.bindingNativeBefore.get(op.getValue());
            double[] after = m.bindingNativeAfter.get(op.getValue());
            if (before == null || after == null) {
                continue;
            }
            double ref = (before[0] + after[0]) / 2;
            md.append("| ").append(op.getKey()).append(" | ").append(String.format(Locale.ROOT, "%s (%s–%s)",
                    ns(ref), ns(Math.min(before[1], after[1])), ns(Math.max(before[2], after[2])))).append(" |");
            for (String b : BACKENDS) {
                Jmh.Result r = findBinding(m.binding, op.getKey(), b);
                if (r == null) {
                    md.append(" — |");
                    continue;
                }
                double[] speed = Arrays.stream(r.iterations()).map(x -> ref / x).toArray();
                md.append(' ').append(ns(r)).append("; ").append(ratio(speed)).append(" |");
                chart.bar(op.getKey(), b, Spread.of(speed).median());
            }
            md.append('\n');
        }
        md.append('\n');
        plot(md, s, chart, "bindings.png", "bindings");
    }

    private static Jmh.Result findBinding(List<Jmh.Result> results, String method, String backend) {
        Jmh.Result r = Jmh.find(results, method, "binding", backend);
        return r != null ? r : Jmh.find(results, method, "backend", backend);
    }

    private static void hitRatios(StringBuilder md, BenchReport.Settings s, BenchReport.Measurements m) {
        md.append("## Hit ratios: policies vs LRU, Caffeine and the optimum\n\n");
        if (m.ratios == null || m.ratios.isEmpty()) {
            md.append(notMeasured(m, "hit ratios"));
            return;
        }
        String def = EvictionPolicies.DEFAULT;
        md.append("Each trace replayed at cache sizes of 5, 10, 25, 50 and 75% of its distinct keys through ")
                .append(String.join(", ", s.policies())).append(" (`").append(def).append("` is Spillway's default; "
                + "`caffeine` is Caffeine's W-TinyLFU replaying the same trace; `optimal` is Belady's, the ceiling). "
                + "Hit ratio in percent; replays are deterministic, so one run each.\n\n");
        md.append("| trace | default − lru, points: mean (worst) | default / caffeine: mean (worst) | default / optimal: "
                + "mean (worst) |\n| --- | ---: | ---: | ---: |\n");
        Map<String, List<PolicyComparison.Row>> byTrace = new LinkedHashMap<>();
        m.ratios.forEach(r -> byTrace.computeIfAbsent(r.workload(), k -> new ArrayList<>()).add(r));
        for (Map.Entry<String, List<PolicyComparison.Row>> e : byTrace.entrySet()) {
            md.append("| ").append(e.getKey()).append(" | ").append(summary(e.getValue(), def, "lru", true)).append(" | ")
                    .append(summary(e.getValue(), def, PolicyComparison.CAFFEINE, false)).append(" | ")
                    .append(summary(e.getValue(), def, PolicyComparison.OPTIMAL, false)).append(" |\n");
        }
        md.append("\n").append(PolicyComparison.toMarkdown(m.ratios)).append('\n');
        for (Map.Entry<String, List<PolicyComparison.Row>> e : byTrace.entrySet()) {
            Chart chart = new Chart("Hit ratio: " + e.getKey(), "cache size (entries)", "hit ratio %");
            for (PolicyComparison.Row r : e.getValue()) {
                r.hitRatio().forEach((policy, h) -> chart.point(policy, r.size(), 100 * h));
            }
            plot(md, s, chart, "hitratio-" + e.getKey().replaceAll("[^A-Za-z0-9_.-]", "_") + ".png",
                    "hit ratio " + e.getKey());
        }
    }

    /** Mean and worst of the default against one column over a trace's sizes: a difference in points, or a ratio. */
    private static String summary(List<PolicyComparison.Row> rows, String def, String ref, boolean points) {
        double sum = 0;
        double worst = Double.POSITIVE_INFINITY;
        int n = 0;
        for (PolicyComparison.Row r : rows) {
            Double d = r.hitRatio().get(def);
            Double x = r.hitRatio().get(ref);
            if (d == null || x == null || (!points && x == 0)) {
                continue;
            }
            double v = points ? 100 * (d - x) : d / x;
            sum += v;
            worst = Math.min(worst, v);
            n++;
        }
        if (n == 0) {
            return "—";
        }
        return points ? String.format(Locale.ROOT, "%+.2f (%+.2f)", sum / n, worst)
                : String.format(Locale.ROOT, "%.3f (%.3f)", sum / n, worst);
    }

    // ---------------------------------------------------------------- formatting

    private static void plot(StringBuilder md, BenchReport.Settings s, Chart chart, String file, String alt) {
        chart.write(s.out().resolve(file));
        md.append("![").append(alt).append("](").append(file).append(")\n\n");
    }

    /** A bar at the median of a series; none where the series was not measured. */
    private static void bar(Chart chart, String group, String name, double[] series) {
        Spread s = Spread.of(series);
        if (s != null) {
            chart.bar(group, name, s.median());
        }
    }

    private static String ratio(double[] r) {
        Spread s = Spread.of(r);
        return s == null ? "—" : s.ratio();
    }

    private static String value(double[] v, String fmt) {
        Spread s = Spread.of(v);
        return s == null ? "—" : s.value(fmt);
    }

    private static String ns(Jmh.Result r) {
        if (r == null) {
            return "—";
        }
        Spread s = Spread.of(r.iterations());
        return String.format(Locale.ROOT, "%s (%s–%s)", ns(s.median()), ns(s.min()), ns(s.max()));
    }

    private static String ns(double v) {
        return v >= 100 ? String.format(Locale.ROOT, "%.0f", v) : String.format(Locale.ROOT, "%.2f", v);
    }
}
