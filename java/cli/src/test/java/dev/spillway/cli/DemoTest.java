package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import org.junit.jupiter.api.Test;

/** The demo at small sizes: it must spill, read back, verify, report, and clean up. */
class DemoTest extends CliTestBase {
    @Test
    void smallDemoSpillsVerifiesAndReportsJson() throws Exception {
        Path work = dir.resolve("work");
        assertEquals(0, run("demo", "--limit", "8m", "--size", "32m", "--json", "--temp-dir", work.toString()), err());
        String json = out().strip();
        assertTrue(json.startsWith("{") && json.endsWith("}") && json.lines().count() == 1, json);
        assertTrue(json.contains("\"backend\":\"") && json.contains("\"policy\":\"wlirs\""), json);
        assertEquals(8 << 20, jsonNumber(json, "memory_limit"));
        assertEquals(32 << 20, jsonNumber(json, "data_bytes"));
        assertTrue(jsonNumber(json, "memory_peak") <= 8 << 20, "the limit holds: " + json);
        assertEquals(2, count(json, "\"verified\":true"), json);
        assertEquals((32 << 20) / 16, jsonNumber(json, "records"));
        // 32 MiB through 8 MiB: most of the sort's buffers went to disk and came back
        double spilled = jsonNumber(json, "buffers_spilled");
        assertTrue(spilled >= 64, "at least half of the 128 buffers must spill: " + json);
        assertEquals(spilled, jsonNumber(json, "buffers_read_back"), "every spilled buffer is read back by the merge");
        assertEquals(spilled * 256 * 1024, jsonNumber(json, "bytes_spilled"));
        assertEquals(jsonNumber(json, "bytes_spilled"), jsonNumber(json, "bytes_read_back"));
        assertTrue(jsonNumber(json, "bytes_spilled_stored") > 0 && jsonNumber(json, "compression_ratio") > 0, json);
        assertTrue(jsonNumber(json, "temp_files_peak") >= 1 && jsonNumber(json, "temp_bytes_peak") > 0, json);
        for (String f : new String[] {"page_hits", "page_misses", "page_evictions", "page_write_backs"}) {
            assertTrue(jsonNumber(json, f) > 0, f + " must be positive: " + json);
        }
        assertTrue(jsonNumber(json, "hit_ratio") > 0.5 && jsonNumber(json, "hit_ratio") < 1, json);
        // the page file stays in --temp-dir, intact, and inspect reads it; the spill directory is gone
        Path pages = work.resolve("demo.pages");
        assertTrue(Files.isRegularFile(pages), "page file left in --temp-dir");
        assertFalse(Files.exists(work.resolve("spill")), "the manager removes the spill directory it created");
        assertEquals(0, run("inspect", pages.toString()), err());
        assertTrue(out().contains("header checksum  ok") && out().contains("2,049 (the header page included)"), out());
        // progress went to stderr as plain lines (not a terminal)
        assertEquals(0, run("demo", "--limit", "8m", "--size", "16m", "--temp-dir", work.toString()), err());
        assertTrue(err().contains("demo: sort: merge") && !err().contains("\r"), err());
        assertTrue(out().contains("sorted, complete, every record intact") && out().contains("spilled"), out());
    }

    @Test
    void ownTemporaryDirectoryIsRemovedAndProgressBarOnRequest() throws Exception {
        assertEquals(0, run("demo", "--limit", "8m", "--size", "16m", "--json", "--progress"), err());
        Matcher m = Pattern.compile("\"temp_dir\":\"([^\"]+)\"").matcher(out());
        assertTrue(m.find(), out());
        assertFalse(Files.exists(Path.of(m.group(1))), "the demo's own directory must be removed: " + m.group(1));
        assertTrue(out().contains("\"page_file_kept\":null"), out());
        assertTrue(err().contains("\r") && err().contains("] 100%"), "a progress bar was asked for: " + err());
    }

