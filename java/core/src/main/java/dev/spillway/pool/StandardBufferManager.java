package dev.spillway.pool;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.BufferManagerStats;
import dev.spillway.ClosedException;
import dev.spillway.DestroyPolicy;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.SpillwayException;
import dev.spillway.TagUsage;
import dev.spillway.TempFileInfo;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.io.SpillFormat;
import dev.spillway.memory.MemoryAccountant;
import dev.spillway.spill.SpillCompression;
import dev.spillway.spill.TemporaryFileManager;
import dev.spillway.spill.TransientBufferPool;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.Comparator;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.LongAdder;
import java.util.concurrent.locks.LockSupport;
import java.util.concurrent.locks.ReentrantLock;
import java.util.function.Consumer;
import java.util.function.IntFunction;
import java.util.function.LongConsumer;
import java.util.function.LongPredicate;

/**
 * The standard buffer manager: pages of {@link PageFile}s in off-heap frames under the memory
 * limit of a {@link MemoryAccountant}, pinned through {@link PageHandle}s.
 *
 * <h2>Concurrency</h2>
 * The model is vmcache / LeanStore: a page table plus one atomic state word per frame, no global
 * lock on a hit.
 * <ol>
 *   <li><b>Hit.</b> {@link PageTable#get} (optimistic read of a partition, validated). A READ pin
 *       is then a hazard pointer: the frame goes into one of the thread's few pin slots with a
 *       volatile store, and the pin holds if the frame's state shows no kill under way; a kill
 *       marks the frame EVICTING with a CAS and then looks for it in every thread's slots
 *       ({@link ThreadState} explains why one of the two always sees the other). So a read hit
 *       writes nothing the frame's other readers share, and its unpin is a release store. A WRITE
 *       pin (and a read pin beyond the thread's slots) is one CAS on the frame's state word
 *       ({@link Frame}: pin count, write pins, DIRTY, WRITEBACK, LOADING, DEAD, EVICTING), its unpin
 *       another. The hit's key goes into a per-thread ring and the handle is the next of a
 *       per-thread ring of handles (closing it gives nothing back); the thread's state holding
 *       all three is found through a small table indexed by thread id ({@link #byThread}), a
 *       ThreadLocal only behind it. So a hit never waits for a lock and nothing is allocated.
 *       The price of hazard pins is on the eviction side: checking a candidate reads every
 *       registered thread's slots (8 each), under the registry's monitor.
 *       <p><b>Feeding hits.</b> The policy gets the hits where it decides: before a miss inserts
 *       its page and before an eviction chooses, every thread's hits since the last feed are fed
 *       to it, each thread's oldest first ({@link ThreadState}, "Hits"). A thread that has missed
 *       within its last 16,384 hits also feeds when its ring of 1,024 fills (tryLock: if the lock
 *       is busy the ring wraps). So one thread pinning a trace through the pool feeds the policy
 *       exactly the requests the trace replay feeds it, and gets exactly the replay's hits:
 *       {@code PoolReplayTest}, nine cells of the six traces, among them gli at 632 pages (41.71%)
 *       and sprite at 5,306 (runs of up to 6,113 hits between misses). A thread that only hits
 *       feeds nothing and pays only the ring's two stores: under a hot loop the policy has, at
 *       the next miss, each thread's last 1,024 hits, and the older ones are counted as lost.
 *       <p>Two designs came before, both measured. A task on {@code ForkJoinPool.commonPool()}
 *       took batches of 64 from each thread (as Caffeine drains its read buffer): waking its
 *       worker cost the hit path, on two threads its policy work (12.6 ns per key for
 *       {@code alirs} with 4,096 keys) took cores from the hitting threads, and it still lost
 *       hits: batches that filled while the previous one waited were dropped, and the same
 *       replay through the pool got 34.33% on gli at 632 pages instead of 41.71% (sprite at 708:
 *       86.32% for 86.51%, loop at 506: 48.00% for 49.85%). Then the hitting thread fed its batch
 *       itself at most every 20 µs: fast on the hit path but lossier (gli 35.39%). Caffeine, for
 *       comparison, scheduled one drain per 834 reads in a hot loop on one thread (its read
 *       buffer holds 16 entries a stripe and drops reads while a drain is pending), so its policy
 *       saw at most 2% of them. JMH {@code HitPath -f 2 -wi 2 -i 4} (the ring: {@code -f 3}),
 *       pin+unpin against Caffeine's {@code getIfPresent} in the same runs, ns: with the task,
 *       one thread zipf 24.5 vs 20.6, uniform 25.2 vs 25.2, two threads 36.7 vs 24.3 and 30.1 vs
 *       24.8; with the ring, 17.2 vs 25.4, 17.4 vs 26.0, 18.0 vs 20.8 and 18.7 vs 24.0.
 *       <p>History, from the task design. Where a hit's time went (one thread, CPU ns, 4096
 *       resident pages, zipf; an ad-hoc harness, not kept, cut the hit path off after each step
 *       and interleaved the steps over 101 rounds; 25th percentile): argument checks, page-table lookup and state read 17.7 (the
 *       lookup and state read alone, 11-12, measured like a {@code ConcurrentHashMap.get} of the
 *       same keys in the same run); the thread's state +3.8; the hazard pin and unpin +5; recording
 *       the hit +0.3; handing batches off (to the task, as it was then) +11; the handle +0.8;
 *       38.6 in all. Since then the table's
 *       hash is one multiply instead of Murmur3's finalizer, whose dependent chain held back the
 *       lookup's loads: 3-4 ns less per pin+unpin over 201 interleaved rounds, three runs. The
 *       hand-off's share is mostly the drain being active at all: with nothing ever handed off, a
 *       pin+unpin takes 34-41 CPU ns, about what Caffeine's {@code getIfPresent} takes with its own
 *       drain running (31-47). Measured and not adopted, none moving the full pin+unpin beyond
 *       noise (161-201 interleaved rounds): batches of frame references instead of keys (half the
 *       cache lines crossing to the draining core); batches of 256; a drain that makes another pass
 *       instead of being scheduled again when hand-offs arrive while it runs; both of the first
 *       two; the partitions cached in this object (one dependent load fewer). Nor is the hand-off's
 *       cost the batch's cache lines: with a drain that takes batches without reading them, it was
 *       still +8.5; nor stores into them stalling the next pin's fence: touching a new batch's
 *       lines once at hand-off changed nothing. In noisier runs, a dedicated drain thread that
 *       parks instead of spinning, and padding around the drain's state word, showed no gain
 *       either. Page table (CPU ns of lookup plus state read): keys in a dense array beside the
 *       frames, 64 partitions, 14-15 (no gain); the same in one partition, 12.4; one flat table at
 *       load 1/4 without a lock, 6-7. The last two would put every miss's insert on one lock word
 *       that every hit reads, and cost 16 to 32 more bytes per frame. What might close the rest of
 *       the gap to Caffeine (not done): frame state in dense arrays indexed by a frame id
 *       (vmcache), so the lookup and the pin touch two compact arrays instead of a frame object.
 *       Page memory carved from slabs ({@link FrameMemory}), which took the per-frame buffers off
 *       the heap, moved the CPU-time ratio to Caffeine from 1.27-1.51 to 1.18-1.32 on one thread
 *       and from 1.53-1.77 to 1.30-1.65 on two (medians of zipf and uniform keys; HitPathRatio
 *       15 100 cpu, builds interleaved, two runs each on one thread and five on two): a little,
 *       not the gap.</li>
 *   <li><b>Miss.</b> Reserve the frame's bytes with the accountant (which may evict, through
 *       {@link #reclaim}), take a frame's memory from {@link FrameMemory}, then under the
 *       partition's write lock insert a frame in state LOADING holding the loader's pin. Others
 *       who miss on the same page find it and wait for LOADING to clear: a page is read once
 *       however many threads miss on it. A failed read kills the frame (DEAD) and removes it;
 *       waiters retry and see the error themselves.</li>
 *   <li><b>A frame never changes page or memory.</b> Eviction marks it DEAD and removes it; a pin
 *       that raced sees DEAD and looks the page up again. Frames are created per load (and, where
 *       memory cannot be discarded, per move of a page by compaction: {@link #compactLocked}), so
 *       a stale reference can never reach another page through the pool.</li>
 * </ol>
 *
 * <h2>Eviction</h2>
 * The {@link EvictionPolicy} is single-threaded and used only under {@link #evictionLock}: loads
 * and allocations insert, frees and file closes remove, and batches of hits are fed in. {@link #reclaim} asks the policy
 * for victims whose frame is unpinned and idle, writes a dirty victim back first (WRITEBACK bit:
 * readers may still pin it, writers wait), then CASes it from idle to DEAD. A failed write-back
 * leaves the page DIRTY and resident, back in the policy, and the error goes to whoever needed the
 * memory. Write-back runs under the eviction lock: evictions are serialized, hits are not.
 *
 * <h2>Dirty pages and flush</h2>
 * A write pin sets DIRTY when taken and again when released, and write-back begins only with no
 * write pin held (and then holds new ones off), so an update can never be lost between a
 * write-back's copy to disk and its clearing of DIRTY. A flush therefore writes every page that is
 * dirty and not pinned for writing; a page held for writing is written by a later flush or by close.
 *
 * <h2>Latching order</h2>
 * A file's close lock (held only by its close) → {@link #evictionLock} → a {@link PageTable}
 * partition lock → a {@link StandardPageFile}'s monitor → the {@link OpenFileCache} monitor. The
 * hit path waits for none of them: it takes a partition's read lock only when an optimistic read
 * failed, and tries the eviction lock without waiting once per 1,024 hits of a thread that also
 * misses, to feed its hits (then the thread registry's monitor, a leaf). The accountant's
 * {@code reserve} is never called with any of these held, since it may call back into
 * {@link #reclaim}.
 *
 * <h2>Memory per frame</h2>
 * A resident page costs the heap at most 64 bytes, its memory's objects included: a {@link Frame}
 * of 48 (12-byte header + 8 state + 8 key + 4 compressed references and an int offset, 20), its
 * page-table slot, one 4-byte reference at a table load between ½ and ¼ (8 to 16 bytes), and its
 * share of a {@link FrameMemory} slab of 256 frames (the slab, its mapping's AlignedBuffer and
 * direct ByteBuffer: under 1 byte). {@code FrameMemoryTest} measures it from the JVM's class
 * histogram over 8,192 resident pages on every backend: 58.8 bytes where the backend can discard
 * memory (jni, ffm, jna: Frame 48.0, table 10.1, slab share 0.7), 63.1 where it cannot (nio: the
 * same plus the slab's record of which frame holds each slot, 4.1, which compaction needs to
 * give a sparse slab's memory back; slabs there are a sixteenth of the memory limit, at most
 * 4 MiB and 256 frames, so under a 16 MiB limit for 4 KiB pages they hold fewer frames and the
 * slab's share grows). Not
 * counted: the slabs' slot bitmaps (two bits per slot, long arrays), the eviction policy's entry
 * for the key (its own primitive arrays), and the 64-byte view {@code PageHandle.buffer()} makes
 * per frame on first use.
 *
 * <h2>Statistics</h2>
 * {@link #stats()} must not cost the hit path anything shared: a hit is counted in the thread's own
 * {@link ThreadState} (summed by {@link HitCounters} on demand). Misses, evictions and write-backs
 * each come with a disk I/O or the eviction lock anyway, so they use {@link LongAdder}s.
 */
