package dev.spillway.reliability;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.CorruptDataException;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.TransientBuffer;
import dev.spillway.pool.StandardBufferManager;
import java.io.FileDescriptor;
import java.io.FileOutputStream;
import java.io.PrintStream;
import java.nio.ByteBuffer;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.List;
import java.util.Random;

/**
 * The process {@link CrashTest} kills. It opens (or creates) a page file and loops until killed:
 * writes pages (content derived from page and version), frees and allocates pages, flushes now and
 * then, and allocates, spills, reads back and frees transient buffers under a memory limit small
 * enough that pages are written back and buffers spilled all the time.
 *
 * <p>It tells the parent on stdout, one unbuffered line each, <em>before</em> anything of the step
 * can reach the disk: {@code W page version} before a write pin, {@code X page} before a free,
 * {@code A page} after an allocation (nothing of it is on disk yet), {@code F} after a flush
 * returned, {@code O owner} (its temporary-file owner id) and {@code R} when it starts the loop.
 *
 * <p>Arguments: directory, seed, first version, memory limit in bytes.
 */
public final class CrashChild {
    static final int PAGE_SIZE = 8192;
    static final int INITIAL_PAGES = 40;
    static final int BLOCK = 256 * 1024;
    static final int FLUSH_EVERY = 25;

    private CrashChild() {
    }

    public static void main(String[] args) throws Exception {
        Path dir = Path.of(args[0]);
        Random rnd = new Random(Long.parseLong(args[1]));
        long version = Long.parseLong(args[2]);
        long limit = Long.parseLong(args[3]);
        PrintStream out = new PrintStream(new FileOutputStream(FileDescriptor.out), true, "US-ASCII");
        Path file = dir.resolve("data.pf");
        try (StandardBufferManager m = (StandardBufferManager) BufferManager.builder().memoryLimit(limit)
                .temporaryDirectory(dir.resolve("tmp")).temporaryDirectoryLimit(BufferManager.Builder.UNLIMITED)
                .spillCompressionLevel(1).build()) {
            PageFile f;
            List<Long> live = new ArrayList<>();
            if (Files.exists(file)) {
                f = m.openPageFile(file, PAGE_SIZE);
                for (long p = 1; p < f.pageCount(); p++) {
                    try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                        live.add(h.pageNumber());
                    } catch (IllegalArgumentException free) {
                        // on the free list
                    } catch (CorruptDataException leftover) {
                        f.freePage(p); // a page freed after the last flush before the crash: free it for good
                    }
                }
            } else {
                f = m.createPageFile(file, PAGE_SIZE);
                for (int i = 0; i < INITIAL_PAGES; i++) {
                    long p = f.allocatePage();
                    write(f, p, 0);
                    live.add(p);
                }
            }
            f.flush();
            out.println("O " + m.transientBuffers().temporaryFileManager().ownerId());
            out.println("R");
            List<TransientBuffer> buffers = new ArrayList<>();
            List<Long> seeds = new ArrayList<>();
            for (long step = 1;; step++) {
                int op = rnd.nextInt(100);
                if (op < 65) {
                    long p = live.get(rnd.nextInt(live.size()));
                    long v = ++version;
                    out.println("W " + p + " " + v);
                    write(f, p, v);
                } else if (op < 73 && live.size() > INITIAL_PAGES / 2) {
                    long p = live.remove(rnd.nextInt(live.size()));
                    out.println("X " + p);
                    f.freePage(p);
                } else if (op < 81) {
                    long p = f.allocatePage();
                    out.println("A " + p);
                    live.add(p);
                    long v = ++version;
                    out.println("W " + p + " " + v);
                    write(f, p, v);
                } else if (op < 93 || buffers.isEmpty()) {
                    long seed = rnd.nextLong();
                    try (BufferHandle h = m.allocateBuffer(MemoryTag.HASH_TABLE, BLOCK)) {
                        ReliabilityTestSupport.fillBuffer(h.buffer(), seed);
                        buffers.add(h.transientBuffer());
                        seeds.add(seed);
                    }
                } else {
                    int i = rnd.nextInt(buffers.size());
                    TransientBuffer b = buffers.remove(i);
                    long seed = seeds.remove(i);
                    try (BufferHandle h = b.pin()) {
                        ByteBuffer bb = h.buffer();
                        ReliabilityTestSupport.checkBuffer(bb, seed, "transient buffer");
                    }
                    b.free();
                }
                if (step % FLUSH_EVERY == 0) {
                    f.flush();
                    out.println("F");
                }
            }
        }
    }

    /** Version at offset 0, then words derived from (page, version): a page's content names its version. */
    static void write(PageFile f, long page, long version) {
        try (PageHandle h = f.pin(page, AccessIntent.WRITE)) {
            h.putLong(0, version);
            for (int off = 8; off + 8 <= h.size(); off += 8) {
                h.putLong(off, ReliabilityTestSupport.pattern(page, version, off));
            }
        }
    }

    /** The version a page holds; -1 if its words do not all belong to one version (never written whole). */
    static long versionOf(PageHandle h) {
        long v = h.getLong(0);
        for (int off = 8; off + 8 <= h.size(); off += 8) {
            if (h.getLong(off) != ReliabilityTestSupport.pattern(h.pageNumber(), v, off)) {
                return v == 0 && allZero(h) ? -2 : -1;
            }
        }
        return v;
    }

    private static boolean allZero(PageHandle h) {
        for (int off = 0; off + 8 <= h.size(); off += 8) {
            if (h.getLong(off) != 0) {
                return false;
            }
        }
        return true;
    }
}
