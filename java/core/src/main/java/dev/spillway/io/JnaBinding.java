package dev.spillway.io;

import com.sun.jna.Native;
import com.sun.jna.Pointer;
import java.lang.ref.Reference;
import java.nio.ByteBuffer;

/**
 * The jna binding: JNA direct mapping ({@link Native#register}) into the same libspillway the jni
 * binding loaded (JNA dlopens {@link NativeLibrary#loadedFile()}, which returns the library already
 * mapped). The simplest binding, kept for comparison and as a fallback; see {@link NativeCoreBackend}.
 *
 * <p>C pointers ({@code void *}, {@code spw_codec *}) are declared as Java {@code long}: a pointer and
 * an int64 are passed the same way on the LP64 Linux targets Spillway ships for (amd64, aarch64), and
 * a long lets us pass a direct buffer's address plus offset without allocating a {@link Pointer} per
 * call. A buffer whose address went down is kept reachable until the call returns.
 */
final class JnaBinding implements NativeCalls {
    private JnaBinding() {
    }

    /** Binds the functions and returns the jna backend over them. */
    static IoBackend createBackend() {
        Lib.bind();
        return NativeCoreBackend.create(BackendKind.JNA, new JnaBinding());
    }

    @Override
    public String version() {
        return Lib.spw_version();
    }

    @Override
    public String strerror(long code) {
        return Lib.spw_strerror(code);
    }

    @Override
    public int zstdMinLevel() {
        return Lib.spw_zstd_min_level();
    }

    @Override
    public int zstdMaxLevel() {
        return Lib.spw_zstd_max_level();
    }

    @Override
    public long open(byte[] nulTerminatedPath, int flags, int mode) {
        int[] direct = new int[1];
        int r = Lib.spw_open(nulTerminatedPath, flags, mode, direct);
        return r < 0 ? r : ((long) r << 1) | direct[0];
    }

    @Override
    public int close(int fd) {
        return Lib.spw_close(fd);
    }

    @Override
    public long pread(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset) {
        try {
            return Lib.spw_pread(fd, address(buf, bufOffset), length, fileOffset);
        } finally {
            Reference.reachabilityFence(buf);
        }
    }

    @Override
    public long pwrite(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset) {
        try {
            return Lib.spw_pwrite(fd, address(buf, bufOffset), length, fileOffset);
        } finally {
            Reference.reachabilityFence(buf);
        }
    }

    @Override
    public int fdatasync(int fd) {
        return Lib.spw_fdatasync(fd);
    }

    @Override
    public int fallocate(int fd, long offset, long length) {
        return Lib.spw_fallocate(fd, offset, length);
    }

    @Override
    public int ftruncate(int fd, long length) {
        return Lib.spw_ftruncate(fd, length);
    }

    @Override
    public int punchHole(int fd, long offset, long length) {
        return Lib.spw_punch_hole(fd, offset, length);
    }

    @Override
    public long fileSize(int fd) {
        return Lib.spw_file_size(fd);
    }

    @Override
    public long alignedAlloc(long size, long alignment) {
        return Lib.spw_aligned_alloc(size, alignment);
    }

    @Override
    public void alignedFree(long address) {
        Lib.spw_aligned_free(address);
    }

    @Override
    public long map(long size) {
        return Lib.spw_map(size);
    }

    @Override
    public int unmap(long address, long size) {
        return Lib.spw_unmap(address, size);
    }

    @Override
    public int discard(ByteBuffer buf, int offset, int length) {
        try {
            return Lib.spw_discard(address(buf, offset), length);
        } finally {
            Reference.reachabilityFence(buf);
        }
    }

    @Override
    public ByteBuffer wrap(long address, int size) {
        return new Pointer(address).getByteBuffer(0, size);
    }

    @Override
    public int crc32c(int crc, ByteBuffer buf, int offset, int length) {
        try {
            return Lib.spw_crc32c(crc, address(buf, offset), length);
        } finally {
            Reference.reachabilityFence(buf);
        }
    }

    @Override
    public long codecNew() {
        return Lib.spw_codec_new();
    }

    @Override
    public void codecFree(long codec) {
        Lib.spw_codec_free(codec);
    }

    @Override
    public long compress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity, int level) {
        try {
            return Lib.spw_compress(codec, address(dst, dstOffset), dstCapacity, address(src, srcOffset), srcLength,
                    level);
        } finally {
            Reference.reachabilityFence(src);
            Reference.reachabilityFence(dst);
        }
    }

    @Override
    public long decompress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity) {
        try {
            return Lib.spw_decompress(codec, address(dst, dstOffset), dstCapacity, address(src, srcOffset), srcLength);
        } finally {
            Reference.reachabilityFence(src);
            Reference.reachabilityFence(dst);
        }
    }

    @Override
    public long spillWrite(long codec, int fd, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
            int maxPayload, ByteBuffer scratch, int scratchCapacity) {
        // out-parameters per call: JNA copies arrays in and out anyway, and a spill moves 256 KiB
        int[] outCodec = new int[1];
        long[] outPayload = new long[1];
        long r;
        try {
            r = Lib.spw_spill_write(codec, fd, fileOffset, address(src, srcOffset), srcLength, level, maxPayload,
                    address(scratch, 0), scratchCapacity, outCodec, outPayload);
        } finally {
            Reference.reachabilityFence(src);
            Reference.reachabilityFence(scratch);
        }
        return r < 0 ? r : ((long) outCodec[0] << 32) | outPayload[0];
    }

    @Override
    public long spillRead(long codec, int fd, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
            int dstLength, ByteBuffer scratch, int scratchCapacity) {
        try {
            return Lib.spw_spill_read(codec, fd, fileOffset, storedSize, address(dst, dstOffset), dstLength,
                    address(scratch, 0), scratchCapacity);
        } finally {
            Reference.reachabilityFence(dst);
            Reference.reachabilityFence(scratch);
        }
    }

    @Override
    public int noop(int x) {
        return Lib.spw_noop(x);
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

        static native long spw_map(long size);

        static native int spw_unmap(long p, long size);

        static native int spw_discard(long p, long len);

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
}