public final class StandardBufferManager implements BufferManager {
    /** Key bits for the page number; the file id takes the 23 bits above (keys stay positive). */
    private static final int PAGE_BITS = Long.numberOfTrailingZeros(PageFileFormat.MAX_PAGES);
    private static final int MAX_FILE_ID = (1 << (63 - PAGE_BITS)) - 1;
    /** Slots of {@link #byThread} (power of two). */
    private static final int THREAD_SLOTS = 256;
    /** Smallest page size: the capacity hint given to the policy is the limit in pages of this size. */
    private static final int HINT_PAGE = 4096;

    private final IoBackend backend;
    private final MemoryAccountant accountant;
    private final ReentrantLock evictionLock = new ReentrantLock();
    private final EvictionPolicy policy; // guarded by evictionLock
    private final LongPredicate evictable = this::isEvictable;
    private final PageTable table = new PageTable();
    private final FrameMemory frameMemory;
    private final OpenFileCache fileCache;
    private final HitCounters hitCounters = new HitCounters();
    private final ThreadLocal<ThreadState> threads = ThreadLocal.withInitial(() -> hitCounters.register(new ThreadState()));
    /**
     * The threads' states again, direct-mapped by thread id, in front of {@link #threads}: a hit
     * finds its thread's state with two dependent loads instead of a ThreadLocal's hash probe. A slot
     * is filled by the first thread that maps to it and kept until that thread dies; a thread that
     * finds its slot taken uses the ThreadLocal.
     */
    private final ThreadState[] byThread = new ThreadState[THREAD_SLOTS];
    private final LongAdder misses = new LongAdder();
    private final LongAdder evictions = new LongAdder();
    private final LongAdder pagesWrittenBack = new LongAdder();
    private final LongAdder pagesMoved = new LongAdder();
    private final Map<Path, StandardPageFile> files = new HashMap<>(); // guarded by itself
    /**
     * The page files open in any buffer manager of this JVM, by identity (device and inode), with
     * the manager and the name each is open under; a file being opened holds its entry from before
     * its open (which may rebuild its free list) to its close. Two managers caching one file would
     * hand out the same pages twice and lose writes. Guarded by itself; taken inside a manager's
     * {@code files}, never the other way round. Another process is not seen here: a page file is
     * for one process at a time, as the README says, and the embedding system locks against others.
     */
    private static final Map<Object, OpenFile> OPEN_IN_THIS_JVM = new HashMap<>();

    private record OpenFile(StandardBufferManager manager, Path path) {
    }

    private final BitSet fileIds = new BitSet(); // guarded by files
    private volatile boolean closed;
    /** Set while close() closes the files, so that no file is registered behind its back. Guarded by files. */
    private boolean closing;
    /**
     * Pages held WRITEBACK now, by a flush or an eviction writing them or by a flush holding write-backs
     * off ({@link #beginWriteBack}, {@link #holdWriteBacks}): pages that will soon be evictable again.
     * Counted from before the bit is set to after it clears, so a reservation that finds such a page
     * unevictable always sees it here, and waits for it instead of failing as if all were pinned.
     */
    private final AtomicInteger writeBacks = new AtomicInteger();
    private final TransientBufferPool transients;
    /** Copies of other threads' hit rings while feeding them (guarded by evictionLock). */
    private final long[] feedScratch = new long[ThreadState.RING];
    private final LongConsumer recordAccess;
    private final Consumer<ThreadState> feedThread = this::feedThread;
    /** Hits overwritten in their thread's ring before a feed (guarded by evictionLock). */
    private long hitsNotFed;

    public StandardBufferManager(Settings settings) {
        Objects.requireNonNull(settings, "settings");
        this.backend = settings.backend() != null ? settings.backend() : Backends.open(settings.backendKind());
        this.accountant = new MemoryAccountant(settings.memoryLimit());
        this.frameMemory = new FrameMemory(backend, accountant::limit);
        int hint = (int) Math.max(16, Math.min(Integer.MAX_VALUE, settings.memoryLimit() / HINT_PAGE));
        this.policy = createPolicy(settings, hint);
        this.recordAccess = policy::recordAccess;
        this.fileCache = new OpenFileCache(backend, settings.maxOpenFiles());
        accountant.addReclaimer(new MemoryAccountant.Reclaimer() {
            @Override
            public long reclaim(long bytes) {
                return StandardBufferManager.this.reclaim(bytes);
            }

            @Override
            public boolean reclaimInProgress() {
                // an eviction under the lock, or a flush's write-back that will leave its page evictable
                return (evictionLock.isLocked() && !evictionLock.isHeldByCurrentThread()) || writeBacks.get() > 0;
            }
        });
        // transient buffers share the accountant (one limit) and register their own reclaimer
        long tempLimit = settings.temporaryDirectoryLimit() == Builder.LIMIT_FROM_FREE_SPACE
                ? TemporaryFileManager.SIZE_DEFAULT : settings.temporaryDirectoryLimit();
        SpillCompression compression = settings.spillAdaptive() ? SpillCompression.adaptiveLevel()
                : settings.spillLevel() == SpillFormat.LEVEL_NONE ? SpillCompression.none()
                : SpillCompression.fixed(settings.spillLevel());
        this.transients = new TransientBufferPool(backend, accountant,
                new TemporaryFileManager.Config(settings.temporaryDirectories(), tempLimit, compression,
                        settings.emptyTemporaryFileRetention()));
    }

