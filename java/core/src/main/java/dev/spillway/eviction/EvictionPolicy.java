package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * Decides which resident key leaves when memory is needed. One implementation drives both the
 * real buffer pool and the trace replay ({@link TraceReplay}), so a hit ratio measured on a trace
 * is the ratio the pool gets.
 *
 * <p>Keys are opaque longs (the pool uses a file id and page number packed into one long; the
 * replay uses the trace's page number). The policy does not know sizes or limits: its caller
 * decides when to evict and calls {@link #evict} until enough memory is free.
 *
 * <p><b>Threading.</b> A policy is single-threaded: the pool calls it only under its eviction
 * lock. Hits are recorded lock-free on the hit path, per thread, and fed to it before each insert
 * and eviction (and when a missing thread's ring of 1,024 hits fills), so its {@link #recordAccess}
 * calls lag real time until it next decides. One thread gets exactly the replay's order; with
 * several, each thread's hits come in order and the threads one after another, and a thread that
 * made more than 1,024 hits since the last feed without missing has only its last 1,024 fed.
 *
 * <p><b>A policy that breaks this contract</b> gets an {@code IllegalStateException} naming it
 * from the standard pool, which stays consistent: a victim that is not resident is asked to be
 * forgotten ({@link #recordRemove}) and, offered again, ends the eviction, as do more victims in a
 * row that its predicate refuses than pages are resident; an exception from {@link #recordInsert}
 * undoes the load or allocation it was part of; the hits being fed when {@link #recordAccess}
 * throws are dropped; a free or a file's close whose {@link #recordRemove} throws completes, then
 * reports it; an eviction that puts a page back (pinned since chosen, or its write-back failed)
 * and whose {@link #recordInsert} throws leaves the page resident, untracked until its file
 * closes, and reports it ({@code MisbehavingPolicyTest}).
 */
public interface EvictionPolicy {
    /** Returned by {@link #evict} when no resident key may be evicted. */
    long NO_VICTIM = Long.MIN_VALUE;

    /** Short lower-case name, as the CLI and the replay table print it ({@code lru}, {@code clock}, ...). */
    String name();

    /** A key became resident (it was just loaded or created). */
    void recordInsert(long key);

    /** A resident key was used again (a hit). Keys the policy does not hold are ignored. */
    void recordAccess(long key);

    /** A resident key left for a reason of the caller's (freed, dropped, file closed). */
    void recordRemove(long key);

    /**
     * Chooses a resident key for which {@code evictable} is true, removes it from the policy, and
     * returns it; {@link #NO_VICTIM} if every resident key is refused (all pinned). Keys refused by
     * the predicate stay resident and keep their standing as far as the policy allows.
     */
    long evict(LongPredicate evictable);

    /** Number of resident keys the policy tracks. */
    int size();
}
