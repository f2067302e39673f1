package dev.spillway.io;

import com.github.luben.zstd.Zstd;
import com.github.luben.zstd.ZstdCompressCtx;
import com.github.luben.zstd.ZstdDecompressCtx;
import com.github.luben.zstd.ZstdException;
import com.sun.nio.file.ExtendedOpenOption;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.ClosedChannelException;
import java.nio.channels.FileChannel;
import java.nio.file.AccessDeniedException;
import java.nio.file.Files;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileSystemException;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.BasicFileAttributes;
import java.nio.file.attribute.FileAttribute;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.HashSet;
import java.util.Set;
import java.util.zip.CRC32C;

/**
 * Pure Java: {@link FileChannel} with {@code ExtendedOpenOption.DIRECT}, zstd through zstd-jni,
 * crc32c through {@link CRC32C}. Serves where libspillway cannot load. Differences from the
 * native backends: no hole punching (returns false), {@link IoFile#allocate} writes zeros past
 * the end instead of calling fallocate, and errno is only a guess. The JDK drops the OS's error
 * number and keeps its text, which is strerror in the process's locale: {@link #error} knows
 * ENOENT, EEXIST, EACCES and EBADF by the exception's class, in any locale, but ENOSPC, EIO, ELOOP
 * and EINVAL only by their English text, so under another locale (LANG=de_DE.UTF-8: EINVAL is
 * "Das Argument ist ungültig") those give errno 0 with the OS's text. Nothing else depends on
 * that text: where the file system refuses O_DIRECT the file opens buffered in any language
 * ({@link #open}).
 */
final class NioBackend implements IoBackend {
    private static final FileAttribute<?> MODE_0600 = PosixFilePermissions.asFileAttribute(
            PosixFilePermissions.fromString("rw-------"));

    NioBackend() {
        Zstd.minCompressionLevel(); // fails here, during selection, if zstd-jni cannot load
    }

    @Override
    public BackendKind kind() {
        return BackendKind.NIO;
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        Set<OpenOption> opts = new HashSet<>();
        opts.add(StandardOpenOption.READ);
        boolean readOnly = flags.contains(OpenFlag.READ_ONLY);
        if (!readOnly) {
            opts.add(StandardOpenOption.WRITE);
        }
        if (flags.contains(OpenFlag.CREATE)) {
            opts.add(flags.contains(OpenFlag.EXCLUSIVE) ? StandardOpenOption.CREATE_NEW : StandardOpenOption.CREATE);
        }
        if (flags.contains(OpenFlag.TRUNCATE)) {
            opts.add(StandardOpenOption.TRUNCATE_EXISTING);
        }
        if (flags.contains(OpenFlag.NO_FOLLOW)) {
            opts.add(LinkOption.NOFOLLOW_LINKS);
        }
        // Open (and create, truncate) without DIRECT first, as spw_open does: Linux creates the file
        // before open(2) refuses O_DIRECT (ramfs, tmpfs before 6.6), so trying DIRECT first would
        // leave an empty file behind and make a CREATE_NEW retry fail with "file exists".
        FileChannel buffered;
        try {
            buffered = FileChannel.open(path, opts, MODE_0600);
        } catch (IOException e) {
            throw error("open", path, -1, -1, e);
        }
        if (flags.contains(OpenFlag.DIRECT)) {
            // Java cannot fcntl(F_SETFL, O_DIRECT) a channel: reopen the file, which exists now, with
            // DIRECT and without create or truncate; any failure (the file system refuses O_DIRECT,
            // with a message in the OS's language) keeps the buffered channel, and isDirect() says so.
            Set<OpenOption> withDirect = new HashSet<>(opts);
            withDirect.remove(StandardOpenOption.CREATE);
            withDirect.remove(StandardOpenOption.CREATE_NEW);
            withDirect.remove(StandardOpenOption.TRUNCATE_EXISTING);
            withDirect.add(ExtendedOpenOption.DIRECT);
            Object key = NioFile.fileKeyOf(path);
            FileChannel direct = null;
            try {
                direct = FileChannel.open(path, withDirect);
                // the path is opened twice: keep the second channel only if the path named the same
                // file before and after it was opened (a rename in between would swap files)
                if (key != null && key.equals(NioFile.fileKeyOf(path))) {
                    FileChannel c = direct;
                    direct = null;
                    closeQuietly(buffered);
                    return new NioFile(path, c, true, readOnly, withDirect);
                }
            } catch (IOException | UnsupportedOperationException e) {
                // stay buffered
            } finally {
                if (direct != null) {
                    closeQuietly(direct);
                }
            }
        }
        return new NioFile(path, buffered, false, readOnly, opts);
    }

