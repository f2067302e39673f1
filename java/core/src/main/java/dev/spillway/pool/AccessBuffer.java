package dev.spillway.pool;

import java.lang.invoke.MethodHandles;
import java.lang.invoke.VarHandle;
import java.util.function.LongConsumer;

/**
 * Hits recorded for the eviction policy without a lock (Caffeine's read buffer): striped, lossy
 * ring buffers of keys. A hit appends its key to its thread's stripe with one CAS; a full or
 * contended stripe drops the key (the policy loses a little recency, the hit path stays cheap).
 * The pool drains every stripe into the policy under its eviction lock.
 */
final class AccessBuffer {
    /** Power of two; 16 stripes spread up to ~16 threads on distinct counters. */
    private static final int STRIPES = 16;
    /** Keys per stripe (power of two): 64 hits between drains per thread bounds the policy's lag. */
    static final int CAPACITY = 64;
    private static final int MASK = CAPACITY - 1;

    private static final VarHandle SLOT = MethodHandles.arrayElementVarHandle(long[].class);
    private static final VarHandle WRITES;
    private static final VarHandle READS;

    static {
        try {
            MethodHandles.Lookup l = MethodHandles.lookup();
            WRITES = l.findVarHandle(Stripe.class, "writes", long.class);
            READS = l.findVarHandle(Stripe.class, "reads", long.class);
        } catch (ReflectiveOperationException e) {
            throw new ExceptionInInitializerError(e);
        }
    }

    /** Padding on both sides keeps each stripe's counters on a cache line of their own. */
    @SuppressWarnings("unused")
    static class StripePad {
        long p01, p02, p03, p04, p05, p06, p07;
    }

    @SuppressWarnings("unused")
    static class StripeCounters extends StripePad {
        volatile long writes;
        volatile long reads;
    }

    @SuppressWarnings("unused")
    static final class Stripe extends StripeCounters {
        long p11, p12, p13, p14, p15, p16, p17;
        final long[] ring = new long[CAPACITY];
    }

    private final Stripe[] stripes = new Stripe[STRIPES];

    AccessBuffer() {
        for (int i = 0; i < STRIPES; i++) {
            stripes[i] = new Stripe();
        }
    }

    private static int stripeOf(Thread t) {
        long id = t.getId();
        return (int) ((id * 0x9E3779B97F4A7C15L) >>> 60) & (STRIPES - 1);
    }

    /** Records a hit; true when the stripe is full and a drain is due. */
    boolean offer(long key) {
        Stripe s = stripes[stripeOf(Thread.currentThread())];
        long w = (long) WRITES.getVolatile(s);
        long r = (long) READS.getAcquire(s);
        if (w - r >= CAPACITY) {
            return true;
        }
        if (WRITES.compareAndSet(s, w, w + 1)) {
            SLOT.setRelease(s.ring, (int) w & MASK, key);
        }
        return false;
    }

    /** Hands every recorded key to the consumer; the caller holds the eviction lock. */
    void drain(LongConsumer consumer) {
        for (Stripe s : stripes) {
            long r = s.reads;
            long w = (long) WRITES.getVolatile(s);
            while (r < w) {
                int i = (int) r & MASK;
                long k = (long) SLOT.getAcquire(s.ring, i);
                if (k == 0) {
                    break; // the writer took the slot but has not stored the key yet: next drain
                }
                SLOT.setRelease(s.ring, i, 0L);
                consumer.accept(k);
                r++;
            }
            READS.setRelease(s, r);
        }
    }
}
