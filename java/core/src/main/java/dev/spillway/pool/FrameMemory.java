package dev.spillway.pool;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.IoBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;

/**
 * The memory of the pool's frames, carved from slabs (vmcache's idea, at slab granularity): one
 * {@link IoBackend#map mapping} holds {@link #SLAB_FRAMES} frames of one page size, so a resident
 * page costs the heap no buffer object of its own, only its share of the slab's (under one byte).
 * A frame's memory is a {@link Slab} and an offset into it.
 *
 * <p><b>Memory is given back per frame.</b> A freed frame's range is {@link IoBackend#discard
 * discarded} before its slot is free again: the OS takes the physical pages back and the range
 * reads as zeros, so the process holds physical memory for the frames in use only, which is what
 * the {@link dev.spillway.memory.MemoryAccountant} counts: the memory limit stays honest without
 * compaction, however scattered the survivors of an eviction wave are. A mapping's untouched pages
 * take no physical memory either, so a slab's size costs address space only. A fresh or discarded
 * slot reads as zeros, which {@link StandardBufferManager#allocatePage} relies on.
 *
 * <p><b>Except the last few, kept warm.</b> Under memory pressure every miss evicts a frame and
 * loads another of the same size; discarding the victim and faulting the pages in again under the
 * new page's read cost 10 to 25% of the miss path's throughput here (MissPathBenchmark, read
 * rates as a share of FileChannel's in the same run: 0.86 and 0.84 before slabs, 0.72 to 0.80 and
 * 0.63 to 0.74 with a discard per eviction, on 1 and 2 threads). So up to {@link #WARM_BYTES} of
 * freed slots per page size stay as they are (their slots still marked taken) and the next load
 * of that size takes one, reading the page over the stale bytes: no system call, no page fault.
 * The price is stated, and bounded: the process may hold that much freed frame memory per page
 * size in use beyond what the accountant counts. A page allocation, which must see zeros, takes
 * only fresh or discarded slots. With this, three interleaved runs of {@code MissPathBenchmark
 * --native none --rounds 5} gave 0.86-0.99 (1 thread) and 0.86-0.95 (2 threads), against 0.83-0.97
 * and 0.83-0.87 for the build before slabs in the same runs: the miss path is as fast as before slabs, within the noise.
 *
 * <p><b>Where memory cannot be discarded</b> (the pure-Java backend: a direct ByteBuffer has
 * neither lazy pages nor madvise), a free slot of a partly used slab would hold physical memory
 * that no one accounts for, so each slab there holds one frame and is freed with it: exact
 * memory, but the heap pays a slab and its buffers per frame (224 bytes; 282 per resident page in all).
 *
 * <p><b>Slabs stay mapped until {@link #close}.</b> A size class maps a new slab only when none
 * of its slabs has room, so its slabs never hold more than its peak of frames in use plus one
 * slab: address space, bounded by the memory limit, while the physical memory of every free slot
 * has been discarded. Two reasons not to unmap a slab that becomes empty: a page size in steady
 * use would map and unmap slabs back and forth, and a caller who keeps a page's
 * {@code PageHandle.buffer()} view past its unpin (which the javadoc forbids, but a ByteBuffer
 * cannot be revoked) then reads another page's bytes or zeros, not unmapped memory, which would
 * crash the JVM. Where slabs hold one frame (above) a slab goes with its frame: the garbage
 * collector frees that memory only once no view of it is left.
 *
 * <p>Thread-safe: slot bookkeeping is under this object's monitor, a leaf lock (nothing is taken
 * inside it), the discard system call included.
 */
final class FrameMemory implements AutoCloseable {
    /**
     * Frames per slab where memory can be discarded: the slab's heap (about 190 bytes with its
     * bitmap) is then under a byte per frame, and its address space (1 MiB of 4 KiB pages, 64 MiB
     * of 256 KiB pages) costs no physical memory until frames are used.
     */
    static final int SLAB_FRAMES = 256;
    /** Freed slots kept undiscarded per page size, for the next loads: at most this many bytes, and at least one slot. */
    static final int WARM_BYTES = 1 << 20;
    /** Page sizes 4 KiB (2^12) to 256 KiB (2^18): one size class each. */
    private static final int MIN_SHIFT = 12;
    private static final int CLASSES = 7;

