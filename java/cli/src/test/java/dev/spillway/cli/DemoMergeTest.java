package dev.spillway.cli;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.MemoryTag;
import dev.spillway.TransientBuffer;
import dev.spillway.pool.StandardBufferManager;
import java.io.OutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.function.LongUnaryOperator;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.BeforeEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/** The demo's merge fails loudly on output that is out of order, torn, short or not the input. */
class DemoMergeTest {
    @TempDir
    Path dir;

    private StandardBufferManager bm;
    private Demo demo;
    private Progress.Phase phase;

    @BeforeEach
    void setUp() {
        bm = (StandardBufferManager) BufferManager.builder().memoryLimit(4L * Demo.BLOCK)
                .temporaryDirectory(dir.resolve("tmp")).build();
        Progress p = new Progress(new PrintStream(OutputStream.nullOutputStream()), false, "");
        demo = new Demo(bm, p);
        phase = p.phase("merge", 1, "records");
    }

    @AfterEach
    void tearDown() {
        bm.close();
    }

    /** A run of {@code blocks} full buffers whose i-th record has key {@code key(i)}; adds its keys to sums[0]. */
    private List<TransientBuffer> run(int blocks, LongUnaryOperator key, long[] sums) {
        List<TransientBuffer> run = new ArrayList<>();
        for (int b = 0; b < blocks; b++) {
            try (BufferHandle h = bm.allocateBuffer(MemoryTag.ORDER_BY, Demo.BLOCK)) {
                ByteBuffer buf = h.buffer();
                for (int j = 0; j < Demo.PER_BLOCK; j++) {
                    long k = key.applyAsLong((long) b * Demo.PER_BLOCK + j);
                    buf.putLong(j * Demo.RECORD, k);
                    buf.putLong(j * Demo.RECORD + 8, Demo.payload(k));
                    sums[0] += Demo.mix(k);
                }
                run.add(h.transientBuffer());
            }
        }
        return run;
    }

    @Test
    void sortedRunsMergeThroughSpills() {
        long[] sum = new long[1];
        // 3 runs of 3 buffers through a limit of 4: the merge reads spilled buffers back
        List<List<TransientBuffer>> runs = List.of(run(3, i -> 3 * i, sum), run(3, i -> 3 * i + 1, sum),
                run(3, i -> 3 * i + 2, sum));
        assertTrue(bm.stats().buffersSpilled() >= 5, bm.stats().toString());
        assertEquals(9L * Demo.PER_BLOCK, demo.merge(runs, sum[0], 9L * Demo.PER_BLOCK, phase));
        assertEquals(0, bm.memoryUsed(), "consumed buffers are freed");
        assertEquals(bm.stats().buffersSpilled(), bm.stats().buffersReadBack());
    }

    @Test
    void unsortedRunFails() {
        long[] sum = new long[1];
        List<List<TransientBuffer>> runs = List.of(run(1, i -> i == 100 ? 5 : i, sum), run(1, i -> i, sum));
        Main.CommandException e = assertThrows(Main.CommandException.class,
                () -> demo.merge(runs, sum[0], 2L * Demo.PER_BLOCK, phase));
        assertTrue(e.getMessage().contains("(the output is not sorted)"), e.getMessage());
    }

    @Test
    void tornRecordFails() {
        long[] sum = new long[1];
        List<List<TransientBuffer>> runs = List.of(run(2, i -> i, sum));
        try (BufferHandle h = runs.get(0).get(1).pin()) {
            h.buffer().putLong(7 * Demo.RECORD + 8, 12345); // a payload that does not belong to its key
        }
        Main.CommandException e = assertThrows(Main.CommandException.class,
                () -> demo.merge(runs, sum[0], 2L * Demo.PER_BLOCK, phase));
        assertTrue(e.getMessage().contains("record " + Units.count(Demo.PER_BLOCK + 7L) + " with key"), e.getMessage());
    }

    @Test
    void missingOrForeignRecordsFail() {
        long[] sum = new long[1];
        List<List<TransientBuffer>> runs = List.of(run(1, i -> i, sum));
        Main.CommandException e = assertThrows(Main.CommandException.class,
                () -> demo.merge(runs, sum[0], 2L * Demo.PER_BLOCK, phase));
        assertTrue(e.getMessage().contains("produced 16,384 records of 32,768 generated"), e.getMessage());
        List<List<TransientBuffer>> other = List.of(run(1, i -> i, new long[1]));
        e = assertThrows(Main.CommandException.class, () -> demo.merge(other, sum[0] + 1, Demo.PER_BLOCK, phase));
        assertTrue(e.getMessage().contains("checksum differs"), e.getMessage());
    }
}
