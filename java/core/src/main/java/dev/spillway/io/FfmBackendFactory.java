package dev.spillway.io;

import java.lang.invoke.MethodHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.MethodType;

/**
 * Creates the FFM backend. The backend itself ({@code FfmBinding}, {@code FfmBackendProvider}) is
 * compiled with {@code --release 22} into {@code META-INF/versions/22} and exists under no other
 * name, so this base class (Java 17 bytecode) looks it up by name, and only on JDK 22 or newer:
 * on 17–21 the class files are never touched (they would not even load there). Lucene finds its
 * MemorySegment code the same way.
 */
final class FfmBackendFactory {
    static final String PROVIDER = "dev.spillway.io.FfmBackendProvider";

    private FfmBackendFactory() {
    }

    static IoBackend create() {
        if (Runtime.version().feature() < 22) {
            throw new UnsupportedOperationException("the ffm backend needs JDK 22 or newer (this is "
                    + Runtime.version() + ")");
        }
        MethodHandle create;
        try {
            Class<?> provider = Class.forName(PROVIDER, true, FfmBackendFactory.class.getClassLoader());
            create = MethodHandles.lookup().findStatic(provider, "create", MethodType.methodType(IoBackend.class));
        } catch (ClassNotFoundException e) {
            throw new UnsupportedOperationException("the ffm backend's classes are missing: " + PROVIDER
                    + " is not on the class path (a multi-release jar's META-INF/versions/22, or a build without it)", e);
        } catch (ReflectiveOperationException e) {
            throw new IllegalStateException("cannot reach " + PROVIDER + ".create()", e);
        }
        try {
            return (IoBackend) create.invokeExact();
        } catch (RuntimeException | Error e) {
            throw e;
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }
}
