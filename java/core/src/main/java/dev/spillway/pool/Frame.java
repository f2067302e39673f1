package dev.spillway.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;

/**
 * One resident page: its memory and its state word. A frame lives from load (or allocation) to
 * eviction; a page loaded again gets a new frame, so a reference to a dead frame can never see
 * another page's data through the pool.
 *
 * <p>State word (one long, changed only by CAS):
 * <pre>
 *   bits  0..15  pin count (all intents)
 *   bits 16..31  write pins among them
 *   bit  32      DIRTY      memory differs from disk
 *   bit  33      WRITEBACK  a flush or eviction is writing the page; new write pins wait
 *   bit  34      LOADING    inserted in the page table, content not read yet; pins wait
 *   bit  35      DEAD       evicted, freed or dropped; pins retry the page-table lookup
 *   bit  36      UNSYNCED   written to the file since the last fdatasync of it that succeeded
 *   bit  37      EVICTING   being killed: no new pin; the killer checks the threads' read pins
 *                ({@link ThreadState}) and then kills it or clears the bit
 *   bits 40..47  write-backs of this frame, mod 256 (a flush clears UNSYNCED only if none came
 *                between its snapshot and the end of its fdatasync)
 * </pre>
 */
final class Frame {
    static final long PIN_ONE = 1L;
    static final long PIN_MASK = 0xFFFFL;
    static final long WRITER_ONE = 1L << 16;
    static final long WRITER_MASK = 0xFFFFL << 16;
    static final long DIRTY = 1L << 32;
    static final long WRITEBACK = 1L << 33;
    static final long LOADING = 1L << 34;
    static final long DEAD = 1L << 35;
    static final long UNSYNCED = 1L << 36;
    static final long EVICTING = 1L << 37;
    static final long WRITES_ONE = 1L << 40;
    static final long WRITES_MASK = 0xFFL << 40;

    /** The page-number bits of a key. */
    static final long PAGE_MASK = PageFileFormat.MAX_PAGES - 1;

