package dev.spillway.memory;

import dev.spillway.MemoryLimitExceededException;
import dev.spillway.MemoryTag;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.atomic.AtomicLongArray;
import java.util.concurrent.locks.LockSupport;

/**
 * One memory limit for page frames and transient buffers, with usage per {@link MemoryTag}.
 *
 * <p>Reserve first, then evict until the reservation fits (DuckDB's order): {@link #reserve}
 * adds the bytes optimistically with a CAS; if that would pass the limit it asks the registered
 * {@link Reclaimer}s (the page pool, the transient buffer pool) in turn to evict, and fails with
 * {@link MemoryLimitExceededException} when none can free anything more. No lock is held while a
 * reclaimer evicts, so eviction I/O (write-back, spill) runs concurrently with other reservations.
 *
 * <p>Consistency: the total ({@link #used()}) is the one number the limit is enforced on, and
 * reserve/release on it are linearizable (checked by lincheck in MemoryAccountantLincheckTest).
 * The per-tag counters are updated just after the total, so a concurrent observer may briefly
 * see them lag it; once a reserve or release call returns, its tag is up to date. A single CAS
 * word cannot hold fourteen counters, and a lock here would sit on every allocation.
 */
public final class MemoryAccountant {
    /** Something that can give memory back by evicting (the page pool, the transient buffer pool). */
    @FunctionalInterface
    public interface Reclaimer {
        /**
         * Evicts until at least {@code bytes} were released through {@link MemoryAccountant#release}
         * or nothing more can be evicted; returns the bytes released (0 if none).
         */
        long reclaim(long bytes);

        /**
         * Whether an eviction of this reclaimer is running right now on another thread (its memory
         * is about to be released). While one is, an empty {@link #reclaim} does not mean "all
         * pinned", and {@link MemoryAccountant#reserve} waits for it instead of failing.
         */
        default boolean reclaimInProgress() {
            return false;
        }
    }

    /** How long a reservation waits for another thread's eviction in flight: about one spill write. */
    private static final long IN_FLIGHT_WAIT_NANOS = 50_000;

    private final AtomicLong limit;
    private final AtomicLong used = new AtomicLong();
    private final AtomicLongArray byTag = new AtomicLongArray(MemoryTag.values().length);
    private final List<Reclaimer> reclaimers = new CopyOnWriteArrayList<>();
    /** Rotates which reclaimer is asked first, so neither pool is always the one to shrink. */
    private final AtomicLong rotation = new AtomicLong();
    /**
     * Lowerings of the limit begun and ended by {@link #setLimit}: odd while one is under way
     * ({@link #limitMoved}). Written under the monitor only.
     */
    private volatile long lowerings;

    public MemoryAccountant(long limitBytes) {
        checkLimit(limitBytes);
        this.limit = new AtomicLong(limitBytes);
    }

    private static void checkLimit(long limitBytes) {
        if (limitBytes <= 0) {
            throw new IllegalArgumentException("memory limit must be positive, was " + limitBytes);
        }
    }

    public void addReclaimer(Reclaimer r) {
        reclaimers.add(r);
    }

    public long limit() {
        return limit.get();
    }

    public long used() {
        return used.get();
    }

    public long used(MemoryTag tag) {
        return byTag.get(tag.ordinal());
    }

    public Map<MemoryTag, Long> usageByTag() {
        Map<MemoryTag, Long> m = new EnumMap<>(MemoryTag.class);
        for (MemoryTag t : MemoryTag.values()) {
            long v = byTag.get(t.ordinal());
            if (v != 0) {
                m.put(t, v);
            }
        }
        return m;
    }

    /** Reserves without evicting; false if it would pass the limit. */
    public boolean tryReserve(MemoryTag tag, long bytes) {
        checkBytes(bytes);
        for (;;) {
            long u = used.get();
            if (u + bytes > limit.get()) {
                return false;
            }
            if (used.compareAndSet(u, u + bytes)) {
                // setLimit lowers the limit and then reads the usage; this adds to the usage and then
                // reads the limit again. So either setLimit sees these bytes (and evicts for them), or
                // this sees the lowered limit and takes them back: checked only before the CAS, a
                // reservation against the old limit could land after setLimit returned, over the new one.
                if (u + bytes > limit.get()) {
                    used.addAndGet(-bytes);
                    continue;
                }
                byTag.addAndGet(tag.ordinal(), bytes);
                return true;
            }
        }
    }

    /**
     * Reserves {@code bytes} for {@code tag}, evicting through the reclaimers as needed.
     * @throws MemoryLimitExceededException when nothing more can be evicted; nothing is reserved then
     */
    public void reserve(String operation, MemoryTag tag, long bytes) {
        reserve(operation, null, 0, null, tag, bytes);
    }

    /**
     * As {@link #reserve(String, MemoryTag, long)}, for a page of a file: the operation's name
     * ({@code verb + " page " + page + " of " + file}, e.g. "pin page 7 of /data/t.pf") is built
     * only if the reservation fails, so that a page miss, which reserves every time, builds no
     * string.
     */
    public void reservePage(String verb, long page, Object file, MemoryTag tag, long bytes) {
        reserve(null, verb, page, file, tag, bytes);
    }

