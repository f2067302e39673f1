package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.CorruptDataException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.Backends;
import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Collections;
import java.util.HashMap;
import java.util.HashSet;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * Kills a {@link CrashChild} with SIGKILL at random points, many times over the same page file and
 * temporary directory (20 kills; 200 with {@code -Dspillway.long.tests=true}), and checks after each.
 *
 * <h2>The guarantee checked</h2>
 * A flush writes every dirty page, then the header (page count, free list), then fdatasync; the
 * header on disk is therefore the one of the last flush that got as far as writing it. After a
 * crash, for every page, with "old" its state at the last completed flush and "new" any state the
 * child gave it since:
 * <ul>
 * <li>the file opens, with no exception (a free list that later steps had reused is rebuilt);
 * <li>a page that existed at the last flush still exists; a page the last flush had as data reads
 *     back as exactly one version, the flushed one or one written since (never a mix, never one
 *     never written); a page allocated since may read as zeros (allocated, data not yet written);
 * <li>a page may be on the free list only if it was free at the last flush or freed since; a page
 *     freed since may also still hold its flushed data (a free reaches the disk with the next header);
 * <li>no page fails its read, except one written since the last flush that the kill tore: that is a
 *     {@link CorruptDataException} (its checksum), never returned. (A SIGKILL does not tear an
 *     O_DIRECT write; buffered writes of pages over 4 KiB, on tmpfs say, can tear.)
 * <li>a new manager on the temporary directory removes every file the dead process left there.
 * </ul>
 */
class CrashTest {
    static final boolean LONG = Boolean.getBoolean("spillway.long.tests");
    static final int KILLS = LONG ? 200 : 20;
    /** Memory for 12 pages and 2 spill blocks: pages are written back and buffers spilled all the time. */
    static final long LIMIT = 12L * CrashChild.PAGE_SIZE + 2L * CrashChild.BLOCK;

    @TempDir
    Path dir;

    /** What the parent knows of a page: a version, zeros, free, or nothing (not in the file). */
    private static final long FREE = -10;
    private static final long ZEROS = -2;

