/**
 * Transient buffers and spilling to temporary files (not exported; the public types are
 * {@link dev.spillway.TransientBuffer}, {@link dev.spillway.BufferHandle},
 * {@link dev.spillway.DestroyPolicy}, {@link dev.spillway.TempFileInfo},
 * {@link dev.spillway.TagUsage} and {@link dev.spillway.TemporaryDirectoryLimitException}).
 *
 * <ul>
 * <li>{@link dev.spillway.spill.TransientBufferPool}: buffers of any size against the shared memory
 *     limit; pin, unpin, evict (least recently unpinned first), spill or drop, read back, free.
 * <li>{@link dev.spillway.spill.TemporaryFileManager}: the central engine (DuckDB's design; see its
 *     class comment): size classes, file-index growth, slots, owners, size limit, striping.
 * <li>{@link dev.spillway.spill.SlotAllocator}: the slot bookkeeping alone, without I/O.
 * <li>{@link dev.spillway.spill.CompressionLevelChooser}: the adaptive zstd level.
 * </ul>
 *
 * <p>Rules a user sees: a temporary directory is created 0700 on first use and removed on close
 * only if it was created by us; it must not itself be a symbolic link (refused, since a link could
 * send spilled data elsewhere); files are 0600, created exclusively, never through a symbolic
 * link; files of owners that died are removed at start.
 */
package dev.spillway.spill;
