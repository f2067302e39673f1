package dev.spillway.cli;

import dev.spillway.AccessIntent;
import dev.spillway.BufferHandle;
import dev.spillway.BufferManager;
import dev.spillway.BufferManagerStats;
import dev.spillway.MemoryTag;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.TransientBuffer;
import dev.spillway.eviction.EvictionPolicies;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.pool.StandardBufferManager;
import java.io.IOException;
import java.io.InputStream;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.nio.ByteBuffer;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.Comparator;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.SplittableRandom;
import java.util.stream.Stream;

/**
 * {@code spillway demo}: a workload larger than memory through the buffer manager, checked, and
 * what the buffer manager did.
 *
 * <ol>
 *   <li><b>External sort</b> of generated 16-byte records, by default 8 times the memory limit.
 *       Runs of half the limit are sorted and written to 256 KiB transient buffers
 *       ({@link MemoryTag#ORDER_BY}); unpinned, they spill to zstd-compressed temporary files as
 *       later runs need the memory. One merge pass then pins one buffer per run at a time (read
 *       back from disk when spilled) and frees each when consumed. The output is checked: in order,
 *       every record intact, as many records as generated, and an order-independent checksum of
 *       the keys equal to the generator's.</li>
 *   <li><b>Page workload</b> on a page file twice the memory limit: every page is written once
 *       (its own number and a version), then pinned in a zipf(0.9) pattern over a shuffled page
 *       order, one pin in ten for writing (bumping the version). Every pin checks that the page
 *       holds its own number and its last written version, so a lost write-back or a misdirected
 *       read fails the demo.</li>
 * </ol>
 * Both share the one memory limit; the second starts when the first has freed its buffers.
 */
final class Demo {
    static final long DEFAULT_LIMIT = 64L << 20;
    /**
     * The smallest limit at which the default size (8x) sorts in one merge pass: runs of L/2 and a
     * merge of at most L/2 / 256 KiB runs hold (L/2)^2 / 256 KiB bytes, which is 8L from L = 8 MiB.
     */
    static final long MIN_LIMIT = 8L << 20;
    /** DuckDB's block size: buffers of this size go to the spill size classes. */
    static final int BLOCK = 256 * 1024;
    /** A record: an 8-byte key and an 8-byte payload derived from it. */
    static final int RECORD = 16;
    static final int PER_BLOCK = BLOCK / RECORD;
    /** Keys are order numbers below 10^12: realistic, and sorted runs of them compress. */
    static final long KEY_RANGE = 1_000_000_000_000L;
    static final long SEED = 20261121L;
    static final int PAGE_SIZE = 8192;
    /** The page file is this many times the memory limit, so at most half of it stays resident. */
    static final int PAGE_FILE_FACTOR = 2;
    static final double ZIPF_ALPHA = 0.9;
    /** Pins per page of the file: enough for the hit ratio to settle after the cold start, few enough for ~10 s. */
    static final int PINS_PER_PAGE = 12;
    static final double WRITE_SHARE = 0.1;
    static final String PAGE_FILE = "demo.pages";
    private static final byte[] PAGE_FILE_MAGIC = "SPWPAGEF".getBytes(StandardCharsets.US_ASCII);

    private final StandardBufferManager bm;
    private final Progress progress;
    private long peakMemory;

    Demo(StandardBufferManager bm, Progress progress) {
        this.bm = bm;
        this.progress = progress;
    }

