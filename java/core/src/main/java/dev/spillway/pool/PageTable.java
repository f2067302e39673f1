package dev.spillway.pool;

import java.util.List;
import java.util.concurrent.locks.StampedLock;
import java.util.function.Consumer;

/**
 * Resident pages: key (file id and page number) to frame. Partitioned, each partition an
 * open-addressing table (linear probing, keys in a {@code long[]}, so a lookup boxes nothing)
 * behind a {@link StampedLock}: lookups read optimistically and validate, falling back to the read
 * lock only when a writer was active; inserts and removals (the miss path, eviction) take the
 * partition's write lock. Key 0 marks an empty slot (real keys have a file id of at least 1).
 */
final class PageTable {
    /** 64 partitions keep misses on different pages from queueing on one write lock. */
    private static final int PARTITION_BITS = 6;
    private static final int PARTITIONS = 1 << PARTITION_BITS;
    /** Initial slots per partition (power of two). */
    private static final int INITIAL_CAPACITY = 16;

    static final class Partition {
        final StampedLock lock = new StampedLock();
        private volatile Slots slots = new Slots(INITIAL_CAPACITY);
        private int size; // guarded by lock (write)

        /** Unvalidated lookup; callers outside the write lock use {@link PageTable#get}. */
        Frame probe(long key) {
            return slots.find(key, slot(key));
        }

        /** Inserts an absent key; caller holds the write lock. */
        void put(long key, Frame frame) {
            Slots s = slots;
            if ((size + 1) * 2 > s.keys.length) { // keep load at most 1/2: short probes
                s = s.grow();
                slots = s;
            }
            s.insert(key, frame);
            size++;
        }

        /** Removes the key if it maps to this frame; caller holds the write lock. */
        boolean remove(long key, Frame frame) {
            if (slots.remove(key, frame)) {
                size--;
                return true;
            }
            return false;
        }

        int size() {
            return size;
        }

        void forEachLocked(Consumer<Frame> action) {
            Slots s = slots;
            for (int i = 0; i < s.frames.length; i++) {
                Frame f = s.frames[i];
                if (s.keys[i] != 0 && f != null) {
                    action.accept(f);
                }
            }
        }
    }

    static final class Slots {
        final long[] keys;
        final Frame[] frames;

        Slots(int capacity) {
            keys = new long[capacity];
            frames = new Frame[capacity];
        }

        Frame find(long key, int hash) {
            long[] k = keys;
            Frame[] f = frames;
            int mask = k.length - 1;
            int i = hash & mask;
            for (int n = 0; n <= mask; n++) { // bounded: a racing writer can never make this spin
                long kk = k[i];
                if (kk == key) {
                    return f[i];
                }
                if (kk == 0) {
                    return null;
                }
                i = (i + 1) & mask;
            }
            return null;
        }

        void insert(long key, Frame frame) {
            int mask = keys.length - 1;
            int i = slot(key) & mask;
            while (keys[i] != 0) {
                i = (i + 1) & mask;
            }
            frames[i] = frame;
            keys[i] = key;
        }

        boolean remove(long key, Frame frame) {
            int mask = keys.length - 1;
            int i = slot(key) & mask;
            while (keys[i] != key) {
                if (keys[i] == 0) {
                    return false;
                }
                i = (i + 1) & mask;
            }
            if (frames[i] != frame) {
                return false;
            }
            // backward-shift deletion keeps every probe chain unbroken without tombstones
            int hole = i;
            int j = i;
            for (;;) {
                j = (j + 1) & mask;
                long kj = keys[j];
                if (kj == 0) {
                    break;
                }
                int home = slot(kj) & mask;
                if (((j - home) & mask) >= ((j - hole) & mask)) {
                    keys[hole] = kj;
                    frames[hole] = frames[j];
                    hole = j;
                }
            }
            keys[hole] = 0;
            frames[hole] = null;
            return true;
        }

        Slots grow() {
            Slots n = new Slots(keys.length * 2);
            for (int i = 0; i < keys.length; i++) {
                if (keys[i] != 0) {
                    n.insert(keys[i], frames[i]);
                }
            }
            return n;
        }
    }

    private final Partition[] partitions = new Partition[PARTITIONS];

    PageTable() {
        for (int i = 0; i < PARTITIONS; i++) {
            partitions[i] = new Partition();
        }
    }

    /** Murmur3's 64-bit finalizer: page numbers are dense, the table wants them spread. */
    static long mix(long key) {
        long h = key;
        h ^= h >>> 33;
        h *= 0xff51afd7ed558ccdL;
        h ^= h >>> 33;
        h *= 0xc4ceb9fe1a85ec53L;
        h ^= h >>> 33;
        return h;
    }

    static int slot(long key) {
        return (int) mix(key);
    }

    /** The partition takes the hash's top bits, the slot its low bits. */
    Partition partition(long key) {
        return partitions[(int) (mix(key) >>> (64 - PARTITION_BITS)) & (PARTITIONS - 1)];
    }

    /** The frame of a key, or null: no lock on the common path and no allocation. */
    Frame get(long key) {
        long h = mix(key);
        Partition p = partitions[(int) (h >>> (64 - PARTITION_BITS)) & (PARTITIONS - 1)];
        long stamp = p.lock.tryOptimisticRead();
        Frame f = p.slots.find(key, (int) h);
        if (p.lock.validate(stamp)) {
            return f;
        }
        stamp = p.lock.readLock();
        try {
            return p.probe(key);
        } finally {
            p.lock.unlockRead(stamp);
        }
    }

    /** Adds every frame to the list (read-locked per partition). */
    void collect(List<Frame> into) {
        for (Partition p : partitions) {
            long stamp = p.lock.readLock();
            try {
                p.forEachLocked(into::add);
            } finally {
                p.lock.unlockRead(stamp);
            }
        }
    }

    int size() {
        int n = 0;
        for (Partition p : partitions) {
            long stamp = p.lock.readLock();
            try {
                n += p.size();
            } finally {
                p.lock.unlockRead(stamp);
            }
        }
        return n;
    }
}
