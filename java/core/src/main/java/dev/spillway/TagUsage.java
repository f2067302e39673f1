package dev.spillway;

/**
 * Memory and temporary storage used by one tag, like a row of DuckDB's {@code duckdb_memory()}.
 *
 * @param memoryBytes           bytes accounted against the memory limit for this tag now
 * @param temporaryStorageBytes bytes of temporary-file slots holding this tag's spilled buffers
 */
public record TagUsage(MemoryTag tag, long memoryBytes, long temporaryStorageBytes) {
}
