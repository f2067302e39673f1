package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A file filled page by page through write pins, flushed and closed, holds every page on disk:
 * its length covers the header's page count and each page reads back with its own number.
 * (Found as a one-page-short file by the miss-path benchmark's smoke run.)
 */
class PageFileCompletenessTest {
    private static final int PAGE = 4096;

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void everyWrittenPageIsOnDiskAfterClose(IoBackend b) throws Exception {
        for (int round = 0; round < 25; round++) {
            Path file = dir.resolve("complete-" + round + ".pf");
            long pages = 512;
            try (BufferManager bm = BufferManager.builder().memoryLimit(64L << 20).backend(b)
                    .temporaryDirectory(dir.resolve("tmp")).build();
                    PageFile pf = bm.createPageFile(file, PAGE)) {
                while (pf.pageCount() < pages) {
                    long p = pf.allocatePage();
                    try (PageHandle h = pf.pin(p, AccessIntent.WRITE)) {
                        h.putLong(0, p);
                    }
                }
                pf.flush();
            }
            assertEquals(pages * PAGE, Files.size(file), "round " + round + ": file length");
            try (BufferManager bm = BufferManager.builder().memoryLimit(64L << 20).backend(b)
                    .temporaryDirectory(dir.resolve("tmp")).build();
                    PageFile pf = bm.openPageFile(file, PAGE)) {
                for (long p = 1; p < pages; p++) {
                    try (PageHandle h = pf.pin(p, AccessIntent.READ)) {
                        assertEquals(p, h.getLong(0), "round " + round + ", page " + p);
                    }
                }
            }
        }
    }
}
