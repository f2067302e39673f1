package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.BufferManagerStats;
import dev.spillway.ClosedException;
import dev.spillway.PageFile;
import dev.spillway.MemoryTag;
import dev.spillway.PageHandle;
import dev.spillway.TransientBuffer;
import dev.spillway.io.IoBackend;
import dev.spillway.io.SpillFormat;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The public API's javadoc, method by method, as an embedding developer reads it, on every backend. */
class PublicApiContractTest extends PoolTestBase {
    private StandardBufferManager bm(IoBackend b) {
        return manager(BufferManager.builder().backend(b).memoryLimit(1 << 20).temporaryDirectory(dir.resolve("tmp")));
    }

    /** BufferManager.close: "Fails, leaving the manager open, while a page is pinned" - its other files included. */
    @ParameterizedTest
    @MethodSource("backends")
    void aCloseRefusedForAPinnedPageLeavesEveryFileOpen(IoBackend b) {
        StandardBufferManager bm = bm(b);
        List<PageFile> others = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            PageFile g = bm.createPageFile(dir.resolve("other" + i + ".pages"), 4096);
            write(g, g.allocatePage(), i);
            others.add(g);
        }
        PageFile f = bm.createPageFile(dir.resolve("pinned.pages"), 4096);
        long p = f.allocatePage();
        try (PageHandle h = f.pin(p, AccessIntent.READ)) {
            IllegalStateException e = assertThrows(IllegalStateException.class, bm::close);
            assertTrue(e.getMessage().contains("page " + p) && e.getMessage().contains(f.path().toString()), e.getMessage());
        }
        for (int i = 0; i < others.size(); i++) {
            PageFile g = others.get(i);
            assertTrue(g.isOpen(), g.path() + " was closed by a manager close that failed and left the manager open");
            verify(g, 1, i);
        }
        assertEquals(5, bm.openFiles().size());
    }

    /** Every setter of a closed manager is a ClosedException, as setMemoryLimit is; the temporary-directory limit was silently changed. */
    @ParameterizedTest
    @MethodSource("backends")
    void aClosedManagerRefusesANewTemporaryDirectoryLimit(IoBackend b) {
        StandardBufferManager bm = bm(b);
        bm.close();
        assertThrows(ClosedException.class, () -> bm.setMemoryLimit(1 << 22));
        ClosedException e = assertThrows(ClosedException.class, () -> bm.setTemporaryDirectoryLimit(1 << 22));
        assertTrue(e.getMessage().contains("temporary directory limit") && e.getMessage().contains(String.valueOf(1 << 22)),
                e.getMessage());
    }

    /** openPageFile(path, expectedPageSize): 0 is no page size, so it is refused as 5000 is, not taken as "any". */
    @ParameterizedTest
    @MethodSource("backends")
    void openWithAnExpectedPageSizeOfZeroIsRefused(IoBackend b) {
        StandardBufferManager bm = bm(b);
        bm.createPageFile(dir.resolve("p.pages"), 8192).close();
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> bm.openPageFile(dir.resolve("p.pages"), 0));
        assertTrue(e.getMessage().contains("page size 0"), e.getMessage());
        assertEquals(8192, bm.openPageFile(dir.resolve("p.pages"), 8192).pageSize()); // nothing was left open
    }

    /**
     * spillCompressionLevel(-1000) is a zstd level by its javadoc ("negative levels are the fastest")
     * and zstd accepts it, but -1000 is also SpillFormat.LEVEL_NONE: blocks were silently stored raw.
     * The builder refuses it, naming the setting and the way to ask for no compression.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aSpillLevelEqualToTheNoCompressionMarkerIsRefused(IoBackend b) {
        assertTrue(SpillFormat.LEVEL_NONE >= b.minLevel(), "a zstd level of the backend");
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class,
                () -> BufferManager.builder().backend(b).spillCompressionLevel(SpillFormat.LEVEL_NONE));
        assertTrue(e.getMessage().contains("spill compression level " + SpillFormat.LEVEL_NONE)
                && e.getMessage().contains("spillCompressionNone"), e.getMessage());
        // the levels around it are real zstd levels, and compress
        StandardBufferManager bm = manager(BufferManager.builder().backend(b).memoryLimit(1 << 20)
                .temporaryDirectory(dir.resolve("tmp")).spillCompressionLevel(SpillFormat.LEVEL_NONE + 1));
        List<TransientBuffer> spilled = new ArrayList<>();
        for (int i = 0; i < 8; i++) {
            try (BufferHandle h = bm.allocateBuffer(MemoryTag.ORDER_BY, 256 * 1024)) { // zeros
                spilled.add(h.transientBuffer());
            }
        }
        BufferManagerStats s = bm.stats();
        assertTrue(s.buffersSpilled() > 0 && s.compressionRatio() > 2, s.toString());
        spilled.forEach(TransientBuffer::free);
    }

    /** A closed file's flush is a ClosedException naming the operation the caller called (it said "sync: ..."). */
    @ParameterizedTest
    @MethodSource("backends")
    void flushOfAClosedFileNamesTheFlush(IoBackend b) {
        StandardBufferManager bm = bm(b);
        PageFile f = bm.createPageFile(dir.resolve("p.pages"), 4096);
        f.close();
        ClosedException e = assertThrows(ClosedException.class, f::flush);
        assertTrue(e.getMessage().startsWith("flush " + f.path() + ": the page file is closed"), e.getMessage());
    }

    /** Any page number of a closed file is a ClosedException (page 0 and page -1 were range errors first). */
    @ParameterizedTest
    @MethodSource("backends")
    void everyPageOfAClosedFileIsClosed(IoBackend b) {
        StandardBufferManager bm = bm(b);
        PageFile f = bm.createPageFile(dir.resolve("c.pages"), 4096);
        long p = f.allocatePage();
        f.close();
        for (long page : new long[] {p, 0, -1, 1L << 50}) {
            ClosedException e = assertThrows(ClosedException.class, () -> f.pin(page, dev.spillway.AccessIntent.READ));
            assertTrue(e.getMessage().contains("page " + page + " of " + f.path()) && e.getMessage().contains("closed"),
                    e.getMessage());
            assertThrows(ClosedException.class, () -> f.freePage(page));
        }
    }

    /**
     * A temporary-directory limit of 0 means no spilling, from the builder as from the setter (the
     * builder refused 0 while the setter took it): buffers beyond the memory limit are refused, and
     * no temporary file is written.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aTemporaryDirectoryLimitOfZeroMeansNoSpilling(IoBackend b) {
        StandardBufferManager bm = manager(BufferManager.builder().backend(b).memoryLimit(1 << 20)
                .temporaryDirectory(dir.resolve("tmp0")).temporaryDirectoryLimit(0));
        assertThrows(IllegalArgumentException.class, () -> BufferManager.builder().temporaryDirectoryLimit(-1));
        List<TransientBuffer> held = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            try (BufferHandle h = bm.allocateBuffer(MemoryTag.HASH_TABLE, 256 * 1024)) {
                held.add(h.transientBuffer());
            }
        }
        RuntimeException e = assertThrows(RuntimeException.class, () -> bm.allocateBuffer(MemoryTag.HASH_TABLE, 256 * 1024));
        assertTrue(e instanceof dev.spillway.TemporaryDirectoryLimitException
                || e instanceof dev.spillway.MemoryLimitExceededException, e.toString());
        assertEquals(0, bm.stats().buffersSpilled());
        assertTrue(bm.temporaryFiles().isEmpty(), bm.temporaryFiles().toString());
        held.get(0).free();
        bm.allocateBuffer(MemoryTag.HASH_TABLE, 256 * 1024).close(); // room again
        bm.setTemporaryDirectoryLimit(0);
        held.forEach(t -> {
            if (t != held.get(0)) {
                t.free();
            }
        });
    }
}
