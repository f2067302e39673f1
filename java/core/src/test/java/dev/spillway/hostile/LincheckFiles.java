package dev.spillway.hostile;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;

/**
 * Files for lincheck instances, which are made by the thousand and have no teardown hook: each
 * gets a directory of its own under one base, on tmpfs where there is one (an fdatasync there
 * costs nothing, and a test of concurrency need not wait on a disk).
 */
final class LincheckFiles {
    private static final Path BASE = createBase();
    /** {@code -Dspillway.long.tests=true} runs every lincheck test 10x longer. */
    static final boolean LONG = Boolean.getBoolean("spillway.long.tests");

    private LincheckFiles() {
    }

    static int scaled(int n) {
        return LONG ? n * 10 : n;
    }

    private static Path createBase() {
        try {
            Path shm = Path.of("/dev/shm");
            Path parent = Files.isDirectory(shm) && Files.isWritable(shm) ? shm : Path.of(System.getProperty("java.io.tmpdir"));
            Path base = Files.createTempDirectory(parent, "spillway-lincheck-");
            Runtime.getRuntime().addShutdownHook(new Thread(() -> deleteTree(base)));
            return base;
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    /** A new directory under the base (a plain Path: lincheck's model checker cannot walk record fields). */
    static Path newScratch(String prefix) {
        try {
            return Files.createTempDirectory(BASE, prefix);
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }

    static void deleteTree(Path p) {
        if (!Files.exists(p)) {
            return;
        }
        try (Stream<Path> s = Files.walk(p)) {
            s.sorted(Comparator.reverseOrder()).forEach(q -> q.toFile().delete());
        } catch (IOException e) {
            throw new UncheckedIOException(e);
        }
    }
}
