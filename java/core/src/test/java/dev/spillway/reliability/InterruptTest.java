package dev.spillway.reliability;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferHandle;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.TransientBuffer;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.util.ArrayList;
import java.util.List;
import org.junit.jupiter.api.AfterEach;
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
}
