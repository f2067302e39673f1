package dev.spillway.bench;

import java.lang.management.ManagementFactory;
import java.lang.management.ThreadMXBean;
import java.util.Arrays;
import java.util.Locale;
import java.util.function.IntSupplier;

/**
 * The operations of {@link BindingOverheadBenchmark}, timed by thread CPU time the way spw_bench times
 * them by process CPU time (the harness is single-threaded for these), in rounds of the harness's size.
 * On a shared machine a preempted round inflates wall time but not CPU time, so this ratio holds
 * still where JMH's wall-clock one cannot. One backend per JVM, as JMH forks, so no call site sees
 * two backends. {@link BindingOverheadReport} runs it; by hand:
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp java/bench/target/benchmarks.jar dev.spillway.bench.CpuTimeProbe ffm pread4kCached 5
 * </pre>
 * prints {@code cpu_median=… cpu_min=… cpu_max=…} in ns per operation.
 */
public final class CpuTimeProbe {
    private CpuTimeProbe() {
    }

    public static void main(String[] args) throws Exception {
        if (args.length != 3) {
            System.err.println("usage: CpuTimeProbe BACKEND OPERATION ROUNDS");
            System.exit(2);
        }
        String backend = args[0];
        String op = args[1];
        int rounds = Integer.parseInt(args[2]);
        BindingOverheadBenchmark bench = new BindingOverheadBenchmark();
        BindingOverheadBenchmark.NoopState noop = null;
        BindingOverheadBenchmark.IoState io = null;
        IntSupplier call;
        long ops; // the harness's ops_per_round for the same operation
        switch (op) {
            case "noop" -> {
                noop = new BindingOverheadBenchmark.NoopState();
                noop.binding = backend;
                noop.setup();
                BindingOverheadBenchmark.NoopState s = noop;
                call = () -> bench.noop(s);
                ops = 20_000_000;
            }
            case "pread4kCached", "pread4kDirect", "spillRoundTrip256k" -> {
                io = new BindingOverheadBenchmark.IoState();
                io.backend = backend;
                io.setup();
                BindingOverheadBenchmark.IoState s = io;
                call = switch (op) {
                    case "pread4kCached" -> () -> bench.pread4kCached(s);
                    case "pread4kDirect" -> () -> bench.pread4kDirect(s);
                    default -> () -> bench.spillRoundTrip256k(s);
                };
                ops = switch (op) {
                    case "pread4kCached" -> 200_000;
                    case "pread4kDirect" -> 4_000;
                    default -> 64;
                };
            }
            default -> throw new IllegalArgumentException("unknown operation " + op);
        }
        ThreadMXBean mx = ManagementFactory.getThreadMXBean();
        double[] cpu = new double[rounds];
        int sink = 0;
        for (int round = -3; round < rounds; round++) { // three warm-up rounds: C2 has compiled the path
            long c0 = mx.getCurrentThreadCpuTime();
            for (long i = 0; i < ops; i++) {
                sink += call.getAsInt();
            }
            if (round >= 0) {
                cpu[round] = (mx.getCurrentThreadCpuTime() - c0) / (double) ops;
            }
        }
        if (io != null) {
            io.tearDown();
        }
        Arrays.sort(cpu);
        System.out.printf(Locale.ROOT, "cpu_median=%.2f cpu_min=%.2f cpu_max=%.2f sink=%d%n",
                BindingOverheadReport.median(cpu), cpu[0], cpu[rounds - 1], sink);
    }
}