    private static void closeQuietly(FileChannel c) {
        try {
            c.close();
        } catch (IOException e) {
            // nothing was written through it; the other channel serves the file
        }
    }

    @Override
    public AlignedBuffer allocate(int size) {
        if (size <= 0 || size > Integer.MAX_VALUE - ALIGNMENT) {
            throw new IllegalArgumentException("allocate: size " + size + " must be in [1, " + (Integer.MAX_VALUE - ALIGNMENT) + "]");
        }
        ByteBuffer raw = ByteBuffer.allocateDirect(size + ALIGNMENT);
        // not alignedSlice: it also rounds the end down, leaving less than size where size is no multiple of 4096
        int misalignment = raw.alignmentOffset(0, ALIGNMENT);
        ByteBuffer aligned = raw.slice(misalignment == 0 ? 0 : ALIGNMENT - misalignment, size);
        return new AlignedBuffer(aligned, 0, size, (address, n) -> { });
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        Checks.range("crc32c", data, offset, length);
        CRC32C c = new CRC32C();
        c.update(data.duplicate().limit(offset + length).position(offset));
        return (int) c.getValue();
    }

    @Override
    public Codec newCodec() {
        return new NioCodec(this);
    }

    @Override
    public int minLevel() {
        return Zstd.minCompressionLevel();
    }

    @Override
    public int maxLevel() {
        return Zstd.maxCompressionLevel();
    }

    /**
     * Maps an IOException to errno by its class, else by the OS text the JDK kept (the JDK drops
     * the number); the text is matched in English only, so another locale gives 0 (class comment).
     */
    static NativeIoException error(String op, Path path, long offset, long length, IOException e) {
        int errno = 0;
        String text = e.getMessage() == null ? e.getClass().getSimpleName() : e.getMessage();
        if (e instanceof NoSuchFileException) {
            errno = 2;
            text = "No such file or directory";
        } else if (e instanceof FileAlreadyExistsException) {
            errno = Errno.EEXIST;
            text = "File exists";
        } else if (e instanceof AccessDeniedException) {
            errno = 13;
            text = "Permission denied";
        } else if (e instanceof ClosedChannelException) {
            errno = Errno.EBADF;
            text = "Bad file descriptor";
        } else if (e instanceof FileSystemException fse && fse.getReason() != null) {
            text = fse.getReason();
        }
        if (text.contains("No space left")) {
            errno = Errno.ENOSPC;
        } else if (text.contains("Input/output error")) {
            errno = Errno.EIO;
        } else if (text.contains("symbolic link")) {
            errno = Errno.ELOOP;
        } else if (text.contains("Invalid argument")) {
            errno = Errno.EINVAL;
        }
        return new NativeIoException(op, path, offset, length, errno, text, e);
    }

