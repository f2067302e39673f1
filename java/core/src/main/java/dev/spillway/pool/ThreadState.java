package dev.spillway.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.LongConsumer;

/**
 * What a thread keeps per buffer manager so that a hit touches no shared memory but the page
 * table and the frame's state word: spare {@link PinnedHandle}s, and the keys of its recent hits.
 *
 * <p><b>Handles.</b> A fixed ring of {@link #HANDLES} handles, taken in turn, one per pin; closing
 * gives nothing back (the handle stays in its slot, marked unpinned). So a closed handle is reused
 * only {@link #HANDLES} pins of its thread later, and a handle kept and used after close finds
 * itself closed (ClosedException) rather than pointing at another page, unless the caller held on
 * to it across that many pins. A handle whose turn comes while it is still pinned (a long-held
 * pin) is skipped, and after {@link #BUSY_PROBES} such slots the last gets a new handle, so only a
 * caller holding dozens of pins at once allocates. A handle may be closed on another thread: its
 * close marks it unpinned last, with a release store that the owner's
 * {@link PinnedHandle#reusable} reads with an acquire load.
 *
 * <p><b>Hits.</b> The keys of the thread's hits go into a ring of {@link #RING} entries: a plain
 * store of the key, then a release store of {@code head}, the count of hits so far; no atomic
 * read-modify-write, no lock, one rarely taken branch. Nothing is fed to the policy on a hit.
 * Feeding happens where eviction decisions are made, under the eviction lock: before a miss
 * inserts its page and before an eviction chooses victims, every thread's hits since the last
 * feed go to the policy, oldest first ({@link #feed}); and a thread that missed within its last
 * {@link #BUSY_WINDOW} hits feeds when its ring fills ({@link #recordHit} says when; tryLock, so
 * a busy lock lets the ring wrap). So a thread's own hits are fed exactly, in order, before its
 * own next insert or eviction, as the trace replay feeds them. A thread that has only hit for
 * longer lets its ring wrap: the oldest hits are overwritten and lost (counted), and the next
 * feed has its last {@link #RING}. A workload of hits only feeds nothing.
 *
 * <p>Another thread's ring is read while its owner may write it: the feeder copies the entries,
 * reads {@code head} again, and keeps only those the owner cannot have overwritten meanwhile. (The
 * Java memory model would let the copy see the key of a later hit before that hit's {@code head};
 * such a slot then feeds a key the thread did hit, early. A key no thread hit is never fed:
 * {@code HitFeedTest} races a writer against feeds.)
 *
 * <p><b>Read pins.</b> A READ pin of a resident page is a hazard pointer, not a count in the
 * frame: the thread stores the frame in one of its {@link #HAZARDS} slots with a volatile store
 * (a full fence) and then reads the frame's state; if no kill is under way (EVICTING or DEAD) the
 * pin holds. A killer marks the frame EVICTING with a CAS (also a full fence) and then reads every
 * thread's slots, so at least one of the two sees the other (Dekker): either the pin backs off, or
 * the kill is abandoned. Unpin is a release store of null. So a read hit writes only the thread's
 * own cache lines, never the frame's, which would move between cores when threads share pages. A
 * handle closed on another thread clears the slot the same way; only the owner fills slots.
 * Write pins, and read pins beyond the slots, count in the frame's state word.
 *
 * <p><b>Hit count.</b> {@code head} is also the thread's hit count, summed by {@link HitCounters}
 * when statistics are asked for: no shared cache line is written on a hit.
 */
/** 64 bytes before the thread's counters: other threads' objects may be moved next to it by a GC. */
@SuppressWarnings("unused")
abstract class ThreadStatePadBefore {
    long p00, p01, p02, p03, p04, p05, p06, p07;
}

/** The counters written on every pin and unpin, between the paddings. */
abstract class ThreadStateFields extends ThreadStatePadBefore {
    /** The slot of the next handle to take. */
    int nextHandle;
    /** Hits of this thread so far, and where the next goes in the ring; written by the owner only (release). */
    long head;
}

