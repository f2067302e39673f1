package dev.spillway.io;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;

/**
 * The ffm binding: {@code java.lang.foreign} downcalls into the same libspillway the jni binding
 * uses (loaded by {@link NativeLibrary}, then found with {@link SymbolLookup#loaderLookup()});
 * {@link NativeCoreBackend} does the rest, as for every binding.
 * Compiled with {@code --release 22} into {@code META-INF/versions/22}; the base code
 * ({@link FfmBackendFactory}) reaches it by name only on JDK 22 and newer.
 *
 * <h2>Design decisions</h2>
 * <ul>
 * <li><b>errno</b>: not captured with {@code Linker.Option.captureCallState("errno")}. Every spw_
 * function reads errno in C right after its system call and returns it as -errno, so nothing the
 * JVM does after the return can clobber it, and capturing would cost a store and a segment per call
 * for a value we already have. (The Panama sample shows capture against libc's own calls.)</li>
 * <li><b>critical</b>: {@code Linker.Option.critical(false)} (no thread-state transition) only for
 * calls that are short and cannot block: spw_noop, and spw_crc32c up to {@link #CRITICAL_CRC_MAX} bytes
 * (tens of microseconds). Never for pread/pwrite/zstd or a long crc, which can block or run for
 * milliseconds and would then hold off every safepoint (GC) of the JVM. The gain is a few ns per call
 * ({@code FfmCallOptionsBenchmark}), which matters only for the empty call.</li>
 * <li><b>Buffers</b>: the SPI passes direct ByteBuffers with absolute offsets. Each range goes down as
 * a segment over exactly those bytes ({@link #segment}), which keeps its buffer reachable through the
 * call; the duplicate and the segments do not escape, so C2 scalar-replaces them (JMH {@code -prof gc}
 * shows no allocation per read). Java checked every range before.</li>
 * <li><b>Allocation</b>: no global arena. {@code open} and {@code spillWrite} take their
 * out-parameters from a confined arena of their own, freed when the call returns (a few hundred
 * nanoseconds against a file open or a 256 KiB compress-and-write).</li>
 * </ul>
 */
final class FfmBinding implements NativeCalls {
    private static final Linker LINKER = Linker.nativeLinker();
    private static final SymbolLookup LOOKUP;

    static {
        NativeLibrary.load(); // System.load into this class loader, so loaderLookup() sees libspillway
        LOOKUP = SymbolLookup.loaderLookup();
    }

    private static MethodHandle fn(String name, FunctionDescriptor fd, Linker.Option... options) {
        MemorySegment symbol = LOOKUP.find(name)
                .orElseThrow(() -> new UnsatisfiedLinkError("libspillway has no symbol " + name));
        return LINKER.downcallHandle(symbol, fd, options);
    }

    private static final Linker.Option CRITICAL = Linker.Option.critical(false);

