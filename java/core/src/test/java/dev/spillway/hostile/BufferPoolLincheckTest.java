package dev.spillway.hostile;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.BackendKind;
import dev.spillway.pool.StandardBufferManager;
import java.nio.file.Path;
import java.util.ArrayDeque;
import java.util.Deque;
import java.util.concurrent.locks.ReentrantReadWriteLock;
import org.jetbrains.kotlinx.lincheck.LinChecker;
import org.jetbrains.kotlinx.lincheck.annotations.Operation;
import org.jetbrains.kotlinx.lincheck.annotations.Param;
import org.jetbrains.kotlinx.lincheck.annotations.Validate;
import org.jetbrains.kotlinx.lincheck.paramgen.IntGen;
import org.jetbrains.kotlinx.lincheck.strategy.stress.StressOptions;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/**
 * Linearizability of the page pool (lincheck): pin for read, pin for write, free, allocate and
 * flush on a page file of three data pages under a memory limit of two frames, so nearly every
 * pin misses and evicts (writing a dirty victim back). Each history must equal some sequential
 * order of the same calls run against {@link Model}, a plain in-memory page store.
 *
 * <p>Pins are not latches: a caller keeps a reader and a writer of one page apart itself. The
 * operations do so with a per-page read-write lock, the way an index does; loads, evictions,
 * write-backs and flushes still run under each other's feet. Every page holds its value in every
 * slot, so a read that sees a half-loaded or torn page fails the check.
 *
 * <p>Stress mode, not model checking: lincheck's model checker (2.34) reported "the execution
 * has hung" here after ~110 s on a scenario of one operation in one thread (a write that had
 * returned), which no real run reproduces: the same scenarios finish in stress mode, and
 * {@link MixedStressTest}'s watchdog has not fired. Its managed scheduling around the native I/O
 * calls and the pool's parked back-off is the likely cause; not investigated further. Stress mode
 * runs the real code on real threads, over a thousand small scenarios, each checked against the model.
 *
 * <p>{@link #stressWithCompaction} runs the same on the pure-Java backend under a limit of 32
 * frames: no eviction then, but slabs of two frames, so a free leaves a slab's worth of free slots
 * and compaction moves a clean page from one slab to the other under the other threads' pins,
 * writes and flushes.
 */
@Param(name = "page", gen = IntGen.class, conf = "1:3")
@Param(name = "value", gen = IntGen.class, conf = "1:3")
public class BufferPoolLincheckTest {
    static final int PS = 4096;
    static final int PAGES = 3;
    /** Page p starts with value INITIAL * p. */
    static final int INITIAL = 10;

    /** The instance of the previous invocation, closed when the next is made (lincheck has no teardown hook). */
    private static BufferPoolLincheckTest previous;
    /** The backend and memory limit (in frames) the next instances use; set by each test. */
    private static volatile BackendKind backend = BackendKind.AUTO;
    private static volatile int limitFrames = 2;

    private final Path scratch;
    private final StandardBufferManager m;
    private final PageFile file;
    private final ReentrantReadWriteLock[] latches = new ReentrantReadWriteLock[PAGES + 1];

    public BufferPoolLincheckTest() {
        closePrevious();
        scratch = LincheckFiles.newScratch("pool");
        m = (StandardBufferManager) BufferManager.builder().backend(backend).memoryLimit((long) limitFrames * PS)
                .evictionPolicy("clock").build();
        file = m.createPageFile(scratch.resolve("p.pf"), PS);
        for (int i = 1; i <= PAGES; i++) {
            file.allocatePage();
            latches[i] = new ReentrantReadWriteLock();
            write(i, INITIAL * i); // not zero: a page served before it is read in (zeros) cannot pass for one
        }
        synchronized (BufferPoolLincheckTest.class) {
            previous = this;
        }
    }

    private static synchronized void closePrevious() {
        if (previous != null) {
            previous.m.close();
            LincheckFiles.deleteTree(previous.scratch);
            previous = null;
        }
    }

