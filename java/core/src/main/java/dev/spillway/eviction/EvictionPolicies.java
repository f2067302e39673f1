package dev.spillway.eviction;

import java.util.List;
import java.util.Locale;

/**
 * Creates eviction policies by name; the names are what configuration and the CLI accept.
 *
 * <ul>
 *   <li>{@code lru}: least recently used ({@link LruPolicy}).
 *   <li>{@code clock}: second chance ({@link ClockPolicy}).
 *   <li>{@code arc}: adaptive replacement cache ({@link ArcPolicy}).
 *   <li>{@code s3fifo}: three FIFO queues ({@link S3FifoPolicy}).
 *   <li>{@code wtinylfu}: window TinyLFU, Caffeine's policy ({@link WTinyLfuPolicy}).
 *   <li>{@code lirs}: LIRS with the paper's fixed 1% HIR share ({@link LirsPolicy}).
 *   <li>{@code alirs}: LIRS with CLOCK-Pro's adaptive HIR share ({@link LirsPolicy}).
 *   <li>{@code wlirs}: W-TinyLFU's window and admission in front of an adaptive LIRS main space
 *       ({@link WLirsPolicy}); the default.
 * </ul>
 */
public final class EvictionPolicies {
    /**
     * The policy the pool uses unless configured otherwise: adaptive LIRS, chosen by the replay
     * table in {@code docs/eviction.md} (within 1 point of LRU everywhere, and at or above
     * Caffeine's W-TinyLFU on the loop-heavy traces except where that table says).
     */
    public static final String DEFAULT = "wlirs";

    private static final List<String> NAMES = List.of("lru", "clock", "arc", "s3fifo", "wtinylfu", "lirs", "alirs", "wlirs");

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
        if (name == null) {
            throw new IllegalArgumentException("eviction policy name is null; known: " + String.join(", ", NAMES));
        }
        String key = name.strip().toLowerCase(Locale.ROOT);
        switch (key) {
            case "lru":
                return new LruPolicy(capacityHint);
            case "clock":
                return new ClockPolicy(capacityHint);
            case "arc":
                return new ArcPolicy(capacityHint);
            case "s3fifo":
                return new S3FifoPolicy(capacityHint);
            case "wtinylfu":
                return new WTinyLfuPolicy(capacityHint);
            case "lirs":
                return new LirsPolicy(capacityHint, false);
            case "alirs":
                return new LirsPolicy(capacityHint, true);
            case "wlirs":
                return new WLirsPolicy(capacityHint);
            default:
                throw new IllegalArgumentException("unknown eviction policy '" + name + "'; known: "
                        + String.join(", ", NAMES));
        }
    }
}
