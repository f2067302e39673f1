package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertNull;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.TransientBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.atomic.AtomicBoolean;
import java.util.concurrent.atomic.AtomicReference;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * A thread interrupted in the middle of Spillway's I/O: Java's counterpart of EINTR. The C core
 * retries EINTR; a Java interrupt must likewise neither fail the call nor break the file for
 * everyone else (an interruptible channel is closed by it), and the thread keeps its interrupt.
 */
class InterruptTest extends ReliabilityTestSupport {
    private static final int PS = 16 * 1024;
    private static final int BLOCK = 256 * 1024;

    @AfterEach
    void clearInterrupt() {
        Thread.interrupted();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void anInterruptDuringPageIoFailsNothingAndBreaksNoFile(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 21);
        StandardBufferManager m = manager(io, 3L * PS);
        PageFile f = m.createPageFile(dir.resolve("intr.pf"), PS);
        for (int i = 0; i < 6; i++) {
            write(f, f.allocatePage(), 1); // pages 4..6 evict 1..3: write-backs
        }
        io.inject(Op.READ).interrupt().at(o -> o != 0).times(1);
        verify(f, 1, 1); // a miss whose read is interrupted
        assertTrue(Thread.interrupted(), "the interrupt is kept for the caller");
        io.inject(Op.WRITE).interrupt().at(o -> o != 0).times(1);
        write(f, f.allocatePage(), 1); // evicts a dirty page: its write-back is interrupted
        assertTrue(Thread.interrupted());
        io.inject(Op.SYNC).interrupt().times(1);
        f.flush();
        assertTrue(Thread.interrupted());
        assertEquals(3, io.injected(Op.READ) + io.injected(Op.WRITE) + io.injected(Op.SYNC));
        for (long p = 1; p <= 7; p++) {
            verify(f, p, 1);
        }
        f.close();
        PageFile g = m.openPageFile(dir.resolve("intr.pf"));
        for (long p = 1; p <= 7; p++) {
            verify(g, p, 1);
        }
        assertConsistent(m);
    }