    /** One mapping carved into frames of one size. */
    static final class Slab {
        /** The slab's memory, little-endian (page contents use absolute indices from a frame's offset). */
        final ByteBuffer bytes;
        final int frameSize;
        final AlignedBuffer memory;
        final int capacity;
        /** Slots taken (by a frame, or kept warm), one bit each; guarded by the FrameMemory's monitor. */
        private final long[] used;
        /** Slots kept warm: freed, not discarded, in their size class's warm list. */
        private final long[] kept;
        private int inUse;
        /** Links of the size class's list of slabs with a free slot; guarded by the monitor. */
        private Slab prevWithRoom;
        private Slab nextWithRoom;
        private boolean listed;

        Slab(AlignedBuffer memory, int frameSize, int capacity) {
            this.memory = memory;
            this.bytes = memory.buffer().order(ByteOrder.LITTLE_ENDIAN);
            this.frameSize = frameSize;
            this.capacity = capacity;
            this.used = new long[(capacity + 63) >>> 6];
            this.kept = new long[used.length];
        }

        /** Takes the lowest free slot; returns its offset. The slab must have room. */
        private int take() {
            for (int w = 0; w < used.length; w++) {
                long free = ~used[w];
                if (free != 0) {
                    int bit = Long.numberOfTrailingZeros(free);
                    int slot = (w << 6) + bit;
                    if (slot < capacity) {
                        used[w] |= 1L << bit;
                        inUse++;
                        return slot * frameSize;
                    }
                }
            }
            throw new IllegalStateException("frame memory: a slab listed with room has none (internal error)");
        }

        private boolean isUsed(int slot) {
            return (used[slot >>> 6] & (1L << slot)) != 0;
        }

        private boolean isKept(int slot) {
            return (kept[slot >>> 6] & (1L << slot)) != 0;
        }

        private void setKept(int slot, boolean on) {
            if (on) {
                kept[slot >>> 6] |= 1L << slot;
            } else {
                kept[slot >>> 6] &= ~(1L << slot);
            }
        }

        private void release(int slot) {
            used[slot >>> 6] &= ~(1L << slot);
            inUse--;
        }
    }

    /** The slabs of one page size. */
    private static final class SizeClass {
        /** Freed slots not discarded yet, still marked taken: {@code warmSlab[i]} at offset {@code warmOffset[i]}. */
        final Slab[] warmSlab;
        final int[] warmOffset;
        int warm;
        /** Head of the list of slabs with at least one free slot. */
        Slab withRoom;
        /** All the class's slabs (for close and the invariant check). */
        final List<Slab> all = new ArrayList<>();

        SizeClass(int warmSlots) {
            warmSlab = new Slab[warmSlots];
            warmOffset = new int[warmSlots];
        }
    }

    private final IoBackend backend;
    /** Frames per slab: {@link #SLAB_FRAMES} where the backend can discard, else 1. */
    private final int slabFrames;
    private final SizeClass[] classes = new SizeClass[CLASSES];
    /** Guarded by the monitor. */
    private boolean closed;

    FrameMemory(IoBackend backend) {
        this.backend = backend;
        this.slabFrames = backend.canDiscard() ? SLAB_FRAMES : 1;
        for (int i = 0; i < CLASSES; i++) {
            classes[i] = new SizeClass(backend.canDiscard() ? Math.max(1, WARM_BYTES >> (MIN_SHIFT + i)) : 0);
        }
    }

    private SizeClass sizeClass(int frameSize) {
        int shift = Integer.numberOfTrailingZeros(frameSize);
        if (Integer.bitCount(frameSize) != 1 || shift < MIN_SHIFT || shift >= MIN_SHIFT + CLASSES) {
            throw new IllegalArgumentException("frame memory: frame size " + frameSize
                    + " is not a power of two from 4096 to 262144");
        }
        return classes[shift - MIN_SHIFT];
    }

