package dev.spillway;

import java.nio.file.Path;

/**
 * A file of fixed-size pages managed by a {@link BufferManager}. Page 0 is the file's header;
 * data pages are numbered from 1. Freed pages are reused by later allocations before the file
 * grows. Obtain one with {@link BufferManager#createPageFile} or {@link BufferManager#openPageFile}.
 */
public interface PageFile extends AutoCloseable {
    Path path();

    /** Page size on disk, a power of two from 4 KiB to 256 KiB. */
    int pageSize();

    /** Bytes a pinned page offers: {@link #pageSize()} minus the 8-byte page header. */
    int usableSize();

    /** Pages in the file, the header page included; data pages are 1 .. pageCount-1. */
    long pageCount();

    /** Pages on the free list. */
    long freePageCount();

    /** A new zero-filled page (from the free list, else by growing the file). */
    long allocatePage();

    /** Puts a page on the free list; it must not be pinned. */
    void freePage(long page);

    /** Pins a page, reading it from disk if it is not resident. */
    PageHandle pin(long page, AccessIntent intent);

    /** Writes back every dirty page not pinned for writing, then the header, then fdatasync. */
    void flush();

    boolean isOpen();

    /** Flushes and closes; fails (and stays open) if a page is pinned or a write fails. */
    @Override
    void close();
}