    @Test
    void killedAtRandomPointsWhileWritingFlushingAndSpilling() throws Exception {
        Random rnd = new Random(20261121);
        List<String> kinds = Backends.available().stream().map(b -> b.kind().name().toLowerCase())
                .collect(Collectors.toList());
        Map<Long, Long> state = new HashMap<>(); // page -> version / ZEROS / FREE, as the parent last saw it
        int runsWithTempFiles = 0;
        int tornDetected = 0;
        int versionsNewerThanFlush = 0;
        long eventsSeen = 0;
        for (int run = 0; run < KILLS; run++) {
            String kind = kinds.get(run % kinds.size());
            Run r = runAndKill(run, kind, rnd.nextInt(400));
            eventsSeen += r.lines.size();
            if (run == 0) {
                for (long p = 1; p <= CrashChild.INITIAL_PAGES; p++) {
                    state.put(p, 0L);
                }
            }
            // the start state the child saw (it freed any leftover free-list node before "R"), then its steps:
            // base is the state at the last flush it reported, since what it gave each page after that
            Map<Long, Long> current = new HashMap<>(state);
            Map<Long, Long> base = new HashMap<>(state);
            Map<Long, Set<Long>> since = new HashMap<>();
            for (String line : r.lines) {
                String[] w = line.split(" ");
                long page = w.length > 1 ? Long.parseLong(w[1]) : 0;
                long now;
                switch (w[0]) {
                    case "F":
                        base = new HashMap<>(current);
                        since.clear();
                        continue;
                    case "W":
                        now = Long.parseLong(w[2]);
                        break;
                    case "X":
                        now = FREE;
                        break;
                    case "A":
                        now = ZEROS;
                        break;
                    default:
                        throw new AssertionError("run " + run + ": the child said " + line);
                }
                current.put(page, now);
                since.computeIfAbsent(page, k -> new HashSet<>()).add(now);
            }
            // temporary files of the dead child: a new manager on the directory removes them
            Path tmp = dir.resolve("tmp");
            List<String> left = listNames(tmp).stream().filter(n -> n.contains(r.owner)).collect(Collectors.toList());
            if (left.stream().anyMatch(n -> n.endsWith(".tmp"))) {
                runsWithTempFiles++;
            }
            Map<Long, Long> seen = new HashMap<>();
            try (BufferManager bm = BufferManager.builder().memoryLimit(64L << 20).temporaryDirectory(tmp).build()) {
                List<String> after = listNames(tmp).stream().filter(n -> n.contains(r.owner)).collect(Collectors.toList());
                assertEquals(List.of(), after, "run " + run + ": files of the killed process " + r.owner
                        + " left after a new manager started (before: " + left + ")");
                PageFile f;
                try {
                    f = bm.openPageFile(dir.resolve("data.pf"), CrashChild.PAGE_SIZE);
                } catch (RuntimeException e) {
                    throw new AssertionError("run " + run + " (" + kind + "): the page file does not open after the kill: "
                            + e, e);
                }
                long count = f.pageCount();
                Set<Long> pages = new HashSet<>(base.keySet());
                pages.addAll(since.keySet());
                for (long p = 1; p < Math.max(count, Collections.max(pages) + 1); p++) {
                    Long old = base.get(p);
                    Set<Long> news = since.getOrDefault(p, Set.of());
                    String where = "run " + run + " (" + kind + "), page " + p + ": old " + old + ", since the last flush "
                            + news + ": ";
                    if (p >= count) {
                        assertTrue(old == null, where + "missing from the file (page count " + count + ")");
                        continue;
                    }
                    long got;
                    try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                        got = CrashChild.versionOf(h);
                    } catch (IllegalArgumentException e) {
                        got = FREE;
                    } catch (CorruptDataException e) {
                        if (e.getMessage().contains("checksum") && news.stream().anyMatch(v -> v >= 0)) {
                            tornDetected++; // a write in flight torn by the kill, caught by its checksum
                            seen.put(p, FREE);
                            f.freePage(p);
                            continue;
                        }
                        throw new AssertionError(where + "unreadable: " + e, e);
                    }
                    if (got == -1) {
                        fail(where + "holds a mix of versions (a torn page returned silently)");
                    }
                    boolean ok = got == FREE ? (old != null && old == FREE) || news.contains(FREE)
                            : (old != null && got == old) || news.contains(got);
                    assertTrue(ok, where + "holds " + (got == FREE ? "free" : got == ZEROS ? "zeros" : "version " + got));
                    if (got >= 0 && (old == null || got != old)) {
                        versionsNewerThanFlush++;
                    }
                    seen.put(p, got);
                }
                f.close();
            }
            state = seen;
        }
        assertTrue(runsWithTempFiles > 0, "no kill left a temporary file: the test did not exercise the cleanup");
        System.out.printf("crash test: %d kills, %d events, %d runs left temp files (all removed), %d page versions"
                + " newer than the last flush kept, %d torn pages detected%n",
                KILLS, eventsSeen, runsWithTempFiles, versionsNewerThanFlush, tornDetected);
    }

    /** The child's lines and its owner id. */
    private static final class Run {
        final List<String> lines;
        final String owner;

        Run(List<String> lines, String owner) {
            this.lines = lines;
            this.owner = owner;
        }
    }

    private Run runAndKill(int run, String kind, int delayMs) throws Exception {
        String java = ProcessHandle.current().info().command().orElseThrow();
        Path err = dir.resolve("child-" + run + ".err");
        ProcessBuilder pb = new ProcessBuilder(java, "--enable-native-access=ALL-UNNAMED", "-Xmx256m", "-XX:TieredStopAtLevel=1",
                "-Dspillway.backend=" + kind, "-cp", System.getProperty("java.class.path"), CrashChild.class.getName(),
                dir.toString(), Long.toString(run * 7919L + 1), Long.toString(run * 1_000_000L), Long.toString(LIMIT));
        pb.redirectError(err.toFile());
        // stdout to a file, not a pipe: every line the child wrote before the kill is there, whatever
        // the timing of a reader (a pipe read by a thread can lose its tail when the process dies)
        Path outFile = dir.resolve("child-" + run + ".out");
        pb.redirectOutput(outFile.toFile());
        Process proc = pb.start();
        try {
            long deadline = System.nanoTime() + 60_000_000_000L;
            while (!Files.readString(outFile, StandardCharsets.US_ASCII).contains("\nR\n")) {
                if (System.nanoTime() > deadline || !proc.isAlive()) {
                    fail("run " + run + ": the child did not start: " + Files.readString(err));
                }
                Thread.sleep(5);
            }
            Thread.sleep(delayMs);
            assertTrue(proc.isAlive(), "run " + run + ": the child died by itself: " + Files.readString(err));
        } finally {
            proc.destroyForcibly(); // SIGKILL
            assertTrue(proc.waitFor(30, TimeUnit.SECONDS), "run " + run + ": the child did not die");
        }
        List<String> all = Files.readAllLines(outFile, StandardCharsets.US_ASCII);
        String owner = null;
        List<String> lines = new ArrayList<>();
        boolean ready = false;
        for (String l : all) {
            if (l.startsWith("O ")) {
                owner = l.substring(2);
            } else if (l.equals("R")) {
                ready = true;
            } else if (ready && !l.isEmpty()) {
                lines.add(l);
            }
        }
        if (!lines.isEmpty() && !Files.readString(outFile, StandardCharsets.US_ASCII).endsWith("\n")) {
            lines.remove(lines.size() - 1); // a line the kill cut short: its step had not begun
        }
        return new Run(lines, owner);
    }

    private static List<String> listNames(Path d) throws IOException {
        if (!Files.isDirectory(d)) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(d)) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

}
