package dev.spillway.spill;

import dev.spillway.BufferHandle;
import dev.spillway.ClosedException;
import dev.spillway.DestroyPolicy;
import dev.spillway.MemoryLimitExceededException;
import dev.spillway.MemoryTag;
import dev.spillway.TagUsage;
import dev.spillway.TempFileInfo;
import dev.spillway.TemporaryDirectoryLimitException;
import dev.spillway.TransientBuffer;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.IoBackend;
import dev.spillway.memory.MemoryAccountant;
import java.nio.ByteBuffer;
import java.util.ArrayList;
import java.util.Iterator;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.atomic.AtomicReference;
import java.util.concurrent.locks.ReentrantLock;

/**
 * Transient buffers (hash tables, sort runs, column chunks) of any size, allocated against the
 * shared {@link MemoryAccountant}; under memory pressure the unpinned ones are evicted, in
 * least-recently-unpinned order, and by their {@link DestroyPolicy} spilled through the
 * {@link TemporaryFileManager} or dropped. DuckDB's StandardBufferManager does the same for its
 * temporary blocks.
 *
 * <p><b>Memory.</b> A buffer takes its size rounded up to 4 KiB (the aligned allocation O_DIRECT
 * needs), accounted under its tag while in memory. The spill path's own scratch (a few workers of
 * about 260 KiB) is outside the limit and shown by {@link #spillScratchNote()}.
 *
 * <p><b>Concurrency.</b> Each buffer has a lock, held across its own spill or read-back so a pin
 * waits for an eviction in flight. The eviction queue has its own monitor, never held while a
 * buffer lock is taken; eviction only {@code tryLock}s a buffer, so a thread that holds one buffer's
 * lock while reserving memory (a read-back) can evict others without a lock-order cycle.
 * Lock order: buffer lock, then queue monitor, then the file manager's size-class locks.
 *
 * <p><b>Failures.</b> A spill that fails (ENOSPC, EIO, the temporary size limit) leaves the buffer
 * in memory and back in the queue, evictable later; the reservation that needed the memory then
 * fails naming the spill failure. A read-back that fails leaves the buffer spilled, its block on
 * disk, and can be retried.
 */
public final class TransientBufferPool implements MemoryAccountant.Reclaimer, AutoCloseable {
    private final IoBackend backend;
    private final MemoryAccountant accountant;
    private final TemporaryFileManager temp;
    private final Set<Buffer> live = ConcurrentHashMap.newKeySet();
    /** Unpinned buffers in memory, least recently unpinned first. */
    // guarded by itself
    private final LinkedHashSet<Buffer> queue = new LinkedHashSet<>();
    private final AtomicLongArray tempBytesByTag = new AtomicLongArray(MemoryTag.values().length);
    private final AtomicLong ids = new AtomicLong();
    private final AtomicLong spills = new AtomicLong();
    private final AtomicLong drops = new AtomicLong();
    private final AtomicLong readBacks = new AtomicLong();
    private final AtomicLong failedSpills = new AtomicLong();
    private final AtomicLong readBackBytes = new AtomicLong();
    /** Evictions running now: their memory is about to be released ({@link #reclaimInProgress}). */
    private final AtomicInteger evicting = new AtomicInteger();
    /** The last spill failure since the last successful spill; reported when a reservation fails. */
    private final AtomicReference<RuntimeException> lastSpillFailure = new AtomicReference<>();
    private volatile boolean closed;

    public TransientBufferPool(IoBackend backend, MemoryAccountant accountant, TemporaryFileManager.Config config) {
        this.backend = backend;
        this.accountant = accountant;
        this.temp = new TemporaryFileManager(backend, config);
        accountant.addReclaimer(this);
    }

    /** Bytes of memory a buffer of {@code size} takes: rounded up to the 4 KiB alignment. */
    public static long allocationSize(int size) {
        return ((long) size + IoBackend.ALIGNMENT - 1) & -IoBackend.ALIGNMENT;
    }

    /** Allocates a buffer that spills when evicted; returns it pinned. */
    public BufferHandle allocate(MemoryTag tag, int size) {
        return allocate(tag, size, DestroyPolicy.SPILL_WHEN_EVICTED);
    }

