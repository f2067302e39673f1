package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTimeoutPreemptively;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.eviction.EvictionPolicy;
import java.time.Duration;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongPredicate;
import org.junit.jupiter.api.Test;

/**
 * A user's eviction policy that breaks its contract (a victim that is not resident, one its
 * predicate refused, an exception from any call) is named in a clear exception, and the pool stays
 * consistent: no hang holding the eviction lock, no page left pinned, no page allocated behind the
 * caller's back, the policy tracking exactly the resident pages (the invariants checked after each
 * test). Before, the first two hung the pool for good and the others leaked a pin or a page.
 */
class MisbehavingPolicyTest extends PoolTestBase {
    static final int PS = 4096;
    static final int FRAMES = 16;
    static final Duration HANG = Duration.ofSeconds(20);

    enum Mode { NONE, NOT_RESIDENT, IGNORE_PREDICATE, THROW_EVICT, THROW_INSERT, THROW_ACCESS }

    /** LRU that misbehaves as told while {@link #mode} is set. */
    static final class Bad implements EvictionPolicy {
        final EvictionPolicy lru;
        volatile Mode mode = Mode.NONE;
        private final List<Long> chosen = new ArrayList<>();

        Bad(int hint) {
            lru = EvictionPolicies.create("lru", hint);
        }

        @Override
        public String name() {
            return "bad-lru";
        }

        @Override
        public void recordInsert(long key) {
            if (mode == Mode.THROW_INSERT) {
                throw new IllegalStateException("boom insert " + key);
            }
            lru.recordInsert(key);
        }

        @Override
        public void recordAccess(long key) {
            if (mode == Mode.THROW_ACCESS) {
                throw new IllegalStateException("boom access " + key);
            }
            lru.recordAccess(key);
        }

        @Override
        public void recordRemove(long key) {
            lru.recordRemove(key);
        }

        @Override
        public long evict(LongPredicate evictable) {
            switch (mode) {
                case NOT_RESIDENT:
                    return 987_654_321L;
                case IGNORE_PREDICATE:
                    return lru.evict(k -> true); // the oldest, pinned or not
                case THROW_EVICT:
                    throw new IllegalStateException("boom evict");
                default:
                    return lru.evict(evictable);
            }
        }

        @Override
        public int size() {
            return lru.size();
        }
    }

    private Bad policy;
    private StandardBufferManager m;
    private PageFile f;

    /** A full pool: 40 written pages, 16 frames. */
    private void setUp() {
        m = managerWithPolicy(BufferManager.builder().memoryLimit(FRAMES * PS).evictionPolicy(h -> policy = new Bad(h)));
        f = m.createPageFile(dir.resolve("bad.pf"), PS);
        for (int i = 1; i <= 40; i++) {
            write(f, f.allocatePage(), i);
        }
        f.flush();
    }

    private void checkAllPagesAfterwards() {
        policy.mode = Mode.NONE;
        m.checkInvariants();
        for (long p = 1; p <= f.pageCount() - 1; p++) {
            verify(f, p, p);
        }
    }

    @Test
    void aVictimThatIsNotResidentIsAClearErrorNotAHang() {
        setUp();
        policy.mode = Mode.NOT_RESIDENT;
        IllegalStateException e = assertTimeoutPreemptively(HANG,
                () -> assertThrows(IllegalStateException.class, () -> verify(f, 1, 1)));
        assertTrue(e.getMessage().contains("bad-lru") && e.getMessage().contains("987654321")
                && e.getMessage().contains("not a resident page"), e.getMessage());
        checkAllPagesAfterwards();
    }

    @Test
    void victimsThePredicateRefusedAreAClearErrorNotAHang() {
        setUp();
        List<PageHandle> held = new ArrayList<>();
        for (long p = 25; p <= 40; p++) { // every frame pinned
            held.add(f.pin(p, AccessIntent.READ));
        }
        policy.mode = Mode.IGNORE_PREDICATE;
        IllegalStateException e = assertTimeoutPreemptively(HANG,
                () -> assertThrows(IllegalStateException.class, () -> f.pin(1, AccessIntent.READ)));
        assertTrue(e.getMessage().contains("bad-lru") && e.getMessage().contains("pinned"), e.getMessage());
        held.forEach(PageHandle::close);
        checkAllPagesAfterwards();
    }

    @Test
    void anEvictThatThrowsNamesThePolicy() {
        setUp();
        policy.mode = Mode.THROW_EVICT;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> verify(f, 1, 1));
        assertTrue(e.getMessage().contains("bad-lru") && e.getMessage().contains("failed in evict")
                && e.getMessage().contains("boom evict"), e.getMessage());
        checkAllPagesAfterwards();
    }

    @Test
    void aRecordInsertThatThrowsLeavesNoPagePinned() {
        setUp();
        policy.mode = Mode.THROW_INSERT;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> verify(f, 1, 1));
        assertTrue(e.getMessage().contains("pin page 1 of") && e.getMessage().contains("bad-lru")
                && e.getMessage().contains("recordInsert"), e.getMessage());
        checkAllPagesAfterwards(); // before: page 1 stayed pinned, and neither file nor manager could close
    }

    @Test
    void aRecordAccessThatThrowsLeavesNoPagePinnedAndDoesNotStick() {
        setUp();
        for (long p = 30; p <= 40; p++) {
            verify(f, p, p); // hits, fed at the next insert
        }
        policy.mode = Mode.THROW_ACCESS;
        IllegalStateException e = assertThrows(IllegalStateException.class, () -> verify(f, 1, 1));
        assertTrue(e.getMessage().contains("bad-lru") && e.getMessage().contains("recordAccess"), e.getMessage());
        policy.mode = Mode.NONE;
        verify(f, 2, 2); // the hits that failed were dropped, not offered again at every feed
        checkAllPagesAfterwards();
    }

    @Test
    void anAllocationWhosePolicyThrowsTakesNoPage() {
        setUp();
        long pages = f.pageCount();
        policy.mode = Mode.THROW_INSERT;
        IllegalStateException e = assertThrows(IllegalStateException.class, f::allocatePage);
        assertTrue(e.getMessage().contains("allocate page " + pages) && e.getMessage().contains("bad-lru"), e.getMessage());
        assertEquals(pages, f.pageCount(), "no page taken");
        policy.mode = Mode.NONE;
        m.checkInvariants(); // before: "the eviction policy tracks 16 keys but 17 pages are resident"
        assertEquals(pages, f.allocatePage(), "the page it would have taken is the next one");
        write(f, pages, pages);
        checkAllPagesAfterwards();
    }
}
