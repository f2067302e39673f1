package dev.spillway.spill;

import java.util.ArrayList;
import java.util.BitSet;
import java.util.List;
import java.util.TreeMap;

/**
 * Slot bookkeeping of one size class in one temporary directory, with no I/O: which files exist
 * (by file index), how many slots each may hold, which slots are in use. DuckDB's rules
 * (TemporaryFileManager): a block takes the lowest free slot of the lowest-indexed file with room;
 * if no file has room a new file takes the lowest free file index and may hold
 * {@code (1 << files_open) * 4000} slots (file-index growth). Freeing tells the caller what to do
 * with the file: delete it (empty), truncate it (the tail freed), or punch a hole (a middle slot).
 * A caller may instead keep an emptied file ({@link Action#KEEP_EMPTY}): it stays in the bookkeeping
 * with no slot in use, and is reused like any file with room (its slot 0 is the next one taken).
 *
 * <p>Not thread-safe: the {@link TemporaryFileManager} calls it under its size-class lock.
 */
final class SlotAllocator {
    /** DuckDB's slots in the first file of a class; each further open file doubles it. */
    static final int BASE_SLOTS = 4000;
    /** Caps the doubling so capacity stays an int (4000 << 19 is about 2.1e9). */
    private static final int MAX_SHIFT = 19;

    /** One file's slots. */
    static final class FileSlots {
        final int fileIndex;
        final int capacity;
        final BitSet used = new BitSet();
        /** Free slots whose disk blocks were punched out; a slot leaves it when allocated again. */
        final BitSet punched = new BitSet();
        int inUse;

        FileSlots(int fileIndex, int capacity) {
            this.fileIndex = fileIndex;
            this.capacity = capacity;
        }

        /** Slots up to and including the highest one in use (what the file's length must cover). */
        int extentSlots() {
            return used.length();
        }
    }

    /** Where a block goes; {@code newFile} when the caller must create the file first. */
    record Allocation(int fileIndex, int slot, boolean newFile, int capacity) {
    }

    /** What to do with the file after a free. */
    enum Action {
        /** The file is empty: delete it (its index is free again). */
        DELETE,
        /** The file is empty and, as the caller asked, kept (open, no slot in use) for reuse. */
        KEEP_EMPTY,
        /** The highest slots are free: truncate the file to {@code extentSlots} slots. */
        TRUNCATE,
        /** A slot below the highest one in use was freed: punch a hole over it. */
        PUNCH
    }

    /**
     * @param extentSlots for TRUNCATE and PUNCH: slots up to the highest one still in use
     * @param runStart    for PUNCH: first slot of the run of free slots around the freed one
     * @param runEnd      for PUNCH: end (exclusive) of that run
     * @param unpunched   for PUNCH: free slots of the run not punched yet
     */
    record Release(Action action, int fileIndex, int slot, int extentSlots, int runStart, int runEnd, int unpunched) {
    }

    private final TreeMap<Integer, FileSlots> files = new TreeMap<>();
    private long slotsInUse;

    Allocation allocate() {
        for (FileSlots f : files.values()) {
            if (f.inUse < f.capacity) {
                int slot = f.used.nextClearBit(0);
                f.used.set(slot);
                f.punched.clear(slot);
                f.inUse++;
                slotsInUse++;
                return new Allocation(f.fileIndex, slot, false, f.capacity);
            }
        }
        int index = 0;
        while (files.containsKey(index)) {
            index++;
        }
        int capacity = BASE_SLOTS << Math.min(files.size(), MAX_SHIFT);
        FileSlots f = new FileSlots(index, capacity);
        f.used.set(0);
        f.inUse = 1;
        slotsInUse++;
        files.put(index, f);
        return new Allocation(index, 0, true, capacity);
    }

    /** Forgets a file whose creation failed right after {@link #allocate} said {@code newFile}. */
    void abandonNewFile(int fileIndex) {
        FileSlots f = files.remove(fileIndex);
        if (f == null || f.inUse != 1) {
            throw new IllegalStateException("abandoning file index " + fileIndex + " that is not a fresh file");
        }
        slotsInUse--;
    }

