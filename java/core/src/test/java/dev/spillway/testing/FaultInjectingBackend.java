package dev.spillway.testing;

import dev.spillway.CorruptDataException;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Codec;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.NativeIoException;
import dev.spillway.io.OpenFlag;
import dev.spillway.io.SpillBlock;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.EnumMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.Set;
import java.util.concurrent.CopyOnWriteArrayList;
import java.util.concurrent.atomic.AtomicLong;
import java.util.function.LongPredicate;
import java.util.function.Predicate;

/**
 * Wraps an {@link IoBackend} (and the {@link IoFile}s and {@link Codec}s it hands out) so that a
 * chosen operation fails with a chosen errno, by count or by probability, or writes short.
 *
 * <pre>
 * FaultInjectingBackend io = new FaultInjectingBackend(Backends.open(BackendKind.JNI), 42);
 * io.inject(Op.WRITE).errno(Errno.ENOSPC).after(3).times(1);        // the 4th write fails, once
 * io.inject(Op.SPILL_READ).errno(Errno.EIO).probability(0.1);       // 10% of spill reads fail
 * io.inject(Op.WRITE).shortWrite(true).times(1);                    // half the bytes, then ENOSPC
 * io.inject(Op.SPILL_WRITE).shortWrite(false).times(1);             // torn: half the block, "success"
 * io.inject(Op.READ).shortRead().times(1);                          // half the bytes, as if at end of file
 * io.inject(Op.SYNC).errno(Errno.EIO).times(1);                     // a failing fdatasync
 * io.inject(Op.READ).interrupt().times(1);                          // the calling thread is interrupted (EINTR's Java twin)
 * io.inject(Op.WRITE).at(o -> o != 0);                              // only writes away from offset 0 (not a page file's header)
 * io.inject(Op.DISCARD).errno(Errno.EINVAL).times(1);               // a failing madvise when a frame's memory goes back
 * io.inject(Op.MAP).times(1);                                       // a slab of frames that cannot be mapped (OutOfMemoryError)
 * io.inject(Op.CLOSE).errno(Errno.EIO).times(1);                    // close(2) reports EIO (NFS, FUSE) after releasing the file
 * </pre>
 *
 * A failing I/O operation throws the {@link NativeIoException} the real backends throw (with the
 * errno and "(injected)" in its text), before touching the file (except CLOSE, which closes the
 * file first and then reports the error, as close(2) does on Linux); a codec failure throws a
 * {@link CorruptDataException}. Rules are checked in the order they were added; the first that
 * fires wins. {@link #calls} and {@link #injected} count per operation. Thread-safe.
 */
public final class FaultInjectingBackend implements IoBackend {
    /** The operations that can be made to fail. */
    public enum Op {
        OPEN, READ, WRITE, SYNC, ALLOCATE_DISK, TRUNCATE, PUNCH_HOLE, SIZE, SPILL_WRITE, SPILL_READ, COMPRESS,
        DECOMPRESS, DISCARD, MAP, CLOSE, SYNC_DIRECTORY
    }

    /** One fault: which operation, what happens, when. Configure it with the chained setters. */
    public static final class Rule {
        final Op op;
        volatile int errno = Errno.EIO;
        volatile long after;
        volatile long times = Long.MAX_VALUE;
        volatile double probability = 1.0;
        volatile boolean shortWrite;
        volatile boolean failAfterShortWrite;
        volatile Predicate<Path> paths = p -> true;
        volatile LongPredicate offsets = o -> true;
        volatile boolean shortRead;
        volatile boolean interrupt;
        // guarded by this
        long seen;

        Rule(Op op) {
            this.op = op;
        }

        /** The errno to fail with (default EIO). */
        public Rule errno(int e) {
            this.errno = e;
            return this;
        }

        /** Let the first {@code n} matching calls through. */
        public Rule after(long n) {
            this.after = n;
            return this;
        }

        /** Fire at most {@code n} times (default: always). */
        public Rule times(long n) {
            this.times = n;
            return this;
        }

        /** Fire with this probability once past {@link #after} (seeded: runs repeat). */
        public Rule probability(double p) {
            this.probability = p;
            return this;
        }

