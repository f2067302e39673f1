package dev.spillway.eviction;

import java.util.List;
import java.util.Locale;

/** Creates eviction policies by name; the names are what configuration and the CLI accept. */
public final class EvictionPolicies {
    /** The policy the pool uses unless configured otherwise. */
    public static final String DEFAULT = "clock";

    private static final List<String> NAMES = List.of("lru", "clock");

    private EvictionPolicies() {}

    /** Every name {@link #create} accepts, in a stable order (the replay table's columns). */
    public static List<String> names() {
        return NAMES;
    }

    /**
     * A new, empty policy.
     *
     * @param name one of {@link #names()}, case-insensitive
     * @param capacityHint the number of entries the cache is expected to hold when full; sizes the
     *     tables and, for the adaptive policies, their internal targets (0 if unknown)
     * @throws IllegalArgumentException unknown name (the message lists the known ones), or a
     *     negative hint
     */
    public static EvictionPolicy create(String name, int capacityHint) {
        String key = name.strip().toLowerCase(Locale.ROOT);
        switch (key) {
            case "lru":
                return new LruPolicy(capacityHint);
            case "clock":
                return new ClockPolicy(capacityHint);
            default:
                throw new IllegalArgumentException("unknown eviction policy '" + name + "'; known: "
                        + String.join(", ", NAMES));
        }
    }
}
