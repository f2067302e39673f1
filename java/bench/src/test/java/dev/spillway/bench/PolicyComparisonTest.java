package dev.spillway.bench;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.List;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class PolicyComparisonTest {
    @TempDir Path dir;

    @Test
    void replaysEveryColumnAndPrintsATable() throws IOException {
        Path trace = dir.resolve("tiny.trace");
        StringBuilder text = new StringBuilder();
        for (int round = 0; round < 20; round++) {
            for (int k = 0; k < 100; k++) {
                text.append(k).append('\n');
            }
        }
        Files.writeString(trace, text);
        List<PolicyComparison.Row> rows = PolicyComparison.run(List.of(trace),
                List.of("lru", "alirs", PolicyComparison.CAFFEINE, PolicyComparison.OPTIMAL), new int[] {50, 100});
        assertEquals(2, rows.size());
        PolicyComparison.Row small = rows.get(0);
        assertEquals("tiny", small.workload());
        assertEquals(0.0, small.hitRatio().get("lru"), 1e-9, "a loop of 100 in 50 entries defeats LRU");
        assertTrue(small.hitRatio().get("alirs") > 0.4);
        assertTrue(small.hitRatio().get(PolicyComparison.OPTIMAL) >= small.hitRatio().get("alirs"));
        assertEquals(0.95, rows.get(1).hitRatio().get(PolicyComparison.CAFFEINE), 1e-9, "everything fits: only cold misses");
        String table = PolicyComparison.toMarkdown(rows);
        assertTrue(table.startsWith("| workload | size | lru | alirs | caffeine | optimal |"), table);
        assertTrue(table.contains("| tiny | 50 | 0.00 |"), table);
        List<String> misses = PolicyComparison.goalMisses(rows, "lru");
        assertTrue(misses.isEmpty(), misses.toString());
    }

    @Test
    void unknownPolicyFailsBeforeAnyWork() {
        assertThrows(IllegalArgumentException.class,
                () -> PolicyComparison.run(List.of(), List.of("nope"), 1));
    }

    @Test
    void syntheticWorkloadsAreDeterministic() {
        assertEquals(java.util.Arrays.toString(PolicyComparison.zipf(1000, 0.9, 100, 5)),
                java.util.Arrays.toString(PolicyComparison.zipf(1000, 0.9, 100, 5)));
        long[] scans = PolicyComparison.zipfWithScans(100, 0.9, 1000, 500, 300, 1);
        assertEquals(1000 + 2 * 300, scans.length);
        assertEquals(100, scans[500], "the scan starts right after the period's 500th request");
    }
}
