package dev.spillway.io;

import java.io.IOException;
import java.io.InputStream;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardCopyOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.ArrayList;
import java.util.List;
import java.util.Locale;

/**
 * Loads libspillway once per JVM, in zstd-jni's order:
 * <ol>
 * <li>the file named by the system property {@code spillway.library.path};</li>
 * <li>{@code libspillway.so} on {@code java.library.path};</li>
 * <li>the copy bundled in the jar at {@code /native/linux/<arch>/libspillway-<version>.so},
 * extracted to a private (0600) temp file and loaded with {@link System#load}.</li>
 * </ol>
 * A failure says what was tried and why each failed.
 */
public final class NativeLibrary {
    /** Must equal SPW_VERSION_STRING of the C core; a mismatched library is refused. */
    public static final String VERSION = "0.1.0";
    private static Path loadedFrom;
    /** The file System.load mapped (bindings that dlopen it themselves, like JNA, need it). */
    private static Path loadedFile;
    private static String failure;

    private NativeLibrary() {
    }

    /** The resource path of the bundled library for this OS and architecture. */
    public static String bundledResource() {
        String os = System.getProperty("os.name", "").toLowerCase(Locale.ROOT).startsWith("linux") ? "linux"
                : System.getProperty("os.name", "unknown").toLowerCase(Locale.ROOT).replace(' ', '_');
        String arch = System.getProperty("os.arch", "unknown").toLowerCase(Locale.ROOT);
        return "/native/" + os + "/" + arch + "/libspillway-" + VERSION + ".so";
    }

    /** Loads the library if not yet loaded; returns where from. Throws UnsatisfiedLinkError saying why not. */
    public static synchronized Path load() {
        if (loadedFrom != null) {
            return loadedFrom;
        }
        if (failure != null) {
            throw new UnsatisfiedLinkError(failure);
        }
        List<String> tried = new ArrayList<>();
        String explicit = System.getProperty("spillway.library.path");
        if (explicit != null && !explicit.isBlank()) {
            try {
                Path file = Path.of(explicit).toRealPath(); // the JDK dlopens the canonical path; record that
                System.load(file.toString());
                loadedFile = file;
                return loadedFrom = Path.of(explicit);
            } catch (UnsatisfiedLinkError | IOException e) {
                tried.add("spillway.library.path=" + explicit + ": " + e.getMessage());
            }
        }
        try {
            System.loadLibrary("spillway");
            loadedFile = findOnLibraryPath();
            return loadedFrom = Path.of("java.library.path", System.mapLibraryName("spillway"));
        } catch (UnsatisfiedLinkError e) {
            tried.add("java.library.path: " + e.getMessage());
        }
        String resource = bundledResource();
        try (InputStream in = NativeLibrary.class.getResourceAsStream(resource)) {
            if (in == null) {
                tried.add("bundled " + resource + ": not in the jar (no build for this OS/architecture)");
            } else {
                Path tmp = Files.createTempFile("libspillway-" + VERSION + "-", ".so",
                        PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
                try {
                    Files.copy(in, tmp, StandardCopyOption.REPLACE_EXISTING);
                    Path real = tmp.toRealPath(); // the JDK dlopens the canonical path; record that
                    System.load(real.toString());
                    loadedFile = real;
                    return loadedFrom = Path.of("jar:" + resource);
                } finally {
                    Files.deleteIfExists(tmp); // the mapping stays valid once loaded
                }
            }
        } catch (IOException | UnsatisfiedLinkError e) {
            tried.add("bundled " + resource + ": " + e.getMessage());
        }
        failure = "libspillway could not be loaded; tried " + String.join("; ", tried);
        throw new UnsatisfiedLinkError(failure);
    }

    /**
     * The absolute path System.load used, after {@link #load()}. For the copy extracted from the
     * jar the file is already deleted; glibc's dlopen still returns the loaded library for that same
     * path string (it matches loaded objects by name before it opens a file), so a second binding
     * (JNA) that dlopens this path shares the one library, never loads a second copy.
     */
    static synchronized Path loadedFile() {
        load();
        return loadedFile;
    }

    /** Where System.loadLibrary found the library: the first java.library.path entry holding it. */
    private static Path findOnLibraryPath() {
        String name = System.mapLibraryName("spillway");
        for (String dir : System.getProperty("java.library.path", "").split(java.io.File.pathSeparator)) {
            if (!dir.isEmpty() && Files.isRegularFile(Path.of(dir, name))) {
                return Path.of(dir, name).toAbsolutePath();
            }
        }
        return Path.of(name); // dlopen then searches the same way the JDK did
    }
}