    /**
     * A FileChannel is interruptible: an interrupt of a thread in (or entering) one of its calls
     * closes it for every thread. The C core retries EINTR; here an interrupt must not fail the call
     * nor break the file for others (a page file or a temp file full of spilled blocks). So each
     * call runs with the caller's interrupt cleared and restored after, and a channel closed under a
     * call anyway (the interrupt came during it, here or in another thread) is reopened and the call
     * retried. The file is reopened by path, without create or truncate, and only if the path still
     * names the same file (its file key).
     */
    private static final class NioFile extends AbstractIoFile {
        /**
         * Reopens tried for one call. Each resumes where the last stopped, so only interrupts
         * arriving faster than one read or write completes exhaust them.
         */
        private static final int MAX_REOPENS = 100;

        private volatile FileChannel ch;
        private final Set<OpenOption> reopenOptions;
        private final Object fileKey;

        NioFile(Path path, FileChannel ch, boolean direct, boolean readOnly, Set<OpenOption> options) {
            super(path, direct, readOnly);
            this.ch = ch;
            Set<OpenOption> o = new HashSet<>(options);
            o.remove(StandardOpenOption.CREATE);
            o.remove(StandardOpenOption.CREATE_NEW);
            o.remove(StandardOpenOption.TRUNCATE_EXISTING);
            this.reopenOptions = o;
            this.fileKey = fileKeyOf(path);
        }

        private static Object fileKeyOf(Path path) {
            try {
                return Files.readAttributes(path, BasicFileAttributes.class, LinkOption.NOFOLLOW_LINKS).fileKey();
            } catch (IOException e) {
                return null;
            }
        }

        private interface ChannelCall<T> {
            T run(FileChannel c) throws IOException;
        }

        private <T> T call(ChannelCall<T> op) throws IOException {
            boolean interrupted = Thread.interrupted();
            try {
                for (int reopens = 0;; reopens++) {
                    FileChannel c = ch;
                    try {
                        return op.run(c);
                    } catch (ClosedChannelException e) { // ClosedByInterrupt, AsynchronousClose, or closed just before
                        // our own close never runs under a call (AbstractIoFile), so an interrupt closed it
                        interrupted |= Thread.interrupted();
                        if (reopens == MAX_REOPENS) {
                            throw e;
                        }
                        reopen(c);
                    }
                }
            } finally {
                if (interrupted) {
                    Thread.currentThread().interrupt();
                }
            }
        }

        private synchronized void reopen(FileChannel closed) throws IOException {
            if (ch != closed) {
                return; // another call reopened it already
            }
            FileChannel c = FileChannel.open(path(), reopenOptions);
            Object key = fileKeyOf(path());
            if (fileKey == null || !fileKey.equals(key)) {
                c.close();
                throw new ClosedChannelException(); // the path names another file now: this one stays closed
            }
            ch = c;
        }

        @Override
        int doRead(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            ByteBuffer b = dst.duplicate().limit(dstOffset + length).position(dstOffset);
            try {
                // progress is the buffer's position: a call closed by an interrupt may have moved it and lost its count
                return call(c -> {
                    while (b.hasRemaining()) {
                        int done = b.position() - dstOffset;
                        if (isDirect() && (fileOffset + done) % IoBackend.ALIGNMENT != 0) {
                            break; // an O_DIRECT read stops short of a block boundary only at end of file
                        }
                        if (c.read(b, fileOffset + done) < 0) {
                            break;
                        }
                    }
                    return b.position() - dstOffset;
                });
            } catch (IOException e) {
                throw error("pread", path(), fileOffset, length, e);
            }
        }

        @Override
        void doWrite(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            ByteBuffer b = src.duplicate().limit(srcOffset + length).position(srcOffset);
            try {
                call(c -> {
                    while (b.hasRemaining()) {
                        c.write(b, fileOffset + b.position() - srcOffset);
                    }
                    return null;
                });
            } catch (IOException e) {
                throw error("pwrite", path(), fileOffset, length, e);
            }
        }

        @Override
        void doSync() {
            try {
                call(c -> {
                    c.force(false);
                    return null;
                });
            } catch (IOException e) {
                throw error("fdatasync", path(), -1, -1, e);
            }
        }

