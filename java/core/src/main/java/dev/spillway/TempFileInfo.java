package dev.spillway;

import java.nio.file.Path;

/**
 * One temporary file of a spill manager, like a row of DuckDB's {@code duckdb_temporary_files()}.
 *
 * @param path         the file
 * @param slotSize     bytes per slot of its size class; 0 for a file holding one buffer of its own size
 * @param slotsInUse   blocks stored in it now
 * @param slotCapacity slots the file may hold (file-index growth); 1 for a file of its own
 * @param sizeBytes    the file's length (holes punched in it are not subtracted)
 */
public record TempFileInfo(Path path, int slotSize, int slotsInUse, int slotCapacity, long sizeBytes) {
}
