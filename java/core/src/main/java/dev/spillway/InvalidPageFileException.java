package dev.spillway;

/**
 * A file could not be opened as a page file: it is not one, has a format version this build
 * does not read, or has another page size than the caller stated. Nothing was written to it.
 */
public class InvalidPageFileException extends SpillwayException {
    private static final long serialVersionUID = 1L;

    public InvalidPageFileException(String message) {
        super(message);
    }
}
