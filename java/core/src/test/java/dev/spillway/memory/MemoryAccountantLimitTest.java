package dev.spillway.memory;

import static org.junit.jupiter.api.Assertions.assertEquals;

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
        String first = null;
        long end = System.nanoTime() + 2_000_000_000L;
        try {
            while (System.nanoTime() < end) {
                acct.setLimit(4096);
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
    }
}