    /** Interrupts that land in the middle of calls, from another thread, over and over (bounded: 1.5 s per backend). */
    @ParameterizedTest
    @MethodSource("backends")
    void aThreadInterruptedOverAndOverWhileItPinsAndSpillsLosesNothing(IoBackend backend) throws Exception {
        StandardBufferManager m = manager(backend, 3L * PS + 2L * BLOCK);
        PageFile f = m.createPageFile(dir.resolve("storm.pf"), PS);
        for (int i = 0; i < 8; i++) {
            write(f, f.allocatePage(), 2);
        }
        List<TransientBuffer> bufs = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            try (BufferHandle h = m.allocateBuffer(MemoryTag.HASH_TABLE, BLOCK)) {
                fillBuffer(h.buffer(), i);
                bufs.add(h.transientBuffer());
            }
        }
        Throwable[] failure = new Throwable[1];
        int[] rounds = new int[1];
        Thread worker = new Thread(() -> {
            try {
                long end = System.nanoTime() + 1_500_000_000L;
                while (System.nanoTime() < end) {
                    int r = rounds[0]++;
                    verify(f, 1 + r % 8, 2); // misses: 8 pages through 3 frames
                    try (BufferHandle h = bufs.get(r % 4).pin()) { // read back, spilling another
                        checkBuffer(h.buffer(), r % 4, "buffer " + r % 4);
                    }
                }
            } catch (Throwable t) {
                failure[0] = t;
            }
        }, "interrupted-worker");
        worker.start();
        while (worker.isAlive()) {
            worker.interrupt();
            java.util.concurrent.locks.LockSupport.parkNanos(100_000); // thousands a second, many of them mid-call
        }
        worker.join();
        if (failure[0] != null) {
            throw new AssertionError("after " + rounds[0] + " rounds", failure[0]);
        }
        assertTrue(rounds[0] > 10, rounds[0] + " rounds");
        for (long p = 1; p <= 8; p++) {
            verify(f, p, 2);
        }
        for (int i = 0; i < 4; i++) {
            try (BufferHandle h = bufs.get(i).pin()) {
                checkBuffer(h.buffer(), i, "buffer " + i);
            }
        }
        assertConsistent(m);
        bufs.forEach(TransientBuffer::free);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void anInterruptDuringSpillIoFailsNothingAndLosesNoBlock(IoBackend backend) {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 22);
        StandardBufferManager m = manager(io, 2L * BLOCK);
        List<TransientBuffer> bufs = new ArrayList<>();
        io.inject(Op.SPILL_WRITE).interrupt().times(1);
        io.inject(Op.WRITE).interrupt().times(1);
        for (int i = 0; i < 6; i++) {
            try (BufferHandle h = m.allocateBuffer(MemoryTag.HASH_TABLE, BLOCK)) {
                fillBuffer(h.buffer(), i);
                bufs.add(h.transientBuffer());
            }
            Thread.interrupted();
        }
        assertTrue(io.injected(Op.SPILL_WRITE) + io.injected(Op.WRITE) >= 1, "a spill write was interrupted");
        io.inject(Op.SPILL_READ).interrupt().times(2);
        for (int i = 0; i < 6; i++) {
            try (BufferHandle h = bufs.get(i).pin()) {
                checkBuffer(h.buffer(), i, "buffer " + i);
            }
            Thread.interrupted();
        }
        assertEquals(2, io.injected(Op.SPILL_READ));
        for (int i = 0; i < 6; i++) { // every block still readable after the interrupts
            try (BufferHandle h = bufs.get(i).pin()) {
                checkBuffer(h.buffer(), i, "buffer " + i);
            }
        }
        assertConsistent(m);
        bufs.forEach(TransientBuffer::free);
    }

    // ---------------------------------------------------------------- waiting while interrupted

    /** Looks (one a millisecond) at a waiter's state while it waits with its interrupt set. */
    private static final int SAMPLES = 500;

    /**
     * A pin that waits for another thread's read of the same page, with its interrupt set: it
     * must wait as it does without one (parked, not spinning on a park that an interrupt makes
     * return at once), get the page once the read is done, and keep the interrupt.
     */
    @Test
    void aPinInterruptedWhileAnotherThreadLoadsThePageParksAndKeepsTheInterrupt() throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(Backends.available().get(0), 23);
        StandardBufferManager m = manager(io, 8L * PS);
        Path p = dir.resolve("wait-load.pf");
        PageFile f = m.createPageFile(p, PS);
        long page = f.allocatePage();
        write(f, page, 1);
        f.close();
        PageFile g = m.openPageFile(p); // nothing resident
        CountDownLatch inRead = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        io.inject(Op.READ).at(o -> holdIf("loader", o != 0, inRead, release));
        Thread loader = new Thread(() -> verify(g, page, 1), "loader");
        loader.start();
        assertTrue(inRead.await(10, TimeUnit.SECONDS), "the loader reads");
        waitInterrupted("a pin waiting for another thread's load", () -> verify(g, page, 1), release);
        loader.join();
    }

    /** A write pin that waits for a flush's write-back of the page, with its interrupt set: as above. */
    @Test
    void aWritePinInterruptedWhileAFlushWritesThePageBackParksAndKeepsTheInterrupt() throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(Backends.available().get(0), 24);
        StandardBufferManager m = manager(io, 8L * PS);
        PageFile f = m.createPageFile(dir.resolve("wait-writeback.pf"), PS);
        long page = f.allocatePage();
        write(f, page, 1);
        CountDownLatch inWrite = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        io.inject(Op.WRITE).at(o -> holdIf("flusher", o == page * PS, inWrite, release));
        Thread flusher = new Thread(f::flush, "flusher");
        flusher.start();
        assertTrue(inWrite.await(10, TimeUnit.SECONDS), "the flush writes the page");
        waitInterrupted("a write pin waiting for a flush's write-back", () -> write(f, page, 2), release);
        flusher.join();
        verify(f, page, 2);
    }

    /**
     * A miss that needs memory held only by a page a flush is writing back, with its interrupt
     * set: the accountant waits for the write-back (the memory will come free), and must park
     * while it does, then load the page and keep the interrupt.
     */
    @Test
    void aReservationInterruptedWhileItWaitsForAFlushsWriteBackParksAndKeepsTheInterrupt() throws Exception {
        waitForFlushedMemory("a reservation", (m, f, c) -> () -> verify(f, c, 1)); // waits for a to be clean, then evicts it
    }

    /** As above, for a lowering of the memory limit that waits for the write-back to evict the page. */
    @Test
    void aLimitLoweringInterruptedWhileItWaitsForAFlushsWriteBackParksAndKeepsTheInterrupt() throws Exception {
        waitForFlushedMemory("a lowering of the limit", (m, f, c) -> () -> m.setMemoryLimit(PS));
    }

    private interface Waiting {
        Runnable of(StandardBufferManager m, PageFile f, long c);
    }

    /**
     * Two pages of memory, one pinned and one dirty (page a); a flush writes a back and is held
     * in its write while {@code waiting}, which needs a's memory, runs interrupted.
     */
    private void waitForFlushedMemory(String what, Waiting waiting) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(Backends.available().get(0), 25);
        StandardBufferManager m = manager(io, 2L * PS);
        PageFile f = m.createPageFile(dir.resolve("wait-memory.pf"), PS);
        long a = f.allocatePage();
        write(f, a, 1);
        long b = f.allocatePage();
        write(f, b, 1);
        long c = f.allocatePage(); // evicts a or b, written back
        write(f, c, 1);
        f.flush();
        try (PageHandle held = f.pin(b, AccessIntent.READ)) { // b stays
            write(f, a, 2); // a (dirty) and b resident, the memory full
            CountDownLatch inWrite = new CountDownLatch(1);
            CountDownLatch release = new CountDownLatch(1);
            io.inject(Op.WRITE).at(o -> holdIf("flusher", o == a * PS, inWrite, release));
            Thread flusher = new Thread(f::flush, "flusher");
            flusher.start();
            assertTrue(inWrite.await(10, TimeUnit.SECONDS), "the flush writes page a back");
            waitInterrupted(what + " waiting for a flush's write-back", waiting.of(m, f, c), release);
            flusher.join();
        }
        verify(f, a, 2);
    }

    /** For a rule's predicate: a call of the named thread that matches waits (uninterruptibly) for {@code release}. */
    private static boolean holdIf(String thread, boolean match, CountDownLatch entered, CountDownLatch release) {
        if (match && Thread.currentThread().getName().equals(thread) && entered.getCount() > 0) {
            entered.countDown();
            boolean interrupted = false;
            for (;;) {
                try {
                    release.await();
                    break;
                } catch (InterruptedException e) {
                    interrupted = true;
                }
            }
            if (interrupted) {
                Thread.currentThread().interrupt();
            }
        }
        return false; // no fault: the call goes on
    }

    /**
     * Runs {@code waiting} on a thread that is interrupted once it waits, and looks at it
     * {@link #SAMPLES} times: a wait that parks is seen parked nearly every time (480-499 of 500),
     * one that spins on a park the interrupt makes return at once far less (9-215, burning 300-550
     * ms of CPU while watched against 85-105; its CPU time is in the message, but on a loaded
     * machine it separates the two less well). Then lets the awaited operation finish ({@code release}): the
     * call must succeed and leave the interrupt set.
     */
    private static void waitInterrupted(String what, Runnable waiting, CountDownLatch release) throws Exception {
        AtomicReference<Throwable> failure = new AtomicReference<>();
        AtomicBoolean kept = new AtomicBoolean();
        Thread waiter = new Thread(() -> {
            try {
                waiting.run();
                kept.set(Thread.interrupted());
            } catch (Throwable t) {
                failure.set(t);
            }
        }, "interrupted-waiter");
        long cpu;
        int parked = 0;
        try {
            waiter.start();
            Thread.sleep(100); // it is waiting by now (parked, a few µs of CPU per 20 µs)
            waiter.interrupt();
            long before = cpuNanos(waiter);
            for (int i = 0; i < SAMPLES; i++) {
                Thread.sleep(1);
                Thread.State st = waiter.getState();
                parked += st == Thread.State.TIMED_WAITING || st == Thread.State.WAITING ? 1 : 0;
            }
            cpu = cpuNanos(waiter) - before;
            assertTrue(waiter.isAlive(), "the waiter waits until the operation it waits for is done");
        } finally {
            release.countDown();
        }
        waiter.join(10_000);
        assertTrue(!waiter.isAlive(), "the waiter got on once the operation it waited for was done");
        assertNull(failure.get(), () -> "the interrupted waiter failed: " + failure.get());
        assertTrue(kept.get(), "the interrupt is kept for the caller");
        assertTrue(parked >= SAMPLES * 4 / 5, what + " with its interrupt set was parked in " + parked + " of " + SAMPLES
                + " looks, and burned " + cpu / 1_000_000 + " ms of CPU meanwhile");
    }

    /**
     * A thread's CPU time. Reflection because the test classes are compiled into the module, which
     * does not read java.management; at run time the tests run on the class path.
     */
    @SuppressWarnings("deprecation") // Thread.getId: threadId() needs Java 19
    static long cpuNanos(Thread t) throws ReflectiveOperationException {
        Object threads = Class.forName("java.lang.management.ManagementFactory").getMethod("getThreadMXBean").invoke(null);
        return (Long) Class.forName("java.lang.management.ThreadMXBean").getMethod("getThreadCpuTime", long.class)
                .invoke(threads, t.getId());
    }
}
