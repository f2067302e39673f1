package dev.spillway;

import dev.spillway.eviction.EvictionPolicy;
import dev.spillway.io.BackendKind;
import dev.spillway.io.IoBackend;
import java.nio.file.Path;
import java.util.Map;
import java.util.Objects;
import java.util.function.IntFunction;

/**
 * A buffer manager: pages of persistent files cached in memory under one memory limit, pinned
 * while in use, written back when dirty, evicted under pressure. An embedding system may supply
 * its own implementation; {@link #builder()} builds the standard one.
 *
 * <pre>{@code
 * try (BufferManager bm = BufferManager.builder().memoryLimit(256L << 20).build();
 *      PageFile f = bm.createPageFile(path, 8192)) {
 *     long p = f.allocatePage();
 *     try (PageHandle page = f.pin(p, AccessIntent.WRITE)) {
 *         page.putLong(0, 42);
 *     }
 * }
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

    /** Flushes and closes every file, then frees all memory. */
    @Override
    void close();

    static Builder builder() {
        return new Builder();
    }

    /** Everything a builder collects; engines read it, new options add a component. */
    record Settings(long memoryLimit, BackendKind backendKind, IoBackend backend, String policyName,
            IntFunction<EvictionPolicy> policyFactory, int maxOpenFiles) {
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
        private int maxOpenFiles = DEFAULT_MAX_OPEN_FILES;

        Builder() {
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
            return new Settings(memoryLimit, backendKind, backend, policyName, policyFactory, maxOpenFiles);
        }

        public BufferManager build() {
            return new dev.spillway.pool.StandardBufferManager(settings());
        }
    }
}
