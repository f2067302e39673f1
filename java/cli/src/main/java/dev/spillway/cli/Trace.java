package dev.spillway.cli;

import dev.spillway.bench.PolicyComparison;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.eviction.TraceFormatException;
import dev.spillway.eviction.TraceReader;
import java.io.IOException;
import java.io.PrintStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.zip.ZipException;

/**
 * {@code spillway trace FILE...}: replays key traces through the eviction policies, Caffeine and
 * Belady's optimum (the replay is {@link PolicyComparison}'s, the same that produced the table in
 * docs/eviction.md), prints hit ratios, and plots hit ratio against cache size.
 */
final class Trace {
    /** Default cache sizes as fractions of a trace's distinct keys (PolicyComparison's). */
    static final double[] DEFAULT_FRACTIONS = {0.05, 0.10, 0.25, 0.50, 0.75};
    static final String CSV_HEADER = "trace,policy,cache_size,requests,hits,hit_ratio";

    private Trace() {
    }

    static int run(Options o, PrintStream out, PrintStream err) {
        o.checkOnly("policy", "sizes", "csv", "plot");
        if (o.positional.isEmpty()) {
            throw new Main.UsageException("no trace file given (usage: trace FILE... [--policy NAME,...] [--sizes N,...]"
                    + " [--csv] [--plot FILE.png])");
        }
        List<String> columns = columns(o.list("policy"));
        int[] sizes = sizes(o.list("sizes"));
        boolean csv = o.flag("csv");
        String plot = o.get("plot", null);
        if (plot != null && !plot.toLowerCase(Locale.ROOT).endsWith(".png")) {
            throw new Main.UsageException("--plot " + plot + ": the plot is a PNG, name it FILE.png");
        }

        List<PolicyComparison.Workload> workloads = new ArrayList<>();
        List<Long> distinct = new ArrayList<>();
        for (String name : o.positional) {
            Path file = Path.of(name);
            if (workloads.stream().anyMatch(w -> w.name().equals(traceName(file)))) {
                throw new Main.UsageException("two traces are named '" + traceName(file) + "'; rows are keyed by"
                        + " that name, so give each trace once");
            }
            long[] keys = read(file);
            PolicyComparison.Workload probe = new PolicyComparison.Workload(traceName(file), keys, new int[0]);
            long d = probe.distinctKeys();
            distinct.add(d);
            workloads.add(new PolicyComparison.Workload(probe.name(), keys, sizes != null ? sizes : defaultSizes(d)));
        }
        // both cores at most: the machine is shared, and one trace's cells are independent
        int threads = Math.max(1, Math.min(2, Runtime.getRuntime().availableProcessors()));
        List<PolicyComparison.Row> rows = PolicyComparison.run(workloads, columns, threads);

        if (csv) {
            printCsv(out, rows, columns);
        } else {
            printTables(out, workloads, distinct, rows, columns);
        }
        if (!csv || plot != null) {
            for (PolicyComparison.Workload w : workloads) {
                Path png = plotPath(plot, w.name(), workloads.size());
                plot(png, w, rows, columns);
                (csv ? err : out).println("plot: " + png);
            }
        }
        return 0;
    }

    /** The policies asked for (all by default), then caffeine and optimal; a bad name is a usage error listing the good ones. */
    static List<String> columns(List<String> asked) {
        List<String> valid = new ArrayList<>(EvictionPolicies.names());
        valid.add(PolicyComparison.CAFFEINE);
        valid.add(PolicyComparison.OPTIMAL);
        List<String> cols = new ArrayList<>();
        for (String p : asked != null ? asked : EvictionPolicies.names()) {
            if (!valid.contains(p)) {
                throw new Main.UsageException("unknown policy '" + p + "'; valid: " + String.join(", ", valid));
            }
            if (!cols.contains(p)) {
                cols.add(p);
            }
        }
        for (String ref : List.of(PolicyComparison.CAFFEINE, PolicyComparison.OPTIMAL)) {
            if (!cols.contains(ref)) {
                cols.add(ref);
            }
        }
        return cols;
    }

    private static int[] sizes(List<String> given) {
        if (given == null) {
            return null;
        }
        int[] s = new int[given.size()];
        for (int i = 0; i < s.length; i++) {
            try {
                s[i] = Integer.parseInt(given.get(i));
            } catch (NumberFormatException e) {
                s[i] = 0;
            }
            if (s[i] < 1) {
                throw new Main.UsageException("--sizes: '" + given.get(i) + "' is not a cache size (a whole number of"
                        + " entries, at least 1)");
            }
        }
        return Arrays.stream(s).distinct().sorted().toArray();
    }

