package dev.spillway.eviction;

/** Argument checks shared by the policies. */
final class Policies {
    private Policies() {}

    static int checkHint(int capacityHint) {
        if (capacityHint < 0) {
            throw new IllegalArgumentException("capacity hint must be >= 0: " + capacityHint);
        }
        return capacityHint;
    }

    /**
     * The capacity a policy assumes before its first eviction when it does not trust the hint:
     * large, so that the cache fills as if unbounded, the way each paper describes the cold start;
     * the first eviction then sets the real capacity. Small enough that twice it does not overflow.
     */
    static final int UNKNOWN_CAPACITY = Integer.MAX_VALUE / 4;

    /** The capacity to assume until the first eviction: the hint, or {@link #UNKNOWN_CAPACITY} if 0. */
    static int initialCapacity(int hint) {
        return hint == 0 ? UNKNOWN_CAPACITY : hint;
    }

    /** {@link EvictionPolicy#NO_VICTIM} is the one long that cannot be a key. */
    static void checkKey(long key) {
        if (key == EvictionPolicy.NO_VICTIM) {
            throw new IllegalArgumentException("key " + key + " is reserved (EvictionPolicy.NO_VICTIM)");
        }
    }
}
