package dev.spillway.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;

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
 * <p><b>Hits.</b> Keys of hits are appended to a plain array, no atomic operation. A full batch is
 * handed off, at most once per {@link #FEED_INTERVAL_NANOS}: swapped with the thread's second
 * array and published by a release store of {@code handoffCount}; the owner then feeds every
 * handed-off batch to the policy if the eviction lock is free (tryLock, never waiting). A batch
 * that waits (the lock was busy) is fed by the next feed of any thread, miss or eviction, which
 * clears {@code handoffCount} with a release store, returning the array. A batch filled sooner
 * than the interval after the thread's last feed, or while its previous batch still waits, is
 * dropped: like Caffeine's read buffer this is lossy, so at high hit rates the policy sees a
 * sample of the hits, and the hit path never waits. A thread's unfinished batch is also fed when
 * that thread loads a page or evicts, so its own recent hits count before its own eviction
 * decisions.
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
 * <p><b>Hit count.</b> Each thread counts its own hits in {@code hitTotal}, written only by the
 * owner with an opaque store (a plain store on x86 and ARM, but never torn), and summed by
 * {@link HitCounters} when statistics are asked for: no shared cache line is written on a hit.
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
    int hitCount;
    /** Length of the handed-off batch in {@code handoff}, 0 when the policy has taken it (release/acquire). */
    int handoffCount;
    /** Hits of this thread; written by the owner only (opaque), read by {@link HitCounters}. */
    long hitTotal;
}

@SuppressWarnings("unused")
final class ThreadState extends ThreadStateFields {
    /** Handles per thread (power of two): pins between a handle's take and its reuse, long enough to catch a stale handle in practice. */
    static final int HANDLES = 32;
    /** Slots still pinned looked past before one gets a new handle. */
    static final int BUSY_PROBES = 4;
    /** Hits per batch: the lock is taken once per this many hits, and the policy lags by at most this many. */
    static final int HIT_BATCH = 64;
    /**
     * A thread feeds its hits to the policy at most once per this many nanoseconds: at most one
     * batch per 20 µs, 3.2 million hits a second per thread, reach the policy; hits beyond that
     * rate are dropped, so the policy then sees a sample of them (the design comment of
     * {@link StandardBufferManager}, "Feeding hits", has the measurements behind it).
     */
    static final long FEED_INTERVAL_NANOS = 20_000;
    /** Index of the first hit in {@link #hits}. */
    static final int FIRST_HIT = 16;

    /** Read pins held as hazard pointers at once (power of two); more fall back to the frame's count. */
    static final int HAZARDS = 8;

    /** Unused slots at both ends of the arrays keep their written middle off neighbours' cache lines. */
    private static final int MARGIN = FIRST_HIT;
    private static final VarHandle HIT_TOTAL;
    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(Frame[].class);
    private static final VarHandle HANDOFF_COUNT;

    static {
        try {
            HIT_TOTAL = MethodHandles.lookup().findVarHandle(ThreadStateFields.class, "hitTotal", long.class);
            HANDOFF_COUNT = MethodHandles.lookup().findVarHandle(ThreadStateFields.class, "handoffCount", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final Thread owner = Thread.currentThread();
    private final PinnedHandle[] handles = new PinnedHandle[HANDLES + 2 * MARGIN];
    /** Keys of recent hits in {@code hits[MARGIN .. MARGIN + hitCount)}; written by the owner only. */
    long[] hits = new long[HIT_BATCH + 2 * MARGIN];
    /** The batch handed off, {@code handoff[MARGIN .. MARGIN + handoffCount)}; the owner swaps it only while handoffCount is 0. */
    long[] handoff = new long[HIT_BATCH + 2 * MARGIN];
    /** Read pins: {@code hazards[MARGIN .. MARGIN + HAZARDS)}, null when free. */
    private final Frame[] hazards = new Frame[HAZARDS + 2 * MARGIN];
    /** Where the owner looks for a free slot first. */
    private int hazardHint;
    /** When {@link #handOff} last told the owner to feed (System.nanoTime); the first time always does. */
    private long lastFeed = System.nanoTime() - (1L << 62);
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

    /** Records a hit; true when the batch is full and should be handed to the policy. */
    boolean recordHit(long key) {
        HIT_TOTAL.setOpaque(this, hitTotal + 1);
        int n = hitCount;
        hits[MARGIN + n] = key;
        hitCount = n + 1;
        return n + 1 == HIT_BATCH;
    }

    /**
     * The batch is full (owner only); the thread starts a new one either way. If less than
     * {@code intervalNanos} passed since the last time this returned true, the full batch is
     * dropped and this returns false. Otherwise it returns true, telling the caller to feed the
     * policy now, and the batch is handed off, unless the previous one has not been taken yet (it
     * is then fed instead, and this one dropped).
     */
    boolean handOff(long intervalNanos) {
        hitCount = 0;
        long now = System.nanoTime();
        if (now - lastFeed < intervalNanos) {
            return false;
        }
        lastFeed = now;
        if ((int) HANDOFF_COUNT.getAcquire(this) == 0) {
            long[] full = hits;
            hits = handoff;
            handoff = full;
            HANDOFF_COUNT.setRelease(this, HIT_BATCH);
        }
        return true;
    }

    /** The handed-off batch's length, 0 if none; any thread, under the eviction lock. */
    int handedOff() {
        return (int) HANDOFF_COUNT.getAcquire(this);
    }

    /** Gives the handed-off array back to its owner once its keys were fed (under the eviction lock). */
    void handoffTaken() {
        HANDOFF_COUNT.setRelease(this, 0);
    }

    /** This thread's hits so far; any thread may call it. */
    long hitTotal() {
        return (long) HIT_TOTAL.getOpaque(this);
    }

    boolean ownerAlive() {
        return owner.isAlive();
    }
}
