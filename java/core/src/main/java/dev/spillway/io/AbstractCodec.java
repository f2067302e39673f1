package dev.spillway.io;

import dev.spillway.ClosedException;
import dev.spillway.CorruptDataException;
import java.nio.ByteBuffer;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;

/**
 * Shared by every backend's codec: argument checks before anything reaches native code, and a
 * guard that admits one call at a time. zstd contexts must not be used by two threads at once
 * (the Codec is one thread's at a time), so a second concurrent call fails with an
 * IllegalStateException instead of corrupting them; and close() while a call runs (from another
 * thread) takes effect when that call returns, so the contexts are never freed under it (as
 * {@link AbstractIoFile} does for descriptors).
 *
 * <p>Input and output must not share memory: zstd writes its output over input it has not read
 * yet, and a spill block made that way gets a valid crc over the wrong bytes. What Java can see is
 * refused here, naming both ranges: the same ByteBuffer passed as both (src and dst, src and the
 * scratch, dst and the scratch's block bytes). Buffers must be direct, so two heap buffers over
 * one array never get this far. A slice or duplicate is another object over the same memory, and
 * Java 17 shows no direct buffer's address without internals: the native backends still refuse it,
 * since the C core checks addresses (SPW_E_OVERLAP), but the nio backend cannot
 * tell, and its output is then undefined.
 */
abstract class AbstractCodec implements Codec {
    /** Codecs whose native zstd contexts are not yet freed, across backends (leak checks use it). */
    private static final AtomicLong LIVE = new AtomicLong();
    private static final int BUSY = 1;
    private static final int CLOSED = 2;

    private final IoBackend backend;
    /** 0 idle, BUSY while a call runs, plus the CLOSED bit once close() was called. */
    private final AtomicInteger state = new AtomicInteger();

    AbstractCodec(IoBackend backend) {
        this.backend = backend;
        LIVE.incrementAndGet();
    }

    static long liveCount() {
        return LIVE.get();
    }

    private void acquire(String op) {
        for (;;) {
            int s = state.get();
            if ((s & CLOSED) != 0) {
                throw new ClosedException(op + ": codec is closed");
            }
            if (s == BUSY) {
                throw new IllegalStateException(op + ": codec is in use by another thread (a Codec is one thread's"
                        + " at a time)");
            }
            if (state.compareAndSet(0, BUSY)) {
                return;
            }
        }
    }

    private void release() {
        if (state.addAndGet(-BUSY) == CLOSED) {
            free(); // closed during the call: the closer left the contexts to us
        }
    }

    private void free() {
        LIVE.decrementAndGet();
        doClose();
    }

    /** x[xOffset, +xLength) and y[yOffset, +yLength) in one buffer sharing a byte: see the class comment. */
    private static void disjoint(String op, IoFile file, String a, ByteBuffer x, int xOffset, int xLength, String b,
            ByteBuffer y, int yOffset, int yLength) {
        if (x == y && xLength > 0 && yLength > 0 && xOffset < (long) yOffset + yLength
                && yOffset < (long) xOffset + xLength) {
            throw new IllegalArgumentException(op + (file == null ? "" : " on " + file.path()) + ": " + a + " ["
                    + xOffset + ", +" + xLength + ") and " + b + " [" + yOffset + ", +" + yLength
                    + ") overlap in the same buffer");
        }
    }

