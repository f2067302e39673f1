package dev.spillway.io;

import dev.spillway.ClosedException;
import java.io.ByteArrayOutputStream;
import java.net.URI;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.Set;

/**
 * The backends over libspillway (jni, ffm, jna): one implementation of the SPI whose only
 * difference between them is the {@link NativeCalls} binding that crosses into C. Argument checks
 * come from {@link AbstractIoFile} and {@link AbstractCodec}; return codes become exceptions
 * through {@link NativeCodes}; a file's descriptor is held for the length of each call so a
 * concurrent close can never hand it to another file mid-call.
 */
final class NativeCoreBackend implements IoBackend {
    private final BackendKind kind;
    private final NativeCalls calls;
    private final int minLevel;
    private final int maxLevel;
    /** One deallocator for every buffer (a method reference made per allocation would cost 16 bytes each). */
    private final AlignedBuffer.Deallocator free;
    /** One for every mapping; being its deallocator is how {@link #discard} knows a buffer is this backend's mapping. */
    private final AlignedBuffer.Deallocator unmap;

    private NativeCoreBackend(BackendKind kind, NativeCalls calls) {
        this.kind = kind;
        this.calls = calls;
        this.minLevel = calls.zstdMinLevel();
        this.maxLevel = calls.zstdMaxLevel();
        this.free = (address, size) -> calls.alignedFree(address);
        this.unmap = (address, size) -> {
            int r = calls.unmap(address, size);
            if (r < 0) {
                throw NativeCodes.ioError("unmap", null, -1, size, r, calls::strerror);
            }
        };
    }

    /** Wraps a binding after checking that the library it reaches is the version this jar expects. */
    static IoBackend create(BackendKind kind, NativeCalls calls) {
        String v = calls.version();
        if (!NativeLibrary.VERSION.equals(v)) {
            throw new UnsatisfiedLinkError("libspillway version " + v + " does not match the jar's " + NativeLibrary.VERSION);
        }
        return new NativeCoreBackend(kind, calls);
    }

    @Override
    public BackendKind kind() {
        return kind;
    }

    @Override
    public IoFile open(Path path, Set<OpenFlag> flags) {
        byte[] p = nulTerminatedBytes(path);
        long r = calls.open(p, NativeCodes.openFlags(flags), 0600);
        if (r < 0) {
            throw NativeCodes.ioError("open", path, -1, -1, r, calls::strerror);
        }
        return new CoreFile(path, (int) (r >>> 1), (r & 1) != 0, flags.contains(OpenFlag.READ_ONLY));
    }

    /**
     * The path's bytes as the OS knows them, NUL-terminated, for C. Not toString(): it decodes the
     * bytes with sun.jnu.encoding and turns a byte invalid in it (a file name that is no UTF-8,
     * from another system or another locale) into U+FFFD, so C would get ENOENT or open another
     * file than nio. toUri() percent-encodes the raw bytes of a path of the default file system,
     * losslessly; it also stats the file (to append '/' to a directory), so it is taken only where
     * the string is not plain ASCII, which no decoding can have altered.
     */
    static byte[] nulTerminatedBytes(Path path) {
        String s = path.toString();
        if (s.chars().allMatch(c -> c < 0x80)) {
            return (s + '\0').getBytes(StandardCharsets.US_ASCII);
        }
        URI uri = path.toAbsolutePath().toUri();
        if (!"file".equals(uri.getScheme())) {
            return (s + '\0').getBytes(StandardCharsets.UTF_8); // not the OS's file system: no raw bytes to get
        }
        String raw = uri.getRawPath();
        ByteArrayOutputStream b = new ByteArrayOutputStream(raw.length() + 1);
        for (int i = 0; i < raw.length(); i++) {
            char c = raw.charAt(i);
            if (c == '%' && i + 2 < raw.length()) {
                b.write(Integer.parseInt(raw, i + 1, i + 3, 16));
                i += 2;
            } else if (c < 0x80) {
                b.write(c);
            } else { // toUri() escapes every byte above 0x7f; kept correct should that change
                b.writeBytes(String.valueOf(c).getBytes(StandardCharsets.UTF_8));
            }
        }
        byte[] bytes = b.toByteArray();
        int n = bytes.length;
        if (n > 1 && bytes[n - 1] == '/') {
            n--; // the '/' toUri() appends to a directory; a Path never ends with one otherwise
        }
        bytes = Arrays.copyOf(bytes, n + 1);
        bytes[n] = 0;
        return bytes;
    }