    private static EvictionPolicy createPolicy(Settings s, int hint) {
        IntFunction<EvictionPolicy> factory = s.policyFactory();
        if (factory == null) {
            return EvictionPolicies.create(s.policyName() != null ? s.policyName() : EvictionPolicies.DEFAULT, hint);
        }
        EvictionPolicy p = factory.apply(hint);
        if (p == null) {
            throw new IllegalArgumentException("the eviction policy factory returned null");
        }
        return p;
    }

    /** The accountant of this manager, shared with the other pools of the same memory limit. */
    public MemoryAccountant accountant() {
        return accountant;
    }

    public IoBackend backend() {
        return backend;
    }

    /** The eviction policy's name. */
    public String policyName() {
        evictionLock.lock();
        try {
            return policy.name();
        } finally {
            evictionLock.unlock();
        }
    }

    OpenFileCache fileCache() {
        return fileCache;
    }

    private void checkOpen(String op) {
        if (closed) {
            throw new ClosedException(op + ": the buffer manager is closed");
        }
    }

    private StandardPageFile own(PageFile file, String op) {
        Objects.requireNonNull(file, "file");
        if (!(file instanceof StandardPageFile) || ((StandardPageFile) file).manager() != this) {
            throw new IllegalArgumentException(op + ": " + file + " does not belong to this buffer manager");
        }
        return (StandardPageFile) file;
    }

    // ---- files ----

    @Override
    public PageFile createPageFile(Path path, int pageSize) {
        return register(path, "create page file", (p, id) -> StandardPageFile.create(this, backend, fileCache, p, pageSize, id));
    }

    @Override
    public PageFile openPageFile(Path path) {
        return register(path, "open page file", (p, id) -> StandardPageFile.open(this, backend, fileCache, p, 0, id));
    }

    @Override
    public PageFile openPageFile(Path path, int expectedPageSize) {
        return register(path, "open page file", (p, id) -> {
            // checked here, not only in open(), where 0 means "any page size": a caller's 0 is no page size
            PageFileFormat.checkPageSize("open page file", p, expectedPageSize);
            return StandardPageFile.open(this, backend, fileCache, p, expectedPageSize, id);
        });
    }

    private interface Opener {
        StandardPageFile open(Path path, int fileId);
    }

    private PageFile register(Path path, String op, Opener opener) {
        Objects.requireNonNull(path, "path");
        checkOpen(op + " " + path);
        Path abs = path.toAbsolutePath().normalize();
        synchronized (files) {
            if (closing || closed) { // a file opened now would stay open in a closed manager
                throw new ClosedException(op + " " + abs + ": the buffer manager is closed");
            }
            if (files.containsKey(abs)) {
                throw new IllegalStateException(op + " " + abs + ": the file is already open in this buffer manager");
            }
            // The same file under another name (a symbolic or hard link), or in another buffer
            // manager, would get a second cache and a second free list, and the two would hand out
            // the same pages: compare the file's identity (device and inode), not only its name.
            Object identity = identityOf(abs);
            synchronized (OPEN_IN_THIS_JVM) {
                OpenFile same = OPEN_IN_THIS_JVM.get(identity);
                if (same != null) {
                    throw new IllegalStateException(op + " " + abs + ": the file is already open "
                            + (same.manager() == this ? "in this buffer manager" : "in another buffer manager of this JVM")
                            + " as " + same.path());
                }
                OPEN_IN_THIS_JVM.put(identity, new OpenFile(this, abs));
            }
            int id = fileIds.nextClearBit(1);
            StandardPageFile f;
            try {
                if (id > MAX_FILE_ID) {
                    throw new IllegalStateException(op + " " + abs + ": " + MAX_FILE_ID + " page files are open, the most");
                }
                f = opener.open(abs, id);
            } catch (RuntimeException | Error e) {
                synchronized (OPEN_IN_THIS_JVM) {
                    OPEN_IN_THIS_JVM.remove(identity);
                }
                throw e;
            }
            fileIds.set(id);
            files.put(abs, f);
            f.identity = identity;
            if (identity instanceof Path) { // a file just created has its device and inode now
                Object created = identityOf(abs);
                synchronized (OPEN_IN_THIS_JVM) {
                    if (!created.equals(identity) && OPEN_IN_THIS_JVM.putIfAbsent(created, new OpenFile(this, abs)) == null) {
                        OPEN_IN_THIS_JVM.remove(identity);
                        f.identity = created;
                    }
                }
            }
            return f;
        }
    }

    /** The file's device and inode ({@code fileKey}), or a key of its own when there is none (no such file yet). */
    private static Object identityOf(Path abs) {
        try {
            Object key = java.nio.file.Files.readAttributes(abs, java.nio.file.attribute.BasicFileAttributes.class).fileKey();
            return key != null ? key : abs;
        } catch (java.io.IOException e) {
            return abs; // not there (yet): the create or open that follows reports it
        }
    }

    /** Open page files. */
    public List<PageFile> openFiles() {
        synchronized (files) {
            return new ArrayList<>(files.values());
        }
    }

    // ---- pin ----

    @Override
    public PageHandle pin(PageFile file, long page, AccessIntent intent) {
        StandardPageFile f = own(file, "pin");
        boolean write = Objects.requireNonNull(intent, "intent") == AccessIntent.WRITE;
        if (closed) {
            checkOpen("pin page " + page + " of " + f.path());
        }
        long key = f.key("pin", page);
        int waits = 0;
        try {
            for (;;) {
                Frame fr = table.get(key);
                if (fr == null) {
                    fr = load(f, page, key, write);
                    if (fr != null) {
                        return handle(fr, write);
                    }
                    continue; // someone else inserted it meanwhile
                }
                if (fr.file != f) {
                    // The key's file id now belongs to another file: f was closed after key() checked
                    // it and the id was reused (or a load of the id's previous file is failing).
                    if (f.closed || f.closing) {
                        throw new ClosedException("pin page " + page + " of " + f.path() + ": the page file is closed");
                    }
                    waits = backOff(waits);
                    continue;
                }
                ThreadState ts = state();
                if (!write) {
                    int slot = ts.acquireHazard(fr);
                    if (slot >= 0) {
                        if ((fr.state() & (Frame.DEAD | Frame.LOADING | Frame.EVICTING)) == 0) {
                            if (ts.recordHit(key)) {
                                feedNow();
                            }
                            PinnedHandle h = ts.take();
                            h.openHazard(fr, slot);
                            return h;
                        }
                        ts.releaseHazard(slot); // a kill or load is under way: the counted pin below sorts it out
                    }
                }
                int r = fr.tryPin(write); // a write pin, a read pin beyond the slots, or a load or kill under way
                if (r == Frame.PINNED) {
                    if (ts.recordHit(key)) {
                        feedNow();
                    }
                    PinnedHandle h = ts.take();
                    h.open(fr, write);
                    return h;
                }
                if (r == Frame.BUSY) {
                    waits = backOff(waits);
                }
                // GONE: evicted or freed under us; look it up again
            }
        } finally {
            endWait(waits);
        }
    }

    /** The calling thread's state. */
    @SuppressWarnings("deprecation") // getId: Thread.threadId() needs Java 19, and is the same
    private ThreadState state() {
        Thread t = Thread.currentThread();
        ThreadState ts = byThread[(int) t.getId() & (THREAD_SLOTS - 1)];
        return ts != null && ts.owner == t ? ts : stateSlow(t);
    }

