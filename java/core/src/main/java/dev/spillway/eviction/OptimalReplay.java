package dev.spillway.eviction;

/**
 * Belady's optimal replacement, the ceiling for any policy on a trace: on a miss in a full cache,
 * evict the resident key whose next use is farthest in the future (or never comes). It needs the
 * whole future, so it exists only for replay, not for the pool.
 *
 * <p>Paper: Belady, "A study of replacement algorithms for a virtual-storage computer" (IBM Systems
 * Journal 1966). Demand paging: every missed key is inserted, as in {@link TraceReplay}.
 *
 * <p><b>Method.</b> One backward pass computes, for every request, the index of the next request
 * for the same key. The replay then keeps a max-heap of request indices ordered by that next use.
 * When a resident key is requested again, its old heap entry goes stale; stale entries are exactly
 * those whose next use is already past, so they are smaller than every live entry and never reach
 * the top while a live one exists. O(n log n) time, O(n) memory.
 */
public final class OptimalReplay {
    private static final int NEVER = Integer.MAX_VALUE;

    private OptimalReplay() {}

    public static TraceReplay.Result replay(long[] keys, int cacheSize) {
        if (cacheSize < 1) {
            throw new IllegalArgumentException("cache size must be >= 1: " + cacheSize);
        }
        int n = keys.length;
        int[] nextUse = new int[n];
        LongIntHashMap seen = new LongIntHashMap(1024);
        for (int i = n - 1; i >= 0; i--) {
            int later = seen.put(keys[i], i);
            nextUse[i] = later == LongIntHashMap.ABSENT ? NEVER : later;
        }
        LongIntHashMap resident = new LongIntHashMap(cacheSize);
        int[] heap = new int[Math.max(16, Math.min(n, cacheSize * 4))];
        int heapSize = 0;
        long hits = 0;
        for (int i = 0; i < n; i++) {
            long key = keys[i];
            if (resident.get(key) != LongIntHashMap.ABSENT) {
                hits++;
            } else {
                if (resident.size() == cacheSize) {
                    int top = heap[0];
                    heap[0] = heap[--heapSize];
                    siftDown(heap, heapSize, nextUse, 0);
                    resident.remove(keys[top]);
                }
                resident.put(key, 0);
            }
            if (heapSize == heap.length) {
                heap = java.util.Arrays.copyOf(heap, heap.length * 2);
            }
            heap[heapSize] = i;
            siftUp(heap, nextUse, heapSize++);
        }
        return new TraceReplay.Result("optimal", cacheSize, n, hits);
    }

    private static void siftUp(int[] heap, int[] prio, int i) {
        int x = heap[i];
        while (i > 0) {
            int parent = (i - 1) >>> 1;
            if (prio[heap[parent]] >= prio[x]) {
                break;
            }
            heap[i] = heap[parent];
            i = parent;
        }
        heap[i] = x;
    }

    private static void siftDown(int[] heap, int size, int[] prio, int i) {
        if (size == 0) {
            return;
        }
        int x = heap[i];
        while (true) {
            int child = 2 * i + 1;
            if (child >= size) {
                break;
            }
            if (child + 1 < size && prio[heap[child + 1]] > prio[heap[child]]) {
                child++;
            }
            if (prio[heap[child]] <= prio[x]) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = x;
    }
}
