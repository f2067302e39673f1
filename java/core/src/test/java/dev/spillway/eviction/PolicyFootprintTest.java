package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.testing.HeapHistogram;
import java.lang.ref.Reference;
import java.util.BitSet;
import java.util.Map;
import java.util.SplittableRandom;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Heap per resident key of each eviction policy in steady state, from the JVM's class histogram:
 * the figures the README states, and a bound per policy that a layout change or an unbounded
 * history would break.
 *
 * <p>The workload keeps the cache full for 20 times its capacity in requests: a third of them
 * reuse a hot set of half the capacity, the rest are keys never seen before. Every policy is then
 * at its largest: LIRS's history of non-resident keys reaches its bound (four times the capacity),
 * ARC's and S3-FIFO's ghosts theirs.
 *
 * <p>The bounds are each layout's worst case, where node arrays have just grown by half and the
 * index has just doubled (a quarter full, 16 bytes per node): a node is 18 bytes (key, two links,
 * two tags), 27 with LIRS's second plane. LRU and CLOCK: one node per key, 18 x 1.5 + 16 = 43.
 * ARC: up to two (the ghosts B1 and B2), 86. S3-FIFO: one node plus a ghost queue of the
 * capacity's size (a ring of keys, 8 bytes, and a key-to-position map, 24 to 48), 99.
 * W-TinyLFU: one node plus its count-min sketch (a long per key, rounded up to a power of two), 65. LIRS: five
 * nodes (the key and four of history), 5 x (27 x 1.5 + 16) = 283. W-LIRS: LIRS's plus four sketch longs per
 * key rounded up to a power of two (up to 64) and a window share, 350. Histogram noise is subtracted.
 */
class PolicyFootprintTest {
    private static final Map<String, Integer> BOUND = Map.of("lru", 45, "clock", 45, "arc", 90, "s3fifo", 100,
            "wtinylfu", 65, "lirs", 285, "alirs", 285, "wlirs", 350);

    static Iterable<String> names() {
        return EvictionPolicies.names();
    }

    @ParameterizedTest
    @MethodSource("names")
    void heapPerResidentKeyIsWithinTheLayoutsBound(String name) throws Exception {
        Integer bound = BOUND.get(name);
        assertTrue(bound != null, "no stated bound for policy " + name);
        for (int capacity : new int[] {8192, 50_000}) {
            double perKey = bytesPerResidentKey(name, capacity);
            System.out.printf("heap per resident key of %s at %,d keys: %.1f bytes%n", name, capacity, perKey);
            assertTrue(perKey <= bound, String.format("%s at %,d keys: %.1f bytes per resident key, bound %d", name,
                    capacity, perKey, bound));
        }
    }

    private static double bytesPerResidentKey(String name, int capacity) throws Exception {
        int requests = 20 * capacity;
        BitSet resident = new BitSet(requests + capacity); // allocated before the first histogram
        SplittableRandom random = new SplittableRandom(7);
        Map<String, Long> first = HeapHistogram.live();
        long noise = policyBytes(first, HeapHistogram.live()); // the first map itself, live in the second
        Map<String, Long> before = HeapHistogram.live();
        EvictionPolicy p = EvictionPolicies.create(name, capacity);
        int size = 0;
        long fresh = capacity;
        for (int i = 0; i < requests; i++) {
            long k = i % 3 == 0 ? random.nextInt(capacity / 2) : fresh++;
            if (resident.get((int) k)) {
                p.recordAccess(k);
                continue;
            }
            if (size == capacity) {
                resident.clear((int) p.evict(key -> true));
                size--;
            }
            p.recordInsert(k);
            resident.set((int) k);
            size++;
        }
        Map<String, Long> after = HeapHistogram.live();
        assertEquals(capacity, p.size());
        Reference.reachabilityFence(p);
        Reference.reachabilityFence(first);
        return (double) (policyBytes(before, after) - noise) / capacity;
    }

    /** Growth of what a policy is made of: primitive arrays and the policies' own objects. */
    private static long policyBytes(Map<String, Long> before, Map<String, Long> after) {
        long bytes = 0;
        for (Map.Entry<String, Long> e : after.entrySet()) {
            String c = e.getKey();
            if (c.equals("[J") || c.equals("[I") || c.equals("[B") || c.startsWith("dev.spillway.eviction.")) {
                bytes += e.getValue() - before.getOrDefault(c, 0L);
            }
        }
        return bytes;
    }
}
