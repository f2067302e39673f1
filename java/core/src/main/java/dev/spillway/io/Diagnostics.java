package dev.spillway.io;

/**
 * Measurement hooks kept out of the {@link IoBackend} SPI: the binding overhead benchmark calls
 * an empty native function through each backend to see what the binding itself costs.
 */
public final class Diagnostics {
    private Diagnostics() {
    }

    /** Whether {@link #nativeNoop} works for this backend (every backend over libspillway; not nio). */
    public static boolean hasNativeNoop(IoBackend backend) {
        return backend instanceof NativeCoreBackend;
    }

    /**
     * Calls the C core's empty function {@code spw_noop(x)} through the backend's binding and returns x.
     * @throws UnsupportedOperationException for a backend with no native library (nio)
     */
    public static int nativeNoop(IoBackend backend, int x) {
        if (backend instanceof NativeCoreBackend) {
            return ((NativeCoreBackend) backend).noop(x);
        }
        throw new UnsupportedOperationException("the " + backend.kind().name().toLowerCase()
                + " backend calls no native library");
    }
}
