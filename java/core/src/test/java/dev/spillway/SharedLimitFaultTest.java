package dev.spillway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Failures on one side of the shared limit must not fail reservations the other side can serve:
 * a page whose write-back fails is one victim that cannot go, not a full pool.
 */
class SharedLimitFaultTest {
    private static final int BLOCK = 256 * 1024;
    private static final int PAGE = 64 * 1024;

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    private static long tagSum(BufferManager bm) {
        return bm.tagUsage().stream().mapToLong(TagUsage::memoryBytes).sum();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFailingWriteBackDoesNotFailAllocationsThatBuffersCanServe(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 1);
        List<TransientBuffer> buffers = new ArrayList<>();
        try (BufferManager bm = BufferManager.builder().backend(io).memoryLimit(PAGE + 3L * (BLOCK - PAGE)) // full with the page and three buffers
                .temporaryDirectory(dir.resolve("tmp")).temporaryDirectoryLimit(BufferManager.Builder.UNLIMITED).build()) {
            PageFile f = bm.createPageFile(dir.resolve("data.pages"), PAGE);
            long p = f.allocatePage(); // resident and dirty: eviction must write it back first
            for (int i = 0; i < 3; i++) {
                try (BufferHandle h = bm.allocateBuffer(MemoryTag.HASH_TABLE, BLOCK - PAGE)) {
                    buffers.add(h.transientBuffer()); // unpinned: evictable by spilling
                }
            }
            io.inject(Op.WRITE).on(path -> path.toString().endsWith("data.pages"));
            // Each of these fits once a HASH_TABLE buffer is spilled, whichever pool is asked first.
            List<BufferHandle> pinned = new ArrayList<>();
            try {
                for (int i = 0; i < 3; i++) {
                    int n = i;
                    BufferHandle h = assertDoesNotFailWith(() -> bm.allocateBuffer(MemoryTag.ORDER_BY, BLOCK - PAGE),
                            "allocation " + n + " with spillable buffers left: " + bm.memoryUsage());
                    pinned.add(h);
                    buffers.add(h.transientBuffer());
                    assertTrue(bm.memoryUsed() <= bm.memoryLimit());
                }
                // Now only the dirty page could make room: its write-back error reaches the caller.
                SpillwayException e = assertThrows(SpillwayException.class,
                        () -> bm.allocateBuffer(MemoryTag.ORDER_BY, BLOCK - PAGE));
                assertTrue(e.getMessage().contains("writing the dirty page back failed"), e.getMessage());
                assertEquals(bm.memoryUsed(), tagSum(bm));
            } finally {
                pinned.forEach(BufferHandle::close);
            }
            io.clear();
            assertEquals(0, bm.stats().buffersReadBack());
            buffers.forEach(TransientBuffer::free);
            f.freePage(p);
            f.close();
            ((StandardBufferManager) bm).checkInvariants();
            assertEquals(List.of(), ((StandardBufferManager) bm).transientBuffers().checkInvariants());
            assertEquals(0, bm.memoryUsed());
        }
        assertEquals(0, AlignedBuffer.liveCount(), "native memory left after close");
    }

    private static BufferHandle assertDoesNotFailWith(java.util.function.Supplier<BufferHandle> s, String what) {
        try {
            return s.get();
        } catch (SpillwayException e) {
            throw new AssertionError(what + " failed: " + e.getMessage(), e);
        }
    }
}