    /**
     * Allocates a zero-filled buffer of {@code size} bytes against the memory limit, evicting
     * other buffers as needed, and returns it pinned.
     * @throws MemoryLimitExceededException when nothing more can be evicted
     */
    public BufferHandle allocate(MemoryTag tag, int size, DestroyPolicy policy) {
        if (closed) {
            throw new ClosedException("allocate: the transient buffer pool is closed");
        }
        if (tag == null || policy == null) {
            throw new NullPointerException("allocate: tag and destroy policy are required");
        }
        if (size <= 0 || size > Integer.MAX_VALUE - 2 * IoBackend.ALIGNMENT - 64 * 1024 * 1024) {
            throw new IllegalArgumentException("allocate: size " + size + " must be positive and leave room for the "
                    + "spill block header and zstd's bound");
        }
        Buffer b = new Buffer(ids.incrementAndGet(), size, tag, policy);
        long bytes = allocationSize(size);
        reserve("allocate " + size + "-byte buffer", tag, bytes);
        try {
            b.memory = backend.allocate((int) bytes);
        } catch (RuntimeException | Error e) {
            accountant.release(tag, bytes);
            throw e;
        }
        b.state = TransientBuffer.State.PINNED;
        b.pins = 1;
        live.add(b);
        return new Handle(b, false);
    }

    private void reserve(String op, MemoryTag tag, long bytes) {
        try {
            accountant.reserve(op, tag, bytes);
        } catch (MemoryLimitExceededException e) {
            RuntimeException spill = lastSpillFailure.get();
            if (spill instanceof TemporaryDirectoryLimitException) {
                TemporaryDirectoryLimitException t = (TemporaryDirectoryLimitException) spill;
                TemporaryDirectoryLimitException r = new TemporaryDirectoryLimitException(op + ": memory is full ("
                        + e.used() + " of " + e.limit() + " bytes) and evicting by spilling failed: " + t.getMessage(),
                        t.limit(), t.used(), t.requested());
                r.initCause(e);
                throw r;
            }
            if (spill != null) {
                MemoryLimitExceededException r = new MemoryLimitExceededException(e.getMessage()
                        + "; spilling unpinned buffers failed: " + spill.getMessage(), e.requested(), e.used(), e.limit(),
                        e.usageByTag());
                r.initCause(spill);
                throw r;
            }
            throw e;
        }
    }

    // ---------------------------------------------------------------- eviction

    /** Evicts unpinned buffers, least recently unpinned first, until {@code bytes} were released. */
    @Override
    public long reclaim(long bytes) {
        if (closed) {
            return 0;
        }
        long freed = 0;
        int budget;
        synchronized (queue) {
            budget = queue.size(); // each buffer is tried at most once per call, so failures cannot loop
        }
        while (freed < bytes && budget-- > 0) {
            Buffer b;
            synchronized (queue) {
                Iterator<Buffer> it = queue.iterator();
                if (!it.hasNext()) {
                    break;
                }
                b = it.next();
                it.remove();
            }
            if (!b.lock.tryLock()) {
                enqueue(b); // busy (being pinned or freed); its owner fixes its queue membership
                continue;
            }
            try {
                if (b.state == TransientBuffer.State.UNPINNED) {
                    evicting.incrementAndGet();
                    long r = -1;
                    try {
                        r = b.evictLocked();
                    } finally {
                        evicting.decrementAndGet();
                        if (r < 0) {
                            enqueue(b); // still in memory (its spill failed, or an Error is on its way up)
                        }
                    }
                    if (r > 0) { // -1 (a failed spill) released nothing: it must not count as a byte less
                        freed += r;
                    }
                }
            } finally {
                b.lock.unlock();
            }
        }
        return freed;
    }

    @Override
    public boolean reclaimInProgress() {
        return evicting.get() > 0;
    }

    private void enqueue(Buffer b) {
        synchronized (queue) {
            queue.add(b);
        }
    }

    private void dequeue(Buffer b) {
        synchronized (queue) {
            queue.remove(b);
        }
    }

