package dev.spillway.eviction;

import java.util.Arrays;

/**
 * Nodes in parallel primitive arrays, threaded into a fixed number of doubly linked lists by
 * index (no node objects, so no allocation and no pointer chasing through the heap), plus a map
 * from key to node.
 *
 * <p>Layout: node {@code i} is {@code key[i]}, {@code prev[i]}, {@code next[i]}, {@code list[i]}
 * (which list it is on) and one policy-defined byte {@code mark[i]} (a reference bit, a
 * frequency). Nodes {@code 0 .. lists-1} are the lists' sentinels, so every list is circular and
 * linking never tests for an empty list. Freed nodes form a stack through {@code next}. The arrays
 * double when full and never shrink: a policy's footprint is that of its largest population.
 *
 * <p>Each list's <em>head</em> ({@code first}) is its oldest end, where eviction looks, and its
 * <em>tail</em> ({@code last}) the newest end, where entries are added.
 */
final class NodeLists {
    static final int NIL = -1;

    final LongIntHashMap index;
    long[] key;
    int[] prev;
    int[] next;
    byte[] list;
    byte[] mark;
    private final int[] sizes;
    private final int lists;
    private int freeHead = NIL;
    private int used; // nodes ever handed out, sentinels included

    NodeLists(int lists, int expected) {
        this.lists = lists;
        // Presize for the expected population, but a huge hint must not allocate huge arrays up front.
        expected = Math.min(expected, 1 << 16);
        int capacity = Math.max(lists + 8, lists + expected);
        key = new long[capacity];
        prev = new int[capacity];
        next = new int[capacity];
        list = new byte[capacity];
        mark = new byte[capacity];
        sizes = new int[lists];
        index = new LongIntHashMap(expected);
        for (int s = 0; s < lists; s++) {
            prev[s] = s;
            next[s] = s;
            list[s] = (byte) s;
        }
        used = lists;
    }

    /** The node holding {@code k}, or {@link #NIL}. */
    int find(long k) {
        return index.get(k);
    }

    /** A fresh node for {@code k}, indexed but on no list yet; the caller links it. */
    int allocate(long k) {
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
        index.put(k, n);
        return n;
    }

    /** Unlinks {@code n} if linked, drops it from the index and recycles it. */
    void free(int n) {
        if (list[n] >= 0) {
            unlink(n);
        }
        index.remove(key[n]);
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
        unlink(n);
        linkLast(l, n);
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

    private void grow() {
        int capacity = key.length * 2;
        key = Arrays.copyOf(key, capacity);
        prev = Arrays.copyOf(prev, capacity);
        next = Arrays.copyOf(next, capacity);
        list = Arrays.copyOf(list, capacity);
        mark = Arrays.copyOf(mark, capacity);
    }
}
