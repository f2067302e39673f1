package dev.spillway.eviction;

/**
 * Replays a key trace through an {@link EvictionPolicy} as a cache of a fixed number of entries,
 * the way the buffer pool drives the same policy: a hit is {@link EvictionPolicy#recordAccess}, a
 * miss in a full cache is {@link EvictionPolicy#evict} (nothing pinned) followed by
 * {@link EvictionPolicy#recordInsert}. Cold misses count as misses.
 */
public final class TraceReplay {
    private TraceReplay() {}

    /** Hits out of requests for one replay. */
    public record Result(String policy, int cacheSize, long requests, long hits) {
        /** Hits per request, 0 for an empty trace. */
        public double hitRatio() {
            return requests == 0 ? 0 : (double) hits / requests;
        }
    }

    /**
     * Replays {@code keys} through {@code policy}, which must be fresh (empty).
     *
     * @throws IllegalArgumentException {@code cacheSize < 1}, or the policy is not empty
     * @throws IllegalStateException the policy broke its contract (no victim in a full, unpinned
     *     cache, a victim that was not resident, a size that disagrees with the cache's)
     */
    public static Result replay(long[] keys, EvictionPolicy policy, int cacheSize) {
        if (cacheSize < 1) {
            throw new IllegalArgumentException("cache size must be >= 1: " + cacheSize);
        }
        if (policy.size() != 0) {
            throw new IllegalArgumentException("policy " + policy.name() + " is not empty: " + policy.size());
        }
        // The replay's own residency set, so a policy that loses track of a key is caught, not trusted.
        LongIntHashMap resident = new LongIntHashMap(cacheSize);
        long hits = 0;
        for (long key : keys) {
            if (resident.get(key) != LongIntHashMap.ABSENT) {
                hits++;
                policy.recordAccess(key);
                continue;
            }
            if (resident.size() == cacheSize) {
                long victim = policy.evict(k -> true);
                if (victim == EvictionPolicy.NO_VICTIM || resident.remove(victim) == LongIntHashMap.ABSENT) {
                    throw new IllegalStateException("policy " + policy.name() + " returned "
                            + (victim == EvictionPolicy.NO_VICTIM ? "no victim" : "non-resident victim " + victim)
                            + " from a full cache of " + cacheSize);
                }
            }
            resident.put(key, 0);
            policy.recordInsert(key);
        }
        if (policy.size() != resident.size()) {
            throw new IllegalStateException("policy " + policy.name() + " tracks " + policy.size()
                    + " keys but " + resident.size() + " are resident");
        }
        return new Result(policy.name(), cacheSize, keys.length, hits);
    }
}
