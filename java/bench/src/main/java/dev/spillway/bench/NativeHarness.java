package dev.spillway.bench;

import java.io.IOException;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;

/**
 * Runs the native benchmark harness ({@code native/bench/spw_bench.c}) as a child process and reads
 * its JSON: the no-JVM reference that the Java-side figures are ratios against.
 */
public final class NativeHarness {
    private final Path binary;
    private final List<String> commands = new ArrayList<>();

    public NativeHarness(Path binary) {
        if (!Files.isExecutable(binary)) {
            throw new IllegalArgumentException(binary + " is not an executable (build it: cmake -S . -B build/native "
                    + "-DCMAKE_BUILD_TYPE=Release && cmake --build build/native --target spw_bench)");
        }
        this.binary = binary;
    }

    public Path binary() {
        return binary;
    }

    /** Every command line run so far, for the report. */
    public List<String> commands() {
        return List.copyOf(commands);
    }

    /** Runs the harness with {@code args}; result name → {median, min, max} ns per operation. */
    public Map<String, double[]> run(List<String> args) throws IOException, InterruptedException {
        List<String> cmd = new ArrayList<>();
        cmd.add(binary.toString());
        cmd.addAll(args);
        Process p = new ProcessBuilder(cmd).redirectErrorStream(false).start();
        String json = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        if (p.waitFor() != 0) {
            throw new IllegalStateException(String.join(" ", cmd) + " failed with exit code " + p.exitValue() + ": "
                    + err.strip());
        }
        String line = String.join(" ", cmd);
        if (!commands.contains(line)) {
            commands.add(line);
        }
        return BindingOverheadReport.parse(json);
    }

    /** build/native/spw_bench under the first directory upwards from the working directory that has a CMakeLists.txt; null if none. */
    public static Path find() {
        for (Path d = Path.of("").toAbsolutePath(); d != null; d = d.getParent()) {
            if (Files.exists(d.resolve("CMakeLists.txt"))) {
                Path h = d.resolve("build/native/spw_bench");
                return Files.isExecutable(h) ? h : null;
            }
        }
        return null;
    }
}
