package dev.spillway.samples;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import com.github.luben.zstd.Zstd;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.Codec;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import dev.spillway.io.SpillBlock;
import dev.spillway.io.SpillFormat;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.MemorySegment;
import java.lang.invoke.MethodHandle;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.EnumSet;

/**
 * Sample 3: the C core's zstd and zstd-jni speak the same format. A buffer compressed by libspillway
 * ({@code spw_compress}, called through FFM on MemorySegments) is decompressed by zstd-jni, and one
 * compressed by zstd-jni is decompressed by libspillway. Then one level up: a spill block written by
 * a native backend (compress + header + crc32c + pwrite in C) is read back by the pure-Java nio
 * backend, whose codec is zstd-jni. That is why a spill file outlives a change of backend.
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp &lt;samples + spillway-core + zstd-jni&gt; dev.spillway.samples.SharedZstdFormatSample
 * </pre>
 */
public final class SharedZstdFormatSample {
    static final MethodHandle CODEC_NEW = CoreLibrary.spw("spw_codec_new", FunctionDescriptor.of(ADDRESS));
    static final MethodHandle CODEC_FREE = CoreLibrary.spw("spw_codec_free", FunctionDescriptor.ofVoid(ADDRESS));
    static final MethodHandle COMPRESS_BOUND = CoreLibrary.spw("spw_compress_bound",
            FunctionDescriptor.of(JAVA_LONG, JAVA_LONG));
    // int64_t spw_compress(spw_codec *c, void *dst, int64_t cap, const void *src, int64_t len, int level)
    static final MethodHandle COMPRESS = CoreLibrary.spw("spw_compress",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG, JAVA_INT));
    // int64_t spw_decompress(spw_codec *c, void *dst, int64_t cap, const void *src, int64_t len)
    static final MethodHandle DECOMPRESS = CoreLibrary.spw("spw_decompress",
            FunctionDescriptor.of(JAVA_LONG, ADDRESS, ADDRESS, JAVA_LONG, ADDRESS, JAVA_LONG));

    private SharedZstdFormatSample() {
    }

    public static void main(String[] args) throws Throwable {
        byte[] csv = csv(256 * 1024);
        try (Arena arena = Arena.ofConfined()) {
            MemorySegment codec = (MemorySegment) CODEC_NEW.invokeExact();
            try {
                MemorySegment src = arena.allocate(csv.length);
                MemorySegment.copy(csv, 0, src, java.lang.foreign.ValueLayout.JAVA_BYTE, 0, csv.length);
                long bound = (long) COMPRESS_BOUND.invokeExact((long) csv.length);
                MemorySegment frame = arena.allocate(bound);

                // C core compresses (level 1) ...
                long n = (long) COMPRESS.invokeExact(codec, frame, bound, src, src.byteSize(), 1);
                check(n > 0, "spw_compress failed: " + CoreLibrary.strerror(n));
                // ... zstd-jni decompresses, straight from the same native memory (asByteBuffer: no copy)
                ByteBuffer out = ByteBuffer.allocateDirect(csv.length);
                long m = Zstd.decompressDirectByteBuffer(out, 0, csv.length, frame.asByteBuffer(), 0, (int) n);
                check(m == csv.length && equal(out, csv), "zstd-jni could not read the core's frame");
                System.out.printf("C core zstd -> zstd-jni: %d bytes -> %d -> %d, identical%n", csv.length, n, m);

                // zstd-jni compresses (level 3) ... the C core decompresses
                ByteBuffer jframe = ByteBuffer.allocateDirect((int) Zstd.compressBound(csv.length));
                int jn = (int) Zstd.compressDirectByteBuffer(jframe, 0, jframe.capacity(), src.asByteBuffer(), 0, csv.length, 3);
                MemorySegment back = arena.allocate(csv.length);
                long k = (long) DECOMPRESS.invokeExact(codec, back, back.byteSize(),
                        MemorySegment.ofBuffer(jframe).asSlice(0, jn), (long) jn);
                check(k == csv.length && back.mismatch(src) == -1, "the core could not read zstd-jni's frame: "
                        + (k < 0 ? CoreLibrary.strerror(k) : k + " bytes"));
                System.out.printf("zstd-jni -> C core zstd: %d bytes -> %d -> %d, identical%n", csv.length, jn, k);
            } finally {
                CODEC_FREE.invokeExact(codec);
            }
        }
        spillBlockAcrossBackends(csv);
    }

    /** A whole spill block (SpillFormat: header, crc32c, zstd payload, padding) from C, read by pure Java. */
    static void spillBlockAcrossBackends(byte[] csv) throws Exception {
        IoBackend nativeSide = Backends.open(BackendKind.AUTO);
        IoBackend javaSide = Backends.open(BackendKind.NIO);
        check(nativeSide.kind() != BackendKind.NIO, "no native backend here: " + Backends.selection());
        Path dir = Files.createTempDirectory("spillway-sample");
        Path file = dir.resolve("block.spill");
        ByteBuffer src = ByteBuffer.allocateDirect(csv.length).put(0, csv);
        try (IoFile wf = nativeSide.open(file, EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT));
                Codec wc = nativeSide.newCodec();
                AlignedBuffer ws = nativeSide.allocate(SpillFormat.scratchSize(csv.length))) {
            SpillBlock block = wc.spillWrite(wf, 0, src, 0, csv.length, 1, csv.length - 1, ws);
            System.out.printf("%s wrote a spill block: codec %s, payload %d, %d bytes on disk%n",
                    nativeSide.kind().name().toLowerCase(), block.codec() == SpillFormat.CODEC_ZSTD ? "zstd" : "raw",
                    block.payloadLength(), block.storedSize());
            try (IoFile rf = javaSide.open(file, EnumSet.of(OpenFlag.READ_ONLY)); Codec rc = javaSide.newCodec();
                    AlignedBuffer rs = javaSide.allocate(SpillFormat.scratchSize(csv.length))) {
                ByteBuffer dst = ByteBuffer.allocateDirect(csv.length);
                rc.spillRead(rf, 0, block.storedSize(), dst, 0, csv.length, rs);
                check(equal(dst, csv), "nio read a different block back");
                System.out.println("nio (zstd-jni, java.util.zip.CRC32C) read it back: header, crc32c and payload match");
            }
        } finally {
            Files.deleteIfExists(file);
            Files.delete(dir);
        }
    }

    static byte[] csv(int n) {
        StringBuilder sb = new StringBuilder(n + 64);
        java.util.SplittableRandom r = new java.util.SplittableRandom(11);
        while (sb.length() < n) {
            sb.append(r.nextInt(100000)).append(",customer_").append(r.nextInt(5000)).append(',')
                    .append(r.nextInt(1000)).append('.').append(r.nextInt(10)).append(r.nextInt(10)).append('\n');
        }
        return Arrays.copyOf(sb.toString().getBytes(StandardCharsets.US_ASCII), n);
    }

    static boolean equal(ByteBuffer b, byte[] expected) {
        byte[] got = new byte[expected.length];
        b.get(0, got);
        return Arrays.equals(got, expected);
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new IllegalStateException(what);
        }
    }
}