    /** The operation is {@code operation}, or where that is null the page {@code page} of {@code file} under {@code verb}. */
    private void reserve(String operation, String verb, long page, Object file, MemoryTag tag, long bytes) {
        checkBytes(bytes);
        long seen = lowerings; // before the limit is read
        if (bytes > limit.get()) {
            if (!limitMoved(seen)) {
                throw exceeded(operation, verb, page, file, tag, bytes);
            }
            seen = lowerings;
        }
        int idle = 0;
        boolean interrupted = false;
        try {
            while (!tryReserve(tag, bytes)) {
                long need = used.get() + bytes - limit.get();
                if (need <= 0) {
                    continue; // someone released meanwhile: just retry
                }
                if (reclaimAny(need) > 0) {
                    idle = 0;
                } else if (reclaimInProgress()) {
                    // An interrupt does not end the wait (the eviction goes on, and it is kept for the
                    // caller, as the I/O keeps it), but it would make every park return at once and this
                    // loop spin through the reclaimers until the eviction ends: off while waiting, back after.
                    interrupted |= Thread.interrupted();
                    LockSupport.parkNanos(IN_FLIGHT_WAIT_NANOS); // another thread's eviction is about to release memory
                } else if (++idle > 2) { // every reclaimer came back empty twice in a row: all pinned
                    if (limitMoved(seen)) {
                        seen = lowerings;
                        idle = 0; // the limit it failed against may have been put back: try again
                        continue;
                    }
                    throw exceeded(operation, verb, page, file, tag, bytes);
                } else {
                    Thread.yield(); // another thread may be finishing an eviction right now
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private MemoryLimitExceededException exceeded(String operation, String verb, long page, Object file, MemoryTag tag,
            long bytes) {
        String op = operation != null ? operation : verb + " page " + page + " of " + file;
        long lim = limit.get();
        long u = used.get();
        if (bytes > lim) { // no eviction could make room: a sizing error, not a pool full of pinned data
            return new MemoryLimitExceededException(op + ": cannot reserve " + bytes + " bytes for " + tag
                    + ": the request is larger than the whole " + lim + "-byte memory limit (" + u
                    + " bytes in use; usage by tag: " + usageByTag() + ")", bytes, u, lim, usageByTag());
        }
        return new MemoryLimitExceededException(op, tag, bytes, u, lim, usageByTag());
    }

    /**
     * Whether a lowering of the limit began since {@code seen} was read from {@link #lowerings};
     * one under way is waited out. {@link #setLimit} sets the new limit before it is known to fit
     * (so that no one refills while it evicts) and puts the old one back if pinned data does not
     * fit: a reservation must not fail against a limit that was only being tried, so it waits for
     * the outcome and tries again.
     */
    private boolean limitMoved(long seen) {
        long now = lowerings;
        if ((now & 1) != 0) {
            synchronized (this) { // setLimit holds the monitor throughout
                return true;
            }
        }
        return now != seen;
    }

    private boolean reclaimInProgress() {
        for (Reclaimer r : reclaimers) {
            if (r.reclaimInProgress()) {
                return true;
            }
        }
        return false;
    }

    private long reclaimAny(long need) {
        int n = reclaimers.size();
        if (n == 0) {
            return 0;
        }
        int start = (int) (rotation.getAndIncrement() % n);
        long freed = 0;
        RuntimeException failed = null;
        for (int i = 0; i < n && freed < need; i++) {
            try {
                freed += reclaimers.get((start + i) % n).reclaim(need - freed);
            } catch (RuntimeException e) {
                // One reclaimer's failure (a dirty page whose write-back fails) is one victim that
                // cannot go, not a full pool: the others are still asked. It is the caller's error
                // only if no one could free anything, else a failing page would fail every other
                // reservation whose turn asked the page pool first.
                if (failed == null) {
                    failed = e;
                } else {
                    failed.addSuppressed(e);
                }
            }
        }
        if (freed == 0 && failed != null) {
            throw failed;
        }
        return freed;
    }

    public void release(MemoryTag tag, long bytes) {
        checkBytes(bytes);
        long after = used.addAndGet(-bytes);
        long tagAfter = byTag.addAndGet(tag.ordinal(), -bytes);
        if (after < 0 || tagAfter < 0) {
            throw new IllegalStateException("memory accounting went negative releasing " + bytes + " bytes of " + tag
                    + " (used " + after + ", " + tag + " " + tagAfter + ")");
        }
    }

    /**
     * Changes the limit at run time, evicting down to it. Fails, leaving the old limit, if what is
     * pinned does not fit the new one or if a reclaimer fails and no other can free anything (its
     * exception is rethrown).
     */
    public synchronized void setLimit(long newLimit) {
        checkLimit(newLimit);
        long old = limit.get();
        if (newLimit >= old) {
            limit.set(newLimit);
            return;
        }
        lowerings++; // odd before the limit drops: a reservation failing against it waits for the outcome
        try {
            lowerLimit(old, newLimit);
        } finally {
            lowerings++; // even after the limit is final, kept or put back
        }
    }

    private void lowerLimit(long old, long newLimit) {
        limit.set(newLimit); // lower first, so no one refills while we evict
        int idle = 0;
        boolean interrupted = false;
        try {
            while (used.get() > newLimit) {
                long freed;
                try {
                    freed = reclaimAny(used.get() - newLimit);
                } catch (RuntimeException | Error e) { // e.g. a failed write-back: the old limit stays
                    limit.set(old);
                    throw e;
                }
                if (freed > 0) {
                    idle = 0;
                } else if (reclaimInProgress()) {
                    interrupted |= Thread.interrupted(); // as in reserve: kept, but not while parked
                    LockSupport.parkNanos(IN_FLIGHT_WAIT_NANOS);
                } else if (++idle > 2) {
                    long u = used.get();
                    limit.set(old);
                    throw new MemoryLimitExceededException("cannot lower the memory limit from " + old + " to " + newLimit
                            + " bytes: " + u + " bytes are pinned or otherwise not evictable; usage by tag: " + usageByTag()
                            + "; the limit stays " + old, 0, u, old, usageByTag());
                }
            }
        } finally {
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
    }

    private static void checkBytes(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("negative byte count " + bytes);
        }
    }
}
