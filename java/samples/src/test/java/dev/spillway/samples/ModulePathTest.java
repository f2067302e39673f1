package dev.spillway.samples;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The packaged library jar works as a named module (module {@code dev.spillway}): a child JVM puts
 * it and its optional dependencies on the module path, and a program on the class path uses the
 * exported API through the jni backend, which loads the {@code .so} bundled inside the module.
 */
class ModulePathTest {
    @TempDir
    Path dir;

    @Test
    void libraryWorksOnTheModulePath() throws Exception {
        Path coreJar = Path.of(System.getProperty("spillway.core.jar", "missing"));
        assertTrue(Files.isRegularFile(coreJar), "the packaged core jar is needed: " + coreJar);
        List<String> modulePath = new ArrayList<>();
        modulePath.add(coreJar.toString());
        Arrays.stream(System.getProperty("java.class.path").split(File.pathSeparator))
                .filter(e -> e.contains("zstd-jni") || e.contains(File.separator + "jna-"))
                .forEach(modulePath::add);
        Path probe = dir.resolve("ModuleProbe.java");
        Files.writeString(probe, String.join("\n",
                "import dev.spillway.io.*;",
                "import java.nio.file.*;",
                "import java.util.EnumSet;",
                "public class ModuleProbe {",
                "  public static void main(String[] a) {",
                "    Module m = Backends.class.getModule();",
                "    if (!m.isNamed()) throw new AssertionError(\"dev.spillway is not a named module\");",
                "    IoBackend b = Backends.open(BackendKind.JNI);",
                "    try (IoFile f = b.open(Path.of(a[0]), EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT));",
                "         AlignedBuffer buf = b.allocate(4096)) {",
                "      buf.buffer().putLong(0, 0x5107L);",
                "      f.write(buf.buffer(), 0, 4096, 0);",
                "      buf.buffer().putLong(0, 0);",
                "      f.read(buf.buffer(), 0, 4096, 0);",
                "      if (buf.buffer().getLong(0) != 0x5107L) throw new AssertionError(\"read back wrong\");",
                "    }",
                "    System.out.println(\"module \" + m.getName() + \" backend \" + b.kind());",
                "  }",
                "}"), StandardCharsets.UTF_8);
        String java = ProcessHandle.current().info().command().orElse("java");
        Process p = new ProcessBuilder(java, "--module-path", String.join(File.pathSeparator, modulePath),
                "--add-modules", "dev.spillway", "--enable-native-access=dev.spillway,ALL-UNNAMED",
                probe.toString(), dir.resolve("probe.dat").toString())
                .redirectErrorStream(true).start();
        assertTrue(p.waitFor(120, TimeUnit.SECONDS), "the module-path probe did not finish");
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        assertEquals(0, p.exitValue(), out);
        assertTrue(out.lines().collect(Collectors.toList()).contains("module dev.spillway backend JNI"), out);
    }
}
