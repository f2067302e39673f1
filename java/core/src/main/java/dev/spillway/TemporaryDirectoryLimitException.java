package dev.spillway;

/**
 * A spill would pass the size limit of the temporary directories. Carries the limit, the usage
 * and the bytes asked for; the message names the setting that raises the limit.
 */
public class TemporaryDirectoryLimitException extends SpillwayException {
    private static final long serialVersionUID = 1L;
    private final long limit;
    private final long used;
    private final long requested;

    public TemporaryDirectoryLimitException(String message, long limit, long used, long requested) {
        super(message);
        this.limit = limit;
        this.used = used;
        this.requested = requested;
    }

    public long limit() {
        return limit;
    }

    public long used() {
        return used;
    }

    public long requested() {
        return requested;
    }
}
