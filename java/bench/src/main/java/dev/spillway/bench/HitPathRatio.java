package dev.spillway.bench;

import com.github.benmanes.caffeine.cache.Cache;
import com.github.benmanes.caffeine.cache.Caffeine;
import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Collections;
import java.util.List;
import java.util.Random;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;

/**
 * The hit-path comparison of {@link HitPathBenchmark} as interleaved rounds, for shared, noisy
 * machines (BENCHMARKS.md: a ratio measured in one run is stable, an absolute time is not). Each
 * round measures every (threads, keys, implementation) cell for a short slice, implementations in
 * a shuffled order, and the table gives per cell the median ns/op per thread with min..max, and
 * the median over rounds of the per-round ratio pin+unpin / Caffeine getIfPresent. The first
 * round is warm-up and not counted.
 *
 * <p>Run: {@code java -cp java/bench/target/benchmarks.jar dev.spillway.bench.HitPathRatio [rounds] [sliceMillis] [cpu]}
 * (defaults 9 rounds of 200 ms slices). With {@code cpu}, a slice's time is the CPU time of its
 * measuring threads instead of wall-clock time: on a machine loaded beyond its cores, time spent
 * preempted then no longer counts, which wall-clock ratios cannot separate from the work itself.
 * Work a cache hands to other threads (Caffeine drains its read buffer on
 * {@code ForkJoinPool.commonPool()}) is not counted either way; the pool feeds its policy only
 * when it inserts or evicts, which these hits never do. Each slice starts 30 ms after the last so
 * that such work has finished. {@code -Dspillway.bench.policy=NAME} picks the pool's
 * eviction policy (default: the library's, {@code EvictionPolicies.DEFAULT}).
 */
public final class HitPathRatio {
    /**
     * Pause before each slice: work a slice handed to other threads (Caffeine's drain on the
     * common pool) finishes before the next slice, whichever implementation it is.
     */
    private static final long SETTLE_MILLIS = 30;
    private static final String[] IMPLS = {"spillway pin+unpin", "caffeine getIfPresent", "ConcurrentHashMap.get"};

    private HitPathRatio() {
    }

    public static void main(String[] args) throws Exception {
        int rounds = args.length > 0 ? Integer.parseInt(args[0]) : 9;
        long sliceMillis = args.length > 1 ? Long.parseLong(args[1]) : 200;
        boolean cpu = args.length > 2 && args[2].equals("cpu");
        int pages = HitPathBenchmark.PAGES;
        Path dir = Files.createTempDirectory("spillway-hitratio");
        Path file = dir.resolve("hit.pf");
        String policy = System.getProperty("spillway.bench.policy", dev.spillway.eviction.EvictionPolicies.DEFAULT);
        try (BufferManager m = BufferManager.builder().memoryLimit(4L * pages * 4096).evictionPolicy(policy).build()) {
            PageFile f = m.createPageFile(file, 4096);
            Cache<Long, Object> caffeine = Caffeine.newBuilder().maximumSize(2L * pages).build();
            ConcurrentHashMap<Long, Object> map = new ConcurrentHashMap<>();
            Long[] boxed = new Long[pages + 1];
            for (int i = 0; i < pages; i++) {
                long p = f.allocatePage();
                boxed[(int) p] = p;
                caffeine.put(boxed[(int) p], Boolean.TRUE);
                map.put(boxed[(int) p], Boolean.TRUE);
            }
            String[] kinds = {"zipf", "uniform"};
            long[][] streams = {HitPathBenchmark.keyStream("zipf"), HitPathBenchmark.keyStream("uniform")};
            int[] threadCounts = {1, 2};
            double[][][][] ns = new double[threadCounts.length][kinds.length][IMPLS.length][rounds];
            Random shuffle = new Random(7);
            for (int round = -1; round < rounds; round++) {
                for (int t = 0; t < threadCounts.length; t++) {
                    for (int k = 0; k < kinds.length; k++) {
                        List<Integer> order = new ArrayList<>(List.of(0, 1, 2));
                        Collections.shuffle(order, shuffle);
                        for (int impl : order) {
                            Thread.sleep(SETTLE_MILLIS);
                            double v = measure(impl, threadCounts[t], streams[k], sliceMillis, cpu, f, caffeine, map, boxed);
                            if (round >= 0) {
                                ns[t][k][impl][round] = v;
                            }
                        }
                    }
                }
            }
            System.out.printf("%-3s %-8s %-22s %10s %21s   %s%n", "thr", "keys", "implementation", cpu ? "cpu ns/op" : "ns/op", "min..max",
                    "ratio to caffeine (median, min..max)");
            for (int t = 0; t < threadCounts.length; t++) {
                for (int k = 0; k < kinds.length; k++) {
                    for (int impl = 0; impl < IMPLS.length; impl++) {
                        double[] v = ns[t][k][impl].clone();
                        double[] ratio = new double[rounds];
                        for (int r = 0; r < rounds; r++) {
                            ratio[r] = ns[t][k][impl][r] / ns[t][k][1][r];
                        }
                        Arrays.sort(v);
                        Arrays.sort(ratio);
                        System.out.printf("%-3d %-8s %-22s %10.1f %10.1f..%-10.1f   %.2f (%.2f..%.2f)%n", threadCounts[t],
                                kinds[k], IMPLS[impl], v[rounds / 2], v[0], v[rounds - 1], ratio[rounds / 2], ratio[0],
                                ratio[rounds - 1]);
                    }
                }
            }
        } finally {
            Files.deleteIfExists(file);
            Files.deleteIfExists(dir);
        }
    }

