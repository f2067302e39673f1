package dev.spillway.samples;

import dev.spillway.io.NativeLibrary;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;

/**
 * What every sample needs to call the C core itself: the library loaded the way Spillway loads it
 * (its own loader: {@code -Dspillway.library.path}, then {@code java.library.path}, then the copy
 * bundled in the jar), and a downcall handle per {@code spw_} function.
 *
 * <p>{@link SymbolLookup#loaderLookup()} finds symbols of libraries that this class loader loaded
 * with {@code System.load}, which is what {@link NativeLibrary#load()} did; that works here because
 * the samples and spillway-core share the application class loader.
 */
final class CoreLibrary {
    static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup CORE;

    static {
        NativeLibrary.load();
        CORE = SymbolLookup.loaderLookup();
    }

    private CoreLibrary() {
    }

    /** A downcall handle for a {@code spw_} function of spillway.h (store it in a static final field). */
    static MethodHandle spw(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = CORE.find(name).orElseThrow(() -> new IllegalStateException("libspillway has no " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** A function of the C library itself (libc), for comparison with the core's conventions. */
    static MethodHandle libc(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LINKER.defaultLookup().find(name)
                .orElseThrow(() -> new IllegalStateException("libc has no " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    /** spw_strerror(code): the text for -errno or an SPW_E_* code. */
    static String strerror(long code) {
        try {
            MemorySegment p = (MemorySegment) STRERROR.invokeExact(code);
            return p.reinterpret(Integer.MAX_VALUE).getString(0); // a NUL-terminated constant of the core
        } catch (Throwable t) {
            throw new IllegalStateException(t);
        }
    }

    private static final MethodHandle STRERROR = spw("spw_strerror",
            FunctionDescriptor.of(java.lang.foreign.ValueLayout.ADDRESS, java.lang.foreign.ValueLayout.JAVA_LONG));
}