        /** Only for files whose path matches. */
        public Rule on(Predicate<Path> p) {
            this.paths = p;
            return this;
        }

        /**
         * Only for calls at file offsets that match (READ, WRITE, TRUNCATE, SPILL_READ, SPILL_WRITE), or
         * for DISCARD at offsets into the mapped buffer that match.
         */
        public Rule at(LongPredicate p) {
            this.offsets = p;
            return this;
        }

        /**
         * READ returns only the first half of the bytes (rounded down to 4 KiB) and reports that
         * count, as a read at end of file does: what a truncated file or a lying device gives.
         */
        public Rule shortRead() {
            this.shortRead = true;
            return this;
        }

        /**
         * Does not fail: interrupts the calling thread, then runs the call. The native backends
         * retry EINTR in C and never see a Java interrupt; an interruptible channel (NIO) would be
         * closed by it. Applies to READ, WRITE, SYNC, SPILL_WRITE and SPILL_READ.
         */
        public Rule interrupt() {
            this.interrupt = true;
            return this;
        }

        /**
         * Writes only the first half of the bytes (rounded down to 4 KiB); then fails with the errno
         * if {@code thenFail}, or reports success (a torn write a checksum must catch).
         * Applies to WRITE and SPILL_WRITE.
         */
        public Rule shortWrite(boolean thenFail) {
            this.shortWrite = true;
            this.failAfterShortWrite = thenFail;
            return this;
        }

        /**
         * Whether the call is one this rule is about. Outside every lock: a test's predicate may act
         * (record the file, start or wait for another thread) and must not block other calls meanwhile.
         */
        boolean matches(Path path, long offset) {
            return !(path != null && !paths.test(path) || offset >= 0 && !offsets.test(offset));
        }

        /** For a call that {@link #matches}: counts it and decides whether this one fails. */
        synchronized boolean fires(Random random) {
            seen++;
            if (seen <= after || times <= 0) {
                return false;
            }
            if (probability < 1.0 && random.nextDouble() >= probability) {
                return false;
            }
            times--;
            return true;
        }
    }

    private final IoBackend delegate;
    private final Random random;
    private final List<Rule> rules = new CopyOnWriteArrayList<>();
    private final Map<Op, AtomicLong> calls = new EnumMap<>(Op.class);
    private final Map<Op, AtomicLong> injected = new EnumMap<>(Op.class);
    private final AtomicLong largestAllocation = new AtomicLong();

    public FaultInjectingBackend(IoBackend delegate, long seed) {
        this.delegate = delegate;
        this.random = new Random(seed);
        for (Op op : Op.values()) {
            calls.put(op, new AtomicLong());
            injected.put(op, new AtomicLong());
        }
    }

    public IoBackend delegate() {
        return delegate;
    }

    /** Adds a rule for {@code op}; configure it with the returned rule's setters. */
    public Rule inject(Op op) {
        Rule r = new Rule(op);
        rules.add(r);
        return r;
    }

    /** Removes every rule (counters stay). */
    public void clear() {
        rules.clear();
    }

    /** Calls seen of an operation (whether or not a fault fired). */
    public long calls(Op op) {
        return calls.get(op).get();
    }

    /** Faults fired for an operation. */
    public long injected(Op op) {
        return injected.get(op).get();
    }

    private Rule check(Op op, Path path) {
        return check(op, path, -1);
    }

    /** The rule that fires for this call, or null; an interrupt rule interrupts the caller and returns null. */
    private Rule check(Op op, Path path, long offset) {
        calls.get(op).incrementAndGet();
        for (Rule r : rules) {
            if (r.op == op && r.matches(path, offset)) {
                boolean fire;
                synchronized (random) {
                    fire = r.fires(random);
                }
                if (fire) {
                    injected.get(op).incrementAndGet();
                    if (r.interrupt) {
                        Thread.currentThread().interrupt();
                        return null;
                    }
                    return r;
                }
            }
        }
        return null;
    }

