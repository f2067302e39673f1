package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * W-LIRS: W-TinyLFU's admission window and frequency duel in front of an adaptive LIRS main space
 * instead of a segmented LRU. The window and the sketch keep what TinyLFU keeps on loops longer
 * than the cache (a stable subset: a tie keeps the established key); LIRS's reuse-distance test
 * inside the main space keeps the keys reused at short distances; LIRS's stack also records the
 * candidates the duel turned away, so that one reused within its test period is admitted the
 * next time whatever its count.
 *
 * <p>Papers: Einziger, Friedman and Manes, "TinyLFU: A Highly Efficient Cache Admission Policy"
 * (ACM ToS 2017) for the window, the sketch and the duel; Jiang and Zhang, "LIRS" (SIGMETRICS 2002)
 * and Jiang, Chen and Zhang, "CLOCK-Pro" (USENIX ATC 2005) for the main space, which is
 * {@link LirsPolicy}'s adaptive form ({@code alirs}) with the same rules and the same history bound.
 *
 * <p><b>Layout.</b> Two {@link NodeLists}: {@code window}, one LRU list of new keys (0.5% of the
 * capacity, at least one); {@code main}, the LIRS stack S (first plane) and the queues of resident
 * HIR keys and of non-resident history (second plane), as in {@link LirsPolicy}. A key may be in
 * the window and, at the same time, a non-resident history entry in S (it was evicted or turned
 * away before). The main nodes' mark holds the LIRS status in its low two bits and two flags:
 * {@code REJECTED} (a non-resident entry that is a candidate the duel turned away, not a key that
 * left the main space) and {@code SEEN} (used since the sketch started counting); window nodes
 * carry {@code SEEN} too.
 *
 * <p><b>Eviction.</b> With the window at its target, its oldest key is the <em>candidate</em> and
 * the main space's next victim (the head of the resident HIR queue) the <em>victim</em>. The
 * candidate is admitted, and the victim evicted, if
 * <ul>
 *   <li>the sketch counts it strictly more often than the victim (TinyLFU), or
 *   <li>it is a non-resident entry of S, i.e. reused within its LIRS test period, or
 *   <li>the main space's HIR target exceeds 0.5% of the capacity: LIRS's CLOCK-Pro rule has found
 *       the workload recency-friendly (sprite), where the duel would keep out keys that are about
 *       to be reused.
 * </ul>
 * On a tie, if the oldest LIR key (the bottom of S) has not been used since the sketch started
 * counting, that key is evicted instead and the candidate admitted: keys loaded while the cache
 * first filled and never used again otherwise stay LIR forever (Caffeine gets the same effect from
 * creating its sketch only when the cache is half full, so that those keys count zero). Otherwise
 * the candidate is evicted and becomes a non-resident entry at the top of S. Turned-away
 * candidates do not move the HIR target (neither reuse within the test period nor its end counts),
 * so the target still measures the main space alone.
 *
 * <p><b>Sketch.</b> {@link FrequencySketch}, as {@code wtinylfu}'s, but it counts only the requests
 * made once the cache held half its capacity, as Caffeine's is created only then: the cold fill is
 * no evidence of frequency. The capacity is known only at the first eviction, so until then the
 * policy logs the requests' keys and, at that eviction, sizes the sketch and counts those of the
 * second half of the fill, in order ({@link #startCounting}). The log holds at most 16 requests per
 * resident key (8 bytes each, up to 128 bytes per key while the cache fills, freed at the first
 * eviction); a longer fill drops it and counts from the first eviction on.
 *
 * <p><b>Pinned keys.</b> A refused candidate, or a refused victim, is not moved: the policy then
 * takes the oldest evictable key of the main space (the resident HIR queue, then the LIR keys from
 * the bottom of S), and failing that of the window. Each walk is bounded by its list's size.
 *
 * <p><b>Capacity.</b> The resident count when evicting (the pool evicts only when full); the hint
 * only presizes the tables. The window target follows the resident count (while the cache fills,
 * too); the main space takes its own capacity from its resident count, as {@link LirsPolicy} does.
 * So, as for {@code alirs}, the hit ratio does not depend on the hint
 * ({@code PolicyBehaviourTest.defaultLearnsTheCapacityFromEvictionsNotFromTheHint}): the pool's
 * hint is the limit in 4 KiB pages, wrong by the page size's factor for larger pages, and by any
 * share of the limit transient buffers hold. (A first version started the sketch at half the hint
 * and sized the window from it: with ten times the capacity for a hint, multi1 at 652 entries fell
 * from 60.10% to 58.42%.)
 *
 * <p><b>Footprint.</b> {@code alirs}'s nodes and history (four times the capacity) plus the sketch
 * (four longs per entry, rounded up to a power of two: 32 to 64 bytes) and the window: 218-231
 * bytes of heap per resident key at 8,192 and 50,000 keys ({@code PolicyFootprintTest}); while the
 * cache first fills, the fill log on top.
 */
public final class WLirsPolicy implements EvictionPolicy, Validated {
    // main, first plane
    private static final int STACK = 0;
    // main, second plane
    private static final int QUEUE = 0;
    private static final int HISTORY = 1;
    // window
    private static final int WINDOW = 0;

    private static final int STATUS = 3;
    private static final byte LIR = 0;
    private static final byte HIR_RESIDENT = 1;
    private static final byte HIR_NONRESIDENT = 2;
    private static final byte REJECTED = 4;
    private static final byte SEEN = 8;

    private static final double WINDOW_RATIO = 0.005;
    // Above this share of the capacity for HIR keys the main space admits every candidate.
    private static final double RECENCY_HIR_RATIO = 0.005;
    private static final int HISTORY_PER_CAPACITY = 4;
    /**
     * The sketch's table per key, in longs of 16 counters. With one (Caffeine's and {@code
     * wtinylfu}'s), which keys collide decided enough duels to move cells of the table by up to 3
     * points when the same trace was replayed with other key values (gli at 253 entries: 14.51% to
     * 17.66% over eight offsets of the keys by multiples of 2^40, as the pool's file ids add; multi1
     * at 652: 59.91% to 60.16%); with four, those eight replays agree within 0.1 point.
     */
    private static final int SKETCH_LONGS_PER_KEY = 4;
    /**
     * The fill log's bound, in requests per resident key (and 64 more): 8 bytes each, freed at the
     * first eviction. A fill with more requests (many hits before the cache is full, or a cache
     * that never fills) drops its log and counts from the first eviction on. Measured: with 16, the
     * bound is reached in one cell of the table (sprite at 5,306 entries, 0.06 point lower than with
     * no bound); a bound of 4 (keeping the newer half of the log past it) took multi1 at 1,955
     * entries from 83.34% to 83.23%, below Caffeine.
     */
    private static final int FILL_LOG_PER_KEY = 16;

    private final NodeLists window;
    private final NodeLists main;
    private final FrequencySketch sketch;
    private boolean counting;
    /**
     * Until the first eviction: the keys of every request, in order, so that the sketch can count,
     * once the capacity is known, those made while at least half of it was resident (null after).
     */
    private long[] fillLog = new long[64];
    private int logSize;
    /** {@code reachedAt[s]}: the index in {@link #fillLog} of the first request made with s keys resident. */
    private int[] reachedAt = new int[64];
    private int sizeSeen = -1;
    private boolean evictedBefore;
    private int windowTarget;

    // main space (LIRS)
    private int maximum;
    private int hirTarget;
    private int lirTarget;
    private int historyLimit;
    private int lirCount;

    public WLirsPolicy(int capacityHint) {
        int hint = Policies.checkHint(capacityHint);
        window = new NodeLists(1, Math.max(16, (int) Math.min(1 << 16, (long) hint / 64)));
        main = new NodeLists(1, 2, hint);
        // sized at the first eviction, for the capacity found then; four longs per entry (see SKETCH_LONGS_PER_KEY)
        sketch = new FrequencySketch(0, SKETCH_LONGS_PER_KEY);
        windowTarget = 1;
        hirTarget = 1;
        setMaximum(Policies.UNKNOWN_CAPACITY);
    }

    private static int windowTargetFor(int capacity) {
        return Math.max(1, (int) Math.round(WINDOW_RATIO * capacity));
    }

    @Override
    public String name() {
        return "wlirs";
    }

    // ------------------------------------------------------------------ requests

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        if (window.find(key) != NodeLists.NIL || residentInMain(key)) {
            recordAccess(key);
            return;
        }
        byte seen = count(key);
        int n = window.allocate(key);
        window.mark[n] = seen;
        window.linkLast(WINDOW, n);
        if (!evictedBefore) {
            // While the cache fills, the window's overflow enters the main space unopposed; the
            // window is its share of what is resident so far.
            windowTarget = windowTargetFor(size());
            while (window.size(WINDOW) > windowTarget) {
                int c = window.first(WINDOW);
                long k = window.key[c];
                byte s = window.mark[c];
                window.free(c);
                mainInsert(k, s);
            }
        }
    }

    @Override
    public void recordAccess(long key) {
        int n = window.find(key);
        if (n != NodeLists.NIL) {
            window.mark[n] |= count(key);
            window.moveToLast(WINDOW, n);
            return;
        }
        n = main.find(key);
        if (n != NodeLists.NIL && status(n) != HIR_NONRESIDENT) {
            main.mark[n] |= count(key);
            recordHit(n);
        }
    }

    /**
     * Counts a use of {@code key} once the sketch has started; {@link #SEEN} if it counted. Until
     * the first eviction, logs it instead ({@link #startCounting}).
     */
    private byte count(long key) {
        if (counting) {
            sketch.increment(key);
            return SEEN;
        }
        if (fillLog == null) {
            return 0; // a fill too long to log: counting starts at the first eviction
        }
        int resident = size();
        while (sizeSeen < resident) {
            if (++sizeSeen == reachedAt.length) {
                reachedAt = java.util.Arrays.copyOf(reachedAt, sizeSeen * 2);
            }
            reachedAt[sizeSeen] = logSize;
        }
        if (logSize == fillLog.length) {
            long bound = FILL_LOG_PER_KEY * (resident + 64L);
            if (logSize >= bound) {
                fillLog = null;
                reachedAt = null;
                return 0;
            }
            fillLog = java.util.Arrays.copyOf(fillLog, (int) Math.min(bound, logSize * 2L));
        }
        fillLog[logSize++] = key;
        return 0;
    }

    /**
     * The sketch starts counting, as Caffeine's once the cache is half full (it creates its sketch
     * lazily then): the logged requests made while at least half of {@code capacity} was resident
     * are counted, in order, and their keys marked {@link #SEEN}; the cold fill before that is no
     * evidence of frequency. Found in hindsight, so the capacity hint plays no part.
     */
    private void startCounting(int capacity) {
        int half = capacity / 2;
        int from = fillLog == null ? logSize : half <= sizeSeen ? reachedAt[half] : logSize;
        for (int i = from; i < logSize; i++) {
            long k = fillLog[i];
            sketch.increment(k);
            int n = window.find(k);
            if (n != NodeLists.NIL) {
                window.mark[n] |= SEEN;
            } else if ((n = main.find(k)) != NodeLists.NIL && status(n) != HIR_NONRESIDENT) {
                main.mark[n] |= SEEN;
            }
        }
        fillLog = null;
        reachedAt = null;
        counting = true;
    }

    @Override
    public void recordRemove(long key) {
        int n = window.find(key);
        if (n != NodeLists.NIL) {
            window.free(n);
            return;
        }
        n = main.find(key);
        if (n == NodeLists.NIL || status(n) == HIR_NONRESIDENT) {
            return;
        }
        if (status(n) == LIR) {
            lirCount--;
        }
        main.free(n);
        prune();
    }

    // ------------------------------------------------------------------ eviction

    @Override
    public long evict(LongPredicate evictable) {
        int resident = size();
        if (resident == 0) {
            return NO_VICTIM;
        }
        if (!evictedBefore) {
            evictedBefore = true;
            sketch.setCapacity(resident);
            startCounting(resident);
        } else {
            sketch.ensureCapacity(resident);
        }
        windowTarget = windowTargetFor(resident);
        int c = window.first(WINDOW);
        if (window.size(WINDOW) < windowTarget || c == NodeLists.NIL) {
            return evictAny(evictable); // the window grows back to its target
        }
        long candidate = window.key[c];
        if (!evictable.test(candidate)) {
            return evictAny(evictable);
        }
        int v = mainVictim();
        if (v == NodeLists.NIL) {
            window.free(c);
            return candidate;
        }
        int candidateFrequency = sketch.frequency(candidate);
        int victimFrequency = sketch.frequency(main.key[v]);
        int bottom = main.first(STACK);
        boolean coldBottom = false;
        if (candidateFrequency == victimFrequency && bottom != NodeLists.NIL && bottom != v
                && (main.mark[bottom] & SEEN) == 0
                && evictable.test(main.key[bottom])) {
            // A tie, and the oldest LIR key was loaded during the cold fill and never used since:
            // the candidate duels that key instead.
            coldBottom = true;
            v = bottom;
            victimFrequency = sketch.frequency(main.key[bottom]);
        }
        int h = main.find(candidate);
        boolean admit = candidateFrequency > victimFrequency
                || (h != NodeLists.NIL && status(h) == HIR_NONRESIDENT)
                || hirTarget > RECENCY_HIR_RATIO * resident;
        if (admit) {
            long k;
            if (coldBottom) {
                k = main.key[v];
                lirCount--;
                main.free(v);
                prune();
            } else {
                k = mainEvict(evictable);
            }
            if (k != NO_VICTIM) {
                byte seen = window.mark[c];
                window.free(c);
                mainInsert(candidate, seen);
                return k;
            }
        }
        window.free(c);
        addRejected(candidate);
        return candidate;
    }

    /** Pinned keys in the way: the main space's own choice, else the oldest evictable window key. */
    private long evictAny(LongPredicate evictable) {
        long k = mainEvict(evictable);
        if (k != NO_VICTIM) {
            return k;
        }
        for (int n = window.first(WINDOW); n != NodeLists.NIL; n = window.after(n)) {
            k = window.key[n];
            if (evictable.test(k)) {
                window.free(n);
                return k;
            }
        }
        return NO_VICTIM;
    }

    /** The key the main space would evict next, all evictable: the queue head, else the bottom LIR key. */
    private int mainVictim() {
        int n = main.first2(QUEUE);
        return n != NodeLists.NIL ? n : main.first(STACK);
    }

    // ------------------------------------------------------------------ main space: LIRS

    private int status(int n) {
        return main.mark[n] & STATUS;
    }

    private boolean residentInMain(long key) {
        int n = main.find(key);
        return n != NodeLists.NIL && status(n) != HIR_NONRESIDENT;
    }

    private void setMaximum(int max) {
        maximum = max;
        historyLimit = (int) Math.min(Integer.MAX_VALUE, (long) HISTORY_PER_CAPACITY * max);
        setHirTarget(hirTarget);
    }

    private void setHirTarget(int target) {
        hirTarget = Math.max(1, Math.min(maximum - 1, target));
        lirTarget = Math.max(1, maximum - hirTarget);
    }

    /** A key enters the main space (admitted, or the window's overflow while filling). */
    private void mainInsert(long key, byte seen) {
        int n = main.find(key);
        if (n != NodeLists.NIL) {
            // Non-resident history still in S: reused within its test period, it becomes LIR.
            if ((main.mark[n] & REJECTED) == 0) {
                setHirTarget(hirTarget + 1);
            }
            main.unlink2(n);
            main.moveToLast(STACK, n);
            main.mark[n] = seen;
            makeLir(n);
            return;
        }
        n = main.allocate(key);
        main.linkLast(STACK, n);
        if (lirCount < lirTarget) {
            main.mark[n] = (byte) (LIR | seen);
            lirCount++;
        } else {
            main.mark[n] = (byte) (HIR_RESIDENT | seen);
            main.linkLast2(QUEUE, n);
        }
    }

    private void recordHit(int n) {
        byte seen = (byte) (main.mark[n] & SEEN);
        if (status(n) == LIR) {
            boolean wasOldest = main.first(STACK) == n;
            main.moveToLast(STACK, n);
            if (wasOldest) {
                prune();
            }
        } else if (main.list[n] == STACK) {
            // A resident HIR key reused within its test period: it becomes LIR.
            setHirTarget(hirTarget + 1);
            main.unlink2(n);
            main.moveToLast(STACK, n);
            main.mark[n] = seen;
            makeLir(n);
        } else if (lirCount < lirTarget) {
            main.unlink2(n);
            main.linkLast(STACK, n);
            main.mark[n] = (byte) (LIR | seen);
            lirCount++;
        } else {
            // A resident HIR key whose test period had ended: a new test period, still HIR.
            main.linkLast(STACK, n);
            main.unlink2(n);
            main.linkLast2(QUEUE, n);
        }
    }

    /** {@code n} (at the top of S, in no queue, status LIR in its mark) joins the LIR set. */
    private void makeLir(int n) {
        lirCount++;
        if (lirCount > lirTarget) {
            demoteOldestLir();
        }
    }

    private void demoteOldestLir() {
        int bottom = main.first(STACK);
        main.unlink(bottom);
        main.mark[bottom] = (byte) (HIR_RESIDENT | (main.mark[bottom] & SEEN));
        main.linkLast2(QUEUE, bottom);
        lirCount--;
        prune();
    }

    /** Removes HIR keys from the bottom of S until a LIR key is there: their test periods end. */
    private void prune() {
        int n;
        while ((n = main.first(STACK)) != NodeLists.NIL && status(n) != LIR) {
            if (status(n) == HIR_NONRESIDENT) {
                if ((main.mark[n] & REJECTED) == 0) {
                    setHirTarget(hirTarget - 1); // it left the cache and its test period unused
                }
                main.free(n);
            } else {
                main.unlink(n);
            }
        }
    }

    /** LIRS's eviction in the main space, as {@link LirsPolicy#evict}; {@link #NO_VICTIM} if all refused. */
    private long mainEvict(LongPredicate evictable) {
        int resident = lirCount + main.size2(QUEUE);
        if (resident == 0) {
            return NO_VICTIM;
        }
        if (resident != maximum) {
            setMaximum(resident);
            trimHistory(); // the bound may have fallen with the capacity
        }
        if (lirCount > lirTarget) {
            demoteOldestLir();
        }
        for (int n = main.first2(QUEUE); n != NodeLists.NIL; n = main.after2(n)) {
            long k = main.key[n];
            if (evictable.test(k)) {
                main.unlink2(n);
                if (main.list[n] != STACK) {
                    main.free(n);
                } else {
                    main.mark[n] = HIR_NONRESIDENT;
                    main.linkLast2(HISTORY, n);
                    trimHistory();
                }
                return k;
            }
        }
        for (int n = main.first(STACK); n != NodeLists.NIL; n = main.after(n)) {
            if (status(n) == LIR && evictable.test(main.key[n])) {
                long k = main.key[n];
                lirCount--;
                main.free(n);
                prune();
                return k;
            }
        }
        return NO_VICTIM;
    }

    /** A candidate the duel turned away: a non-resident entry at the top of S, its test period begins. */
    private void addRejected(long key) {
        int n = main.find(key);
        if (n != NodeLists.NIL) {
            main.unlink2(n);
            main.moveToLast(STACK, n);
        } else {
            n = main.allocate(key);
            main.linkLast(STACK, n);
        }
        main.mark[n] = HIR_NONRESIDENT | REJECTED;
        main.linkLast2(HISTORY, n);
        trimHistory();
        prune(); // with no LIR key in S (all removed) the entry would be its bottom: it goes at once
    }

    private void trimHistory() {
        while (main.size2(HISTORY) > historyLimit) {
            main.free(main.first2(HISTORY));
        }
    }

    // ------------------------------------------------------------------ checks

    @Override
    public void validate() {
        window.validate();
        main.validate();
        for (int n = window.first(WINDOW); n != NodeLists.NIL; n = window.after(n)) {
            if (residentInMain(window.key[n])) {
                throw new IllegalStateException("key " + window.key[n] + " is in the window and the main space");
            }
        }
        int bottom = main.first(STACK);
        if (bottom != NodeLists.NIL && status(bottom) != LIR) {
            throw new IllegalStateException("bottom of S is not LIR: key " + main.key[bottom]);
        }
        int lir = 0;
        for (int n = main.first(STACK); n != NodeLists.NIL; n = main.after(n)) {
            if (status(n) == LIR) {
                lir++;
                if (main.list2[n] >= 0) {
                    throw new IllegalStateException("LIR key " + main.key[n] + " is queued");
                }
            } else if ((status(n) == HIR_RESIDENT) != (main.list2[n] == QUEUE)) {
                throw new IllegalStateException("HIR key " + main.key[n] + " status disagrees with its list");
            }
        }
        if (lir != lirCount) {
            throw new IllegalStateException(lir + " LIR keys in S, count says " + lirCount);
        }
        for (int n = main.first2(QUEUE); n != NodeLists.NIL; n = main.after2(n)) {
            if (status(n) != HIR_RESIDENT) {
                throw new IllegalStateException("queued key " + main.key[n] + " is not resident HIR");
            }
        }
        for (int n = main.first2(HISTORY); n != NodeLists.NIL; n = main.after2(n)) {
            if (status(n) != HIR_NONRESIDENT || main.list[n] != STACK) {
                throw new IllegalStateException("history key " + main.key[n] + " is resident or not in S");
            }
        }
        if (main.size2(HISTORY) > historyLimit) {
            throw new IllegalStateException("history " + main.size2(HISTORY) + " > " + historyLimit);
        }
        if (hirTarget < 1 || lirTarget < 1) {
            throw new IllegalStateException("targets HIR " + hirTarget + " LIR " + lirTarget);
        }
    }

    @Override
    public int size() {
        return window.indexed() + lirCount + main.size2(QUEUE);
    }
}
