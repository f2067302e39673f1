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

    /** {@link EvictionPolicy#NO_VICTIM} is the one long that cannot be a key. */
    static void checkKey(long key) {
        if (key == EvictionPolicy.NO_VICTIM) {
            throw new IllegalArgumentException("key " + key + " is reserved (EvictionPolicy.NO_VICTIM)");
        }
    }
}
