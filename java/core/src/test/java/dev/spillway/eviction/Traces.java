package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.fail;

import java.io.IOException;
import java.io.UncheckedIOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import java.util.Map;
import java.util.concurrent.ConcurrentHashMap;

/** The LIRS traces of {@code shared/traces}, found through the {@code spillway.traces} property (set in the pom). */
final class Traces {
    static final List<String> ALL = List.of("gli", "multi1", "sprite", "loop", "2_pools", "ps");
    private static final Map<String, long[]> CACHE = new ConcurrentHashMap<>();

    private Traces() {}

    static Path folder() {
        String dir = System.getProperty("spillway.traces");
        if (dir == null) {
            fail("system property spillway.traces is not set; java/core/pom.xml sets it for surefire "
                    + "to ${maven.multiModuleProjectDirectory}/../shared/traces");
        }
        Path path = Path.of(dir);
        if (!Files.isDirectory(path)) {
            fail("trace folder " + path.toAbsolutePath().normalize() + " (spillway.traces) does not exist; "
                    + "clone the repository with shared/ beside it");
        }
        return path;
    }

    static long[] load(String name) {
        return CACHE.computeIfAbsent(name, n -> {
            Path file = folder().resolve(n + ".trace.gz");
            if (!Files.isRegularFile(file)) {
                fail("trace " + file + " is missing");
            }
            try {
                return TraceReader.read(file);
            } catch (IOException e) {
                throw new UncheckedIOException(e);
            }
        });
    }
}
