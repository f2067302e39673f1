package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import java.util.ArrayList;
import java.util.Collections;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import org.junit.jupiter.api.Test;

/**
 * Page hits reach the eviction policy where it decides: before a miss inserts and before an
 * eviction chooses, every thread's hits since the last feed are fed, each thread's in order. A
 * hit alone feeds nothing; more than {@link ThreadState#RING} hits between two feeds lose the
 * oldest (counted); another thread's ring is read while it writes, and only intact entries go on.
 */
class HitFeedTest extends PoolTestBase {
    private static final int PS = 4096;
    private static final int RING = ThreadState.RING;

    /** Records the accesses it is fed, in order, on top of the tests' plain LRU. */
    static final class RecordingPolicy extends TestLru {
        final List<Long> accessed = Collections.synchronizedList(new ArrayList<>());

        RecordingPolicy(int hint) {
            super(hint);
        }

        long count(long key) {
            synchronized (accessed) {
                return accessed.stream().filter(k -> k == key).count();
            }
        }

        @Override
        public void recordAccess(long key) {
            accessed.add(key);
            super.recordAccess(key);
        }
    }

    private RecordingPolicy policy;

    private StandardBufferManager manager(int pages) {
        return managerWithPolicy(BufferManager.builder().backend(Backends.open(BackendKind.NIO))
                .memoryLimit((long) pages * PS).evictionPolicy(hint -> policy = new RecordingPolicy(hint)));
    }

    private static void hits(PageFile f, long page, int n) {
        for (int i = 0; i < n; i++) {
            try (PageHandle h = f.pin(page, AccessIntent.READ)) {
                h.getLong(0);
            }
        }
    }

    private static long key(PageFile f, long page) {
        return ((StandardPageFile) f).key("test", page);
    }

