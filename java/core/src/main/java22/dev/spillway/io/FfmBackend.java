package dev.spillway.io;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;

/**
 * The ffm backend: {@code java.lang.foreign} downcalls into the same libspillway the jni backend
 * uses (loaded by {@link NativeLibrary}, then found with {@link SymbolLookup#loaderLookup()}).
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
 * <li><b>Allocation</b>: no global arena. {@code open} uses a confined arena for its path string and
 * out-parameter; a codec owns a small shared arena for the spill calls' out-parameters, closed with
 * the codec (shared, because a codec may move between threads, one at a time).</li>
 * </ul>
 */
final class FfmBackend implements IoBackend, NativeBinding {
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

    private final int minLevel;
    private final int maxLevel;

    private FfmBackend(int minLevel, int maxLevel) {
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
    }

    /** Called by {@link FfmBackendProvider} once it has checked that native access is enabled. */
    static IoBackend create() {
        try {
            String v = readString((MemorySegment) VERSION.invokeExact());
            if (!NativeLibrary.VERSION.equals(v)) {
                throw new UnsatisfiedLinkError("libspillway version " + v + " does not match the jar's "
                        + NativeLibrary.VERSION);
            }
            return new FfmBackend((int) MIN_LEVEL.invokeExact(), (int) MAX_LEVEL.invokeExact());
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public BackendKind kind() {
        return BackendKind.FFM;
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        int r;
        int direct;
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment cPath = arena.allocateFrom(path.toString()); // UTF-8, NUL-terminated
            MemorySegment outDirect = arena.allocate(JAVA_INT);
            r = (int) OPEN.invokeExact(cPath, NativeCodes.openFlags(flags), 0600, outDirect);
            direct = outDirect.get(JAVA_INT, 0);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (r < 0) {
            throw NativeCodes.ioError("open", path, -1, -1, r, FfmBackend::strerror);
        }
        return new FfmFile(path, r, direct != 0, flags.contains(OpenFlag.READ_ONLY));
    }

    @Override
    public AlignedBuffer allocate(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("allocate: size " + size + " must be positive");
        }
        MemorySegment p;
        try {
            p = (MemorySegment) ALIGNED_ALLOC.invokeExact((long) size, (long) ALIGNMENT);
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (p.address() == 0) {
            throw new OutOfMemoryError("spw_aligned_alloc of " + size + " bytes failed");
        }
        // reinterpret: the C core just gave us `size` bytes at p; the AlignedBuffer owns them until close
        ByteBuffer view = p.reinterpret(size).asByteBuffer();
        return new AlignedBuffer(view, p.address(), size, FfmBackend::alignedFree);
    }

    private static void alignedFree(long address) {
        try {
            ALIGNED_FREE.invokeExact(MemorySegment.ofAddress(address));
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        Checks.range("crc32c", data, offset, length);
        try {
            MemorySegment seg = segment(data, offset, length);
            return length <= CRITICAL_CRC_MAX ? (int) CRC32C_CRITICAL.invokeExact(0, seg, (long) length)
                    : (int) CRC32C.invokeExact(0, seg, (long) length);
        } catch (Throwable t) {
            throw rethrow(t);
        }
    }

    @Override
    public Codec newCodec() {
        MemorySegment handle;
        try {
            handle = (MemorySegment) CODEC_NEW.invokeExact();
        } catch (Throwable t) {
            throw rethrow(t);
        }
        if (handle.address() == 0) {
            throw new OutOfMemoryError("spw_codec_new failed");
        }
        return new FfmCodec(this, handle);
    }

    @Override
    public int minLevel() {
        return minLevel;
    }

    @Override
    public int maxLevel() {
        return maxLevel;
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

    /**
     * Bytes [offset, offset + length) of a direct buffer as a segment of their own, which keeps the
     * buffer reachable through the downcall. The SPI's offsets are absolute and bounded by capacity:
     * {@code ofBuffer} would start at the position and {@code slice(index, length)} is bounded by the
     * limit, so the view is taken of a cleared duplicate (position 0, limit = capacity).
     */
    static MemorySegment segment(ByteBuffer b, int offset, int length) {
        return MemorySegment.ofBuffer(b.duplicate().clear()).asSlice(offset, length);
    }

    static String strerror(long code) {
        try {
            return readString((MemorySegment) STRERROR.invokeExact(code));
        } catch (Throwable t) {
            throw rethrow(t);
        }
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

    private static final class FfmFile extends AbstractIoFile {
        private final int fd;

        FfmFile(Path path, int fd, boolean direct, boolean readOnly) {
            super(path, direct, readOnly);
            this.fd = fd;
        }

        @Override
        int doRead(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            long r;
            try {
                r = (long) PREAD.invokeExact(fd, segment(dst, dstOffset, length), (long) length, fileOffset);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r < 0) {
                throw NativeCodes.ioError("pread", path(), fileOffset, length, r, FfmBackend::strerror);
            }
            return (int) r;
        }

        @Override
        void doWrite(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            long r;
            try {
                r = (long) PWRITE.invokeExact(fd, segment(src, srcOffset, length), (long) length, fileOffset);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r < 0) {
                throw NativeCodes.ioError("pwrite", path(), fileOffset, length, r, FfmBackend::strerror);
            }
        }

        @Override
        void doSync() {
            try {
                check("fdatasync", (int) FDATASYNC.invokeExact(fd), -1, -1);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @Override
        void doAllocate(long offset, long length) {
            if (length > 0) {
                try {
                    check("fallocate", (int) FALLOCATE.invokeExact(fd, offset, length), offset, length);
                } catch (Throwable t) {
                    throw rethrow(t);
                }
            }
        }

        @Override
        void doTruncate(long length) {
            try {
                check("ftruncate", (int) FTRUNCATE.invokeExact(fd, length), length, -1);
            } catch (Throwable t) {
                throw rethrow(t);
            }
        }

        @Override
        boolean doPunchHole(long offset, long length) {
            if (length == 0) {
                return true;
            }
            int r;
            try {
                r = (int) PUNCH_HOLE.invokeExact(fd, offset, length);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            if (r == -Errno.EOPNOTSUPP) {
                return false;
            }
            check("punch hole", r, offset, length);
            return true;
        }

        @Override
        long doSize() {
            long r;
            try {
                r = (long) FILE_SIZE.invokeExact(fd);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            check("fstat", r, -1, -1);
            return r;
        }

        @Override
        void doClose() {
            int r;
            try {
                r = (int) CLOSE.invokeExact(fd);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            check("close", r, -1, -1);
        }

        private void check(String op, long r, long offset, long length) {
            if (r < 0) {
                throw NativeCodes.ioError(op, path(), offset, length, r, FfmBackend::strerror);
            }
        }
    }

    private static final class FfmCodec extends AbstractCodec {
        private final MemorySegment handle;
        /** Out-parameters of spw_spill_write (int codec, int64 payload), reused by every call. */
        private final Arena arena = Arena.ofShared();
        private final MemorySegment outCodec = arena.allocate(JAVA_INT);
        private final MemorySegment outPayload = arena.allocate(JAVA_LONG);

        FfmCodec(IoBackend backend, MemorySegment handle) {
            super(backend);
            this.handle = handle;
        }

        @Override
        int doCompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity,
                int level) {
            long r;
            try {
                r = (long) COMPRESS.invokeExact(handle, segment(dst, dstOffset, dstCapacity), (long) dstCapacity,
                        segment(src, srcOffset, srcLength), (long) srcLength, level);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            return (int) NativeCodes.codecResult("compress", r, srcLength, FfmBackend::strerror);
        }

        @Override
        int doDecompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity) {
            long r;
            try {
                r = (long) DECOMPRESS.invokeExact(handle, segment(dst, dstOffset, dstCapacity), (long) dstCapacity,
                        segment(src, srcOffset, srcLength), (long) srcLength);
            } catch (Throwable t) {
                throw rethrow(t);
            }
            return (int) NativeCodes.codecResult("decompress", r, srcLength, FfmBackend::strerror);
        }

        @Override
        SpillBlock doSpillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
                int maxPayload, AlignedBuffer scratch) {
            FfmFile f = (FfmFile) file;
            ByteBuffer s = scratch.buffer();
            f.acquire("spill write");
            long r;
            try {
                r = (long) SPILL_WRITE.invokeExact(handle, f.fd, fileOffset, segment(src, srcOffset, srcLength),
                        (long) srcLength, level, (long) maxPayload, segment(s, 0, scratch.size()), (long) scratch.size(),
                        outCodec, outPayload);
            } catch (Throwable t) {
                throw rethrow(t);
            } finally {
                f.release();
            }
            // the shared result convention (codec << 32 | payload), as the jni glue returns it
            long packed = r < 0 ? r : ((long) outCodec.get(JAVA_INT, 0) << 32) | outPayload.get(JAVA_LONG, 0);
            return NativeCodes.spillWriteResult(file, fileOffset, srcLength, packed, FfmBackend::strerror);
        }

        @Override
        void doSpillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
                AlignedBuffer scratch) {
            FfmFile f = (FfmFile) file;
            ByteBuffer s = scratch.buffer();
            f.acquire("spill read");
            long r;
            try {
                r = (long) SPILL_READ.invokeExact(handle, f.fd, fileOffset, (long) storedSize,
                        segment(dst, dstOffset, dstLength), (long) dstLength, segment(s, 0, scratch.size()),
                        (long) scratch.size());
            } catch (Throwable t) {
                throw rethrow(t);
            } finally {
                f.release();
            }
            NativeCodes.spillReadResult(file, fileOffset, storedSize, r, FfmBackend::strerror);
        }

        @Override
        void doClose() {
            try {
                CODEC_FREE.invokeExact(handle);
            } catch (Throwable t) {
                throw rethrow(t);
            } finally {
                arena.close();
            }
        }
    }
}
