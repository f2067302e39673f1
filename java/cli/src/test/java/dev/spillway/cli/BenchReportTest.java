package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.bench.MissPathBenchmark;
import dev.spillway.bench.SpillComparison;
import java.io.ByteArrayOutputStream;
import java.io.PrintStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import javax.imageio.ImageIO;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The report machinery without real benchmarks: parsers on recorded output, the per-round ratio
 * arithmetic and the goal verdicts on made-up inputs, and one smoke run of the whole suite at tiny
 * sizes. Nothing here checks a time.
 */
class BenchReportTest {
    @TempDir
    Path dir;

    private static String resource(String name) throws Exception {
        try (var in = BenchReportTest.class.getResourceAsStream(name)) {
            return new String(in.readAllBytes(), StandardCharsets.UTF_8);
        }
    }

    @Test
    void readsJmhJson() throws Exception {
        List<Jmh.Result> r = Jmh.parse(resource("jmh-hitpath.json"));
        assertEquals(4, r.size());
        Jmh.Result pin = Jmh.find(r, "spillwayPinUnpin_2t", "keys", "zipf");
        assertEquals(2, pin.threads());
        assertEquals("ns/op", pin.unit());
        assertArrayEquals(new double[] {41.5, 40.25, 44.0}, pin.iterations());
        assertNull(Jmh.find(r, "spillwayPinUnpin_2t", "keys", "uniform"));
    }

    @Test
    void jsonRejectsWhatItCannotRead() {
        assertEquals(Map.of("a", List.of(1.0, "x\"y", true)), JsonReader.parse("{\"a\": [1, \"x\\\"y\", true]}"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("{\"a\": 1"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("[1, 2] 3"));
        assertThrows(IllegalArgumentException.class, () -> JsonReader.parse("{\"a\": 1.2.3}"));
    }

    @Test
    void readsZstdBenchmarkOutput() throws Exception {
        // the last complete progress line holds the result; earlier ones are partial
        double[] z = SpillComparison.parseZstdBench(resource("zstd-b.txt"));
        assertArrayEquals(new double[] {312.0, 4905.6, 2.365}, z);
        assertThrows(IllegalStateException.class, () -> SpillComparison.parseZstdBench("zstd: error 37"));
    }

    @Test
    void ratiosArePairedPerRoundAndSummarisedByMedianAndRange() {
        assertArrayEquals(new double[] {2, 0.5}, ReportWriter.paired(new double[] {4, 1, 9}, new double[] {2, 2}));
        assertArrayEquals(new double[] {0.5, 1.0}, ReportWriter.pairedBest(new double[] {2, 3},
                new double[] {4, 1}, new double[] {1, 3}));
        ReportWriter.Spread s = ReportWriter.Spread.of(new double[] {0.9, 1.2, 0.8, 1.0});
        assertEquals(0.95, s.median(), 1e-12);
        assertEquals(0.8, s.min());
        assertEquals(1.2, s.max());
        assertEquals("0.95 (0.80–1.20)", s.ratio());
        assertNull(ReportWriter.paired(null, new double[] {1}));
    }

    @Test
    void goalsFollowTheMedianOfTheSameRunRatios() throws Exception {
        BenchReport.Measurements m = new BenchReport.Measurements();
        m.hit = Jmh.parse(resource("jmh-hitpath.json"));
        Map<String, double[]> iops = new LinkedHashMap<>();
        iops.put("spillway t1", new double[] {9000, 9500, 8000});
        iops.put("native t1", new double[] {10000, 10000, 10000}); // 0.90, 0.95, 0.80: median 0.90, met
        iops.put("spillway t2", new double[] {10000, 10000, 10000});
        iops.put("native t2", new double[] {12000, 10000, 13000}); // median 0.83: not met
        MissPathBenchmark.Config cfg = new MissPathBenchmark.Config(dir.resolve("f"), 2, 1 << 20, 10, 3, List.of(1, 2),
                null, dev.spillway.io.BackendKind.AUTO, 0);
        m.miss = new MissPathBenchmark.Result(cfg, 511, "jni", iops, List.of());
        m.failures.put("spill", "IllegalStateException: disk full");
        Map<String, String> verdict = new LinkedHashMap<>();
        for (ReportWriter.Goal g : ReportWriter.goals(m)) {
            verdict.put(g.comparison().substring(0, g.comparison().indexOf(':')), g.verdict());
        }
        // recorded zipf 1t: caffeine 30/31/29 ns vs pin 25/26/35 ns: ratios 1.2, 1.19, 0.83, median 1.19
        assertEquals("yes", verdict.get("zipf keys, 1 thread"));
        // recorded zipf 2t: caffeine 40/40/40 vs pin 41.5/40.25/44: every ratio below 1
        assertEquals("**no**", verdict.get("zipf keys, 2 threads"));
        assertEquals("not measured", verdict.get("uniform keys, 1 thread"));
        assertEquals("yes", verdict.get("1 thread"));
        assertEquals("**no**", verdict.get("2 threads"));
        assertEquals("not measured", verdict.get("csv"));
        String md = ReportWriter.markdown(BenchReport.Settings.smoke(dir, List.of(), dir.resolve("f")), m, "machine\n", 1);
        assertTrue(md.contains("disk full"), md);
        assertTrue(md.contains("| 1 | 9000 (8000–9500) | 10000 (10000–10000) |"), md);
    }

    @Test
    void smokeRunWritesTheReportAndItsPlots() throws Exception {
        Path trace = dir.resolve("tiny.trace");
        StringBuilder keys = new StringBuilder();
        for (int i = 0; i < 3000; i++) {
            keys.append(i % 7 == 0 ? "*" : Integer.toString((i * 31) % 97 + (i % 5 == 0 ? 200 + i % 300 : 0))).append('\n');
        }
        Files.writeString(trace, keys);
        Path out = dir.resolve("report");
        ByteArrayOutputStream log = new ByteArrayOutputStream();
        int rc = BenchReport.generate(BenchReport.Settings.smoke(out, List.of(trace), dir.resolve("miss.pf")),
                new PrintStream(log, true, StandardCharsets.UTF_8));
        assertEquals(0, rc, log.toString(StandardCharsets.UTF_8));
        String md = Files.readString(out.resolve("report.md"));
        assertTrue(md.contains("## Goals"), md);
        assertTrue(md.contains("| 1 | "), md); // a miss-path row for one thread
        assertTrue(md.contains("### csv data"), md);
        assertTrue(md.contains("| tiny | "), md);
        assertTrue(md.contains("not run in smoke mode"), md);
        for (String png : List.of("misspath.png", "spill.png", "spill-write.png", "hitratio-tiny.png")) {
            assertTrue(md.contains("](" + png + ")"), png);
            assertEquals(900, ImageIO.read(out.resolve(png).toFile()).getWidth(), png);
        }
    }

    @Test
    void badArgumentsAreUsageErrors() {
        ByteArrayOutputStream err = new ByteArrayOutputStream();
        PrintStream ps = new PrintStream(err, true, StandardCharsets.UTF_8);
        assertEquals(2, Main.run(new String[] {"bench", "--bogus", "1"}, ps, ps));
        assertTrue(err.toString(StandardCharsets.UTF_8).contains("unknown option --bogus"));
        assertEquals(2, Main.run(new String[] {"bench", "--traces", dir.resolve("none").toString()}, ps, ps));
        assertEquals(2, Main.run(new String[] {"bench", "extra"}, ps, ps));
    }
}