    @SuppressWarnings("deprecation")
    private ThreadState stateSlow(Thread t) {
        ThreadState ts = threads.get();
        int i = (int) t.getId() & (THREAD_SLOTS - 1);
        ThreadState holder = byThread[i];
        if (holder == null || !holder.ownerAlive()) { // racing threads may overwrite each other: the loser uses the ThreadLocal
            byThread[i] = ts;
        }
        return ts;
    }

    private PageHandle handle(Frame fr, boolean write) {
        PinnedHandle h = state().take();
        h.open(fr, write);
        return h;
    }

    /** {@link #backOff}'s mark, in the count it returns, of an interrupt it took off the thread. */
    private static final int INTERRUPTED = Integer.MIN_VALUE;

    /**
     * Spin briefly, then yield, then park: LOADING and WRITEBACK last one disk I/O (tens of µs and up).
     * An interrupt does not end the wait (the I/O waited for goes on, and the pool's calls keep an
     * interrupt for the caller, as its I/O does), but it would make every park return at once, and
     * the wait spin until the I/O is done: it is taken off the thread and marked in the count, and
     * the caller gives it back with {@link #endWait} however its loop ends.
     */
    private static int backOff(int waits) {
        int n = waits & ~INTERRUPTED;
        if (n < 32) {
            Thread.onSpinWait();
        } else if (n < 64) {
            Thread.yield();
        } else {
            if (Thread.interrupted()) {
                waits |= INTERRUPTED;
            }
            LockSupport.parkNanos(20_000L);
            return waits; // parking from here on: the count stops, so it never reaches the mark
        }
        return waits + 1;
    }

    /** After a loop that waited with {@link #backOff}: gives the thread back the interrupt taken off it, if any. */
    private static void endWait(int waits) {
        if (waits < 0) {
            Thread.currentThread().interrupt();
        }
    }

    /** The miss path; null if another thread inserted the page first (the caller retries as a hit). */
    private Frame load(StandardPageFile f, long page, long key, boolean write) {
        int size = f.pageSize();
        accountant.reservePage("pin", page, f.path(), MemoryTag.PAGE_CACHE, size);
        Frame fr = null;
        boolean inserted = false;
        PageTable.Partition part = table.partition(key);
        try {
            fr = frameMemory.newFrame(f, key, Frame.LOADING | Frame.PIN_ONE | (write ? Frame.WRITER_ONE | Frame.DIRTY : 0),
                    true); // the read fills the whole page, or the frame dies unseen
            long stamp = part.writeLock();
            try {
                if (part.probe(key) == null) {
                    f.checkLoadable("pin", page);
                    part.put(fr);
                    inserted = true;
                }
            } finally {
                part.unlockWrite(stamp);
            }
        } finally {
            if (!inserted) { // lost the race to another loader, or failed: the memory goes back
                if (fr != null) {
                    frameMemory.free(fr);
                }
                accountant.release(MemoryTag.PAGE_CACHE, size);
            }
        }
        if (!inserted) {
            return null;
        }
        try {
            f.readPage(page, fr.bytes(), fr.offset);
        } catch (RuntimeException | Error e) {
            fr.kill();
            discard(fr, 0);
            throw e;
        }
        evictionLock.lock();
        try {
            state().missed();
            policyInsert("pin page " + page + " of " + f.path(), key);
        } catch (RuntimeException | Error e) {
            fr.kill(); // still LOADING, so no one else holds it: it goes as after a failed read
            discard(fr, 0);
            throw e;
        } finally {
            evictionLock.unlock();
        }
        fr.loaded();
        misses.increment();
        return fr;
    }

    /** A missing thread's ring filled up: feed it, and everyone's, unless the eviction lock is busy (a hit never waits). */
    private void feedNow() {
        if (evictionLock.tryLock()) {
            try {
                feedHitsLocked();
            } catch (RuntimeException e) {
                // A policy that fails on a hit: this pin is taken and must be returned; the hits fed
                // are dropped, and the failure surfaces at the next insert or eviction, which feeds too.
            } finally {
                evictionLock.unlock();
            }
        }
    }

    /**
     * Under evictionLock: feeds every thread's hits, then records the insert of {@code key}. A
     * policy that throws is named in an IllegalStateException; the caller undoes what it did, so
     * that the policy tracks exactly the resident pages. (The hits being fed when it threw are
     * dropped: {@link ThreadState#feed} moves past them first, so one bad key cannot fail every
     * later feed.)
     */
    private void policyInsert(String op, long key) {
        try {
            feedHitsLocked();
        } catch (RuntimeException e) {
            throw policyFailed(op, "recordAccess (hits fed before the insert)", e);
        }
        try {
            policy.recordInsert(key);
        } catch (RuntimeException e) {
            throw policyFailed(op, "recordInsert(" + key + ")", e);
        }
    }

    /** Under evictionLock: tells the policy a resident key left; a policy that throws is named. */
    private void policyRemove(String op, long key) {
        IllegalStateException failed = tryPolicyRemove(op, key);
        if (failed != null) {
            throw failed;
        }
    }

    /**
     * Under evictionLock: as {@link #policyRemove}, for callers that finish what they are doing
     * (free, close) before they report the failure. The pool asks the policy to forget a key again
     * if the policy later offers it as a victim ({@link #reclaim}).
     */
    private IllegalStateException tryPolicyRemove(String op, long key) {
        try {
            policy.recordRemove(key);
            return null;
        } catch (RuntimeException e) {
            return policyFailed(op, "recordRemove(" + key + ")", e);
        }
    }

    private IllegalStateException policyFailed(String op, String call, RuntimeException e) {
        return new IllegalStateException(op + ": the eviction policy " + policy.name() + " failed in " + call + ": " + e, e);
    }

    /** Under evictionLock: every thread's hits since the last feed go to the policy, before it inserts or chooses. */
    private void feedHitsLocked() {
        hitCounters.feed(feedThread);
    }

    private void feedThread(ThreadState ts) {
        hitsNotFed += ts.feed(recordAccess, feedScratch);
    }

    // ---- allocate and free ----

    /**
     * Allocation takes the page, inserts its zeroed frame and makes the page allocated in one
     * critical section under the eviction lock and the page's partition lock, the locks a free and
     * a load's check take: a pin or a free of that page sees it either free (before) or allocated
     * and resident (after), never in between (found by the long lincheck run). Allocations are
     * serialized by the eviction lock; the page is chosen before its partition lock is taken, so a
     * free that got in between makes the loop choose again.
     */
    long allocatePage(StandardPageFile f) {
        checkOpen("allocate a page in " + f.path());
        int size = f.pageSize();
        accountant.reserve("allocate a page in " + f.path(), MemoryTag.PAGE_CACHE, size);
        Frame fr = null;
        boolean resident = false;
        try {
            evictionLock.lock();
            try {
                for (;;) {
                    long candidate = f.nextPage();
                    long key = f.keyOf(candidate);
                    if (fr != null && fr.key != key) {
                        frameMemory.free(fr); // made for a candidate a concurrent free displaced
                        fr = null;
                    }
                    if (fr == null) {
                        // The frame before the page is taken from the file: if no memory can be had
                        // (a slab that cannot be mapped), the free list and page count stay as they were.
                        // Zero-filled memory (a fresh or discarded slot), written back on flush or eviction.
                        fr = frameMemory.newFrame(f, key, Frame.DIRTY, false);
                    }
                    // The policy before the page is taken, as the frame: if it fails, nothing is taken
                    // (hits before this insert come first, as before a load's).
                    policyInsert("allocate page " + candidate + " of " + f.path(), key);
                    boolean taken = false;
                    try {
                        PageTable.Partition part = table.partition(key);
                        long stamp = part.writeLock();
                        try {
                            if (part.probe(key) != null) {
                                throw new IllegalStateException("allocate page " + candidate + " of " + f.path()
                                        + ": the page is already resident (internal error)");
                            }
                            if (f.takePage(candidate) >= 0) { // else a free pushed another page meanwhile: choose again
                                part.put(fr);
                                resident = true; // from here on eviction, free or close gives the memory back
                                f.publish(candidate);
                                taken = true;
                            }
                        } finally {
                            part.unlockWrite(stamp);
                        }
                    } finally {
                        if (!taken) {
                            policyRemove("allocate page " + candidate + " of " + f.path(), key); // only resident pages
                        }
                    }
                    if (taken) {
                        return candidate;
                    }
                }
            } finally {
                evictionLock.unlock();
            }
        } finally {
            if (!resident) {
                if (fr != null) {
                    frameMemory.free(fr);
                }
                accountant.release(MemoryTag.PAGE_CACHE, size);
            }
        }
    }