    // ---------------------------------------------------------------- introspection

    /** Memory and temporary bytes per tag, like {@code duckdb_memory()}: every tag, zeros included. */
    public List<TagUsage> usage() {
        List<TagUsage> out = new ArrayList<>();
        for (MemoryTag t : MemoryTag.values()) {
            out.add(new TagUsage(t, accountant.used(t), tempBytesByTag.get(t.ordinal())));
        }
        return out;
    }

    /** The temporary files, like {@code duckdb_temporary_files()}. */
    public List<TempFileInfo> temporaryFiles() {
        return temp.temporaryFiles();
    }

    public TemporaryFileManager temporaryFileManager() {
        return temp;
    }

    /** See {@link TemporaryFileManager#setSizeLimit}. */
    public void setTemporaryDirectoryLimit(long bytes) {
        temp.setSizeLimit(bytes);
    }

    /** Memory held by buffers of this pool now (what it has accounted). */
    public long residentBytes() {
        long sum = 0;
        for (Buffer b : live) {
            b.lock.lock();
            try {
                if (b.memory != null) {
                    sum += allocationSize(b.size);
                }
            } finally {
                b.lock.unlock();
            }
        }
        return sum;
    }

    public int liveBuffers() {
        return live.size();
    }

    /** Counters: spills, drops, read-backs, failed spills. */
    public String stats() {
        return "spills " + spills.get() + ", drops " + drops.get() + ", read-backs " + readBacks.get()
                + ", failed spills " + failedSpills.get() + "; " + temp.compressionState();
    }

    public long failedSpills() {
        return failedSpills.get();
    }

    /** Buffers spilled to a temporary file so far. */
    public long spills() {
        return spills.get();
    }

    /** Spilled buffers read back so far, and their bytes as in memory. */
    public long readBacks() {
        return readBacks.get();
    }

    public long readBackBytes() {
        return readBackBytes.get();
    }

    /** Buffers whose contents were dropped (by eviction or on unpin) so far. */
    public long drops() {
        return drops.get();
    }

    /** One line about the memory the spill path uses outside the limit. */
    public String spillScratchNote() {
        return "spill workers keep up to 8 scratch buffers of " + (TemporaryFileManager.RAW_SLOT / 1024)
                + " KiB each, outside the memory limit";
    }

    /**
     * Internal consistency (tests call it after each case): each buffer's state matches what it
     * holds, the queue holds every unpinned buffer, temporary bytes add up, the file manager's
     * bookkeeping checks out. One message per problem.
     */
    public List<String> checkInvariants() {
        List<String> problems = new ArrayList<>();
        long spilledBytes = 0;
        long spilledBlocks = 0;
        long[] tempByTag = new long[MemoryTag.values().length];
        Set<Buffer> queued;
        synchronized (queue) {
            queued = new LinkedHashSet<>(queue);
        }
        for (Buffer b : live) {
            b.lock.lock();
            try {
                boolean inMemory = b.state == TransientBuffer.State.PINNED || b.state == TransientBuffer.State.UNPINNED;
                if (inMemory != (b.memory != null)) {
                    problems.add(b + ": state " + b.state + " but memory " + (b.memory != null ? "held" : "absent"));
                }
                if ((b.state == TransientBuffer.State.SPILLED) != (b.block != null)) {
                    problems.add(b + ": state " + b.state + " but block " + b.block);
                }
                if ((b.state == TransientBuffer.State.PINNED) != (b.pins > 0)) {
                    problems.add(b + ": state " + b.state + " with " + b.pins + " pins");
                }
                if (b.state == TransientBuffer.State.UNPINNED && !queued.contains(b)) {
                    problems.add(b + " is unpinned but not in the eviction queue");
                }
                if (b.block != null) {
                    spilledBytes += b.block.chargedBytes();
                    spilledBlocks++;
                    tempByTag[b.tag.ordinal()] += b.block.chargedBytes();
                }
            } finally {
                b.lock.unlock();
            }
        }
        for (MemoryTag t : MemoryTag.values()) {
            if (tempByTag[t.ordinal()] != tempBytesByTag.get(t.ordinal())) {
                problems.add("temporary bytes of " + t + ": counted " + tempBytesByTag.get(t.ordinal())
                        + " but spilled buffers hold " + tempByTag[t.ordinal()]);
            }
        }
        if (spilledBytes != temp.usedBytes()) {
            problems.add("spilled buffers hold " + spilledBytes + " temporary bytes but the file manager charges "
                    + temp.usedBytes());
        }
        if (spilledBlocks != temp.blockCount()) {
            problems.add(spilledBlocks + " spilled buffers but " + temp.blockCount() + " blocks on disk");
        }
        problems.addAll(temp.checkInvariants());
        return problems;
    }

