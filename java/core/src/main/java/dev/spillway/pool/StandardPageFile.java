package dev.spillway.pool;

import dev.spillway.AccessIntent;
import dev.spillway.ClosedException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.SpillwayException;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.NativeIoException;
import dev.spillway.io.OpenFlag;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.HashSet;
import java.util.Set;
import java.util.concurrent.atomic.AtomicLong;

/**
 * A page file of a {@link StandardBufferManager}: its header state (page count, free list) and
 * its descriptor slot in the {@link OpenFileCache}. Page contents live in the manager's frames;
 * this class reads and writes them for it. The format is {@link PageFileFormat}.
 *
 * <p><b>Crash consistency.</b> A flush writes the dirty pages, then (if allocations or frees changed
 * it) fdatasync, the header (page count, free-list head and count), fdatasync, and the free-list nodes
 * of pages freed since the last header; then fdatasync. The barriers are for a power loss, which
 * keeps any subset of the writes since the last fdatasync: without them the header could reach the
 * disk before the pages it counts (a file too short to open) and a node before the header that lists
 * its page (a flushed page overwritten while the header on disk still counts it as allocated).
 * Between flushes a page reaches the disk only by eviction's write-back, whole and checksummed; a
 * free reaches it only with the next header. So after a crash (the process killed; the tests use
 * SIGKILL) the header is the one of the last flush that wrote it, and every page holds a state it
 * had at that flush or later: its flushed data, data written since, or zeros for a page allocated
 * since; a torn page fails its checksum when read, and so does a new page that a flush counted while
 * it was held for writing (the file is extended over it); a page reused from the free list and held
 * for writing across a flush gets an empty data page over its node first, so it reads as zeros and
 * never as a free page the header does not list. Where a crash hit after a page was reused (or
 * its node rewritten) but before the header, the header's free list no longer matches the disk;
 * {@link #open} sees it and rebuilds the list from the pages' kinds on disk.
 *
 * <p>Lock order: {@link #closeLock}, the manager's eviction lock, a page-table partition, this
 * file's monitor (header state), the open-file cache. I/O happens under this monitor only for the
 * header and free-list nodes, and for one extend and fdatasync in a flush's last header round
 * ({@link #extendSyncAndWriteHeader}).
 */
final class StandardPageFile implements PageFile {
    private static final System.Logger LOG = System.getLogger("dev.spillway.pool");
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
    /** The file's device and inode while it is open, the key of the manager's check against opening it twice. Guarded by the manager's files. */
    Object identity;
    /** Serializes closes of this file; first in the manager's lock order. */
    final Object closeLock = new Object();
    /**
     * Serializes flushes (and a close's flush) of this file; after {@link #closeLock}, before the
     * eviction lock. Two at once could leave the first's free-list nodes to the second, which had
     * not written them yet when the first returned: a crash then leaked the freed pages.
     */
    final Object flushLock = new Object();

