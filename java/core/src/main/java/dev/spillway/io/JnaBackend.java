package dev.spillway.io;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;

/**
 * The jna backend: JNA direct mapping ({@link Native#register}) into the same libspillway the jni
 * backend loaded (JNA dlopens {@link NativeLibrary#loadedFile()}, which returns the library already
 * mapped). The simplest binding, kept for comparison and as a fallback.
 *
 * <p>C pointers ({@code void *}, {@code spw_codec *}) are declared as Java {@code long}: a pointer and
 * an int64 are passed the same way on the LP64 Linux targets Spillway ships for (amd64, aarch64), and
 * a long lets us pass a direct buffer's address plus offset without allocating a {@link Pointer} per call.
 * The address of a direct buffer comes from JNA once per call ({@link Native#getDirectBufferPointer}).
 */
final class JnaBackend implements IoBackend, NativeBinding {
    private final int minLevel;
    private final int maxLevel;

    private JnaBackend(int minLevel, int maxLevel) {
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
    }

    static IoBackend create() {
        Lib.bind();
        String v = Lib.spw_version();
        if (!NativeLibrary.VERSION.equals(v)) {
            throw new UnsatisfiedLinkError("libspillway version " + v + " does not match the jar's " + NativeLibrary.VERSION);
        }
        return new JnaBackend(Lib.spw_zstd_min_level(), Lib.spw_zstd_max_level());
    }

    /** The direct-mapped functions of spillway.h. */
    static final class Lib {
        private static boolean bound;

        private Lib() {
        }

        static synchronized void bind() {
            if (!bound) {
                Native.register(Lib.class, com.sun.jna.NativeLibrary.getInstance(NativeLibrary.loadedFile().toString()));
                bound = true;
            }
        }

        static native String spw_version();

        static native String spw_strerror(long code);

        static native int spw_zstd_min_level();

        static native int spw_zstd_max_level();

        static native int spw_open(byte[] nulTerminatedPath, int flags, int mode, int[] outDirect);

        static native int spw_close(int fd);

        static native long spw_pread(int fd, long buf, long len, long off);

        static native long spw_pwrite(int fd, long buf, long len, long off);

        static native int spw_fdatasync(int fd);

        static native int spw_fallocate(int fd, long off, long len);

        static native int spw_ftruncate(int fd, long len);

        static native int spw_punch_hole(int fd, long off, long len);

        static native long spw_file_size(int fd);

        static native long spw_aligned_alloc(long size, long alignment);

        static native void spw_aligned_free(long p);

        static native int spw_crc32c(int crc, long data, long len);

        static native long spw_codec_new();

        static native void spw_codec_free(long codec);

        static native long spw_compress(long codec, long dst, long cap, long src, long len, int level);

        static native long spw_decompress(long codec, long dst, long cap, long src, long len);

        static native long spw_spill_write(long codec, int fd, long off, long src, long len, int level, long maxPayload,
                long scratch, long scratchCap, int[] outCodec, long[] outPayload);

        static native long spw_spill_read(long codec, int fd, long off, long storedSize, long dst, long dstLen,
                long scratch, long scratchCap);

        static native int spw_noop(int x);
    }

    /** Native address of absolute index {@code offset} of a direct buffer (ranges were checked in Java). */
    static long address(ByteBuffer b, int offset) {
        return Pointer.nativeValue(Native.getDirectBufferPointer(b)) + offset;
    }

    @Override
    public BackendKind kind() {
        return BackendKind.JNA;
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        byte[] p = (path.toString() + '\0').getBytes(StandardCharsets.UTF_8);
        int[] direct = new int[1];
        int r = Lib.spw_open(p, NativeCodes.openFlags(flags), 0600, direct);
        if (r < 0) {
            throw NativeCodes.ioError("open", path, -1, -1, r, Lib::spw_strerror);
        }
        return new JnaFile(path, r, direct[0] != 0, flags.contains(OpenFlag.READ_ONLY));
    }

