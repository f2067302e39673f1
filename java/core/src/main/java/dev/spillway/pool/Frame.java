package dev.spillway.pool;

import dev.spillway.io.AlignedBuffer;
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
    final AlignedBuffer memory;
    /** The whole page, little-endian, absolute indices only (shared by every pin of this frame). */
    final ByteBuffer bytes;
    private volatile long state;
    /** Views for {@code PageHandle.buffer()}, made on first use (benign race: any one is right). */
    private ByteBuffer writableView;
    private ByteBuffer readOnlyView;

    Frame(StandardPageFile file, long key, AlignedBuffer memory, long initialState) {
        this.file = file;
        this.key = key;
        this.memory = memory;
        this.bytes = memory.buffer().order(ByteOrder.LITTLE_ENDIAN);
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
        return memory.size();
    }

    /** Takes a pin unless the frame is loading / being written (for a write pin): PINNED, BUSY or GONE. */
    int tryPin(boolean write) {
        for (;;) {
            long s = state;
            if ((s & DEAD) != 0) {
                return GONE;
            }
            if ((s & LOADING) != 0 || (write && (s & WRITEBACK) != 0)) {
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
            if ((s & DIRTY) == 0 || (s & (DEAD | LOADING | WRITEBACK | WRITER_MASK)) != 0) {
                return false;
            }
            if (STATE.compareAndSet(this, s, (s & ~DIRTY) | WRITEBACK)) {
                return true;
            }
        }
    }

    /** Ends a write-back; a failed one makes the page dirty again. */
    void endWriteBack(boolean written) {
        for (;;) {
            long s = state;
            long n = written ? s & ~WRITEBACK : (s & ~WRITEBACK) | DIRTY;
            if (STATE.compareAndSet(this, s, n)) {
                return;
            }
        }
    }

    /** Marks the frame dead if nothing holds or uses it and it is clean; the caller then removes and frees it. */
    boolean tryKill(boolean mayBeDirty) {
        for (;;) {
            long s = state;
            if ((s & (PIN_MASK | WRITEBACK | LOADING | DEAD)) != 0 || (!mayBeDirty && (s & DIRTY) != 0)) {
                return false;
            }
            if (STATE.compareAndSet(this, s, DEAD)) {
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
                v = bytes.slice(PageFileFormat.PAGE_HEADER, size() - PageFileFormat.PAGE_HEADER);
                writableView = v;
            }
            return v;
        }
        ByteBuffer v = readOnlyView;
        if (v == null) {
            v = bytes.slice(PageFileFormat.PAGE_HEADER, size() - PageFileFormat.PAGE_HEADER).asReadOnlyBuffer();
            readOnlyView = v;
        }
        return v;
    }

    static String describe(long s) {
        return "pins=" + (s & PIN_MASK) + " writers=" + ((s & WRITER_MASK) >>> 16) + ((s & DIRTY) != 0 ? " dirty" : "")
                + ((s & WRITEBACK) != 0 ? " writeback" : "") + ((s & LOADING) != 0 ? " loading" : "")
                + ((s & DEAD) != 0 ? " dead" : "");
    }
}
