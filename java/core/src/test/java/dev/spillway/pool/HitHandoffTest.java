package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.Backends;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.Executor;
import java.util.concurrent.RejectedExecutionException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Page hits reach the eviction policy through hand-offs to the maintenance executor: one task per
 * hand-off while none is pending, a batch dropped while the previous one waits, and a miss feeding
 * whatever is waiting when the executor never runs its tasks.
 */
class HitHandoffTest extends PoolTestBase {
    private static final int PS = 4096;

    /** Counts the accesses it is fed per page, on top of the tests' plain LRU. */
    static final class CountingPolicy extends TestLru {
        final ConcurrentHashMap<Long, AtomicLong> accesses = new ConcurrentHashMap<>();

        CountingPolicy(int hint) {
            super(hint);
        }

        long accesses(long key) {
            AtomicLong n = accesses.get(key);
            return n == null ? 0 : n.get();
        }

        @Override
        public void recordAccess(long key) {
            accesses.computeIfAbsent(key, k -> new AtomicLong()).incrementAndGet();
            super.recordAccess(key);
        }
    }

    /** Holds submitted tasks until the test runs them. */
    static final class QueuedExecutor implements Executor {
        final List<Runnable> tasks = new ArrayList<>();

        @Override
        public synchronized void execute(Runnable task) {
            tasks.add(task);
        }

        synchronized int runAll() {
            int n = tasks.size();
            for (Runnable r : tasks) {
                r.run();
            }
            tasks.clear();
            return n;
        }
    }

    private CountingPolicy policy;

    private StandardBufferManager manager(Executor executor) {
        return managerWithPolicy(BufferManager.builder().backend(Backends.open(dev.spillway.io.BackendKind.NIO))
                .memoryLimit(64L * PS).maintenanceExecutor(executor)
                .evictionPolicy(hint -> policy = new CountingPolicy(hint)));
    }

    private static void hits(PageFile f, long page, int n) {
        for (int i = 0; i < n; i++) {
            try (PageHandle h = f.pin(page, AccessIntent.READ)) {
                h.getLong(0);
            }
        }
    }

    @Test
    void aFullBatchIsFedByOneMaintenanceTaskAndASecondWaitingBatchIsDropped() {
        QueuedExecutor exec = new QueuedExecutor();
        StandardBufferManager m = manager(exec);
        PageFile f = m.createPageFile(dir.resolve("h.pf"), PS);
        long p = f.allocatePage(); // resident, in the policy, no hit recorded
        long key = ((StandardPageFile) f).key("test", p);
        hits(f, p, ThreadState.HIT_BATCH - 1);
        assertEquals(0, exec.tasks.size(), "no hand-off before a batch is full");
        hits(f, p, 1);
        assertEquals(1, exec.tasks.size(), "a full batch schedules one drain");
        assertEquals(0, policy.accesses(key), "the hit thread does not feed the policy itself");
        hits(f, p, ThreadState.HIT_BATCH); // the previous batch still waits: this one is dropped
        assertEquals(1, exec.tasks.size(), "one drain at a time");
        assertEquals(1, exec.runAll());
        assertEquals(ThreadState.HIT_BATCH, policy.accesses(key));
        hits(f, p, ThreadState.HIT_BATCH); // the hand-off slot is free again
        assertEquals(1, exec.runAll());
        assertEquals(2L * ThreadState.HIT_BATCH, policy.accesses(key));
    }

    @Test
    void aMissFeedsHandedOffBatchesWhenTheExecutorRejects() {
        StandardBufferManager m = manager(task -> {
            throw new RejectedExecutionException("test: shut down");
        });
        PageFile f = m.createPageFile(dir.resolve("r.pf"), PS);
        long p = f.allocatePage();
        long q = f.allocatePage();
        long key = ((StandardPageFile) f).key("test", p);
        f.flush();
        hits(f, p, ThreadState.HIT_BATCH + 3); // hand-off rejected: pins still succeed
        assertEquals(0, policy.accesses(key));
        m.setMemoryLimit(PS); // evicts: feeds first
        assertEquals(ThreadState.HIT_BATCH + 3, policy.accesses(key), "eviction feeds the waiting and the unfinished batch");
        hits(f, q, 1); // a miss: load and insert
        assertEquals(0, policy.accesses(((StandardPageFile) f).key("test", q)));
    }

    @Test
    void theDefaultExecutorFeedsHitsWithoutAMiss() throws InterruptedException {
        StandardBufferManager m = managerWithPolicy(BufferManager.builder().backend(Backends.open(dev.spillway.io.BackendKind.NIO))
                .memoryLimit(64L * PS).evictionPolicy(hint -> policy = new CountingPolicy(hint)));
        PageFile f = m.createPageFile(dir.resolve("d.pf"), PS);
        long p = f.allocatePage();
        long key = ((StandardPageFile) f).key("test", p);
        hits(f, p, ThreadState.HIT_BATCH);
        long deadline = System.nanoTime() + 10_000_000_000L;
        while (policy.accesses(key) < ThreadState.HIT_BATCH && System.nanoTime() < deadline) {
            Thread.sleep(1);
        }
        assertEquals(ThreadState.HIT_BATCH, policy.accesses(key));
        assertTrue(m.stats().pageHits() >= ThreadState.HIT_BATCH);
    }
}
