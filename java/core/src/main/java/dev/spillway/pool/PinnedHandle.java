package dev.spillway.pool;

import dev.spillway.AccessIntent;
import dev.spillway.ClosedException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;

/** 64 bytes before a handle's fields: handles of different threads end up side by side after a GC. */
@SuppressWarnings("unused")
abstract class PinnedHandlePadBefore {
    long p00, p01, p02, p03, p04, p05, p06, p07;
}

/** The handle's mutable fields, between the paddings, so no two threads' handles share a cache line. */
abstract class PinnedHandleFields extends PinnedHandlePadBefore {
    /** The pinned frame; kept after close so error messages can name the page. */
    Frame frame;
    boolean write;
    boolean pinned;
    /** The read pin's slot in the home thread's hazards ({@link ThreadState}), or -1 for a pin counted in the frame. */
    int hazard;
}

/**
 * The handle of one pin. Reused by its thread's {@link ThreadState} so pinning allocates nothing;
 * used by one thread at a time, as any AutoCloseable resource is, though not necessarily the thread
 * that pinned. Padded to keep its fields (written on every pin and unpin) off cache lines that
 * another thread's handle uses.
 */
@SuppressWarnings("unused")
final class PinnedHandle extends PinnedHandleFields implements PageHandle {
    private static final VarHandle PINNED;

    static {
        try {
            PINNED = MethodHandles.lookup().findVarHandle(PinnedHandleFields.class, "pinned", boolean.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    private final ThreadState home;
    long p10, p11, p12, p13, p14, p15, p16, p17;

    PinnedHandle(ThreadState home) {
        this.home = home;
    }

    /** A pin counted in the frame's state word. */
    void open(Frame f, boolean writeIntent) {
        this.frame = f;
        this.write = writeIntent;
        this.hazard = -1;
        this.pinned = true;
    }

    /** A read pin held in slot {@code slot} of this handle's home thread. */
    void openHazard(Frame f, int slot) {
        this.frame = f;
        this.write = false;
        this.hazard = slot;
        this.pinned = true;
    }

    /**
     * Whether the home thread may reuse this handle: closed, and (if closed on another thread) done
     * with its fields, since {@link #close} clears {@code pinned} last with a release store.
     */
    boolean reusable() {
        return !(boolean) PINNED.getAcquire(this);
    }

    @Override
    public void close() {
        Frame f = frame;
        if (!pinned) {
            throw new IllegalStateException("unpin page " + f.page() + " of " + f.file.path()
                    + ": the handle was already closed (double unpin)");
        }
        if (hazard >= 0) {
            home.releaseHazard(hazard);
        } else {
            f.unpin(write);
        }
        PINNED.setRelease(this, false); // last: from here on the home thread may reuse the handle
    }

    @Override
    public boolean isPinned() {
        return (boolean) PINNED.getOpaque(this);
    }

    private Frame frame(String op) {
        // Opaque, not plain: a plain read may be hoisted out of a caller's loop, so a thread using a
        // handle that another thread closed would go on for good, into memory that now holds
        // another page. (Using a handle while another thread closes it is still a race; this
        // bounds it to the accessor in flight.)
        if (!(boolean) PINNED.getOpaque(this)) {
            throw new ClosedException(op + " on page " + (frame == null ? "?" : frame.page() + " of " + frame.file.path())
                    + ": the handle was closed (the page is unpinned)");
        }
        return frame;
    }

    private Frame writable(String op) {
        Frame f = frame(op);
        if (!write) {
            throw new IllegalStateException(op + " on page " + f.page() + " of " + f.file.path()
                    + ": the page is pinned for READ; pin it with AccessIntent.WRITE to change it");
        }
        return f;
    }

    /** The absolute index in the frame's slab of {@code offset} in the page's usable bytes, checked. */
    private static int at(Frame f, String op, int offset, int length) {
        int usable = f.size() - PageFileFormat.PAGE_HEADER;
        if (offset < 0 || length < 0 || offset > usable - length) {
            throw new IndexOutOfBoundsException(op + " at offset " + offset + " (" + length + " bytes) on page " + f.page()
                    + " of " + f.file.path() + ": the page has " + usable + " usable bytes");
        }
        return f.offset + PageFileFormat.PAGE_HEADER + offset;
    }

    /** Checks the caller's array range, naming the page, as {@link #at} does for the page's. */
    private static void arrayRange(Frame f, String op, byte[] array, int offset, int length) {
        if (offset < 0 || length < 0 || offset > array.length - length) {
            throw new IndexOutOfBoundsException(op + " on page " + f.page() + " of " + f.file.path() + ": array range "
                    + offset + " (" + length + " bytes) is outside the array of " + array.length + " bytes");
        }
    }

    @Override
    public PageFile file() {
        return frame("file").file;
    }

    @Override
    public long pageNumber() {
        return frame("pageNumber").page();
    }

    @Override
    public AccessIntent intent() {
        frame("intent");
        return write ? AccessIntent.WRITE : AccessIntent.READ;
    }

    @Override
    public int size() {
        return frame("size").size() - PageFileFormat.PAGE_HEADER;
    }

    @Override
    public ByteBuffer buffer() {
        return frame("buffer").view(write);
    }

    @Override
    public byte getByte(int offset) {
        Frame f = frame("getByte");
        return f.bytes().get(at(f, "getByte", offset, 1));
    }

    @Override
    public int getInt(int offset) {
        Frame f = frame("getInt");
        return f.bytes().getInt(at(f, "getInt", offset, 4));
    }

    @Override
    public long getLong(int offset) {
        Frame f = frame("getLong");
        return f.bytes().getLong(at(f, "getLong", offset, 8));
    }

    @Override
    public void get(int offset, byte[] dst, int dstOffset, int length) {
        Frame f = frame("get");
        arrayRange(f, "get", dst, dstOffset, length);
        f.bytes().get(at(f, "get", offset, length), dst, dstOffset, length);
    }

    @Override
    public void putByte(int offset, byte value) {
        Frame f = writable("putByte");
        f.bytes().put(at(f, "putByte", offset, 1), value);
    }

    @Override
    public void putInt(int offset, int value) {
        Frame f = writable("putInt");
        f.bytes().putInt(at(f, "putInt", offset, 4), value);
    }

    @Override
    public void putLong(int offset, long value) {
        Frame f = writable("putLong");
        f.bytes().putLong(at(f, "putLong", offset, 8), value);
    }

    @Override
    public void put(int offset, byte[] src, int srcOffset, int length) {
        Frame f = writable("put");
        arrayRange(f, "put", src, srcOffset, length);
        f.bytes().put(at(f, "put", offset, length), src, srcOffset, length);
    }

    @Override
    public String toString() {
        return frame == null ? "page handle (unused)"
                : "page " + frame.page() + " of " + frame.file.path() + (pinned ? (write ? " (WRITE)" : " (READ)") : " (closed)");
    }
}
