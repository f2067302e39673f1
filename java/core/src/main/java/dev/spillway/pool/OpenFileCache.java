package dev.spillway.pool;

import dev.spillway.ClosedException;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import java.util.EnumSet;
import java.util.Iterator;
import java.util.LinkedHashMap;
import java.util.Set;

/**
 * Open descriptors of page files, at most {@code limit} at once. Every I/O of a page file goes
 * through {@link #acquire} / {@link #release}; a descriptor is closed only while no I/O of its file
 * is in flight (its use count is 0, checked under this cache's lock), least recently used first, and
 * is reopened on the next acquire. When every open descriptor is in use the caller waits: no thread
 * ever holds two acquisitions at once, so someone always finishes.
 */
final class OpenFileCache {
    private static final Set<OpenFlag> REOPEN = EnumSet.of(OpenFlag.DIRECT);

    private final IoBackend backend;
    private final int limit;
    /** Files with an open descriptor, least recently used first. */
    private final LinkedHashMap<StandardPageFile, Boolean> open = new LinkedHashMap<>(16, 0.75f, true); // guarded by this
    private long opens; // guarded by this
    private long closes; // guarded by this
    /** Threads waiting in {@link #makeRoom} for a descriptor to be released: only then does a release notify. */
    private int waiters; // guarded by this

    OpenFileCache(IoBackend backend, int limit) {
        this.backend = backend;
        this.limit = limit;
    }

    /** Registers a descriptor just opened for a file (creation or first open). */
    synchronized void adopt(StandardPageFile f, IoFile io) {
        makeRoom();
        f.io = io;
        open.put(f, Boolean.TRUE);
        opens++;
    }

    /**
     * The file's descriptor, reopened if the cache had closed it; pair with {@link #release}. The
     * operation, for the error if the file was closed, is {@code verb} on page {@code page}, or on
     * the file where {@code page} is negative; its name is built only then, so that a page read
     * (every miss) builds no string.
     */
    synchronized IoFile acquire(StandardPageFile f, String verb, long page) {
        if (f.closed) {
            String op = page >= 0 ? verb + " page " + page + " of" : verb;
            throw new ClosedException(op + ": page file " + f.path() + " is closed");
        }
        if (f.io != null) {
            open.get(f); // touch: most recently used
        } else {
            makeRoom();
            f.io = backend.open(f.path(), REOPEN);
            opens++;
            open.put(f, Boolean.TRUE);
        }
        f.inUse++;
        return f.io;
    }

    synchronized void release(StandardPageFile f) {
        if (--f.inUse == 0 && waiters > 0) {
            notifyAll();
        }
    }

    /** Closes least recently used idle descriptors until one more fits; waits while all are busy. */
    private void makeRoom() {
        boolean interrupted = false;
        while (open.size() >= limit) {
            boolean closed = false;
            for (Iterator<StandardPageFile> it = open.keySet().iterator(); it.hasNext();) {
                StandardPageFile victim = it.next();
                if (victim.inUse == 0) {
                    it.remove();
                    victim.io.close();
                    victim.io = null;
                    closes++;
                    closed = true;
                    break;
                }
            }
            if (!closed) {
                waiters++;
                try {
                    wait();
                } catch (InterruptedException e) {
                    interrupted = true; // an I/O in flight finishes soon; keep the interrupt for the caller
                } finally {
                    waiters--;
                }
            }
        }
        if (interrupted) {
            Thread.currentThread().interrupt();
        }
    }

    /** Closes the file's descriptor for good (the file is being closed; no I/O of it is in flight). */
    synchronized void remove(StandardPageFile f) {
        if (open.remove(f) != null) {
            f.io.close();
            f.io = null;
            closes++;
            notifyAll();
        }
    }

    synchronized int openCount() {
        return open.size();
    }

    synchronized long opens() {
        return opens;
    }

    synchronized long closes() {
        return closes;
    }
}
