package dev.spillway;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;

import java.nio.file.Path;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The README's tour, as code that must keep compiling and working. */
class ReadmeExampleTest {
    @TempDir
    Path dir;

    @Test
    void tourWorks() {
        try (BufferManager bm = BufferManager.builder()
                .memoryLimit(256L << 20)
                .evictionPolicy("wlirs")
                .temporaryDirectory(dir.resolve("tmp"))
                .build()) {
            try (PageFile f = bm.createPageFile(dir.resolve("data.pages"), 8192)) {
                long p = f.allocatePage();
                try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                    h.putLong(0, 42);
                }
                f.flush();
                try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                    assertEquals(42, h.getLong(0));
                }
            }
            TransientBuffer sortRun;
            try (BufferHandle h = bm.allocateBuffer(MemoryTag.ORDER_BY, 256 * 1024)) {
                h.buffer().putLong(0, 7);
                sortRun = h.transientBuffer();
            }
            try (BufferHandle h = sortRun.pin()) {
                assertEquals(7, h.buffer().getLong(0));
            }
            sortRun.free();
            assertFalse(bm.tagUsage().isEmpty());
            assertEquals(0, bm.memoryUsage().getOrDefault(MemoryTag.ORDER_BY, 0L));
            assertEquals(2, bm.stats().pageHits()); // both pins found the page resident
        }
    }
}
