package dev.spillway.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Comparator;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.TimeUnit;
import java.util.stream.Stream;
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
import org.openjdk.jmh.annotations.Threads;
import org.openjdk.jmh.annotations.Warmup;

/**
 * The hit path: pin + unpin of a resident page, against Caffeine {@code getIfPresent} and a
 * {@code ConcurrentHashMap.get} on the same key stream (zipf or uniform over the same keys), one
 * and two threads, in the same run. Every page is resident (the memory limit holds them all), so
 * each pin is a hit; Caffeine and the map hold the same keys, with keys boxed ahead of time so
 * neither side pays for boxing. The pool runs its default eviction policy. Neither side runs its
 * policy for most of these hits: the pool records each hit in its thread's ring and feeds the
 * policy only before it inserts or evicts (never, in this loop of hits only), and Caffeine
 * (default settings) hands its read buffer to a task on {@code ForkJoinPool.commonPool()} and
 * drops reads while that is pending.
 *
 * <p>Run (after {@code mvn -o -pl java/bench -am package -DskipTests}):
 * <pre>
 * java -jar java/bench/target/benchmarks.jar HitPath -prof gc -f 1 -wi 3 -w 1s -i 5 -r 1s
 * </pre>
 * Read {@code ns/op} for the cost of one lookup (pin + unpin for Spillway) and
 * {@code gc.alloc.rate.norm} (B/op) for the allocation per operation; the {@code _1t} and
 * {@code _2t} methods are the thread counts.
 *
 * <p>What the comparison means. The three sides do different amounts of work per operation:
 * the map only finds the entry; Caffeine finds it and offers it to a lossy read buffer, which
 * another thread drains into its policy (under a tight loop most offers find the buffer full and
 * are dropped: one drain per 834 reads on one thread here); Spillway finds the frame and takes and
 * releases an exact pin (a read pin is a hazard pointer in the thread's own slots: one fenced
 * store, then a release store to unpin, and nothing written to the frame), and records the hit in
 * its thread's ring, which the policy reads at its next decision. So the Spillway/Caffeine ratio is
 * mostly the price of exact pins; the Spillway/map ratio bounds what a cheaper probe alone could
 * win. Caffeine's drain runs on the common pool, which on a 2-core machine competes with the two
 * measuring threads of the {@code _2t} methods. On a machine loaded beyond its cores, take ratios
 * from {@link HitPathRatio} (interleaved rounds, optionally on CPU time) rather than from one JMH
 * run; its CPU-time mode does not count Caffeine's drain (another thread).
 */
@State(Scope.Benchmark)
@BenchmarkMode(Mode.AverageTime)
@OutputTimeUnit(TimeUnit.NANOSECONDS)
@Warmup(iterations = 3, time = 1)
@Measurement(iterations = 5, time = 1)
@Fork(value = 1, jvmArgsAppend = {"--enable-native-access=ALL-UNNAMED"})
public class HitPathBenchmark {
    /** Resident pages: 4096 pages of 4 KiB (16 MiB), more than fits a core's L2 so lookups are honest. */
    static final int PAGES = 4096;
    /** Length of the precomputed key stream (power of two). */
    static final int STREAM = 1 << 16;
    /** Zipf exponent of the skewed stream, the usual skew of cache benchmarks (YCSB uses 0.99). */
    static final double ZIPF_S = 0.99;

    @Param({"zipf", "uniform"})
    public String keys;

    private Path dir;
    private BufferManager manager;
    private PageFile file;
    private Cache<Long, Object> caffeine;
    private ConcurrentHashMap<Long, Object> map;
    long[] pages;
    Long[] boxed;

