package dev.spillway.eviction;

import java.util.Arrays;

/**
 * Nodes in parallel primitive arrays, threaded into a fixed number of doubly linked lists by
 * index (no node objects, so no allocation and no pointer chasing through the heap), plus an
 * index from key to node.
 *
 * <p>Layout: node {@code i} is {@code key[i]}, {@code prev[i]}, {@code next[i]}, {@code list[i]}
 * (which list it is on) and one policy-defined byte {@code mark[i]} (a reference bit, a
 * frequency). Nodes {@code 0 .. lists-1} are the lists' sentinels, so every list is circular and
 * linking never tests for an empty list. Freed nodes form a stack through {@code next}. The arrays
 * grow by half when full and never shrink: a policy's footprint is that of its largest population.
 *
 * <p>The index is an open-addressing table of node numbers alone ({@code int}), probed linearly
 * and compared through {@code key[]}, at most half full, with backward-shift deletion (no
 * tombstones). A node thus costs 27 bytes with a second plane (18 without) plus 8 to 16 for its
 * index slots: the footprint matters because LIRS keeps four history nodes per cached key (see
 * {@code PolicyFootprintTest}). A table of keys and values would cost 24 to 48 bytes per node; the
 * price is one look into {@code key[]} per probe.
 *
 * <p>A policy that needs a node on two lists at once (LIRS: the recency stack and the HIR queue)
 * asks for a second <em>plane</em> of lists: {@code prev2}, {@code next2}, {@code list2}, with its
 * own sentinels after the first plane's. Other policies pay nothing for it.
 *
 * <p>Each list's <em>head</em> ({@code first}) is its oldest end, where eviction looks, and its
 * <em>tail</em> ({@code last}) the newest end, where entries are added.
 */
final class NodeLists {
    static final int NIL = -1;

    private static final int MIN_SLOTS = 16;
    private int[] slots; // node numbers, NIL where empty; a power of two long
    private int indexed;
    long[] key;
    int[] prev;
    int[] next;
    byte[] list;
    byte[] mark;
    int[] prev2;
    int[] next2;
    byte[] list2;
    private final int[] sizes;
    private final int[] sizes2;
    private final int lists;
    private final int sentinels;
    private int freeHead = NIL;
    private int used; // nodes ever handed out, sentinels included

    NodeLists(int lists, int expected) {
        this(lists, 0, expected);
    }

    /** {@code lists} lists in the first plane, {@code lists2} in the second (0: no second plane). */
    NodeLists(int lists, int lists2, int expected) {
        this.lists = lists;
        this.sentinels = lists + lists2;
        // Presize for the expected population, but a huge hint must not allocate huge arrays up front.
        expected = Math.min(expected, 1 << 16);
        int capacity = Math.max(sentinels + 8, sentinels + expected);
        key = new long[capacity];
        prev = new int[capacity];
        next = new int[capacity];
        list = new byte[capacity];
        mark = new byte[capacity];
        sizes = new int[lists];
        sizes2 = new int[lists2];
        slots = new int[slotsFor(expected)];
        Arrays.fill(slots, NIL);
        for (int s = 0; s < lists; s++) {
            prev[s] = s;
            next[s] = s;
            list[s] = (byte) s;
        }
        if (lists2 > 0) {
            prev2 = new int[capacity];
            next2 = new int[capacity];
            list2 = new byte[capacity];
            for (int s = lists; s < sentinels; s++) {
                prev2[s] = s;
                next2[s] = s;
                list2[s] = (byte) (s - lists);
            }
        }
        used = sentinels;
    }

    /** The node holding {@code k}, or {@link #NIL}. */
    int find(long k) {
        int mask = slots.length - 1;
        for (int i = home(k, mask);; i = (i + 1) & mask) {
            int n = slots[i];
            if (n == NIL || key[n] == k) {
                return n;
            }
        }
    }

    /** Keys in the index: the nodes on some list. */
    int indexed() {
        return indexed;
    }

    private static int home(long k, int mask) {
        return (int) LongIntHashMap.mix(k) & mask; // page keys are often dense ranges, which would cluster
    }