    /**
     * A new frame of {@code file}'s page size. With {@code overwrites} (a load, which reads the
     * whole page into it) it may get a warm slot holding a freed frame's bytes; without, its memory
     * reads as zeros. Maps a new slab if none has room (an {@link OutOfMemoryError} naming the size
     * if the OS refuses).
     */
    Frame newFrame(StandardPageFile file, long key, long initialState, boolean overwrites) {
        int size = file.pageSize();
        Slab slab;
        int offset;
        synchronized (this) {
            if (closed) {
                throw new IllegalStateException("frame memory: closed (the buffer manager is closed)");
            }
            SizeClass c = sizeClass(size);
            if (overwrites && c.warm > 0) {
                int i = --c.warm;
                slab = c.warmSlab[i];
                c.warmSlab[i] = null;
                slab.setKept(c.warmOffset[i] / size, false);
                return new Frame(file, key, slab, c.warmOffset[i], initialState);
            }
            slab = c.withRoom;
            if (slab == null) {
                slab = new Slab(backend.map(Math.multiplyExact(size, slabFrames)), size, slabFrames);
                c.all.add(slab);
                link(c, slab);
            }
            offset = slab.take();
            if (slab.inUse == slab.capacity) {
                unlink(c, slab);
            }
        }
        return new Frame(file, key, slab, offset, initialState);
    }

    /**
     * Gives a dead frame's memory back: kept warm if its size class has room for it, else
     * discarded (so the slot reads as zeros and holds no physical memory before anyone can take it
     * again) and then free. The discard runs under the monitor, so {@link #close} cannot unmap the
     * slab under it (a later mapping at the same address would otherwise lose the bytes it
     * discards); with the warm slots a discard is rare on the eviction path (a load takes back the
     * slot an eviction just kept).
     */
    synchronized void free(Frame fr) {
        if (closed) {
            return; // close freed every slab
        }
        Slab slab = fr.slab;
        int slot = fr.offset / slab.frameSize;
        if (!slab.isUsed(slot) || slab.isKept(slot)) {
            throw new IllegalStateException("frame memory: page " + fr.page() + " of " + fr.file.path()
                    + " freed twice (internal error)");
        }
        SizeClass c = sizeClass(slab.frameSize);
        if (c.warm < c.warmSlab.length) {
            slab.setKept(slot, true);
            c.warmSlab[c.warm] = slab;
            c.warmOffset[c.warm++] = fr.offset;
            return;
        }
        if (slab.capacity > 1) {
            try {
                backend.discard(slab.memory, fr.offset, slab.frameSize);
            } catch (RuntimeException e) {
                // madvise refused (it does not on our own mapping): the slot must still read as zeros;
                // its physical memory then stays until the slot is reused
                for (int i = 0; i < slab.frameSize; i += 8) {
                    slab.bytes.putLong(fr.offset + i, 0L);
                }
            }
        }
        boolean wasFull = slab.inUse == slab.capacity;
        slab.release(slot);
        if (wasFull) {
            link(c, slab);
        }
        if (slab.inUse == 0 && slab.capacity == 1) { // a discarding backend's empty slab stays (class javadoc)
            unlink(c, slab);
            c.all.remove(slab);
            slab.memory.close();
        }
    }

    private static void link(SizeClass c, Slab s) {
        s.prevWithRoom = null;
        s.nextWithRoom = c.withRoom;
        if (c.withRoom != null) {
            c.withRoom.prevWithRoom = s;
        }
        c.withRoom = s;
        s.listed = true;
    }

    private static void unlink(SizeClass c, Slab s) {
        if (!s.listed) {
            return;
        }
        if (s.prevWithRoom != null) {
            s.prevWithRoom.nextWithRoom = s.nextWithRoom;
        } else {
            c.withRoom = s.nextWithRoom;
        }
        if (s.nextWithRoom != null) {
            s.nextWithRoom.prevWithRoom = s.prevWithRoom;
        }
        s.prevWithRoom = null;
        s.nextWithRoom = null;
        s.listed = false;
    }

    /** Slabs mapped now (all size classes). */
    synchronized int slabs() {
        int n = 0;
        for (SizeClass c : classes) {
            n += c.all.size();
        }
        return n;
    }

