package dev.spillway.io;

/** Creates the JNA backend. */
final class JnaBackendFactory {
    private JnaBackendFactory() {
    }

    static IoBackend create() {
        throw new UnsupportedOperationException("the jna backend is not part of this build yet");
    }
}
