package dev.spillway.io;

/**
 * Creates the JNA backend. JNA is an optional dependency: without it on the class path (or module
 * path), AUTO passes this backend over with the reason below instead of a bare NoClassDefFoundError.
 */
final class JnaBackendFactory {
    private JnaBackendFactory() {
    }

    static IoBackend create() {
        try {
            Class.forName("com.sun.jna.Native", false, JnaBackendFactory.class.getClassLoader());
        } catch (ClassNotFoundException | LinkageError e) {
            throw new UnsupportedOperationException("JNA (net.java.dev.jna:jna) is not on the class path", e);
        }
        return JnaBinding.createBackend();
    }
}