    private static NativeIoException error(String op, Path path, long offset, long length, int errno) {
        return new NativeIoException(op, path, offset, length, errno, strerror(errno) + " (injected)");
    }

    static String strerror(int errno) {
        switch (errno) {
            case Errno.EIO:
                return "Input/output error";
            case Errno.ENOSPC:
                return "No space left on device";
            case Errno.EINVAL:
                return "Invalid argument";
            case Errno.EEXIST:
                return "File exists";
            case Errno.EINTR:
                return "Interrupted system call";
            default:
                return "errno " + errno;
        }
    }

    private static void failUnlessShort(Rule r, String op, Path path, long offset, long length) {
        if (r != null && !r.shortWrite) {
            throw error(op, path, offset, length, r.errno);
        }
    }

    // ---------------------------------------------------------------- IoBackend

    @Override
    public BackendKind kind() {
        return delegate.kind();
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        Rule r = check(Op.OPEN, path);
        if (r != null) {
            throw error("open", path, -1, -1, r.errno);
        }
        return new File(delegate.open(path, flags));
    }

    @Override
    public void syncDirectory(Path dir) {
        Rule r = check(Op.SYNC_DIRECTORY, dir);
        if (r != null) {
            throw error("sync directory", dir, -1, -1, r.errno);
        }
        delegate.syncDirectory(dir);
    }

    @Override
    public AlignedBuffer allocate(int size) {
        largestAllocation.accumulateAndGet(size, Math::max);
        return delegate.allocate(size);
    }

    /**
     * The largest {@link #allocate} so far (to check that a path needs no buffer of some size); a
     * {@link #map} is not counted, its slabs of frames are large by design.
     */
    public long largestAllocation() {
        return largestAllocation.get();
    }

    @Override
    public AlignedBuffer map(int size) {
        if (check(Op.MAP, null, 0) != null) {
            throw new OutOfMemoryError("spw_map of " + size + " bytes failed (injected)"); // as the native backends do
        }
        return delegate.map(size);
    }

    @Override
    public boolean canDiscard() {
        return delegate.canDiscard();
    }

    /**
     * A DISCARD fault throws what a failing madvise gives on the native backends, before touching
     * the memory; where the delegate cannot discard, its own refusal comes through unchanged.
     */
    @Override
    public void discard(AlignedBuffer buffer, int offset, int length) {
        Rule r = delegate.canDiscard() ? check(Op.DISCARD, null, offset) : null;
        if (r != null) {
            throw error("discard", null, offset, length, r.errno);
        }
        delegate.discard(buffer, offset, length);
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        return delegate.crc32c(data, offset, length);
    }

    @Override
    public Codec newCodec() {
        return new FaultyCodec(delegate.newCodec());
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
        return "faulty " + delegate.kind().name().toLowerCase();
    }

    private static IoFile unwrap(IoFile f) {
        return f instanceof File ? ((File) f).inner : f;
    }

    /** Length of a short write: half, rounded down to the alignment (at least one unit less than all). */
    private static int shortLength(int length) {
        return (length / 2) & -ALIGNMENT;
    }

    private final class File implements IoFile {
        final IoFile inner;

        File(IoFile inner) {
            this.inner = inner;
        }

        @Override
        public Path path() {
            return inner.path();
        }

        @Override
        public boolean isDirect() {
            return inner.isDirect();
        }

        @Override
        public boolean isReadOnly() {
            return inner.isReadOnly();
        }

        @Override
        public boolean isOpen() {
            return inner.isOpen();
        }

        @Override
        public int read(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            Rule r = check(Op.READ, path(), fileOffset);
            if (r != null && r.shortRead) {
                int n = shortLength(length);
                return n == 0 ? 0 : inner.read(dst, dstOffset, n, fileOffset);
            }
            if (r != null) {
                throw error("pread", path(), fileOffset, length, r.errno);
            }
            return inner.read(dst, dstOffset, length, fileOffset);
        }

