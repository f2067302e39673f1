package dev.spillway;

import java.util.Map;

/**
 * A reservation could not fit the memory limit even after evicting everything evictable
 * (everything else is pinned). Carries the numbers: requested, used, limit, usage per tag.
 */
public class MemoryLimitExceededException extends SpillwayException {
    private static final long serialVersionUID = 1L;
    private final long requested;
    private final long used;
    private final long limit;
    private final transient Map<MemoryTag, Long> usageByTag;

    public MemoryLimitExceededException(String operation, MemoryTag tag, long requested, long used, long limit,
            Map<MemoryTag, Long> usageByTag) {
        this(operation + ": cannot reserve " + requested + " bytes for " + tag + ": " + used + " of the " + limit
                + "-byte memory limit are in use and nothing more can be evicted (all pinned); usage by tag: "
                + usageByTag, requested, used, limit, usageByTag);
    }

    public MemoryLimitExceededException(String message, long requested, long used, long limit,
            Map<MemoryTag, Long> usageByTag) {
        super(message);
        this.requested = requested;
        this.used = used;
        this.limit = limit;
        this.usageByTag = Map.copyOf(usageByTag);
    }

    public long requested() {
        return requested;
    }

    public long used() {
        return used;
    }

    public long limit() {
        return limit;
    }

    public Map<MemoryTag, Long> usageByTag() {
        return usageByTag;
    }
}