    /** What the command line asked for, checked, and the sizes that follow from it. */
    record Plan(long limit, long dataBytes, int runBlocks, int runs, long records, int pages, long pins) {
        static Plan of(long limit, long size) {
            if (limit < MIN_LIMIT) {
                throw new Main.UsageException("--limit " + Units.bytes(limit) + " is too small: the demo needs at least "
                        + Units.bytes(MIN_LIMIT));
            }
            long data = size / BLOCK * BLOCK;
            if (data == 0) {
                throw new Main.UsageException("--size " + size + " is less than one 256 KiB buffer");
            }
            int runBlocks = (int) Math.min(Integer.MAX_VALUE / PER_BLOCK, limit / 2 / BLOCK);
            long runs = (data / BLOCK + runBlocks - 1) / runBlocks;
            long maxRuns = limit / 2 / BLOCK; // the merge pins one buffer per run, in half the limit
            if (runs > maxRuns) {
                throw new Main.UsageException("--size " + Units.bytes(data) + " with --limit " + Units.bytes(limit)
                        + " needs " + runs + " sorted runs of " + Units.bytes((long) runBlocks * BLOCK)
                        + ", but one merge pass can hold only " + maxRuns + " (one 256 KiB buffer each in half the"
                        + " limit): raise --limit or lower --size (at most " + Units.bytes(maxRuns * runBlocks * BLOCK)
                        + ")");
            }
            long keyArray = 8L * Math.min((long) runBlocks * PER_BLOCK, data / RECORD); // a run's keys, sorted in the heap
            long heap = Runtime.getRuntime().maxMemory();
            if (keyArray > heap / 2) {
                throw new Main.UsageException("--limit " + Units.bytes(limit) + " sorts runs of "
                        + Units.bytes((long) runBlocks * BLOCK) + " whose keys take " + Units.bytes(keyArray)
                        + " of heap, more than half of this JVM's " + Units.bytes(heap) + ": lower --limit or raise -Xmx");
            }
            // PAGE_FILE_FACTOR * limit / PAGE_SIZE without overflowing for limits past 2^62
            long pages = limit / PAGE_SIZE * PAGE_FILE_FACTOR + limit % PAGE_SIZE * PAGE_FILE_FACTOR / PAGE_SIZE;
            return new Plan(limit, data, runBlocks, (int) runs, data / RECORD, (int) Math.min(Integer.MAX_VALUE - 1, pages),
                    pages * PINS_PER_PAGE);
        }

        long pageFileBytes() {
            return (long) pages * PAGE_SIZE;
        }

        /**
         * Refuses, before any work, a plan this machine cannot hold: a memory limit above its
         * physical memory (0: unknown), or a sort or page file larger than the directory's free
         * space. The sort's runs are freed before the page file is written, so the larger of the
         * two must fit; runs are counted uncompressed, as random keys barely compress.
         */
        void checkRoom(Path dir, long usableDisk, long physicalMemory) {
            if (physicalMemory > 0 && limit > physicalMemory) {
                throw new Main.UsageException("--limit " + Units.bytes(limit) + " is more than this machine's "
                        + Units.bytes(physicalMemory) + " of physical memory: lower --limit");
            }
            long disk = Math.max(dataBytes, pageFileBytes());
            if (disk > usableDisk) {
                throw new Main.UsageException("the demo needs up to " + Units.bytes(disk) + " of disk in " + dir
                        + " (sorted runs of " + Units.bytes(dataBytes) + ", then a page file of "
                        + Units.bytes(pageFileBytes()) + "), but its file system has " + Units.bytes(usableDisk)
                        + " free: lower --size or --limit, or give --temp-dir on a larger file system");
            }
        }
    }

    /** This machine's physical memory in bytes, or 0 if the JVM does not say. */
    static long physicalMemory() {
        java.lang.management.OperatingSystemMXBean os = java.lang.management.ManagementFactory.getOperatingSystemMXBean();
        return os instanceof com.sun.management.OperatingSystemMXBean sun ? sun.getTotalMemorySize() : 0;
    }

    /** The default --size, 8x the limit; only computed when --size is not given. */
    static long defaultSize(long limit) {
        if (limit > Long.MAX_VALUE / 8) {
            throw new Main.UsageException("--limit " + Units.bytes(limit) + " is too large for the default --size (8x the"
                    + " limit is more than " + Long.MAX_VALUE + " bytes): give --size or lower --limit");
        }
        return 8 * limit;
    }

    record SortResult(long records, int runs, double runSeconds, double mergeSeconds) {
    }

    record PageResult(int pages, long pins, long writes, double loadSeconds, double pinSeconds, long hits, long misses,
            long evictions, long writeBacks) {
    }

