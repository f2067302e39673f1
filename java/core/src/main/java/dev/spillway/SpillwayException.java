package dev.spillway;

/**
 * Base of every exception Spillway throws. Unchecked on purpose: a buffer manager sits under
 * every read of a storage engine, and a checked exception on each pin would be noise at every
 * call site; the messages carry what a checked type would (operation, file, page/slot, OS error).
 */
public class SpillwayException extends RuntimeException {
    private static final long serialVersionUID = 1L;

    public SpillwayException(String message) {
        super(message);
    }

    public SpillwayException(String message, Throwable cause) {
        super(message, cause);
    }
}
