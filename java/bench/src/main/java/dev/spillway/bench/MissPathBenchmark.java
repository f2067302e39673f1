package dev.spillway.bench;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.BackendKind;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicReference;

/**
 * The miss path: random 4 KiB page pins through the buffer pool with a working set far larger than
 * the memory limit, so nearly every pin misses and reads its page from disk (O_DIRECT pread, crc32c
 * check, eviction of a clean victim), on 1 and 2 threads. References in the same rounds, on the
 * same file and thread count: the native harness ({@code spw_bench}, O_DIRECT {@code pread} in C,
 * no JVM) and {@code FileChannel} opened with {@code ExtendedOpenOption.DIRECT}.
 *
 * <p>A plain timed program, not JMH: one operation is a disk read of about 50 µs, so the timer and
 * JIT effects JMH guards against are noise below a percent, while what matters on this shared
 * machine is that the three sides run interleaved round by round (the order rotates each round)
 * so that a slow minute of the disk hits all of them, and the harness is a separate process that
 * JMH cannot interleave. Warm-up rounds (filling the pool, and the JIT) are not counted: they repeat
 * for {@link #WARMUP_SECONDS} by default, because C2 compiles the pool's miss path for about the
 * first 3 s (perf on one thread: the compiler thread takes 40% of the CPU samples in the first
 * quarter of a 7 s run, 14% in the second, none in the third), and a measured round that runs
 * beside it competes for one of this machine's two cores. Every pin checks
 * the page's first long (its page number, written when the file was made): the pool must deliver
 * the right page, not just any bytes.
 *
 * <p>The page file ({@code --file}, default {@code <tmpdir>/spillway-misspath-<MiB>m.pf}) is made
 * once through the pool and kept for the next run, as spw_bench keeps its data file; its size is a
 * whole number of MiB so the harness reads the very same bytes ({@code --file F --size-mib N}).
 *
 * <pre>
 * export JAVA_HOME=/usr/lib/jvm/temurin-25-jdk-amd64
 * cmake -S . -B build/native -DCMAKE_BUILD_TYPE=Release &amp;&amp; cmake --build build/native --target spw_bench
 * mvn -q -o -pl java/bench -am package -DskipTests
 * $JAVA_HOME/bin/java --enable-native-access=ALL-UNNAMED -cp java/bench/target/benchmarks.jar \
 *     dev.spillway.bench.MissPathBenchmark [--file PATH] [--file-mib 256] [--limit-mib 8] [--ops 5000] \
 *     [--rounds 5] [--warmup-seconds 4] [--native build/native/spw_bench | --native none] [--backend auto]
 * </pre>
 * {@code --ops} is per thread per round. The result is aggregate reads per second per side.
 */
public final class MissPathBenchmark {
    static final int PAGE = 4096;
    /** Default warm-up, in seconds (see the class comment). */
    public static final double WARMUP_SECONDS = 4;
    /** The harness refuses data files below 64 MiB. */
    static final int HARNESS_MIN_MIB = 64;

    public static final String SPILLWAY = "spillway";
    public static final String FILE_CHANNEL = "filechannel";
    public static final String NATIVE = "native";

    /**
     * What to run. {@code harness} null leaves the native side out (a test, or no harness built).
     */
    public record Config(Path file, int fileMiB, long memoryLimit, int opsPerThread, int rounds, List<Integer> threads,
            Path harness, BackendKind backend, double warmupSeconds) {
        public Config {
            if (fileMiB < 1 || memoryLimit < PAGE || opsPerThread < 1 || rounds < 1 || threads.isEmpty()) {
                throw new IllegalArgumentException("miss path: sizes, ops and rounds must be positive");
            }
            if (!(warmupSeconds >= 0)) {
                throw new IllegalArgumentException("miss path: the warm-up must be 0 seconds or more, not " + warmupSeconds);
            }
            if (harness != null && fileMiB < HARNESS_MIN_MIB) {
                throw new IllegalArgumentException("miss path: the native harness needs a file of at least "
                        + HARNESS_MIN_MIB + " MiB, not " + fileMiB);
            }
        }

        public static Path defaultFile(int fileMiB) {
            return Path.of(System.getProperty("java.io.tmpdir"), "spillway-misspath-" + fileMiB + "m.pf");
        }
    }

    /**
     * Reads per second of each side, per round in round order, keyed {@code side + " t" + threads}
     * (e.g. {@code "spillway t2"}). Every side read with O_DIRECT: opening the FileChannel with
     * DIRECT fails where the file system refuses it.
     */
    public record Result(Config config, long dataPages, String backend, Map<String, double[]> iops,
            List<String> harnessCommands) {
        public static String key(String side, int threads) {
            return side + " t" + threads;
        }
    }

    private MissPathBenchmark() {
    }

