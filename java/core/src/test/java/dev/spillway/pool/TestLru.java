package dev.spillway.pool;

import dev.spillway.eviction.EvictionPolicy;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.function.LongPredicate;

/** A plain LRU for the pool's tests, independent of the production policies. */
class TestLru implements EvictionPolicy {
    private final LinkedHashMap<Long, Boolean> order = new LinkedHashMap<>(16, 0.75f, true);

    TestLru(int capacityHint) {
    }

    @Override
    public String name() {
        return "test-lru";
    }

    @Override
    public void recordInsert(long key) {
        if (order.put(key, Boolean.TRUE) != null) {
            throw new IllegalStateException("key " + Long.toHexString(key) + " inserted twice");
        }
    }

    @Override
    public void recordAccess(long key) {
        order.get(key);
    }

    @Override
    public void recordRemove(long key) {
        order.remove(key);
    }

    @Override
    public long evict(LongPredicate evictable) {
        for (Iterator<Long> it = order.keySet().iterator(); it.hasNext();) {
            long k = it.next();
            if (evictable.test(k)) {
                it.remove();
                return k;
            }
        }
        return NO_VICTIM;
    }

    @Override
    public int size() {
        return order.size();
    }
}
