package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;

import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Random;
import org.junit.jupiter.api.Test;

/** LRU against a {@link LinkedHashMap} reference, and CLOCK's second chance. */
class LruClockTest {
    @Test
    void lruMatchesLinkedHashMapOnRandomStreams() {
        Random rnd = new Random(42);
        for (int round = 0; round < 30; round++) {
            int capacity = 1 + rnd.nextInt(200);
            int keySpace = 1 + rnd.nextInt(capacity * 3);
            LruPolicy lru = new LruPolicy(capacity);
            LinkedHashMap<Long, Boolean> ref = new LinkedHashMap<>(16, 0.75f, true);
            for (int i = 0; i < 20_000; i++) {
                long key = rnd.nextInt(keySpace);
                if (rnd.nextInt(20) == 0) {
                    lru.recordRemove(key);
                    ref.remove(key);
                } else if (ref.get(key) != null) { // get() moves it to the newest end
                    lru.recordAccess(key);
                } else {
                    if (ref.size() == capacity) {
                        Iterator<Long> eldest = ref.keySet().iterator();
                        long expected = eldest.next();
                        eldest.remove();
                        assertEquals(expected, lru.evict(k -> true), "round " + round + " request " + i);
                    }
                    ref.put(key, true);
                    lru.recordInsert(key);
                }
                assertEquals(ref.size(), lru.size());
            }
        }
    }

    @Test
    void lruSkipsPinnedKeysInPlace() {
        LruPolicy lru = new LruPolicy(4);
        for (long k = 1; k <= 4; k++) {
            lru.recordInsert(k);
        }
        assertEquals(2, lru.evict(k -> k != 1));
        assertEquals(1, lru.evict(k -> true), "the skipped key kept its place as the oldest");
    }

    @Test
    void clockGivesReferencedKeysASecondChance() {
        ClockPolicy clock = new ClockPolicy(4);
        for (long k = 1; k <= 4; k++) {
            clock.recordInsert(k);
        }
        clock.recordAccess(1);
        clock.recordAccess(3);
        // the hand clears 1 and evicts 2; the circle from the hand is now 3*, 4, 1
        assertEquals(2, clock.evict(k -> true));
        clock.recordInsert(5); // just behind the hand: 3*, 4, 1, 5
        assertEquals(4, clock.evict(k -> true)); // 3 cleared and passed: 1, 5, 3
        assertEquals(1, clock.evict(k -> true));
        assertEquals(5, clock.evict(k -> true));
        assertEquals(3, clock.evict(k -> true));
    }

    @Test
    void clockPassesOverPinnedKeyAndEvictsItLater() {
        ClockPolicy clock = new ClockPolicy(3);
        for (long k = 1; k <= 3; k++) {
            clock.recordInsert(k);
            clock.recordAccess(k);
        }
        // every bit set and 2 pinned: one turn clears all bits, the second evicts 1
        assertEquals(1, clock.evict(k -> k != 2));
        assertEquals(3, clock.evict(k -> k != 2));
        assertEquals(EvictionPolicy.NO_VICTIM, clock.evict(k -> k != 2));
        assertEquals(2, clock.evict(k -> true));
    }
}
