package dev.spillway.io;

/**
 * The ways Spillway reaches the operating system. {@link #AUTO} tries {@code JNI}, {@code FFM},
 * {@code JNA}, then {@code NIO}, and records why each one before the chosen was passed over
 * ({@link Backends#selection()}). The system property {@code spillway.backend} (one of these
 * names, any case) forces one.
 */
public enum BackendKind {
    AUTO, JNI, FFM, JNA, NIO;

    /** Parses a user-given name such as {@code "jni"}; the error lists the valid names. */
    public static BackendKind parse(String name) {
        for (BackendKind k : values()) {
            if (k.name().equalsIgnoreCase(name.trim())) {
                return k;
            }
        }
        throw new IllegalArgumentException("unknown backend '" + name + "': expected one of auto, jni, ffm, jna, nio");
    }
}