    void freePage(StandardPageFile f, long page) {
        checkOpen("free page " + page + " of " + f.path());
        long key = f.key("free", page);
        Frame removed = null;
        IllegalStateException policyFailure = null;
        try {
            evictionLock.lock();
            try {
                PageTable.Partition part = table.partition(key);
                long stamp = part.writeLock();
                try {
                    Frame fr = part.probe(key);
                    f.checkLoadable("free", page);
                    if (fr != null && killForFree(fr)) { // false: a failed load killed it, and the loader removes it
                        part.remove(fr);
                        removed = fr;
                        policyFailure = tryPolicyRemove("free page " + page + " of " + f.path(), key);
                    }
                    f.beginFree(page);
                } finally {
                    part.unlockWrite(stamp);
                }
            } finally {
                evictionLock.unlock();
            }
        } finally {
            if (removed != null) { // dead and unreachable: its memory goes back outside the locks
                frameMemory.free(removed);
                accountant.release(MemoryTag.PAGE_CACHE, removed.size());
            }
        }
        f.linkFree(page);
        if (removed != null && frameMemory.compacts()) {
            evictionLock.lock();
            try {
                compactLocked();
            } finally {
                evictionLock.unlock();
            }
        }
        if (policyFailure != null) {
            throw new IllegalStateException("free page " + page + " of " + f.path() + ": the page is free, but "
                    + policyFailure.getMessage(), policyFailure.getCause());
        }
    }

    /**
     * Under the eviction lock and the page's partition lock: kills a frame for freeing. A flush's
     * write-back (which takes neither lock) is waited out rather than reported as a pin; returns
     * false if the frame was already dead, throws if a caller holds a pin.
     */
    private boolean killForFree(Frame fr) {
        int waits = 0;
        try {
            while (kill(fr, true) < 0) {
                long s = fr.state();
                if ((s & Frame.DEAD) != 0) {
                    return false;
                }
                if (heldByACaller(fr, s)) {
                    throw new IllegalStateException("free page " + fr.page() + " of " + fr.file.path()
                            + ": the page is in use (" + Frame.describe(s) + "); unpin it first");
                }
                waits = backOff(waits); // WRITEBACK alone: a flush is writing the page, which ends without our locks
            }
            return true;
        } finally {
            endWait(waits);
        }
    }

    /** Whether a caller holds the frame (a pin, counted or a thread's read pin) or is loading it; {@code s} is its state. */
    private boolean heldByACaller(Frame fr, long s) {
        return (s & (Frame.PIN_MASK | Frame.LOADING)) != 0 || hitCounters.hazardPinned(fr);
    }

    // ---- eviction ----

    private boolean isEvictable(long key) {
        Frame fr = table.get(key);
        if (fr == null) {
            return true; // nothing resident under this key: let the policy drop it
        }
        return (fr.state() & (Frame.PIN_MASK | Frame.WRITEBACK | Frame.LOADING | Frame.DEAD)) == 0
                && !hitCounters.hazardPinned(fr);
    }

    /**
     * Kills a frame that no one pins, loads or writes back (and that is clean unless
     * {@code mayBeDirty}): marks it EVICTING, checks the threads' read pins, then kills it. Returns
     * the state it killed, or -1 if it did not.
     */
    private long kill(Frame fr, boolean mayBeDirty) {
        long s = markForKill(fr, mayBeDirty);
        return s >= 0 && fr.finishKill(s) ? s : -1;
    }

    /**
     * The first half of {@link #kill}: marks the frame EVICTING and checks the threads' read pins.
     * Returns the state it marked (the caller then calls {@link Frame#finishKill}), or -1, unmarked.
     */
    private long markForKill(Frame fr, boolean mayBeDirty) {
        long s = fr.tryMarkEvicting(mayBeDirty);
        if (s >= 0 && hitCounters.hazardPinned(fr)) {
            fr.abortKill();
            return -1;
        }
        return s;
    }

    /**
     * A killed frame leaves the page table and gives its memory back. {@code killedState} is the
     * state it was killed in: a page written since the file's last good fdatasync and dropped now
     * counts against that file's durability if the next fdatasync fails ({@link #sync}).
     */
    private void discard(Frame fr, long killedState) {
        if ((killedState & Frame.UNSYNCED) != 0) {
            fr.file.droppedUnsynced.incrementAndGet();
        }
        PageTable.Partition part = table.partition(fr.key);
        long stamp = part.writeLock();
        try {
            part.remove(fr);
        } finally {
            part.unlockWrite(stamp);
        }
        frameMemory.free(fr);
        accountant.release(MemoryTag.PAGE_CACHE, fr.size());
    }

    /** The accountant's reclaimer: evicts until {@code bytes} were released or nothing is evictable. */
    long reclaim(long bytes) {
        evictionLock.lock();
        try {
            String op = "evict to free " + bytes + " bytes";
            try {
                feedHitsLocked();
            } catch (RuntimeException e) {
                throw policyFailed(op, "recordAccess (hits fed before choosing)", e);
            }
            long freed = 0;
            // A policy must offer only keys its predicate accepts, or NO_VICTIM. A victim pinned since
            // the policy chose it goes back and the next is asked for; one that is not resident, or
            // more such refusals in a row than pages are resident, is a broken policy: an exception
            // naming it, not a loop that would hold the eviction lock for good.
            long futile = 0;
            long futileLimit = table.size() + 64L;
            long forgotten = EvictionPolicy.NO_VICTIM; // the last non-resident key the policy was told to forget
            while (freed < bytes) {
                long victim;
                try {
                    victim = policy.evict(evictable);
                } catch (RuntimeException e) {
                    throw policyFailed(op, "evict", e);
                }
                if (victim == EvictionPolicy.NO_VICTIM) {
                    break;
                }
                if (table.get(victim) == null) {
                    // Left over from a recordRemove that threw (free, close): told once more to forget it.
                    if (victim == forgotten || ++futile > futileLimit) {
                        throw new IllegalStateException(op + ": the eviction policy " + policy.name() + " chose key "
                                + victim + ", which is not a resident page");
                    }
                    policyRemove(op, victim);
                    forgotten = victim;
                    continue;
                }
                long got = evict(victim);
                freed += got;
                futile = got > 0 ? 0 : futile + 1;
                if (futile > futileLimit) {
                    throw new IllegalStateException(op + ": the eviction policy " + policy.name() + " offered " + futile
                            + " victims in a row that are pinned (last key " + victim + "); a policy must return only keys"
                            + " its predicate accepts, or NO_VICTIM");
                }
            }
            compactLocked();
            return freed;
        } finally {
            evictionLock.unlock();
        }
    }

    /**
     * Where memory cannot be discarded ({@link FrameMemory}'s class comment): while a page size's
     * free slots add up to a slab, moves the pages of its emptiest slab into the others' free
     * slots, so the emptied slab's memory goes back. Pages in use stay; {@link FrameMemory#endDrain}
     * then marks their slab stuck, out of the next drains, so the loop ends.
     * Under the eviction lock (one drain at a time, and no eviction picks a page being moved).
     */
    private void compactLocked() {
        Frame[] frames;
        while ((frames = frameMemory.beginDrain()) != null) {
            try {
                for (Frame fr : frames) {
                    if (move(fr)) {
                        pagesMoved.increment();
                    }
                }
            } finally {
                frameMemory.endDrain();
            }
        }
    }

