package dev.spillway.io;

import dev.spillway.ClosedException;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.concurrent.atomic.AtomicInteger;

/**
 * Shared by every backend's file: argument checks, and a close that takes effect only when the
 * last operation in flight has returned (the descriptor is never closed, and so never reused,
 * under a running call).
 */
abstract class AbstractIoFile implements IoFile {
    private static final int CLOSED = 1 << 30;

    private final Path path;
    private final boolean direct;
    private final boolean readOnly;
    /** Operations in flight, plus the CLOSED bit once close() was called. */
    private final AtomicInteger state = new AtomicInteger();

    AbstractIoFile(Path path, boolean direct, boolean readOnly) {
        this.path = path;
        this.direct = direct;
        this.readOnly = readOnly;
    }

    @Override
    public final Path path() {
        return path;
    }

    @Override
    public final boolean isDirect() {
        return direct;
    }

    @Override
    public final boolean isReadOnly() {
        return readOnly;
    }

    @Override
    public final boolean isOpen() {
        return (state.get() & CLOSED) == 0;
    }

    final void acquire(String op) {
        for (;;) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                throw new ClosedException(op + " on " + path + ": file is closed");
            }
            if (state.compareAndSet(s, s + 1)) {
                return;
            }
        }
    }

    final void release() {
        if (state.decrementAndGet() == CLOSED) {
            doClose();
        }
    }

    @Override
    public final void close() {
        int old = state.getAndUpdate(s -> s | CLOSED);
        if ((old & CLOSED) == 0 && old == 0) {
            doClose();
        }
    }

    @Override
    public final int read(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
        Checks.range("read", dst, dstOffset, length);
        Checks.writable("read", dst);
        Checks.fileRange("read", this, fileOffset, length);
        Checks.directAlignment("read", this, dst, dstOffset, length, fileOffset);
        acquire("read");
        try {
            return doRead(dst, dstOffset, length, fileOffset);
        } finally {
            release();
        }
    }

    @Override
    public final void write(ByteBuffer src, int srcOffset, int length, long fileOffset) {
        Checks.range("write", src, srcOffset, length);
        Checks.fileRange("write", this, fileOffset, length);
        Checks.directAlignment("write", this, src, srcOffset, length, fileOffset);
        writableFile("write");
        acquire("write");
        try {
            doWrite(src, srcOffset, length, fileOffset);
        } finally {
            release();
        }
    }

    @Override
    public final void sync() {
        acquire("fdatasync");
        try {
            doSync();
        } finally {
            release();
        }
    }

    @Override
    public final void allocate(long offset, long length) {
        Checks.fileRange("fallocate", this, offset, length);
        writableFile("fallocate");
        acquire("fallocate");
        try {
            doAllocate(offset, length);
        } finally {
            release();
        }
    }

    @Override
    public final void truncate(long length) {
        Checks.fileRange("ftruncate", this, 0, length);
        writableFile("ftruncate");
        acquire("ftruncate");
        try {
            doTruncate(length);
        } finally {
            release();
        }
    }

    @Override
    public final boolean punchHole(long offset, long length) {
        Checks.fileRange("punch hole", this, offset, length);
        writableFile("punch hole");
        acquire("punch hole");
        try {
            return doPunchHole(offset, length);
        } finally {
            release();
        }
    }

    @Override
    public final long size() {
        acquire("size");
        try {
            return doSize();
        } finally {
            release();
        }
    }

    private void writableFile(String op) {
        if (readOnly) {
            throw new IllegalStateException(op + " on " + path + ": file was opened read-only");
        }
    }

    @Override
    public String toString() {
        return path + (direct ? " (O_DIRECT)" : "") + (isOpen() ? "" : " (closed)");
    }

    abstract int doRead(ByteBuffer dst, int dstOffset, int length, long fileOffset);

    abstract void doWrite(ByteBuffer src, int srcOffset, int length, long fileOffset);

    abstract void doSync();

    abstract void doAllocate(long offset, long length);

    abstract void doTruncate(long length);

    abstract boolean doPunchHole(long offset, long length);

    abstract long doSize();

    abstract void doClose();
}
