package dev.spillway.pool;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Codec;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.NativeIoException;
import dev.spillway.io.OpenFlag;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicLong;

/** Wraps a backend: counts reads and writes of whole pages, and fails writes on demand (EIO). */
final class FaultyBackend implements IoBackend {
    final IoBackend delegate;
    final AtomicBoolean failWrites = new AtomicBoolean();
    final AtomicLong reads = new AtomicLong();
    final AtomicLong writes = new AtomicLong();
    final AtomicLong failedWrites = new AtomicLong();

    FaultyBackend(IoBackend delegate) {
        this.delegate = delegate;
    }

    @Override
    public BackendKind kind() {
        return delegate.kind();
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        return new FaultyFile(delegate.open(path, flags));
    }

    @Override
    public AlignedBuffer allocate(int size) {
        return delegate.allocate(size);
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        return delegate.crc32c(data, offset, length);
    }

    @Override
    public Codec newCodec() {
        return delegate.newCodec();
    }

    @Override
    public int minLevel() {
        return delegate.minLevel();
    }

    @Override
    public int maxLevel() {
        return delegate.maxLevel();
    }

    @Override
    public String toString() {
        return "faulty " + delegate.kind();
    }

    private final class FaultyFile implements IoFile {
        private final IoFile f;

        FaultyFile(IoFile f) {
            this.f = f;
        }

        @Override
        public Path path() {
            return f.path();
        }

        @Override
        public boolean isDirect() {
            return f.isDirect();
        }

        @Override
        public boolean isReadOnly() {
            return f.isReadOnly();
        }

        @Override
        public boolean isOpen() {
            return f.isOpen();
        }

        @Override
        public int read(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            if (fileOffset != 0) {
                reads.incrementAndGet();
            }
            return f.read(dst, dstOffset, length, fileOffset);
        }

        @Override
        public void write(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            if (failWrites.get()) {
                failedWrites.incrementAndGet();
                throw new NativeIoException("pwrite", f.path(), fileOffset, length, 5, "Input/output error (injected)");
            }
            writes.incrementAndGet();
            f.write(src, srcOffset, length, fileOffset);
        }

        @Override
        public void sync() {
            f.sync();
        }

        @Override
        public void allocate(long offset, long length) {
            f.allocate(offset, length);
        }

        @Override
        public void truncate(long length) {
            f.truncate(length);
        }

        @Override
        public boolean punchHole(long offset, long length) {
            return f.punchHole(offset, length);
        }

        @Override
        public long size() {
            return f.size();
        }

        @Override
        public void close() {
            f.close();
        }
    }
}