    /**
     * Moves a resident page that is clean, synced and unused into another slab: the kill
     * protocol keeps every pin out while its bytes are copied, then, under its partition's lock,
     * the old frame dies and the new one takes its place in the page table, LOADING until the
     * copy is published, so a pin that found the old frame retries and waits, and never reads a
     * half-moved page. A dirty or unsynced page stays: a flush that listed the old frame would
     * skip the dead one and miss the copy. The policy and the accountant see the same page and
     * the same bytes. False if the page stays where it is.
     */
    private boolean move(Frame old) {
        long s = markForKill(old, false);
        if (s < 0) {
            return false;
        }
        if ((s & Frame.UNSYNCED) != 0) {
            old.abortKill();
            return false;
        }
        Frame moved = frameMemory.newFrameForMove(old);
        if (moved == null) {
            old.abortKill();
            return false;
        }
        moved.bytes().put(moved.offset, old.bytes(), old.offset, old.size());
        boolean replaced = false;
        PageTable.Partition part = table.partition(old.key);
        long stamp = part.writeLock();
        try {
            if (old.finishKill(s)) { // else its state changed meanwhile, and it was unmarked
                part.remove(old);
                part.put(moved);
                replaced = true;
            }
        } finally {
            part.unlockWrite(stamp);
        }
        if (!replaced) {
            moved.kill();
            frameMemory.freeMoved(moved); // never published
            return false;
        }
        moved.loaded();
        frameMemory.freeMoved(old);
        return true;
    }

    /** Pages moved by compaction since the manager was built. */
    long pagesMovedForTest() {
        return pagesMoved.sum();
    }

    /** Evicts one key chosen by the policy; returns the bytes released (0 if it could not go). Under evictionLock. */
    private long evict(long key) {
        Frame fr = table.get(key);
        if (fr == null) {
            return 0;
        }
        for (;;) {
            long killed = kill(fr, false);
            if (killed >= 0) {
                discard(fr, killed);
                evictions.increment();
                return fr.size();
            }
            if (beginWriteBack(fr)) {
                try {
                    writeBack(fr);
                } catch (RuntimeException e) {
                    endWriteBack(fr, false);
                    String op = "evict page " + fr.page() + " of " + fr.file.path();
                    SpillwayException failed = new SpillwayException(op
                            + ": writing the dirty page back failed; the page stays dirty and resident: " + e.getMessage(), e);
                    try {
                        policy.recordInsert(key); // it stays resident, so tracked
                    } catch (RuntimeException pe) { // the write's error matters more; it stays resident untracked
                        failed.addSuppressed(policyFailed(op, "recordInsert(" + key + ") putting the page back", pe));
                    }
                    throw failed;
                } catch (Error e) { // as above, but the Error goes up as it is
                    endWriteBack(fr, false); // else the page stays WRITEBACK (and counted) for good: writers, flush and close wait on it
                    try {
                        policy.recordInsert(key);
                    } catch (RuntimeException pe) {
                        e.addSuppressed(policyFailed("evict page " + fr.page() + " of " + fr.file.path(),
                                "recordInsert(" + key + ") putting the page back", pe));
                    }
                    throw e;
                }
                endWriteBack(fr, true);
                continue; // now clean: kill it unless someone pinned it meanwhile
            }
            try {
                policy.recordInsert(key); // pinned or busy since the policy chose it: it stays
            } catch (RuntimeException e) {
                throw policyFailed("evict page " + fr.page() + " of " + fr.file.path(),
                        "recordInsert(" + key + ") putting back a page pinned since it was chosen", e);
            }
            return 0;
        }
    }

    /** {@link Frame#tryBeginWriteBack}, counted in {@link #writeBacks} until {@link #endWriteBack}. */
    private boolean beginWriteBack(Frame fr) {
        if ((fr.state() & Frame.DIRTY) == 0) {
            return false; // clean: a flush passes most frames here, without touching the shared counter
        }
        writeBacks.incrementAndGet(); // before the bit: see writeBacks
        if (fr.tryBeginWriteBack()) {
            return true;
        }
        writeBacks.decrementAndGet();
        return false;
    }

    private void endWriteBack(Frame fr, boolean written) {
        fr.endWriteBack(written);
        writeBacks.decrementAndGet(); // after the bit
    }

    /** {@link Frame#tryHoldWriteBacks}, counted in {@link #writeBacks} until {@link #releaseWriteBacks}. */
    private boolean holdWriteBacks(Frame fr) {
        writeBacks.incrementAndGet();
        if (fr.tryHoldWriteBacks()) {
            return true;
        }
        writeBacks.decrementAndGet();
        return false;
    }

    private void releaseWriteBacks(Frame fr) {
        fr.releaseWriteBacks();
        writeBacks.decrementAndGet();
    }

    /** Writes a page held WRITEBACK ({@link #beginWriteBack}); the caller ends the write-back. */
    private void writeBack(Frame fr) {
        PageFileFormat.sealDataPage(backend, fr.bytes(), fr.offset, fr.size());
        fr.file.write("write back", fr.page(), fr.bytes(), fr.offset);
        fr.file.nodeOverwritten(fr.page());
        pagesWrittenBack.increment();
    }

    /** Writes a page back if dirty and not held for writing; waits for a write-back already running. */
    private void writeBackIfDirty(Frame fr, String op) {
        int waits = 0;
        try {
            for (;;) {
                if (beginWriteBack(fr)) {
                    try {
                        writeBack(fr);
                    } catch (RuntimeException e) {
                        endWriteBack(fr, false);
                        throw new SpillwayException(op + ": writing page " + fr.page() + " of " + fr.file.path()
                                + " failed; the page stays dirty and resident: " + e.getMessage(), e);
                    } catch (Error e) {
                        endWriteBack(fr, false); // else the page stays WRITEBACK (and counted) for good
                        throw e;
                    }
                    endWriteBack(fr, true);
                    return;
                }
                long s = fr.state();
                if ((s & Frame.WRITEBACK) == 0 || (s & Frame.DEAD) != 0) {
                    return;
                }
                waits = backOff(waits);
            }
        } finally {
            endWait(waits);
        }
    }

    // ---- flush and close ----

    /** Runs {@code action} on every item even after one fails, then throws the first failure with the rest suppressed. */
    private static <T> void forEachThenThrow(Iterable<T> items, java.util.function.Consumer<T> action) {
        RuntimeException failure = null;
        for (T item : items) {
            try {
                action.accept(item);
            } catch (RuntimeException e) {
                if (failure == null) {
                    failure = e;
                } else {
                    failure.addSuppressed(e);
                }
            }
        }
        if (failure != null) {
            throw failure;
        }
    }

    private List<Frame> framesOf(StandardPageFile f) {
        List<Frame> all = new ArrayList<>();
        table.collect(all);
        List<Frame> mine = new ArrayList<>();
        for (Frame fr : all) {
            if (fr.file == f) {
                mine.add(fr);
            }
        }
        mine.sort(Comparator.comparingLong(fr -> fr.page())); // ascending offsets: sequential writes
        return mine;
    }

    void flush(StandardPageFile f) {
        checkOpen("flush " + f.path());
        synchronized (f.flushLock) { // one flush of a file at a time: each returns with its own writes durable
            if (f.closed) { // else the open-file cache refuses its sync, in words the caller never used
                throw new ClosedException("flush " + f.path() + ": the page file is closed");
            }
            flushFrames(f, "flush " + f.path());
        }
    }

    private void flushFrames(StandardPageFile f, String op) {
        checkDurable(f, op);
        List<Frame> frames = framesOf(f);
        forEachThenThrow(frames, fr -> writeBackIfDirty(fr, op));
        overwriteStaleNodes(f, op);
        writeHeader(f, op, frames);
        sync(f, op, frames);
    }