    @Override
    public final int compress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity, int level) {
        acquire("compress");
        try {
            Checks.range("compress", src, srcOffset, srcLength);
            Checks.range("compress", dst, dstOffset, dstCapacity);
            Checks.writable("compress", dst);
            if (level == SpillFormat.LEVEL_NONE) {
                throw new IllegalArgumentException("compress: LEVEL_NONE is only meaningful for spill blocks");
            }
            Checks.level(backend, level);
            disjoint("compress", null, "src", src, srcOffset, srcLength, "dst", dst, dstOffset, dstCapacity);
            return doCompress(src, srcOffset, srcLength, dst, dstOffset, dstCapacity, level);
        } finally {
            release();
        }
    }

    @Override
    public final int decompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity) {
        acquire("decompress");
        try {
            Checks.range("decompress", src, srcOffset, srcLength);
            Checks.range("decompress", dst, dstOffset, dstCapacity);
            Checks.writable("decompress", dst);
            disjoint("decompress", null, "src", src, srcOffset, srcLength, "dst", dst, dstOffset, dstCapacity);
            return doDecompress(src, srcOffset, srcLength, dst, dstOffset, dstCapacity);
        } finally {
            release();
        }
    }

    @Override
    public final SpillBlock spillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength,
            int level, int maxPayload, AlignedBuffer scratch) {
        acquire("spill write");
        try {
            Checks.range("spill write", src, srcOffset, srcLength);
            Checks.level(backend, level);
            if (srcLength > SpillFormat.MAX_RAW_LENGTH) {
                throw new IllegalArgumentException("spill write: block of " + srcLength + " bytes exceeds "
                        + SpillFormat.MAX_RAW_LENGTH);
            }
            // what lands on disk is the stored block, header and padding included (at most the scratch
            // the block needs), not srcLength: an offset that leaves room for the one but not the other
            // reached C, which refused it with a bare "invalid argument" naming no file and no offset
            Checks.fileRange("spill write", file, fileOffset, SpillFormat.scratchSize(srcLength));
            if (file != null && file.isReadOnly()) { // as IoFile.write: refused here, not by pwrite's EBADF in C
                throw new IllegalStateException("spill write on " + file.path() + ": file was opened read-only");
            }
            if (fileOffset % IoBackend.ALIGNMENT != 0) {
                throw new IllegalArgumentException("spill write on " + file.path() + ": offset " + fileOffset
                        + " is not a multiple of " + IoBackend.ALIGNMENT);
            }
            if (maxPayload < 0) {
                throw new IllegalArgumentException("spill write: negative maxPayload " + maxPayload);
            }
            checkScratch("spill write", scratch, SpillFormat.scratchSize(srcLength));
            // all of the scratch: the C core gives zstd its whole capacity
            disjoint("spill write", file, "src", src, srcOffset, srcLength, "scratch", scratch.buffer(), 0,
                    scratch.size());
            scratch.acquire("spill write"); // a close from another thread now waits for C to be done with it
            try {
                return doSpillWrite(file, fileOffset, src, srcOffset, srcLength, level, maxPayload, scratch);
            } finally {
                scratch.release();
            }
        } finally {
            release();
        }
    }

    @Override
    public final void spillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
            int dstLength, AlignedBuffer scratch) {
        acquire("spill read");
        try {
            Checks.range("spill read", dst, dstOffset, dstLength);
            Checks.writable("spill read", dst);
            Checks.fileRange("spill read", file, fileOffset, storedSize);
            if (storedSize < SpillFormat.HEADER_SIZE || storedSize % IoBackend.ALIGNMENT != 0
                    || fileOffset % IoBackend.ALIGNMENT != 0) {
                throw new IllegalArgumentException("spill read on " + file.path() + ": stored size " + storedSize
                        + " and offset " + fileOffset + " must be multiples of " + IoBackend.ALIGNMENT);
            }
            checkScratch("spill read", scratch, storedSize);
            // the block's bytes: the read lands there before it is decoded into dst
            disjoint("spill read", file, "dst", dst, dstOffset, dstLength, "scratch", scratch.buffer(), 0, storedSize);
            scratch.acquire("spill read"); // a close from another thread now waits for C to be done with it
            try {
                doSpillRead(file, fileOffset, storedSize, dst, dstOffset, dstLength, scratch);
            } finally {
                scratch.release();
            }
        } finally {
            release();
        }
    }

    private static void checkScratch(String op, AlignedBuffer scratch, int needed) {
        if (!scratch.isOpen()) {
            throw new ClosedException(op + ": scratch buffer is closed");
        }
        if (scratch.size() < needed) {
            throw new IllegalArgumentException(op + ": scratch of " + scratch.size() + " bytes, " + needed + " needed");
        }
    }

    /** Names file and offset on a corrupt block, so the caller can add its slot. */
    static CorruptDataException corrupt(IoFile file, long offset, String what) {
        return new CorruptDataException("spill read of " + file.path() + " at offset " + offset + ": " + what);
    }

    @Override
    public final void close() {
        int old = state.getAndUpdate(s -> s | CLOSED);
        if (old == 0) {
            free(); // idle: no call can start now; if one is running, its release() frees instead
        }
    }

    abstract int doCompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity, int level);

    abstract int doDecompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity);

    abstract SpillBlock doSpillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength,
            int level, int maxPayload, AlignedBuffer scratch);

    abstract void doSpillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
            int dstLength, AlignedBuffer scratch);

    abstract void doClose();
}