    @Override
    public AlignedBuffer allocate(int size) {
        checkSize("allocate", size);
        long address = calls.alignedAlloc(size, ALIGNMENT);
        if (address == 0) {
            throw new OutOfMemoryError("spw_aligned_alloc of " + size + " bytes failed");
        }
        try {
            return new AlignedBuffer(calls.wrap(address, size), address, size, free);
        } catch (RuntimeException | Error e) {
            calls.alignedFree(address); // no buffer owns it: it would never be freed
            throw e;
        }
    }

    /**
     * The bounds of the nio backend, so a size works on all four or none: past them a JDK cannot
     * wrap the memory as one ByteBuffer everywhere (ffm's asByteBuffer stops at about
     * Integer.MAX_VALUE - 8), and that must be known before C hands out the memory.
     */
    private static void checkSize(String op, int size) {
        if (size <= 0 || size > Integer.MAX_VALUE - ALIGNMENT) {
            throw new IllegalArgumentException(op + ": size " + size + " must be in [1, "
                    + (Integer.MAX_VALUE - ALIGNMENT) + "]");
        }
    }

    @Override
    public AlignedBuffer map(int size) {
        checkSize("map", size);
        long address = calls.map(size);
        if (address == 0) {
            throw new OutOfMemoryError("spw_map of " + size + " bytes failed");
        }
        try {
            NativeCalls.Wrapped w = calls.wrapAnchored(address, size);
            return new AlignedBuffer(w.buffer(), w.anchor(), address, size, unmap);
        } catch (RuntimeException | Error e) {
            calls.unmap(address, size); // no buffer owns it: it would never be unmapped
            throw e;
        }
    }

    @Override
    public boolean canDiscard() {
        return true;
    }

    @Override
    public void discard(AlignedBuffer buffer, int offset, int length) {
        if (buffer == null) {
            throw new NullPointerException("discard: buffer is null");
        }
        if (!buffer.isOpen()) {
            throw new ClosedException("discard: aligned buffer of " + buffer.size() + " bytes is closed");
        }
        if (!buffer.freedBy(unmap)) {
            throw new IllegalArgumentException("discard: the buffer of " + buffer.size() + " bytes is not a mapping of"
                    + " this " + kind.name().toLowerCase() + " backend (only memory from its map() can be discarded)");
        }
        if (offset < 0 || length < 0 || (long) offset + length > buffer.size()) {
            throw new IndexOutOfBoundsException("discard: range [" + offset + ", +" + length
                    + ") outside the mapping of " + buffer.size() + " bytes");
        }
        if (length == 0) {
            return;
        }
        int r = calls.discard(buffer.buffer(), offset, length);
        if (r < 0) {
            throw NativeCodes.ioError("discard", null, offset, length, r, calls::strerror);
        }
    }

    @Override
    public int crc32c(ByteBuffer data, int offset, int length) {
        Checks.range("crc32c", data, offset, length);
        return calls.crc32c(0, data, offset, length);
    }

    @Override
    public Codec newCodec() {
        long handle = calls.codecNew();
        if (handle == 0) {
            throw new OutOfMemoryError("spw_codec_new failed");
        }
        return new CoreCodec(handle);
    }

    @Override
    public int minLevel() {
        return minLevel;
    }

    @Override
    public int maxLevel() {
        return maxLevel;
    }

    /** spw_noop through this backend's binding ({@link Diagnostics}). */
    int noop(int x) {
        return calls.noop(x);
    }

    @Override
    public String toString() {
        return kind.name().toLowerCase() + " backend over libspillway " + NativeLibrary.VERSION;
    }

    private final class CoreFile extends AbstractIoFile {
        private final int fd;

        CoreFile(Path path, int fd, boolean direct, boolean readOnly) {
            super(path, direct, readOnly);
            this.fd = fd;
        }

        @Override
        int doRead(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
            return (int) check("pread", calls.pread(fd, dst, dstOffset, length, fileOffset), fileOffset, length);
        }

        @Override
        void doWrite(ByteBuffer src, int srcOffset, int length, long fileOffset) {
            check("pwrite", calls.pwrite(fd, src, srcOffset, length, fileOffset), fileOffset, length);
        }

        @Override
        void doSync() {
            check("fdatasync", calls.fdatasync(fd), -1, -1);
        }

        @Override
        void doAllocate(long offset, long length) {
            if (length > 0) {
                check("fallocate", calls.fallocate(fd, offset, length), offset, length);
            }
        }

        @Override
        void doTruncate(long length) {
            check("ftruncate", calls.ftruncate(fd, length), length, -1);
        }

