package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * The LIRS space shared by {@link LirsPolicy} (all of it) and {@link WLirsPolicy} (its main space):
 * the recency stack S, the queue of resident HIR keys, the non-resident history, the LIR and HIR
 * targets and the capacity learnt from evictions. The rules are described on {@link LirsPolicy}.
 *
 * <p><b>Layout.</b> One {@link NodeLists} with two planes. First plane: the stack S in recency
 * order, holding LIR keys and the HIR keys (resident or not) more recent than the oldest LIR key;
 * its oldest end is always a LIR key (pruning removes HIR keys from there, which ends their test
 * period). Second plane: {@code QUEUE}, the resident HIR keys, oldest first, and {@code HISTORY},
 * the non-resident HIR keys in the order they were evicted.
 *
 * <p><b>Mark.</b> The low two bits ({@link #STATUS}) hold the status; the bits above belong to the
 * caller ({@link #flags}, {@link #addFlags}). A key keeps its flags through changes of status while
 * it is resident; it loses them when it is evicted to the history, and takes the ones its caller
 * passes when it becomes resident again ({@link #insert}) or non-resident ({@link #addNonResident}).
 * One caller flag may be named {@code noAdapt}: a non-resident entry carrying it moves the HIR target
 * neither when it is reused within its test period nor when that period ends.
 *
 * <p>No allocation after construction except the node arrays' growth; every operation is O(1)
 * amortised but the eviction's walks past refused keys, each bounded by its list's size.
 */
final class LirsSpace {
    // first plane
    private static final int STACK = 0;
    // second plane
    private static final int QUEUE = 0;
    private static final int HISTORY = 1;

    /** The status bits of the mark; the bits above are the caller's flags. */
    static final int STATUS = 3;
    static final byte LIR = 0;
    static final byte HIR_RESIDENT = 1;
    static final byte HIR_NONRESIDENT = 2;

    // The paper's L_hirs for the fixed variant: 1% of the cache for HIR keys.
    private static final double FIXED_HIR_RATIO = 0.01;
    // History entries per unit of capacity: recognises reuse at distances up to ~5x the cache.
    // Measured: 1x loses up to 2.4 points on multi1, 2x up to 0.3; 4x and 8x are equal. A node
    // costs 27 bytes plus 8-16 of index, so with the history full the policy holds 176-198 bytes
    // per cached page (PolicyFootprintTest), most of it history.
    private static final int HISTORY_PER_CAPACITY = 4;

    private final NodeLists nodes;
    private final boolean adaptive;
    private final byte noAdapt;
    private int maximum;
    private int hirTarget;
    private int lirTarget;
    private int historyLimit;
    private int lirCount;

    /**
     * @param hint a checked capacity hint: presizes the tables only
     * @param adaptive CLOCK-Pro's adaptive HIR target; otherwise the paper's fixed 1% of the capacity
     * @param noAdapt a caller flag (0: none) whose non-resident entries do not move the HIR target
     */
    LirsSpace(int hint, boolean adaptive, byte noAdapt) {
        if ((noAdapt & STATUS) != 0) {
            throw new IllegalArgumentException("flag overlaps the status bits: " + noAdapt);
        }
        this.adaptive = adaptive;
        this.noAdapt = noAdapt;
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

    // ------------------------------------------------------------------ queries

    /** The node of {@code key}, resident or not; {@link NodeLists#NIL} if none. */
    int find(long key) {
        return nodes.find(key);
    }

    /** Whether {@code n} (a node or {@link NodeLists#NIL}) is a resident key. */
    boolean resident(int n) {
        return n != NodeLists.NIL && status(n) != HIR_NONRESIDENT;
    }

    /** Whether {@code n} (a node or {@link NodeLists#NIL}) is a non-resident history entry. */
    boolean nonResident(int n) {
        return n != NodeLists.NIL && status(n) == HIR_NONRESIDENT;
    }

    private int status(int n) {
        return nodes.mark[n] & STATUS;
    }

    long key(int n) {
        return nodes.key[n];
    }

    /** The caller's flags of node {@code n}. */
    int flags(int n) {
        return nodes.mark[n] & ~STATUS;
    }

    void addFlags(int n, byte flags) {
        nodes.mark[n] |= flags;
    }

    /** The bottom of S (always a LIR key), or {@link NodeLists#NIL} if S is empty. */
    int bottom() {
        return nodes.first(STACK);
    }

    int hirTarget() {
        return hirTarget;
    }

    /** Resident keys. */
    int size() {
        return lirCount + nodes.size2(QUEUE);
    }

    // ------------------------------------------------------------------ requests

    /**
     * A key becomes resident with {@code flags}. {@code n} is {@code find(key)}: {@link
     * NodeLists#NIL} or a non-resident entry, never a resident one.
     */
    void insert(long key, int n, byte flags) {
        if (n != NodeLists.NIL) {
            // A miss on history still in S: reused within its test period, it becomes LIR.
            if ((nodes.mark[n] & noAdapt) == 0) {
                adapt(1);
            }
            nodes.unlink2(n);
            nodes.moveToLast(STACK, n);
            makeLir(n, flags);
            return;
        }
        n = nodes.allocate(key);
        nodes.linkLast(STACK, n);
        if (lirCount < lirTarget) {
            nodes.mark[n] = (byte) (LIR | flags); // while the cache fills, keys are LIR until the LIR target is reached
            lirCount++;
        } else {
            nodes.mark[n] = (byte) (HIR_RESIDENT | flags);
            nodes.linkLast2(QUEUE, n);
        }
    }

    /** A hit on resident node {@code n}. */
    void hit(int n) {
        int flags = flags(n);
        if (status(n) == LIR) {
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
            makeLir(n, flags);
        } else if (lirCount < lirTarget) {
            // Room in the LIR set (keys were removed): take it, as while filling. This also keeps
            // a LIR key at the bottom of S when S was empty.
            nodes.unlink2(n);
            nodes.linkLast(STACK, n);
            nodes.mark[n] = (byte) (LIR | flags);
            lirCount++;
        } else {
            // A resident HIR key whose test period had ended: a new test period, still HIR.
            nodes.linkLast(STACK, n);
            nodes.unlink2(n);
            nodes.linkLast2(QUEUE, n);
        }
    }

    /** {@code n} (at the top of S, in no queue) becomes LIR; the oldest LIR key yields if over target. */
    private void makeLir(int n, int flags) {
        nodes.mark[n] = (byte) (LIR | flags);
        lirCount++;
        if (lirCount > lirTarget) {
            demoteOldestLir();
        }
    }

    /** The LIR key at the bottom of S becomes a resident HIR key at the end of the queue. */
    private void demoteOldestLir() {
        int bottom = nodes.first(STACK);
        nodes.unlink(bottom);
        nodes.mark[bottom] = (byte) (HIR_RESIDENT | flags(bottom));
        nodes.linkLast2(QUEUE, bottom);
        lirCount--;
        prune();
    }

    /** Removes HIR keys from the bottom of S until a LIR key is there: their test periods end. */
    private void prune() {
        int n;
        while ((n = nodes.first(STACK)) != NodeLists.NIL && status(n) != LIR) {
            if (status(n) == HIR_NONRESIDENT) {
                if ((nodes.mark[n] & noAdapt) == 0) {
                    adapt(-1); // it left the cache and its test period without being reused
                }
                nodes.free(n);
            } else {
                nodes.unlink(n); // still resident: it may yet be hit, so it is no evidence against the queue
            }
        }
    }

    /** {@code key} leaves the cache (not by eviction); nothing if it is not resident. */
    void remove(long key) {
        int n = nodes.find(key);
        if (!resident(n)) {
            return;
        }
        if (status(n) == LIR) {
            lirCount--;
        }
        nodes.free(n);
        prune();
    }

    /**
     * A key that is not resident (a candidate turned away) becomes a non-resident entry with
     * {@code flags} at the top of S: its test period begins.
     */
    void addNonResident(long key, byte flags) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.unlink2(n);
            nodes.moveToLast(STACK, n);
        } else {
            n = nodes.allocate(key);
            nodes.linkLast(STACK, n);
        }
        nodes.mark[n] = (byte) (HIR_NONRESIDENT | flags);
        nodes.linkLast2(HISTORY, n);
        trimHistory();
        prune(); // with no LIR key in S (all removed) the entry would be its bottom: it goes at once
    }

    // ------------------------------------------------------------------ eviction

    /** The key {@link #evict} would take if all were evictable: the queue head, else the bottom LIR key. */
    int victim() {
        int n = nodes.first2(QUEUE);
        return n != NodeLists.NIL ? n : nodes.first(STACK);
    }

    /**
     * LIRS's eviction: the oldest evictable resident HIR key, else the oldest evictable LIR key;
     * {@link EvictionPolicy#NO_VICTIM} if none. The resident count is taken as the capacity.
     */
    long evict(LongPredicate evictable) {
        int resident = size();
        if (resident == 0) {
            return EvictionPolicy.NO_VICTIM;
        }
        if (resident != maximum) {
            setMaximum(resident);
            trimHistory(); // the bound may have fallen with the capacity
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
            if (status(n) == LIR && evictable.test(nodes.key[n])) {
                return evictLir(n);
            }
        }
        return EvictionPolicy.NO_VICTIM;
    }

    /** Evicts LIR node {@code n}; returns its key. */
    long evictLir(int n) {
        long k = nodes.key[n];
        lirCount--;
        nodes.free(n);
        prune();
        return k;
    }

    private void evictHir(int n) {
        nodes.unlink2(n);
        if (nodes.list[n] != STACK) {
            nodes.free(n);
            return;
        }
        nodes.mark[n] = HIR_NONRESIDENT;
        nodes.linkLast2(HISTORY, n);
        trimHistory();
    }

    private void trimHistory() {
        while (nodes.size2(HISTORY) > historyLimit) {
            nodes.free(nodes.first2(HISTORY));
        }
    }

    // ------------------------------------------------------------------ checks

    void validate() {
        nodes.validate();
        int bottom = nodes.first(STACK);
        if (bottom != NodeLists.NIL && status(bottom) != LIR) {
            throw new IllegalStateException("bottom of S is not LIR: key " + nodes.key[bottom]);
        }
        int lir = 0;
        for (int n = nodes.first(STACK); n != NodeLists.NIL; n = nodes.after(n)) {
            if (status(n) == LIR) {
                lir++;
                if (nodes.list2[n] >= 0) {
                    throw new IllegalStateException("LIR key " + nodes.key[n] + " is queued");
                }
            } else if ((status(n) == HIR_RESIDENT) != (nodes.list2[n] == QUEUE)) {
                throw new IllegalStateException("HIR key " + nodes.key[n] + " status disagrees with its list");
            }
        }
        if (lir != lirCount) {
            throw new IllegalStateException(lir + " LIR keys in S, count says " + lirCount);
        }
        for (int n = nodes.first2(QUEUE); n != NodeLists.NIL; n = nodes.after2(n)) {
            if (status(n) != HIR_RESIDENT) {
                throw new IllegalStateException("queued key " + nodes.key[n] + " is not resident HIR");
            }
        }
        for (int n = nodes.first2(HISTORY); n != NodeLists.NIL; n = nodes.after2(n)) {
            if (status(n) != HIR_NONRESIDENT || nodes.list[n] != STACK) {
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
}
