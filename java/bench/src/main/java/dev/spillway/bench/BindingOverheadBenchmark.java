package dev.spillway.bench;

import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.Codec;
import dev.spillway.io.Diagnostics;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import dev.spillway.io.SpillBlock;
import dev.spillway.io.SpillFormat;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Level;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Param;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * What each binding costs per call: an empty native function, a 4 KiB pread from the page cache,
 * a 4 KiB O_DIRECT pread, and a 256 KiB spill write + read (CSV-like data, zstd level 1), through
 * the jni, ffm, jna and nio backends. The native harness ({@code native/bench/spw_bench.c}) does the
 * same operations on the same file with no JVM; {@link BindingOverheadReport} runs both in one
 * invocation and prints each backend as a ratio against it (goal: jni and ffm within 5% on 4 KiB I/O).
 *
 * <p>Run the whole comparison from the repository root (the Maven build configures build/native and
 * builds libspillway there; the harness is one more target of it):
 * <pre>
 * export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
 * mvn -o -q -pl java/core,java/bench -am package -DskipTests
 * cmake --build build/native --target spw_bench
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp java/bench/target/benchmarks.jar \
 *     dev.spillway.bench.BindingOverheadReport --iterations 5 --warmups 2
 * </pre>
 * or JMH alone: {@code $JAVA_HOME/bin/java -jar java/bench/target/benchmarks.jar BindingOverhead -f 1 -wi 2 -w 1s -i 3 -r 1s}.
 * The data file is {@code -Dspillway.bench.file} (default {@code /tmp/spw_bench.dat}, the harness's default),
 * created with random bytes when missing.
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
public class BindingOverheadBenchmark {
    static final int PAGE = 4096;
    static final int BLOCK = 256 * 1024;
    /** The harness's CACHED_REGION: page-cache reads stay in a warmed 64 MiB prefix. */
    static final long CACHED_REGION = 64L << 20;
    /** DuckDB's size-class rule, as the harness uses it: compressed only if it fits 224 KiB with its header. */
    static final int MAX_PAYLOAD = 224 * 1024 - SpillFormat.HEADER_SIZE;
    /** Precomputed offsets so both sides pay only for the read; a power of two for a cheap wrap. */
    static final int OFFSETS = 1 << 16;

    /** Backends that call libspillway: nio has no native function to call. */
    @State(Scope.Benchmark)
    public static class NoopState {
        @Param({"jni", "ffm", "jna"})
        public String binding;
        IoBackend backend;
        int x;

        @Setup
        public void setup() {
            backend = Backends.open(BackendKind.parse(binding));
            if (!Diagnostics.hasNativeNoop(backend)) {
                throw new IllegalStateException(binding + " has no native noop");
            }
        }
    }

    @State(Scope.Thread)
    public static class IoState {
        @Param({"jni", "ffm", "jna", "nio"})
        public String backend;
        IoBackend b;
        IoFile cached;
        IoFile direct;
        IoFile spill;
        AlignedBuffer page;
        AlignedBuffer scratch;
        ByteBuffer csv;
        ByteBuffer back;
        Codec codec;
        long[] cachedOffsets = new long[OFFSETS];
        long[] directOffsets = new long[OFFSETS];
        int i;

        @Setup(Level.Trial)
        public void setup() throws Exception {
            b = Backends.open(BackendKind.parse(backend));
            Path file = BenchFiles.dataFile(b);
            long size = BenchFiles.size(file);
            cached = b.open(file, EnumSet.of(OpenFlag.READ_ONLY));
            direct = b.open(file, EnumSet.of(OpenFlag.READ_ONLY, OpenFlag.DIRECT));
            if (!direct.isDirect()) {
                throw new IllegalStateException(file + " refuses O_DIRECT: the direct rows would be page-cache reads");
            }
            page = b.allocate(1 << 20);
            for (long off = 0; off < CACHED_REGION; off += 1 << 20) { // warm the region, as the harness does
                cached.read(page.buffer(), 0, 1 << 20, off);
            }
            SplittableRandom r = new SplittableRandom(42);
            for (int k = 0; k < OFFSETS; k++) {
                cachedOffsets[k] = r.nextLong(CACHED_REGION / PAGE) * PAGE;
                directOffsets[k] = r.nextLong(size / PAGE) * PAGE;
            }
            Path spillFile = Path.of(file + "." + backend + ".spill");
            spill = b.open(spillFile, EnumSet.of(OpenFlag.CREATE, OpenFlag.TRUNCATE, OpenFlag.DIRECT));
            java.nio.file.Files.delete(spillFile); // nothing left behind; the open descriptor keeps it alive
            scratch = b.allocate(SpillFormat.scratchSize(BLOCK));
            csv = ByteBuffer.allocateDirect(BLOCK);
            csv.put(0, BenchFiles.csv(BLOCK, 6));
            back = ByteBuffer.allocateDirect(BLOCK);
            codec = b.newCodec();
        }

        @TearDown(Level.Trial)
        public void tearDown() {
            codec.close();
            scratch.close();
            page.close();
            spill.close();
            direct.close();
            cached.close();
        }
    }

    @Benchmark
    public int noop(NoopState s) {
        return Diagnostics.nativeNoop(s.backend, s.x++);
    }

    @Benchmark
    public int pread4kCached(IoState s) {
        return s.cached.read(s.page.buffer(), 0, PAGE, s.cachedOffsets[s.i++ & (OFFSETS - 1)]);
    }

    @Benchmark
    public int pread4kDirect(IoState s) {
        return s.direct.read(s.page.buffer(), 0, PAGE, s.directOffsets[s.i++ & (OFFSETS - 1)]);
    }

    /** One spilled block out and back: compress + write, then read + check + decompress (two crossings). */
    @Benchmark
    public int spillRoundTrip256k(IoState s) {
        SpillBlock blk = s.codec.spillWrite(s.spill, 0, s.csv, 0, BLOCK, 1, MAX_PAYLOAD, s.scratch);
        s.codec.spillRead(s.spill, 0, blk.storedSize(), s.back, 0, BLOCK, s.scratch);
        return blk.storedSize();
    }
}