    @Setup(Level.Trial)
    public void setUp() throws IOException {
        dir = Files.createTempDirectory("spillway-hitpath");
        manager = BufferManager.builder().memoryLimit(4L * PAGES * 4096).build();
        file = manager.createPageFile(dir.resolve("hit.pf"), 4096);
        caffeine = Caffeine.newBuilder().maximumSize(2L * PAGES).build();
        map = new ConcurrentHashMap<>();
        for (int i = 0; i < PAGES; i++) {
            long p = file.allocatePage();
            try (PageHandle h = file.pin(p, AccessIntent.WRITE)) {
                h.putLong(0, p);
            }
            caffeine.put(p, Boolean.TRUE);
            map.put(p, Boolean.TRUE);
        }
        file.flush();
        pages = keyStream(keys);
        boxed = new Long[STREAM];
        for (int i = 0; i < STREAM; i++) {
            boxed[i] = pages[i];
        }
    }

    @TearDown(Level.Trial)
    public void tearDown() throws IOException {
        manager.close();
        try (Stream<Path> s = Files.walk(dir)) {
            for (Path p : (Iterable<Path>) s.sorted(Comparator.reverseOrder())::iterator) {
                Files.delete(p);
            }
        }
    }

    /** Page numbers 1..PAGES; zipf ranks are mapped to pages by a fixed shuffle so hot pages are scattered. */
    static long[] keyStream(String kind) {
        Random r = new Random(42);
        long[] perm = new long[PAGES];
        for (int i = 0; i < PAGES; i++) {
            perm[i] = i + 1;
        }
        for (int i = PAGES - 1; i > 0; i--) {
            int j = r.nextInt(i + 1);
            long t = perm[i];
            perm[i] = perm[j];
            perm[j] = t;
        }
        long[] out = new long[STREAM];
        if (kind.equals("uniform")) {
            for (int i = 0; i < STREAM; i++) {
                out[i] = perm[r.nextInt(PAGES)];
            }
            return out;
        }
        double[] cdf = new double[PAGES];
        double sum = 0;
        for (int i = 0; i < PAGES; i++) {
            sum += 1.0 / Math.pow(i + 1, ZIPF_S);
            cdf[i] = sum;
        }
        for (int i = 0; i < STREAM; i++) {
            double u = r.nextDouble() * sum;
            int lo = 0;
            int hi = PAGES - 1;
            while (lo < hi) {
                int mid = (lo + hi) >>> 1;
                if (cdf[mid] < u) {
                    lo = mid + 1;
                } else {
                    hi = mid;
                }
            }
            out[i] = perm[lo];
        }
        return out;
    }

    /** Each thread walks the stream from its own offset. */
    @State(Scope.Thread)
    public static class Cursor {
        int i;

        @Setup(Level.Trial)
        public void setUp() {
            i = (int) (Thread.currentThread().getId() * 7919) & (STREAM - 1);
        }

        int next() {
            int k = i;
            i = (k + 1) & (STREAM - 1);
            return k;
        }
    }

    private Object pinUnpin(Cursor c) {
        PageHandle h = file.pin(pages[c.next()], AccessIntent.READ);
        h.close();
        return h;
    }

    @Benchmark
    @Threads(1)
    public Object spillwayPinUnpin_1t(Cursor c) {
        return pinUnpin(c);
    }

    @Benchmark
    @Threads(2)
    public Object spillwayPinUnpin_2t(Cursor c) {
        return pinUnpin(c);
    }

    @Benchmark
    @Threads(1)
    public Object caffeineGetIfPresent_1t(Cursor c) {
        return caffeine.getIfPresent(boxed[c.next()]);
    }

    @Benchmark
    @Threads(2)
    public Object caffeineGetIfPresent_2t(Cursor c) {
        return caffeine.getIfPresent(boxed[c.next()]);
    }

    @Benchmark
    @Threads(1)
    public Object concurrentHashMapGet_1t(Cursor c) {
        return map.get(boxed[c.next()]);
    }

    @Benchmark
    @Threads(2)
    public Object concurrentHashMapGet_2t(Cursor c) {
        return map.get(boxed[c.next()]);
    }
}