    static int run(Options o, PrintStream out, PrintStream err) {
        o.checkOnly("size", "limit", "temp-dir", "backend", "policy", "json", "progress");
        o.noPositional();
        long limit = o.size("limit", DEFAULT_LIMIT);
        Plan plan = Plan.of(limit, o.values.containsKey("size") ? o.size("size", 0) : defaultSize(limit));
        BackendKind kind = BackendKind.parse(o.get("backend", "auto"));
        String policy = o.get("policy", EvictionPolicies.DEFAULT);
        EvictionPolicies.create(policy, 1); // an unknown name is a usage error before any work
        String given = o.get("temp-dir", null);
        Workdir work = Workdir.open(given);
        try {
            plan.checkRoom(work.dir, Files.getFileStore(work.dir).getUsableSpace(), physicalMemory());
        } catch (IOException | RuntimeException e) {
            work.close();
            if (e instanceof IOException io) {
                throw new UncheckedIOException("reading the free space of " + work.dir + " failed: " + io.getMessage(), io);
            }
            throw (RuntimeException) e;
        }
        boolean bar = o.flag("progress") || (err == System.err && Progress.stderrIsTerminal());
        Progress progress = new Progress(err, bar, "demo: ");
        long t0 = System.nanoTime();
        SortResult sort;
        PageResult pages;
        BufferManagerStats stats;
        String backendName;
        Map<String, String> passedOver;
        String policyName;
        long peak;
        try {
            StandardBufferManager bm = (StandardBufferManager) BufferManager.builder().memoryLimit(limit).backend(kind)
                    .evictionPolicy(policy).temporaryDirectory(work.dir.resolve("spill")).build();
            try {
                Demo d = new Demo(bm, progress);
                sort = d.externalSort(plan);
                pages = d.pageWorkload(plan, work.pageFile);
                stats = bm.stats();
                backendName = bm.backend().kind().name().toLowerCase(Locale.ROOT);
                passedOver = passedOver(kind, bm.backend().kind());
                policyName = bm.policyName();
                peak = d.peakMemory;
                if (bm.memoryUsed() != 0 || stats.temporaryBytes() != 0) {
                    throw new Main.CommandException("the demo freed everything, yet " + bm.memoryUsed()
                            + " bytes of memory and " + stats.temporaryBytes() + " temporary bytes are still accounted");
                }
            } finally {
                bm.close();
            }
        } finally {
            work.close();
        }
        double seconds = (System.nanoTime() - t0) / 1e9;
        if (o.flag("json")) {
            out.println(json(plan, work, sort, pages, stats, backendName, passedOver, policyName, peak, seconds));
        } else {
            text(out, plan, work, sort, pages, stats, backendName, passedOver, policyName, peak, seconds);
        }
        return 0;
    }

    // ---------------------------------------------------------------- the external sort

    private SortResult externalSort(Plan plan) {
        long mib = plan.dataBytes() >> 20;
        Progress.Phase runsPhase = progress.phase("sort: runs", mib, "MiB");
        SplittableRandom rnd = new SplittableRandom(SEED);
        long expectedChecksum = 0;
        long generated = 0;
        int runRecords = plan.runBlocks() * PER_BLOCK;
        long[] keys = new long[(int) Math.min(runRecords, plan.records())];
        List<List<TransientBuffer>> runs = new ArrayList<>();
        while (generated < plan.records()) {
            int n = (int) Math.min(runRecords, plan.records() - generated);
            for (int i = 0; i < n; i++) {
                long k = rnd.nextLong(KEY_RANGE);
                keys[i] = k;
                expectedChecksum += mix(k);
            }
            Arrays.sort(keys, 0, n); // the operator's own sort, in its heap: a run is n * 8 bytes of keys
            List<TransientBuffer> run = new ArrayList<>();
            for (int i = 0; i < n; i += PER_BLOCK) {
                try (BufferHandle h = bm.allocateBuffer(MemoryTag.ORDER_BY, BLOCK)) {
                    ByteBuffer b = h.buffer();
                    for (int j = 0; j < PER_BLOCK; j++) {
                        long k = keys[i + j];
                        b.putLong(j * RECORD, k);
                        b.putLong(j * RECORD + 8, payload(k));
                    }
                    run.add(h.transientBuffer());
                } // unpinned: from here the buffer may be spilled to make room
                samplePeak();
                runsPhase.update((generated + i + PER_BLOCK) * RECORD >> 20);
            }
            runs.add(run);
            generated += n;
        }
        double runSeconds = runsPhase.done(runs.size() + " sorted runs of " + Units.bytes((long) plan.runBlocks() * BLOCK)
                + ", " + Units.count(bm.stats().buffersSpilled()) + " buffers spilled so far");
        Progress.Phase mergePhase = progress.phase("sort: merge", plan.records(), "records");
        long count = merge(runs, expectedChecksum, plan.records(), mergePhase);
        double mergeSeconds = mergePhase.done(runs.size() + " runs, " + Units.count(count)
                + " records in order, complete, checksums match");
        return new SortResult(count, runs.size(), runSeconds, mergeSeconds);
    }