    public static Result run(Config cfg) throws IOException, InterruptedException {
        long pages = (long) cfg.fileMiB() * (1 << 20) / PAGE; // the header page included
        ensurePageFile(cfg.file(), pages, cfg.backend());
        long dataPages = pages - 1;
        NativeHarness harness = cfg.harness() == null ? null : new NativeHarness(cfg.harness());
        Map<String, List<Double>> series = new LinkedHashMap<>();
        String backendName;
        try (BufferManager bm = BufferManager.builder().memoryLimit(cfg.memoryLimit()).backend(cfg.backend()).build();
                PageFile pf = bm.openPageFile(cfg.file(), PAGE);
                FileChannel fc = FileChannel.open(cfg.file(), StandardOpenOption.READ,
                        com.sun.nio.file.ExtendedOpenOption.DIRECT)) {
            backendName = bm instanceof dev.spillway.pool.StandardBufferManager s
                    ? s.backend().kind().name().toLowerCase(Locale.ROOT) : cfg.backend().name().toLowerCase(Locale.ROOT);
            // warm-up: a full pool, so that every later miss evicts, and the JIT: one round of each
            // side and thread count, repeated until cfg.warmupSeconds() have passed
            long warmupEnd = System.nanoTime() + (long) (cfg.warmupSeconds() * 1e9);
            int warmups = 0;
            do {
                for (int t : cfg.threads()) {
                    poolRound(pf, dataPages, t, cfg.opsPerThread(), -t - 100L * warmups);
                    channelRound(fc, dataPages, t, cfg.opsPerThread(), -t - 100L * warmups);
                }
                warmups++;
            } while (System.nanoTime() < warmupEnd);
            for (int round = 0; round < cfg.rounds(); round++) {
                for (int t : cfg.threads()) {
                    for (int k = 0; k < 3; k++) {
                        long seed = 1000L * round + t;
                        switch ((round + k) % 3) { // rotate who goes first: drift must not favour one side
                            case 0 -> add(series, Result.key(SPILLWAY, t), poolRound(pf, dataPages, t, cfg.opsPerThread(), seed));
                            case 1 -> add(series, Result.key(FILE_CHANNEL, t),
                                    channelRound(fc, dataPages, t, cfg.opsPerThread(), seed));
                            default -> {
                                if (harness != null) {
                                    add(series, Result.key(NATIVE, t), harnessRound(harness, cfg, t));
                                }
                            }
                        }
                    }
                }
            }
        }
        Map<String, double[]> out = new LinkedHashMap<>();
        series.forEach((k, v) -> out.put(k, v.stream().mapToDouble(Double::doubleValue).toArray()));
        return new Result(cfg, dataPages, backendName, out, harness == null ? List.of() : harness.commands());
    }

    private static void add(Map<String, List<Double>> series, String key, double v) {
        series.computeIfAbsent(key, k -> new ArrayList<>()).add(v);
    }

    /**
     * Makes the page file through the pool (page p holds p in its first long) unless one with the
     * right page count is there; a file of another size or format is replaced.
     */
    static void ensurePageFile(Path file, long pages, BackendKind backend) throws IOException {
        if (Files.exists(file)) {
            try (BufferManager bm = BufferManager.builder().memoryLimit(1 << 20).backend(backend).build();
                    PageFile pf = bm.openPageFile(file, PAGE)) {
                if (pf.pageCount() == pages && pf.freePageCount() == 0) {
                    return;
                }
            } catch (RuntimeException e) {
                // not a page file of ours (or of another version): made again below
            }
            Files.delete(file);
        }
        Path tmp = file.resolveSibling(file.getFileName() + ".creating");
        Files.deleteIfExists(tmp);
        try (BufferManager bm = BufferManager.builder().memoryLimit(64L << 20).backend(backend).build();
                PageFile pf = bm.createPageFile(tmp, PAGE)) {
            while (pf.pageCount() < pages) {
                long p = pf.allocatePage();
                try (PageHandle h = pf.pin(p, AccessIntent.WRITE)) {
                    h.putLong(0, p);
                }
            }
            pf.flush();
        }
        Files.move(tmp, file); // only a complete file gets the name a later run reuses
    }

