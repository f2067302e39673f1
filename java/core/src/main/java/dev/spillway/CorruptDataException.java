package dev.spillway;

/** Data read from disk failed a check (crc32c, header, codec): names the file and page or slot. */
public class CorruptDataException extends SpillwayException {
    private static final long serialVersionUID = 1L;

    public CorruptDataException(String message) {
        super(message);
    }

    public CorruptDataException(String message, Throwable cause) {
        super(message, cause);
    }
}