        @Override
        public void write(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            Rule r = check(Op.WRITE, path(), fileOffset);
            failUnlessShort(r, "pwrite", path(), fileOffset, length);
            if (r != null) {
                int n = shortLength(length);
                if (n > 0) {
                    inner.write(src, srcOffset, n, fileOffset);
                }
                if (r.failAfterShortWrite) {
                    throw error("pwrite", path(), fileOffset + n, length - n, r.errno);
                }
                return;
            }
            inner.write(src, srcOffset, length, fileOffset);
        }

        @Override
        public void sync() {
            Rule r = check(Op.SYNC, path());
            if (r != null) {
                throw error("fdatasync", path(), -1, -1, r.errno);
            }
            inner.sync();
        }

        @Override
        public void allocate(long offset, long length) {
            Rule r = check(Op.ALLOCATE_DISK, path());
            if (r != null) {
                throw error("fallocate", path(), offset, length, r.errno);
            }
            inner.allocate(offset, length);
        }

        @Override
        public void truncate(long length) {
            Rule r = check(Op.TRUNCATE, path(), length);
            if (r != null) {
                throw error("ftruncate", path(), length, -1, r.errno);
            }
            inner.truncate(length);
        }

        @Override
        public boolean punchHole(long offset, long length) {
            Rule r = check(Op.PUNCH_HOLE, path());
            if (r != null) {
                if (r.errno == Errno.EOPNOTSUPP) {
                    return false; // what a file system without hole punching answers
                }
                throw error("fallocate(PUNCH_HOLE)", path(), offset, length, r.errno);
            }
            return inner.punchHole(offset, length);
        }

        @Override
        public long size() {
            Rule r = check(Op.SIZE, path());
            if (r != null) {
                throw error("fstat", path(), -1, -1, r.errno);
            }
            return inner.size();
        }

        @Override
        public void close() {
            inner.close(); // like close(2): the descriptor is gone even when it reports an error
            Rule r = check(Op.CLOSE, path());
            if (r != null) {
                throw error("close", path(), -1, -1, r.errno);
            }
        }

        @Override
        public String toString() {
            return "faulty " + inner;
        }
    }

    private final class FaultyCodec implements Codec {
        final Codec inner;

        FaultyCodec(Codec inner) {
            this.inner = inner;
        }

        @Override
        public int compress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
                int dstCapacity, int level) {
            if (check(Op.COMPRESS, null) != null) {
                throw new CorruptDataException("compress of " + srcLength + " bytes failed (injected)");
            }
            return inner.compress(src, srcOffset, srcLength, dst, dstOffset, dstCapacity, level);
        }

        @Override
        public int decompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset,
                int dstCapacity) {
            if (check(Op.DECOMPRESS, null) != null) {
                throw new CorruptDataException("decompress of " + srcLength + " bytes failed (injected)");
            }
            return inner.decompress(src, srcOffset, srcLength, dst, dstOffset, dstCapacity);
        }

        @Override
        public SpillBlock spillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength,
                int level, int maxPayload, AlignedBuffer scratch) {
            Rule r = check(Op.SPILL_WRITE, file.path(), fileOffset);
            failUnlessShort(r, "spill write", file.path(), fileOffset, srcLength);
            SpillBlock b = inner.spillWrite(unwrap(file), fileOffset, src, srcOffset, srcLength, level, maxPayload,
                    scratch);
            if (r != null) {
                // torn: the second half of the stored block never reached the disk
                int keep = shortLength(b.storedSize());
                int lost = b.storedSize() - keep;
                try (AlignedBuffer zeros = delegate.allocate(lost)) {
                    unwrap(file).write(zeros.buffer(), 0, lost, fileOffset + keep);
                }
                if (r.failAfterShortWrite) {
                    throw error("spill write", file.path(), fileOffset + keep, lost, r.errno);
                }
            }
            return b;
        }

        @Override
        public void spillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset,
                int dstLength, AlignedBuffer scratch) {
            Rule r = check(Op.SPILL_READ, file.path(), fileOffset);
            if (r != null) {
                throw error("spill read", file.path(), fileOffset, storedSize, r.errno);
            }
            inner.spillRead(unwrap(file), fileOffset, storedSize, dst, dstOffset, dstLength, scratch);
        }

        @Override
        public void close() {
            inner.close();
        }
    }
}
