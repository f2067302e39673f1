package dev.spillway.spill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.memory.MemoryAccountant;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Shared by the spill tests: pools made here are validated after each test (accounting equals
 * the live buffers, every temporary slot accounted for), then closed and checked for leftovers
 * (no memory accounted, no temporary file of the pool, no aligned buffer or zstd codec leaked).
 */
abstract class SpillTestSupport {
    static final int BLOCK = TemporaryFileManager.BLOCK_SIZE;

    @TempDir
    Path tmp;

    private final List<Fixture> fixtures = new ArrayList<>();

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    /**
     * After every block was freed or read back: what is left are emptied size-class files kept
     * for reuse (TemporaryFileManager's "Emptied files"), none holding a block, at most one per
     * class and directory, together within the default retention. close() deletes them (checked
     * after each test).
     */
    static void assertOnlyKeptEmptyFiles(List<dev.spillway.TempFileInfo> files) {
        long bytes = 0;
        java.util.Set<String> classes = new java.util.HashSet<>();
        for (dev.spillway.TempFileInfo t : files) {
            assertEquals(0, t.slotsInUse(), "a file still holds blocks: " + files);
            assertTrue(t.slotSize() > 0, "a file of its own is left: " + files);
            assertTrue(classes.add(t.path().getParent() + " " + t.slotSize()), "two kept files of a class: " + files);
            bytes += t.sizeBytes();
        }
        assertTrue(bytes <= TemporaryFileManager.DEFAULT_EMPTY_FILE_RETENTION, "kept files over the retention: " + files);
    }

    /** A pool, its accountant and its directories. */
    static final class Fixture {
        final MemoryAccountant accountant;
        final TransientBufferPool pool;
        final List<Path> dirs;

        Fixture(MemoryAccountant accountant, TransientBufferPool pool, List<Path> dirs) {
            this.accountant = accountant;
            this.pool = pool;
            this.dirs = dirs;
        }

        TemporaryFileManager temp() {
            return pool.temporaryFileManager();
        }

        void assertConsistent() {
            List<String> problems = pool.checkInvariants();
            assertTrue(problems.isEmpty(), "invariants: " + problems);
            assertEquals(pool.residentBytes(), accountant.used(), "accounted memory equals the live buffers in memory");
        }
    }

    Fixture fixture(IoBackend backend, long memoryLimit, TemporaryFileManager.Config config) {
        MemoryAccountant a = new MemoryAccountant(memoryLimit);
        TransientBufferPool p = new TransientBufferPool(backend, a, config);
        Fixture f = new Fixture(a, p, config.directories());
        fixtures.add(f);
        return f;
    }

    Fixture fixture(IoBackend backend, long memoryLimit) {
        return fixture(backend, memoryLimit, TemporaryFileManager.Config.of(tmp.resolve("spill")));
    }

    @AfterEach
    void validateAndClose() throws IOException {
        try {
            for (Fixture f : fixtures) {
                f.assertConsistent();
                String owner = f.temp().ownerId();
                f.pool.close();
                assertEquals(0, f.accountant.used(), "memory accounted after close");
                for (Path d : f.dirs) {
                    if (Files.isDirectory(d)) {
                        try (Stream<Path> s = Files.list(d)) {
                            List<String> left = s.map(p -> p.getFileName().toString()).filter(n -> n.contains(owner))
                                    .collect(Collectors.toList());
                            assertTrue(left.isEmpty(), "files of the closed pool left in " + d + ": " + left);
                        }
                    }
                }
            }
        } finally {
            for (Fixture f : fixtures) {
                f.pool.close();
            }
            fixtures.clear();
        }
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
        assertEquals(0, Backends.liveCodecs(), "zstd codecs (native contexts) leaked");
    }

    // ---------------------------------------------------------------- data

    /** Fills {@code b} with CSV-like text determined by {@code seed} (compresses about 2-3x with zstd). */
    static void fillCsv(ByteBuffer b, long seed) {
        Random r = new Random(seed);
        int n = b.capacity();
        int i = 0;
        while (i < n) {
            byte[] line = (r.nextInt(1_000_000) + ",customer_" + r.nextInt(5000) + "," + (r.nextInt(100_000) / 100.0)
                    + ",2026-0" + (1 + r.nextInt(9)) + "-1" + r.nextInt(10) + ",OK\n").getBytes(StandardCharsets.US_ASCII);
            int k = Math.min(line.length, n - i);
            b.put(i, line, 0, k);
            i += k;
        }
    }

    /** Fills {@code b} with random bytes determined by {@code seed} (incompressible). */
    static void fillRandom(ByteBuffer b, long seed) {
        byte[] bytes = new byte[b.capacity()];
        new Random(seed).nextBytes(bytes);
        b.put(0, bytes);
    }

    static byte[] contents(ByteBuffer b) {
        byte[] out = new byte[b.capacity()];
        b.get(0, out);
        return out;
    }

    static void assertContents(byte[] expected, ByteBuffer actual, String what) {
        byte[] got = contents(actual);
        if (!java.util.Arrays.equals(expected, got)) {
            int i = java.util.Arrays.mismatch(expected, got);
            throw new AssertionError(what + ": contents differ first at byte " + i + " of " + expected.length);
        }
    }

    static List<Path> listDir(Path d) throws IOException {
        try (Stream<Path> s = Files.list(d)) {
            return s.sorted().collect(Collectors.toList());
        }
    }
}
