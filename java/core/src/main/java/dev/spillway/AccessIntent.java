package dev.spillway;

/**
 * Why a page is pinned. {@link #WRITE} implies dirty: the page is written back (at the latest on
 * flush or close) after a write pin was taken, whether or not the holder changed a byte; so there
 * is no separate {@code markDirty()} to forget. Pins are not latches: several pins of either intent
 * may be held at once, and callers that write concurrently to one page coordinate among themselves.
 */
public enum AccessIntent {
    READ, WRITE
}