        @Override
        void doAllocate(long offset, long length) {
            try {
                long size = call(FileChannel::size);
                long end = offset + length;
                if (end <= size) {
                    return;
                }
                // NIO has no fallocate: write real zeros from the old end, so ENOSPC shows now. More
                // than the free space is refused before writing any (the zeros would fill the disk
                // first), and a failure part way gives the bytes back.
                long free = usableSpace();
                if (end - size > free) {
                    throw new NativeIoException("fallocate", path(), offset, length, Errno.ENOSPC,
                            "No space left on device (the file would grow by " + (end - size) + " bytes, "
                                    + free + " are free; nothing was written)");
                }
                // A second, buffered descriptor needs no O_DIRECT alignment.
                try (SeparateDescriptor f = new SeparateDescriptor(path())) {
                    byte[] zeros = new byte[1 << 16];
                    f.raf.seek(size);
                    try {
                        for (long pos = size; pos < end; pos += zeros.length) {
                            f.raf.write(zeros, 0, (int) Math.min(zeros.length, end - pos));
                        }
                    } catch (IOException e) {
                        try {
                            f.raf.setLength(size);
                        } catch (IOException suppressed) {
                            e.addSuppressed(suppressed);
                        }
                        throw e;
                    }
                }
            } catch (IOException e) {
                throw error("fallocate", path(), offset, length, e);
            }
        }

        /** The file system's free bytes for this user, or Long.MAX_VALUE where it cannot say. */
        private long usableSpace() {
            try {
                return java.nio.file.Files.getFileStore(path()).getUsableSpace();
            } catch (IOException | SecurityException e) {
                return Long.MAX_VALUE; // the writes then tell
            }
        }

        @Override
        void doTruncate(long length) {
            try {
                if (length < call(FileChannel::size)) {
                    call(c -> c.truncate(length));
                } else {
                    // FileChannel.truncate never grows a file
                    try (SeparateDescriptor f = new SeparateDescriptor(path())) {
                        f.raf.setLength(length);
                    }
                }
            } catch (IOException e) {
                throw error("ftruncate", path(), length, -1, e);
            }
        }

        @Override
        boolean doPunchHole(long offset, long length) {
            return false;
        }

        @Override
        long doSize() {
            try {
                return call(FileChannel::size);
            } catch (IOException e) {
                throw error("fstat", path(), -1, -1, e);
            }
        }

        @Override
        void doClose() {
            try {
                ch.close();
            } catch (IOException e) {
                throw error("close", path(), -1, -1, e);
            }
        }
    }

    /** A second, buffered descriptor for what FileChannel cannot do (grow a file). */
    private static final class SeparateDescriptor implements AutoCloseable {
        final java.io.RandomAccessFile raf;

        SeparateDescriptor(Path path) throws IOException {
            this.raf = new java.io.RandomAccessFile(path.toFile(), "rw");
        }

        @Override
        public void close() throws IOException {
            raf.close();
        }
    }

    private static final class NioCodec extends AbstractCodec {
        private final ZstdCompressCtx cctx = new ZstdCompressCtx();
        private final ZstdDecompressCtx dctx = new ZstdDecompressCtx();
        private final CRC32C crc = new CRC32C();

        NioCodec(IoBackend backend) {
            super(backend);
        }

        @Override
        int doCompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity,
                int level) {
            try {
                cctx.setLevel(level);
                return cctx.compressDirectByteBuffer(whole(dst), dstOffset, dstCapacity, whole(src), srcOffset, srcLength);
            } catch (ZstdException e) {
                throw new IllegalArgumentException("compress of " + srcLength + " bytes into " + dstCapacity
                        + ": " + e.getMessage(), e);
            }
        }

