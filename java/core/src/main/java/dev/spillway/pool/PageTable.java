package dev.spillway.pool;

import java.util.List;
import java.util.concurrent.locks.StampedLock;
import java.util.function.Consumer;

/**
 * Resident pages: key (file id and page number) to frame. Partitioned, each partition an
 * open-addressing table of frames (linear probing on the frame's key, so a lookup boxes nothing
 * and touches the slot array and the frame it needs anyway) that is itself a {@link StampedLock}:
 * lookups read optimistically and validate, falling back to the read lock only when a writer was
 * active; inserts and removals (the miss path, eviction) take the partition's write lock. A lookup
 * thus reads the partition object (lock state and slot array reference), one slot, and the frame.
 */
final class PageTable {
    /** 64 partitions keep misses on different pages from queueing on one write lock. */
    static final int PARTITION_BITS = 6;
    private static final int PARTITIONS = 1 << PARTITION_BITS;
    /** Initial slots per partition (power of two): an empty partition costs 64 bytes of references. */
    private static final int INITIAL_CAPACITY = 16;

    /**
     * A partition is its own lock: a lookup reads the lock's state and the slot array from one
     * object, one dependent load fewer than a lock held in a field.
     */
    @SuppressWarnings("serial") // never serialized
    static final class Partition extends StampedLock {
        /** Open addressing over frames alone: a slot's key is its frame's key, so a probe touches one array. */
        private volatile Frame[] slots = new Frame[INITIAL_CAPACITY];
        private int size; // guarded by the write lock

        /** Unvalidated lookup; callers outside the write lock use {@link PageTable#get}. */
        Frame probe(long key) {
            return find(slots, key, slot(key));
        }

        /** Inserts a frame whose key is absent; caller holds the write lock. */
        void put(Frame frame) {
            Frame[] s = slots;
            if ((size + 1) * 2 > s.length) { // keep load at most 1/2: short probes
                s = grow(s);
                slots = s;
            }
            insert(s, frame);
            size++;
        }

        /** Removes this frame if the table holds it; caller holds the write lock. */
        boolean remove(Frame frame) {
            if (PageTable.remove(slots, frame)) {
                size--;
                return true;
            }
            return false;
        }

        int size() {
            return size;
        }

        void forEachLocked(Consumer<Frame> action) {
            for (Frame f : slots) {
                if (f != null) {
                    action.accept(f);
                }
            }
        }
    }

    static Frame find(Frame[] f, long key, int hash) {
        int mask = f.length - 1;
        int i = hash & mask;
        for (int n = 0; n <= mask; n++) { // bounded: a racing writer can never make this spin
            Frame fr = f[i];
            if (fr == null) {
                return null;
            }
            if (fr.key == key) {
                return fr;
            }
            i = (i + 1) & mask;
        }
        return null;
    }

    private static void insert(Frame[] frames, Frame frame) {
        int mask = frames.length - 1;
        int i = slot(frame.key) & mask;
        while (frames[i] != null) {
            i = (i + 1) & mask;
        }
        frames[i] = frame;
    }

    private static boolean remove(Frame[] frames, Frame frame) {
        int mask = frames.length - 1;
        int i = slot(frame.key) & mask;
        while (frames[i] != frame) {
            if (frames[i] == null) {
                return false;
            }
            i = (i + 1) & mask;
        }
        // backward-shift deletion keeps every probe chain unbroken without tombstones
        int hole = i;
        int j = i;
        for (;;) {
            j = (j + 1) & mask;
            Frame fj = frames[j];
            if (fj == null) {
                break;
            }
            int home = slot(fj.key) & mask;
            if (((j - home) & mask) >= ((j - hole) & mask)) {
                frames[hole] = fj;
                hole = j;
            }
        }
        frames[hole] = null;
        return true;
    }

    private static Frame[] grow(Frame[] frames) {
        Frame[] n = new Frame[frames.length * 2];
        for (Frame f : frames) {
            if (f != null) {
                insert(n, f);
            }
        }
        return n;
    }

    private final Partition[] partitions = new Partition[PARTITIONS];

    PageTable() {
        for (int i = 0; i < PARTITIONS; i++) {
            partitions[i] = new Partition();
        }
    }

    /**
     * Fibonacci hashing of the key with its high half folded in: one multiply, so the loads of a
     * lookup start sooner than after Murmur3's finalizer (two multiplies, three shifts in one
     * dependent chain; measured 3-4 ns more per pin+unpin). A multiply spreads a key's bits only
     * upwards, so partition and slot both come from the product's high bits: the partition from
     * the top {@link #PARTITION_BITS}, the slot from bits {@link #SLOT_SHIFT} up. Dense page
     * numbers, strides of any power of two and many files' same page numbers all spread evenly
     * ({@code PageTableHashTest}).
     */
    static long mix(long key) {
        return (key ^ (key >>> 32)) * 0x9E3779B97F4A7C15L;
    }

    /** The first hash bit of the slot index (the table masks off the bits it needs from there). */
    static final int SLOT_SHIFT = 24;

    static int partitionOf(long hash) {
        return (int) (hash >>> (64 - PARTITION_BITS));
    }

    static int slotOf(long hash) {
        return (int) (hash >>> SLOT_SHIFT);
    }

    static int slot(long key) {
        return slotOf(mix(key));
    }

    Partition partition(long key) {
        return partitions[partitionOf(mix(key))];
    }

    /** The frame of a key, or null: no lock on the common path and no allocation. */
    Frame get(long key) {
        long h = mix(key);
        Partition p = partitions[partitionOf(h)];
        long stamp = p.tryOptimisticRead();
        Frame f = find(p.slots, key, slotOf(h));
        if (p.validate(stamp)) {
            return f;
        }
        stamp = p.readLock();
        try {
            return p.probe(key);
        } finally {
            p.unlockRead(stamp);
        }
    }

    /** Adds every frame to the list (read-locked per partition). */
    void collect(List<Frame> into) {
        for (Partition p : partitions) {
            long stamp = p.readLock();
            try {
                p.forEachLocked(into::add);
            } finally {
                p.unlockRead(stamp);
            }
        }
    }

    int size() {
        int n = 0;
        for (Partition p : partitions) {
            long stamp = p.readLock();
            try {
                n += p.size();
            } finally {
                p.unlockRead(stamp);
            }
        }
        return n;
    }
}
