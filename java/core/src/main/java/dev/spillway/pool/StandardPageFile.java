package dev.spillway.pool;

import dev.spillway.AccessIntent;
import dev.spillway.ClosedException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;

/**
 * A page file of a {@link StandardBufferManager}: its header state (page count, free list) and
 * its descriptor slot in the {@link OpenFileCache}. Page contents live in the manager's frames;
 * this class reads and writes them for it. The format is {@link PageFileFormat}.
 *
 * <p>Lock order: {@link #closeLock}, the manager's eviction lock, a page-table partition, this
 * file's monitor (header state), the open-file cache. I/O happens under this monitor only for the
 * header and free-list nodes.
 */
final class StandardPageFile implements PageFile {
    private final StandardBufferManager manager;
    private final IoBackend backend;
    private final Path path;
    private final int pageSize;
    final int fileId;
    private final long keyBase;

    /** The descriptor, or null while the cache has it closed. Guarded by the cache's lock. */
    IoFile io;
    /** I/O calls in flight on {@link #io}. Guarded by the cache's lock. */
    int inUse;
    /** Set when the file is closed for good (after its last I/O). */
    volatile boolean closed;
    /** Set while closing: new pins and allocations are refused. */
    volatile boolean closing;
    /** Serializes closes of this file; first in the manager's lock order. */
    final Object closeLock = new Object();

    private volatile long pageCount; // written under this
    /** The free list as a stack: the head is the last element. Guarded by this. */
    private long[] freeStack;
    private int freeSize; // guarded by this
    /** Pages on the free list or between free list and table (being freed or allocated). Guarded by this. */
    private final Set<Long> unavailable = new HashSet<>();
    private boolean headerDirty; // guarded by this

    private StandardPageFile(StandardBufferManager manager, IoBackend backend, Path path, int pageSize, int fileId,
            long pageCount, long[] freeStack) {
        this.manager = manager;
        this.backend = backend;
        this.path = path;
        this.pageSize = pageSize;
        this.fileId = fileId;
        this.keyBase = (long) fileId * PageFileFormat.MAX_PAGES;
        this.pageCount = pageCount;
        this.freeStack = freeStack;
        this.freeSize = freeStack.length;
        for (long p : freeStack) {
            unavailable.add(p);
        }
    }

