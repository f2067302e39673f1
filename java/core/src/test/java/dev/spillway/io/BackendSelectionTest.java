package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.File;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.TimeUnit;
import java.util.stream.Collectors;
import java.util.stream.Stream;
import org.junit.jupiter.api.Test;

/**
 * Which backends load where, and what AUTO says about the others. The child-JVM tests start a
 * second JVM from this one's class path, because native access and JNA's presence are fixed per JVM.
 */
class BackendSelectionTest {
    static final boolean REQUIRE_NATIVE = Boolean.getBoolean("spillway.require.native");
    static final int FEATURE = Runtime.version().feature();

    @Test
    void noNativeBackendSilentlyFellBack() {
        // CI (spillway.require.native=true) builds libspillway and has JNA: each must really load.
        if (REQUIRE_NATIVE) {
            assertNull(Backends.unavailableReason(BackendKind.JNI), "jni");
            assertNull(Backends.unavailableReason(BackendKind.JNA), "jna");
            if (FEATURE >= 22) {
                assertNull(Backends.unavailableReason(BackendKind.FFM), "ffm");
            }
        }
        if (FEATURE < 22) {
            assertTrue(Backends.unavailableReason(BackendKind.FFM).contains("needs JDK 22"),
                    Backends.unavailableReason(BackendKind.FFM));
        }
        List<BackendKind> kinds = Backends.available().stream().map(IoBackend::kind).collect(Collectors.toList());
        assertEquals(kinds.stream().sorted().collect(Collectors.toList()), kinds, "available() is in AUTO's order");
    }

    @Test
    void everyNativeBindingCallsTheSameNoop() {
        for (IoBackend b : Backends.available()) {
            if (b.kind() == BackendKind.NIO) {
                assertTrue(!Diagnostics.hasNativeNoop(b));
                continue;
            }
            assertTrue(Diagnostics.hasNativeNoop(b), b.kind().toString());
            assertEquals(12345, Diagnostics.nativeNoop(b, 12345), b.kind().toString());
            assertEquals(-7, Diagnostics.nativeNoop(b, -7), b.kind().toString());
        }
    }

    @Test
    void ffmWithoutNativeAccessFallsBackWithOneLineSayingWhatToPass() throws Exception {
        if (FEATURE < 22) {
            return; // no ffm backend before JDK 22
        }
        Child c = runChild(List.of(), classPath());
        assertEquals(0, c.exit, c.toString());
        assertTrue(c.stdout.contains("ffm=native access is not enabled for the class path; pass "
                + "--enable-native-access=ALL-UNNAMED"), c.toString());
        // one record from Spillway (the JDK adds its own warning when the jna probe loads the library)
        List<String> ours = c.stderr.lines().filter(l -> l.contains("Spillway")).collect(Collectors.toList());
        assertEquals(1, ours.size(), "exactly one Spillway log line:\n" + c);
        assertTrue(ours.get(0).contains("--enable-native-access=ALL-UNNAMED"), c.toString());
        // with the flag the same child gets an ffm backend
        Child ok = runChild(List.of("--enable-native-access=ALL-UNNAMED"), classPath());
        assertTrue(ok.stdout.contains("ffm=ok"), ok.toString());
    }

    @Test
    void withoutJnaAutoPassesItOverWithTheReason() throws Exception {
        String cp = Stream.of(classPath().split(File.pathSeparator))
                .filter(e -> !Path.of(e).getFileName().toString().startsWith("jna-"))
                .collect(Collectors.joining(File.pathSeparator));
        Child c = runChild(List.of("--enable-native-access=ALL-UNNAMED"), cp);
        assertEquals(0, c.exit, c.toString());
        assertTrue(c.stdout.contains("jna=JNA (net.java.dev.jna:jna) is not on the class path"), c.toString());
    }

    private static String classPath() {
        return System.getProperty("java.class.path");
    }

    record Child(int exit, String stdout, String stderr) {
        @Override
        public String toString() {
            return "exit " + exit + "\n--- stdout\n" + stdout + "--- stderr\n" + stderr;
        }
    }

    private static Child runChild(List<String> jvmArgs, String cp) throws Exception {
        List<String> cmd = new ArrayList<>();
        cmd.add(Path.of(System.getProperty("java.home"), "bin", "java").toString());
        cmd.addAll(jvmArgs);
        cmd.add("-cp");
        cmd.add(cp);
        cmd.add(SelectionProbe.class.getName());
        Process p = new ProcessBuilder(cmd).start();
        p.getOutputStream().close();
        String out = new String(p.getInputStream().readAllBytes(), StandardCharsets.UTF_8);
        String err = new String(p.getErrorStream().readAllBytes(), StandardCharsets.UTF_8);
        assertTrue(p.waitFor(60, TimeUnit.SECONDS), "child JVM hung");
        return new Child(p.exitValue(), out, err);
    }
}
