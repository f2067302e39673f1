package dev.spillway.io;

import dev.spillway.CorruptDataException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * The on-disk format of one spilled block, identical for every backend (the C core's
 * {@code spw_spill_*} and the pure-Java backend), so a block written by one reads back through
 * any other:
 *
 * <pre>
 * offset size field
 * 0      4    magic "SPWB" (0x42575053, little-endian)
 * 4      1    codec: 0 raw, 1 zstd frame
 * 5      3    reserved, zero
 * 8      4    payload length (bytes after the header)
 * 12     4    raw length (the block's size in memory)
 * 16     4    crc32c over bytes 0..15 and the payload
 * 20     12   reserved, zero
 * 32     ...  payload, then zero padding to a multiple of 4096
 * </pre>
 */
public final class SpillFormat {
    public static final int HEADER_SIZE = 32;
    public static final int MAGIC = 0x42575053;
    public static final int CODEC_RAW = 0;
    public static final int CODEC_ZSTD = 1;
    /** Level meaning "store raw, do not compress". */
    public static final int LEVEL_NONE = -1000;
    /** Largest raw block: the payload length must fit the u32 field and a Java buffer index. */
    public static final int MAX_RAW_LENGTH = Integer.MAX_VALUE - 2 * IoBackend.ALIGNMENT - HEADER_SIZE;

    private SpillFormat() {
    }

    /** Bytes on disk for a payload: header plus payload rounded up to 4096. */
    public static int storedSize(int payloadLength) {
        long n = (long) HEADER_SIZE + payloadLength;
        return (int) ((n + IoBackend.ALIGNMENT - 1) & -IoBackend.ALIGNMENT);
    }

    /** zstd's ZSTD_COMPRESSBOUND: the most a frame of {@code rawLength} bytes can take. */
    public static int compressBound(int rawLength) {
        long n = rawLength + ((long) rawLength >>> 8) + (rawLength < (128 << 10) ? ((128 << 10) - rawLength) >>> 11 : 0);
        if (n > MAX_RAW_LENGTH) {
            throw new IllegalArgumentException("block of " + rawLength + " bytes is too large to spill");
        }
        return (int) n;
    }

    /** Scratch bytes the fused calls need for a block of {@code rawLength}. */
    public static int scratchSize(int rawLength) {
        return storedSize(Math.max(rawLength, compressBound(rawLength)));
    }

    /** Writes the 32-byte header at {@code at} (absolute). The crc field is filled by {@link #putCrc}. */
    public static void putHeader(ByteBuffer block, int at, int codec, int payloadLength, int rawLength) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        b.putInt(at, MAGIC);
        b.putInt(at + 4, codec & 0xFF);
        b.putInt(at + 8, payloadLength);
        b.putInt(at + 12, rawLength);
        b.putInt(at + 16, 0);
        b.putLong(at + 20, 0L);
        b.putInt(at + 28, 0);
    }

    public static void putCrc(ByteBuffer block, int at, int crc) {
        block.duplicate().order(ByteOrder.LITTLE_ENDIAN).putInt(at + 16, crc);
    }

    /** The header fields of a block, validated against what the reader expects. */
    public record Header(int codec, int payloadLength, int rawLength, int crc) {
    }

    /**
     * Parses and checks the header of a block of {@code storedSize} bytes that should restore
     * {@code expectedRaw} bytes. Throws {@link CorruptDataException} naming the field that is wrong.
     */
    public static Header parseHeader(ByteBuffer block, int at, int storedSize, int expectedRaw) {
        ByteBuffer b = block.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        int magic = b.getInt(at);
        if (magic != MAGIC) {
            throw new CorruptDataException(String.format("spill block: bad magic 0x%08x (expected 0x%08x)", magic, MAGIC));
        }
        int word = b.getInt(at + 4);
        int codec = word & 0xFF;
        if ((word >>> 8) != 0 || (codec != CODEC_RAW && codec != CODEC_ZSTD)) {
            throw new CorruptDataException(String.format("spill block: bad codec word 0x%08x", word));
        }
        int payload = b.getInt(at + 8);
        int raw = b.getInt(at + 12);
        if (payload < 0 || (long) HEADER_SIZE + payload > storedSize) {
            throw new CorruptDataException("spill block: payload length " + Integer.toUnsignedString(payload)
                    + " does not fit the stored size " + storedSize);
        }
        if (raw != expectedRaw) {
            throw new CorruptDataException("spill block: raw length " + Integer.toUnsignedString(raw)
                    + " but " + expectedRaw + " expected");
        }
        if (codec == CODEC_RAW && payload != raw) {
            throw new CorruptDataException("spill block: raw block with payload " + payload + " != raw length " + raw);
        }
        if (b.getLong(at + 20) != 0 || b.getInt(at + 28) != 0) {
            throw new CorruptDataException("spill block: reserved header bytes 20..31 are not zero");
        }
        return new Header(codec, payload, raw, b.getInt(at + 16));
    }
}
