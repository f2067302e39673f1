/**
 * Spillway: a buffer manager for the JVM on Linux with a small C core.
 *
 * <p>Exported: the public API ({@code dev.spillway}), the I/O backend SPI ({@code dev.spillway.io}),
 * and the pluggable eviction policies ({@code dev.spillway.eviction}). Engines live in packages
 * that are not exported. zstd-jni and JNA are optional: only the backends that need them do.
 */
module dev.spillway {
    requires jdk.unsupported; // com.sun.nio.file.ExtendedOpenOption.DIRECT for the nio backend
    requires static com.github.luben.zstd_jni;
    requires static com.sun.jna;

    exports dev.spillway;
    exports dev.spillway.io;
    exports dev.spillway.eviction;
}
