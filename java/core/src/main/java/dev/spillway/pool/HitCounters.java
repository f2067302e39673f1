package dev.spillway.pool;

import java.util.ArrayList;
import java.util.List;

/**
 * The page-hit count of a manager, kept per thread ({@link ThreadState}) so that a hit writes no
 * shared memory, and summed here on demand. A thread registers its state once, when it first
 * pins; the states of threads that have died (and hold no read pin) are folded into {@link #retired} and dropped, so a
 * pool used by many short-lived threads does not keep one state per thread forever: when the
 * registered states double, and every {@link #SWEEP_EVERY} feeds.
 */
final class HitCounters {
    /** Live states before the first sweep for dead threads; doubles with the survivors after each. */
    private static final int FIRST_SWEEP = 64;
    /** Feeds between two sweeps for dead threads ({@link #feed}). */
    static final int SWEEP_EVERY = 64;

    // guarded by this
    private final List<ThreadState> states = new ArrayList<>();
    // guarded by this
    private long retired;
    // guarded by this
    private int sweepAt = FIRST_SWEEP;
    /** Feeds since the last sweep for dead threads. */
    // guarded by this
    private int feeds;

    /** Registers a thread's state (once per thread, from the ThreadLocal's initializer). */
    synchronized ThreadState register(ThreadState ts) {
        states.add(ts);
        if (states.size() >= sweepAt) {
            sweep();
            sweepAt = Math.max(FIRST_SWEEP, 2 * states.size());
        }
        return ts;
    }

    /** Hits of every thread so far. */
    synchronized long total() {
        sweep();
        long sum = retired;
        for (ThreadState ts : states) {
            sum += ts.hitTotal();
        }
        return sum;
    }

    /** Runs the action on every registered thread's state. */
    synchronized void forEach(java.util.function.Consumer<ThreadState> action) {
        for (ThreadState ts : states) {
            action.accept(ts);
        }
    }

    /**
     * Feeds every registered thread's handed-off hits (under the eviction lock, before each insert
     * and eviction), and every {@link #SWEEP_EVERY}th time then drops the states of threads that
     * have died: a miss walks the states twice (this feed, and the read-pin check of its victim),
     * so dead threads' states would cost every miss until the next registration sweeps them. With
     * a fresh thread per round (as {@code MissPathBenchmark} runs) they cost about 0.5 µs a miss
     * after 20 rounds, measured with perf on one thread.
     */
    synchronized void feed(java.util.function.Consumer<ThreadState> feeder) {
        for (ThreadState ts : states) {
            feeder.accept(ts);
        }
        if (++feeds >= SWEEP_EVERY) {
            feeds = 0;
            sweep(); // after the feed: a dead thread's last hits reach the policy first
        }
    }

    /** Whether any thread holds a read pin of the frame (a hazard pointer, {@link ThreadState}). */
    synchronized boolean hazardPinned(Frame fr) {
        for (ThreadState ts : states) {
            if (ts.holdsHazard(fr)) {
                return true;
            }
        }
        return false;
    }

    /** Read pins held by all threads. */
    synchronized int hazards() {
        int n = 0;
        for (ThreadState ts : states) {
            n += ts.hazardCount();
        }
        return n;
    }

    /** Threads whose state is registered now (tests check that dead ones go). */
    synchronized int registered() {
        return states.size();
    }

    // a dead thread writes no more: Thread.isAlive() returning false orders its last write before our read
    private void sweep() {
        states.removeIf(ts -> {
            if (ts.ownerAlive() || ts.hazardCount() > 0) {
                return false; // a dead thread's unclosed read pins keep their pages, as counted pins do
            }
            retired += ts.hitTotal();
            return true;
        });
    }
}