    /** ns per operation per thread over one slice (wall-clock, or with {@code cpu} the threads' CPU time). */
    private static double measure(int impl, int threads, long[] keys, long sliceMillis, boolean cpu, PageFile f,
            Cache<Long, Object> caffeine, ConcurrentHashMap<Long, Object> map, Long[] boxed) throws Exception {
        AtomicLong ops = new AtomicLong();
        AtomicLong sink = new AtomicLong();
        AtomicLong cpuNanos = new AtomicLong();
        ThreadMXBean bean = ManagementFactory.getThreadMXBean();
        CountDownLatch ready = new CountDownLatch(threads);
        CountDownLatch go = new CountDownLatch(1);
        long[] deadline = new long[1];
        List<Thread> workers = new ArrayList<>();
        for (int t = 0; t < threads; t++) {
            final int offset = t * 7919;
            Thread w = new Thread(() -> {
                ready.countDown();
                try {
                    go.await();
                } catch (InterruptedException e) {
                    return;
                }
                long cpu0 = cpu ? bean.getCurrentThreadCpuTime() : 0;
                long n = 0;
                long s = 0;
                int i = offset;
                int mask = keys.length - 1;
                long end = deadline[0];
                while (System.nanoTime() < end) {
                    for (int j = 0; j < 1024; j++) {
                        long key = keys[i];
                        i = (i + 1) & mask;
                        switch (impl) {
                            case 0: {
                                PageHandle h = f.pin(key, AccessIntent.READ);
                                h.close();
                                s += h.isPinned() ? 1 : 0;
                                break;
                            }
                            case 1:
                                s += caffeine.getIfPresent(boxed[(int) key]) != null ? 1 : 0;
                                break;
                            default:
                                s += map.get(boxed[(int) key]) != null ? 1 : 0;
                                break;
                        }
                    }
                    n += 1024;
                }
                if (cpu) {
                    cpuNanos.addAndGet(bean.getCurrentThreadCpuTime() - cpu0);
                }
                ops.addAndGet(n);
                sink.addAndGet(s);
            });
            workers.add(w);
            w.start();
        }
        ready.await();
        long start = System.nanoTime();
        deadline[0] = start + sliceMillis * 1_000_000L;
        go.countDown();
        for (Thread w : workers) {
            w.join();
        }
        long elapsed = System.nanoTime() - start;
        if (sink.get() < 0) {
            System.out.print("");
        }
        return cpu ? (double) cpuNanos.get() / ops.get() : (double) elapsed * threads / ops.get();
    }
}
