package dev.spillway.io;

import java.nio.ByteBuffer;
import java.nio.file.Path;

/**
 * An open file. Safe to use from many threads at once; {@link #close()} waits for no one but
 * takes effect when the last operation in flight returns, so a descriptor is never reused
 * under a running read. Any operation after close throws {@link dev.spillway.ClosedException}.
 *
 * <p>When {@link #isDirect()} is true, buffer addresses, file offsets and lengths must be
 * multiples of {@link IoBackend#ALIGNMENT}; a violation is an {@link IllegalArgumentException}.
 */
public interface IoFile extends AutoCloseable {
    Path path();

    /** Whether O_DIRECT is in force (it was asked for and the file system accepted it). */
    boolean isDirect();

    boolean isReadOnly();

    boolean isOpen();

    /**
     * Reads {@code length} bytes at {@code fileOffset} into {@code dst} from absolute index
     * {@code dstOffset}, finishing short reads. Returns the bytes read: less than length only at
     * end of file.
     */
    int read(ByteBuffer dst, int dstOffset, int length, long fileOffset);

    /** Writes all {@code length} bytes, finishing short writes. */
    void write(ByteBuffer src, int srcOffset, int length, long fileOffset);

    /** fdatasync. */
    void sync();

    /** Reserves disk blocks for the range (fallocate), so a later write cannot fail with ENOSPC. */
    void allocate(long offset, long length);

    void truncate(long length);

    /** Frees the disk blocks of the range, keeping the size. False where the file system cannot. */
    boolean punchHole(long offset, long length);

    long size();

    @Override
    void close();
}