    /**
     * The header of a flush or close, each step behind an fdatasync, since a power loss keeps any
     * subset of the writes since the last one: the pages the header counts (written by the caller,
     * the file extended over those held for writing) are durable before the header; the header is
     * durable before the nodes of the pages it newly lists overwrite their data. The caller syncs
     * the nodes. A flush that changed no allocation syncs once, as before.
     */
    private void writeHeader(StandardPageFile f, String op, List<Frame> frames) {
        if (!f.headerDirty()) {
            return;
        }
        long header = StandardPageFile.HEADER_RETRY;
        // Pages allocated past the end while this runs need the file's size durable again before the
        // header counts them: extend, sync, and retry the header. Under allocations that never pause,
        // the last round holds them off (on the file's monitor) for one extend and fdatasync.
        for (int round = 0; round < HEADER_ROUNDS - 1 && header == StandardPageFile.HEADER_RETRY; round++) {
            long durable = f.extendToPageCount();
            sync(f, op, frames);
            header = f.writeHeaderIfDirty(durable);
        }
        if (header == StandardPageFile.HEADER_RETRY) {
            long[] before = syncSnapshot(frames);
            long dropped = f.droppedUnsynced.get();
            try {
                header = f.extendSyncAndWriteHeader();
            } catch (StandardPageFile.SyncFailed e) {
                throw syncFailure(f, e.getCause());
            }
            synced(f, frames, before, dropped);
        }
        if (header >= 0) {
            sync(f, op, frames);
            f.writeNodes(header);
        }
    }

    /** Rounds of extend-and-sync a flush's header takes for allocations past the end; the last holds them off. */
    private static final int HEADER_ROUNDS = 4;

    /**
     * Before a header that counts them as allocated: pages taken from the free list that are still
     * its nodes on disk (held for writing, so the write-backs above skipped them) get an empty data
     * page written over the node. Otherwise, after a crash that leaves the header's list stale,
     * {@link StandardPageFile#open}'s rebuild would read the node as a free page and hand the page
     * out again while the last flush's data points to it. A crash now leaves zeros there, as it
     * does for a new page held across a flush.
     */
    private void overwriteStaleNodes(StandardPageFile f, String op) {
        for (long page : f.staleNodes()) {
            Frame fr = table.get(f.keyOf(page));
            if (fr == null || fr.file != f) {
                continue; // freed again (its node is rewritten with the header), or evicted (written back)
            }
            int waits = 0;
            try {
                for (;;) {
                    if (holdWriteBacks(fr)) {
                        try {
                            // under the hold no write-back can run: if one wrote the page since, the node is gone
                            if (f.hasStaleNode(page)) {
                                f.writeEmptyPage(page);
                            }
                        } catch (RuntimeException e) {
                            throw new SpillwayException(op + ": writing an empty page over the free-list node of page " + page
                                    + " of " + f.path() + " failed; the header was not written: " + e.getMessage(), e);
                        } finally {
                            releaseWriteBacks(fr);
                        }
                        break;
                    }
                    long s = fr.state();
                    if ((s & Frame.WRITEBACK) == 0 || (s & Frame.DEAD) != 0) {
                        break; // clean (written back) or gone
                    }
                    waits = backOff(waits);
                }
            } finally {
                endWait(waits);
            }
        }
    }

    private static void checkDurable(StandardPageFile f, String op) {
        SpillwayException lost = f.durabilityLost;
        if (lost != null) {
            throw new SpillwayException(op + ": " + lost.getMessage(), lost);
        }
    }

    /**
     * fdatasync of a page file, and what it settles. Success: pages written before it began are
     * durable (their UNSYNCED bit goes, unless written again meanwhile). Failure (fsyncgate: the
     * kernel may have dropped the written data and marked it clean, so a retried fdatasync could
     * succeed without writing anything): every resident page written since the last good sync is
     * DIRTY again, and so are the header and free list, so the next flush writes them again from
     * memory. Pages already dropped from memory cannot be written again: if there are any, the
     * file's durability is lost for good and every later flush of it fails, until it is closed
     * and reopened (close completes, then reports it).
     *
     * <p>{@code frames}: the file's frames as the caller listed them (their UNSYNCED bits are the
     * ones a success clears; a frame loaded since keeps its bit, which only errs towards writing
     * it again). A failure looks at every frame of the file again.
     */
    private void sync(StandardPageFile f, String op, List<Frame> frames) {
        long[] before = syncSnapshot(frames);
        long dropped = f.droppedUnsynced.get();
        try {
            f.sync();
        } catch (RuntimeException e) {
            throw syncFailure(f, e);
        }
        synced(f, frames, before, dropped);
    }

    /** The frames' states before an fdatasync: those not written again since are durable after it. */
    private static long[] syncSnapshot(List<Frame> frames) {
        long[] before = new long[frames.size()];
        for (int i = 0; i < before.length; i++) {
            before[i] = frames.get(i).state();
        }
        return before;
    }

    /** An fdatasync succeeded: what was written before {@code before} and {@code dropped} were taken is durable. */
    private static void synced(StandardPageFile f, List<Frame> frames, long[] before, long dropped) {
        for (int i = 0; i < before.length; i++) {
            frames.get(i).synced(before[i]);
        }
        f.droppedUnsynced.addAndGet(-dropped);
    }

    /**
     * An fdatasync of {@code f} failed with {@code e}: the resident pages and the header are dirty
     * again, so the next flush retries them; returns the exception to throw, which says so for good
     * if pages that depended on it were already dropped from memory.
     */
    private RuntimeException syncFailure(StandardPageFile f, RuntimeException e) {
        int again = 0;
        for (Frame fr : framesOf(f)) {
            again += fr.syncFailed() ? 1 : 0;
        }
        f.syncFailed();
        long lost = f.droppedUnsynced.get();
        if (lost > 0) {
            SpillwayException l = new SpillwayException("fdatasync of " + f.path() + " failed (" + e.getMessage()
                    + ") after " + lost + " pages had been written back and dropped from memory since the last"
                    + " fdatasync that succeeded; the kernel may have dropped them too, so their durability is"
                    + " unknown and every later flush of this file fails; close and reopen it (" + again
                    + " resident pages are dirty again)", e);
            f.durabilityLost = l;
            return l;
        }
        return e;
    }

    @Override
    public void flushAll() {
        checkOpen("flush all");
        forEachThenThrow(openFiles(), pf -> flush((StandardPageFile) pf));
    }

    void closeFile(StandardPageFile f) {
        synchronized (f.closeLock) {
            synchronized (f.flushLock) {
                closeFileLocked(f);
            }
        }
    }

    private void closeFileLocked(StandardPageFile f) {
        if (f.closed) {
            return;
        }
        String op = "close " + f.path();
        SpillwayException lost = f.durabilityLost; // close still completes, then reports it
        if (lost == null) {
            flushFrames(f, op);
        }
        IllegalStateException policyFailure = null; // close still completes, then reports it
        evictionLock.lock();
        try {
            f.closing = true; // new pins fail from here
            List<Frame> frames = framesOf(f);
            for (Frame fr : frames) {
                long s = fr.state();
                if (heldByACaller(fr, s)) {
                    f.closing = false;
                    throw new IllegalStateException(op + ": page " + fr.page() + " is pinned (" + Frame.describe(s)
                            + "); close its handles first");
                }
            }
            for (Frame fr : frames) {
                try {
                    writeBackIfDirty(fr, op);
                } catch (RuntimeException e) {
                    f.closing = false;
                    throw e;
                }
                long killed = kill(fr, false);
                if (killed < 0) {
                    f.closing = false;
                    throw new IllegalStateException(op + ": page " + fr.page() + " was pinned while closing ("
                            + Frame.describe(fr.state()) + ")");
                }
                discard(fr, killed);
                IllegalStateException failed = tryPolicyRemove(op, fr.key);
                if (failed != null && policyFailure == null) {
                    policyFailure = failed;
                }
            }
            compactLocked();
        } finally {
            evictionLock.unlock();
        }
        try {
            if (f.durabilityLost == null) {
                writeHeader(f, op, List.of()); // every frame of the file is gone by now
            } else {
                long header = f.writeHeaderIfDirty(Long.MAX_VALUE); // best effort, no barriers: the loss is reported below either way
                if (header >= 0) {
                    f.writeNodes(header);
                }
            }
        } catch (RuntimeException | Error e) {
            if (f.durabilityLost == null) {
                f.closing = false; // nothing lost yet: the file stays open (its pages reload) and a later close retries
                throw e;
            }
            if (e != f.durabilityLost && e.getCause() != f.durabilityLost) {
                f.durabilityLost.addSuppressed(e);
            }
        }
        if (f.durabilityLost == null) {
            try {
                sync(f, op, List.of()); // every frame of the file is gone by now
            } catch (RuntimeException e) {
                if (f.durabilityLost == null) {
                    f.closing = false;
                    throw e; // nothing lost yet: the file stays open and a later close retries
                }
            }
        } else {
            try {
                f.sync(); // best effort for what close wrote; the loss is reported below either way
            } catch (RuntimeException e) {
                f.durabilityLost.addSuppressed(e);
            }
        }
        f.closed = true; // before the descriptor goes, so nothing can reopen it
        fileCache.remove(f);
        synchronized (files) {
            files.remove(f.path());
            synchronized (OPEN_IN_THIS_JVM) {
                OPEN_IN_THIS_JVM.remove(f.identity);
            }
            fileIds.clear(f.fileId);
        }
        SpillwayException lostNow = f.durabilityLost;
        if (lostNow != null) {
            SpillwayException e = new SpillwayException(op + ": the file is closed, but " + lostNow.getMessage(), lostNow);
            if (policyFailure != null) {
                e.addSuppressed(policyFailure);
            }
            throw e;
        }
        if (policyFailure != null) {
            throw new IllegalStateException(op + ": the file is closed and written, but " + policyFailure.getMessage(),
                    policyFailure.getCause());
        }
    }