    /** Table size for {@code n} keys: a power of two at least twice {@code n}. */
    private static int slotsFor(long n) {
        long c = Math.max(MIN_SLOTS, Long.highestOneBit(Math.max(1, 2 * n - 1)) << 1);
        if (c > 1 << 30) {
            throw new IllegalStateException("index too large: " + n + " keys");
        }
        return (int) c;
    }

    /** The empty slot where {@code k} goes; {@code k} must not be indexed yet. */
    private int freeSlotFor(long k) {
        int mask = slots.length - 1;
        int i = home(k, mask);
        for (int m; (m = slots[i]) != NIL; i = (i + 1) & mask) {
            if (key[m] == k) {
                throw new IllegalStateException("key " + k + " already has node " + m);
            }
        }
        return i;
    }

    /** Puts node {@code n} into {@code slot} (from {@link #freeSlotFor}); doubles the table past half full. */
    private void index(int n, int slot) {
        slots[slot] = n;
        if (++indexed * 2 > slots.length) {
            int[] old = slots;
            slots = new int[slotsFor(indexed)];
            Arrays.fill(slots, NIL);
            int mask = slots.length - 1;
            for (int m : old) {
                if (m != NIL) {
                    int j = home(key[m], mask);
                    while (slots[j] != NIL) {
                        j = (j + 1) & mask;
                    }
                    slots[j] = m;
                }
            }
        }
    }

    /** Drops node {@code n} from the index; backward shift moves later nodes of its probe run into the hole. */
    private void unindex(int n) {
        int mask = slots.length - 1;
        int hole = home(key[n], mask);
        for (int m; (m = slots[hole]) != n; hole = (hole + 1) & mask) {
            if (m == NIL) {
                throw new IllegalStateException("node " + n + " (key " + key[n] + ") is not indexed");
            }
        }
        for (int i = (hole + 1) & mask, m; (m = slots[i]) != NIL; i = (i + 1) & mask) {
            // The node at i may fill the hole only if its home is not in (hole, i], cyclically.
            if (((i - home(key[m], mask)) & mask) >= ((i - hole) & mask)) {
                slots[hole] = m;
                hole = i;
            }
        }
        slots[hole] = NIL;
        indexed--;
    }

    /** A fresh node for {@code k}, indexed but on no list yet; the caller links it. */
    int allocate(long k) {
        int slot = freeSlotFor(k);
        int n;
        if (freeHead != NIL) {
            n = freeHead;
            freeHead = next[n];
        } else {
            if (used == key.length) {
                grow();
            }
            n = used++;
        }
        key[n] = k;
        mark[n] = 0;
        prev[n] = NIL;
        next[n] = NIL;
        list[n] = -1;
        if (list2 != null) {
            list2[n] = -1;
        }
        index(n, slot);
        return n;
    }

    /** Unlinks {@code n} if linked, drops it from the index and recycles it. */
    void free(int n) {
        if (list[n] >= 0) {
            unlink(n);
        }
        if (list2 != null && list2[n] >= 0) {
            unlink2(n);
        }
        unindex(n);
        list[n] = -1;
        next[n] = freeHead;
        freeHead = n;
    }

    void linkLast(int l, int n) {
        int p = prev[l];
        prev[n] = p;
        next[n] = l;
        next[p] = n;
        prev[l] = n;
        list[n] = (byte) l;
        sizes[l]++;
    }

    void linkFirst(int l, int n) {
        int f = next[l];
        next[n] = f;
        prev[n] = l;
        prev[f] = n;
        next[l] = n;
        list[n] = (byte) l;
        sizes[l]++;
    }

    void unlink(int n) {
        int p = prev[n];
        int x = next[n];
        next[p] = x;
        prev[x] = p;
        sizes[list[n]]--;
        list[n] = -1;
        prev[n] = NIL;
        next[n] = NIL;
    }

    void moveToLast(int l, int n) {
        if (list[n] != l) {
            unlink(n);
            linkLast(l, n);
            return;
        }
        // Already on l: splice it to the tail; its list tag and the list's size stay as they are.
        int t = prev[l];
        if (t == n) {
            return;
        }
        int p = prev[n];
        int x = next[n];
        next[p] = x;
        prev[x] = p;
        prev[n] = t;
        next[n] = l;
        next[t] = n;
        prev[l] = n;
    }

    /** Oldest node of list {@code l}, or {@link #NIL} if empty. */
    int first(int l) {
        int f = next[l];
        return f == l ? NIL : f;
    }

