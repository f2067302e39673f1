package dev.spillway.eviction;

/**
 * Estimates how often each key was seen recently: a count-min sketch of 4-bit counters with
 * periodic aging, the frequency filter of TinyLFU.
 *
 * <p>Papers: Cormode and Muthukrishnan, "An Improved Data Stream Summary: The Count-Min Sketch and
 * its Applications" (J. Algorithms 2005); Einziger, Friedman and Manes, "TinyLFU: A Highly
 * Efficient Cache Admission Policy" (ACM ToS 2017). The layout follows Caffeine's sketch.
 *
 * <p><b>Layout.</b> {@code table} holds 16 four-bit counters per long. A key hashes to one block of
 * 8 longs (64 bytes, one cache line), and its four counters (depth 4) are picked in four different
 * longs of that block from further bits of the hash, so an increment touches one line. The table
 * has one long per expected entry (rounded to a power of two): four counters per entry keep the
 * collision error small at 8 bytes per entry. A policy whose decisions hinge on ties can ask for
 * more longs per entry ({@code wlirs}: 4), so that which keys collide, and so the hit ratio, does
 * not depend on the key values.
 *
 * <p><b>Aging.</b> After {@code 10 × capacity} increments every counter is halved (TinyLFU's
 * reset), so popularity decays and a once-hot key cannot stay forever. Counters saturate at 15,
 * which is plenty to compare a candidate with a victim.
 */
final class FrequencySketch {
    // Ten samples per entry: the TinyLFU paper's W/C ratio that keeps the estimate fresh but stable.
    private static final int SAMPLES_PER_ENTRY = 10;
    private static final long HALF_MASK = 0x7777_7777_7777_7777L;
    private static final long LOW_BITS = 0x1111_1111_1111_1111L;

    private final int longsPerEntry;
    private long[] table;
    private int blockMask;
    private int sampleSize;
    private int additions;

    /**
     * Most entries the sketch is sized for up front (8 MiB of table). A capacity hint is the memory
     * limit in pages, which for a limit meant as "none" (Long.MAX_VALUE) is Integer.MAX_VALUE: sized
     * for that, the table took 4 GiB of heap before a page was cached. Beyond this the policy grows
     * the sketch to the real capacity at its first eviction ({@link #setCapacity}), as NodeLists
     * presizes for at most 65,536 entries and grows.
     */
    static final int MAX_PRESIZE = 1 << 20;

    FrequencySketch(int capacity) {
        this(capacity, 1);
    }

    /** A sketch with {@code longsPerEntry} longs of table (a power of two, 1 to 16) per entry. */
    FrequencySketch(int capacity, int longsPerEntry) {
        if (longsPerEntry < 1 || longsPerEntry > 16 || Integer.bitCount(longsPerEntry) != 1) {
            throw new IllegalArgumentException("longs per entry " + longsPerEntry + " is not a power of two from 1 to 16");
        }
        this.longsPerEntry = longsPerEntry;
        resize(Math.min(capacity, MAX_PRESIZE));
    }

    /**
     * Sizes the sketch for {@code capacity} entries: the aging period follows exactly; the table
     * is reallocated (forgetting all counts) only if it is too small. A larger table only has
     * fewer collisions, so it is kept with its counts.
     */
    void setCapacity(int capacity) {
        if (tableLength(capacity) > table.length) {
            resize(capacity);
        } else {
            sampleSize = sampleSizeFor(capacity);
            additions = Math.min(additions, sampleSize - 1);
        }
    }

    /** Sizes the sketch for {@code capacity} entries if it is smaller; forgets all counts when it grows. */
    void ensureCapacity(int capacity) {
        if (tableLength(capacity) > table.length) {
            resize(capacity);
        }
    }

    private void resize(int capacity) {
        int length = tableLength(capacity);
        table = new long[length];
        blockMask = (length >>> 3) - 1;
        sampleSize = sampleSizeFor(capacity);
        additions = 0;
    }

    /** {@link #longsPerEntry} longs (16 counters each) per entry, a power of two, at least one 8-long block. */
    private int tableLength(int capacity) {
        int longs = (int) Math.min(1 << 29, (long) Math.max(1, capacity) * longsPerEntry);
        return Math.max(8, Integer.highestOneBit(longs - 1) << 1);
    }

    private static int sampleSizeFor(int capacity) {
        return (int) Math.min(Integer.MAX_VALUE, (long) SAMPLES_PER_ENTRY * Math.max(capacity, 1));
    }

    /** The estimated recent count of {@code key}, 0 to 15. */
    int frequency(long key) {
        long h = LongIntHashMap.mix(key);
        int block = ((int) (h >>> 32) & blockMask) << 3;
        int counterBits = (int) h;
        int min = 15;
        for (int i = 0; i < 4; i++) {
            int bits = counterBits >>> (i << 3);
            int slot = block + (i << 1) + (bits & 1);
            int shift = ((bits >>> 1) & 15) << 2;
            min = Math.min(min, (int) ((table[slot] >>> shift) & 0xf));
        }
        return min;
    }

    /** Counts one occurrence of {@code key}; ages the whole sketch every {@code sampleSize} additions. */
    void increment(long key) {
        long h = LongIntHashMap.mix(key);
        int block = ((int) (h >>> 32) & blockMask) << 3;
        int counterBits = (int) h;
        boolean added = false;
        for (int i = 0; i < 4; i++) {
            int bits = counterBits >>> (i << 3);
            int slot = block + (i << 1) + (bits & 1);
            int shift = ((bits >>> 1) & 15) << 2;
            if (((table[slot] >>> shift) & 0xf) != 0xf) {
                table[slot] += 1L << shift;
                added = true;
            }
        }
        if (added && ++additions == sampleSize) {
            age();
        }
    }

    /** Halves every counter. Odd counters lose half a count each, which the addition count accounts for. */
    private void age() {
        int odd = 0;
        for (int i = 0; i < table.length; i++) {
            odd += Long.bitCount(table[i] & LOW_BITS);
            table[i] = (table[i] >>> 1) & HALF_MASK;
        }
        additions = (additions - (odd >>> 2)) >>> 1;
    }
}