    // ---------------------------------------------------------------- close

    /**
     * Frees every buffer, deletes the temporary files and releases all memory, except that a pinned
     * buffer keeps its memory until its last handle closes (then it is freed): a handle promises the
     * memory stays in place while it is open, and a ByteBuffer taken from it may still be in use.
     * New pins fail. The pool stays registered with the accountant but reclaims nothing. A failure
     * freeing one buffer does not stop the others from being freed, nor the files from being
     * deleted: the first failure is thrown at the end, any others suppressed in it.
     */
    @Override
    public void close() {
        if (closed) {
            return;
        }
        closed = true;
        RuntimeException failure = null;
        for (Buffer b : live) {
            b.lock.lock();
            try {
                if (b.state == TransientBuffer.State.PINNED) {
                    continue; // its memory stays valid until its last handle closes, which frees it (unpin)
                }
                b.freeLocked();
            } catch (RuntimeException e) {
                failure = addFailure(failure, e);
            } finally {
                b.lock.unlock();
            }
        }
        synchronized (queue) {
            queue.clear();
        }
        try {
            temp.close();
        } catch (RuntimeException e) {
            failure = addFailure(failure, e);
        }
        if (failure != null) {
            throw failure;
        }
    }

    private static RuntimeException addFailure(RuntimeException first, RuntimeException e) {
        if (first == null) {
            return e;
        }
        first.addSuppressed(e);
        return first;
    }

    // ---------------------------------------------------------------- buffers and handles

    private final class Buffer implements TransientBuffer {
        final long id;
        final int size;
        final MemoryTag tag;
        final DestroyPolicy policy;
        final ReentrantLock lock = new ReentrantLock();
        // guarded by lock
        State state;
        // guarded by lock
        int pins;
        // guarded by lock
        AlignedBuffer memory;
        // guarded by lock
        TemporaryFileManager.Block block;

        Buffer(long id, int size, MemoryTag tag, DestroyPolicy policy) {
            this.id = id;
            this.size = size;
            this.tag = tag;
            this.policy = policy;
        }

        @Override
        public int size() {
            return size;
        }

        @Override
        public MemoryTag tag() {
            return tag;
        }

        @Override
        public DestroyPolicy destroyPolicy() {
            return policy;
        }

        @Override
        public State state() {
            lock.lock();
            try {
                return state;
            } finally {
                lock.unlock();
            }
        }

        @Override
        public BufferHandle pin() {
            lock.lock();
            try {
                if (closed && state != State.FREED) {
                    throw new ClosedException("pin: " + this + ": the transient buffer pool is closed");
                }
                switch (state) {
                    case PINNED:
                        pins++;
                        return new Handle(this, false);
                    case UNPINNED:
                        dequeue(this);
                        state = State.PINNED;
                        pins = 1;
                        return new Handle(this, false);
                    case SPILLED:
                    case DROPPED:
                        return load();
                    case FREED:
                    default:
                        throw new ClosedException("pin: " + this + " was freed"
                                + (closed ? " when the buffer manager closed" : ""));
                }
            } finally {
                lock.unlock();
            }
        }