    private volatile long pageCount; // written under this
    /** The free list as a stack: the head is the last element. Guarded by this. */
    private long[] freeStack;
    private int freeSize; // guarded by this
    /** Pages on the free list or between free list and table (being freed or allocated). Guarded by this. */
    private final Set<Long> unavailable = new HashSet<>();
    private boolean headerDirty; // guarded by this
    /**
     * Pages of this file written back and then dropped (evicted, or at close) since the last
     * fdatasync that succeeded: if the next one fails, the kernel may have dropped their data
     * and we no longer hold it ({@link StandardBufferManager#sync}).
     */
    final AtomicLong droppedUnsynced = new AtomicLong();
    /** Set for good when an fdatasync failed while dropped pages depended on it; every later flush fails with it. */
    volatile SpillwayException durabilityLost;
    /**
     * Free-stack entries below this index are the list of the header on disk; those above were
     * pushed since, and their nodes are written only with the next header. Guarded by this.
     */
    private int durableDepth;
    /**
     * Free-stack entries below this index may have their node on disk: {@link #durableDepth} and
     * more, since a failed fdatasync lowers that to 0 (every node is written again) while the nodes
     * it covered may well have reached the disk. A page popped from below it is a stale node
     * ({@link #staleNodes}). Guarded by this.
     */
    private int nodeDepth;
    /** Header writes so far ({@link #writeNodes} writes only the last one's nodes). Guarded by this. */
    private long headerNumber;
    /**
     * The free-stack size of the last header written, lowered by allocations since: entries below it
     * are that header's list and have not changed. Guarded by this.
     */
    private int headerDepth;
    /**
     * Pages allocated from the header's free list whose free-list node is still on disk: nothing
     * was written to them since. A flush must overwrite such a node before it writes a header that
     * counts the page as allocated, or a crash followed by {@link #rebuildFreeList} would take the
     * node for a free page and hand the page out a second time. Guarded by this.
     */
    private final Set<Long> staleNodes = new HashSet<>();
    /** Whether {@link #staleNodes} has any; written under this. */
    private volatile boolean anyStaleNodes;

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
        this.durableDepth = freeStack.length;
        this.nodeDepth = freeStack.length;
        for (long p : freeStack) {
            unavailable.add(p);
        }
    }

    /** Creates the file (it must not exist), writes its header page and makes both durable, the name included. */
    static StandardPageFile create(StandardBufferManager manager, IoBackend backend, OpenFileCache cache, Path path,
            int pageSize, int fileId) {
        PageFileFormat.checkPageSize("create page file", path, pageSize);
        IoFile io = backend.open(path, EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE, OpenFlag.DIRECT));
        try (AlignedBuffer buf = backend.allocate(pageSize)) {
            PageFileFormat.encodeHeader(backend, buf.buffer(), new PageFileFormat.Header(pageSize, 1, 0, 0));
            io.write(buf.buffer(), 0, pageSize, 0);
            io.sync();
            // the new name too, or a power loss after create returned could lose the whole file
            backend.syncDirectory(path.getParent());
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

    /**
     * Opens and checks an existing file; expectedPageSize 0 accepts any. Writes nothing to it, except
     * to rebuild a free list a crash left stale ({@link #rebuildFreeList}).
     */
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
            long[] stack;
            try {
                stack = readFreeList(backend, io, path, h, size);
            } catch (StaleFreeList e) {
                stack = rebuildFreeList(backend, io, path, h, size, e.getMessage());
            }
            StandardPageFile f = new StandardPageFile(manager, backend, path, h.pageSize(), fileId, h.pageCount(), stack);
            cache.adopt(f, io);
            return f;
        } catch (RuntimeException | Error e) {
            io.close();
            throw e;
        }
    }

    /**
     * A free list that later steps changed before a crash let them reach the header. Pages freed or
     * reused write their node or data at once, but the header follows only at the next flush; so
     * after a crash the header's list can lead, through nodes whose checksums are all good, to a
     * page that was reused (now a data page), end early, run long, or point past the header's page
     * count; or, where a crash tore a write, to a page of a known kind that fails its checksum. Only
     * these shapes are read as a crash; a listed page that fails its checksum and is zeros or
     * garbage (no page kind) is corruption.
     */
    private static final class StaleFreeList extends RuntimeException {
        private static final long serialVersionUID = 1L;

        StaleFreeList(String message) {
            super(message, null, false, false);
        }
    }

    /**
     * Rebuilds the free list after a crash from what each page is on disk: a page whose node is a
     * valid free-list node is free, any other page is allocated (data, or unreadable and reported
     * when read). Every page then holds its state as of the last flush or a later one: a freed page
     * is free, a reused page keeps its new data, one reused but not yet written stays free. The
     * nodes are rewritten into one chain, then the header, then fdatasync. O(pages), after a crash only.
     */
    private static long[] rebuildFreeList(IoBackend backend, IoFile io, Path path, PageFileFormat.Header h, long size,
            String why) {
        int ps = h.pageSize();
        long[] free = new long[16];
        int n = 0;
        try (AlignedBuffer buf = backend.allocate(ps)) {
            ByteBuffer b = buf.buffer().order(ByteOrder.LITTLE_ENDIAN);
            for (long page = 1; page < h.pageCount(); page++) {
                int read = io.read(b, 0, ps, page * ps);
                int kind;
                try {
                    kind = PageFileFormat.checkPage(backend, b, 0, ps, read, size, path, page);
                } catch (dev.spillway.CorruptDataException e) {
                    continue; // allocated as far as the list goes; a pin reports it
                }
                if (kind == PageFileFormat.KIND_FREE) {
                    if (n == free.length) {
                        free = java.util.Arrays.copyOf(free, n * 2);
                    }
                    free[n++] = page;
                }
            }
            // one chain: free[0] at the bottom (next 0) ... free[n-1] the head
            for (int i = 0; i < n; i++) {
                for (int off = 0; off < ps; off += 8) {
                    b.putLong(off, 0);
                }
                PageFileFormat.encodeFreePage(backend, b, ps, i == 0 ? 0 : free[i - 1]);
                io.write(b, 0, ps, free[i] * ps);
            }
        }
        try (AlignedBuffer buf = backend.allocate(PageFileFormat.HEADER_BYTES)) {
            PageFileFormat.encodeHeader(backend, buf.buffer(),
                    new PageFileFormat.Header(ps, h.pageCount(), n == 0 ? 0 : free[n - 1], n));
            io.write(buf.buffer(), 0, PageFileFormat.HEADER_BYTES, 0);
        }
        io.sync();
        LOG.log(System.Logger.Level.WARNING, "page file " + path + " was not closed cleanly (" + why + "): rebuilt its"
                + " free list from the pages on disk, " + n + " free pages");
        return java.util.Arrays.copyOf(free, n);
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
            // Brent's cycle detection: a list that loops (nodes with good checksums, the header's count
            // forged or large, the file sparse) is found within twice its tail and loop, not after
            // reading as many pages as the header counts (up to 2^31, and a list that size)
            long tortoise = page;
            long power = 1;
            long steps = 0;
            for (int i = 0; i < n; i++) {
                if (i > 0) {
                    if (page == tortoise) {
                        throw new StaleFreeList("free list entry " + i + " returns to page " + page
                                + ": the list loops");
                    }
                    if (++steps == power) {
                        tortoise = page;
                        power <<= 1;
                        steps = 0;
                    }
                }
                if (page < 1 || page >= h.pageCount()) {
                    String what = "free list entry " + i + " points to page " + page + ", outside 1.." + (h.pageCount() - 1);
                    if (i == 0) {
                        throw new dev.spillway.CorruptDataException("open page file " + path + ": " + what);
                    }
                    throw new StaleFreeList(what); // a node rewritten after the header (its checksum is good)
                }
                if (i == list.length) {
                    list = java.util.Arrays.copyOf(list, (int) Math.min(n, 2L * i));
                }
                list[i] = page;
                int read = io.read(b, 0, ps, page * ps);
                int kind;
                try {
                    kind = PageFileFormat.checkPage(backend, b, 0, ps, read, size, path, page);
                } catch (dev.spillway.CorruptDataException e) {
                    int torn = read == ps ? b.getInt(4) : 0;
                    if (torn == PageFileFormat.KIND_DATA || torn == PageFileFormat.KIND_FREE) {
                        // a whole page of a known kind whose checksum fails: a write a crash tore (a reused
                        // page's write-back, or a node), half new and half old; the rebuild keeps it
                        // allocated and a pin reports it. Zeros or garbage (a hole, a forged list) stay corruption.
                        throw new StaleFreeList("free list entry " + i + ", page " + page + ", is a torn write ("
                                + e.getMessage() + ")");
                    }
                    throw e;
                }
                if (kind != PageFileFormat.KIND_FREE) {
                    throw new StaleFreeList("page " + page + " is on the header's free list but is a data page on disk");
                }
                page = b.getLong(8);
            }
            if (page != 0) {
                throw new StaleFreeList("the free list is longer than the " + n + " pages its header counts");
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
        if (closing) { // first: on a closed file every page number is the same error
            throw new ClosedException(op + " page " + page + " of " + path + ": the page file is closed");
        }
        if (page < 1 || page >= PageFileFormat.MAX_PAGES) {
            throw new IllegalArgumentException(op + " page " + page + " of " + path + ": "
                    + (page == 0 ? "page 0 is the file's header" : "no such page (data pages are 1.." + (pageCount - 1) + ")"));
        }
        return keyBase | page;
    }

    /** The key of a page this file has handed out (no checks: allocation checked them). */
    long keyOf(long page) {
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
        if (!unavailable.isEmpty() && unavailable.contains(page)) { // (no boxing while no page is free)
            throw new IllegalArgumentException(op + " page " + page + " of " + path + ": the page is free (freed and not"
                    + " allocated again)");
        }
    }

    /** The page allocation takes next: the free-list head, else a new page at the end. */
    synchronized long nextPage() {
        if (closing) {
            throw new ClosedException("allocate a page in " + path + ": the page file is closed");
        }
        if (freeSize > 0) {
            return freeStack[freeSize - 1];
        }
        if (pageCount >= PageFileFormat.MAX_PAGES) {
            throw new IllegalStateException("allocate a page in " + path + ": the file has " + pageCount
                    + " pages, the most a page file can hold");
        }
        return pageCount;
    }

    /**
     * Takes {@code expected} for allocation if it is still {@link #nextPage} (called under that
     * page's partition lock), else -1. The page stays unavailable until published.
     */
    synchronized long takePage(long expected) {
        long page = nextPage(); // checks that the file is open and not full
        if (page != expected) {
            return -1;
        }
        if (freeSize > 0) {
            freeSize--; // the head, already in unavailable
            if (freeSize < nodeDepth) { // its node is (or, after a failed fdatasync, may be) on disk
                staleNodes.add(page);
                anyStaleNodes = true;
            }
            durableDepth = Math.min(durableDepth, freeSize);
            nodeDepth = Math.min(nodeDepth, freeSize);
            headerDepth = Math.min(headerDepth, freeSize);
        } else {
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

    /**
     * Step two: push it on the free list. Its node is not written now but after the next header
     * ({@link #writeNodes}): until then the page keeps its data on disk, so a crash before
     * that flush finds it as the last flush left it.
     */
    synchronized void linkFree(long page) {
        if (freeSize == freeStack.length) {
            freeStack = java.util.Arrays.copyOf(freeStack, Math.max(16, freeSize * 2));
        }
        freeStack[freeSize++] = page;
        headerDirty = true;
    }

    synchronized boolean headerDirty() {
        return headerDirty;
    }

    /**
     * Extends the file over every page counted now, before the barrier that precedes the header
     * ({@code StandardBufferManager#writeHeader}): a new page held for writing through the flush has
     * not reached the disk, and the header must not reach it before the file's new size does.
     */
    long extendToPageCount() {
        long pages;
        synchronized (this) {
            pages = pageCount;
        }
        long counted = pages * pageSize;
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, "extend", -1);
        try {
            extendTo(f, counted);
        } finally {
            cache.release(this);
        }
        return pages;
    }

    /**
     * Extends the file to {@code bytes} if it is shorter: pages counted but not yet written (held
     * for writing) read as zeros, so a crash leaves unreadable pages, not a file too short to open.
     */
    private static void extendTo(IoFile f, long bytes) {
        if (f.size() < bytes) {
            f.truncate(bytes);
        }
    }

    /** An fdatasync of {@link #extendSyncAndWriteHeader} failed (the cause); the header was not written. */
    static final class SyncFailed extends RuntimeException {
        private static final long serialVersionUID = 1L;

        SyncFailed(RuntimeException cause) {
            super(cause.getMessage(), cause, false, false);
        }

        @Override
        public synchronized RuntimeException getCause() {
            return (RuntimeException) super.getCause();
        }
    }

    /**
     * The last round of a flush's header, for allocations past the end that do not pause: under
     * this monitor, so none comes between, extends the file over every page counted, fdatasyncs,
     * and writes the header ({@link #writeHeaderIfDirty}'s answer). Allocations and loads of this
     * file wait for that one fdatasync.
     */
    synchronized long extendSyncAndWriteHeader() {
        long pages = pageCount;
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, "sync", -1);
        try {
            extendTo(f, pages * pageSize);
            try {
                f.sync();
            } catch (RuntimeException e) {
                throw new SyncFailed(e);
            }
        } finally {
            cache.release(this);
        }
        return writeHeaderIfDirty(pages);
    }

    /** {@link #writeHeaderIfDirty}'s answer when pages were allocated past what the caller made durable. */
    static final long HEADER_RETRY = -2;

    /**
     * Writes the header (the caller has made the pages it counts durable, the file's size over the
     * first {@code durablePages} included). Returns the number of the header written if pages freed
     * since the last one need their nodes ({@link #writeNodes}, after the caller made this header
     * durable), else -1; {@link #HEADER_RETRY}, writing nothing, if more pages are counted now than
     * {@code durablePages}.
     *
     * <p>The header goes before the nodes, with an fdatasync between: if a crash (or a power loss)
     * keeps the header and not all the nodes, the header's list leads to a page that is still data on
     * disk, which {@link #open} reads as a crash and repairs ({@link #rebuildFreeList}); a node that
     * reached the disk before its header would instead overwrite the data of a page the header on
     * disk still counts as allocated.
     */
    synchronized long writeHeaderIfDirty(long durablePages) {
        if (!headerDirty) {
            return -1;
        }
        if (pageCount > durablePages) {
            // allocated past the end since the caller made the file's size durable: the header must
            // not reach the disk before the new size does, so the caller extends and syncs again
            return HEADER_RETRY;
        }
        long head = freeSize > 0 ? freeStack[freeSize - 1] : 0;
        OpenFileCache cache = manager.fileCache();
        try (AlignedBuffer buf = backend.allocate(PageFileFormat.HEADER_BYTES)) {
            PageFileFormat.encodeHeader(backend, buf.buffer(),
                    new PageFileFormat.Header(pageSize, pageCount, head, freeSize));
            IoFile f = cache.acquire(this, "write header of", -1);
            try {
                // only where the caller has no barriers to keep (its durability already lost, at
                // close) is there anything left to extend
                extendTo(f, pageCount * pageSize);
                f.write(buf.buffer(), 0, PageFileFormat.HEADER_BYTES, 0);
            } finally {
                cache.release(this);
            }
        }
        headerDirty = false;
        headerNumber++;
        headerDepth = freeSize;
        return durableDepth < freeSize ? headerNumber : -1;
    }

    /**
     * Writes the nodes of the pages that header {@code header} lists and the one before did not,
     * unless a later header was written since (its caller writes them after it is durable). Entries
     * of the stack popped since the header are skipped ({@link #headerDepth}).
     */
    synchronized void writeNodes(long header) {
        if (header != headerNumber) {
            return;
        }
        int depth = Math.min(headerDepth, freeSize);
        try (AlignedBuffer buf = backend.allocate(pageSize)) {
            ByteBuffer b = buf.buffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int i = durableDepth; i < depth; i++) {
                PageFileFormat.encodeFreePage(backend, b, pageSize, i == 0 ? 0 : freeStack[i - 1]);
                nodeDepth = Math.max(nodeDepth, i + 1); // before: a write that fails may still land
                write("free", freeStack[i], b, 0);
                staleNodes.remove(freeStack[i]); // a node again, and this time a listed one
                anyStaleNodes = !staleNodes.isEmpty();
            }
        } catch (RuntimeException | Error e) {
            headerDirty = true; // the next flush writes the header and the nodes again
            throw e;
        }
        durableDepth = Math.max(durableDepth, depth);
        nodeDepth = Math.max(nodeDepth, depth);
    }

    /**
     * An fdatasync failed: the header and the free-list nodes written since the last good one may
     * not be on disk either, so the next flush writes them all again. They may as well be there:
     * {@link #nodeDepth} keeps counting them as on disk for allocations.
     */
    synchronized void syncFailed() {
        headerDirty = true;
        durableDepth = 0;
        headerNumber++; // the nodes of a header written before wait for the next one
    }

    /** The pages of {@link #staleNodes} now. */
    synchronized long[] staleNodes() {
        long[] pages = new long[staleNodes.size()];
        int i = 0;
        for (long p : staleNodes) {
            pages[i++] = p;
        }
        return pages;
    }

    /** Whether {@code page} still has its node on disk ({@link #staleNodes}). */
    synchronized boolean hasStaleNode(long page) {
        return staleNodes.contains(page);
    }

    /** A page's data (or an empty page) was written over it: if it had a stale node, it is a data page on disk now. */
    void nodeOverwritten(long page) {
        if (anyStaleNodes) { // (a write-back takes no monitor while there are none)
            synchronized (this) {
                staleNodes.remove(page);
                anyStaleNodes = !staleNodes.isEmpty();
            }
        }
    }

    /**
     * Writes an empty data page (zeros, sealed) over {@code page}: what a crash then leaves of a page
     * allocated and not yet written is zeros, as for a new page, not a free-list node.
     */
    void writeEmptyPage(long page) {
        try (AlignedBuffer buf = backend.allocate(pageSize)) {
            ByteBuffer b = buf.buffer().order(ByteOrder.LITTLE_ENDIAN);
            for (int off = 0; off < pageSize; off += 8) {
                b.putLong(off, 0);
            }
            PageFileFormat.sealDataPage(backend, b, 0, pageSize);
            write("write an empty page over the free-list node of", page, b, 0);
        }
        nodeOverwritten(page);
    }

    /** Reads a data page from disk into {@code dst} at {@code base} (a frame's place in its slab) and checks it. */
    void readPage(long page, ByteBuffer dst, int base) {
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, "read", page);
        int read;
        long size;
        try {
            read = f.read(dst, base, pageSize, page * pageSize);
            size = read < pageSize ? f.size() : -1;
        } catch (NativeIoException e) {
            // the OS error names offset, not page: say which page, and that nothing was cached
            throw new SpillwayException("read page " + page + " of " + path + " failed (nothing was cached; a retry"
                    + " reads it again): " + e.getMessage(), e);
        } finally {
            cache.release(this);
        }
        int kind = PageFileFormat.checkPage(backend, dst, base, pageSize, read, size, path, page);
        if (kind != PageFileFormat.KIND_DATA) {
            throw new dev.spillway.CorruptDataException("read page " + page + " of " + path
                    + ": the page is a free-list node on disk but the file's header does not list it as free");
        }
    }

    /** Writes one whole page (already sealed), {@code src} from {@code base}, at its place in the file. */
    void write(String op, long page, ByteBuffer src, int base) {
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, op, page);
        try {
            f.write(src, base, pageSize, page * pageSize);
        } finally {
            cache.release(this);
        }
    }

    void sync() {
        OpenFileCache cache = manager.fileCache();
        IoFile f = cache.acquire(this, "sync", -1);
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
