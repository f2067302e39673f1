package dev.spillway.eviction;

import java.util.function.LongPredicate;

/**
 * LIRS (Low Inter-reference Recency Set): ranks keys by the recency of their <em>previous</em> use
 * (reuse distance) instead of their last use, so keys touched once by a scan, or by a loop longer
 * than the cache, cannot displace keys reused at short distances. Optionally adaptive: the share
 * of the cache given to new and rarely reused keys follows the workload.
 *
 * <p>Papers: Jiang and Zhang, "LIRS: An Efficient Low Inter-reference Recency Set Replacement
 * Policy to Improve Buffer Cache Performance" (SIGMETRICS 2002), the source of the traces in
 * {@code shared/traces}; the adaptation is the rule of CLOCK-Pro, LIRS's CLOCK approximation
 * (Jiang, Chen and Zhang, "CLOCK-Pro: An Effective Improvement of the CLOCK Replacement", USENIX
 * ATC 2005, section 4.3), applied to the exact list form.
 *
 * <p><b>Terms.</b> LIR keys (low inter-reference recency, "hot") hold most of the cache and are
 * never evicted directly. HIR keys ("cold") are either resident, in a small FIFO queue from which
 * victims are taken, or non-resident history. A HIR key is in its <em>test period</em> while it is
 * in the stack S: reused then, its reuse distance beats the oldest LIR key's and it becomes LIR,
 * demoting that one to HIR.
 *
 * <p><b>Layout.</b> The stack S (LIR keys and the HIR keys, resident or not, more recent than the
 * oldest LIR key; its oldest end is always a LIR key), the queue of resident HIR keys and the
 * history of non-resident ones, in primitive arrays: {@link LirsSpace}, shared with {@link
 * WLirsPolicy}'s main space.
 *
 * <p><b>HIR share.</b> Fixed ({@code lirs}): the paper's L_hirs, 1% of the capacity. Adaptive
 * ({@code alirs}): CLOCK-Pro's rule, starting from one entry: a HIR key reused in its test period
 * (resident or not) adds one entry to the HIR target, a non-resident HIR key whose test period ends
 * unused takes one away, within [1, capacity - 1]. (CLOCK-Pro also counts resident ones; a resident
 * key may still be hit, and not counting it gains up to 0.9 point on sprite and changes no other
 * row of {@code docs/eviction.md}.) A recency-heavy workload (sprite) thus grows the queue until
 * it behaves like LRU; a loop or scan never reuses a HIR key in its test period and keeps it at one,
 * which is the paper's ideal. Each event moves the target by one and demotes at most one LIR key,
 * so the work stays O(1) per request.
 *
 * <p><b>Bounded history.</b> The paper lets S grow with non-resident entries without limit. Here
 * the history holds at most four times the capacity; beyond that the earliest-evicted entry is
 * dropped.
 *
 * <p><b>Pinned keys.</b> Eviction takes the oldest evictable key of the queue, skipping refused
 * ones in place. If every queued key is refused it evicts the oldest evictable LIR key (walking S
 * from its old end); if none, {@link #NO_VICTIM}. Each walk is bounded by its list's size.
 *
 * <p><b>Capacity.</b> The resident count when evicting: the pool evicts only when full, so that
 * count is the real capacity whatever share of memory pages have at the moment. The hint only
 * presizes the tables. The capacity bounds the HIR target and the history.
 */
public final class LirsPolicy implements EvictionPolicy, Validated {
    private final LirsSpace space;
    private final boolean adaptive;

    /** Adaptive LIRS ({@code alirs}). */
    public LirsPolicy(int capacityHint) {
        this(capacityHint, true);
    }

    /** {@code adaptive}: CLOCK-Pro's adaptive HIR share ({@code alirs}); otherwise the paper's fixed 1% ({@code lirs}). */
    public LirsPolicy(int capacityHint, boolean adaptive) {
        int hint = Policies.checkHint(capacityHint);
        this.adaptive = adaptive;
        space = new LirsSpace(hint, adaptive, (byte) 0);
    }

    @Override
    public String name() {
        return adaptive ? "alirs" : "lirs";
    }

    @Override
    public void recordInsert(long key) {
        Policies.checkKey(key);
        int n = space.find(key);
        if (space.resident(n)) {
            space.hit(n);
        } else {
            space.insert(key, n, (byte) 0);
        }
    }

    @Override
    public void recordAccess(long key) {
        int n = space.find(key);
        if (space.resident(n)) {
            space.hit(n);
        }
    }

    @Override
    public void recordRemove(long key) {
        space.remove(key);
    }

    @Override
    public long evict(LongPredicate evictable) {
        return space.evict(evictable);
    }

    @Override
    public void validate() {
        space.validate();
    }

    @Override
    public int size() {
        return space.size();
    }
}