        /** Brings a spilled or dropped buffer back into memory; on failure it stays as it was. */
        private BufferHandle load() {
            if (closed) {
                throw new ClosedException("pin: the transient buffer pool is closed");
            }
            long bytes = allocationSize(size);
            reserve("pin " + this, tag, bytes);
            AlignedBuffer m;
            try {
                m = backend.allocate((int) bytes);
            } catch (RuntimeException | Error e) {
                accountant.release(tag, bytes);
                throw e;
            }
            boolean lost = state == State.DROPPED;
            if (!lost) {
                try {
                    temp.read(block, m.buffer(), 0);
                } catch (RuntimeException | Error e) {
                    m.close();
                    accountant.release(tag, bytes);
                    throw e;
                }
                tempBytesByTag.addAndGet(tag.ordinal(), -block.chargedBytes());
                block = null;
                readBacks.incrementAndGet();
                readBackBytes.addAndGet(size);
            }
            memory = m;
            state = State.PINNED;
            pins = 1;
            return new Handle(this, lost);
        }

        void unpin() {
            lock.lock();
            try {
                if (state != State.PINNED) {
                    return;
                }
                if (--pins > 0) {
                    return;
                }
                if (closed) {
                    freeLocked(); // the pool closed while this buffer was pinned: its memory goes now
                    return;
                }
                if (policy == DestroyPolicy.DROP_ON_UNPIN) {
                    dropMemory();
                    state = State.DROPPED;
                    drops.incrementAndGet();
                } else {
                    state = State.UNPINNED;
                    enqueue(this);
                }
            } finally {
                lock.unlock();
            }
        }

        /** Evicts this unpinned buffer; returns the bytes released, or -1 if its spill failed. */
        long evictLocked() {
            if (policy == DestroyPolicy.SPILL_WHEN_EVICTED) {
                TemporaryFileManager.Block b;
                try {
                    b = temp.write(memory.buffer(), 0, size);
                } catch (RuntimeException e) { // SpillwayException above all; anything else must not lose the buffer either
                    failedSpills.incrementAndGet();
                    lastSpillFailure.set(e);
                    return -1;
                }
                lastSpillFailure.set(null);
                block = b;
                tempBytesByTag.addAndGet(tag.ordinal(), b.chargedBytes());
                state = State.SPILLED;
                spills.incrementAndGet();
            } else {
                state = State.DROPPED;
                drops.incrementAndGet();
            }
            return dropMemory();
        }

        private long dropMemory() {
            long bytes = allocationSize(size);
            memory.close();
            memory = null;
            accountant.release(tag, bytes);
            return bytes;
        }

        @Override
        public void free() {
            lock.lock();
            try {
                if (state == State.PINNED) {
                    throw new IllegalStateException("free: " + this + " is pinned " + pins
                            + " time(s); close its handles first");
                }
                freeLocked();
            } finally {
                lock.unlock();
            }
        }

        void freeLocked() {
            switch (state) {
                case FREED:
                    return;
                case PINNED:
                case UNPINNED:
                    dequeue(this);
                    dropMemory();
                    pins = 0;
                    break;
                case SPILLED:
                    temp.release(block);
                    tempBytesByTag.addAndGet(tag.ordinal(), -block.chargedBytes());
                    block = null;
                    break;
                case DROPPED:
                default:
                    break;
            }
            state = State.FREED;
            live.remove(this);
        }

        ByteBuffer view() {
            return memory.buffer().slice(0, size);
        }

        @Override
        public String toString() {
            return "transient buffer #" + id + " (" + size + " bytes, " + tag + ")";
        }
    }

    private static final class Handle implements BufferHandle {
        private final Buffer buffer;
        private final boolean lost;
        private final ByteBuffer view;
        private final AtomicBoolean closed = new AtomicBoolean();

        Handle(Buffer buffer, boolean lost) {
            this.buffer = buffer;
            this.lost = lost;
            this.view = buffer.view();
        }

        @Override
        public ByteBuffer buffer() {
            if (closed.get()) {
                throw new ClosedException("buffer(): the handle of " + buffer + " is closed (unpinned)");
            }
            return view; // a pinned buffer's memory stays until its last handle closes, even past the pool's close
        }

        @Override
        public TransientBuffer transientBuffer() {
            return buffer;
        }

        @Override
        public boolean contentsLost() {
            return lost;
        }

        @Override
        public void close() {
            if (closed.compareAndSet(false, true)) {
                buffer.unpin();
            }
        }
    }
}
