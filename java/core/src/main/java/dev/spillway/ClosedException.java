package dev.spillway;

/** An operation on something already closed: a file, a handle, a manager. */
public class ClosedException extends SpillwayException {
    private static final long serialVersionUID = 1L;

    public ClosedException(String message) {
        super(message);
    }
}