    /** A run being merged: its buffers, the one pinned now, and the record under the cursor. */
    private static final class Cursor {
        final List<TransientBuffer> buffers;
        int next;
        BufferHandle pinned;
        ByteBuffer buf;
        int pos;
        long key;

        Cursor(List<TransientBuffer> buffers) {
            this.buffers = buffers;
        }

        /** Pins the next buffer of the run (reading it back if it was spilled); false when the run is done. */
        boolean openNext() {
            if (next == buffers.size()) {
                return false;
            }
            pinned = buffers.get(next).pin();
            buf = pinned.buffer();
            pos = 0;
            key = buf.getLong(0);
            return true;
        }

        long payload() {
            return buf.getLong(pos * RECORD + 8);
        }

        /** Moves to the next record; a consumed buffer is unpinned and freed at once. */
        boolean advance() {
            if (++pos < PER_BLOCK) {
                key = buf.getLong(pos * RECORD);
                return true;
            }
            pinned.close();
            buffers.get(next).free();
            next++;
            return openNext();
        }
    }

    /** Merges sorted runs (full buffers of {@link #PER_BLOCK} records each), freeing them; fails unless the output checks out. */
    long merge(List<List<TransientBuffer>> runs, long expectedChecksum, long expectedCount, Progress.Phase phase) {
        Cursor[] heap = new Cursor[runs.size()];
        int n = 0;
        for (List<TransientBuffer> r : runs) {
            Cursor c = new Cursor(r);
            if (c.openNext()) {
                heap[n++] = c;
            }
            samplePeak();
        }
        for (int i = n / 2 - 1; i >= 0; i--) {
            siftDown(heap, n, i);
        }
        long count = 0;
        long checksum = 0;
        long prev = Long.MIN_VALUE;
        while (n > 0) {
            Cursor c = heap[0];
            long k = c.key;
            if (k < prev) {
                throw new Main.CommandException("external sort failed: record " + Units.count(count) + " has key " + k
                        + " after key " + prev + " (the output is not sorted)");
            }
            long p = c.payload();
            if (p != payload(k)) {
                throw new Main.CommandException("external sort failed: record " + Units.count(count) + " with key " + k
                        + " has payload " + Long.toHexString(p) + ", expected " + Long.toHexString(payload(k))
                        + " (a record was corrupted between spill and read-back)");
            }
            prev = k;
            count++;
            checksum += mix(k);
            if (!c.advance()) {
                heap[0] = heap[--n];
                heap[n] = null;
            }
            if (n > 0) {
                siftDown(heap, n, 0);
            }
            if ((count & 0xFFFF) == 0) {
                samplePeak();
                phase.update(count);
            }
        }
        if (count != expectedCount || checksum != expectedChecksum) {
            throw new Main.CommandException("external sort failed: the merge produced " + Units.count(count)
                    + " records of " + Units.count(expectedCount) + " generated" + (checksum != expectedChecksum
                    ? ", and the keys' checksum differs (records were lost or duplicated)" : ""));
        }
        return count;
    }

    private static void siftDown(Cursor[] heap, int n, int i) {
        Cursor x = heap[i];
        for (;;) {
            int child = 2 * i + 1;
            if (child >= n) {
                break;
            }
            if (child + 1 < n && heap[child + 1].key < heap[child].key) {
                child++;
            }
            if (heap[child].key >= x.key) {
                break;
            }
            heap[i] = heap[child];
            i = child;
        }
        heap[i] = x;
    }

