package dev.spillway.io;

/**
 * Creates the FFM backend. This base version runs on JDK 17–21, where java.lang.foreign is not
 * final; the multi-release part of the jar ({@code META-INF/versions/22}) replaces this class
 * with one that builds the real backend.
 */
final class FfmBackendFactory {
    private FfmBackendFactory() {
    }

    static IoBackend create() {
        throw new UnsupportedOperationException("the ffm backend needs JDK 22 or newer (this is "
                + Runtime.version() + ")");
    }
}
