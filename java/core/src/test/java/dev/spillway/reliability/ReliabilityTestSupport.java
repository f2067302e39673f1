package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Managers made by a reliability test are checked after it, the way Caffeine's validator checks
 * a cache: both pools' invariants, the accountant's usage equal to the memory the pools hold;
 * then closed, and then nothing may be left: no memory accounted, no temporary file, no file
 * descriptor open on anything under the test's directory, and aligned buffers and zstd codecs
 * back to where they were before the test.
 */
abstract class ReliabilityTestSupport {
    @TempDir
    Path dir;

    private final List<StandardBufferManager> managers = new ArrayList<>();
    private long alignedBefore;
    private long codecsBefore;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @BeforeEach
    void recordNativeBaseline() {
        alignedBefore = AlignedBuffer.liveCount();
        codecsBefore = Backends.liveCodecs();
    }

    Path tempDir() {
        return dir.resolve("tmp");
    }

    /** A manager whose temporary files go to {@link #tempDir()}, no temporary size limit. */
    StandardBufferManager manager(IoBackend backend, long memoryLimit) {
        return manager(BufferManager.builder().backend(backend).memoryLimit(memoryLimit).temporaryDirectory(tempDir())
                .temporaryDirectoryLimit(BufferManager.Builder.UNLIMITED));
    }

    StandardBufferManager manager(BufferManager.Builder b) {
        StandardBufferManager m = (StandardBufferManager) b.build();
        managers.add(m);
        return m;
    }

    /** Both pools' invariants, and the accountant's usage equal to what the pools hold. */
    static void assertConsistent(StandardBufferManager m) {
        m.checkInvariants();
        List<String> problems = m.transientBuffers().checkInvariants();
        assertTrue(problems.isEmpty(), "transient buffer invariants: " + problems);
        assertEquals(m.accountant().used(MemoryTag.PAGE_CACHE) + m.transientBuffers().residentBytes(), m.memoryUsed(),
                "accounted memory equals the frames plus the transient buffers in memory: " + m.memoryUsage());
    }

    @AfterEach
    void validateAndClose() throws IOException {
        try {
            for (StandardBufferManager m : managers) {
                assertConsistent(m);
            }
        } finally {
            RuntimeException failure = null;
            for (StandardBufferManager m : managers) {
                try {
                    m.close(); // each one, even if an earlier one fails (a test that failed with faults on)
                    assertEquals(0, m.memoryUsed(), "memory still accounted after close");
                } catch (RuntimeException e) {
                    if (failure == null) {
                        failure = e;
                    } else {
                        failure.addSuppressed(e);
                    }
                }
            }
            managers.clear();
            if (failure != null) {
                throw failure;
            }
        }
        assertNoTempFiles();
        assertEquals(List.of(), openDescriptorsUnder(dir), "file descriptors left open");
        assertEquals(alignedBefore, AlignedBuffer.liveCount(), "aligned buffers (native memory) leaked");
        assertEquals(codecsBefore, Backends.liveCodecs(), "zstd codecs (native contexts) leaked");
    }

    void assertNoTempFiles() throws IOException {
        List<String> left = tempFiles();
        assertTrue(left.isEmpty(), "temporary files left: " + left);
    }

    /** Names of the files in the temporary directory (owner records and temp files). */
    List<String> tempFiles() throws IOException {
        if (!Files.isDirectory(tempDir())) {
            return List.of();
        }
        try (Stream<Path> s = Files.list(tempDir())) {
            return s.map(p -> p.getFileName().toString()).sorted().collect(Collectors.toList());
        }
    }

    /** What this process's descriptors under {@code root} point to, from /proc/self/fd. */
    static List<String> openDescriptorsUnder(Path root) throws IOException {
        List<String> out = new ArrayList<>();
        String prefix = root.toAbsolutePath().toString();
        try (Stream<Path> s = Files.list(Path.of("/proc/self/fd"))) {
            for (Path fd : s.collect(Collectors.toList())) {
                try {
                    String target = Files.readSymbolicLink(fd).toString();
                    if (target.startsWith(prefix)) {
                        out.add(fd.getFileName() + " -> " + target);
                    }
                } catch (IOException e) {
                    // closed between listing and reading: not ours to count
                }
            }
        }
        return out;
    }

    // ---------------------------------------------------------------- data

    /** Fills a page with a pattern derived from (version, page). */
    static void fill(PageHandle h, long version) {
        for (int off = 0; off + 8 <= h.size(); off += 8) {
            h.putLong(off, pattern(h.pageNumber(), version, off));
        }
    }

    static long pattern(long page, long version, int offset) {
        return version * 0x9E3779B97F4A7C15L + page * 1_000_003L + offset;
    }

    static void check(PageHandle h, long version) {
        for (int off = 0; off + 8 <= h.size(); off += 8) {
            long want = pattern(h.pageNumber(), version, off);
            if (h.getLong(off) != want) {
                throw new AssertionError("page " + h.pageNumber() + " of " + h.file().path() + " at " + off
                        + ": not version " + version);
            }
        }
    }

    /**
     * Creates {@code p} in {@code m} with pages 1..6 written (version 1), frees 3 then 5 and
     * flushes: the header's free list is 5 -> 3, both nodes on disk. The start of the crash-state tests.
     */
    static PageFile sixPagesWithFiveAndThreeFree(StandardBufferManager m, Path p, int pageSize) {
        PageFile f = m.createPageFile(p, pageSize);
        for (int i = 0; i < 6; i++) {
            write(f, f.allocatePage(), 1);
        }
        f.freePage(3);
        f.freePage(5);
        f.flush();
        return f;
    }

    static void write(PageFile f, long page, long version) {
        try (PageHandle h = f.pin(page, AccessIntent.WRITE)) {
            fill(h, version);
        }
    }

    static void verify(PageFile f, long page, long version) {
        try (PageHandle h = f.pin(page, AccessIntent.READ)) {
            check(h, version);
        }
    }

    /** Fills a transient buffer from a seed (long words; compressible enough to take the zstd path). */
    static void fillBuffer(ByteBuffer b, long seed) {
        for (int off = 0; off + 8 <= b.capacity(); off += 8) {
            b.putLong(off, seed * 31 + (off >> 6));
        }
    }

    static void checkBuffer(ByteBuffer b, long seed, String what) {
        for (int off = 0; off + 8 <= b.capacity(); off += 8) {
            if (b.getLong(off) != seed * 31 + (off >> 6)) {
                throw new AssertionError(what + ": differs at byte " + off);
            }
        }
    }

    static <T extends Throwable> T findCause(Throwable e, Class<T> type) {
        for (Throwable c = e; c != null; c = c.getCause()) {
            if (type.isInstance(c)) {
                return type.cast(c);
            }
        }
        throw new AssertionError("no " + type.getSimpleName() + " among the causes of " + e, e);
    }

    static void assertMentions(Throwable e, String... parts) {
        for (String p : parts) {
            assertTrue(e.getMessage() != null && e.getMessage().contains(p),
                    "message should name '" + p + "': " + e.getMessage());
        }
    }
}