    /** The page's value, or -1 if the page is free; a torn or half-loaded page is an AssertionError. */
    @Operation
    public long read(@Param(name = "page") int page) {
        latches[page].readLock().lock();
        try (PageHandle h = file.pin(page, AccessIntent.READ)) {
            long v = h.getLong(0);
            for (int off = 8; off + 8 <= h.size(); off += 8) {
                if (h.getLong(off) != pattern(v, off)) {
                    throw new AssertionError("page " + page + " torn at " + off + ": value " + v);
                }
            }
            return v;
        } catch (IllegalArgumentException e) {
            if (e.getMessage().contains("is free")) {
                return -1;
            }
            throw e;
        } finally {
            latches[page].readLock().unlock();
        }
    }

    /** Writes the value into every slot of the page; false if the page is free. */
    @Operation
    public boolean write(@Param(name = "page") int page, @Param(name = "value") int value) {
        latches[page].writeLock().lock();
        try (PageHandle h = file.pin(page, AccessIntent.WRITE)) {
            for (int off = 0; off + 8 <= h.size(); off += 8) {
                h.putLong(off, off == 0 ? value : pattern(value, off));
            }
            return true;
        } catch (IllegalArgumentException e) {
            if (e.getMessage().contains("is free")) {
                return false;
            }
            throw e;
        } finally {
            latches[page].writeLock().unlock();
        }
    }

    /** Frees the page; false if it is free already. */
    @Operation
    public boolean free(@Param(name = "page") int page) {
        latches[page].writeLock().lock();
        try {
            file.freePage(page);
            return true;
        } catch (IllegalArgumentException e) {
            if (e.getMessage().contains("is free")) {
                return false;
            }
            throw e;
        } finally {
            latches[page].writeLock().unlock();
        }
    }

    /** Allocates a page (a freed one first, the most recently freed); its contents are zero. */
    @Operation
    public long allocate() {
        return file.allocatePage();
    }

    @Operation
    public void flush() {
        file.flush();
    }

    /** After each invocation: nothing pinned or leaked, accounting and policy agree with the frames. */
    @Validate
    public void invariants() {
        m.checkInvariants();
    }

    static long pattern(long v, int off) {
        return v == 0 ? 0 : v * 1_000_003L + off;
    }

    /** The sequential specification: pages as values, the free list as a stack. */
    public static class Model {
        private final long[] values = new long[64];
        private final boolean[] free = new boolean[64];

        public Model() {
            for (int p = 1; p <= PAGES; p++) {
                values[p] = INITIAL * p;
            }
        }
        private final Deque<Integer> freeStack = new ArrayDeque<>();
        private int pageCount = PAGES + 1;

        public long read(int page) {
            return free[page] ? -1 : values[page];
        }

        public boolean write(int page, int value) {
            if (free[page]) {
                return false;
            }
            values[page] = value;
            return true;
        }

        public boolean free(int page) {
            if (free[page]) {
                return false;
            }
            free[page] = true;
            freeStack.push(page);
            return true;
        }

        public long allocate() {
            int p = freeStack.isEmpty() ? pageCount++ : freeStack.pop();
            free[p] = false;
            values[p] = 0;
            return p;
        }

        public void flush() {
        }
    }

    @Test
    public void stress() {
        run(BackendKind.AUTO, 2);
    }

    @Test
    public void stressWithCompaction() {
        run(BackendKind.NIO, 32);
    }

    private static void run(BackendKind kind, int frames) {
        closePrevious();
        backend = kind;
        limitFrames = frames;
        LinChecker.check(BufferPoolLincheckTest.class, new StressOptions()
                .sequentialSpecification(Model.class)
                .actorsBefore(2).threads(2).actorsPerThread(4).actorsAfter(2)
                .iterations(LincheckFiles.scaled(10)).invocationsPerIteration(LincheckFiles.scaled(150)));
    }

    @AfterAll
    public static void closeLast() {
        closePrevious();
    }
}
