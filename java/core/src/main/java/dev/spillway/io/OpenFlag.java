package dev.spillway.io;

/** How {@link IoBackend#open} opens a file. Files are always opened close-on-exec. */
public enum OpenFlag {
    /** Read-only; without it the file is opened read-write. */
    READ_ONLY,
    /** Create the file if missing (mode 0600). */
    CREATE,
    /** With CREATE: fail if the file exists. */
    EXCLUSIVE,
    /** Ask for O_DIRECT; {@link IoFile#isDirect()} tells whether the file system granted it. */
    DIRECT,
    /** Fail if the last path component is a symbolic link. */
    NO_FOLLOW,
    /** Truncate to zero length on open. */
    TRUNCATE
}
