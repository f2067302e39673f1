package dev.spillway.io;

import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Set;

/**
 * The default backend: JNI glue ({@code native/jni/jni_backend.c}) over the C core. Native
 * methods take file descriptors, direct buffers with absolute offsets, and codec handles, and
 * return a value {@code >= 0} or a negative code (-errno or SPW_E_*) that {@link NativeCodes}
 * turns into an exception. Every argument was checked by the caller in Java.
 */
final class JniBackend implements IoBackend, NativeBinding {
    private final int minLevel;
    private final int maxLevel;

    private JniBackend(int minLevel, int maxLevel) {
        this.minLevel = minLevel;
        this.maxLevel = maxLevel;
    }

    static IoBackend create() {
        NativeLibrary.load();
        String v = nativeVersion();
        if (!NativeLibrary.VERSION.equals(v)) {
            throw new UnsatisfiedLinkError("libspillway version " + v + " does not match the jar's " + NativeLibrary.VERSION);
        }
        return new JniBackend(zstdMinLevel(), zstdMaxLevel());
    }

    @Override
    public BackendKind kind() {
        return BackendKind.JNI;
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        byte[] p = (path.toString() + '\0').getBytes(StandardCharsets.UTF_8);
        long r = open(p, NativeCodes.openFlags(flags), 0600);
        if (r < 0) {
            throw NativeCodes.ioError("open", path, -1, -1, r, JniBackend::strerror);
        }
        return new JniFile(path, (int) (r >>> 1), (r & 1) != 0, flags.contains(OpenFlag.READ_ONLY));
    }

    @Override
    public AlignedBuffer allocate(int size) {
        if (size <= 0) {
            throw new IllegalArgumentException("allocate: size " + size + " must be positive");
        }
        long address = alignedAlloc(size, ALIGNMENT);
        if (address == 0) {
            throw new OutOfMemoryError("spw_aligned_alloc of " + size + " bytes failed");
        }
        return new AlignedBuffer(wrap(address, size), address, size, JniBackend::alignedFree);
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        Checks.range("crc32c", data, offset, length);
        return crc32c(0, data, offset, length);
    }

    @Override
    public Codec newCodec() {
        long handle = codecNew();
        if (handle == 0) {
            throw new OutOfMemoryError("spw_codec_new failed");
        }
        return new JniCodec(this, handle);
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
        return noop0(x);
    }

    private static final class JniFile extends AbstractIoFile {
        private final int fd;

        JniFile(Path path, int fd, boolean direct, boolean readOnly) {
            super(path, direct, readOnly);
            this.fd = fd;
        }

        @Override
        int doRead(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            long r = JniBackend.pread(fd, dst, dstOffset, length, fileOffset);
            if (r < 0) {
                throw NativeCodes.ioError("pread", path(), fileOffset, length, r, JniBackend::strerror);
            }
            return (int) r;
        }

        @Override
        void doWrite(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            long r = JniBackend.pwrite(fd, src, srcOffset, length, fileOffset);
            if (r < 0) {
                throw NativeCodes.ioError("pwrite", path(), fileOffset, length, r, JniBackend::strerror);
            }
        }

        @Override
        void doSync() {
            check("fdatasync", JniBackend.fdatasync(fd), -1, -1);
        }

        @Override
        void doAllocate(long offset, long length) {
            if (length > 0) {
                check("fallocate", JniBackend.fallocate(fd, offset, length), offset, length);
            }
        }

        @Override
        void doTruncate(long length) {
            check("ftruncate", JniBackend.ftruncate(fd, length), length, -1);
        }

        @Override
        boolean doPunchHole(long offset, long length) {
            if (length == 0) {
                return true;
            }
            long r = JniBackend.punchHole(fd, offset, length);
            if (r == -Errno.EOPNOTSUPP) {
                return false;
            }
            check("punch hole", r, offset, length);
            return true;
        }

        @Override
        long doSize() {
            long r = JniBackend.fileSize(fd);
            check("fstat", r, -1, -1);
            return r;
        }

        @Override
        void doClose() {
            check("close", JniBackend.close(fd), -1, -1);
        }

        private void check(String op, long r, long offset, long length) {
            if (r < 0) {
                throw NativeCodes.ioError(op, path(), offset, length, r, JniBackend::strerror);
            }
        }
    }

    private static final class JniCodec extends AbstractCodec {
        private long handle;

        JniCodec(IoBackend backend, long handle) {
            super(backend);
            this.handle = handle;
        }

        @Override
        int doCompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity,
                int level) {
            long r = JniBackend.compress(handle, src, srcOffset, srcLength, dst, dstOffset, dstCapacity, level);
            return (int) NativeCodes.codecResult("compress", r, srcLength, JniBackend::strerror);
        }

        @Override
        int doDecompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity) {
            long r = JniBackend.decompress(handle, src, srcOffset, srcLength, dst, dstOffset, dstCapacity);
            return (int) NativeCodes.codecResult("decompress", r, srcLength, JniBackend::strerror);
        }

        @Override
        SpillBlock doSpillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
                int maxPayload, AlignedBuffer scratch) {
            JniFile f = (JniFile) file;
            f.acquire("spill write");
            try {
                long r = JniBackend.spillWrite(handle, f.fd, fileOffset, src, srcOffset, srcLength, level, maxPayload,
                        scratch.buffer(), scratch.size());
                return NativeCodes.spillWriteResult(file, fileOffset, srcLength, r, JniBackend::strerror);
            } finally {
                f.release();
            }
        }

        @Override
        void doSpillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
                AlignedBuffer scratch) {
            JniFile f = (JniFile) file;
            f.acquire("spill read");
            try {
                long r = JniBackend.spillRead(handle, f.fd, fileOffset, storedSize, dst, dstOffset, dstLength, scratch.buffer(),
                        scratch.size());
                NativeCodes.spillReadResult(file, fileOffset, storedSize, r, JniBackend::strerror);
            } finally {
                f.release();
            }
        }

        @Override
        void doClose() {
            JniBackend.codecFree(handle);
            handle = 0;
        }
    }

    // ---- native methods (native/jni/jni_backend.c); headers generated by javac -h ----
    static native String nativeVersion();

    static native String strerror(long code);

    static native int zstdMinLevel();

    static native int zstdMaxLevel();

    /** Returns (fd << 1 | direct) or a negative code. */
    static native long open(byte[] nulTerminatedPath, int flags, int mode);

    static native int close(int fd);

    static native long pread(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset);

    static native long pwrite(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset);

    static native int fdatasync(int fd);

    static native int fallocate(int fd, long offset, long length);

    static native int ftruncate(int fd, long length);

    static native int punchHole(int fd, long offset, long length);

    static native long fileSize(int fd);

    static native long alignedAlloc(long size, long alignment);

    static native void alignedFree(long address);

    static native ByteBuffer wrap(long address, int size);

    static native int crc32c(int crc, ByteBuffer buf, int offset, int length);

    static native long codecNew();

    static native void codecFree(long codec);

    static native long compress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst,
            int dstOffset, int dstCapacity, int level);

    static native long decompress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst,
            int dstOffset, int dstCapacity);

    /** Returns (codec << 32 | payload length) or a negative code. */
    static native long spillWrite(long codec, int fd, long fileOffset, ByteBuffer src, int srcOffset, int srcLength,
            int level, int maxPayload, ByteBuffer scratch, int scratchCapacity);

    static native long spillRead(long codec, int fd, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
            int dstLength, ByteBuffer scratch, int scratchCapacity);

    static native int noop0(int x);
}
