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
 * <p><b>Layout.</b> {@code window}, a {@link NodeLists} with one LRU list of new keys (0.5% of the
 * capacity, at least one); {@code main}, a {@link LirsSpace} as {@link LirsPolicy}'s (the LIRS stack
 * S, the queues of resident HIR keys and of non-resident history). A key may be in the window and,
 * at the same time, a non-resident history entry in S (it was evicted or turned away before). The
 * main space's nodes carry two flags above their LIRS status: {@code REJECTED} (a non-resident entry
 * that is a candidate the duel turned away, not a key that left the main space; the space's
 * {@code noAdapt} flag) and {@code SEEN} (used since the sketch started counting); window nodes
 * carry {@code SEEN} too. Unlike {@code alirs}'s, the main space trims its history as soon as its
 * capacity changes.
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
    // window
    private static final int WINDOW = 0;

    // main-space flags, above LirsSpace's status bits
    private static final byte REJECTED = 4;
    private static final byte SEEN = 8;

    private static final double WINDOW_RATIO = 0.005;
    // Above this share of the capacity for HIR keys the main space admits every candidate.
    private static final double RECENCY_HIR_RATIO = 0.005;
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
    private final LirsSpace main;
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

    public WLirsPolicy(int capacityHint) {
        int hint = Policies.checkHint(capacityHint);
        window = new NodeLists(1, Math.max(16, (int) Math.min(1 << 16, (long) hint / 64)));
        main = new LirsSpace(hint, true, REJECTED);
        // sized at the first eviction, for the capacity found then; four longs per entry (see SKETCH_LONGS_PER_KEY)
        sketch = new FrequencySketch(0, SKETCH_LONGS_PER_KEY);
        windowTarget = 1;
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
        if (main.resident(n)) {
            main.addFlags(n, count(key));
            main.hit(n);
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
            } else if (main.resident(n = main.find(k))) {
                main.addFlags(n, SEEN);
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
        main.remove(key);
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
        int v = main.victim();
        if (v == NodeLists.NIL) {
            window.free(c);
            return candidate;
        }
        int candidateFrequency = sketch.frequency(candidate);
        int victimFrequency = sketch.frequency(main.key(v));
        int bottom = main.bottom();
        boolean coldBottom = false;
        if (candidateFrequency == victimFrequency && bottom != NodeLists.NIL && bottom != v
                && (main.flags(bottom) & SEEN) == 0
                && evictable.test(main.key(bottom))) {
            // A tie, and the oldest LIR key was loaded during the cold fill and never used since:
            // the candidate duels that key instead.
            coldBottom = true;
            v = bottom;
            victimFrequency = sketch.frequency(main.key(bottom));
        }
        boolean admit = candidateFrequency > victimFrequency
                || main.nonResident(main.find(candidate))
                || main.hirTarget() > RECENCY_HIR_RATIO * resident;
        if (admit) {
            long k = coldBottom ? main.evictLir(v) : main.evict(evictable);
            if (k != NO_VICTIM) {
                byte seen = window.mark[c];
                window.free(c);
                mainInsert(candidate, seen);
                return k;
            }
        }
        window.free(c);
        main.addNonResident(candidate, REJECTED);
        return candidate;
    }

    /** Pinned keys in the way: the main space's own choice, else the oldest evictable window key. */
    private long evictAny(LongPredicate evictable) {
        long k = main.evict(evictable);
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

    /** A key enters the main space (admitted, or the window's overflow while filling); it is not resident there. */
    private void mainInsert(long key, byte seen) {
        main.insert(key, main.find(key), seen);
    }

    private boolean residentInMain(long key) {
        return main.resident(main.find(key));
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
    }

    @Override
    public int size() {
        return window.indexed() + main.size();
    }
}