    static int[] defaultSizes(long distinct) {
        return Arrays.stream(DEFAULT_FRACTIONS).mapToInt(f -> (int) Math.max(1, Math.round(f * distinct))).distinct()
                .toArray();
    }

    private static long[] read(Path file) {
        if (!Files.exists(file)) {
            throw new Main.CommandException("trace " + file + ": no such file");
        }
        if (Files.isDirectory(file)) {
            throw new Main.CommandException("trace " + file + " is a directory; name the trace files in it");
        }
        long[] keys;
        try {
            keys = TraceReader.read(file);
        } catch (TraceFormatException e) {
            throw new Main.CommandException("trace " + e.getMessage(), e); // names file and line
        } catch (java.io.EOFException e) {
            throw new Main.CommandException("trace " + file + ": the gzip stream ends early, the file is truncated ("
                    + e.getMessage() + ")", e);
        } catch (ZipException e) {
            throw new Main.CommandException("trace " + file + ": not a valid gzip stream (" + e.getMessage() + ")", e);
        } catch (IOException e) {
            throw new Main.CommandException("trace " + file + ": cannot be read: " + Main.describe(e), e);
        }
        if (keys.length == 0) {
            throw new Main.CommandException("trace " + file + " holds no keys");
        }
        return keys;
    }

    static String traceName(Path file) {
        return file.getFileName().toString().replaceFirst("\\.gz$", "").replaceFirst("\\.trace$", "");
    }

    private static Path plotPath(String plot, String trace, int traces) {
        if (plot == null) {
            return Path.of("trace-" + trace + ".png");
        }
        if (traces == 1) {
            return Path.of(plot);
        }
        return Path.of(plot.substring(0, plot.length() - 4) + "-" + trace + ".png"); // one plot per trace
    }

    /** Hits are recovered exactly from the ratio: it was computed as hits / requests, far below 2^52. */
    static long hits(double ratio, long requests) {
        return Math.round(ratio * requests);
    }

    private static void printCsv(PrintStream out, List<PolicyComparison.Row> rows, List<String> columns) {
        out.println(CSV_HEADER);
        Map<String, List<PolicyComparison.Row>> byTrace = byTrace(rows);
        byTrace.forEach((trace, rs) -> {
            for (String c : columns) {
                for (PolicyComparison.Row r : rs) {
                    double ratio = r.hitRatio().get(c);
                    out.printf(Locale.ROOT, "%s,%s,%d,%d,%d,%.2f%n", trace, c, r.size(), r.requests(),
                            hits(ratio, r.requests()), 100 * ratio);
                }
            }
        });
    }

    private static Map<String, List<PolicyComparison.Row>> byTrace(List<PolicyComparison.Row> rows) {
        Map<String, List<PolicyComparison.Row>> m = new LinkedHashMap<>();
        for (PolicyComparison.Row r : rows) {
            m.computeIfAbsent(r.workload(), k -> new ArrayList<>()).add(r);
        }
        return m;
    }

    private static void printTables(PrintStream out, List<PolicyComparison.Workload> workloads, List<Long> distinct,
            List<PolicyComparison.Row> rows, List<String> columns) {
        Map<String, List<PolicyComparison.Row>> byTrace = byTrace(rows);
        for (int i = 0; i < workloads.size(); i++) {
            PolicyComparison.Workload w = workloads.get(i);
            out.printf(Locale.ROOT, "%s: %s requests, %s distinct keys; hit ratio %% by cache size (entries)%n", w.name(),
                    Units.count(w.keys().length), Units.count(distinct.get(i)));
            StringBuilder head = new StringBuilder(String.format("%8s", "size"));
            columns.forEach(c -> head.append(String.format("%10s", c)));
            out.println(head);
            for (PolicyComparison.Row r : byTrace.get(w.name())) {
                StringBuilder line = new StringBuilder(String.format("%8d", r.size()));
                columns.forEach(c -> line.append(String.format(Locale.ROOT, "%10.2f", 100 * r.hitRatio().get(c))));
                out.println(line);
            }
            out.println();
        }
    }

    private static void plot(Path png, PolicyComparison.Workload w, List<PolicyComparison.Row> rows, List<String> columns) {
        Chart chart = new Chart("Hit ratio on " + w.name() + " (" + Units.count(w.keys().length) + " requests)",
                "cache size (entries)", "hit ratio (%)");
        for (String c : columns) {
            for (PolicyComparison.Row r : rows) {
                if (r.workload().equals(w.name())) {
                    chart.point(c, r.size(), 100 * r.hitRatio().get(c));
                }
            }
        }
        chart.write(png);
    }
}