    /** Runs {@code body(thread)} on {@code threads} threads released together; returns the wall seconds. */
    private static double timed(int threads, java.util.function.IntConsumer body) throws InterruptedException {
        CountDownLatch go = new CountDownLatch(1);
        AtomicReference<Throwable> failure = new AtomicReference<>();
        List<Thread> ts = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            int id = t;
            Thread th = new Thread(() -> {
                try {
                    go.await();
                    body.accept(id);
                } catch (Throwable e) {
                    failure.compareAndSet(null, e);
                }
            }, "misspath-" + t);
            th.start();
            ts.add(th);
        }
        long t0 = System.nanoTime();
        go.countDown();
        for (Thread th : ts) {
            th.join();
        }
        double secs = (System.nanoTime() - t0) / 1e9;
        if (failure.get() != null) {
            throw new IllegalStateException("miss path: " + failure.get(), failure.get());
        }
        return secs;
    }

    static double poolRound(PageFile pf, long dataPages, int threads, int ops, long seed) throws InterruptedException {
        double secs = timed(threads, t -> {
            SplittableRandom r = new SplittableRandom(seed * 31 + t);
            for (int i = 0; i < ops; i++) {
                long p = 1 + r.nextLong(dataPages);
                try (PageHandle h = pf.pin(p, AccessIntent.READ)) {
                    if (h.getLong(0) != p) {
                        throw new IllegalStateException("page " + p + " holds " + h.getLong(0));
                    }
                }
            }
        });
        return (double) ops * threads / secs;
    }

    static double channelRound(FileChannel fc, long dataPages, int threads, int ops, long seed)
            throws InterruptedException {
        double secs = timed(threads, t -> {
            SplittableRandom r = new SplittableRandom(seed * 31 + t);
            // O_DIRECT needs the buffer's address aligned too
            // one page exactly: the aligned slice has 2 pages when the allocation happens to be aligned
            ByteBuffer buf = ByteBuffer.allocateDirect(2 * PAGE).alignedSlice(PAGE).slice(0, PAGE);
            try {
                for (int i = 0; i < ops; i++) {
                    long pos = (1 + r.nextLong(dataPages)) * PAGE;
                    buf.clear();
                    while (buf.hasRemaining()) {
                        if (fc.read(buf, pos + buf.position()) < 0) {
                            throw new IllegalStateException("end of file at " + pos);
                        }
                    }
                }
            } catch (IOException e) {
                throw new java.io.UncheckedIOException(e);
            }
        });
        return (double) ops * threads / secs;
    }

    /** One measured round of the harness's O_DIRECT random reads (after its own warm-up round). */
    static double harnessRound(NativeHarness h, Config cfg, int threads) throws IOException, InterruptedException {
        String name = "pread_4k_direct_t" + threads;
        Map<String, double[]> r = h.run(List.of("--file", cfg.file().toString(), "--size-mib",
                Integer.toString(cfg.fileMiB()), "--rounds", "1", "--direct-ops", Integer.toString(cfg.opsPerThread()),
                "--only", name));
        double[] ns = r.get(name);
        if (ns == null) {
            throw new IllegalStateException("the harness printed no " + name);
        }
        return 1e9 / ns[0]; // its ns/op is wall time over every thread's reads: 1e9 / ns is aggregate IOPS
    }

    static double median(double[] v) {
        double[] s = v.clone();
        java.util.Arrays.sort(s);
        return BindingOverheadReport.median(s);
    }

    public static void main(String[] args) throws Exception {
        Map<String, String> o = new LinkedHashMap<>();
        for (int i = 0; i < args.length; i++) {
            if (!args[i].startsWith("--") || i + 1 >= args.length) {
                throw new IllegalArgumentException("usage: MissPathBenchmark [--file PATH] [--file-mib N] [--limit-mib N] "
                        + "[--ops N] [--rounds N] [--warmup-seconds S] [--native PATH|none] [--backend KIND]");
            }
            o.put(args[i].substring(2), args[++i]);
        }
        int mib = Integer.parseInt(o.getOrDefault("file-mib", "256"));
        String nat = o.get("native");
        Path harness = nat == null ? NativeHarness.find() : nat.equals("none") ? null : Path.of(nat);
        Config cfg = new Config(o.containsKey("file") ? Path.of(o.get("file")) : Config.defaultFile(mib), mib,
                Long.parseLong(o.getOrDefault("limit-mib", "8")) << 20, Integer.parseInt(o.getOrDefault("ops", "5000")),
                Integer.parseInt(o.getOrDefault("rounds", "5")), List.of(1, 2), harness,
                BackendKind.parse(o.getOrDefault("backend", "auto")),
                Double.parseDouble(o.getOrDefault("warmup-seconds", Double.toString(WARMUP_SECONDS))));
        Result r = run(cfg);
        System.out.printf(Locale.ROOT, "miss path: %s, %d data pages, memory limit %d MiB, backend %s, %d rounds%n",
                cfg.file(), r.dataPages(), cfg.memoryLimit() >> 20, r.backend(), cfg.rounds());
        System.out.println("| threads | spillway IOPS | filechannel IOPS | native IOPS |");
        System.out.println("| ---: | ---: | ---: | ---: |");
        for (int t : cfg.threads()) {
            double[] n = r.iops().get(Result.key(NATIVE, t));
            System.out.printf(Locale.ROOT, "| %d | %.0f | %.0f | %s |%n", t, median(r.iops().get(Result.key(SPILLWAY, t))),
                    median(r.iops().get(Result.key(FILE_CHANNEL, t))), n == null ? "n/a" : String.format(Locale.ROOT,
                            "%.0f", median(n)));
        }
    }
}