    /** Bytes of freed frames kept warm (beyond what the accountant counts). */
    synchronized long warmBytes() {
        long n = 0;
        for (int i = 0; i < CLASSES; i++) {
            n += (long) classes[i].warm << (MIN_SHIFT + i);
        }
        return n;
    }

    /**
     * Checks that exactly the given live frames and the warm lists hold slots: each frame's slot is
     * marked taken, no two holders share one, no other slot is marked, exactly the warm slots are
     * marked kept, every slab with room is listed (and only those), and no one-frame slab is kept
     * empty.
     */
    synchronized void checkInvariants(List<Frame> frames) {
        Map<Slab, long[]> seen = new IdentityHashMap<>();
        for (Frame fr : frames) {
            Slab s = fr.slab;
            int slot = fr.offset / s.frameSize;
            if (fr.offset % s.frameSize != 0 || slot >= s.capacity || !s.isUsed(slot)) {
                throw new IllegalStateException("page " + fr.page() + " of " + fr.file.path() + " holds slot " + slot
                        + " of a slab of " + s.capacity + " frames that is not marked in use");
            }
            long[] bits = seen.computeIfAbsent(s, k -> new long[k.used.length]);
            if ((bits[slot >>> 6] & (1L << slot)) != 0) {
                throw new IllegalStateException("page " + fr.page() + " of " + fr.file.path()
                        + " shares its frame memory with another resident page");
            }
            bits[slot >>> 6] |= 1L << slot;
        }
        for (SizeClass c : classes) {
            for (int i = 0; i < c.warm; i++) {
                Slab s = c.warmSlab[i];
                int slot = c.warmOffset[i] / s.frameSize;
                long[] bits = seen.computeIfAbsent(s, k -> new long[k.used.length]);
                if (!s.isUsed(slot) || !s.isKept(slot) || (bits[slot >>> 6] & (1L << slot)) != 0) {
                    throw new IllegalStateException("a warm slot of a slab of " + s.frameSize + "-byte frames is "
                            + (s.isUsed(slot) && s.isKept(slot) ? "also held by a resident page or kept twice"
                                    : "not marked taken and kept"));
                }
                bits[slot >>> 6] |= 1L << slot;
            }
            int keptMarks = 0;
            for (Slab s : c.all) {
                for (long w : s.kept) {
                    keptMarks += Long.bitCount(w);
                }
                long[] bits = seen.getOrDefault(s, new long[s.used.length]);
                for (int w = 0; w < bits.length; w++) {
                    if (bits[w] != s.used[w]) {
                        throw new IllegalStateException("a slab of " + s.frameSize + "-byte frames marks "
                                + Long.bitCount(s.used[w] & ~bits[w]) + " slots in use that no resident page holds");
                    }
                }
                int marked = 0;
                for (long w : s.used) {
                    marked += Long.bitCount(w);
                }
                if (marked != s.inUse || (s.inUse < s.capacity) != s.listed || !s.memory.isOpen()) {
                    throw new IllegalStateException("a slab of " + s.frameSize + "-byte frames counting " + s.inUse
                            + " (marked " + marked + ") of " + s.capacity + " slots in use is " + (s.listed ? "" : "not ") + "listed as having room"
                            + (s.memory.isOpen() ? "" : " and its memory is freed"));
                }
                if (s.capacity == 1 && s.inUse == 0) {
                    throw new IllegalStateException("an empty one-frame slab of " + s.frameSize + " bytes is still mapped");
                }
            }
            if (keptMarks != c.warm) {
                throw new IllegalStateException(keptMarks + " slots are marked kept warm but the warm list holds " + c.warm);
            }
        }
    }

    /** Frees every slab; frames still pointing into them must not be used afterwards. */
    @Override
    public synchronized void close() {
        closed = true;
        for (SizeClass c : classes) {
            for (Slab s : c.all) {
                s.memory.close();
            }
            c.all.clear();
            c.withRoom = null;
            Arrays.fill(c.warmSlab, null);
            c.warm = 0;
        }
    }
}
