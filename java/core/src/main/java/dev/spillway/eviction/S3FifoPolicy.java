package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * S3-FIFO: three FIFO queues. New keys enter a small queue (10% of the capacity) that filters out
 * one-hit wonders quickly; keys hit while there move to the main queue, which is a CLOCK-like FIFO
 * with a 2-bit frequency; keys evicted from the small queue are remembered in a ghost queue, and a
 * ghost that returns goes straight to the main queue.
 *
 * <p>Paper: Yang, Zhang, Qiu, Yue and Vinayak, "FIFO queues are all you need for cache eviction"
 * (SOSP 2023), Algorithm 1. Keys move from the small to the main queue after one hit there, as
 * the paper's text describes it (its pseudocode asks for two: measured on the LIRS traces, that
 * loses up to 10 points on gli and ps and gains at most 3 on loop), and their frequency restarts
 * at zero in the main queue.
 *
 * <p><b>Layout.</b> {@code SMALL} and {@code MAIN} are index-linked FIFOs in one {@link NodeLists};
 * the frequency (0..3) is the node's mark byte; the ghost is a {@link GhostQueue} of keys bounded
 * by the capacity (the paper sizes it like the main queue). A hit only bumps the frequency, so
 * like CLOCK it changes no list.
 *
 * <p><b>Pinned keys.</b> A key the policy would evict but the caller refuses is set aside in a
 * per-queue "held" list and the choice continues; held keys return to the old end of their queue
 * afterwards. Every step evicts, moves a key from small to main, lowers a frequency, or sets a key
 * aside, each of which can happen only finitely often in one call, so the call ends.
 *
 * <p><b>Capacity.</b> The resident count when evicting (the pool evicts only when full, so that is
 * the real capacity); the hint only presizes the tables. The ghost is bounded by the largest
 * capacity seen.
 */
public final class S3FifoPolicy implements EvictionPolicy, Validated {
    private static final int SMALL = 0;
    private static final int MAIN = 1;
    private static final int HELD = 2; // HELD + queue
    private static final int LISTS = 4;
    // The paper's 10% small queue: big enough to catch a second hit, small enough to drop scans fast.
    private static final double SMALL_RATIO = 0.10;
    private static final int MAX_FREQ = 3;

    private final NodeLists nodes;
    private final GhostQueue ghost;
    private int maximum;
    private int smallTarget;

    public S3FifoPolicy(int capacityHint) {
        int hint = Policies.checkHint(capacityHint);
        nodes = new NodeLists(LISTS, hint);
        // Sized at the first eviction, from the real capacity: a hint that is too large must not
        // lengthen the history.
        ghost = new GhostQueue(1);
        setMaximum(Policies.UNKNOWN_CAPACITY); // until the first eviction: every key enters small
    }

    private void setMaximum(int max) {
        maximum = max;
        smallTarget = Math.max(1, (int) Math.round(SMALL_RATIO * max));
    }

    @Override
    public String name() {
        return "s3fifo";
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            recordHit(n);
            return;
        }
        n = nodes.allocate(key);
        nodes.linkLast(ghost.remove(key) ? MAIN : SMALL, n);
    }

    @Override
    public void recordAccess(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            recordHit(n);
        }
    }

    private void recordHit(int n) {
        if (nodes.mark[n] < MAX_FREQ) {
            nodes.mark[n]++;
        }
    }

    @Override
    public void recordRemove(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.free(n);
        }
    }

    @Override
    public long evict(LongPredicate evictable) {
        int resident = size();
        if (resident == 0) {
            return NO_VICTIM; // and the capacity is still unknown: nothing may be sized from it
        }
        if (resident != maximum) {
            setMaximum(resident);
        }
        ghost.ensureCapacity(maximum);
        long victim = NO_VICTIM;
        while (true) {
            int n;
            boolean fromSmall = nodes.size(SMALL) >= smallTarget || nodes.size(MAIN) == 0;
            if (fromSmall) {
                n = nodes.first(SMALL);
                if (n == NodeLists.NIL) {
                    break; // both queues empty (all held)
                }
                if (nodes.mark[n] > 0) {
                    nodes.mark[n] = 0;
                    nodes.moveToLast(MAIN, n);
                    continue;
                }
            } else {
                n = nodes.first(MAIN);
                if (nodes.mark[n] > 0) {
                    nodes.mark[n]--;
                    nodes.moveToLast(MAIN, n);
                    continue;
                }
            }
            long k = nodes.key[n];
            if (evictable.test(k)) {
                nodes.free(n);
                if (fromSmall) {
                    ghost.add(k);
                }
                victim = k;
                break;
            }
            int q = nodes.list[n];
            nodes.unlink(n);
            nodes.linkLast(HELD + q, n);
        }
        nodes.spliceFirst(HELD + SMALL, SMALL);
        nodes.spliceFirst(HELD + MAIN, MAIN);
        return victim;
    }

    @Override
    public void validate() {
        nodes.validate();
        if (nodes.size(HELD + SMALL) + nodes.size(HELD + MAIN) != 0) {
            throw new IllegalStateException("keys left in the held lists");
        }
        if (ghost.size() > ghost.capacity()) {
            throw new IllegalStateException("ghost holds " + ghost.size() + " > " + ghost.capacity());
        }
        for (int q = SMALL; q <= MAIN; q++) {
            for (int n = nodes.first(q); n != NodeLists.NIL; n = nodes.after(n)) {
                if (nodes.mark[n] < 0 || nodes.mark[n] > MAX_FREQ) {
                    throw new IllegalStateException("frequency " + nodes.mark[n] + " out of range");
                }
                if (ghost.contains(nodes.key[n])) {
                    throw new IllegalStateException("resident key " + nodes.key[n] + " is also a ghost");
                }
            }
        }
    }

    @Override
    public int size() {
        return nodes.indexed();
    }
}