    // ---- memory ----

    @Override
    public long memoryLimit() {
        return accountant.limit();
    }

    @Override
    public void setMemoryLimit(long bytes) {
        checkOpen("set memory limit");
        accountant.setLimit(bytes);
    }

    @Override
    public long memoryUsed() {
        return accountant.used();
    }

    @Override
    public Map<MemoryTag, Long> memoryUsage() {
        return accountant.usageByTag();
    }

    // ---- transient buffers: the TransientBufferPool under the same accountant ----

    @Override
    public BufferHandle allocateBuffer(MemoryTag tag, int size, DestroyPolicy policy) {
        checkOpen("allocate buffer");
        return transients.allocate(tag, size, policy);
    }

    @Override
    public List<TagUsage> tagUsage() {
        return transients.usage();
    }

    @Override
    public List<TempFileInfo> temporaryFiles() {
        return transients.temporaryFiles();
    }

    @Override
    public void setTemporaryDirectoryLimit(long bytes) {
        checkOpen("set temporary directory limit to " + bytes); // as setMemoryLimit: a closed manager has nothing to limit
        transients.setTemporaryDirectoryLimit(bytes);
    }

    @Override
    public BufferManagerStats stats() {
        TemporaryFileManager temp = transients.temporaryFileManager();
        return new BufferManagerStats(hitCounters.total(), misses.sum(), evictions.sum(), pagesWrittenBack.sum(),
                transients.spills(), transients.readBacks(), transients.drops(), transients.failedSpills(),
                temp.rawBytesWritten(), temp.storedBytesWritten(), transients.readBackBytes(), temp.usedBytes(),
                temp.peakUsedBytes(), temp.openFiles(), temp.peakOpenFiles());
    }

    /** Read pins (hazard pointers) held by all threads now. */
    int readPinsForTest() {
        return hitCounters.hazards();
    }

    /** Threads whose hit counters are registered (dead threads' are folded away; tests check it). */
    int hitCounterThreads() {
        return hitCounters.registered();
    }

    /** Whether every registered thread's state gave its ring and handles back (after close; tests). */
    boolean threadStatesReleasedForTest() {
        boolean[] all = {true};
        hitCounters.forEach(ts -> all[0] &= ts.released());
        return all[0];
    }

    /** Hits lost before a feed because their thread made more than ThreadState.RING since the last one. */
    long hitsNotFedForTest() {
        evictionLock.lock();
        try {
            return hitsNotFed;
        } finally {
            evictionLock.unlock();
        }
    }

    /** The frames' slabs (tests inspect them). */
    FrameMemory frameMemoryForTest() {
        return frameMemory;
    }

    /** The transient buffer pool (tests and tools inspect it). */
    public TransientBufferPool transientBuffers() {
        return transients;
    }

    @Override
    public void close() {
        if (closed) {
            return;
        }
        List<PageFile> open;
        synchronized (files) {
            if (closed) {
                return;
            }
            closing = true;
            open = new ArrayList<>(files.values());
        }
        try {
            // A pin refuses the close before any file is closed: each file's close checks only its
            // own pages, so otherwise every other file would be closed under a manager that stays
            // open. (A pin taken after this check still fails its own file's close.)
            refuseIfPinned("close the buffer manager");
            // a failure leaves the manager open: the caller can unpin or fix the disk and close again
            forEachThenThrow(open, pf -> closeFile((StandardPageFile) pf));
        } catch (RuntimeException | Error e) {
            synchronized (files) {
                closing = false;
            }
            throw e;
        }
        closed = true;
        frameMemory.close(); // every frame is gone with its file
        transients.close(); // frees buffers and removes this manager's temporary files
        // Each thread that pinned keeps its state in this manager's ThreadLocal until the thread
        // dies or the stale entry is swept: give back its ring and handles now, so a thread pool
        // outliving many managers keeps a few hundred bytes per manager, not 10 KiB.
        evictionLock.lock();
        try {
            hitCounters.forEach(ThreadState::release);
        } finally {
            evictionLock.unlock();
        }
    }

    /** Throws, naming the first pinned (or loading) page found, if any page of any file is pinned. */
    private void refuseIfPinned(String op) {
        evictionLock.lock();
        try {
            List<Frame> all = new ArrayList<>();
            table.collect(all);
            for (Frame fr : all) {
                long s = fr.state();
                if (heldByACaller(fr, s)) {
                    throw new IllegalStateException(op + ": page " + fr.page() + " of " + fr.file.path() + " is pinned ("
                            + Frame.describe(s) + "); close its handles first (nothing was closed)");
                }
            }
        } finally {
            evictionLock.unlock();
        }
    }

    // ---- introspection for tests and tools ----

    /** Resident pages. */
    public int residentPages() {
        return table.size();
    }

    /** Descriptor opens and closes by the open-file cache, and how many are open now. */
    public long descriptorOpens() {
        return fileCache.opens();
    }

    public int openDescriptors() {
        return fileCache.openCount();
    }

    /**
     * Checks the pool's invariants at a quiet moment (no pin held, no operation running): every
     * frame idle and unpinned, the accountant's PAGE_CACHE usage equal to the frames' bytes, the
     * policy tracking exactly the resident pages. Throws {@link IllegalStateException} naming the
     * first broken one.
     */
    public void checkInvariants() {
        evictionLock.lock();
        try {
            List<Frame> all = new ArrayList<>();
            table.collect(all);
            long bytes = 0;
            for (Frame fr : all) {
                long s = fr.state();
                if ((s & (Frame.PIN_MASK | Frame.WRITER_MASK | Frame.LOADING | Frame.WRITEBACK | Frame.DEAD
                        | Frame.EVICTING)) != 0) {
                    throw new IllegalStateException("page " + fr.page() + " of " + fr.file.path() + " is not idle: "
                            + Frame.describe(s));
                }
                bytes += fr.size();
            }
            frameMemory.checkInvariants(all);
            int readPins = hitCounters.hazards();
            if (readPins != 0) {
                throw new IllegalStateException(readPins + " read pins are still held (unclosed page handles)");
            }
            long accounted = accountant.used(MemoryTag.PAGE_CACHE);
            if (accounted != bytes) {
                throw new IllegalStateException("PAGE_CACHE accounts " + accounted + " bytes but " + all.size()
                        + " resident frames hold " + bytes);
            }
            if (policy.size() != all.size()) {
                throw new IllegalStateException("the eviction policy tracks " + policy.size() + " keys but "
                        + all.size() + " pages are resident");
            }
        } finally {
            evictionLock.unlock();
        }
    }
}
