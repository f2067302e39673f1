package dev.spillway;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.io.BackendKind;
import dev.spillway.io.IoBackend;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * A buffer manager: pages of persistent files cached in memory under one memory limit, pinned
 * while in use, written back when dirty, evicted under pressure; and transient buffers (hash
 * tables, sort runs) under the same limit, spilled to zstd-compressed temporary files when
 * evicted and read back on the next pin. An embedding system may supply its own implementation;
 * {@link #builder()} builds the standard one.
 *
 * <pre>{@code
 * try (BufferManager bm = BufferManager.builder().memoryLimit(256L << 20).build();
 *      PageFile f = bm.createPageFile(path, 8192)) {
 *     long p = f.allocatePage();
 *     try (PageHandle page = f.pin(p, AccessIntent.WRITE)) {
 *         page.putLong(0, 42);
 *     }
 * }
 * try (BufferHandle h = bm.allocateBuffer(MemoryTag.HASH_TABLE, 256 * 1024)) {
 *     h.buffer().putLong(0, 7);   // pinned: in memory until closed
 * }                               // unpinned: may now be spilled, and is read back by h.transientBuffer().pin()
 * }</pre>
 */
public interface BufferManager extends AutoCloseable {
    /** Creates a new page file (fails if the path exists). */
    PageFile createPageFile(Path path, int pageSize);

    /** Opens an existing page file, whatever its page size. */
    PageFile openPageFile(Path path);

    /** Opens an existing page file that must have the given page size. */
    PageFile openPageFile(Path path, int expectedPageSize);

    /** Pins a page of a file of this manager; the same as {@link PageFile#pin}. */
    PageHandle pin(PageFile file, long page, AccessIntent intent);

    /** Writes back the dirty pages of every open file and syncs them. */
    void flushAll();

    long memoryLimit();

    /** Changes the memory limit, evicting down to a lower one; fails, keeping the old, if pinned data does not fit. */
    void setMemoryLimit(long bytes);

    long memoryUsed();

    /** Bytes in use per tag (tags with none are left out). */
    Map<MemoryTag, Long> memoryUsage();

    // ---- transient buffers ----

    /** A transient buffer of {@code size} bytes, pinned, spilled to a temporary file when evicted. */
    default BufferHandle allocateBuffer(MemoryTag tag, int size) {
        return allocateBuffer(tag, size, DestroyPolicy.SPILL_WHEN_EVICTED);
    }

    /**
     * A transient buffer of {@code size} bytes for {@code tag}, reserved against the memory limit
     * (evicting as needed) and returned pinned. Closing the handle unpins it;
     * {@link BufferHandle#transientBuffer()} pins it again or frees it.
     */
    BufferHandle allocateBuffer(MemoryTag tag, int size, DestroyPolicy policy);

    /** Memory and temporary-file bytes per tag, every tag (like DuckDB's {@code duckdb_memory()}). */
    List<TagUsage> tagUsage();

    /** The temporary files in use (like DuckDB's {@code duckdb_temporary_files()}). */
    List<TempFileInfo> temporaryFiles();

    /** Changes the temporary-directory size limit; fails if current usage is above it. */
    void setTemporaryDirectoryLimit(long bytes);

    /** What this manager has done so far: page hits and misses, evictions, write-backs, spills, temporary files. */
    BufferManagerStats stats();

    /**
     * Flushes and closes every file, then frees all memory. Fails, leaving the manager open, while
     * a page is pinned; a transient buffer still pinned keeps its memory until its handles close.
     */
    @Override
    void close();

    static Builder builder() {
        return new Builder();
    }

    /** Everything a builder collects; engines read it, new options add a component. */
    record Settings(long memoryLimit, BackendKind backendKind, IoBackend backend, String policyName,
            IntFunction<EvictionPolicy> policyFactory, int maxOpenFiles, List<Path> temporaryDirectories,
            long temporaryDirectoryLimit, boolean spillAdaptive, int spillLevel, long emptyTemporaryFileRetention) {
    }

    /** Options of the standard buffer manager; each has a default, so {@code build()} works at once. */
    final class Builder {
        /** 1 GiB: enough for a test or a small embedded store; real users set it. */
        public static final long DEFAULT_MEMORY_LIMIT = 1L << 30;
        /** Linux's default soft RLIMIT_NOFILE is 1024; leave most of it to the embedding process. */
        public static final int DEFAULT_MAX_OPEN_FILES = 256;

        private long memoryLimit = DEFAULT_MEMORY_LIMIT;
        private BackendKind backendKind = BackendKind.AUTO;
        private IoBackend backend;
        private String policyName;
        private IntFunction<EvictionPolicy> policyFactory;
        /** A temporary-directory limit meaning "none". */
        public static final long UNLIMITED = Long.MAX_VALUE;
        /** The temporary-directory limit's default: 90% of the free disk space when first used. */
        public static final long LIMIT_FROM_FREE_SPACE = -1;

        private int maxOpenFiles = DEFAULT_MAX_OPEN_FILES;
        private final List<Path> temporaryDirectories = new ArrayList<>();
        private long temporaryDirectoryLimit = LIMIT_FROM_FREE_SPACE;
        private boolean spillAdaptive = true;
        private int spillLevel = 1;
        private long emptyTemporaryFileRetention = dev.spillway.spill.TemporaryFileManager.DEFAULT_EMPTY_FILE_RETENTION;

        Builder() {
        }

        /**
         * A directory for temporary files (call again to stripe spilled blocks across several).
         * Default: {@code <java.io.tmpdir>/spillway-<user.name>}, shared by the managers of that user:
         * each keeps an owner record there and removes only its own files, and a manager starting
         * up removes the files of owners that died.
         */
        public Builder temporaryDirectory(Path dir) {
            temporaryDirectories.add(Objects.requireNonNull(dir, "temporary directory"));
            return this;
        }

        /**
         * Limit on temporary-file bytes; {@link #UNLIMITED} for none, 0 for no spilling at all (an
         * unpinned transient buffer then stays in memory, and a reservation that finds only such
         * buffers to evict fails), as {@link BufferManager#setTemporaryDirectoryLimit} accepts.
         * Default: 90% of free space when first used.
         */
        public Builder temporaryDirectoryLimit(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("temporary directory limit must be 0 or more, was " + bytes);
            }
            this.temporaryDirectoryLimit = bytes;
            return this;
        }

        /**
         * Bytes of emptied temporary files kept on disk for the next spills instead of deleted
         * (default 64 MiB; 0 deletes a file as soon as it is empty): see TemporaryFileManager's
         * "Emptied files". A file is kept only while slots in use plus kept files stay under the
         * temporary directory limit.
         */
        public Builder emptyTemporaryFileRetention(long bytes) {
            if (bytes < 0) {
                throw new IllegalArgumentException("empty temporary file retention must not be negative, was " + bytes);
            }
            this.emptyTemporaryFileRetention = bytes;
            return this;
        }

        /** Spill compression chosen by measured throughput among no compression and fast zstd levels (the default). */
        public Builder spillCompressionAdaptive() {
            this.spillAdaptive = true;
            return this;
        }

        /**
         * Spill compression at one zstd level (negative levels are the fastest; the range is checked
         * by {@link #build()} against the backend's zstd). {@link dev.spillway.io.SpillFormat#LEVEL_NONE}
         * (-1000) is refused: it is a valid zstd level but marks raw blocks, so it would silently mean
         * {@link #spillCompressionNone()}.
         */
        public Builder spillCompressionLevel(int level) {
            if (level == dev.spillway.io.SpillFormat.LEVEL_NONE) {
                throw new IllegalArgumentException("spill compression level " + level + " is SpillFormat.LEVEL_NONE, which"
                        + " stores blocks raw; call spillCompressionNone() for that, or choose another level");
            }
            this.spillAdaptive = false;
            this.spillLevel = level;
            return this;
        }

        /** Spill blocks raw: fastest on a fast disk, uses the most temporary space. */
        public Builder spillCompressionNone() {
            this.spillAdaptive = false;
            this.spillLevel = dev.spillway.io.SpillFormat.LEVEL_NONE;
            return this;
        }

        public Builder memoryLimit(long bytes) {
            if (bytes <= 0) {
                throw new IllegalArgumentException("memory limit must be positive, was " + bytes);
            }
            this.memoryLimit = bytes;
            return this;
        }

        /** Which I/O backend to open ({@link BackendKind#AUTO} by default). */
        public Builder backend(BackendKind kind) {
            this.backendKind = Objects.requireNonNull(kind, "backend kind");
            this.backend = null;
            return this;
        }

        /** An I/O backend instance (an embedding system's own, or a test's wrapper). */
        public Builder backend(IoBackend backend) {
            this.backend = Objects.requireNonNull(backend, "backend");
            this.backendKind = backend.kind();
            return this;
        }

        /**
         * An eviction policy by name, one of {@link dev.spillway.eviction.EvictionPolicies#names()}
         * ({@link dev.spillway.eviction.EvictionPolicies#DEFAULT} unless set).
         */
        public Builder evictionPolicy(String name) {
            this.policyName = Objects.requireNonNull(name, "policy name");
            this.policyFactory = null;
            return this;
        }

        /** An eviction policy from a factory, given a capacity hint in pages. */
        public Builder evictionPolicy(IntFunction<EvictionPolicy> factory) {
            this.policyFactory = Objects.requireNonNull(factory, "policy factory");
            this.policyName = null;
            return this;
        }

        public Builder maxOpenFiles(int n) {
            if (n < 1) {
                throw new IllegalArgumentException("max open files must be at least 1, was " + n);
            }
            this.maxOpenFiles = n;
            return this;
        }

        public Settings settings() {
            List<Path> dirs = temporaryDirectories.isEmpty()
                    ? List.of(Path.of(System.getProperty("java.io.tmpdir"), "spillway-" + System.getProperty("user.name", "user")))
                    : List.copyOf(temporaryDirectories);
            return new Settings(memoryLimit, backendKind, backend, policyName, policyFactory, maxOpenFiles, dirs,
                    temporaryDirectoryLimit, spillAdaptive, spillLevel, emptyTemporaryFileRetention);
        }

        public BufferManager build() {
            return new dev.spillway.pool.StandardBufferManager(settings());
        }
    }
}
