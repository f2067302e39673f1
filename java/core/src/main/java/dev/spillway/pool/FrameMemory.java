package dev.spillway.pool;

import dev.spillway.ClosedException;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.IoBackend;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.IdentityHashMap;
import java.util.List;
import java.util.Map;
import java.util.function.LongSupplier;

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
 * neither lazy pages nor madvise, and {@code allocateDirect} touches every page to zero it), a free
 * slot holds physical memory that the accountant no longer counts. So there slabs are smaller: a
 * sixteenth of the memory limit when the slab is made, at most {@link #NO_DISCARD_SLAB_BYTES}
 * (256 frames of 4 KiB, 16 of 256 KiB), at least one frame; an empty slab is freed at once; and
 * the pool <em>compacts</em>: when a page size's free slots add up to its largest
 * slab, {@link #beginDrain} hands it the frames of its emptiest slab, which the pool moves one by
 * one into free slots of the others ({@link #newFrameForMove}; a copy under the kill protocol,
 * see {@code StandardBufferManager.compactLocked}) until that slab is empty and freed. Frames that
 * are pinned, dirty or not yet synced stay where they are, and their slab is marked stuck: its
 * free slots stop counting and it is not drained again until a slab's worth of frames has been
 * freed since, so a slab that cannot be emptied costs no work per eviction. The memory held
 * beyond the accountant's count is thus under one slab per page size (a sixteenth of the limit,
 * at most 4 MiB), plus the free slots of slabs that hold pages in use. The heap per resident page is then
 * what the discarding backends pay plus the slab's share, and each slab remembers its frames
 * (4 bytes a slot) so that it can be emptied. A slot reused for an allocation is zeroed first.
 *
 * <p><b>Slabs stay mapped until {@link #close}</b> where memory is discarded (and past it, while a
 * view of them is reachable). A size class maps a new slab only when none
 * of its slabs has room, so its slabs never hold more than its peak of frames in use plus one
 * slab: address space, bounded by the memory limit, while the physical memory of every free slot
 * has been discarded. Two reasons not to unmap a slab that becomes empty: a page size in steady
 * use would map and unmap slabs back and forth, and a caller who keeps a page's
 * {@code PageHandle.buffer()} view past its unpin (which the javadoc forbids, but a ByteBuffer
 * cannot be revoked) then reads another page's bytes or zeros, not unmapped memory, which would
 * crash the JVM. Where memory cannot be discarded (above) an empty slab goes at once: its
 * memory is a direct ByteBuffer, which the garbage collector frees only once no view of it is
 * left, so a stale view reads the old bytes.
 *
 * <p>Thread-safe: slot bookkeeping is under this object's monitor, a leaf lock (nothing is taken
 * inside it), the discard system call included.
 */
final class FrameMemory implements AutoCloseable {
    /**
     * Frames per slab where memory can be discarded: the slab's heap (about 190 bytes with its
     * bitmap) is then under a byte per frame, and its address space (1 MiB of 4 KiB pages, 64 MiB
     * of 256 KiB pages) costs no physical memory until frames are used. Elsewhere at most this
     * many ({@link #slabFrames}).
     */
    static final int SLAB_FRAMES = 256;
    /** Freed slots kept undiscarded per page size, for the next loads: at most this many bytes, and at least one slot. */
    static final int WARM_BYTES = 1 << 20;
    /** Largest slab where memory cannot be discarded: it is also about the most memory that free slots hold beyond the accountant's count, per page size. */
    static final int NO_DISCARD_SLAB_BYTES = 4 << 20;
    /** Where memory cannot be discarded, a slab is at most this fraction of the memory limit (as a shift: 1/16). */
    private static final int NO_DISCARD_LIMIT_SHIFT = 4;
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
        /** Where memory cannot be discarded: the frame holding each slot, so the slab can be emptied; else null. */
        private final Frame[] holders;
        private int inUse;
        /** Being emptied by a compaction: not listed, whatever room it has. */
        private boolean draining;
        /** A compaction could not empty it (pages in use): left out of the next ones for a while. */
        private boolean stuck;
        /** Links of the size class's list of slabs with a free slot; guarded by the monitor. */
        private Slab prevWithRoom;
        private Slab nextWithRoom;
        private boolean listed;

        Slab(AlignedBuffer memory, int frameSize, int capacity) {
            this(memory, frameSize, capacity, false);
        }

        Slab(AlignedBuffer memory, int frameSize, int capacity, boolean trackHolders) {
            this.memory = memory;
            this.holders = trackHolders ? new Frame[capacity] : null;
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
        /** log2 of the page size. */
        final int shift;
        /** Free slots over all the class's slabs. */
        int freeSlots;
        /** Slabs marked stuck, and their free slots (which do not count towards a compaction). */
        int stuckSlabs;
        int stuckFree;
        /** Frees since a slab was last marked stuck: after a slab's worth, every mark is cleared. */
        int freesSinceStuck;
        /** Frames in the class's largest slab (slabs made under different limits differ): what a compaction waits for. */
        int largest;

        SizeClass(int warmSlots, int shift) {
            warmSlab = new Slab[warmSlots];
            warmOffset = new int[warmSlots];
            this.shift = shift;
        }
    }

    private final IoBackend backend;
    /** The pool's memory limit now (it sizes slabs where memory cannot be discarded). */
    private final LongSupplier memoryLimit;
    /** Whether freed slots are discarded (else slabs are compacted). */
    private final boolean discards;
    private final SizeClass[] classes = new SizeClass[CLASSES];
    /** Guarded by the monitor. */
    private boolean closed;
    /** The slab a compaction is emptying, or null; guarded by the monitor. */
    private Slab draining;

    FrameMemory(IoBackend backend, LongSupplier memoryLimit) {
        this.backend = backend;
        this.memoryLimit = memoryLimit;
        this.discards = backend.canDiscard();
        for (int i = 0; i < CLASSES; i++) {
            int shift = MIN_SHIFT + i;
            classes[i] = new SizeClass(discards ? Math.max(1, WARM_BYTES >> shift) : 0, shift);
        }
    }

    /**
     * Frames per new slab of {@code frameSize}-byte pages: {@link #SLAB_FRAMES} where memory is
     * discarded; elsewhere a sixteenth of the memory limit now, within one frame and
     * {@link #NO_DISCARD_SLAB_BYTES} (and {@link #SLAB_FRAMES}).
     */
    int slabFrames(int frameSize) {
        return slabFrames(sizeClass(frameSize));
    }

    private int slabFrames(SizeClass c) {
        if (discards) {
            return SLAB_FRAMES;
        }
        long byLimit = memoryLimit.getAsLong() >>> (c.shift + NO_DISCARD_LIMIT_SHIFT);
        return (int) Math.max(1, Math.min(byLimit, Math.min(SLAB_FRAMES, NO_DISCARD_SLAB_BYTES >> c.shift)));
    }

    /** Whether the pool must compact slabs to give memory back (the backend cannot discard it). */
    boolean compacts() {
        return !discards;
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
        Frame fr;
        synchronized (this) {
            if (closed) {
                // a pin or allocation that passed the manager's check and then waited for memory while it closed
                throw new ClosedException("a frame for page " + (key & Frame.PAGE_MASK) + " of " + file.path()
                        + ": the buffer manager is closed");
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
                int frames = slabFrames(c);
                slab = new Slab(backend.map(Math.multiplyExact(size, frames)), size, frames, !discards);
                c.all.add(slab);
                c.largest = Math.max(c.largest, frames);
                c.freeSlots += slab.capacity;
                link(c, slab);
            }
            offset = take(c, slab);
            fr = new Frame(file, key, slab, offset, initialState);
            if (slab.holders != null) {
                slab.holders[offset / size] = fr;
            }
        }
        if (!discards && !overwrites) {
            zero(slab, offset); // a reused slot still holds its last page (the slot is ours: no lock needed)
        }
        return fr;
    }

    private static int take(SizeClass c, Slab slab) {
        int offset = slab.take();
        c.freeSlots--;
        if (slab.stuck) {
            c.stuckFree--;
        }
        if (slab.inUse == slab.capacity) {
            unlink(c, slab);
        }
        return offset;
    }

    private static void zero(Slab slab, int offset) {
        for (int i = 0; i < slab.frameSize; i += 8) {
            slab.bytes.putLong(offset + i, 0L);
        }
    }

    /**
     * Where memory cannot be discarded, a compaction's next step: if a page size's free slots
     * outside stuck slabs add up to its largest slab (so the frames of any one fit in the others'
     * free slots), takes its emptiest slab that is not stuck off the list of slabs with room, so
     * no new frame lands there, and returns the frames it holds; else null (at once where memory is discarded). The caller moves what it can
     * ({@link #newFrameForMove}), frees the old frames, then calls {@link #endDrain}. One slab at
     * a time: the caller holds the pool's eviction lock.
     */
    Frame[] beginDrain() {
        if (discards) {
            return null;
        }
        synchronized (this) {
            if (closed || draining != null) {
                return null;
            }
            for (SizeClass c : classes) {
                if (c.stuckSlabs > 0 && c.freesSinceStuck >= c.largest) { // their pages may be free to move by now
                    for (Slab s : c.all) {
                        s.stuck = false;
                    }
                    c.stuckSlabs = 0;
                    c.stuckFree = 0;
                }
                if (c.freeSlots - c.stuckFree < c.largest || c.all.size() < 2) {
                    continue; // (a lone slab has nowhere to move to)
                }
                Slab emptiest = null;
                for (Slab s : c.all) { // O(slabs); each drain empties a slab or marks one stuck
                    if (!s.stuck && (emptiest == null || s.inUse < emptiest.inUse)) {
                        emptiest = s;
                    }
                }
                unlink(c, emptiest);
                emptiest.draining = true;
                draining = emptiest;
                Frame[] frames = new Frame[emptiest.inUse];
                int n = 0;
                for (Frame fr : emptiest.holders) {
                    if (fr != null) {
                        frames[n++] = fr;
                    }
                }
                return frames;
            }
            return null;
        }
    }

    /**
     * A frame for {@code old}'s page in a free slot of another slab of its size (never a new
     * slab, never the one being drained), LOADING so that pins wait until the mover publishes it;
     * null if no slab has room.
     */
    synchronized Frame newFrameForMove(Frame old) {
        if (closed) {
            return null;
        }
        SizeClass c = sizeClass(old.size());
        Slab slab = c.withRoom;
        if (slab == null) {
            return null;
        }
        int offset = take(c, slab);
        Frame fr = new Frame(old.file, old.key, slab, offset, Frame.LOADING);
        slab.holders[offset / slab.frameSize] = fr;
        return fr;
    }

    /**
     * Ends the compaction {@link #beginDrain} began: a slab emptied was freed by the last
     * {@link #freeMoved}; one that still holds frames (pinned, dirty, unsynced, or no room
     * elsewhere) is listed again and marked stuck: its free slots no longer count towards a
     * compaction, and it is not drained again until a slab's worth of frames was freed since.
     */
    synchronized void endDrain() {
        Slab s = draining;
        if (s == null) {
            return;
        }
        draining = null;
        s.draining = false;
        if (s.inUse == 0 || !s.memory.isOpen()) {
            return;
        }
        SizeClass c = sizeClass(s.frameSize);
        s.stuck = true;
        c.stuckSlabs++;
        c.stuckFree += s.capacity - s.inUse;
        c.freesSinceStuck = 0;
        if (s.inUse < s.capacity) {
            link(c, s);
        }
    }

    /**
     * Gives a dead frame's memory back: kept warm if its size class has room for it, else
     * discarded (so the slot reads as zeros and holds no physical memory before anyone can take it
     * again) and then free. The discard runs under the monitor, so {@link #close} cannot unmap the
     * slab under it (a later mapping at the same address would otherwise lose the bytes it
     * discards); with the warm slots a discard is rare on the eviction path (a load takes back the
     * slot an eviction just kept). Where memory cannot be discarded the slot is simply free, and a
     * slab left empty is freed (class javadoc).
     */
    void free(Frame fr) {
        free(fr, true);
    }

    /** Frees a frame of a compaction's: the one it copied from, or one it could not publish (not a free of the pool's, so it does not count towards clearing stuck marks). */
    void freeMoved(Frame fr) {
        free(fr, false);
    }

    private synchronized void free(Frame fr, boolean counts) {
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
        if (!discards) {
            slab.holders[slot] = null;
            slab.release(slot);
            c.freeSlots++;
            if (counts) {
                c.freesSinceStuck++;
            }
            if (slab.stuck) {
                c.stuckFree++;
            }
            if (slab.inUse == 0) { // freed at once: a free slot here holds memory no one counts (class javadoc)
                unlink(c, slab);
                c.all.remove(slab);
                c.freeSlots -= slab.capacity;
                if (slab.capacity == c.largest) {
                    c.largest = 0; // O(slabs), once per slab freed
                    for (Slab other : c.all) {
                        c.largest = Math.max(c.largest, other.capacity);
                    }
                }
                if (slab.stuck) {
                    c.stuckFree -= slab.capacity;
                    c.stuckSlabs--;
                }
                slab.memory.close();
            } else if (slab.inUse == slab.capacity - 1 && !slab.draining) {
                link(c, slab);
            }
            return;
        }
        if (c.warm < c.warmSlab.length) {
            slab.setKept(slot, true);
            c.warmSlab[c.warm] = slab;
            c.warmOffset[c.warm++] = fr.offset;
            return;
        }
        try {
            backend.discard(slab.memory, fr.offset, slab.frameSize);
        } catch (RuntimeException e) {
            // madvise refused (it does not on our own mapping): the slot must still read as zeros;
            // its physical memory then stays until the slot is reused
            zero(slab, fr.offset);
        }
        boolean wasFull = slab.inUse == slab.capacity;
        slab.release(slot);
        c.freeSlots++;
        if (wasFull) {
            link(c, slab); // an empty slab stays mapped (class javadoc)
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
     * marked kept, every slab with room is listed (and only those, less one being drained), the
     * free slots are counted right, and where memory cannot be discarded no slab is kept empty and
     * every slot's holder is recorded.
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
            if (s.holders != null && s.holders[slot] != fr) {
                throw new IllegalStateException("page " + fr.page() + " of " + fr.file.path()
                        + " is not its slot's recorded holder, so compaction could not move it");
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
            int free = 0;
            int stuck = 0;
            int stuckFree = 0;
            for (Slab s : c.all) {
                free += s.capacity - s.inUse;
                if (s.stuck) {
                    stuck++;
                    stuckFree += s.capacity - s.inUse;
                }
                if (s.holders != null) {
                    int held = 0;
                    for (Frame fr : s.holders) {
                        held += fr != null ? 1 : 0;
                    }
                    if (held != s.inUse) {
                        throw new IllegalStateException("a slab of " + s.frameSize + "-byte frames records " + held
                                + " holders for " + s.inUse + " slots in use");
                    }
                }
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
                if (marked != s.inUse || (s.inUse < s.capacity && !s.draining) != s.listed || !s.memory.isOpen()) {
                    throw new IllegalStateException("a slab of " + s.frameSize + "-byte frames counting " + s.inUse
                            + " (marked " + marked + ") of " + s.capacity + " slots in use is " + (s.listed ? "" : "not ") + "listed as having room"
                            + (s.memory.isOpen() ? "" : " and its memory is freed"));
                }
                if (!discards && s.inUse == 0) {
                    throw new IllegalStateException("an empty slab of " + s.frameSize + "-byte frames is kept, holding memory no one counts");
                }
            }
            int largest = 0;
            for (Slab s : c.all) {
                largest = Math.max(largest, s.capacity);
            }
            if (!discards && largest != c.largest) {
                throw new IllegalStateException("largest slab of " + c.all.size() + " counted as " + c.largest + " frames, is " + largest);
            }
            if (free != c.freeSlots || stuck != c.stuckSlabs || stuckFree != c.stuckFree) {
                throw new IllegalStateException(c.freeSlots + " free slots and " + c.stuckSlabs + " stuck slabs with "
                        + c.stuckFree + " counted for " + c.all.size() + " slabs that have " + free + ", " + stuck + ", " + stuckFree);
            }
            if (keptMarks != c.warm) {
                throw new IllegalStateException(keptMarks + " slots are marked kept warm but the warm list holds " + c.warm);
            }
        }
    }

    /**
     * Frees every slab. Where memory is discarded, a slab's physical memory goes now and its
     * mapping once no view of it is reachable: a {@code PageHandle.buffer()} view kept past its
     * unpin (which the javadoc forbids) then reads zeros instead of crashing the JVM on unmapped
     * memory. Elsewhere the slab is a direct ByteBuffer, which the garbage collector frees the same way.
     */
    @Override
    public synchronized void close() {
        closed = true;
        draining = null;
        for (SizeClass c : classes) {
            for (Slab s : c.all) {
                if (discards) {
                    try {
                        backend.discard(s.memory, 0, s.memory.size());
                    } catch (RuntimeException e) {
                        // madvise refused (it does not on our own mapping): the memory goes with the mapping
                    }
                    s.memory.closeWhenUnreachable();
                } else {
                    s.memory.close();
                }
            }
            c.all.clear();
            c.withRoom = null;
            c.freeSlots = 0;
            c.largest = 0;
            c.stuckSlabs = 0;
            c.stuckFree = 0;
            Arrays.fill(c.warmSlab, null);
            c.warm = 0;
        }
    }
}
