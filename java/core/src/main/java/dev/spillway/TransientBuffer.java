package dev.spillway;

/**
 * A buffer of any size allocated against the memory limit (a hash table, a sort run, a column
 * chunk). Pinned, it is in memory; unpinned, it may be evicted under memory pressure and, by its
 * {@link DestroyPolicy}, spilled to a temporary file or dropped. Thread-safe.
 */
public interface TransientBuffer {
    /** What the buffer's lifecycle looks like from outside. */
    enum State {
        /** In memory with at least one open handle. */
        PINNED,
        /** In memory, no handle: may be evicted. */
        UNPINNED,
        /** Not in memory; its contents are in a temporary file. */
        SPILLED,
        /** Not in memory; its contents were dropped by its destroy policy. */
        DROPPED,
        /** Freed: nothing more can be done with it. */
        FREED
    }

    /** Size in bytes as allocated. */
    int size();

    MemoryTag tag();

    DestroyPolicy destroyPolicy();

    State state();

    /** Pins it (reading it back from its temporary file if it was spilled) and returns the new handle. */
    BufferHandle pin();

    /**
     * Releases its memory and its temporary-file slot. Fails with {@link IllegalStateException} while
     * pinned; freeing twice does nothing.
     */
    void free();
}
