package dev.spillway;

/**
 * What memory is used for, for accounting and introspection ({@code BufferManager#memoryUsage}).
 * DuckDB's tags, plus {@link #PAGE_CACHE} for frames of persistent page files and
 * {@link #SPILL_IO} for the buffers the spill path itself needs.
 */
public enum MemoryTag {
    BASE_TABLE,
    HASH_TABLE,
    PARQUET_READER,
    CSV_READER,
    ORDER_BY,
    ART_INDEX,
    COLUMN_DATA,
    METADATA,
    OVERFLOW_STRINGS,
    IN_MEMORY_TABLE,
    ALLOCATOR,
    EXTENSION,
    /** Frames holding pages of persistent page files. */
    PAGE_CACHE,
    /** Scratch buffers of the temporary file manager (compression and O_DIRECT staging). */
    SPILL_IO
}
