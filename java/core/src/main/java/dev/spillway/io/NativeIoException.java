package dev.spillway.io;

import dev.spillway.SpillwayException;
import java.nio.file.Path;

/**
 * An operating-system error from a file operation. The message names the operation, the file,
 * the offset and length where there are some, and the OS error text; {@link #errno()} is the
 * error number (0 where the backend cannot know it, e.g. the pure-Java backend).
 */
public class NativeIoException extends SpillwayException {
    private static final long serialVersionUID = 1L;
    private final String operation;
    private final transient Path path;
    private final int errno;

    public NativeIoException(String operation, Path path, long offset, long length, int errno, String osMessage) {
        this(operation, path, offset, length, errno, osMessage, null);
    }

    public NativeIoException(String operation, Path path, long offset, long length, int errno, String osMessage,
            Throwable cause) {
        super(format(operation, path, offset, length, errno, osMessage), cause);
        this.operation = operation;
        this.path = path;
        this.errno = errno;
    }

    static String format(String operation, Path path, long offset, long length, int errno, String osMessage) {
        StringBuilder sb = new StringBuilder(operation).append(" failed");
        if (path != null) {
            sb.append(" on ").append(path);
        }
        if (offset >= 0) {
            sb.append(" at offset ").append(offset);
        }
        if (length >= 0) {
            sb.append(" (").append(length).append(" bytes)");
        }
        sb.append(": ").append(osMessage);
        if (errno > 0) {
            sb.append(" (errno ").append(errno).append(')');
        }
        return sb.toString();
    }

    public String operation() {
        return operation;
    }

    public Path path() {
        return path;
    }

    public int errno() {
        return errno;
    }
}
