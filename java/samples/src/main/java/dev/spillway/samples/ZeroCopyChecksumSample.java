package dev.spillway.samples;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_BYTE;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.Backends;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.stream.Stream;
import java.util.zip.CRC32C;

/**
 * Sample 2: pin a page of a page file in the buffer pool, view its memory as a
 * {@link MemorySegment} without copying, and hand that segment to a native function of
 * libspillway ({@code spw_crc32c}) directly.
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

    public static void main(String[] args) throws Throwable {
        Path dir = Files.createTempDirectory("spillway-sample");
        Path file = dir.resolve("table.pages");
        byte[] data;
        try (BufferManager bm = BufferManager.builder().memoryLimit(16L << 20)
                .temporaryDirectory(dir.resolve("tmp")).build()) {
            System.out.println("I/O backend: " + Backends.selection());
            // Write page 5 through the pool and close the file: the page is now on disk with its crc32c.
            try (PageFile f = bm.createPageFile(file, PAGE)) {
                while (f.pageCount() <= 5) {
                    f.allocatePage();
                }
                try (PageHandle h = f.pin(5, AccessIntent.WRITE)) {
                    data = new byte[h.size()];
                    new java.util.SplittableRandom(3).nextBytes(data);
                    h.put(0, data, 0, data.length);
                }
            }
            // Pin it again: loaded from disk (checked), then viewed in place.
            try (PageFile f = bm.openPageFile(file, PAGE); PageHandle page = f.pin(5, AccessIntent.WRITE)) {
                // The view: ofBuffer wraps the pinned frame's own memory (a duplicate leaves the shared
                // buffer's position and limit alone); nothing is copied.
                MemorySegment seg = MemorySegment.ofBuffer(page.buffer().duplicate());
                System.out.printf("page 5: pinned, segment at 0x%x, %d bytes, native %b%n", seg.address(),
                        seg.byteSize(), seg.isNative());

                int viaFfm = (int) SPW_CRC32C.invokeExact(0, seg, seg.byteSize());
                CRC32C jdk = new CRC32C();
                jdk.update(data, 0, data.length);
                System.out.printf("crc32c of page 5: spw_crc32c via FFM on the pinned page %08x, java.util.zip.CRC32C"
                        + " on the bytes written %08x%n", viaFfm, (int) jdk.getValue());
                if (viaFfm != (int) jdk.getValue()) {
                    throw new IllegalStateException("crc32c mismatch");
                }

                // Writes through the segment are writes to the pinned page: the handle sees them.
                byte before = page.getByte(0);
                seg.set(JAVA_BYTE, 0, (byte) ~before);
                if (page.getByte(0) != (byte) ~before) {
                    throw new IllegalStateException("a write through the segment did not reach the page");
                }
                int after = (int) SPW_CRC32C.invokeExact(0, seg, seg.byteSize());
                System.out.printf("after flipping byte 0 through the segment: %08x, and the page handle reads it"
                        + " (the page changed in place)%n", after);
            }
        } finally {
            try (Stream<Path> s = Files.walk(dir)) {
                for (Path p : s.sorted(Comparator.reverseOrder()).toList()) {
                    Files.deleteIfExists(p);
                }
            }
        }
    }
}
