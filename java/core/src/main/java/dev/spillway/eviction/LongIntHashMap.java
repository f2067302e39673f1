package dev.spillway.eviction;

import java.util.Arrays;

/**
 * A primitive open-addressing map from {@code long} keys to non-negative {@code int} values (the
 * policies map a page key to the index of its node). Linear probing with backward-shift deletion,
 * so there are no tombstones and a lookup never degrades after many removals; the table doubles
 * when it is 1/2 full. No boxing, no allocation except when growing.
 *
 * <p>Every long is a valid key: emptiness is marked in the value array ({@code -1}), which is why
 * values must be non-negative.
 */
final class LongIntHashMap {
    static final int ABSENT = -1;
    // A load factor of 1/2 keeps linear-probing chains short (expected ~1.5 probes on a hit).
    private static final int MIN_CAPACITY = 16;

    private long[] keys;
    private int[] values;
    private int mask;
    private int size;

    LongIntHashMap(int expected) {
        int capacity = tableSizeFor(Math.max(expected, 1) * 2L);
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(values, ABSENT);
        mask = capacity - 1;
    }

    private static int tableSizeFor(long n) {
        long c = Math.max(MIN_CAPACITY, Long.highestOneBit(Math.max(1, n - 1)) << 1);
        if (c > 1 << 30) {
            throw new IllegalStateException("map too large: " + n + " slots");
        }
        return (int) c;
    }

    /** Murmur3's 64-bit finaliser: page keys are often dense ranges, which would cluster badly. */
    static long mix(long k) {
        k ^= k >>> 33;
        k *= 0xff51afd7ed558ccdL;
        k ^= k >>> 33;
        k *= 0xc4ceb9fe1a85ec53L;
        k ^= k >>> 33;
        return k;
    }

    int size() {
        return size;
    }

    /** The value for {@code key}, or {@link #ABSENT}. */
    int get(long key) {
        int i = (int) mix(key) & mask;
        while (true) {
            int v = values[i];
            if (v == ABSENT || keys[i] == key) {
                return v;
            }
            i = (i + 1) & mask;
        }
    }

    /** Maps {@code key} to {@code value} ({@code value >= 0}); returns the previous value or {@link #ABSENT}. */
    int put(long key, int value) {
        if (value < 0) {
            throw new IllegalArgumentException("value must be non-negative: " + value);
        }
        int i = (int) mix(key) & mask;
        while (true) {
            int v = values[i];
            if (v == ABSENT) {
                keys[i] = key;
                values[i] = value;
                if (++size * 2 > values.length) {
                    grow();
                }
                return ABSENT;
            }
            if (keys[i] == key) {
                values[i] = value;
                return v;
            }
            i = (i + 1) & mask;
        }
    }

    /** Removes {@code key}; returns its value or {@link #ABSENT}. */
    int remove(long key) {
        int i = (int) mix(key) & mask;
        while (true) {
            int v = values[i];
            if (v == ABSENT) {
                return ABSENT;
            }
            if (keys[i] == key) {
                shiftBack(i);
                size--;
                return v;
            }
            i = (i + 1) & mask;
        }
    }

    /** Backward-shift deletion: moves later entries of the probe chain into the hole. */
    private void shiftBack(int hole) {
        int i = hole;
        while (true) {
            i = (i + 1) & mask;
            if (values[i] == ABSENT) {
                break;
            }
            int home = (int) mix(keys[i]) & mask;
            // The entry at i may fill the hole only if its home is not in (hole, i] cyclically.
            if (((i - home) & mask) >= ((i - hole) & mask)) {
                keys[hole] = keys[i];
                values[hole] = values[i];
                hole = i;
            }
        }
        values[hole] = ABSENT;
    }

    private void grow() {
        long[] oldKeys = keys;
        int[] oldValues = values;
        int capacity = tableSizeFor(oldValues.length * 2L);
        keys = new long[capacity];
        values = new int[capacity];
        Arrays.fill(values, ABSENT);
        mask = capacity - 1;
        for (int j = 0; j < oldValues.length; j++) {
            if (oldValues[j] != ABSENT) {
                int i = (int) mix(oldKeys[j]) & mask;
                while (values[i] != ABSENT) {
                    i = (i + 1) & mask;
                }
                keys[i] = oldKeys[j];
                values[i] = oldValues[j];
            }
        }
    }
}
