package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.io.TempDir;

/**
 * Managers made by a test are validated after it (pins back to zero, no frame leaked, PAGE_CACHE
 * accounting equal to the resident frames, policy tracking exactly the resident pages; the transient
 * buffers' own invariants), then closed, and then no native memory may be left: no aligned buffer,
 * no zstd codec.
 */
abstract class PoolTestBase {
    @TempDir
    Path dir;

    private final List<StandardBufferManager> managers = new ArrayList<>();

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    StandardBufferManager manager(IoBackend backend, long limit) {
        return manager(BufferManager.builder().backend(backend).memoryLimit(limit));
    }

    StandardBufferManager manager(BufferManager.Builder b) {
        return managerWithPolicy(b.evictionPolicy(TestLru::new));
    }

    /** A manager with the builder's own policy choice (by name or the default). */
    StandardBufferManager managerWithPolicy(BufferManager.Builder b) {
        StandardBufferManager m = (StandardBufferManager) b.build();
        managers.add(m);
        return m;
    }

    @AfterEach
    void validateAndClose() {
        for (StandardBufferManager m : managers) {
            m.checkInvariants();
            assertEquals(List.of(), m.transientBuffers().checkInvariants(), "transient buffer invariants");
            m.close();
            assertEquals(0, m.memoryUsed(), "memory still accounted after close");
        }
        managers.clear();
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
        assertEquals(0, Backends.liveCodecs(), "zstd codecs (native contexts) leaked");
    }

    /** The word {@link #fill} writes at {@code off} of the page. */
    static long pattern(PageHandle h, long seed, int off) {
        return seed * 31 + h.pageNumber() * 1_000_003L + off;
    }

    /** Fills a page with a pattern derived from (seed, page). */
    static void fill(PageHandle h, long seed) {
        for (int off = 0; off + 8 <= h.size(); off += 8) {
            h.putLong(off, pattern(h, seed, off));
        }
    }

    static void check(PageHandle h, long seed) {
        for (int off = 0; off + 8 <= h.size(); off += 8) {
            long want = pattern(h, seed, off);
            if (h.getLong(off) != want) {
                throw new AssertionError("page " + h.pageNumber() + " of " + h.file().path() + " at " + off + ": "
                        + h.getLong(off) + " != " + want);
            }
        }
    }

    static void write(PageFile f, long page, long seed) {
        try (PageHandle h = f.pin(page, AccessIntent.WRITE)) {
            fill(h, seed);
        }
    }

    static void verify(PageFile f, long page, long seed) {
        try (PageHandle h = f.pin(page, AccessIntent.READ)) {
            check(h, seed);
        }
    }
}
