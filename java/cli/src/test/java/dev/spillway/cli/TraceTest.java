package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.OutputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;

class TraceTest extends CliTestBase {
    /** The LIRS traces (java/cli's pom points this property at ../shared/traces). */
    private static Path traces() {
        String p = System.getProperty("spillway.traces");
        assertTrue(p != null && Files.isDirectory(Path.of(p)), "system property spillway.traces must name the shared "
                + "trace folder, was " + p);
        return Path.of(p);
    }

    private static String gli() {
        return traces().resolve("gli.trace.gz").toString();
    }

    @Test
    void csvMatchesTheReferenceLruRatioOnGli() throws Exception {
        Path png = dir.resolve("gli.png");
        assertEquals(0, run("trace", gli(), "--policy", "lru,clock", "--sizes", "1000,500", "--csv", "--plot",
                png.toString()), err());
        List<String> lines = out().lines().collect(Collectors.toList());
        assertEquals("trace,policy,cache_size,requests,hits,hit_ratio", lines.get(0));
        // 2 policies + caffeine + optimal, at 2 sizes each
        assertEquals(1 + 4 * 2, lines.size(), out());
        // the published exact-LRU reference point (shared/traces/README.md)
        assertTrue(lines.contains("gli,lru,1000,6015,674,11.21"), out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("gli,caffeine,1000,6015,")), out());
        assertTrue(lines.stream().anyMatch(l -> l.startsWith("gli,optimal,500,6015,")), out());
        for (String l : lines.subList(1, lines.size())) {
            String[] f = l.split(",");
            assertEquals(6, f.length, l);
            assertEquals(Double.parseDouble(f[5]), 100.0 * Long.parseLong(f[4]) / Long.parseLong(f[3]), 0.005, l);
        }
        byte[] magic = Arrays.copyOf(Files.readAllBytes(png), 8);
        assertArrayEquals(new byte[] {(byte) 0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n'}, magic, "a PNG was written");
        assertTrue(err().contains("plot: " + png), "the plot's path goes to stderr in CSV mode: " + err());
    }

    @Test
    void tableHasEveryPolicyCaffeineAndOptimalAtDefaultSizes() throws Exception {
        Path png = dir.resolve("p.png");
        assertEquals(0, run("trace", gli(), "--plot", png.toString()), err());
        String table = out();
        assertTrue(table.startsWith("gli: 6,015 requests, 2,529 distinct keys"), table);
        for (String c : List.of("lru", "clock", "arc", "s3fifo", "wtinylfu", "lirs", "alirs", "caffeine", "optimal")) {
            assertTrue(table.lines().skip(1).findFirst().orElseThrow().contains(c), c + " column missing: " + table);
        }
        // 5%, 10%, 25%, 50%, 75% of 2,529 distinct keys
        for (int size : new int[] {126, 253, 632, 1265, 1897}) {
            assertTrue(table.lines().anyMatch(l -> l.strip().startsWith(size + " ")), size + " row missing: " + table);
        }
        assertTrue(Files.size(png) > 1000);
    }

    @Test
    void everySharedTraceReplays() throws Exception {
        List<String> args;
        try (Stream<Path> s = Files.list(traces())) {
            args = s.filter(p -> p.toString().endsWith(".trace.gz")).map(Path::toString).sorted()
                    .collect(Collectors.toList());
        }
        assertEquals(6, args.size(), "the six LIRS traces: " + args);
        args.add(0, "trace");
        args.addAll(List.of("--policy", "lru", "--sizes", "100", "--csv", "--plot", dir.resolve("all.png").toString()));
        assertEquals(0, run(args.toArray(String[]::new)), err());
        assertEquals(1 + 6 * 3, out().lines().count(), out());
        // loop is one cyclic scan of 1,011 keys: LRU gets nothing below that size
        assertTrue(out().contains("loop,lru,100,505500,0,0.00"), out());
        for (String t : List.of("2_pools", "gli", "loop", "multi1", "ps", "sprite")) {
            assertTrue(Files.exists(dir.resolve("all-" + t + ".png")), "one plot per trace: " + t);
        }
    }

    @Test
    void errorsNameTheFileAndLine() throws Exception {
        Path bad = Files.writeString(dir.resolve("bad.trace"), "12\n*\n\n13\nfourteen\n");
        assertFails(1, "bad.trace:5: not an integer key: 'fourteen'", "trace", bad.toString());
        assertFails(1, "no such file", "trace", dir.resolve("missing.trace").toString());
        Path notGzip = dir.resolve("broken.trace.gz");
        byte[] gz;
        try (OutputStream o = Files.newOutputStream(notGzip); GZIPOutputStream z = new GZIPOutputStream(o)) {
            z.write("1\n2\n3\n".repeat(1000).getBytes());
        }
        gz = Files.readAllBytes(notGzip);
        Files.write(notGzip, Arrays.copyOf(gz, gz.length / 2)); // cut in the middle
        assertFails(1, "broken.trace.gz", "trace", notGzip.toString());
        Path empty = Files.writeString(dir.resolve("empty.trace"), "*\n\n");
        assertFails(1, "holds no keys", "trace", empty.toString());
        assertFails(1, "is a directory", "trace", dir.toString());
    }

    @Test
    void badArgumentsAreUsageErrors() {
        assertFails(2, "unknown policy 'LRU2'; valid: lru, clock, arc, s3fifo, wtinylfu, lirs, alirs, wlirs, caffeine, optimal",
                "trace", gli(), "--policy", "lru,LRU2");
        assertFails(2, "--sizes: '0' is not a cache size", "trace", gli(), "--sizes", "100,0");
        assertFails(2, "--sizes: 'ten' is not a cache size", "trace", gli(), "--sizes", "ten");
        assertFails(2, "has an empty item", "trace", gli(), "--policy", "lru,,clock");
        assertFails(2, "no trace file given", "trace", "--csv");
        assertFails(2, "name it FILE.png", "trace", gli(), "--plot", "x.jpg");
    }
    /** Runs assertFails with System.err captured: ImageIO printed its stack traces there, not to the CLI's err. */
    private String assertFailsQuietly(int code, String expected, String... args) {
        java.io.ByteArrayOutputStream sys = new java.io.ByteArrayOutputStream();
        java.io.PrintStream old = System.err;
        System.setErr(new java.io.PrintStream(sys, true, java.nio.charset.StandardCharsets.UTF_8));
        try {
            assertFails(code, expected, args);
        } finally {
            System.setErr(old);
        }
        return sys.toString(java.nio.charset.StandardCharsets.UTF_8);
    }

    @Test
    void unwritablePlotIsOneLineWithoutStackTraceAndNeverReplacesADirectory() throws Exception {
        String t = Files.writeString(dir.resolve("small.trace"), "1\n2\n1\n3\n1\n2\n").toString();
        Path missing = dir.resolve("no-such-dir").resolve("p.png");
        assertEquals("", assertFailsQuietly(1, "cannot write chart " + missing + ": no such directory: "
                + missing.getParent(), "trace", t, "--csv", "--plot", missing.toString()), "nothing else on stderr");
        Path full = Files.createDirectories(dir.resolve("full.png"));
        Files.writeString(full.resolve("keep"), "x");
        assertEquals("", assertFailsQuietly(1, "cannot write chart " + full + ": is a directory", "trace", t, "--csv",
                "--plot", full.toString()), "nothing else on stderr");
        // ImageIO.write(..., File) deleted an empty directory and wrote the PNG in its place
        Path empty = Files.createDirectories(dir.resolve("empty.png"));
        assertEquals("", assertFailsQuietly(1, "cannot write chart " + empty + ": is a directory", "trace", t, "--plot",
                empty.toString()), "nothing else on stderr");
        assertTrue(Files.isDirectory(empty), "the empty directory is left alone");
        assertTrue(Files.isDirectory(full) && Files.exists(full.resolve("keep")));
        // an existing regular file is still overwritten
        Path old = Files.writeString(dir.resolve("old.png"), "not yet a png");
        assertEquals(0, run("trace", t, "--csv", "--plot", old.toString()), err());
        assertEquals((byte) 0x89, Files.readAllBytes(old)[0]);
    }

    @Test
    void booleanOptionsTakeOnlyTrueOrFalse() throws Exception {
        String t = Files.writeString(dir.resolve("small.trace"), "1\n2\n1\n").toString();
        assertFails(2, "--csv: 'yes' is not true or false", "trace", t, "--csv=yes");
        assertFails(2, "--csv: '' is not true or false", "trace", t, "--csv=");
        Path png = dir.resolve("b.png");
        assertEquals(0, run("trace", t, "--csv=TRUE", "--plot", png.toString()), err());
        assertTrue(out().startsWith(Trace.CSV_HEADER), out());
        assertEquals(0, run("trace", t, "--csv=false", "--plot", png.toString()), err());
        assertTrue(out().startsWith("small: 3 requests"), out());
    }
}