        @Override
        int doDecompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity) {
            try {
                return dctx.decompressDirectByteBuffer(whole(dst), dstOffset, dstCapacity, whole(src), srcOffset,
                        srcLength);
            } catch (ZstdException e) {
                // as spw_decompress: a frame that is fine but larger than the destination is the caller's
                // mistake, not corrupt data (zstd says so from the frame header's content size)
                if (e.getErrorCode() == Zstd.errDstSizeTooSmall()) {
                    throw new IllegalArgumentException("decompress of " + srcLength
                            + " bytes: output does not fit the destination", e);
                }
                throw new dev.spillway.CorruptDataException("decompress of " + srcLength + " bytes: " + e.getMessage(), e);
            }
        }

        @Override
        SpillBlock doSpillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
                int maxPayload, AlignedBuffer scratch) {
            ByteBuffer s = whole(scratch.buffer()); // all of it, whatever limit the caller left, as in C
            int h = SpillFormat.HEADER_SIZE;
            int codec = SpillFormat.CODEC_RAW;
            int payload = srcLength;
            if (level != SpillFormat.LEVEL_NONE && srcLength > 0) {
                int n = doCompress(src, srcOffset, srcLength, s, h, s.capacity() - h, level);
                if (n <= maxPayload) {
                    codec = SpillFormat.CODEC_ZSTD;
                    payload = n;
                }
            }
            if (codec == SpillFormat.CODEC_RAW) {
                s.put(h, whole(src), srcOffset, srcLength);
            }
            int stored = SpillFormat.storedSize(payload);
            SpillFormat.putHeader(s, 0, codec, payload, srcLength);
            s.put(h + payload, new byte[stored - h - payload]);
            SpillFormat.putCrc(s, 0, crcOf(s, payload));
            file.write(s, 0, stored, fileOffset);
            return new SpillBlock(stored, codec, payload);
        }

        /**
         * The SPI's offsets are absolute up to capacity, but zstd-jni and absolute bulk puts check
         * against the limit: give them a view with position 0 and limit = capacity.
         */
        private static ByteBuffer whole(ByteBuffer b) {
            return b.duplicate().clear();
        }

        private int crcOf(ByteBuffer block, int payload) {
            crc.reset();
            crc.update(block.duplicate().limit(16).position(0));
            crc.update(block.duplicate().limit(SpillFormat.HEADER_SIZE + payload).position(SpillFormat.HEADER_SIZE));
            return (int) crc.getValue();
        }

        @Override
        void doSpillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
                AlignedBuffer scratch) {
            ByteBuffer s = whole(scratch.buffer()); // all of it, whatever limit the caller left, as in C
            int n = file.read(s, 0, storedSize, fileOffset);
            if (n < storedSize) {
                throw corrupt(file, fileOffset, "block truncated: " + n + " of " + storedSize + " bytes on disk");
            }
            SpillFormat.Header hd;
            try {
                hd = SpillFormat.parseHeader(s, 0, storedSize, dstLength);
            } catch (dev.spillway.CorruptDataException e) {
                throw corrupt(file, fileOffset, e.getMessage());
            }
            int actual = crcOf(s, hd.payloadLength());
            if (actual != hd.crc()) {
                throw corrupt(file, fileOffset, String.format("crc32c mismatch (stored 0x%08x, computed 0x%08x)",
                        hd.crc(), actual));
            }
            if (hd.codec() == SpillFormat.CODEC_RAW) {
                whole(dst).put(dstOffset, s, SpillFormat.HEADER_SIZE, dstLength);
                return;
            }
            int got;
            try {
                got = dctx.decompressDirectByteBuffer(whole(dst), dstOffset, dstLength, s, SpillFormat.HEADER_SIZE,
                        hd.payloadLength());
            } catch (ZstdException e) {
                throw corrupt(file, fileOffset, "zstd: " + e.getMessage());
            }
            if (got != dstLength) {
                throw corrupt(file, fileOffset, "decompressed " + got + " bytes, " + dstLength + " expected");
            }
        }

        @Override
        void doClose() {
            cctx.close();
            dctx.close();
        }
    }
}