    @Test
    void badArgumentsAreUsageErrors() throws Exception {
        assertFails(2, "--limit 4.0 MiB is too small", "demo", "--limit", "4m");
        assertFails(2, "one merge pass can hold only 16", "demo", "--limit", "8m", "--size", "1g");
        assertFails(2, "unknown eviction policy 'nope'; known: lru, clock", "demo", "--policy", "nope");
        assertFails(2, "unknown backend 'nope'", "demo", "--backend", "nope");
        Path file = Files.writeString(dir.resolve("file"), "x");
        assertFails(2, "exists and is not a directory", "demo", "--temp-dir", file.toString());
        // a demo.pages that is not a page file is never overwritten
        Path other = Files.createDirectories(dir.resolve("other"));
        byte[] precious = "my own data".getBytes(StandardCharsets.UTF_8);
        Files.write(other.resolve("demo.pages"), precious);
        assertFails(2, "is not a Spillway page file; the demo will not overwrite it", "demo", "--temp-dir", other.toString());
        assertArrayEquals(precious, Files.readAllBytes(other.resolve("demo.pages")));
    }

    @Test
    void oversizedSizesAreUsageErrorsNamingTheOption() {
        assertFails(2, "--limit: '9999999999g' is too large", "demo", "--limit", "9999999999g");
        assertFails(2, "--size: '9999999999g' is too large", "demo", "--size", "9999999999g");
        // 8x this limit overflows: the default size is not computed when --size is given ...
        assertFails(2, "unknown eviction policy 'nope'", "demo", "--limit", "2000000000g", "--size", "1m", "--policy",
                "nope");
        // ... and when it is, the error names --limit
        assertFails(2, "--limit 2000000000.00 GiB is too large for the default --size", "demo", "--limit", "2000000000g");
        // --json=maybe is refused before any work, not read as false after the demo has run
        assertFails(2, "--json: 'maybe' is not true or false", "demo", "--json=maybe");
        // the page file's size, 2x the limit, does not overflow either
        Demo.Plan plan = Demo.Plan.of(Long.MAX_VALUE, 1 << 20);
        assertEquals(Integer.MAX_VALUE - 1, plan.pages());
        assertTrue(plan.pins() > 0, "pins " + plan.pins());
    }

    /**
     * A plan larger than the machine is refused before any work: a limit above physical memory, or
     * runs or a page file larger than the free space (before, --limit 100000g --size 1m planned a
     * 16 TiB page file and started writing it).
     */
    @Test
    void aPlanLargerThanTheMachineIsAUsageError() {
        assertFails(2, "of physical memory: lower --limit", "demo", "--limit", "100000g", "--size", "1m",
                "--temp-dir", dir.resolve("big").toString());
        Demo.Plan plan = Demo.Plan.of(64L << 20, 512L << 20); // 512 MiB of runs, a 128 MiB page file
        plan.checkRoom(dir, 512L << 20, 1L << 40); // exactly enough
        Main.UsageException e = assertThrows(Main.UsageException.class, () -> plan.checkRoom(dir, (512L << 20) - 1, 1L << 40));
        assertTrue(e.getMessage().contains("needs up to 512.0 MiB of disk in " + dir) && e.getMessage().contains("--temp-dir"),
                e.getMessage());
        Demo.Plan pages = Demo.Plan.of(1L << 30, 1L << 20); // 1 MiB of runs, a 2 GiB page file
        e = assertThrows(Main.UsageException.class, () -> pages.checkRoom(dir, 1L << 30, 1L << 40));
        assertTrue(e.getMessage().contains("a page file of 2.00 GiB"), e.getMessage());
        pages.checkRoom(dir, 2L << 30, 0); // physical memory unknown: not checked
    }

    private static int count(String s, String sub) {
        int n = 0;
        for (int i = s.indexOf(sub); i >= 0; i = s.indexOf(sub, i + 1)) {
            n++;
        }
        return n;
    }
}
