package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * LIRS (Low Inter-reference Recency Set): ranks keys by the recency of their <em>previous</em> use
 * (reuse distance) instead of their last use, so keys touched once by a scan, or by a loop longer
 * than the cache, cannot displace keys reused at short distances. Optionally adaptive: the share
 * of the cache given to new and rarely reused keys follows the workload.
 *
 * <p>Papers: Jiang and Zhang, "LIRS: An Efficient Low Inter-reference Recency Set Replacement
 * Policy to Improve Buffer Cache Performance" (SIGMETRICS 2002), the source of the traces in
 * {@code shared/traces}; the adaptation is the rule of CLOCK-Pro, LIRS's CLOCK approximation
 * (Jiang, Chen and Zhang, "CLOCK-Pro: An Effective Improvement of the CLOCK Replacement", USENIX
 * ATC 2005, section 4.3), applied to the exact list form.
 *
 * <p><b>Terms.</b> LIR keys (low inter-reference recency, "hot") hold most of the cache and are
 * never evicted directly. HIR keys ("cold") are either resident, in a small FIFO queue from which
 * victims are taken, or non-resident history. A HIR key is in its <em>test period</em> while it is
 * in the stack S: reused then, its reuse distance beats the oldest LIR key's and it becomes LIR,
 * demoting that one to HIR.
 *
 * <p><b>Layout.</b> One {@link NodeLists} with two planes. First plane: the stack S in recency
 * order, holding LIR keys and the HIR keys (resident or not) more recent than the oldest LIR key;
 * its oldest end is always a LIR key (pruning removes HIR keys from there, which ends their test
 * period). Second plane: {@code QUEUE}, the resident HIR keys, oldest first, and {@code HISTORY},
 * the non-resident HIR keys in the order they were evicted. The mark byte is the status.
 *
 * <p><b>HIR share.</b> Fixed ({@code lirs}): the paper's L_hirs, 1% of the capacity. Adaptive
 * ({@code alirs}): CLOCK-Pro's rule, starting from one entry: a HIR key reused in its test period
 * (resident or not) adds one entry to the HIR target, a non-resident HIR key whose test period ends
 * unused takes one away, within [1, capacity - 1]. (CLOCK-Pro also counts resident ones; a resident
 * key may still be hit, and not counting it gains up to 0.9 point on sprite and changes no other
 * row of {@code docs/eviction.md}.) A recency-heavy workload (sprite) thus grows the queue until
 * it behaves like LRU; a loop or scan never reuses a HIR key in its test period and keeps it at one,
 * which is the paper's ideal. Each event moves the target by one and demotes at most one LIR key,
 * so the work stays O(1) per request.
 *
 * <p><b>Bounded history.</b> The paper lets S grow with non-resident entries without limit. Here
 * the history holds at most four times the capacity; beyond that the earliest-evicted entry is
 * dropped.
 *
 * <p><b>Pinned keys.</b> Eviction takes the oldest evictable key of the queue, skipping refused
 * ones in place. If every queued key is refused it evicts the oldest evictable LIR key (walking S
 * from its old end); if none, {@link #NO_VICTIM}. Each walk is bounded by its list's size.
 *
 * <p><b>Capacity.</b> The resident count when evicting: the pool evicts only when full, so that
 * count is the real capacity whatever share of memory pages have at the moment. The hint only
 * presizes the tables. The capacity bounds the HIR target and the history.
 */
public final class LirsPolicy implements EvictionPolicy, Validated {
    // first plane
    private static final int STACK = 0;
    // second plane
    private static final int QUEUE = 0;
    private static final int HISTORY = 1;

    private static final byte LIR = 0;
    private static final byte HIR_RESIDENT = 1;
    private static final byte HIR_NONRESIDENT = 2;

    // The paper's L_hirs for the fixed variant: 1% of the cache for HIR keys.
    private static final double FIXED_HIR_RATIO = 0.01;
    // History entries per unit of capacity: recognises reuse at distances up to ~5x the cache.
    // Measured: 1x loses up to 2.4 points on multi1, 2x up to 0.3; 4x and 8x are equal. A node
    // costs 27 bytes plus 8-16 of index, so with the history full the policy holds 176-198 bytes
    // per cached page (PolicyFootprintTest), most of it history.
    private static final int HISTORY_PER_CAPACITY = 4;

    private final NodeLists nodes;
    private final boolean adaptive;
    private int maximum;
    private int hirTarget;
    private int lirTarget;
    private int historyLimit;
    private int lirCount;

    /** Adaptive LIRS ({@code alirs}). */
    public LirsPolicy(int capacityHint) {
        this(capacityHint, true);
    }

    /** {@code adaptive}: CLOCK-Pro's adaptive HIR share ({@code alirs}); otherwise the paper's fixed 1% ({@code lirs}). */
    public LirsPolicy(int capacityHint, boolean adaptive) {
        int hint = Policies.checkHint(capacityHint);
        this.adaptive = adaptive;
        nodes = new NodeLists(1, 2, hint);
        hirTarget = 1;
        // Until the first eviction the cache fills as the paper's cold start does (every key LIR),
        // whatever the hint says: a hint that is too small would otherwise leave most keys HIR.
        setMaximum(Policies.UNKNOWN_CAPACITY);
    }

    private void setMaximum(int max) {
        maximum = max;
        historyLimit = (int) Math.min(Integer.MAX_VALUE, (long) HISTORY_PER_CAPACITY * max);
        setHirTarget(adaptive ? hirTarget : (int) Math.round(FIXED_HIR_RATIO * max));
    }

    private void setHirTarget(int target) {
        hirTarget = Math.max(1, Math.min(maximum - 1, target));
        lirTarget = Math.max(1, maximum - hirTarget);
    }

    /** +1 when a HIR key is reused in its test period, -1 when a non-resident one's test period ends unused. */
    private void adapt(int delta) {
        if (adaptive) {
            setHirTarget(hirTarget + delta);
        }
    }

    @Override
    public String name() {
        return adaptive ? "alirs" : "lirs";
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = nodes.find(key);
        if (n != NodeLists.NIL && nodes.mark[n] != HIR_NONRESIDENT) {
            recordHit(n);
            return;
        }
        if (n != NodeLists.NIL) {
            // A miss on history still in S: reused within its test period, it becomes LIR.
            adapt(1);
            nodes.unlink2(n);
            nodes.moveToLast(STACK, n);
            makeLir(n);
            return;
        }
        n = nodes.allocate(key);
        nodes.linkLast(STACK, n);
        if (lirCount < lirTarget) {
            nodes.mark[n] = LIR; // while the cache fills, keys are LIR until the LIR target is reached
            lirCount++;
        } else {
            nodes.mark[n] = HIR_RESIDENT;
            nodes.linkLast2(QUEUE, n);
        }
    }

    @Override
    public void recordAccess(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL && nodes.mark[n] != HIR_NONRESIDENT) {
            recordHit(n);
        }
    }

    private void recordHit(int n) {
        if (nodes.mark[n] == LIR) {
            boolean wasOldest = nodes.first(STACK) == n;
            nodes.moveToLast(STACK, n);
            if (wasOldest) {
                prune();
            }
        } else if (nodes.list[n] == STACK) {
            // A resident HIR key reused within its test period: it becomes LIR.
            adapt(1);
            nodes.unlink2(n);
            nodes.moveToLast(STACK, n);
            makeLir(n);
        } else if (lirCount < lirTarget) {
            // Room in the LIR set (keys were removed): take it, as while filling. This also keeps
            // a LIR key at the bottom of S when S was empty.
            nodes.unlink2(n);
            nodes.linkLast(STACK, n);
            nodes.mark[n] = LIR;
            lirCount++;
        } else {
            // A resident HIR key whose test period had ended: a new test period, still HIR.
            nodes.linkLast(STACK, n);
            nodes.unlink2(n);
            nodes.linkLast2(QUEUE, n);
        }
    }

    /** {@code n} (at the top of S, in no queue) becomes LIR; the oldest LIR key yields if over target. */
    private void makeLir(int n) {
        nodes.mark[n] = LIR;
        lirCount++;
        if (lirCount > lirTarget) {
            demoteOldestLir();
        }
    }

    /** The LIR key at the bottom of S becomes a resident HIR key at the end of the queue. */
    private void demoteOldestLir() {
        int bottom = nodes.first(STACK);
        nodes.unlink(bottom);
        nodes.mark[bottom] = HIR_RESIDENT;
        nodes.linkLast2(QUEUE, bottom);
        lirCount--;
        prune();
    }

    /** Removes HIR keys from the bottom of S until a LIR key is there: their test periods end. */
    private void prune() {
        int n;
        while ((n = nodes.first(STACK)) != NodeLists.NIL && nodes.mark[n] != LIR) {
            if (nodes.mark[n] == HIR_NONRESIDENT) {
                adapt(-1); // it left the cache and its test period without being reused
                nodes.free(n);
            } else {
                nodes.unlink(n); // still resident: it may yet be hit, so it is no evidence against the queue
            }
        }
    }

    @Override
    public void recordRemove(long key) {
        int n = nodes.find(key);
        if (n == NodeLists.NIL || nodes.mark[n] == HIR_NONRESIDENT) {
            return;
        }
        if (nodes.mark[n] == LIR) {
            lirCount--;
        }
        nodes.free(n);
        prune();
    }

    @Override
    public long evict(LongPredicate evictable) {
        int resident = size();
        if (resident == 0) {
            return NO_VICTIM;
        }
        if (resident != maximum) {
            setMaximum(resident);
        }
        if (lirCount > lirTarget) {
            demoteOldestLir(); // the HIR target grew or the capacity shrank: converge by one per eviction
        }
        for (int n = nodes.first2(QUEUE); n != NodeLists.NIL; n = nodes.after2(n)) {
            long k = nodes.key[n];
            if (evictable.test(k)) {
                evictHir(n);
                return k;
            }
        }
        // Every resident HIR key is refused (or there is none): give up the oldest evictable LIR key.
        for (int n = nodes.first(STACK); n != NodeLists.NIL; n = nodes.after(n)) {
            if (nodes.mark[n] == LIR && evictable.test(nodes.key[n])) {
                long k = nodes.key[n];
                lirCount--;
                nodes.free(n);
                prune();
                return k;
            }
        }
        return NO_VICTIM;
    }

    private void evictHir(int n) {
        nodes.unlink2(n);
        if (nodes.list[n] != STACK) {
            nodes.free(n);
            return;
        }
        nodes.mark[n] = HIR_NONRESIDENT;
        nodes.linkLast2(HISTORY, n);
        while (nodes.size2(HISTORY) > historyLimit) {
            nodes.free(nodes.first2(HISTORY));
        }
    }

    @Override
    public void validate() {
        nodes.validate();
        int bottom = nodes.first(STACK);
        if (bottom != NodeLists.NIL && nodes.mark[bottom] != LIR) {
            throw new IllegalStateException("bottom of S is not LIR: key " + nodes.key[bottom]);
        }
        int lir = 0;
        for (int n = nodes.first(STACK); n != NodeLists.NIL; n = nodes.after(n)) {
            if (nodes.mark[n] == LIR) {
                lir++;
                if (nodes.list2[n] >= 0) {
                    throw new IllegalStateException("LIR key " + nodes.key[n] + " is queued");
                }
            } else if ((nodes.mark[n] == HIR_RESIDENT) != (nodes.list2[n] == QUEUE)) {
                throw new IllegalStateException("HIR key " + nodes.key[n] + " status disagrees with its list");
            }
        }
        if (lir != lirCount) {
            throw new IllegalStateException(lir + " LIR keys in S, count says " + lirCount);
        }
        for (int n = nodes.first2(QUEUE); n != NodeLists.NIL; n = nodes.after2(n)) {
            if (nodes.mark[n] != HIR_RESIDENT) {
                throw new IllegalStateException("queued key " + nodes.key[n] + " is not resident HIR");
            }
        }
        for (int n = nodes.first2(HISTORY); n != NodeLists.NIL; n = nodes.after2(n)) {
            if (nodes.mark[n] != HIR_NONRESIDENT || nodes.list[n] != STACK) {
                throw new IllegalStateException("history key " + nodes.key[n] + " is resident or not in S");
            }
        }
        if (nodes.size2(HISTORY) > historyLimit) {
            throw new IllegalStateException("history " + nodes.size2(HISTORY) + " > " + historyLimit);
        }
        if (hirTarget < 1 || lirTarget < 1) {
            throw new IllegalStateException("targets HIR " + hirTarget + " LIR " + lirTarget);
        }
    }

    @Override
    public int size() {
        return lirCount + nodes.size2(QUEUE);
    }
}
