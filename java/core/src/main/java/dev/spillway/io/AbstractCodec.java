package dev.spillway.io;

import dev.spillway.ClosedException;
import dev.spillway.CorruptDataException;
import java.nio.ByteBuffer;

/** Shared by every backend's codec: argument checks before anything reaches native code. */
abstract class AbstractCodec implements Codec {
    /** Codecs not yet closed, across backends: each holds native zstd contexts (leak checks use it). */
    private static final java.util.concurrent.atomic.AtomicLong LIVE = new java.util.concurrent.atomic.AtomicLong();

    private final IoBackend backend;
    private boolean closed;

    AbstractCodec(IoBackend backend) {
        this.backend = backend;
        LIVE.incrementAndGet();
    }

    static long liveCount() {
        return LIVE.get();
    }

    private void open(String op) {
        if (closed) {
            throw new ClosedException(op + ": codec is closed");
        }
    }

    @Override
    public final int compress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity, int level) {
        open("compress");
        Checks.range("compress", src, srcOffset, srcLength);
        Checks.range("compress", dst, dstOffset, dstCapacity);
        Checks.writable("compress", dst);
        if (level == SpillFormat.LEVEL_NONE) {
            throw new IllegalArgumentException("compress: LEVEL_NONE is only meaningful for spill blocks");
        }
        Checks.level(backend, level);
        return doCompress(src, srcOffset, srcLength, dst, dstOffset, dstCapacity, level);
    }

    @Override
    public final int decompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
            int dstCapacity) {
        open("decompress");
        Checks.range("decompress", src, srcOffset, srcLength);
        Checks.range("decompress", dst, dstOffset, dstCapacity);
        Checks.writable("decompress", dst);
        return doDecompress(src, srcOffset, srcLength, dst, dstOffset, dstCapacity);
    }

    @Override
    public final SpillBlock spillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength,
            int level, int maxPayload, AlignedBuffer scratch) {
        open("spill write");
        Checks.range("spill write", src, srcOffset, srcLength);
        Checks.fileRange("spill write", file, fileOffset, srcLength);
        Checks.level(backend, level);
        if (srcLength > SpillFormat.MAX_RAW_LENGTH) {
            throw new IllegalArgumentException("spill write: block of " + srcLength + " bytes exceeds "
                    + SpillFormat.MAX_RAW_LENGTH);
        }
        if (fileOffset % IoBackend.ALIGNMENT != 0) {
            throw new IllegalArgumentException("spill write on " + file.path() + ": offset " + fileOffset
                    + " is not a multiple of " + IoBackend.ALIGNMENT);
        }
        if (maxPayload < 0) {
            throw new IllegalArgumentException("spill write: negative maxPayload " + maxPayload);
        }
        checkScratch("spill write", scratch, SpillFormat.scratchSize(srcLength));
        return doSpillWrite(file, fileOffset, src, srcOffset, srcLength, level, maxPayload, scratch);
    }

    @Override
    public final void spillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
            int dstLength, AlignedBuffer scratch) {
        open("spill read");
        Checks.range("spill read", dst, dstOffset, dstLength);
        Checks.writable("spill read", dst);
        Checks.fileRange("spill read", file, fileOffset, storedSize);
        if (storedSize < SpillFormat.HEADER_SIZE || storedSize % IoBackend.ALIGNMENT != 0
                || fileOffset % IoBackend.ALIGNMENT != 0) {
            throw new IllegalArgumentException("spill read on " + file.path() + ": stored size " + storedSize
                    + " and offset " + fileOffset + " must be multiples of " + IoBackend.ALIGNMENT);
        }
        checkScratch("spill read", scratch, storedSize);
        doSpillRead(file, fileOffset, storedSize, dst, dstOffset, dstLength, scratch);
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
        if (!closed) {
            closed = true;
            LIVE.decrementAndGet();
            doClose();
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
