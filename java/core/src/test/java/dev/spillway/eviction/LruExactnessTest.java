package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;

import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.CsvSource;

/** LRU replays the LIRS traces to the published hit ratios (shared/traces/README.md), to two decimals. */
class LruExactnessTest {
    @ParameterizedTest(name = "lru on {0} at {1} pages = {2}%")
    @CsvSource({"gli, 1000, 11.21", "multi1, 1000, 48.23", "sprite, 500, 78.30"})
    void matchesPublishedHitRatio(String trace, int pages, String percent) {
        TraceReplay.Result r = TraceReplay.replay(Traces.load(trace), new LruPolicy(pages), pages);
        assertEquals(percent, String.format(java.util.Locale.ROOT, "%.2f", 100 * r.hitRatio()),
                trace + ": " + r.hits() + " hits of " + r.requests());
    }

    @ParameterizedTest(name = "request count of {0} = {1}")
    @CsvSource({"gli, 6015", "multi1, 15858", "sprite, 133996", "loop, 505500", "2_pools, 100000", "ps, 10448"})
    void readsEveryRequest(String trace, int requests) {
        assertEquals(requests, Traces.load(trace).length);
    }
}