    static final int PINNED = 0;
    static final int BUSY = 1;
    static final int GONE = 2;

    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(Frame.class, "state", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    final StandardPageFile file;
    /** File id above bit 40, page number below ({@link StandardPageFile#key}). */
    final long key;
    /** The slab holding the page's memory ({@link FrameMemory}); the page is {@code slab.bytes[offset, offset + size)}. */
    final FrameMemory.Slab slab;
    /** Where the page starts in {@code slab.bytes}. */
    final int offset;
    private volatile long state;
    /** Views for {@code PageHandle.buffer()}, made on first use (benign race: any one is right). */
    private ByteBuffer writableView;
    private ByteBuffer readOnlyView;

    /** Made by {@link FrameMemory#newFrame}, which owns the slot. */
    Frame(StandardPageFile file, long key, FrameMemory.Slab slab, int offset, long initialState) {
        this.file = file;
        this.key = key;
        this.slab = slab;
        this.offset = offset;
        this.state = initialState;
    }

    long page() {
        return key & PAGE_MASK;
    }

    long state() {
        return state;
    }

    boolean cas(long expect, long update) {
        return STATE.compareAndSet(this, expect, update);
    }

    int size() {
        return slab.frameSize;
    }

    /** The slab's memory, little-endian; this page is {@code [offset, offset + size())} of it (absolute indices only). */
    ByteBuffer bytes() {
        return slab.bytes;
    }

    /** Takes a pin unless the frame is loading / being written (for a write pin): PINNED, BUSY or GONE. */
    int tryPin(boolean write) {
        for (;;) {
            long s = state;
            if ((s & DEAD) != 0) {
                return GONE;
            }
            if ((s & (LOADING | EVICTING)) != 0 || (write && (s & WRITEBACK) != 0)) {
                return BUSY;
            }
            if ((s & PIN_MASK) == PIN_MASK || (write && (s & WRITER_MASK) == WRITER_MASK)) {
                throw new IllegalStateException("pin page " + page() + " of " + file.path() + ": " + PIN_MASK
                        + " pins are held, the most a page can have");
            }
            long n = write ? (s + PIN_ONE + WRITER_ONE) | DIRTY : s + PIN_ONE;
            if (STATE.compareAndSet(this, s, n)) {
                return PINNED;
            }
        }
    }

    /** Drops one pin; a write pin leaves the page dirty. */
    void unpin(boolean write) {
        for (;;) {
            long s = state;
            if ((s & PIN_MASK) == 0 || (write && (s & WRITER_MASK) == 0)) {
                throw new IllegalStateException("unpin page " + page() + " of " + file.path()
                        + ": the page holds no such pin (state " + describe(s) + ")");
            }
            long n = write ? (s - PIN_ONE - WRITER_ONE) | DIRTY : s - PIN_ONE;
            if (STATE.compareAndSet(this, s, n)) {
                return;
            }
        }
    }

    /** Starts a write-back if the page is dirty, resident and held by no writer. */
    boolean tryBeginWriteBack() {
        for (;;) {
            long s = state;
            if ((s & DIRTY) == 0 || (s & (DEAD | LOADING | WRITEBACK | WRITER_MASK | EVICTING)) != 0) {
                return false;
            }
            if (STATE.compareAndSet(this, s, (s & ~DIRTY) | WRITEBACK)) {
                return true;
            }
        }
    }

    /**
     * Holds off write-backs (WRITEBACK, DIRTY kept) of a dirty page that a writer may still pin, while a
     * flush writes an empty page over a free-list node the page left on disk
     * ({@code StandardBufferManager#overwriteStaleNodes}). False if it is clean, dead, loading,
     * being killed or already being written. A writer keeps its pin; new write pins wait, as for a write-back.
     */
    boolean tryHoldWriteBacks() {
        for (;;) {
            long s = state;
            if ((s & DIRTY) == 0 || (s & (DEAD | LOADING | WRITEBACK | EVICTING)) != 0) {
                return false;
            }
            if (STATE.compareAndSet(this, s, s | WRITEBACK)) {
                return true;
            }
        }
    }

    /** Ends {@link #tryHoldWriteBacks}: the page is still dirty and its write-back still to come. */
    void releaseWriteBacks() {
        STATE.getAndBitwiseAnd(this, ~WRITEBACK);
    }

    /** Ends a write-back; a failed one makes the page dirty again, a successful one UNSYNCED. */
    void endWriteBack(boolean written) {
        for (;;) {
            long s = state;
            long n = written ? ((s & ~(WRITEBACK | WRITES_MASK)) | UNSYNCED | ((s + WRITES_ONE) & WRITES_MASK))
                    : (s & ~WRITEBACK) | DIRTY;
            if (STATE.compareAndSet(this, s, n)) {
                return;
            }
        }
    }

    /**
     * First step of a kill: marks the frame EVICTING if no pin count, write-back, load or kill is
     * on it and it is clean (unless {@code mayBeDirty}). Returns the state it marked, or -1. The
     * caller then checks the threads' read pins and calls {@link #finishKill} or {@link #abortKill}.
     */
    long tryMarkEvicting(boolean mayBeDirty) {
        for (;;) {
            long s = state;
            if ((s & (PIN_MASK | WRITEBACK | LOADING | DEAD | EVICTING)) != 0 || (!mayBeDirty && (s & DIRTY) != 0)) {
                return -1;
            }
            if (STATE.compareAndSet(this, s, s | EVICTING)) {
                return s;
            }
        }
    }

    /** Kills a frame marked with {@link #tryMarkEvicting}; false (and unmarked) if its state changed meanwhile. */
    boolean finishKill(long marked) {
        if (STATE.compareAndSet(this, marked | EVICTING, DEAD)) {
            return true;
        }
        abortKill();
        return false;
    }

    /** Clears EVICTING: a read pin was found, or the state changed. */
    void abortKill() {
        for (;;) {
            long s = state;
            if (STATE.compareAndSet(this, s, s & ~EVICTING)) {
                return;
            }
        }
    }

    /**
     * After a successful fdatasync: the page is synced unless it was written again since
     * {@code snapshot} (its state when the sync began).
     */
    void synced(long snapshot) {
        for (;;) {
            long s = state;
            if ((s & UNSYNCED) == 0 || (s & WRITES_MASK) != (snapshot & WRITES_MASK)) {
                return;
            }
            if (STATE.compareAndSet(this, s, s & ~UNSYNCED)) {
                return;
            }
        }
    }

    /**
     * After a failed fdatasync: a page written since the last good one may not be on disk, so it
     * is dirty again and the next flush writes it again from memory. False if the frame is dead.
     */
    boolean syncFailed() {
        for (;;) {
            long s = state;
            if ((s & UNSYNCED) == 0 || (s & DEAD) != 0) {
                return false;
            }
            if (STATE.compareAndSet(this, s, s | DIRTY)) {
                return true;
            }
        }
    }

    /** Loading finished: the loader keeps the pin it was created with. */
    void loaded() {
        for (;;) {
            long s = state;
            if (STATE.compareAndSet(this, s, s & ~LOADING)) {
                return;
            }
        }
    }

    /** Loading failed: dead at once, so waiters retry. */
    void kill() {
        state = DEAD;
    }

    ByteBuffer view(boolean write) {
        if (write) {
            ByteBuffer v = writableView;
            if (v == null) {
                // little-endian, as the handle's accessors and the page format: h.buffer().getLong(0) == h.getLong(0)
                v = slab.bytes.slice(offset + PageFileFormat.PAGE_HEADER, size() - PageFileFormat.PAGE_HEADER)
                        .order(ByteOrder.LITTLE_ENDIAN);
                writableView = v;
            }
            return v;
        }
        ByteBuffer v = readOnlyView;
        if (v == null) {
            v = slab.bytes.slice(offset + PageFileFormat.PAGE_HEADER, size() - PageFileFormat.PAGE_HEADER).asReadOnlyBuffer()
                    .order(ByteOrder.LITTLE_ENDIAN);
            readOnlyView = v;
        }
        return v;
    }

    static String describe(long s) {
        return "pins=" + (s & PIN_MASK) + " writers=" + ((s & WRITER_MASK) >>> 16) + ((s & DIRTY) != 0 ? " dirty" : "")
                + ((s & WRITEBACK) != 0 ? " writeback" : "") + ((s & LOADING) != 0 ? " loading" : "")
                + ((s & DEAD) != 0 ? " dead" : "") + ((s & UNSYNCED) != 0 ? " unsynced" : "")
                + ((s & EVICTING) != 0 ? " evicting" : "");
    }
}
