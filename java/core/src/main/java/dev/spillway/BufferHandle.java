package dev.spillway;

import java.nio.ByteBuffer;

/**
 * A pin on a {@link TransientBuffer}: while it is open the buffer stays in memory at the same
 * address, even if the manager is closed meanwhile (the memory is then freed when the last handle
 * closes). Closing it unpins (once; closing again does nothing). {@link #buffer()} after close is
 * a {@link ClosedException}; a ByteBuffer obtained earlier must not be used after close either,
 * since the memory may then be evicted and freed.
 */
public interface BufferHandle extends AutoCloseable {
    /** The buffer's memory: a direct ByteBuffer of exactly {@link TransientBuffer#size()} bytes, position 0. */
    ByteBuffer buffer();

    /** The buffer this handle pins; pin it again later with {@link TransientBuffer#pin()}. */
    TransientBuffer transientBuffer();

    /**
     * True when the contents were dropped since the last pin (by {@link DestroyPolicy#DROP_WHEN_EVICTED}
     * or {@link DestroyPolicy#DROP_ON_UNPIN}); the memory is then zero-filled and the owner must refill it.
     */
    boolean contentsLost();

    @Override
    void close();
}
