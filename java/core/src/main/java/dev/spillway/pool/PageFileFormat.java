package dev.spillway.pool;

import dev.spillway.CorruptDataException;
import dev.spillway.InvalidPageFileException;
import dev.spillway.io.IoBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;

/**
 * The on-disk format of a page file. All integers little-endian.
 *
 * <pre>
 * page 0, the header (only its first 4096 bytes are used; the rest of the page is zero):
 *   offset size field
 *   0      8    magic "SPWPAGEF" (0x4645474150575053 read as a little-endian long)
 *   8      4    format version (1)
 *   12     4    page size in bytes (a power of two, 4096 .. 262144)
 *   16     8    page count, the header page included
 *   24     8    head of the free-page list (0: empty)
 *   32     8    pages on the free list
 *   40     4    crc32c of bytes 0..39
 *   (the header is written as one 4096-byte unit whose bytes from 44 on are always zero, so only its
 *   first 512-byte sector ever changes: a device with atomic sector writes cannot tear it. There is
 *   one copy; a header failing its checksum is reported, not repaired.)
 *
 * every other page:
 *   0      4    crc32c of bytes 4 .. pageSize-1
 *   4      4    kind: "DATA" (0x41544144) or "FREE" (0x45455246)
 *   8      ...  DATA: the user's bytes; FREE: the next free page (8 bytes, 0 ends the list)
 * </pre>
 */
final class PageFileFormat {
    static final long MAGIC = 0x4645474150575053L;
    static final int VERSION = 1;
    static final int MIN_PAGE_SIZE = 4096;
    static final int MAX_PAGE_SIZE = 256 * 1024;
    /** The header's bytes in page 0: one O_DIRECT unit, so page 0 is read and written in one aligned call. */
    static final int HEADER_BYTES = IoBackend.ALIGNMENT;
    static final int HEADER_CRC_OFFSET = 40;
    /** Checksum and kind at the start of each data page; the user sees the rest. */
    static final int PAGE_HEADER = 8;
    static final int KIND_DATA = 0x41544144;
    static final int KIND_FREE = 0x45455246;
    /** Page numbers fit 40 bits of the pool's key (the file id takes the bits above). */
    static final long MAX_PAGES = 1L << 40;

    private PageFileFormat() {
    }

