package dev.spillway.io;

import java.nio.ByteBuffer;

/**
 * A reusable zstd context and the fused spill calls, which compress-and-write or
 * read-and-decompress a whole block in one call (one native crossing per spilled block).
 * Not thread-safe: each thread uses its own. The block format is {@link SpillFormat}'s.
 */
public interface Codec extends AutoCloseable {
    /** Compresses src[srcOffset, +srcLength) into dst from dstOffset; returns the compressed size. */
    int compress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity,
            int level);

    /** Decompresses one zstd frame; returns the decompressed size. Corrupt input is a CorruptDataException. */
    int decompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity);

    /**
     * Encodes src as a spill block (compressed at {@code level}, or raw when level is
     * {@link SpillFormat#LEVEL_NONE} or the compressed payload would exceed {@code maxPayload})
     * in {@code scratch} and writes it at {@code fileOffset} in one write.
     * {@code scratch} must hold {@link SpillFormat#scratchSize(int)} bytes.
     */
    SpillBlock spillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
            int maxPayload, AlignedBuffer scratch);

    /**
     * Reads a block of {@code storedSize} bytes at {@code fileOffset}, checks its header and
     * crc32c, and restores exactly {@code dstLength} bytes into dst.
     */
    void spillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
            AlignedBuffer scratch);

    @Override
    void close();
}