    /** Newest node of list {@code l}, or {@link #NIL} if empty. */
    int last(int l) {
        int t = prev[l];
        return t == l ? NIL : t;
    }

    /** The node after {@code n} towards the newest end, or {@link #NIL} at the end of its list. */
    int after(int n) {
        int x = next[n];
        return x < lists ? NIL : x;
    }

    // ---- second plane (only when constructed with lists2 > 0)

    void linkLast2(int l, int n) {
        int s = lists + l;
        int p = prev2[s];
        prev2[n] = p;
        next2[n] = s;
        next2[p] = n;
        prev2[s] = n;
        list2[n] = (byte) l;
        sizes2[l]++;
    }

    void unlink2(int n) {
        int p = prev2[n];
        int x = next2[n];
        next2[p] = x;
        prev2[x] = p;
        sizes2[list2[n]]--;
        list2[n] = -1;
    }

    int first2(int l) {
        int s = lists + l;
        int f = next2[s];
        return f == s ? NIL : f;
    }

    int after2(int n) {
        int x = next2[n];
        return x < sentinels && x >= lists ? NIL : x;
    }

    int size2(int l) {
        return sizes2[l];
    }

    int size(int l) {
        return sizes[l];
    }

    /** Moves every node of list {@code from} to the oldest end of list {@code to}, in order. */
    void spliceFirst(int from, int to) {
        int n;
        while ((n = last(from)) != NIL) {
            unlink(n);
            linkFirst(to, n);
        }
    }

    /**
     * Checks the structure (for tests): links are symmetric, every node's list tag and each list's
     * size agree with a walk, the index maps each linked key to its node, and every indexed node is
     * on some list.
     *
     * @throws IllegalStateException naming the first broken invariant
     */
    void validate() {
        int linked = 0;
        for (int l = 0; l < lists; l++) {
            linked += walk(l, l, prev, next, list, sizes[l]);
        }
        int linkedOnlyOnPlane2 = 0;
        if (list2 != null) {
            for (int l = 0; l < sizes2.length; l++) {
                walk(l, lists + l, prev2, next2, list2, sizes2[l]);
            }
            for (int n = sentinels; n < used; n++) {
                if (list2[n] >= 0 && list[n] < 0) {
                    linkedOnlyOnPlane2++;
                }
            }
        }
        if (linked + linkedOnlyOnPlane2 != indexed) {
            throw new IllegalStateException(indexed + " keys indexed but " + (linked + linkedOnlyOnPlane2) + " on lists");
        }
        int inTable = 0;
        for (int m : slots) {
            if (m != NIL) {
                inTable++;
            }
        }
        if (inTable != indexed) {
            throw new IllegalStateException(inTable + " index slots used, count says " + indexed);
        }
    }

    private int walk(int l, int sentinel, int[] prv, int[] nxt, byte[] tag, int expected) {
        int count = 0;
        for (int n = nxt[sentinel]; n != sentinel; n = nxt[n]) {
            if (prv[nxt[n]] != n || nxt[prv[n]] != n) {
                throw new IllegalStateException("broken links at node " + n + " of list " + l);
            }
            if (tag[n] != l) {
                throw new IllegalStateException("node " + n + " on list " + l + " is tagged " + tag[n]);
            }
            if (find(key[n]) != n) {
                throw new IllegalStateException("key " + key[n] + " of node " + n + " is not indexed to it");
            }
            if (++count > used) {
                throw new IllegalStateException("list " + l + " is cyclic");
            }
        }
        if (count != expected) {
            throw new IllegalStateException("list " + l + " holds " + count + " nodes, size says " + expected);
        }
        return count;
    }

    private void grow() {
        int capacity = key.length + (key.length >> 1);
        key = Arrays.copyOf(key, capacity);
        prev = Arrays.copyOf(prev, capacity);
        next = Arrays.copyOf(next, capacity);
        list = Arrays.copyOf(list, capacity);
        mark = Arrays.copyOf(mark, capacity);
        if (list2 != null) {
            prev2 = Arrays.copyOf(prev2, capacity);
            next2 = Arrays.copyOf(next2, capacity);
            list2 = Arrays.copyOf(list2, capacity);
        }
    }
}
