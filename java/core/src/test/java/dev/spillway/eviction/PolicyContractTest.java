package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertNotEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.util.ArrayList;
import java.util.HashSet;
import java.util.List;
import java.util.Random;
import java.util.Set;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The {@link EvictionPolicy} contract, checked for every policy the factory knows. */
class PolicyContractTest {
    static List<String> names() {
        return EvictionPolicies.names();
    }

    @ParameterizedTest
    @MethodSource("names")
    void factoryNameMatchesPolicyName(String name) {
        assertEquals(name, EvictionPolicies.create(name, 10).name());
        assertEquals(name, EvictionPolicies.create(" " + name.toUpperCase(java.util.Locale.ROOT), 0).name());
    }

    @Test
    void defaultIsAKnownName() {
        assertTrue(EvictionPolicies.names().contains(EvictionPolicies.DEFAULT));
    }

    @Test
    void unknownNameListsKnownOnes() {
        IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> EvictionPolicies.create("mru", 10));
        assertTrue(e.getMessage().contains("'mru'") && e.getMessage().contains("lru"), e.getMessage());
        assertThrows(IllegalArgumentException.class, () -> EvictionPolicies.create("lru", -1));
    }

    @ParameterizedTest
    @MethodSource("names")
    void emptyPolicyHasNoVictim(String name) {
        EvictionPolicy p = EvictionPolicies.create(name, 4);
        assertEquals(EvictionPolicy.NO_VICTIM, p.evict(k -> true));
        assertEquals(0, p.size());
    }

    @ParameterizedTest
    @MethodSource("names")
    void reservedKeyIsRejected(String name) {
        EvictionPolicy p = EvictionPolicies.create(name, 4);
        assertThrows(IllegalArgumentException.class, () -> p.recordInsert(EvictionPolicy.NO_VICTIM));
        assertEquals(0, p.size());
    }

    @ParameterizedTest
    @MethodSource("names")
    void sizeAccountingAndHarmlessUnknownKeys(String name) {
        EvictionPolicy p = EvictionPolicies.create(name, 8);
        for (long k = 0; k < 8; k++) {
            p.recordInsert(k);
        }
        p.recordInsert(3); // already resident: counts once
        assertEquals(8, p.size());
        p.recordRemove(100);
        p.recordAccess(100);
        p.recordRemove(-5);
        assertEquals(8, p.size());
        p.recordRemove(2);
        p.recordRemove(2);
        assertEquals(7, p.size());
        p.recordAccess(2); // removed: ignored, not resurrected
        assertEquals(7, p.size());
        Set<Long> seen = new HashSet<>();
        long v;
        while ((v = p.evict(k -> true)) != EvictionPolicy.NO_VICTIM) {
            assertTrue(v >= 0 && v < 8 && v != 2, "victim " + v);
            assertTrue(seen.add(v), "evicted twice: " + v);
        }
        assertEquals(7, seen.size());
        assertEquals(0, p.size());
    }

    @ParameterizedTest
    @MethodSource("names")
    void pinnedKeysAreNeverChosenAndAllPinnedGivesNoVictim(String name) {
        EvictionPolicy p = EvictionPolicies.create(name, 16);
        for (long k = 0; k < 16; k++) {
            p.recordInsert(k);
            p.recordAccess(k);
        }
        assertEquals(EvictionPolicy.NO_VICTIM, p.evict(k -> false));
        assertEquals(16, p.size());
        // only odd keys evictable: exactly the 8 odd keys come out, then nothing
        Set<Long> out = new HashSet<>();
        for (int i = 0; i < 8; i++) {
            long v = p.evict(k -> (k & 1) == 1);
            assertEquals(1, v & 1, "pinned key " + v + " evicted");
            out.add(v);
        }
        assertEquals(8, out.size());
        assertEquals(EvictionPolicy.NO_VICTIM, p.evict(k -> (k & 1) == 1));
        assertEquals(8, p.size());
        // the pinned ones are still there and still evictable once unpinned
        for (int i = 0; i < 8; i++) {
            assertEquals(0, p.evict(k -> true) & 1);
        }
        assertEquals(0, p.size());
    }

    /**
     * Random inserts, hits, removes and evictions with a random pinned set, checked against a plain
     * set of resident keys: every victim was resident and unpinned, NO_VICTIM only when every
     * resident key is pinned, and the size always agrees.
     */
    @ParameterizedTest
    @MethodSource("names")
    void randomOperationsKeepTheContract(String name) {
        Random rnd = new Random(name.hashCode());
        for (int round = 0; round < 20; round++) {
            int capacity = 1 + rnd.nextInt(64);
            int keySpace = capacity * (1 + rnd.nextInt(4));
            // half the rounds with no hint: the policy must learn the capacity from its evictions
            EvictionPolicy p = EvictionPolicies.create(name, round % 2 == 0 ? capacity : 0);
            Set<Long> resident = new HashSet<>();
            Set<Long> pinned = new HashSet<>();
            for (int op = 0; op < 5_000; op++) {
                long key = rnd.nextInt(keySpace) - keySpace / 3;
                int what = rnd.nextInt(100);
                if (what < 50) {
                    if (resident.contains(key)) {
                        p.recordAccess(key);
                    } else {
                        while (resident.size() >= capacity) {
                            long v = p.evict(k -> !pinned.contains(k));
                            if (v == EvictionPolicy.NO_VICTIM) {
                                assertTrue(pinned.containsAll(resident), "no victim but an unpinned key is resident");
                                break;
                            }
                            assertTrue(resident.remove(v), "victim " + v + " was not resident");
                            assertFalse(pinned.contains(v), "pinned key " + v + " evicted");
                        }
                        if (resident.size() < capacity) {
                            p.recordInsert(key);
                            resident.add(key);
                        }
                    }
                } else if (what < 60) {
                    p.recordRemove(key);
                    resident.remove(key);
                    pinned.remove(key);
                } else if (what < 75) {
                    if (resident.contains(key)) {
                        pinned.add(key);
                    }
                } else if (what < 90) {
                    pinned.remove(key);
                } else {
                    p.recordAccess(key); // may be non-resident: ignored
                }
                assertEquals(resident.size(), p.size(), "size after op " + op);
                validate(p);
            }
            List<Long> drained = new ArrayList<>();
            long v;
            while ((v = p.evict(k -> true)) != EvictionPolicy.NO_VICTIM) {
                drained.add(v);
            }
            assertEquals(resident, new HashSet<>(drained));
            assertEquals(resident.size(), drained.size());
        }
    }

    /** Every policy of the factory checks its own structure; a policy that cannot is a test failure. */
    static void validate(EvictionPolicy p) {
        assertTrue(p instanceof Validated, p.name() + " has no structural validator");
        ((Validated) p).validate();
    }

    @ParameterizedTest
    @MethodSource("names")
    void structureStaysValidThroughATrace(String name) {
        long[] trace = Traces.load("multi1");
        int size = 300;
        EvictionPolicy p = EvictionPolicies.create(name, size);
        Set<Long> resident = new HashSet<>();
        for (int i = 0; i < trace.length; i++) {
            long k = trace[i];
            if (resident.contains(k)) {
                p.recordAccess(k);
            } else {
                if (resident.size() == size) {
                    assertTrue(resident.remove(p.evict(x -> true)));
                }
                p.recordInsert(k);
                resident.add(k);
            }
            if (i % 97 == 0) {
                validate(p);
            }
        }
        validate(p);
    }

    @ParameterizedTest
    @MethodSource("names")
    void replayAgreesWithItself(String name) {
        long[] trace = Traces.load("multi1");
        TraceReplay.Result a = TraceReplay.replay(trace, EvictionPolicies.create(name, 500), 500);
        TraceReplay.Result b = TraceReplay.replay(trace, EvictionPolicies.create(name, 500), 500);
        assertEquals(a, b, "replay must be deterministic");
        assertNotEquals(0, a.hits());
    }
}
