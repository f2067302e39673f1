package dev.spillway.pool;

/**
 * A thread's spare {@link PinnedHandle}s, so a pin allocates nothing once the thread is warm.
 * First in, first out, and a handle is taken only while more than {@link #REUSE_DISTANCE} wait:
 * a closed handle therefore comes back only after at least that many later pins of the thread,
 * so a handle kept and used after close almost always finds itself closed (ClosedException)
 * rather than pointing at someone else's page. A handle closed on another thread is dropped.
 */
final class HandleCache {
    /** Spare handles kept per thread (power of two). */
    private static final int CAPACITY = 64;
    /** Pins between a handle's close and its reuse: long enough to catch a stale handle in practice. */
    static final int REUSE_DISTANCE = 32;

    private final Thread owner = Thread.currentThread();
    private final PinnedHandle[] ring = new PinnedHandle[CAPACITY];
    private int head;
    private int count;

    PinnedHandle take() {
        if (count <= REUSE_DISTANCE) {
            return new PinnedHandle(this);
        }
        PinnedHandle h = ring[head];
        ring[head] = null;
        head = (head + 1) & (CAPACITY - 1);
        count--;
        return h;
    }

    void giveBack(PinnedHandle h) {
        if (Thread.currentThread() != owner || count == CAPACITY) {
            return;
        }
        ring[(head + count) & (CAPACITY - 1)] = h;
        count++;
    }
}
