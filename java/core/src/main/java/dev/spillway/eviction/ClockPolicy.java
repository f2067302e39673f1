package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * CLOCK (second chance; Corbató 1968, as in most operating systems and in vmcache): a circle of
 * resident keys with one reference bit each. A hit only sets the bit; the hand clears set bits as
 * it passes and evicts the first key whose bit is already clear.
 *
 * <p><b>Layout.</b> The circle is an index-linked queue in {@link NodeLists}: its head is the
 * position under the hand, and "advancing the hand past a key" is moving that key to the tail,
 * which is exactly where a new key is inserted (just behind the hand). The reference bit is the
 * node's mark byte. A hit is O(1) with no list change, which is why CLOCK is cheap to feed from a
 * concurrent hit path.
 *
 * <p><b>Pinned keys.</b> The predicate is asked only about a key whose bit is clear (the one CLOCK
 * would evict); a refused key is passed over like a referenced one. The hand stops after two full
 * turns: the first clears every bit, so an evictable key, if any, is found on the second.
 */
public final class ClockPolicy implements EvictionPolicy, Validated {
    private static final int CIRCLE = 0;
    private final NodeLists nodes;

    public ClockPolicy(int capacityHint) {
        nodes = new NodeLists(1, Policies.checkHint(capacityHint));
    }

    @Override
    public String name() {
        return "clock";
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.mark[n] = 1;
            return;
        }
        nodes.linkLast(CIRCLE, nodes.allocate(key));
    }

    @Override
    public void recordAccess(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.mark[n] = 1;
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
        long steps = 2L * nodes.size(CIRCLE);
        for (long s = 0; s < steps; s++) {
            int n = nodes.first(CIRCLE);
            if (nodes.mark[n] != 0) {
                nodes.mark[n] = 0;
            } else {
                long k = nodes.key[n];
                if (evictable.test(k)) {
                    nodes.free(n);
                    return k;
                }
            }
            nodes.moveToLast(CIRCLE, n);
        }
        return NO_VICTIM;
    }

    @Override
    public void validate() {
        nodes.validate();
    }

    @Override
    public int size() {
        return nodes.size(CIRCLE);
    }
}
