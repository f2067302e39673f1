package dev.spillway.io;

import java.nio.ByteBuffer;

/**
 * The C core's functions as one binding reaches them (jni, ffm or jna): nothing but the crossing.
 * Each method is one {@code spw_*} call. Buffers are direct, with absolute offsets that Java has
 * already checked; results are values {@code >= 0} or negative codes (-errno or SPW_E_*).
 * {@link NativeCoreBackend} does everything else once for all three: argument checks, handles,
 * error translation.
 */
interface NativeCalls {
    /** SPW_VERSION_STRING of the loaded library. */
    String version();

    String strerror(long code);

    int zstdMinLevel();

    int zstdMaxLevel();

    /** spw_open; returns {@code fd << 1 | direct} or a negative code. */
    long open(byte[] nulTerminatedPath, int flags, int mode);

    int close(int fd);

    long pread(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset);

    long pwrite(int fd, ByteBuffer buf, int bufOffset, int length, long fileOffset);

    int fdatasync(int fd);

    int fallocate(int fd, long offset, long length);

    int ftruncate(int fd, long length);

    int punchHole(int fd, long offset, long length);

    long fileSize(int fd);

    /** spw_aligned_alloc; 0 on failure. */
    long alignedAlloc(long size, long alignment);

    void alignedFree(long address);

    /** spw_map: zero-filled anonymous memory, backed only where touched; 0 on failure. */
    long map(long size);

    /** spw_unmap of a whole mapping from {@link #map}. */
    int unmap(long address, long size);

    /** spw_discard of bytes [offset, offset + length) of a buffer over memory from {@link #map}. */
    int discard(ByteBuffer buf, int offset, int length);

    /** A direct ByteBuffer over {@code size} bytes at {@code address}. */
    ByteBuffer wrap(long address, int size);

    /**
     * {@link #wrap} and the object every view of that buffer (slice, duplicate) keeps reachable, so
     * that the memory can be freed once it is unreachable ({@link AlignedBuffer#closeWhenUnreachable}):
     * the buffer itself where it was made by JNI's NewDirectByteBuffer (its views point back to it).
     */
    default Wrapped wrapAnchored(long address, int size) {
        ByteBuffer b = wrap(address, size);
        return new Wrapped(b, b);
    }

    /** A wrapped buffer and the object its views keep reachable. */
    record Wrapped(ByteBuffer buffer, Object anchor) {
    }

    int crc32c(int crc, ByteBuffer buf, int offset, int length);

    /** spw_codec_new; 0 on failure. */
    long codecNew();

    void codecFree(long codec);

    long compress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity, int level);

    long decompress(long codec, ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity);

    /** spw_spill_write; returns {@code codec << 32 | payload length} or a negative code. */
    long spillWrite(long codec, int fd, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
            int maxPayload, ByteBuffer scratch, int scratchCapacity);

    long spillRead(long codec, int fd, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
            ByteBuffer scratch, int scratchCapacity);

    /** spw_noop: the binding's own cost, for {@link Diagnostics}. */
    int noop(int x);
}
