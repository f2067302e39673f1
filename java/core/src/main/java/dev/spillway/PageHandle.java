package dev.spillway;

import java.nio.ByteBuffer;

/**
 * A pinned page: its memory stays resident, at the same address, until {@link #close()} unpins it.
 * The page offers {@link #size()} bytes to its user (the first 8 bytes of every page on disk hold
 * its checksum and are not visible here).
 *
 * <p>Every accessor checks that the handle is still pinned, so a handle used after close throws
 * {@link ClosedException} instead of reading memory that may already hold another page. The
 * accessors are little-endian and index from 0. A READ handle refuses writes.
 *
 * <p>Handles are recycled (pinning allocates nothing): do not keep a handle after closing it. A
 * closed handle is handed out again only after many later pins of the same thread, so use after
 * close and double close are detected in practice, but not after that reuse.
 */
public interface PageHandle extends AutoCloseable {
    PageFile file();

    long pageNumber();

    AccessIntent intent();

    /** Bytes the page offers to its user: the file's page size minus the 8-byte page header. */
    int size();

    /**
     * The page's memory, no copy: a direct buffer of {@link #size()} bytes, read-only for a READ
     * pin, little-endian like this handle's accessors ({@code buffer().getLong(0) == getLong(0)}).
     * The same buffer object serves every pin of the page while it stays resident (so this
     * allocates nothing after the first call): use absolute get/put and leave its position, limit
     * and byte order alone, or {@code duplicate()} it first (a duplicate is big-endian again, as
     * Java makes every new view). It is a view of the frame and must not
     * be used after {@link #close()}: a ByteBuffer cannot be revoked, the handle's accessors can.
     * (What a view kept anyway shows once its page is gone: the standard manager keeps frame memory
     * mapped while such a view is reachable, even past the manager's close, so it reads zeros or
     * another page's bytes, and its writes can corrupt another page, but it does not crash the JVM.)
     */
    ByteBuffer buffer();

    byte getByte(int offset);

    int getInt(int offset);

    long getLong(int offset);

    void get(int offset, byte[] dst, int dstOffset, int length);

    void putByte(int offset, byte value);

    void putInt(int offset, int value);

    void putLong(int offset, long value);

    void put(int offset, byte[] src, int srcOffset, int length);

    /** Whether this handle still holds its pin. */
    boolean isPinned();

    /** Unpins. A second close is an {@link IllegalStateException}. */
    @Override
    void close();
}
