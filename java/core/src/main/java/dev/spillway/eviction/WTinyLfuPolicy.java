package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * W-TinyLFU: a small LRU admission window in front of a segmented LRU main space, with a
 * frequency sketch deciding whether a key leaving the window may displace the main space's victim,
 * and a hill climber that sizes the window to the workload.
 *
 * <p>Papers: Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"
 * (ACM ToS 2017); Einziger, Eytan, Friedman and Manes, "Adaptive Software Cache Management"
 * (Middleware 2018) for the hill climber. The structure and constants follow Caffeine's
 * {@code BoundedLocalCache}, so this is the policy Caffeine runs, driven exactly (no lossy read
 * buffer) and without Caffeine's concurrency machinery.
 *
 * <p><b>Layout.</b> Three index-linked LRU queues in one {@link NodeLists}: {@code WINDOW} (starts at
 * 1% of the capacity), {@code PROBATION} and {@code PROTECTED} (80% of the main space). A new key
 * enters the window; a hit in probation promotes to protected, whose overflow is demoted back to
 * probation. When room is needed, the window's oldest key becomes the <em>candidate</em> and duels
 * probation's oldest, the <em>victim</em>: the candidate is admitted only if the sketch says it is
 * more frequent (ties keep the victim, which is what makes scans and loops harmless). Because this
 * interface evicts <em>before</em> inserting, the candidate leaves the window one step earlier than
 * in Caffeine, which evicts after inserting; the resulting states are the same.
 *
 * <p><b>Hill climbing.</b> Every {@code 10 × capacity} requests the hit ratio of the sample is
 * compared with the previous one; the window grows or shrinks by a step (6.25% of the capacity,
 * decaying by 0.98 while the ratio is stable, reset on a 5-point change), moving keys between the
 * window and the main space. Recency-heavy workloads get a large window, frequency-heavy ones a
 * small one.
 *
 * <p><b>Pinned keys.</b> A refused key is set aside (in a per-queue "held" list) and the choice is
 * made again among the rest; held keys go back to the old end of their queue afterwards, keeping
 * their standing. Every round removes one key from consideration, so the call ends.
 *
 * <p><b>Capacity.</b> The targets are fractions of the capacity, which is the resident count when
 * evicting (the pool evicts only when full, so that count is the real capacity); the hint sizes
 * the tables and serves until the first eviction. When the capacity changes, the window and
 * protected targets keep their climbed fractions.
 */
public final class WTinyLfuPolicy implements EvictionPolicy, Validated {
    private static final int WINDOW = 0;
    private static final int PROBATION = 1;
    private static final int PROTECTED = 2;
    private static final int HELD = 3; // HELD + queue: keys refused during one evict call
    private static final int LISTS = 6;

    // Caffeine's constants: a 1% window to start, 80% of the main space protected.
    private static final double PERCENT_MAIN = 0.99;
    private static final double PERCENT_MAIN_PROTECTED = 0.80;
    // Hill climber: step of 6.25% of the capacity, restart on a 5-point change, decay 0.98 per sample.
    private static final double CLIMBER_STEP_PERCENT = 0.0625;
    private static final double CLIMBER_RESTART_THRESHOLD = 0.05;
    private static final double CLIMBER_STEP_DECAY = 0.98;
    // Caffeine admits a candidate that lost with a high frequency 1 time in 128 to defeat hash
    // flooding; with keys chosen by the pool (not an attacker) that is pure noise, so it is left out.

    private final NodeLists nodes;
    private final FrequencySketch sketch;

    private int maximum;
    private boolean evictedBefore;
    private int windowMaximum;
    private int protectedMaximum;
    private int hitsInSample;
    private int missesInSample;
    private double previousHitRate;
    private double stepSize;

    public WTinyLfuPolicy(int capacityHint) {
        int hint = Policies.checkHint(capacityHint);
        nodes = new NodeLists(LISTS, hint);
        sketch = new FrequencySketch(hint);
        setMaximum(Policies.initialCapacity(hint));
    }

    @Override
    public String name() {
        return "wtinylfu";
    }

    private void setMaximum(int max) {
        maximum = max;
        windowMaximum = max - (int) (PERCENT_MAIN * max);
        protectedMaximum = (int) (PERCENT_MAIN_PROTECTED * (max - windowMaximum));
        stepSize = -CLIMBER_STEP_PERCENT * max;
        hitsInSample = 0;
        missesInSample = 0;
    }