    static void checkPageSize(String op, Path path, int pageSize) {
        if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || Integer.bitCount(pageSize) != 1) {
            throw new IllegalArgumentException(op + " " + path + ": page size " + pageSize
                    + " is not a power of two from " + MIN_PAGE_SIZE + " to " + MAX_PAGE_SIZE);
        }
    }

    /** The decoded header. */
    record Header(int pageSize, long pageCount, long freeHead, long freeCount) {
    }

    static void encodeHeader(IoBackend io, ByteBuffer buf, Header h) {
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        for (int i = 0; i < HEADER_BYTES; i += 8) {
            b.putLong(i, 0);
        }
        b.putLong(0, MAGIC);
        b.putInt(8, VERSION);
        b.putInt(12, h.pageSize());
        b.putLong(16, h.pageCount());
        b.putLong(24, h.freeHead());
        b.putLong(32, h.freeCount());
        b.putInt(HEADER_CRC_OFFSET, io.crc32c(b, 0, HEADER_CRC_OFFSET));
    }

    /**
     * Decodes and checks a header read from a file of {@code fileSize} bytes ({@code read} bytes of
     * the header came back); {@code expectedPageSize} 0 means "any".
     */
    static Header decodeHeader(IoBackend io, ByteBuffer buf, int read, long fileSize, Path path, int expectedPageSize) {
        String op = "open page file " + path;
        if (read < HEADER_CRC_OFFSET + 4) {
            throw new InvalidPageFileException(op + ": the file has " + fileSize
                    + " bytes, too short for a page file header (" + HEADER_BYTES + " bytes); it is not a page file"
                    + " or it was truncated");
        }
        ByteBuffer b = buf.duplicate().order(ByteOrder.LITTLE_ENDIAN);
        long magic = b.getLong(0);
        if (magic != MAGIC) {
            throw new InvalidPageFileException(op + ": not a Spillway page file (magic 0x" + Long.toHexString(magic)
                    + ", expected 0x" + Long.toHexString(MAGIC) + ")");
        }
        int version = b.getInt(8);
        if (version != VERSION) {
            throw new InvalidPageFileException(op + ": page file format version " + version
                    + " is not supported (this build reads version " + VERSION + ")");
        }
        int stored = b.getInt(HEADER_CRC_OFFSET);
        int actual = io.crc32c(b, 0, HEADER_CRC_OFFSET);
        if (stored != actual) {
            throw new CorruptDataException(op + ": header (page 0) fails its checksum: stored crc32c 0x"
                    + Integer.toHexString(stored) + ", computed 0x" + Integer.toHexString(actual));
        }
        int pageSize = b.getInt(12);
        long pageCount = b.getLong(16);
        long freeHead = b.getLong(24);
        long freeCount = b.getLong(32);
        if (pageSize < MIN_PAGE_SIZE || pageSize > MAX_PAGE_SIZE || Integer.bitCount(pageSize) != 1) {
            throw new CorruptDataException(op + ": header (page 0) names page size " + pageSize);
        }
        if (expectedPageSize != 0 && expectedPageSize != pageSize) {
            throw new InvalidPageFileException(op + ": the file's page size is " + pageSize
                    + " bytes, the caller asked for " + expectedPageSize);
        }
        if (pageCount < 1 || pageCount > MAX_PAGES || freeCount < 0 || freeCount >= pageCount || freeHead < 0
                || freeHead >= pageCount || (freeHead == 0) != (freeCount == 0)) {
            throw new CorruptDataException(op + ": header (page 0) is inconsistent: page count " + pageCount
                    + ", free-list head " + freeHead + ", free pages " + freeCount);
        }
        if (fileSize < pageCount * pageSize) {
            throw new CorruptDataException(op + ": the file is truncated: its header counts " + pageCount + " pages of "
                    + pageSize + " bytes (" + pageCount * pageSize + " bytes) but the file has " + fileSize + " bytes");
        }
        return new Header(pageSize, pageCount, freeHead, freeCount);
    }

    /** Seals a data page at {@code base} of {@code page} for write-back: kind and checksum in its first 8 bytes. */
    static void sealDataPage(IoBackend io, ByteBuffer page, int base, int pageSize) {
        page.putInt(base + 4, KIND_DATA);
        page.putInt(base, io.crc32c(page, base + 4, pageSize - 4));
    }

    /** Writes a free-list node into a zeroed page buffer. */
    static void encodeFreePage(IoBackend io, ByteBuffer page, int pageSize, long next) {
        page.putInt(4, KIND_FREE);
        page.putLong(8, next);
        page.putInt(0, io.crc32c(page, 4, pageSize - 4));
    }

    /** Checks a page read from disk into {@code page} at {@code base}; returns its kind. */
    static int checkPage(IoBackend io, ByteBuffer page, int base, int pageSize, int read, long fileSize, Path path,
            long pageNo) {
        if (read < pageSize) {
            throw new CorruptDataException("read page " + pageNo + " of " + path + ": the file ends at byte " + fileSize
                    + " but the page spans bytes " + pageNo * pageSize + ".." + ((pageNo + 1) * pageSize - 1)
                    + " (the file was truncated)");
        }
        int stored = page.getInt(base);
        int actual = io.crc32c(page, base + 4, pageSize - 4);
        if (stored != actual) {
            throw new CorruptDataException("read page " + pageNo + " of " + path + ": checksum mismatch (stored crc32c 0x"
                    + Integer.toHexString(stored) + ", computed 0x" + Integer.toHexString(actual)
                    + "): the page is corrupt on disk");
        }
        int kind = page.getInt(base + 4);
        if (kind != KIND_DATA && kind != KIND_FREE) {
            throw new CorruptDataException("read page " + pageNo + " of " + path + ": unknown page kind 0x"
                    + Integer.toHexString(kind));
        }
        return kind;
    }
}
