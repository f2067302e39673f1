package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * Page hits reach the eviction policy in batches that the hitting thread feeds itself, at most
 * once per feed interval and only when the eviction lock is free at that moment: a batch filled
 * sooner is dropped, a batch that finds the lock busy waits for the next feed (of this thread, of
 * another, or of a miss or eviction), and a thread's first full batch is always fed.
 */
class HitHandoffTest extends PoolTestBase {
    private static final int PS = 4096;
    private static final int B = ThreadState.HIT_BATCH;
    /** An interval no test outlives: after a thread's first feed, its full batches are dropped. */
    private static final long NEVER = 1L << 61;

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

    private CountingPolicy policy;

    private StandardBufferManager manager(long feedIntervalNanos) {
        StandardBufferManager m = managerWithPolicy(BufferManager.builder().backend(Backends.open(BackendKind.NIO))
                .memoryLimit(64L * PS).evictionPolicy(hint -> policy = new CountingPolicy(hint)));
        m.setFeedIntervalForTest(feedIntervalNanos);
        return m;
    }

    private static void hits(PageFile f, long page, int n) {
        for (int i = 0; i < n; i++) {
            try (PageHandle h = f.pin(page, AccessIntent.READ)) {
                h.getLong(0);
            }
        }
    }

    @Test
    void aFullBatchIsFedByTheHittingThreadItself() {
        StandardBufferManager m = manager(0);
        PageFile f = m.createPageFile(dir.resolve("h.pf"), PS);
        long p = f.allocatePage(); // resident, in the policy, no hit recorded
        long key = ((StandardPageFile) f).key("test", p);
        hits(f, p, B - 1);
        assertEquals(0, policy.accesses(key), "nothing is fed before a batch is full");
        hits(f, p, 1);
        assertEquals(B, policy.accesses(key), "the hit that fills the batch feeds it, no other thread involved");
        hits(f, p, 3 * B);
        assertEquals(4L * B, policy.accesses(key), "with no interval every batch is fed");
    }

    @Test
    void batchesFilledWithinTheIntervalAreDroppedAndTheUnfinishedOneWaitsForAnEviction() {
        StandardBufferManager m = manager(NEVER);
        PageFile f = m.createPageFile(dir.resolve("i.pf"), PS);
        long p = f.allocatePage();
        f.allocatePage(); // a second resident page, so that a one-page limit must evict
        long key = ((StandardPageFile) f).key("test", p);
        f.flush();
        hits(f, p, B);
        assertEquals(B, policy.accesses(key), "a thread's first full batch is fed at once");
        hits(f, p, 2 * B + 3);
        assertEquals(B, policy.accesses(key), "two batches within the interval: dropped");
        m.setMemoryLimit(PS); // evicts a page: feeds the thread's unfinished batch first
        assertEquals(B + 3, policy.accesses(key), "eviction feeds the 3 hits of the unfinished batch");
    }

    @Test
    void aBatchThatFindsTheLockBusyWaitsAndIsFedByTheNextFeed() throws Exception {
        StandardBufferManager m = manager(0);
        PageFile f = m.createPageFile(dir.resolve("l.pf"), PS);
        long p = f.allocatePage();
        long key = ((StandardPageFile) f).key("test", p);
        CountDownLatch held = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        Thread holder = new Thread(() -> {
            m.evictionLockForTest().lock();
            try {
                held.countDown();
                release.await();
            } catch (InterruptedException e) {
                Thread.currentThread().interrupt();
            } finally {
                m.evictionLockForTest().unlock();
            }
        });
        holder.start();
        held.await();
        long t0 = System.nanoTime();
        hits(f, p, B); // handed off, but the lock is busy: the hit does not wait
        hits(f, p, B); // the first still waits: this one is dropped
        assertTrue(System.nanoTime() - t0 < 5_000_000_000L, "hits never waited for the eviction lock");
        assertEquals(0, policy.accesses(key), "nothing fed while the lock is held");
        release.countDown();
        holder.join();
        hits(f, p, B); // the waiting batch is fed now; this one is dropped (the slot was taken)
        assertEquals(B, policy.accesses(key));
        hits(f, p, B);
        assertEquals(2L * B, policy.accesses(key), "and the slot is free again");
    }

    @Test
    void theDefaultIntervalFeedsAThreadsFirstBatchAtOnce() {
        StandardBufferManager m = managerWithPolicy(BufferManager.builder().backend(Backends.open(BackendKind.NIO))
                .memoryLimit(64L * PS).evictionPolicy(hint -> policy = new CountingPolicy(hint)));
        PageFile f = m.createPageFile(dir.resolve("d.pf"), PS);
        long p = f.allocatePage();
        long key = ((StandardPageFile) f).key("test", p);
        hits(f, p, B);
        assertEquals(B, policy.accesses(key));
        assertTrue(m.stats().pageHits() >= B);
    }
}