    @Test
    void hitsAreFedInOrderBeforeTheNextMissInserts() {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("o.pf"), PS);
        long a = f.allocatePage();
        long b = f.allocatePage();
        long c = f.allocatePage();
        f.flush();
        f.close();
        f = m.openPageFile(dir.resolve("o.pf"));
        hits(f, a, 1); // a miss: a loads
        hits(f, b, 1); // b loads; a's ring is empty (its first pin was a miss)
        hits(f, a, 2);
        hits(f, b, 1);
        assertEquals(List.of(), policy.accessed, "a hit alone feeds nothing");
        hits(f, c, 1); // a miss: the three hits go first, in order
        assertEquals(List.of(key(f, a), key(f, a), key(f, b)), policy.accessed);
        assertEquals(0, m.hitsNotFedForTest());
    }

    @Test
    void hitsAreFedBeforeAnAllocatedPageIsInserted() {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("a.pf"), PS);
        long p = f.allocatePage();
        hits(f, p, 3);
        assertEquals(List.of(), policy.accessed);
        f.allocatePage(); // an insert: the three hits go first
        assertEquals(List.of(key(f, p), key(f, p), key(f, p)), policy.accessed);
    }

    @Test
    void moreHitsThanTheRingBetweenFeedsLoseTheOldestAndCountThem() {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("r.pf"), PS);
        long p = f.allocatePage();
        long q = f.allocatePage();
        f.flush();
        hits(f, q, 10);
        hits(f, p, RING); // the ring now holds p's hits only: q's ten are overwritten
        m.setMemoryLimit(PS); // an eviction: feeds first
        assertEquals(0, policy.count(key(f, q)), "q's hits were overwritten");
        assertEquals(RING, policy.count(key(f, p)));
        assertEquals(10, m.hitsNotFedForTest());
    }

    @Test
    void aThreadThatMissesFeedsItsRingWhenItFillsAndOneThatOnlyHitsLetsItWrap() {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("b.pf"), PS);
        long p = f.allocatePage();
        long q = f.allocatePage();
        f.flush();
        f.close();
        PageFile g = m.openPageFile(dir.resolve("b.pf"));
        hits(g, q, 1); // a miss: this thread takes part in eviction decisions
        hits(g, p, 1); // another miss
        hits(g, p, RING - 1);
        assertEquals(0, policy.count(key(g, p)), "not fed before the ring fills");
        hits(g, p, 1);
        assertEquals(RING, policy.count(key(g, p)), "the hit that fills the ring feeds it");
        hits(g, p, (int) ThreadState.BUSY_WINDOW + 5); // long after the last miss: wraps stop feeding
        m.setMemoryLimit(PS); // a feed: only the last RING hits are left
        long fedLater = policy.count(key(g, p)) - RING;
        assertTrue(fedLater < ThreadState.BUSY_WINDOW + 5, "a thread that only hits lets its ring wrap: " + fedLater);
        assertEquals(ThreadState.BUSY_WINDOW + 5, fedLater + m.hitsNotFedForTest(), "the rest counted as lost");
    }

    /**
     * A thread pool outlives the managers it pinned through; each keeps that thread's state in its
     * ThreadLocal until the stale entry is swept, so close gives back the 8 KiB ring and the
     * handles (the long lincheck run, 10x, ran out of heap without this).
     */
    @Test
    void closeGivesBackEveryThreadsRing() throws Exception {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("c.pf"), PS);
        long p = f.allocatePage();
        Thread t = new Thread(() -> hits(f, p, 10));
        t.start();
        t.join();
        hits(f, p, 10);
        assertTrue(!m.threadStatesReleasedForTest(), "open: the rings are in use");
        m.close();
        assertTrue(m.threadStatesReleasedForTest(), "closed: every ring given back");
    }

    @Test
    void anotherThreadsHitsAreFedByThisThreadsEviction() throws Exception {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("t.pf"), PS);
        long p = f.allocatePage();
        f.allocatePage();
        f.flush();
        Thread t = new Thread(() -> hits(f, p, 100));
        t.start();
        t.join();
        assertEquals(0, policy.count(key(f, p)));
        m.setMemoryLimit(PS); // evicts one of the two: feeds every thread's ring first
        assertEquals(100, policy.count(key(f, p)), "the other thread's hits, read from its ring");
    }

    /**
     * A writer races feeds over its ring: whatever is fed is a key some thread hit (never a torn
     * or stale slot), and every hit is either fed once or counted as lost.
     */
    @Test
    void aRingReadWhileItsOwnerWritesFeedsOnlyHitsThatHappened() throws Exception {
        StandardBufferManager m = manager(64);
        PageFile f = m.createPageFile(dir.resolve("w.pf"), PS);
        long[] pages = new long[16];
        java.util.Set<Long> valid = new java.util.HashSet<>();
        for (int i = 0; i < pages.length; i++) {
            pages[i] = f.allocatePage();
            valid.add(key(f, pages[i]));
        }
        f.flush();
        AtomicBoolean stop = new AtomicBoolean();
        Thread writer = new Thread(() -> {
            long n = 0;
            while (!stop.get()) {
                hits(f, pages[(int) (n++ & 7)], 1); // pages 0-7: the writer's
            }
        });
        writer.start();
        for (int i = 0; i < 3000; i++) {
            m.setMemoryLimit(15L * PS); // evicts a page (8-15 are the only ones not hit lately): a feed
            hits(f, pages[8 + (i & 7)], 1); // and this thread reloads one (a miss: another feed)
            m.setMemoryLimit(64L * PS);
        }
        stop.set(true);
        writer.join();
        m.setMemoryLimit(PS); // a last feed, every thread quiet
        long fed;
        synchronized (policy.accessed) {
            for (long k : policy.accessed) {
                assertTrue(valid.contains(k), "fed a key no thread hit: " + k);
            }
            fed = policy.accessed.size();
        }
        assertEquals(m.stats().pageHits(), fed + m.hitsNotFedForTest(), "every hit fed once or counted lost");
        assertTrue(m.hitsNotFedForTest() < m.stats().pageHits(), "most hits fed");
    }
}