    @Override
    public AlignedBuffer allocate(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("allocate: size " + size + " must be positive");
        }
        long address = Lib.spw_aligned_alloc(size, ALIGNMENT);
        if (address == 0) {
            throw new OutOfMemoryError("spw_aligned_alloc of " + size + " bytes failed");
        }
        return new AlignedBuffer(new Pointer(address).getByteBuffer(0, size), address, size, Lib::spw_aligned_free);
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        Checks.range("crc32c", data, offset, length);
        try {
            return Lib.spw_crc32c(0, address(data, offset), length);
        } finally {
            java.lang.ref.Reference.reachabilityFence(data);
        }
    }

    @Override
    public Codec newCodec() {
        long handle = Lib.spw_codec_new();
        if (handle == 0) {
            throw new OutOfMemoryError("spw_codec_new failed");
        }
        return new JnaCodec(this, handle);
    }

    @Override
    public int minLevel() {
        return minLevel;
    }

    @Override
    public int maxLevel() {
        return maxLevel;
    }

    @Override
    public int noop(int x) {
        return Lib.spw_noop(x);
    }

    private static final class JnaFile extends AbstractIoFile {
        private final int fd;

        JnaFile(Path path, int fd, boolean direct, boolean readOnly) {
            super(path, direct, readOnly);
            this.fd = fd;
        }

        @Override
        int doRead(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            long r;
            try {
                r = Lib.spw_pread(fd, address(dst, dstOffset), length, fileOffset);
            } finally {
                java.lang.ref.Reference.reachabilityFence(dst);
            }
            if (r < 0) {
                throw NativeCodes.ioError("pread", path(), fileOffset, length, r, Lib::spw_strerror);
            }
            return (int) r;
        }

        @Override
        void doWrite(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            long r;
            try {
                r = Lib.spw_pwrite(fd, address(src, srcOffset), length, fileOffset);
            } finally {
                java.lang.ref.Reference.reachabilityFence(src);
            }
            if (r < 0) {
                throw NativeCodes.ioError("pwrite", path(), fileOffset, length, r, Lib::spw_strerror);
            }
        }

        @Override
        void doSync() {
            check("fdatasync", Lib.spw_fdatasync(fd), -1, -1);
        }

        @Override
        void doAllocate(long offset, long length) {
            if (length > 0) {
                check("fallocate", Lib.spw_fallocate(fd, offset, length), offset, length);
            }
        }

        @Override
        void doTruncate(long length) {
            check("ftruncate", Lib.spw_ftruncate(fd, length), length, -1);
        }

        @Override
        boolean doPunchHole(long offset, long length) {
            if (length == 0) {
                return true;
            }
            int r = Lib.spw_punch_hole(fd, offset, length);
            if (r == -Errno.EOPNOTSUPP) {
                return false;
            }
            check("punch hole", r, offset, length);
            return true;
        }

        @Override
        long doSize() {
            long r = Lib.spw_file_size(fd);
            check("fstat", r, -1, -1);
            return r;
        }

        @Override
        void doClose() {
            check("close", Lib.spw_close(fd), -1, -1);
        }

        private void check(String op, long r, long offset, long length) {
            if (r < 0) {
                throw NativeCodes.ioError(op, path(), offset, length, r, Lib::spw_strerror);
            }
        }
    }

    private static final class JnaCodec extends AbstractCodec {
        private long handle;
        /** Out-parameters of spw_spill_write, reused (a codec is used by one thread at a time). */
        private final int[] outCodec = new int[1];
        private final long[] outPayload = new long[1];

        JnaCodec(IoBackend backend, long handle) {
            super(backend);
            this.handle = handle;
        }

        @Override
        int doCompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity,
                int level) {
            long r;
            try {
                r = Lib.spw_compress(handle, address(dst, dstOffset), dstCapacity, address(src, srcOffset), srcLength,
                        level);
            } finally {
                java.lang.ref.Reference.reachabilityFence(src);
                java.lang.ref.Reference.reachabilityFence(dst);
            }
            return (int) NativeCodes.codecResult("compress", r, srcLength, Lib::spw_strerror);
        }

        @Override
        int doDecompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity) {
            long r;
            try {
                r = Lib.spw_decompress(handle, address(dst, dstOffset), dstCapacity, address(src, srcOffset), srcLength);
            } finally {
                java.lang.ref.Reference.reachabilityFence(src);
                java.lang.ref.Reference.reachabilityFence(dst);
            }
            return (int) NativeCodes.codecResult("decompress", r, srcLength, Lib::spw_strerror);
        }

        @Override
        SpillBlock doSpillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
                int maxPayload, AlignedBuffer scratch) {
            JnaFile f = (JnaFile) file;
            f.acquire("spill write");
            long r;
            try {
                r = Lib.spw_spill_write(handle, f.fd, fileOffset, address(src, srcOffset), srcLength, level, maxPayload,
                        address(scratch.buffer(), 0), scratch.size(), outCodec, outPayload);
            } finally {
                java.lang.ref.Reference.reachabilityFence(src);
                f.release();
            }
            long packed = r < 0 ? r : ((long) outCodec[0] << 32) | outPayload[0];
            return NativeCodes.spillWriteResult(file, fileOffset, srcLength, packed, Lib::spw_strerror);
        }

        @Override
        void doSpillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
                AlignedBuffer scratch) {
            JnaFile f = (JnaFile) file;
            f.acquire("spill read");
            long r;
            try {
                r = Lib.spw_spill_read(handle, f.fd, fileOffset, storedSize, address(dst, dstOffset), dstLength,
                        address(scratch.buffer(), 0), scratch.size());
            } finally {
                java.lang.ref.Reference.reachabilityFence(dst);
                f.release();
            }
            NativeCodes.spillReadResult(file, fileOffset, storedSize, r, Lib::spw_strerror);
        }

        @Override
        void doClose() {
            Lib.spw_codec_free(handle);
            handle = 0;
        }
    }
}