    /** Creates the file (it must not exist) and writes its header page. */
    static StandardPageFile create(StandardBufferManager manager, IoBackend backend, OpenFileCache cache, Path path,
            int pageSize, int fileId) {
        PageFileFormat.checkPageSize("create page file", path, pageSize);
        IoFile io = backend.open(path, EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE, OpenFlag.DIRECT));
        try (AlignedBuffer buf = backend.allocate(pageSize)) {
            PageFileFormat.encodeHeader(backend, buf.buffer(), new PageFileFormat.Header(pageSize, 1, 0, 0));
            io.write(buf.buffer(), 0, pageSize, 0);
            io.sync();
        } catch (RuntimeException | Error e) {
            io.close();
            try {
                Files.deleteIfExists(path);
            } catch (java.io.IOException suppressed) {
                e.addSuppressed(suppressed);
            }
            throw e;
        }
        StandardPageFile f = new StandardPageFile(manager, backend, path, pageSize, fileId, 1, new long[0]);
        cache.adopt(f, io);
        return f;
    }

    /** Opens and checks an existing file, writing nothing to it; expectedPageSize 0 accepts any. */
    static StandardPageFile open(StandardBufferManager manager, IoBackend backend, OpenFileCache cache, Path path,
            int expectedPageSize, int fileId) {
        if (expectedPageSize != 0) {
            PageFileFormat.checkPageSize("open page file", path, expectedPageSize);
        }
        IoFile io = backend.open(path, EnumSet.of(OpenFlag.DIRECT));
        try {
            long size = io.size();
            PageFileFormat.Header h;
            try (AlignedBuffer buf = backend.allocate(PageFileFormat.HEADER_BYTES)) {
                int read = io.read(buf.buffer(), 0, PageFileFormat.HEADER_BYTES, 0);
                h = PageFileFormat.decodeHeader(backend, buf.buffer(), read, size, path, expectedPageSize);
            }
            long[] stack = readFreeList(backend, io, path, h, size);
            StandardPageFile f = new StandardPageFile(manager, backend, path, h.pageSize(), fileId, h.pageCount(), stack);
            cache.adopt(f, io);
            return f;
        } catch (RuntimeException | Error e) {
            io.close();
            throw e;
        }
    }

    /** Walks the free list from its head, checking every node; returns it as a stack (head last). */
    private static long[] readFreeList(IoBackend backend, IoFile io, Path path, PageFileFormat.Header h, long size) {
        long n = h.freeCount();
        if (n > Integer.MAX_VALUE - 8) {
            throw new dev.spillway.CorruptDataException("open page file " + path + ": header counts " + n + " free pages");
        }
        // grown as nodes check out, not sized from the header: a forged count must not allocate gigabytes
        long[] list = new long[(int) Math.min(n, 1024)];
        int ps = h.pageSize();
        try (AlignedBuffer buf = backend.allocate(ps)) {
            ByteBuffer b = buf.buffer().order(ByteOrder.LITTLE_ENDIAN);
            long page = h.freeHead();
            for (int i = 0; i < n; i++) {
                if (page < 1 || page >= h.pageCount()) {
                    throw new dev.spillway.CorruptDataException("open page file " + path + ": free list entry " + i
                            + " points to page " + page + ", outside 1.." + (h.pageCount() - 1));
                }
                if (i == list.length) {
                    list = java.util.Arrays.copyOf(list, (int) Math.min(n, 2L * i));
                }
                list[i] = page;
                int read = io.read(b, 0, ps, page * ps);
                int kind = PageFileFormat.checkPage(backend, b, ps, read, size, path, page);
                if (kind != PageFileFormat.KIND_FREE) {
                    throw new dev.spillway.CorruptDataException("open page file " + path + ": page " + page
                            + " is on the free list but is a data page on disk");
                }
                page = b.getLong(8);
            }
            if (page != 0) {
                throw new dev.spillway.CorruptDataException("open page file " + path + ": the free list is longer than the "
                        + n + " pages its header counts (or has a cycle)");
            }
        }
        long[] stack = new long[list.length];
        for (int i = 0; i < list.length; i++) {
            stack[i] = list[list.length - 1 - i];
        }
        return stack;
    }

    @Override
    public Path path() {
        return path;
    }

    @Override
    public int pageSize() {
        return pageSize;
    }

    @Override
    public int usableSize() {
        return pageSize - PageFileFormat.PAGE_HEADER;
    }

    @Override
    public long pageCount() {
        return pageCount;
    }

    @Override
    public synchronized long freePageCount() {
        return freeSize;
    }

    @Override
    public long allocatePage() {
        return manager.allocatePage(this);
    }

    @Override
    public void freePage(long page) {
        manager.freePage(this, page);
    }

    @Override
    public PageHandle pin(long page, AccessIntent intent) {
        return manager.pin(this, page, intent);
    }

    @Override
    public void flush() {
        manager.flush(this);
    }

    @Override
    public boolean isOpen() {
        return !closed;
    }

    @Override
    public void close() {
        manager.closeFile(this);
    }

    StandardBufferManager manager() {
        return manager;
    }

    /** The pool's key of a page: file id above bit 40, page number below. */
    long key(String op, long page) {
        if (page < 1 || page >= PageFileFormat.MAX_PAGES) {
            throw new IllegalArgumentException(op + " page " + page + " of " + path + ": "
                    + (page == 0 ? "page 0 is the file's header" : "no such page (data pages are 1.." + (pageCount - 1) + ")"));
        }
        if (closing) {
            throw new ClosedException(op + " page " + page + " of " + path + ": the page file is closed");
        }
        return keyBase | page;
    }

    /** Whether a page may be loaded now: in range, not free. Called under the page's partition lock. */
    synchronized void checkLoadable(String op, long page) {
        checkAllocated(op, page);
    }

    private void checkAllocated(String op, long page) {
        if (closing) {
            throw new ClosedException(op + " page " + page + " of " + path + ": the page file is closed");
        }
        if (page >= pageCount) {
            throw new IllegalArgumentException(op + " page " + page + " of " + path + ": out of range, the file has "
                    + pageCount + " pages (data pages 1.." + (pageCount - 1) + ")");
        }
        if (unavailable.contains(page)) {
            throw new IllegalArgumentException(op + " page " + page + " of " + path + ": the page is free (freed and not"
                    + " allocated again)");
        }
    }

    /** Takes a page for allocation: the free-list head, else a new page at the end. It stays unavailable until published. */
    synchronized long takePage() {
        if (closing) {
            throw new ClosedException("allocate a page in " + path + ": the page file is closed");
        }
        long page;
        if (freeSize > 0) {
            page = freeStack[--freeSize]; // already in unavailable
        } else {
            if (pageCount >= PageFileFormat.MAX_PAGES) {
                throw new IllegalStateException("allocate a page in " + path + ": the file has " + pageCount
                        + " pages, the most a page file can hold");
            }
            page = pageCount;
            unavailable.add(page);
            pageCount = page + 1;
        }
        headerDirty = true;
        return page;
    }

    /** The allocated page is resident in the table: pins may now load it. */
    synchronized void publish(long page) {
        unavailable.remove(page);
    }

    /** Step one of freeing (under the page's partition lock): new pins of the page now fail. */
    synchronized void beginFree(long page) {
        checkAllocated("free", page);
        unavailable.add(page);
    }

    /** Step two: write the free-list node and push it. On failure the page is allocated again. */
    synchronized void linkFree(long page) {
        long head = freeSize > 0 ? freeStack[freeSize - 1] : 0;
        try (AlignedBuffer buf = backend.allocate(pageSize)) {
            ByteBuffer b = buf.buffer().order(ByteOrder.LITTLE_ENDIAN);
            PageFileFormat.encodeFreePage(backend, b, pageSize, head);
            write("free", page, b);
        } catch (RuntimeException | Error e) {
            unavailable.remove(page);
            throw e;
        }
        if (freeSize == freeStack.length) {
            freeStack = java.util.Arrays.copyOf(freeStack, Math.max(16, freeSize * 2));
        }
        freeStack[freeSize++] = page;
        headerDirty = true;
    }

    synchronized void writeHeaderIfDirty() {
        if (!headerDirty) {
            return;
        }
        long head = freeSize > 0 ? freeStack[freeSize - 1] : 0;
        try (AlignedBuffer buf = backend.allocate(PageFileFormat.HEADER_BYTES)) {
            PageFileFormat.encodeHeader(backend, buf.buffer(),
                    new PageFileFormat.Header(pageSize, pageCount, head, freeSize));
            OpenFileCache cache = manager.fileCache();
            IoFile f = cache.acquire(this, "write header of");
            try {
                f.write(buf.buffer(), 0, PageFileFormat.HEADER_BYTES, 0);
            } finally {
                cache.release(this);
            }
        }
        headerDirty = false;
    }

    /** Reads a data page from disk into a frame buffer and checks it. */
    void readPage(long page, ByteBuffer dst) {
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, "read page " + page + " of");
        int read;
        long size;
        try {
            read = f.read(dst, 0, pageSize, page * pageSize);
            size = read < pageSize ? f.size() : -1;
        } finally {
            cache.release(this);
        }
        int kind = PageFileFormat.checkPage(backend, dst, pageSize, read, size, path, page);
        if (kind != PageFileFormat.KIND_DATA) {
            throw new dev.spillway.CorruptDataException("read page " + page + " of " + path
                    + ": the page is a free-list node on disk but the file's header does not list it as free");
        }
    }

    /** Writes one whole page (already sealed) at its place. */
    void write(String op, long page, ByteBuffer src) {
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, op + " page " + page + " of");
        try {
            f.write(src, 0, pageSize, page * pageSize);
        } finally {
            cache.release(this);
        }
    }

    void sync() {
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, "sync");
        try {
            f.sync();
        } finally {
            cache.release(this);
        }
    }

    @Override
    public String toString() {
        return "page file " + path + " (" + pageSize + "-byte pages, " + pageCount + " pages)";
    }
}
