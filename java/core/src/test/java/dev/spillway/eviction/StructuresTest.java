package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.HashMap;
import java.util.Map;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** The primitive building blocks: the node lists and their index, the long-to-int map, the ghost queue and the frequency sketch. */
class StructuresTest {
    @Test
    void mapMatchesHashMapUnderRandomPutsAndRemoves() {
        Random rnd = new Random(7);
        LongIntHashMap map = new LongIntHashMap(4);
        Map<Long, Integer> ref = new HashMap<>();
        for (int i = 0; i < 200_000; i++) {
            // a small key range forces long probe chains and many backward shifts
            long k = rnd.nextInt(3) == 0 ? rnd.nextLong() : rnd.nextInt(5_000) * 1024L;
            int v = rnd.nextInt(Integer.MAX_VALUE);
            if (rnd.nextInt(3) == 0) {
                Integer old = ref.remove(k);
                assertEquals(old == null ? LongIntHashMap.ABSENT : old, map.remove(k));
            } else {
                Integer old = ref.put(k, v);
                assertEquals(old == null ? LongIntHashMap.ABSENT : old, map.put(k, v));
            }
            assertEquals(ref.size(), map.size());
        }
        for (Map.Entry<Long, Integer> e : ref.entrySet()) {
            assertEquals(e.getValue(), map.get(e.getKey()));
        }
        assertEquals(LongIntHashMap.ABSENT, map.get(Long.MIN_VALUE));
    }

    /**
     * The node index (node numbers only, compared through the key array) agrees with a HashMap
     * while nodes come and go, the table grows and backward shifts fill the holes; a key allocated
     * twice and a node freed twice are refused instead of corrupting it.
     */
    @Test
    void nodeIndexMatchesHashMapUnderRandomAllocationsAndFrees() {
        Random rnd = new Random(11);
        NodeLists nodes = new NodeLists(1, 4);
        Map<Long, Integer> ref = new HashMap<>();
        for (int i = 0; i < 200_000; i++) {
            long k = rnd.nextInt(3) == 0 ? rnd.nextLong() : rnd.nextInt(5_000) * 1024L;
            Integer n = ref.get(k);
            assertEquals(n == null ? NodeLists.NIL : n, nodes.find(k));
            if (n != null && rnd.nextInt(2) == 0) {
                nodes.free(n);
                ref.remove(k);
            } else if (n == null) {
                int m = nodes.allocate(k);
                nodes.linkLast(0, m);
                ref.put(k, m);
            }
            if (i % 20_000 == 0) {
                nodes.validate();
            }
        }
        nodes.validate();
        assertEquals(ref.size(), nodes.indexed());
        for (Map.Entry<Long, Integer> e : ref.entrySet()) {
            assertEquals(e.getValue(), nodes.find(e.getKey()));
        }
        long k = ref.keySet().iterator().next();
        IllegalStateException twice = assertThrows(IllegalStateException.class, () -> nodes.allocate(k));
        assertTrue(twice.getMessage().contains("key " + k + " already has node"), twice.getMessage());
        nodes.validate();
        assertEquals(ref.size(), nodes.indexed());
        int n = ref.get(k);
        nodes.free(n);
        assertThrows(IllegalStateException.class, () -> nodes.free(n));
    }

    @Test
    void ghostQueueIsBoundedAndForgetsOldestFirst() {
        GhostQueue g = new GhostQueue(3);
        g.add(1);
        g.add(2);
        g.add(3);
        g.add(4); // forgets 1
        assertFalse(g.contains(1));
        assertTrue(g.contains(2) && g.contains(4));
        assertTrue(g.remove(3));
        assertFalse(g.remove(3));
        g.add(5);
        g.add(6); // the ring wraps past 2 and the stale slot of 3
        assertFalse(g.contains(2));
        assertTrue(g.contains(4) && g.contains(5) && g.contains(6));
        assertTrue(g.size() <= g.capacity());
        g.ensureCapacity(10);
        for (long k = 100; k < 107; k++) {
            g.add(k);
        }
        assertTrue(g.contains(4) && g.contains(106));
        assertEquals(10, g.size());
    }

    @Test
    void sketchNeverUnderestimatesBeforeAgingAndSaturates() {
        FrequencySketch s = new FrequencySketch(1_000);
        for (long k = 0; k < 500; k++) {
            for (int i = 0; i < k % 10; i++) {
                s.increment(k);
            }
        }
        for (long k = 0; k < 500; k++) {
            assertTrue(s.frequency(k) >= k % 10, "key " + k);
        }
        for (int i = 0; i < 100; i++) {
            s.increment(-1);
        }
        assertEquals(15, s.frequency(-1));
    }

    @Test
    void sketchAgesByHalving() {
        FrequencySketch s = new FrequencySketch(16); // ages after 160 additions
        for (int i = 0; i < 12; i++) {
            s.increment(42);
        }
        int before = s.frequency(42);
        for (long k = 1_000; k < 1_200; k++) {
            s.increment(k);
        }
        assertTrue(s.frequency(42) <= before / 2 + 1, "aged to " + s.frequency(42) + " from " + before);
    }
}
