package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * Least recently used: the classic buffer replacement policy, and the baseline every other policy
 * is measured against.
 *
 * <p><b>Layout.</b> One index-linked list in {@link NodeLists}, oldest first; a hit moves the node
 * to the newest end. All operations are O(1) except that {@link #evict} walks past refused (pinned)
 * keys, which keep their place: skipping in place rather than moving them keeps the order exactly
 * LRU, and pinned pages are few and recently used, so they are rarely at the old end.
 */
public final class LruPolicy implements EvictionPolicy, Validated {
    private static final int QUEUE = 0;
    private final NodeLists nodes;

    public LruPolicy(int capacityHint) {
        nodes = new NodeLists(1, Policies.checkHint(capacityHint));
    }

    @Override
    public String name() {
        return "lru";
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.moveToLast(QUEUE, n);
            return;
        }
        nodes.linkLast(QUEUE, nodes.allocate(key));
    }

    @Override
    public void recordAccess(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.moveToLast(QUEUE, n);
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
        for (int n = nodes.first(QUEUE); n != NodeLists.NIL; n = nodes.after(n)) {
            long k = nodes.key[n];
            if (evictable.test(k)) {
                nodes.free(n);
                return k;
            }
        }
        return NO_VICTIM;
    }

    @Override
    public void validate() {
        nodes.validate();
    }

    @Override
    public int size() {
        return nodes.size(QUEUE);
    }
}
