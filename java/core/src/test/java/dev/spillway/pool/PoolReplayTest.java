package dev.spillway.pool;

import static org.junit.jupiter.api.Assertions.assertEquals;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.eviction.TraceReader;
import dev.spillway.eviction.TraceReplay;
import java.io.IOException;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.HashMap;
import java.util.Map;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/**
 * The same policy class drives the pool and the trace replay, and the pool feeds it the same
 * requests: a trace pinned page by page through a real pool (one thread, every page read from its
 * file on a miss) gets exactly the replay's hits, with no hit lost before a feed.
 */
class PoolReplayTest extends PoolTestBase {
    private static final int PS = 4096;

    @ParameterizedTest
    @CsvSource({"multi1, 652, wlirs", "multi1, 1955, wlirs", "multi1, 652, lru", "multi1, 652, alirs", "sprite, 708, wlirs",
        "sprite, 5306, wlirs", "gli, 632, wlirs", "gli, 1265, wlirs", "loop, 506, wlirs", "ps, 154, wlirs", "2_pools, 994, wlirs", "gli, 632, wtinylfu"})
    void aTracePinnedThroughThePoolHitsAsTheReplayDoes(String trace, int pages, String policy) throws IOException {
        long[] keys = TraceReader.read(Path.of(System.getProperty("spillway.traces"), trace + ".trace.gz"));
        Map<Long, Long> pageOf = new HashMap<>();
        for (long k : keys) {
            pageOf.computeIfAbsent(k, x -> (long) pageOf.size() + 1);
        }
        Path file = dir.resolve(trace + ".pf");
        StandardBufferManager setup = manager(BufferManager.builder().memoryLimit(64L * PS));
        PageFile created = setup.createPageFile(file, PS);
        for (int i = 0; i < pageOf.size(); i++) {
            created.allocatePage();
        }
        created.close();

        StandardBufferManager m = managerWithPolicy(BufferManager.builder().memoryLimit((long) pages * PS).evictionPolicy(policy));
        PageFile f = m.openPageFile(file);
        // the replay gets the pool's keys (file id above bit 40, page below): a policy with a sketch
        // (wlirs, wtinylfu) hashes them, so other key values could collide otherwise
        long[] poolKeys = new long[keys.length];
        for (int i = 0; i < keys.length; i++) {
            poolKeys[i] = ((StandardPageFile) f).keyOf(pageOf.get(keys[i]));
        }
        long replayHits = TraceReplay.replay(poolKeys, EvictionPolicies.create(policy, pages), pages).hits();
        for (long k : keys) {
            try (PageHandle h = f.pin(pageOf.get(k), AccessIntent.READ)) {
                h.getLong(0);
            }
        }
        long hits = m.stats().pageHits();
        assertEquals(keys.length, hits + m.stats().pageMisses());
        assertEquals(replayHits, hits, trace + " at " + pages + " pages, " + policy + ": pool against replay");
        assertEquals(0, m.hitsNotFedForTest(), "no hit lost before a feed");
    }
}
