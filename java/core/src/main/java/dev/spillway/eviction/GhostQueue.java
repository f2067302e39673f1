package dev.spillway.eviction;

/**
 * A bounded FIFO of recently evicted keys with O(1) membership: the "ghost" history of S3-FIFO.
 * It holds keys only (8 bytes in the ring plus a map slot each), never data.
 *
 * <p><b>Layout.</b> A ring of keys in insertion order and a map from key to its ring slot. Removing
 * a key (a ghost hit) drops only the map entry; its ring slot stays until the ring wraps past it,
 * and is recognised as stale because the map no longer points at it. So the ring bounds the
 * history and the map never holds more than the ring.
 */
final class GhostQueue {
    private long[] ring;
    private int head; // oldest slot
    private int count; // occupied ring slots, stale ones included
    private final LongIntHashMap slots;

    GhostQueue(int capacity) {
        ring = new long[Math.max(1, capacity)];
        slots = new LongIntHashMap(Math.min(capacity, 1 << 16));
    }

    int capacity() {
        return ring.length;
    }

    int size() {
        return slots.size();
    }

    /** Whether {@code key} is remembered; if so, forgets it (a ghost hit is consumed). */
    boolean remove(long key) {
        return slots.remove(key) != LongIntHashMap.ABSENT;
    }

    boolean contains(long key) {
        return slots.get(key) != LongIntHashMap.ABSENT;
    }

    /** Remembers {@code key} as the newest ghost, forgetting the oldest when full. */
    void add(long key) {
        if (count == ring.length) {
            long oldest = ring[head];
            if (slots.get(oldest) == head) {
                slots.remove(oldest);
            }
            head = (head + 1) % ring.length;
            count--;
        }
        int slot = (head + count) % ring.length;
        ring[slot] = key;
        slots.put(key, slot); // a key already present moves to the newest slot
        count++;
    }

    /** Raises the bound to {@code capacity} entries (never lowers it), keeping the order. */
    void ensureCapacity(int capacity) {
        if (capacity <= ring.length) {
            return;
        }
        long[] grown = new long[capacity];
        LongIntHashMap old = slots;
        int kept = 0;
        for (int i = 0; i < count; i++) {
            int slot = (head + i) % ring.length;
            long k = ring[slot];
            if (old.get(k) == slot) {
                grown[kept] = k;
                old.put(k, kept);
                kept++;
            }
        }
        ring = grown;
        head = 0;
        count = kept;
    }
}
