package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertSame;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashMap;
import java.util.List;
import java.util.Map;
import java.util.SplittableRandom;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import org.junit.jupiter.api.AfterAll;
import org.junit.jupiter.api.Test;

/** The page table against a HashMap: random inserts and removals (backward-shift deletion, growth). */
class BufferPoolPageTableTest {
    private static final FrameMemory.Slab SHARED = new FrameMemory.Slab(Backends.open(BackendKind.NIO).allocate(4096), 4096, 1);

    @AfterAll
    static void free() {
        SHARED.memory.close();
    }

    @Test
    void matchesAHashMapUnderRandomInsertsAndRemovals() {
        PageTable t = new PageTable();
        Map<Long, Frame> ref = new HashMap<>();
        List<Long> live = new ArrayList<>();
        SplittableRandom r = new SplittableRandom(5);
        for (int step = 0; step < 200_000; step++) {
            long key = (1L << 40) | (1 + r.nextInt(5000)); // dense page numbers, as in a real file
            PageTable.Partition p = t.partition(key);
            long stamp = p.writeLock();
            try {
                Frame have = p.probe(key);
                assertSame(ref.get(key), have, "lookup of " + key + " at step " + step);
                if (have == null && r.nextInt(3) != 0) {
                    Frame f = frameStub(key);
                    p.put(f);
                    ref.put(key, f);
                    live.add(key);
                } else if (have != null) {
                    assertFalse(p.remove(frameStub(key)), "removes only its own frame");
                    assertTrue(p.remove(have));
                    ref.remove(key);
                }
            } finally {
                p.unlockWrite(stamp);
            }
        }
        for (long k : live) {
            assertSame(ref.get(k), t.get(k));
        }
        assertEquals(ref.size(), t.size());
        List<Frame> all = new ArrayList<>();
        t.collect(all);
        assertEquals(ref.size(), all.size());
    }

    /** A frame that only needs to be a distinct object (all share one slot of one slab, none is used). */
    private static Frame frameStub(long key) {
        return new Frame(null, key, SHARED, 0, 0);
    }
}
