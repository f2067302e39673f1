package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * ARC (Adaptive Replacement Cache): two LRU lists, T1 for keys seen once recently and T2 for keys
 * seen at least twice, each with a ghost list of recently evicted keys (B1, B2). A miss that hits
 * a ghost shows which list would have kept the key, and moves the target size {@code p} of T1
 * towards it.
 *
 * <p>Paper: Megiddo and Modha, "ARC: A Self-Tuning, Low Overhead Replacement Cache" (FAST 2003),
 * Figure 4. One difference: this interface evicts <em>before</em> it learns the missing key, so
 * REPLACE cannot apply the paper's tie rule for a B2 hit ({@code |T1| == p}); it evicts from T1
 * when {@code |T1| > p} (or T2 is empty), and the ghost hit adapts {@code p} on the insert that
 * follows. The ghost lists are bounded as in the paper: {@code |T1| + |B1| <= c} and all four
 * lists together {@code <= 2c}.
 *
 * <p><b>Layout.</b> Four index-linked LRU lists in one {@link NodeLists}; ghosts are nodes on B1 or
 * B2 (key only, no data). {@code p} is a double so that fractional adaptation steps accumulate.
 *
 * <p><b>Pinned keys.</b> REPLACE takes the oldest evictable key of its chosen list, skipping
 * refused ones in place, then tries the other list; {@link #NO_VICTIM} if both are refused.
 *
 * <p><b>Capacity.</b> {@code c} is the resident count when evicting (the pool evicts only when
 * full, so that is the real capacity); the hint only presizes the tables.
 */
public final class ArcPolicy implements EvictionPolicy, Validated {
    private static final int T1 = 0;
    private static final int T2 = 1;
    private static final int B1 = 2;
    private static final int B2 = 3;

    private final NodeLists nodes;
    private int capacity;
    private double p;

    public ArcPolicy(int capacityHint) {
        int hint = Policies.checkHint(capacityHint);
        nodes = new NodeLists(4, hint);
        capacity = Policies.UNKNOWN_CAPACITY; // until the first eviction: nothing to bound yet
    }

    @Override
    public String name() {
        return "arc";
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            int list = nodes.list[n];
            if (list == T1 || list == T2) {
                nodes.moveToLast(T2, n);
                return;
            }
            int b1 = nodes.size(B1);
            int b2 = nodes.size(B2);
            if (list == B1) {
                p = Math.min(capacity, p + Math.max(1.0, (double) b2 / b1));
            } else {
                p = Math.max(0, p - Math.max(1.0, (double) b1 / b2));
            }
            nodes.moveToLast(T2, n);
        } else {
            nodes.linkLast(T1, nodes.allocate(key));
        }
        trimGhosts();
    }

    /** The paper's bounds: |T1| + |B1| <= c, and everything together <= 2c. */
    private void trimGhosts() {
        while (nodes.size(T1) + nodes.size(B1) > capacity && nodes.size(B1) > 0) {
            nodes.free(nodes.first(B1));
        }
        while (nodes.size(T1) + nodes.size(T2) + nodes.size(B1) + nodes.size(B2) > 2 * capacity) {
            int ghost = nodes.size(B2) > 0 ? nodes.first(B2) : nodes.first(B1);
            if (ghost == NodeLists.NIL) {
                break;
            }
            nodes.free(ghost);
        }
    }

    @Override
    public void recordAccess(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL && (nodes.list[n] == T1 || nodes.list[n] == T2)) {
            nodes.moveToLast(T2, n);
        }
    }

    @Override
    public void recordRemove(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL && (nodes.list[n] == T1 || nodes.list[n] == T2)) {
            nodes.free(n);
        }
    }

    @Override
    public long evict(LongPredicate evictable) {
        int resident = size();
        if (resident == 0) {
            return NO_VICTIM;
        }
        if (resident != capacity) {
            capacity = resident;
            p = Math.min(p, capacity);
        }
        int t1 = nodes.size(T1);
        boolean fromT1 = t1 > 0 && (t1 > p || nodes.size(T2) == 0);
        long victim = evictFrom(fromT1 ? T1 : T2, evictable);
        if (victim == NO_VICTIM) {
            victim = evictFrom(fromT1 ? T2 : T1, evictable);
        }
        return victim;
    }

    /** Moves the oldest evictable key of {@code list} to its ghost list; NO_VICTIM if none. */
    private long evictFrom(int list, LongPredicate evictable) {
        for (int n = nodes.first(list); n != NodeLists.NIL; n = nodes.after(n)) {
            long k = nodes.key[n];
            if (evictable.test(k)) {
                nodes.moveToLast(list == T1 ? B1 : B2, n);
                trimGhosts();
                return k;
            }
        }
        return NO_VICTIM;
    }

    @Override
    public void validate() {
        nodes.validate();
        if (p < 0 || p > capacity) {
            throw new IllegalStateException("p " + p + " outside [0, " + capacity + "]");
        }
        if (nodes.size(T1) + nodes.size(B1) > capacity && nodes.size(B1) > 0) {
            throw new IllegalStateException("|T1| + |B1| = " + (nodes.size(T1) + nodes.size(B1)) + " > c " + capacity);
        }
        if (nodes.size(B1) + nodes.size(B2) > 2 * capacity) {
            throw new IllegalStateException("ghosts " + (nodes.size(B1) + nodes.size(B2)) + " > 2c");
        }
    }

    @Override
    public int size() {
        return nodes.size(T1) + nodes.size(T2);
    }
}
