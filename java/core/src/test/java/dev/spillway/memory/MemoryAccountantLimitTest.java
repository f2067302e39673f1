package dev.spillway.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.MemoryLimitExceededException;
import dev.spillway.MemoryTag;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;

/**
 * The limit against concurrent changes of it: once {@link MemoryAccountant#setLimit} has lowered
 * the limit and returned, usage is within it, however many reservations were racing the change.
 */
class MemoryAccountantLimitTest {

    @Test
    void noReservationPassesALimitLoweredUnderIt() throws Exception {
        MemoryAccountant acct = new MemoryAccountant(1 << 20);
        AtomicLong evictable = new AtomicLong(); // what the reservations below hold, all of it evictable
        acct.addReclaimer(bytes -> {
            for (;;) {
                long e = evictable.get();
                long take = Math.min(e, bytes);
                if (take <= 0 || evictable.compareAndSet(e, e - take)) {
                    if (take > 0) {
                        acct.release(MemoryTag.HASH_TABLE, take);
                    }
                    return Math.max(take, 0);
                }
            }
        });
        AtomicBoolean stop = new AtomicBoolean();
        AtomicBoolean paused = new AtomicBoolean();
        AtomicInteger active = new AtomicInteger(); // workers inside reserve (an undone reservation counts a moment)
        List<Thread> workers = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            Thread w = new Thread(() -> {
                while (!stop.get()) {
                    active.incrementAndGet();
                    try {
                        if (!paused.get()) {
                            acct.reserve("reserve", MemoryTag.HASH_TABLE, 64);
                            evictable.addAndGet(64);
                        }
                    } catch (MemoryLimitExceededException e) {
                        // the limit is being lowered: fine
                    } finally {
                        active.decrementAndGet();
                    }
                }
            });
            w.start();
            workers.add(w);
        }
        long over = 0;
        long lowered = 0;
        String first = null;
        long end = System.nanoTime() + 2_000_000_000L;
        try {
            while (System.nanoTime() < end) {
                try {
                    acct.setLimit(4096);
                } catch (MemoryLimitExceededException e) {
                    // a worker between its reserve and marking the bytes evictable: they are not
                    // evictable yet, so the lowering fails and keeps the old limit. Not this test's case.
                    continue;
                }
                lowered++;
                // Lowered and returned: the reservations racing it end within the new limit or fail.
                paused.set(true);
                while (active.get() > 0) {
                    Thread.onSpinWait();
                }
                long u = acct.used();
                if (u > 4096) {
                    over++;
                    first = first != null ? first : "used " + u + " after setLimit(4096) returned";
                }
                acct.setLimit(1 << 20);
                paused.set(false);
            }
        } finally {
            stop.set(true);
            for (Thread w : workers) {
                w.join();
            }
        }
        assertEquals(0, over, first);
        assertTrue(lowered > 100, "only " + lowered + " lowerings succeeded: the test checked too little");
    }

    /**
     * A lowering that fails (pinned data does not fit) keeps the old limit; reservations that fit
     * the old limit must not fail meanwhile because they saw the new one for the moment it was tried.
     */
    @Test
    void aFailedLoweringFailsNoReservationThatFitsTheLimitKept() throws Exception {
        MemoryAccountant acct = new MemoryAccountant(1_000_000);
        acct.addReclaimer(bytes -> {
            Thread.yield(); // an eviction's I/O: the lowering is visible this long
            return 0;       // everything is pinned
        });
        acct.reserve("pinned", MemoryTag.HASH_TABLE, 600_000);
        AtomicBoolean stop = new AtomicBoolean();
        AtomicLong failures = new AtomicLong();
        AtomicLong reservations = new AtomicLong();
        Thread worker = new Thread(() -> {
            while (!stop.get()) {
                try {
                    acct.reserve("reserve", MemoryTag.ORDER_BY, 100_000); // fits the million kept
                    reservations.incrementAndGet();
                    acct.release(MemoryTag.ORDER_BY, 100_000);
                } catch (MemoryLimitExceededException e) {
                    failures.incrementAndGet();
                }
            }
        });
        worker.start();
        long refused = 0;
        long end = System.nanoTime() + 1_000_000_000L;
        try {
            while (System.nanoTime() < end) {
                try {
                    acct.setLimit(500_000);
                } catch (MemoryLimitExceededException e) {
                    refused++;
                }
            }
        } finally {
            stop.set(true);
            worker.join();
        }
        assertEquals(1_000_000, acct.limit());
        assertTrue(refused > 0 && reservations.get() > 0, refused + " refused, " + reservations + " reserved");
        assertEquals(0, failures.get(), failures + " reservations failed against a limit that stayed 1,000,000 ("
                + reservations + " succeeded)");
        acct.release(MemoryTag.HASH_TABLE, 600_000);
    }
}
