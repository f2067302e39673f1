package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.Test;

class OptimalReplayTest {
    @Test
    void evictsTheKeyUsedFarthestInTheFuture() {
        // size 2: 1 2 3 -> evict 2 (next used at the end), keep 1 -> 1 hits, 3 hits, 2 misses
        long[] keys = {1, 2, 3, 1, 3, 2};
        TraceReplay.Result r = OptimalReplay.replay(keys, 2);
        assertEquals(2, r.hits());
        assertEquals(6, r.requests());
    }

    @Test
    void onlyColdMissesWhenEverythingFits() {
        long[] keys = Traces.load("gli");
        long distinct = java.util.Arrays.stream(keys).distinct().count();
        assertEquals(keys.length - distinct, OptimalReplay.replay(keys, (int) distinct).hits());
    }

    @Test
    void rejectsEmptyCache() {
        assertThrows(IllegalArgumentException.class, () -> OptimalReplay.replay(new long[] {1}, 0));
    }

    /** Belady is the ceiling: no policy beats it on any trace at any size. */
    @Test
    void optimalIsAtLeastEveryPolicyOnEveryTrace() {
        List<String> failures = new ArrayList<>();
        for (String trace : Traces.ALL) {
            long[] keys = Traces.load(trace);
            long distinct = java.util.Arrays.stream(keys).distinct().count();
            for (double fraction : new double[] {0.05, 0.25, 0.5}) {
                int size = (int) Math.max(1, fraction * distinct);
                long optimal = OptimalReplay.replay(keys, size).hits();
                for (String name : EvictionPolicies.names()) {
                    long hits = TraceReplay.replay(keys, EvictionPolicies.create(name, size), size).hits();
                    if (hits > optimal) {
                        failures.add(name + " on " + trace + " at " + size + ": " + hits + " > optimal " + optimal);
                    }
                }
            }
        }
        assertTrue(failures.isEmpty(), String.join("\n", failures));
    }
}
