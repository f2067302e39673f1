package dev.spillway.pool;

import java.util.List;
import java.util.concurrent.locks.StampedLock;
import java.util.function.Consumer;

/**
 * Resident pages: key (file id and page number) to frame. Partitioned, each partition an
 * open-addressing table of frames (linear probing on the frame's key, so a lookup boxes nothing
 * and touches the slot array and the frame it needs anyway) behind a {@link StampedLock}: lookups
 * read optimistically and validate, falling back to the read lock only when a writer was active;
 * inserts and removals (the miss path, eviction) take the partition's write lock.
 */
final class PageTable {
    /** 64 partitions keep misses on different pages from queueing on one write lock. */
    private static final int PARTITION_BITS = 6;
    private static final int PARTITIONS = 1 << PARTITION_BITS;
    /** Initial slots per partition (power of two): an empty partition costs 64 bytes of references. */
    private static final int INITIAL_CAPACITY = 16;

    static final class Partition {
        final StampedLock lock = new StampedLock();
        private volatile Slots slots = new Slots(INITIAL_CAPACITY);
        private int size; // guarded by lock (write)

        /** Unvalidated lookup; callers outside the write lock use {@link PageTable#get}. */
        Frame probe(long key) {
            return slots.find(key, slot(key));
        }

        /** Inserts a frame whose key is absent; caller holds the write lock. */
        void put(Frame frame) {
            Slots s = slots;
            if ((size + 1) * 2 > s.frames.length) { // keep load at most 1/2: short probes
                s = s.grow();
                slots = s;
            }
            s.insert(frame);
            size++;
        }

        /** Removes this frame if the table holds it; caller holds the write lock. */
        boolean remove(Frame frame) {
            if (slots.remove(frame)) {
                size--;
                return true;
            }
            return false;
        }

        int size() {
            return size;
        }

        void forEachLocked(Consumer<Frame> action) {
            for (Frame f : slots.frames) {
                if (f != null) {
                    action.accept(f);
                }
            }
        }
    }

    /** Open addressing over frames alone: a slot's key is its frame's key, so a probe touches one array. */
    static final class Slots {
        final Frame[] frames;

        Slots(int capacity) {
            frames = new Frame[capacity];
        }

        Frame find(long key, int hash) {
            Frame[] f = frames;
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

        void insert(Frame frame) {
            int mask = frames.length - 1;
            int i = slot(frame.key) & mask;
            while (frames[i] != null) {
                i = (i + 1) & mask;
            }
            frames[i] = frame;
        }

        boolean remove(Frame frame) {
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

        Slots grow() {
            Slots n = new Slots(frames.length * 2);
            for (Frame f : frames) {
                if (f != null) {
                    n.insert(f);
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
