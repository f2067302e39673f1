package dev.spillway.bench;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import dev.spillway.io.NativeLibrary;
import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.SymbolLookup;
import java.lang.invoke.MethodHandle;
import java.util.concurrent.TimeUnit;
import org.openjdk.jmh.annotations.Benchmark;
import org.openjdk.jmh.annotations.BenchmarkMode;
import org.openjdk.jmh.annotations.Fork;
import org.openjdk.jmh.annotations.Measurement;
import org.openjdk.jmh.annotations.Mode;
import org.openjdk.jmh.annotations.OutputTimeUnit;
import org.openjdk.jmh.annotations.Scope;
import org.openjdk.jmh.annotations.Setup;
import org.openjdk.jmh.annotations.State;
import org.openjdk.jmh.annotations.TearDown;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The measurement behind the ffm backend's choice of {@code Linker.Option.critical(false)} for
 * spw_noop and spw_crc32c (and only those): the same downcall with and without it.
 *
 * <pre>
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -jar java/bench/target/benchmarks.jar FfmCallOptions -f 1 -wi 2 -w 1s -i 3 -r 1s
 * </pre>
 */
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Fork(value = 1, jvmArgsAppend = "--enable-native-access=ALL-UNNAMED")
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@State(Scope.Thread)
public class FfmCallOptionsBenchmark {
    static final Linker LINKER = Linker.nativeLinker();
    static final SymbolLookup CORE;

    static {
        NativeLibrary.load();
        CORE = SymbolLookup.loaderLookup();
    }

    static MethodHandle fn(String name, FunctionDescriptor fd, Linker.Option... o) {
        return LINKER.downcallHandle(CORE.find(name).orElseThrow(), fd, o);
    }

    static final FunctionDescriptor NOOP = FunctionDescriptor.of(JAVA_INT, JAVA_INT);
    static final FunctionDescriptor CRC = FunctionDescriptor.of(JAVA_INT, JAVA_INT, ADDRESS, JAVA_LONG);
    static final MethodHandle NOOP_PLAIN = fn("spw_noop", NOOP);
    static final MethodHandle NOOP_CRITICAL = fn("spw_noop", NOOP, Linker.Option.critical(false));
    static final MethodHandle CRC_PLAIN = fn("spw_crc32c", CRC);
    static final MethodHandle CRC_CRITICAL = fn("spw_crc32c", CRC, Linker.Option.critical(false));

    Arena arena;
    MemorySegment page;
    int x;

    @Setup
    public void setup() {
        arena = Arena.ofConfined();
        page = arena.allocate(4096, 4096);
    }

    @TearDown
    public void tearDown() {
        arena.close();
    }

    @Benchmark
    public int noopPlain() throws Throwable {
        return (int) NOOP_PLAIN.invokeExact(x++);
    }

    @Benchmark
    public int noopCritical() throws Throwable {
        return (int) NOOP_CRITICAL.invokeExact(x++);
    }

    @Benchmark
    public int crc32c4kPlain() throws Throwable {
        return (int) CRC_PLAIN.invokeExact(0, page, 4096L);
    }

    @Benchmark
    public int crc32c4kCritical() throws Throwable {
        return (int) CRC_CRITICAL.invokeExact(0, page, 4096L);
    }
}
