package dev.spillway.eviction;

import dev.spillway.SpillwayException;

/** A trace file holds a line that is not a key: the message names the file and the line number. */
public final class TraceFormatException extends SpillwayException {
    private static final long serialVersionUID = 1L;

    public TraceFormatException(String message, Throwable cause) {
        super(message, cause);
    }
}