    /** A 64-bit mix (SplitMix64's finalizer): the checksum of a key multiset and the source of payloads. */
    static long mix(long z) {
        z = (z ^ (z >>> 30)) * 0xbf58476d1ce4e5b9L;
        z = (z ^ (z >>> 27)) * 0x94d049bb133111ebL;
        return z ^ (z >>> 31);
    }

    /** The payload of a key: a customer number (17 bits) and an amount in cents (20 bits), like an order line. */
    static long payload(long key) {
        long h = mix(key ^ 0x5DEECE66DL);
        return ((h >>> 47) % 100_000) << 32 | (h & 0xFFFFF);
    }

    // ---------------------------------------------------------------- the page workload

    private PageResult pageWorkload(Plan plan, Path path) {
        int pages = plan.pages();
        long[] version = new long[pages + 1];
        PageFile f = bm.createPageFile(path, PAGE_SIZE);
        try {
            Progress.Phase load = progress.phase("pages: write file", pages, "pages");
            for (int i = 0; i < pages; i++) {
                long p = f.allocatePage();
                try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                    h.putLong(0, p);
                    h.putLong(8, 0);
                }
                if ((i & 1023) == 0) {
                    samplePeak();
                    load.update(i);
                }
            }
            f.flush();
            double loadSeconds = load.done(Units.count(pages) + " pages of " + Units.bytes(PAGE_SIZE) + ", "
                    + Units.bytes((long) pages * PAGE_SIZE) + " in " + path.getFileName());

            BufferManagerStats before = bm.stats();
            int[] pageOfRank = shuffledPages(pages);
            double[] cdf = zipfCdf(pages);
            SplittableRandom rnd = new SplittableRandom(SEED + 1);
            Progress.Phase phase = progress.phase("pages: zipf pins", plan.pins(), "pins");
            long writes = 0;
            for (long n = 0; n < plan.pins(); n++) {
                int rank = Arrays.binarySearch(cdf, rnd.nextDouble() * cdf[pages - 1]);
                long p = pageOfRank[rank >= 0 ? rank : Math.min(pages - 1, -rank - 1)];
                boolean write = rnd.nextDouble() < WRITE_SHARE;
                try (PageHandle h = f.pin(p, write ? AccessIntent.WRITE : AccessIntent.READ)) {
                    long own = h.getLong(0);
                    long v = h.getLong(8);
                    if (own != p) {
                        throw new Main.CommandException("page workload failed: page " + p + " of " + path
                                + " holds the contents of page " + own + " (a misdirected read or write)");
                    }
                    if (v != version[(int) p]) {
                        throw new Main.CommandException("page workload failed: page " + p + " of " + path + " has version "
                                + v + " but version " + version[(int) p] + " was written last (a lost write-back)");
                    }
                    if (write) {
                        h.putLong(8, ++version[(int) p]);
                        writes++;
                    }
                }
                if ((n & 4095) == 0) {
                    samplePeak();
                    phase.update(n);
                }
            }
            BufferManagerStats after = bm.stats();
            long hits = after.pageHits() - before.pageHits();
            long misses = after.pageMisses() - before.pageMisses();
            double pinSeconds = phase.done(Units.count(plan.pins()) + " pins, zipf(" + ZIPF_ALPHA + "), hit ratio "
                    + Units.percent(hits / (double) Math.max(1, hits + misses)) + ", every page held its last write");
            return new PageResult(pages, plan.pins(), writes, loadSeconds, pinSeconds, hits, misses,
                    after.pageEvictions() - before.pageEvictions(), after.pageWriteBacks() - before.pageWriteBacks());
        } finally {
            f.close(); // writes back the dirty pages: the file left behind is complete
        }
    }

    /** Page numbers 1..pages in a fixed random order: rank r of the zipf law is page pageOfRank[r]. */
    private static int[] shuffledPages(int pages) {
        int[] a = new int[pages];
        for (int i = 0; i < pages; i++) {
            a[i] = i + 1;
        }
        SplittableRandom rnd = new SplittableRandom(SEED + 2);
        for (int i = pages - 1; i > 0; i--) {
            int j = rnd.nextInt(i + 1);
            int t = a[i];
            a[i] = a[j];
            a[j] = t;
        }
        return a;
    }

    /** Cumulative weights of ranks 1..n under zipf(ZIPF_ALPHA): rank r has weight 1/r^alpha. */
    private static double[] zipfCdf(int n) {
        double[] cdf = new double[n];
        double sum = 0;
        for (int r = 0; r < n; r++) {
            sum += 1 / Math.pow(r + 1, ZIPF_ALPHA);
            cdf[r] = sum;
        }
        return cdf;
    }

    private void samplePeak() {
        peakMemory = Math.max(peakMemory, bm.memoryUsed());
    }

    // ---------------------------------------------------------------- output

    /** For every backend other than the one used: why it was not used. */
    private static Map<String, String> passedOver(BackendKind asked, BackendKind used) {
        Map<String, String> why = new LinkedHashMap<>();
        boolean auto = asked == BackendKind.AUTO && System.getProperty("spillway.backend") == null;
        Map<BackendKind, String> autoReasons = auto ? Backends.selection().passedOver() : Map.of();
        for (BackendKind k : BackendKind.values()) {
            if (k == BackendKind.AUTO || k == used) {
                continue;
            }
            String reason = autoReasons.get(k);
            if (reason == null) {
                String cannot = Backends.unavailableReason(k);
                reason = cannot != null ? "does not load here: " + cannot
                        : auto ? "available here, but auto takes " + lower(used) + " first (order: jni, ffm, jna, nio)"
                        : "available here, but " + lower(used) + " was asked for";
            }
            why.put(lower(k), reason);
        }
        return why;
    }

    private static String lower(BackendKind k) {
        return k.name().toLowerCase(Locale.ROOT);
    }

    private static double mbPerSecond(long bytes, double seconds) {
        return seconds <= 0 ? 0 : bytes / 1e6 / seconds;
    }

    private static String json(Plan plan, Workdir work, SortResult sort, PageResult pages, BufferManagerStats s,
            String backend, Map<String, String> passedOver, String policy, long peak, double seconds) {
        Json reasons = new Json();
        passedOver.forEach(reasons::put);
        Json sortJson = new Json().put("records", sort.records()).put("record_bytes", RECORD).put("runs", sort.runs())
                .put("run_bytes", (long) plan.runBlocks() * BLOCK).put("verified", true)
                .put("run_seconds", sort.runSeconds()).put("merge_seconds", sort.mergeSeconds())
                .put("mb_per_s", mbPerSecond(plan.dataBytes(), sort.runSeconds() + sort.mergeSeconds()));
        Json pageJson = new Json().put("page_size", PAGE_SIZE).put("pages", pages.pages())
                .put("file_bytes", (long) pages.pages() * PAGE_SIZE).put("pins", pages.pins()).put("writes", pages.writes())
                .put("zipf_alpha", ZIPF_ALPHA).put("verified", true).put("hits", pages.hits()).put("misses", pages.misses())
                .put("hit_ratio", pages.hits() / (double) Math.max(1, pages.hits() + pages.misses()))
                .put("evictions", pages.evictions()).put("write_backs", pages.writeBacks())
                .put("load_seconds", pages.loadSeconds()).put("pin_seconds", pages.pinSeconds())
                .put("pins_per_s", pages.pins() / Math.max(1e-9, pages.pinSeconds()));
        Json stats = new Json().put("page_hits", s.pageHits()).put("page_misses", s.pageMisses())
                .put("page_evictions", s.pageEvictions()).put("page_write_backs", s.pageWriteBacks())
                .put("buffers_spilled", s.buffersSpilled()).put("buffers_read_back", s.buffersReadBack())
                .put("bytes_spilled", s.bytesSpilled()).put("bytes_spilled_stored", s.bytesSpilledStored())
                .put("bytes_read_back", s.bytesReadBack()).put("compression_ratio", s.compressionRatio())
                .put("failed_spills", s.failedSpills()).put("temp_files_peak", s.temporaryFilesPeak())
                .put("temp_bytes_peak", s.temporaryBytesPeak());
        return new Json().put("backend", backend).put("backends_passed_over", reasons).put("policy", policy)
                .put("memory_limit", plan.limit()).put("memory_peak", peak).put("data_bytes", plan.dataBytes())
                .put("temp_dir", work.dir.toString()).put("page_file_kept", work.keep ? work.pageFile.toString() : null)
                .put("sort", sortJson).put("pages", pageJson).put("stats", stats).put("seconds", seconds).toString();
    }

    /** The ratio, and why it can be below 1: a raw block takes 4 KiB more than its 256 KiB (header, O_DIRECT padding). */
    private static String compression(double ratio) {
        String r = String.format(Locale.ROOT, "compression %.2fx", ratio);
        return ratio < 1.05 ? r + ": mostly stored raw, the adaptive zstd level measured raw writes faster on this disk"
                : r + ", zstd level chosen adaptively by measured write and read cost";
    }

    private static void text(PrintStream out, Plan plan, Workdir work, SortResult sort, PageResult pages,
            BufferManagerStats s, String backend, Map<String, String> passedOver, String policy, long peak,
            double seconds) {
        long fileBytes = (long) pages.pages() * PAGE_SIZE;
        out.printf(Locale.ROOT, "Spillway demo: %s sorted and %s of pages pinned through a %s memory limit%n%n",
                Units.bytes(plan.dataBytes()), Units.bytes(fileBytes), Units.bytes(plan.limit()));
        out.printf("  %-18s %s%n", "backend", backend);
        Map<String, List<String>> byReason = new LinkedHashMap<>(); // "ffm, jna, nio: loads here, but ..." in one line
        passedOver.forEach((k, why) -> byReason.computeIfAbsent(why, w -> new ArrayList<>()).add(k));
        byReason.forEach((why, kinds) -> out.printf("  %-18s   %s not used: %s%n", "", String.join(", ", kinds), why));
        out.printf("  %-18s %s for pages; transient buffers are evicted least recently unpinned first%n",
                "eviction policy", policy);
        out.printf("  %-18s %s%s%n", "directory", work.dir, work.keep ? "" : " (removed at the end)");
        out.println();
        out.printf(Locale.ROOT, "External sort (%s records of %d B, %s runs of %s, one merge pass, tag ORDER_BY)%n",
                Units.count(sort.records()), RECORD, sort.runs(), Units.bytes((long) plan.runBlocks() * BLOCK));
        out.printf(Locale.ROOT, "  %-18s sorted, complete, every record intact, key checksum matches%n", "verified");
        out.printf(Locale.ROOT, "  %-18s runs %.1f s + merge %.1f s = %.1f MB/s%n", "time",
                sort.runSeconds(), sort.mergeSeconds(), mbPerSecond(plan.dataBytes(), sort.runSeconds() + sort.mergeSeconds()));
        out.printf(Locale.ROOT, "  %-18s %s buffers, %s -> %s on disk (%s)%n", "spilled",
                Units.count(s.buffersSpilled()), Units.bytes(s.bytesSpilled()), Units.bytes(s.bytesSpilledStored()),
                compression(s.compressionRatio()));
        out.printf(Locale.ROOT, "  %-18s %s buffers, %s%n", "read back", Units.count(s.buffersReadBack()),
                Units.bytes(s.bytesReadBack()));
        out.printf(Locale.ROOT, "  %-18s at most %d open at once, holding at most %s%n", "temporary files",
                s.temporaryFilesPeak(), Units.bytes(s.temporaryBytesPeak()));
        out.println();
        out.printf(Locale.ROOT, "Page workload (%s pages of %s = %s, %dx the limit; zipf(%.1f), %.0f%% writes)%n",
                Units.count(pages.pages()), Units.bytes(PAGE_SIZE), Units.bytes(fileBytes), PAGE_FILE_FACTOR, ZIPF_ALPHA,
                100 * WRITE_SHARE);
        out.printf(Locale.ROOT, "  %-18s every pin saw its own page and its last write (%s writes)%n", "verified",
                Units.count(pages.writes()));
        out.printf(Locale.ROOT, "  %-18s %s pins in %.1f s = %s pins/s (writing the file: %.1f s)%n", "time",
                Units.count(pages.pins()), pages.pinSeconds(), Units.count(Math.round(pages.pins() / Math.max(1e-9,
                pages.pinSeconds()))), pages.loadSeconds());
        out.printf(Locale.ROOT, "  %-18s %s hits (%s), %s misses, %s evictions, %s write-backs%n", "pins",
                Units.count(pages.hits()), Units.percent(pages.hits() / (double) Math.max(1, pages.hits() + pages.misses())),
                Units.count(pages.misses()), Units.count(pages.evictions()), Units.count(pages.writeBacks()));
        out.println();
        out.println("Buffer manager, whole run");
        out.printf(Locale.ROOT, "  %-18s %s hits, %s misses, %s evictions, %s write-backs%n", "pages",
                Units.count(s.pageHits()), Units.count(s.pageMisses()), Units.count(s.pageEvictions()),
                Units.count(s.pageWriteBacks()));
        out.printf(Locale.ROOT, "  %-18s %s spilled, %s read back, %s failed spills%n", "buffers",
                Units.count(s.buffersSpilled()), Units.count(s.buffersReadBack()), Units.count(s.failedSpills()));
        out.printf(Locale.ROOT, "  %-18s peak %s of the %s limit%n", "memory", Units.bytes(peak), Units.bytes(plan.limit()));
        out.println();
        out.printf(Locale.ROOT, "Done in %.1f s.%s%n", seconds, work.keep ? " Page file left for a look: spillway inspect "
                + work.pageFile : "");
    }

    // ---------------------------------------------------------------- the working directory

    /**
     * Where the demo writes: a fresh temporary directory removed at the end (also on Ctrl-C), or
     * the user's {@code --temp-dir}, where the page file is left for {@code inspect}. The
     * manager's spill files go to a subdirectory it creates and removes itself.
     */
    private static final class Workdir implements AutoCloseable {
        final Path dir;
        final Path pageFile;
        final boolean keep;
        private final Thread cleanup;

        private Workdir(Path dir, boolean keep) {
            this.dir = dir;
            this.pageFile = dir.resolve(PAGE_FILE);
            this.keep = keep;
            this.cleanup = keep ? null : new Thread(() -> deleteTree(dir), "spillway-demo-cleanup");
            if (cleanup != null) {
                Runtime.getRuntime().addShutdownHook(cleanup);
            }
        }

        static Workdir open(String given) {
            try {
                if (given == null) {
                    return new Workdir(Files.createTempDirectory("spillway-demo-"), false);
                }
                Path dir = Path.of(given).toAbsolutePath().normalize();
                if (Files.exists(dir) && !Files.isDirectory(dir)) {
                    throw new Main.UsageException("--temp-dir " + dir + " exists and is not a directory");
                }
                Files.createDirectories(dir);
                Path pf = dir.resolve(PAGE_FILE);
                if (Files.exists(pf, LinkOption.NOFOLLOW_LINKS)) {
                    if (!isPageFile(pf)) {
                        throw new Main.UsageException(pf + " exists and is not a Spillway page file; the demo will not"
                                + " overwrite it (choose another --temp-dir)");
                    }
                    Files.delete(pf); // the page file of an earlier demo run
                }
                return new Workdir(dir, true);
            } catch (IOException e) {
                throw new UncheckedIOException("preparing the demo's directory " + (given != null ? given : "under "
                        + System.getProperty("java.io.tmpdir")) + " failed: " + e.getMessage(), e);
            }
        }

        private static boolean isPageFile(Path p) throws IOException {
            if (!Files.isRegularFile(p, LinkOption.NOFOLLOW_LINKS)) {
                return false;
            }
            try (InputStream in = Files.newInputStream(p)) {
                return Arrays.equals(in.readNBytes(PAGE_FILE_MAGIC.length), PAGE_FILE_MAGIC);
            }
        }

        @Override
        public void close() {
            if (cleanup != null) {
                Runtime.getRuntime().removeShutdownHook(cleanup);
                deleteTree(dir);
            }
        }

        private static void deleteTree(Path dir) {
            try (Stream<Path> s = Files.walk(dir)) {
                s.sorted(Comparator.reverseOrder()).forEach(p -> p.toFile().delete());
            } catch (IOException | UncheckedIOException e) {
                // a leftover in the system's temp directory; nothing the user asked for depends on it
            }
        }
    }
}
