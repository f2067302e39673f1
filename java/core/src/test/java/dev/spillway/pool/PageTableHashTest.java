package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.Arrays;
import java.util.Random;
import java.util.stream.LongStream;
import java.util.stream.Stream;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.Arguments;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * The page table's hash ({@link PageTable#mix}, {@link PageTable#partitionOf},
 * {@link PageTable#slotOf}) on the key sets a pool meets: the keys are spread evenly over the
 * partitions, and within each, at the table's load (at most 1/2, grown in powers of two from 16),
 * linear probing finds a key within a slot or so of its home. A hash whose slot came from bits a
 * stride leaves at zero, or that ignored the file id, would cluster here.
 */
class PageTableHashTest {
    private static final int PARTITIONS = 1 << PageTable.PARTITION_BITS;

    private static long key(long fileId, long page) {
        return fileId * PageFileFormat.MAX_PAGES | page;
    }

    static Stream<Arguments> keySets() {
        Random r = new Random(3);
        return Stream.of(
                Arguments.of("one file, pages 1..100,000", LongStream.rangeClosed(1, 100_000).map(p -> key(1, p)).toArray()),
                Arguments.of("16 files, pages 1..10,000 each",
                        LongStream.range(0, 160_000).map(i -> key(1 + i / 10_000, 1 + i % 10_000)).toArray()),
                Arguments.of("1,000 files, pages 1..100 each",
                        LongStream.range(0, 100_000).map(i -> key(1 + i / 100, 1 + i % 100)).toArray()),
                Arguments.of("every 64th page", LongStream.rangeClosed(1, 50_000).map(p -> key(2, p * 64)).toArray()),
                Arguments.of("every 2^20th page", LongStream.rangeClosed(1, 4_096).map(p -> key(3, p << 20)).toArray()),
                Arguments.of("random pages", LongStream.generate(() -> key(4, 1 + (r.nextLong() >>> 24))).limit(100_000).toArray()));
    }

    @ParameterizedTest(name = "{0}")
    @MethodSource("keySets")
    void keysSpreadOverPartitionsAndSlots(String name, long[] keys) {
        long[][] byPartition = new long[PARTITIONS][];
        int[] counts = new int[PARTITIONS];
        for (long k : keys) {
            counts[PageTable.partitionOf(PageTable.mix(k))]++;
        }
        for (int p = 0; p < PARTITIONS; p++) {
            byPartition[p] = new long[counts[p]];
        }
        int[] filled = new int[PARTITIONS];
        for (long k : keys) {
            int p = PageTable.partitionOf(PageTable.mix(k));
            byPartition[p][filled[p]++] = k;
        }
        double meanPartition = keys.length / (double) PARTITIONS;
        int largest = Arrays.stream(counts).max().orElse(0);
        long displacement = 0;
        int worst = 0;
        for (long[] part : byPartition) {
            int capacity = 16; // the table's rule: grow while more than half full
            while (part.length * 2 > capacity) {
                capacity *= 2;
            }
            boolean[] used = new boolean[capacity];
            for (long k : part) {
                int home = PageTable.slot(k) & (capacity - 1);
                int i = home;
                while (used[i]) {
                    i = (i + 1) & (capacity - 1);
                }
                used[i] = true;
                int d = (i - home) & (capacity - 1);
                displacement += d;
                worst = Math.max(worst, d);
            }
        }
        double mean = displacement / (double) keys.length;
        String what = name + ": largest partition " + largest + " (mean " + meanPartition + "), mean displacement "
                + mean + ", worst " + worst;
        assertTrue(largest <= 1.25 * meanPartition, what);
        assertTrue(mean <= 1.0, what);
        assertTrue(worst <= 48, what);
    }
}