    private static final MethodHandle STRERROR = fn("spw_strerror", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    private static final MethodHandle MIN_LEVEL = fn("spw_zstd_min_level", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle MAX_LEVEL = fn("spw_zstd_max_level", FunctionDescriptor.of(JAVA_INT));
    private static final MethodHandle OPEN = fn("spw_open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    private static final MethodHandle CLOSE = fn("spw_close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle PREAD = fn("spw_pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle PWRITE = fn("spw_pwrite",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FDATASYNC = fn("spw_fdatasync", FunctionDescriptor.of(JAVA_INT, JAVA_INT));
    private static final MethodHandle FALLOCATE = fn("spw_fallocate",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FTRUNCATE = fn("spw_ftruncate", FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG));
    private static final MethodHandle PUNCH_HOLE = fn("spw_punch_hole",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle FILE_SIZE = fn("spw_file_size", FunctionDescriptor.of(JAVA_LONG, JAVA_INT));
    private static final MethodHandle ALIGNED_ALLOC = fn("spw_aligned_alloc",
            FunctionDescriptor.of(ADDRESS, JAVA_LONG, JAVA_LONG));
    private static final MethodHandle ALIGNED_FREE = fn("spw_aligned_free", FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle MAP = fn("spw_map", FunctionDescriptor.of(ADDRESS, JAVA_LONG));
    private static final MethodHandle UNMAP = fn("spw_unmap", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle DISCARD = fn("spw_discard", FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle CRC32C = fn("spw_crc32c",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG));
    private static final MethodHandle CRC32C_CRITICAL = fn("spw_crc32c",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG), CRITICAL);
    /** 1 MiB of hardware crc32c is well under 100 µs: short enough to hold off a safepoint. */
    static final int CRITICAL_CRC_MAX = 1 << 20;
    private static final MethodHandle CODEC_NEW = fn("spw_codec_new", FunctionDescriptor.of(ADDRESS));
    private static final MethodHandle CODEC_FREE = fn("spw_codec_free", FunctionDescriptor.ofVoid(ADDRESS));
    private static final MethodHandle COMPRESS = fn("spw_compress",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT));
    private static final MethodHandle DECOMPRESS = fn("spw_decompress",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));
    private static final MethodHandle SPILL_WRITE = fn("spw_spill_write", FunctionDescriptor.of(JAVA_LONG,
            ADDRESS, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, ADDRESS));
    private static final MethodHandle SPILL_READ = fn("spw_spill_read", FunctionDescriptor.of(JAVA_LONG,
            ADDRESS, JAVA_INT, JAVA_LONG, JAVA_LONG, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));
    private static final MethodHandle NOOP = fn("spw_noop", FunctionDescriptor.of(JAVA_INT, JAVA_INT), CRITICAL);

    private static final MethodHandle VERSION = fn("spw_version", FunctionDescriptor.of(ADDRESS));

    private FfmBinding() {
    }

    /** Called by {@link FfmBackendProvider} once it has checked that native access is enabled. */
    static IoBackend createBackend() {
        return NativeCoreBackend.create(BackendKind.FFM, new FfmBinding());
    }

    /**
     * Bytes [offset, offset + length) of a direct buffer as a segment of their own, which keeps the
     * buffer reachable through the downcall. The SPI's offsets are absolute and bounded by capacity:
     * {@code ofBuffer} would start at the position and {@code slice(index, length)} is bounded by the
     * limit, so the view is taken of a cleared duplicate (position 0, limit = capacity).
     */
    static MemorySegment segment(ByteBuffer b, int offset, int length) {
        return MemorySegment.ofBuffer(b.duplicate().clear()).asSlice(offset, length);
    }

    /** A NUL-terminated static string from the C core (never freed; the core returns constants). */
    private static String readString(MemorySegment p) {
        return p.reinterpret(Integer.MAX_VALUE).getString(0);
    }

    /** invokeExact declares Throwable; only errors and unchecked exceptions can actually come out. */
    static RuntimeException rethrow(Throwable t) {
        if (t instanceof RuntimeException r) {
            throw r;
        }
        if (t instanceof Error e) {
            throw e;
        }
        throw new IllegalStateException("unexpected checked exception from a downcall", t);
    }

    @Override
    public String version() {
        try {
            return readString((MemorySegment) VERSION.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public String strerror(long code) {
        try {
            return readString((MemorySegment) STRERROR.invokeExact(code));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int zstdMinLevel() {
        try {
            return (int) MIN_LEVEL.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int zstdMaxLevel() {
        try {
            return (int) MAX_LEVEL.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long open(byte[] nulTerminatedPath, int flags, int mode) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocate(nulTerminatedPath.length);
            MemorySegment.copy(nulTerminatedPath, 0, cPath, JAVA_BYTE, 0, nulTerminatedPath.length);
            MemorySegment outDirect = arena.allocate(JAVA_INT);
            int r = (int) OPEN.invokeExact(cPath, flags, mode, outDirect);
            return r < 0 ? r : ((long) r << 1) | outDirect.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int close(int fd) {
        try {
            return (int) CLOSE.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long pread(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset) {
        try {
            return (long) PREAD.invokeExact(fd, segment(buf, bufOffset, length), (long) length, fileOffset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long pwrite(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset) {
        try {
            return (long) PWRITE.invokeExact(fd, segment(buf, bufOffset, length), (long) length, fileOffset);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int fdatasync(int fd) {
        try {
            return (int) FDATASYNC.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int fallocate(int fd, long offset, long length) {
        try {
            return (int) FALLOCATE.invokeExact(fd, offset, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int ftruncate(int fd, long length) {
        try {
            return (int) FTRUNCATE.invokeExact(fd, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int punchHole(int fd, long offset, long length) {
        try {
            return (int) PUNCH_HOLE.invokeExact(fd, offset, length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long fileSize(int fd) {
        try {
            return (long) FILE_SIZE.invokeExact(fd);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long alignedAlloc(long size, long alignment) {
        try {
            return ((MemorySegment) ALIGNED_ALLOC.invokeExact(size, alignment)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void alignedFree(long address) {
        try {
            ALIGNED_FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long map(long size) {
        try {
            return ((MemorySegment) MAP.invokeExact(size)).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int unmap(long address, long size) {
        try {
            return (int) UNMAP.invokeExact(MemorySegment.ofAddress(address), size);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int discard(ByteBuffer buf, int offset, int length) {
        try {
            return (int) DISCARD.invokeExact(segment(buf, offset, length), (long) length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public ByteBuffer wrap(long address, int size) {
        // reinterpret: the C core just gave us `size` bytes there; the AlignedBuffer owns them until close
        return MemorySegment.ofAddress(address).reinterpret(size).asByteBuffer();
    }

    @Override
    public Wrapped wrapAnchored(long address, int size) {
        // A segment's buffer and all its views refer to the segment, not to the first buffer.
        MemorySegment segment = MemorySegment.ofAddress(address).reinterpret(size);
        return new Wrapped(segment.asByteBuffer(), segment);
    }

    @Override
    public int crc32c(int crc, ByteBuffer buf, int offset, int length) {
        try {
            MemorySegment seg = segment(buf, offset, length);
            return length <= CRITICAL_CRC_MAX ? (int) CRC32C_CRITICAL.invokeExact(crc, seg, (long) length)
                    : (int) CRC32C.invokeExact(crc, seg, (long) length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long codecNew() {
        try {
            return ((MemorySegment) CODEC_NEW.invokeExact()).address();
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public void codecFree(long codec) {
        try {
            CODEC_FREE.invokeExact(MemorySegment.ofAddress(codec));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long compress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity, int level) {
        try {
            return (long) COMPRESS.invokeExact(MemorySegment.ofAddress(codec), segment(dst, dstOffset, dstCapacity),
                    (long) dstCapacity, segment(src, srcOffset, srcLength), (long) srcLength, level);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long decompress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity) {
        try {
            return (long) DECOMPRESS.invokeExact(MemorySegment.ofAddress(codec), segment(dst, dstOffset, dstCapacity),
                    (long) dstCapacity, segment(src, srcOffset, srcLength), (long) srcLength);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long spillWrite(long codec, int fd, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
            int maxPayload, ByteBuffer scratch, int scratchCapacity) {
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment outCodec = arena.allocate(JAVA_INT);
            MemorySegment outPayload = arena.allocate(JAVA_LONG);
            long r = (long) SPILL_WRITE.invokeExact(MemorySegment.ofAddress(codec), fd, fileOffset,
                    segment(src, srcOffset, srcLength), (long) srcLength, level, (long) maxPayload,
                    segment(scratch, 0, scratchCapacity), (long) scratchCapacity, outCodec, outPayload);
            return r < 0 ? r : ((long) outCodec.get(JAVA_INT, 0) << 32) | outPayload.get(JAVA_LONG, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public long spillRead(long codec, int fd, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
            int dstLength, ByteBuffer scratch, int scratchCapacity) {
        try {
            return (long) SPILL_READ.invokeExact(MemorySegment.ofAddress(codec), fd, fileOffset, (long) storedSize,
                    segment(dst, dstOffset, dstLength), (long) dstLength, segment(scratch, 0, scratchCapacity),
                    (long) scratchCapacity);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    /** spw_noop through a critical downcall: the binding's own cost ({@link Diagnostics}). */
    @Override
    public int noop(int x) {
        try {
            return (int) NOOP.invokeExact(x);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }
}
