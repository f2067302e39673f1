package dev.spillway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Pages and transient buffers under one memory limit: each evicts the other when it needs the
 * room, usage never passes the limit, and everything comes back intact.
 */
class BufferManagerIntegrationTest {
    private static final int BLOCK = 256 * 1024;
    private static final int PAGE = 64 * 1024;

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    private BufferManager manager(IoBackend b) {
        return BufferManager.builder().backend(b).memoryLimit(10L * BLOCK).temporaryDirectory(dir.resolve("tmp"))
                .temporaryDirectoryLimit(BufferManager.Builder.UNLIMITED).build();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void pagesAndBuffersShareOneLimit(IoBackend b) throws Exception {
        List<TransientBuffer> buffers = new ArrayList<>();
        try (BufferManager bm = manager(b); PageFile f = bm.createPageFile(dir.resolve("data.pages"), PAGE)) {
            // 80 dirty pages = 5 MiB through a 2.5 MiB limit: pages are written back and evicted
            for (int i = 0; i < 80; i++) {
                long p = f.allocatePage();
                try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                    h.putLong(0, p * 31);
                }
                assertTrue(bm.memoryUsed() <= bm.memoryLimit());
            }
            // 30 transient buffers: they push the pages out, then spill each other
            for (int i = 0; i < 30; i++) {
                try (BufferHandle h = bm.allocateBuffer(MemoryTag.HASH_TABLE, BLOCK)) {
                    h.buffer().putLong(0, i);
                    h.buffer().putLong(BLOCK - 8, -i);
                    buffers.add(h.transientBuffer());
                }
                assertTrue(bm.memoryUsed() <= bm.memoryLimit(), bm.memoryUsage().toString());
            }
            assertTrue(bm.memoryUsage().getOrDefault(MemoryTag.PAGE_CACHE, 0L) < 2L * BLOCK,
                    "buffers should have evicted most pages: " + bm.memoryUsage());
            assertFalse(bm.temporaryFiles().isEmpty(), "buffers beyond the limit must have spilled");
            long tempBytes = bm.tagUsage().stream().filter(u -> u.tag() == MemoryTag.HASH_TABLE)
                    .mapToLong(TagUsage::temporaryStorageBytes).sum();
            assertTrue(tempBytes > 0);
            // pages come back (read from disk, checksummed) and evict buffers in turn
            for (long p = 1; p <= 80; p++) {
                try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                    assertEquals(p * 31, h.getLong(0), "page " + p);
                }
            }
            for (int i = 0; i < buffers.size(); i++) {
                try (BufferHandle h = buffers.get(i).pin()) {
                    assertEquals(i, h.buffer().getLong(0));
                    assertEquals(-i, h.buffer().getLong(BLOCK - 8));
                }
            }
            // with everything pinned, a reservation fails with the numbers
            List<BufferHandle> pinned = new ArrayList<>();
            try {
                for (int i = 0; i < 10; i++) {
                    pinned.add(buffers.get(i).pin());
                }
                MemoryLimitExceededException e = assertThrows(MemoryLimitExceededException.class,
                        () -> bm.allocateBuffer(MemoryTag.ORDER_BY, BLOCK));
                assertEquals(BLOCK, e.requested());
                assertEquals(10L * BLOCK, e.limit());
                assertTrue(e.getMessage().contains("HASH_TABLE"), e.getMessage());
            } finally {
                pinned.forEach(BufferHandle::close);
            }
            buffers.forEach(TransientBuffer::free);
            ((StandardBufferManager) bm).checkInvariants();
            assertTrue(((StandardBufferManager) bm).transientBuffers().checkInvariants().isEmpty());
            assertEquals(0, bm.memoryUsage().getOrDefault(MemoryTag.HASH_TABLE, 0L));
        }
        try (Stream<Path> left = Files.list(dir.resolve("tmp").getParent())) {
            assertFalse(Files.exists(dir.resolve("tmp")), "the temp dir the manager created is removed on close: "
                    + left.toList());
        }
        assertEquals(0, AlignedBuffer.liveCount(), "native memory left after close");
        assertEquals(0, Backends.liveCodecs(), "codecs left after close");
    }
}
