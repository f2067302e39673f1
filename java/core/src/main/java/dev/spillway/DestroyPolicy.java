package dev.spillway;

/** What happens to a transient buffer's contents when it leaves memory (DuckDB's destroy policies). */
public enum DestroyPolicy {
    /** The default: when evicted, the contents are written to a temporary file and read back on the next pin. */
    SPILL_WHEN_EVICTED,
    /** When evicted, the contents are dropped (the owner can recompute them); the next pin sees zeros. */
    DROP_WHEN_EVICTED,
    /** The contents are dropped as soon as the last pin is released; the next pin sees zeros. */
    DROP_ON_UNPIN
}