@SuppressWarnings("unused")
final class ThreadState extends ThreadStateFields {
    /** Handles per thread (power of two): pins between a handle's take and its reuse, long enough to catch a stale handle in practice. */
    static final int HANDLES = 32;
    /** Slots still pinned looked past before one gets a new handle. */
    static final int BUSY_PROBES = 4;
    /**
     * Hits a thread keeps for the policy between feeds (power of two): 8 KiB per thread and
     * manager. More hits between two feeds lose the oldest; a feed does at most this much policy
     * work per thread (about 13 µs for {@code alirs}).
     */
    static final int RING = 1024;
    private static final int RING_MASK = RING - 1;
    /**
     * Hits after its last miss during which a thread whose ring fills feeds it itself (if the
     * eviction lock is free): a thread that also misses is taking part in eviction decisions, and
     * its hits are fed exactly. A thread that has only hit for this long (a hot loop) lets its
     * ring wrap instead: nothing is fed until someone misses, and then its last {@link #RING}.
     */
    static final long BUSY_WINDOW = 16L * RING;

    /** Read pins held as hazard pointers at once (power of two); more fall back to the frame's count. */
    static final int HAZARDS = 8;

    /** Unused slots at both ends of the arrays keep their written middle off neighbours' cache lines. */
    private static final int MARGIN = 16;
    private static final VarHandle HEAD;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Frame[].class);

    static {
        try {
            HEAD = MethodHandles.lookup().findVarHandle(ThreadStateFields.class, "head", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Thread owner = Thread.currentThread();
    private final PinnedHandle[] handles = new PinnedHandle[HANDLES + 2 * MARGIN];
    /** Keys of the hits numbered {@code head - RING .. head - 1}, hit {@code i} at {@code MARGIN + (i & RING_MASK)}; written by the owner only. */
    private long[] ring = new long[RING + 2 * MARGIN];
    /** What a released state's hits go into: one ring shared by all of them, its contents never read. */
    private static final long[] RELEASED_RING = new long[RING + 2 * MARGIN];
    /** Read pins: {@code hazards[MARGIN .. MARGIN + HAZARDS)}, null when free. */
    private final Frame[] hazards = new Frame[HAZARDS + 2 * MARGIN];
    /** Where the owner looks for a free slot first. */
    private int hazardHint;
    /** Hits fed to the policy so far (guarded by the manager's eviction lock). */
    private long fed;
    /** {@code head} at the owner's last miss (owner only). */
    private long headAtMiss = -BUSY_WINDOW;
    long p10, p11, p12, p13, p14, p15, p16, p17;

    /**
     * Publishes a read pin of {@code fr} (owner only): its slot, or -1 if all are taken. The caller
     * must then read the frame's state and {@link #releaseHazard} if a kill is under way.
     */
    int acquireHazard(Frame fr) {
        for (int i = 0; i < HAZARDS; i++) {
            int j = (hazardHint + i) & (HAZARDS - 1);
            if (hazards[MARGIN + j] == null) { // only the owner fills a slot; a stale non-null only skips it
                SLOT.setVolatile(hazards, MARGIN + j, fr);
                hazardHint = j + 1;
                return j;
            }
        }
        return -1;
    }

    /** Drops a read pin; any thread (a handle may be closed on another). */
    void releaseHazard(int slot) {
        SLOT.setRelease(hazards, MARGIN + slot, (Frame) null);
    }

    /** Whether this thread holds a read pin of {@code fr}; any thread, after marking it EVICTING. */
    boolean holdsHazard(Frame fr) {
        for (int j = 0; j < HAZARDS; j++) {
            if (SLOT.getVolatile(hazards, MARGIN + j) == fr) {
                return true;
            }
        }
        return false;
    }

    /** Read pins held now (for the invariant check and for keeping a dead thread's pins). */
    int hazardCount() {
        int n = 0;
        for (int j = 0; j < HAZARDS; j++) {
            n += SLOT.getVolatile(hazards, MARGIN + j) != null ? 1 : 0;
        }
        return n;
    }

    /** The handle for the thread's next pin (owner only); allocates only in the first pins of the thread or past long-held pins. */
    PinnedHandle take() {
        int i = nextHandle;
        for (int probe = 1; ; probe++) {
            PinnedHandle h = handles[MARGIN + i];
            if (h == null || probe == BUSY_PROBES) { // a slot not filled yet, or the last of the busy ones looked at
                if (h == null || !h.reusable()) {
                    h = new PinnedHandle(this); // a long-held handle in this slot keeps working, just not from here
                    handles[MARGIN + i] = h;
                }
                nextHandle = (i + 1) & (HANDLES - 1);
                return h;
            }
            if (h.reusable()) {
                nextHandle = (i + 1) & (HANDLES - 1);
                return h;
            }
            i = (i + 1) & (HANDLES - 1);
        }
    }

    /**
     * Records a hit (owner only). True when the ring has just filled up again and this thread
     * missed within its last {@link #BUSY_WINDOW} hits: the caller should feed now, before the
     * next hits overwrite unfed ones.
     */
    boolean recordHit(long key) {
        long h = head;
        ring[MARGIN + ((int) h & RING_MASK)] = key;
        HEAD.setRelease(this, h + 1);
        return ((int) h & RING_MASK) == RING_MASK && h - headAtMiss < BUSY_WINDOW;
    }

    /** The owner is missing (its loads feed the policy anyway): wraps of its ring feed it for a while. */
    void missed() {
        headAtMiss = head;
    }

    /**
     * Feeds the hits recorded since the last feed to {@code policy}, oldest first; returns how
     * many were lost (overwritten before this feed). Any thread, under the eviction lock; a thread
     * other than the owner copies into {@code scratch} (at least {@link #RING} long) first, then
     * feeds only the entries the owner cannot have overwritten during the copy: with {@code head}
     * read again as h2, those from h2 - RING + 1 on (the one at h2 - RING may be being written).
     */
    long feed(LongConsumer policy, long[] scratch) {
        long h = (long) HEAD.getAcquire(this);
        long from = Math.max(fed, h - RING);
        long old = fed;
        fed = h; // first: a policy that throws on a hit drops this batch instead of failing every later feed on it
        if (Thread.currentThread() == owner) {
            for (long i = from; i < h; i++) {
                policy.accept(ring[MARGIN + ((int) i & RING_MASK)]);
            }
        } else {
            int n = (int) (h - from);
            for (int j = 0; j < n; j++) {
                scratch[j] = ring[MARGIN + ((int) (from + j) & RING_MASK)];
            }
            VarHandle.acquireFence(); // the copy's loads before head's second load
            long intact = Math.max(from, (long) HEAD.getAcquire(this) - RING + 1);
            for (long i = intact; i < h; i++) {
                policy.accept(scratch[(int) (i - from)]);
            }
            from = Math.min(intact, h);
        }
        return from - old;
    }

    /**
     * The manager is closed (under its eviction lock): drop the ring and the handles, which a
     * thread pool that outlives the manager would otherwise keep in the ThreadLocal. A pin racing
     * the close may still record a hit (into a shared ring nobody reads) or take a handle (a new
     * one: the slots are empty).
     */
    void release() {
        fed = head;
        ring = RELEASED_RING;
        java.util.Arrays.fill(handles, null);
    }

    /** Whether {@link #release} ran (tests). */
    boolean released() {
        return ring == RELEASED_RING;
    }

    /** This thread's hits so far; any thread may call it. */
    long hitTotal() {
        return (long) HEAD.getOpaque(this);
    }

    boolean ownerAlive() {
        return owner.isAlive();
    }
}
