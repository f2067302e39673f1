package dev.spillway.io;

import dev.spillway.ClosedException;
import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Off-heap memory aligned to {@link IoBackend#ALIGNMENT}, from {@link IoBackend#allocate} or
 * {@link IoBackend#map}. Native backends take it from the C core ({@code spw_aligned_alloc}, or
 * {@code spw_map} for a mapping) and free it on {@link #close()}; the pure-Java backend slices a
 * direct ByteBuffer.
 *
 * <p>The {@link #buffer()} view must not be used after close. Java 17 offers no way to revoke a
 * ByteBuffer over freed memory, so this is the one rule callers must keep; Spillway's own
 * handles check it for them (a page handle refuses access after unpin). A buffer handed to a
 * {@link Codec}'s fused spill calls as scratch is held by the call: a close from another thread
 * meanwhile frees the memory when the call returns, never under C.
 */
public final class AlignedBuffer implements AutoCloseable {
    private static final AtomicLong LIVE_BYTES = new AtomicLong();
    private static final AtomicLong LIVE_COUNT = new AtomicLong();

    /**
     * How an implementation gives its memory back. A backend shares one instance among all the
     * buffers it made the same way, so the instance also tells where a buffer came from
     * ({@link #freedBy}) without a field per buffer.
     */
    @FunctionalInterface
    interface Deallocator {
        void free(long address, int size);
    }

    private static final java.lang.ref.Cleaner CLEANER = java.lang.ref.Cleaner.create();
    private static final AtomicLong DEFERRED = new AtomicLong();

    private final ByteBuffer buffer;
    /** What every view of {@link #buffer} keeps reachable (the buffer itself, or the segment it was made from). */
    private final Object anchor;
    private final long address;
    private final int size;
    private final Deallocator deallocator;
    /**
     * Calls of the C core using the memory now ({@link #acquire}), plus the {@link #CLOSED} bit once
     * closed (a field and a VarHandle: an AtomicInteger would add 16 bytes per buffer).
     */
    private volatile int state;
    private static final int CLOSED = 1 << 30;
    /** With CLOSED, by {@link #closeWhenUnreachable}: a Cleaner frees the memory, never {@link #release}. */
    private static final int UNREACHABLE = 1 << 29;
    private static final VarHandle STATE;

    static {
        try {
            STATE = MethodHandles.lookup().findVarHandle(AlignedBuffer.class, "state", int.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    AlignedBuffer(ByteBuffer buffer, long address, int size, Deallocator deallocator) {
        this(buffer, buffer, address, size, deallocator);
    }

    AlignedBuffer(ByteBuffer buffer, Object anchor, long address, int size, Deallocator deallocator) {
        if (buffer.alignmentOffset(0, IoBackend.ALIGNMENT) != 0 || buffer.capacity() != size) {
            throw new IllegalStateException("backend returned a misaligned or mis-sized buffer");
        }
        this.buffer = buffer;
        this.anchor = anchor;
        this.address = address;
        this.size = size;
        this.deallocator = deallocator;
        LIVE_BYTES.addAndGet(size);
        LIVE_COUNT.incrementAndGet();
    }

    /** The memory as a direct ByteBuffer (the same instance each call; use absolute get/put). */
    public ByteBuffer buffer() {
        if ((state & CLOSED) != 0) {
            throw new ClosedException("aligned buffer of " + size + " bytes is closed");
        }
        return buffer;
    }

    /** Native address, or 0 where the backend has none to give (pure Java). */
    public long address() {
        return address;
    }

    public int size() {
        return size;
    }

    public boolean isOpen() {
        return (state & CLOSED) == 0;
    }

    /**
     * Holds the memory for a call that hands it to C (a codec's scratch): a close from another
     * thread meanwhile takes effect when the call {@link #release}s it, as {@link IoFile} and
     * {@link Codec} do for their descriptor and contexts, so C never writes into freed or unmapped
     * memory.
     *
     * @throws ClosedException if the buffer is closed
     */
    void acquire(String op) {
        for (;;) {
            int s = state;
            if ((s & CLOSED) != 0) {
                throw new ClosedException(op + ": aligned buffer of " + size + " bytes is closed");
            }
            if (STATE.compareAndSet(this, s, s + 1)) {
                return;
            }
        }
    }

    /** Ends what {@link #acquire} began; the last one out after a close frees the memory. */
    void release() {
        if ((int) STATE.getAndAdd(this, -1) - 1 == CLOSED) {
            deallocator.free(address, size); // closed during the call: the closer left the memory to us
        }
    }

    @Override
    public void close() {
        int old = (int) STATE.getAndBitwiseOr(this, CLOSED);
        if ((old & CLOSED) == 0) {
            LIVE_BYTES.addAndGet(-size);
            LIVE_COUNT.decrementAndGet();
            if (old == 0) {
                deallocator.free(address, size); // idle; otherwise the last call in flight frees it
            }
        }
    }

    /**
     * Closes this buffer like {@link #close()}, but gives its memory back only once no view of it
     * is reachable any more (a {@link java.lang.ref.Cleaner} frees it then): a ByteBuffer kept
     * past the rules reads what the memory holds (zeros, once the caller has discarded it) instead
     * of crashing the JVM on unmapped memory. For memory that outlives its owner by design, such as
     * the buffer manager's slabs of frames when the manager closes; counted by {@link #deferredCount}
     * until freed.
     */
    public void closeWhenUnreachable() {
        // in flight or not: a call using the memory keeps a view of it, and so its anchor, reachable
        if (((int) STATE.getAndBitwiseOr(this, CLOSED | UNREACHABLE) & CLOSED) == 0) {
            LIVE_BYTES.addAndGet(-size);
            LIVE_COUNT.decrementAndGet();
            DEFERRED.incrementAndGet();
            Deallocator d = deallocator; // the action must not capture this, nor the buffer
            long a = address;
            int n = size;
            CLEANER.register(anchor, () -> {
                try {
                    d.free(a, n);
                } finally {
                    DEFERRED.decrementAndGet();
                }
            });
        }
    }

    /** Buffers closed by {@link #closeWhenUnreachable} whose memory is not yet freed. */
    public static long deferredCount() {
        return DEFERRED.get();
    }

    /** Whether this buffer's memory goes back through {@code d}: which backend made it, and how. */
    boolean freedBy(Deallocator d) {
        return deallocator == d;
    }

    /** Bytes held by open aligned buffers of every backend in this JVM (leak checks use it). */
    public static long liveBytes() {
        return LIVE_BYTES.get();
    }

    /** Number of open aligned buffers in this JVM. */
    public static long liveCount() {
        return LIVE_COUNT.get();
    }
}