    /** A new capacity: scale the targets, keeping the fractions the climber chose. */
    private void resize(int max) {
        double scale = (double) max / maximum;
        maximum = max;
        windowMaximum = Math.max(1, Math.min(max, (int) Math.round(windowMaximum * scale)));
        protectedMaximum = Math.max(0, Math.min(max - windowMaximum, (int) Math.round(protectedMaximum * scale)));
        sketch.ensureCapacity(max);
        demoteFromProtected();
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            onHit(n);
            return;
        }
        sketch.increment(key);
        missesInSample++;
        nodes.linkLast(WINDOW, nodes.allocate(key));
        // In steady state evict() has already moved the candidate out, so this runs only while the
        // cache fills (or after the window shrank): the overflow enters probation unopposed.
        while (nodes.size(WINDOW) > windowMaximum) {
            nodes.moveToLast(PROBATION, nodes.first(WINDOW));
        }
    }

    @Override
    public void recordAccess(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            sketch.increment(key);
            hitsInSample++;
            onHit(n);
        }
    }

    private void onHit(int n) {
        int q = nodes.list[n];
        if (q == PROBATION) {
            nodes.moveToLast(PROTECTED, n);
            demoteFromProtected();
        } else {
            nodes.moveToLast(q, n);
        }
    }

    private void demoteFromProtected() {
        while (nodes.size(PROTECTED) > protectedMaximum) {
            nodes.moveToLast(PROBATION, nodes.first(PROTECTED));
        }
    }

    @Override
    public void recordRemove(long key) {
        int n = nodes.find(key);
        if (n != NodeLists.NIL) {
            nodes.free(n);
        }
    }

    @Override
    public long evict(LongPredicate evictable) {
        int resident = size();
        if (resident == 0) {
            return NO_VICTIM;
        }
        if (!evictedBefore) {
            // The first eviction tells the real capacity: start the targets afresh from it.
            evictedBefore = true;
            if (resident != maximum) {
                setMaximum(resident);
                sketch.setCapacity(resident);
                demoteFromProtected();
            }
        } else if (resident != maximum) {
            resize(resident);
        }
        int candidate = NodeLists.NIL;
        if (nodes.size(WINDOW) >= windowMaximum && nodes.size(WINDOW) > 0) {
            // The key about to be inserted pushes the window's oldest out: it becomes the candidate.
            candidate = nodes.first(WINDOW);
            nodes.moveToLast(PROBATION, candidate);
        }
        long victimKey = NO_VICTIM;
        while (true) {
            int victim = nodes.first(PROBATION);
            if (victim == NodeLists.NIL) {
                victim = nodes.first(PROTECTED);
            }
            if (victim == NodeLists.NIL) {
                victim = nodes.first(WINDOW);
            }
            if (victim == NodeLists.NIL) {
                break;
            }
            int loser = victim;
            if (candidate != NodeLists.NIL && candidate != victim && !admit(candidate, victim)) {
                loser = candidate;
            }
            long k = nodes.key[loser];
            if (evictable.test(k)) {
                nodes.free(loser);
                victimKey = k;
                break;
            }
            if (loser == candidate) {
                // A pinned candidate stays admitted (it is at probation's new end); the victim goes.
                candidate = NodeLists.NIL;
            } else {
                int q = nodes.list[loser];
                nodes.unlink(loser);
                nodes.linkLast(HELD + q, loser);
            }
        }
        for (int q = WINDOW; q <= PROTECTED; q++) {
            nodes.spliceFirst(HELD + q, q);
        }
        if (victimKey != NO_VICTIM) {
            climb();
        }
        return victimKey;
    }

    /** TinyLFU's admission test: strictly more frequent wins, so a tie keeps the established victim. */
    private boolean admit(int candidate, int victim) {
        return sketch.frequency(nodes.key[candidate]) > sketch.frequency(nodes.key[victim]);
    }

    /** Caffeine's hill climber: resize the window towards a higher hit ratio, one sample at a time. */
    private void climb() {
        int requests = hitsInSample + missesInSample;
        if (requests < 10L * maximum) {
            return;
        }
        double hitRate = (double) hitsInSample / requests;
        double change = hitRate - previousHitRate;
        double amount = change >= 0 ? stepSize : -stepSize;
        stepSize = Math.abs(change) >= CLIMBER_RESTART_THRESHOLD
                ? CLIMBER_STEP_PERCENT * maximum * (amount >= 0 ? 1 : -1)
                : CLIMBER_STEP_DECAY * amount;
        previousHitRate = hitRate;
        hitsInSample = 0;
        missesInSample = 0;
        int adjustment = (int) amount;
        if (adjustment > 0) {
            increaseWindow(adjustment);
        } else if (adjustment < 0) {
            decreaseWindow(-adjustment);
        }
    }

    private void increaseWindow(int amount) {
        int quota = Math.min(amount, protectedMaximum);
        for (int moved = 0; moved < quota; moved++) {
            int n = nodes.first(PROBATION);
            if (n == NodeLists.NIL) {
                n = nodes.first(PROTECTED);
            }
            if (n == NodeLists.NIL) {
                break;
            }
            nodes.moveToLast(WINDOW, n);
        }
        protectedMaximum -= quota;
        windowMaximum += quota;
        demoteFromProtected();
    }

    private void decreaseWindow(int amount) {
        int quota = Math.min(amount, Math.max(0, windowMaximum - 1));
        for (int moved = 0; moved < quota; moved++) {
            int n = nodes.first(WINDOW);
            if (n == NodeLists.NIL) {
                break;
            }
            nodes.moveToLast(PROBATION, n);
        }
        protectedMaximum += quota;
        windowMaximum -= quota;
    }

    @Override
    public void validate() {
        nodes.validate();
        for (int q = WINDOW; q <= PROTECTED; q++) {
            if (nodes.size(HELD + q) != 0) {
                throw new IllegalStateException("keys left in held list " + q);
            }
        }
        if (nodes.size(PROTECTED) > protectedMaximum) {
            throw new IllegalStateException("protected " + nodes.size(PROTECTED) + " > " + protectedMaximum);
        }
        if (windowMaximum < 0 || protectedMaximum < 0 || windowMaximum + protectedMaximum > maximum) {
            throw new IllegalStateException("targets window " + windowMaximum + " protected " + protectedMaximum
                    + " for capacity " + maximum);
        }
    }

    @Override
    public int size() {
        return nodes.indexed();
    }
}