    Release free(int fileIndex, int slot) {
        return free(fileIndex, slot, false);
    }

    /** Whether freeing {@code slot} of the file would leave it empty. */
    boolean wouldEmpty(int fileIndex, int slot) {
        FileSlots f = files.get(fileIndex);
        return f != null && f.inUse == 1 && slot >= 0 && f.used.get(slot);
    }

    /**
     * Frees a slot; when that empties the file, {@code keepIfEmpty} keeps it (with no slot in use,
     * {@link Action#KEEP_EMPTY}) instead of forgetting it ({@link Action#DELETE}).
     */
    Release free(int fileIndex, int slot, boolean keepIfEmpty) {
        FileSlots f = files.get(fileIndex);
        if (f == null || slot < 0 || !f.used.get(slot)) {
            throw new IllegalStateException("freeing slot " + slot + " of file index " + fileIndex
                    + " that is not in use");
        }
        f.used.clear(slot);
        f.inUse--;
        slotsInUse--;
        if (f.inUse == 0) {
            if (keepIfEmpty) {
                f.punched.clear(); // the caller may truncate it: forget what was punched
                return new Release(Action.KEEP_EMPTY, fileIndex, slot, 0, 0, 0, 0);
            }
            files.remove(fileIndex);
            return new Release(Action.DELETE, fileIndex, slot, 0, 0, 0, 0);
        }
        int extent = f.extentSlots();
        if (slot >= extent) {
            f.punched.clear(extent, Integer.MAX_VALUE); // truncated away
            return new Release(Action.TRUNCATE, fileIndex, slot, extent, 0, 0, 0);
        }
        int start = f.used.previousSetBit(slot) + 1;
        int end = f.used.nextSetBit(slot);
        int unpunched = end - start - f.punched.get(start, end).cardinality();
        return new Release(Action.PUNCH, fileIndex, slot, extent, start, end, unpunched);
    }

    /** Forgets a kept empty file (the caller deletes it); its index is free again. */
    void removeEmpty(int fileIndex) {
        FileSlots f = files.get(fileIndex);
        if (f == null || f.inUse != 0) {
            throw new IllegalStateException("removing file index " + fileIndex + " that is not a kept empty file");
        }
        files.remove(fileIndex);
    }

    /** Records that free slots [from, to) of a file were punched out. */
    void markPunched(int fileIndex, int from, int to) {
        files.get(fileIndex).punched.set(from, to);
    }

    long slotsInUse() {
        return slotsInUse;
    }

    int fileCount() {
        return files.size();
    }

    FileSlots file(int fileIndex) {
        return files.get(fileIndex);
    }

    List<FileSlots> files() {
        return new ArrayList<>(files.values());
    }

    /**
     * Checks the counters against the bitmaps; a message per inconsistency, empty if none. An empty
     * file is allowed (a caller kept it, {@link Action#KEEP_EMPTY}) when {@code emptyAllowed}.
     */
    List<String> check() {
        return check(false);
    }

    List<String> check(boolean emptyAllowed) {
        List<String> problems = new ArrayList<>();
        long total = 0;
        for (FileSlots f : files.values()) {
            if (f.used.cardinality() != f.inUse) {
                problems.add("file index " + f.fileIndex + ": inUse " + f.inUse + " but " + f.used.cardinality()
                        + " bits set");
            }
            if (f.inUse == 0 && !emptyAllowed) {
                problems.add("file index " + f.fileIndex + " is empty but still open");
            }
            if (f.used.length() > f.capacity) {
                problems.add("file index " + f.fileIndex + " uses slot " + (f.used.length() - 1) + " beyond capacity "
                        + f.capacity);
            }
            total += f.inUse;
        }
        if (total != slotsInUse) {
            problems.add("slotsInUse " + slotsInUse + " but files hold " + total);
        }
        return problems;
    }
}
