package dev.spillway.samples;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.zip.CRC32C;

/**
 * Sample 2: take a page's memory as a {@link MemorySegment} without copying, and hand it to a native
 * function of libspillway ({@code spw_crc32c}) directly.
 *
 * <p>The page comes from {@link #pinPage}: today an {@link AlignedBuffer} read through the I/O
 * backend; once the buffer pool lands, that one method pins a page of a page file instead, and the
 * rest of the sample (view, checksum, compare) stays as it is.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp &lt;samples + spillway-core&gt; dev.spillway.samples.ZeroCopyChecksumSample
 * </pre>
 */
public final class ZeroCopyChecksumSample {
    static final int PAGE = 4096;

    // uint32_t spw_crc32c(uint32_t crc, const void *data, int64_t len). Short and never blocks, so a
    // critical downcall (no thread-state transition) is safe and cuts the call's cost to a few ns.
    static final MethodHandle SPW_CRC32C = CoreLibrary.spw("spw_crc32c",
            FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG), Linker.Option.critical(false));

    private ZeroCopyChecksumSample() {
    }

    /** A page held in memory while in use; closing it lets it go (unpin, or free here). */
    interface Page extends AutoCloseable {
        ByteBuffer buffer();

        long address();

        @Override
        void close();
    }

    /** Today: read page {@code pageNo} of the file into aligned memory. With the pool: a pinned page. */
    static Page pinPage(IoBackend backend, Path file, long pageNo) {
        AlignedBuffer memory = backend.allocate(PAGE);
        try (IoFile f = backend.open(file, EnumSet.of(OpenFlag.READ_ONLY, OpenFlag.DIRECT))) {
            int n = f.read(memory.buffer(), 0, PAGE, pageNo * PAGE);
            if (n != PAGE) {
                throw new IllegalStateException("page " + pageNo + " of " + file + " is past the end");
            }
        } catch (RuntimeException e) {
            memory.close();
            throw e;
        }
        return new Page() {
            @Override
            public ByteBuffer buffer() {
                return memory.buffer();
            }

            @Override
            public long address() {
                return memory.address();
            }

            @Override
            public void close() {
                memory.close();
            }
        };
    }

    public static void main(String[] args) throws Throwable {
        IoBackend backend = Backends.open(BackendKind.AUTO);
        System.out.println("I/O backend: " + Backends.selection());
        Path dir = Files.createTempDirectory("spillway-sample");
        Path file = dir.resolve("table.dat");
        byte[] data = new byte[8 * PAGE];
        new java.util.SplittableRandom(3).nextBytes(data);
        Files.write(file, data);
        try (Page page = pinPage(backend, file, 5)) {
            // The view: ofBuffer wraps the page's own memory, nothing is copied. Its address is the page's.
            MemorySegment seg = MemorySegment.ofBuffer(page.buffer());
            System.out.printf("page 5: buffer at 0x%x, segment at 0x%x, %d bytes, native %b%n", page.address(),
                    seg.address(), seg.byteSize(), seg.isNative());
            if (page.address() != 0 && seg.address() != page.address()) {
                throw new IllegalStateException("the segment is not a view of the page");
            }

            int viaFfm = (int) SPW_CRC32C.invokeExact(0, seg, seg.byteSize());
            int viaBackend = backend.crc32c(page.buffer(), 0, PAGE);
            CRC32C jdk = new CRC32C();
            jdk.update(data, 5 * PAGE, PAGE);
            System.out.printf("crc32c of page 5: spw_crc32c via FFM %08x, backend %08x, java.util.zip.CRC32C %08x%n",
                    viaFfm, viaBackend, (int) jdk.getValue());
            if (viaFfm != viaBackend || viaFfm != (int) jdk.getValue()) {
                throw new IllegalStateException("crc32c mismatch");
            }

            // Writes through the segment are writes to the page: flip a byte, the checksum follows.
            seg.set(java.lang.foreign.ValueLayout.JAVA_BYTE, 0, (byte) ~seg.get(java.lang.foreign.ValueLayout.JAVA_BYTE, 0));
            int after = (int) SPW_CRC32C.invokeExact(0, seg, seg.byteSize());
            if (after == viaFfm || after != backend.crc32c(page.buffer(), 0, PAGE)) {
                throw new IllegalStateException("a write through the segment did not reach the page");
            }
            System.out.printf("after flipping byte 0 through the segment: %08x (the page changed in place)%n", after);
        } finally {
            Files.delete(file);
            Files.delete(dir);
        }
    }
}
