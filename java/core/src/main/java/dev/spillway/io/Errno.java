package dev.spillway.io;

/** The few Linux errno values Spillway reacts to (x86-64 and aarch64 share them). */
public final class Errno {
    public static final int EINTR = 4;
    public static final int EIO = 5;
    public static final int EBADF = 9;
    public static final int EEXIST = 17;
    public static final int EINVAL = 22;
    public static final int ENOSPC = 28;
    public static final int ELOOP = 40;
    public static final int EOPNOTSUPP = 95;

    private Errno() {
    }
}