        @Override
        boolean doPunchHole(long offset, long length) {
            if (length == 0) {
                return true;
            }
            long r = calls.punchHole(fd, offset, length);
            if (r == -Errno.EOPNOTSUPP) {
                return false;
            }
            check("punch hole", r, offset, length);
            return true;
        }

        @Override
        long doSize() {
            return check("fstat", calls.fileSize(fd), -1, -1);
        }

        @Override
        void doClose() {
            check("close", calls.close(fd), -1, -1);
        }

        NativeCoreBackend backend() {
            return NativeCoreBackend.this;
        }

        private long check(String op, long r, long offset, long length) {
            if (r < 0) {
                throw NativeCodes.ioError(op, path(), offset, length, r, calls::strerror);
            }
            return r;
        }
    }

    private final class CoreCodec extends AbstractCodec {
        private long handle;

        CoreCodec(long handle) {
            super(NativeCoreBackend.this);
            this.handle = handle;
        }

        @Override
        int doCompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity,
                int level) {
            long r = calls.compress(handle, src, srcOffset, srcLength, dst, dstOffset, dstCapacity, level);
            if (r == NativeCodes.E_OVERLAP) { // views of one buffer that Java cannot tell apart
                throw overlap("compress", null, "src", srcOffset, srcLength, "dst", dstOffset, dstCapacity);
            }
            return (int) NativeCodes.codecResult("compress", r, srcLength, calls::strerror);
        }

        @Override
        int doDecompress(ByteBuffer src, int srcOffset, int srcLength, ByteBuffer dst, int dstOffset, int dstCapacity) {
            long r = calls.decompress(handle, src, srcOffset, srcLength, dst, dstOffset, dstCapacity);
            if (r == NativeCodes.E_OVERLAP) { // views of one buffer that Java cannot tell apart
                throw overlap("decompress", null, "src", srcOffset, srcLength, "dst", dstOffset, dstCapacity);
            }
            return (int) NativeCodes.codecResult("decompress", r, srcLength, calls::strerror);
        }

        @Override
        SpillBlock doSpillWrite(IoFile file, long fileOffset, ByteBuffer src, int srcOffset, int srcLength, int level,
                int maxPayload, AlignedBuffer scratch) {
            CoreFile f = own(file, "spill write");
            f.acquire("spill write");
            try {
                long r = calls.spillWrite(handle, f.fd, fileOffset, src, srcOffset, srcLength, level, maxPayload,
                        scratch.buffer(), scratch.size());
                if (r == NativeCodes.E_OVERLAP) { // views of one buffer that Java cannot tell apart
                    throw overlap("spill write", file, "src", srcOffset, srcLength, "scratch", 0, scratch.size());
                }
                return NativeCodes.spillWriteResult(file, fileOffset, srcLength, r, calls::strerror);
            } finally {
                f.release();
            }
        }

        @Override
        void doSpillRead(IoFile file, long fileOffset, int storedSize, ByteBuffer dst, int dstOffset, int dstLength,
                AlignedBuffer scratch) {
            CoreFile f = own(file, "spill read");
            f.acquire("spill read");
            try {
                long r = calls.spillRead(handle, f.fd, fileOffset, storedSize, dst, dstOffset, dstLength,
                        scratch.buffer(), scratch.size());
                if (r == NativeCodes.E_OVERLAP) { // views of one buffer that Java cannot tell apart
                    throw overlap("spill read", file, "dst", dstOffset, dstLength, "scratch", 0, storedSize);
                }
                NativeCodes.spillReadResult(file, fileOffset, storedSize, r, calls::strerror);
            } finally {
                f.release();
            }
        }

        private IllegalArgumentException overlap(String op, IoFile file, String a, int aOffset, int aLength, String b,
                int bOffset, int bLength) {
            return new IllegalArgumentException(op + (file == null ? "" : " on " + file.path()) + ": " + a + " ["
                    + aOffset + ", +" + aLength + ") and " + b + " [" + bOffset + ", +" + bLength
                    + ") overlap in memory (views of the same memory; the C core refused them: "
                    + calls.strerror(NativeCodes.E_OVERLAP) + ", code " + NativeCodes.E_OVERLAP + ")");
        }

        /** The fused calls need this backend's descriptor: a file of another backend is a caller's mistake. */
        private CoreFile own(IoFile file, String op) {
            if (file instanceof CoreFile && ((CoreFile) file).backend() == NativeCoreBackend.this) {
                return (CoreFile) file;
            }
            throw new IllegalArgumentException(op + ": " + file + " was not opened by this " + kind.name().toLowerCase()
                    + " backend");
        }

        @Override
        void doClose() {
            calls.codecFree(handle);
            handle = 0;
        }
    }
}
