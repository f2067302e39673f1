package dev.spillway.cli;

import java.io.IOException;
import java.io.PrintStream;
import java.io.UncheckedIOException;
import java.math.BigInteger;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.BitSet;
import java.util.HexFormat;
import java.util.List;
import java.util.Locale;
import java.util.Map;
import java.util.TreeMap;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * {@code spillway inspect PATH}: what is in a page file or a temporary directory, read-only.
 *
 * <p>The formats are the library's, documented in {@code dev.spillway.pool.PageFileFormat} (page
 * files) and {@code dev.spillway.io.SpillFormat} / {@code TemporaryFileManager} (spill blocks and
 * file names). They are read here independently of the engines, opening every file for reading
 * only, so that inspecting a file can never change it and a damaged file can be described rather
 * than refused.
 */
final class Inspect {
    // page file header (PageFileFormat): little-endian
    static final long PAGE_MAGIC = 0x4645474150575053L; // "SPWPAGEF"
    static final int PAGE_VERSION = 1;
    static final int HEADER_CRC_OFFSET = 40;
    static final int KIND_DATA = 0x41544144;
    static final int KIND_FREE = 0x45455246;
    // spill block header (SpillFormat)
    static final int BLOCK_MAGIC = 0x42575053; // "SPWB"
    static final int BLOCK_HEADER = 32;
    /** TemporaryFileManager's names: owner records, size-class files (slot size in KiB, file index), files of their own. */
    private static final Pattern OWNER = Pattern.compile("spillway-(\\d+-[0-9a-f]{8})\\.owner");
    private static final Pattern CLASS_FILE = Pattern.compile("spillway-(\\d+-[0-9a-f]{8})-c(\\d+)k-(\\d+)\\.tmp");
    private static final Pattern OWN_FILE = Pattern.compile("spillway-(\\d+-[0-9a-f]{8})-b(\\d+)\\.tmp");

    private Inspect() {
    }

    static int run(Options o, PrintStream out) {
        o.checkOnly();
        if (o.positional.size() != 1) {
            throw new Main.UsageException("inspect takes one path (a page file or a temporary directory), got "
                    + o.positional.size());
        }
        Path p = Path.of(o.positional.get(0));
        if (!Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
            throw new Main.CommandException(p + ": no such file or directory");
        }
        try {
            if (Files.isDirectory(p)) {
                tempDirectory(p, out);
            } else if (Files.isRegularFile(p)) {
                file(p, out);
            } else {
                throw new Main.CommandException(p + " is neither a regular file nor a directory");
            }
        } catch (IOException e) {
            throw new UncheckedIOException("inspect " + p + ": " + Main.describe(e), e);
        }
        return 0;
    }

    private static void file(Path p, PrintStream out) throws IOException {
        try (FileChannel ch = FileChannel.open(p, StandardOpenOption.READ)) {
            long size = ch.size();
            ByteBuffer head = read(ch, 0, 4096);
            if (head.limit() >= 8 && head.getLong(0) == PAGE_MAGIC) {
                pageFile(p, ch, size, head, out);
                return;
            }
            String first = HexFormat.ofDelimiter(" ").formatHex(head.array(), 0, Math.min(8, head.limit()));
            if (head.limit() >= 4 && head.getInt(0) == BLOCK_MAGIC) {
                throw new Main.CommandException(p + " is a Spillway temporary file; inspect its directory, "
                        + p.toAbsolutePath().getParent());
            }
            throw new Main.CommandException(p + " is not a Spillway page file (" + Units.count(size) + " bytes, first bytes "
                    + (first.isEmpty() ? "none" : first) + "; a page file starts with SPWPAGEF) nor a temporary directory");
        }
    }

    /** Reads up to {@code n} bytes at {@code at} (fewer at the end of the file), little-endian. */
    private static ByteBuffer read(FileChannel ch, long at, int n) throws IOException {
        ByteBuffer b = ByteBuffer.allocate(n).order(ByteOrder.LITTLE_ENDIAN);
        while (b.hasRemaining()) {
            int r = ch.read(b, at + b.position());
            if (r < 0) {
                break;
            }
        }
        return b.flip();
    }

    private static int crc32c(ByteBuffer b, int from, int to) {
        CRC32C c = new CRC32C();
        c.update(b.duplicate().position(from).limit(to));
        return (int) c.getValue();
    }

    // ---------------------------------------------------------------- page files

    private static void pageFile(Path p, FileChannel ch, long size, ByteBuffer h, PrintStream out) throws IOException {
        out.println(p + ": Spillway page file");
        if (h.limit() < HEADER_CRC_OFFSET + 4) {
            out.printf("  %-16s %d bytes: too short for the header (44 bytes); truncated%n", "file size", size);
            return;
        }
        int version = h.getInt(8);
        int pageSize = h.getInt(12);
        long pageCount = h.getLong(16);
        long freeHead = h.getLong(24);
        long freeCount = h.getLong(32);
        int stored = h.getInt(HEADER_CRC_OFFSET);
        int actual = crc32c(h, 0, HEADER_CRC_OFFSET);
        boolean pageSizeOk = pageSize >= 4096 && pageSize <= 256 * 1024 && Integer.bitCount(pageSize) == 1;
        out.printf("  %-16s SPWPAGEF%n", "magic");
        out.printf("  %-16s %d%s%n", "version", version, version == PAGE_VERSION ? "" : " (this build reads version "
                + PAGE_VERSION + ")");
        out.printf("  %-16s %s%s%n", "page size", Units.count(pageSize), pageSizeOk ? " bytes" : " (not a power of two"
                + " from 4096 to 262144: the header is damaged)");
        out.printf("  %-16s %s (the header page included)%n", "page count", Units.count(pageCount));
        out.printf("  %-16s %s%n", "free-list head", freeHead == 0 ? "0 (empty)" : Units.count(freeHead));
        out.printf("  %-16s %s%n", "free pages", Units.count(freeCount));
        out.printf("  %-16s %s (page count less the header and the free pages)%n", "data pages",
                Units.count(Math.max(0, pageCount - 1 - freeCount)));
        out.printf("  %-16s %s%n", "header checksum", stored == actual ? String.format("ok (crc32c %08x)", stored)
                : String.format("MISMATCH: stored crc32c %08x, computed %08x", stored, actual));
        String sizeNote = "";
        if (pageSizeOk && pageCount > 0) {
            // exact: a damaged count (up to 2^63 - 1) times the page size overflows a long
            BigInteger expected = BigInteger.valueOf(pageCount).multiply(BigInteger.valueOf(pageSize));
            int cmp = BigInteger.valueOf(size).compareTo(expected);
            sizeNote = cmp == 0 ? " = page count x page size"
                    : cmp < 0 ? String.format(Locale.ROOT, " - TRUNCATED: the header counts %,d bytes", expected)
                    : " (" + Units.count(size - expected.longValueExact()) + " bytes past the last page: a write in flight"
                            + " at a crash)";
        }
        out.printf("  %-16s %s bytes (%s)%s%n", "file size", Units.count(size), Units.bytes(size), sizeNote);
        if (!pageSizeOk || pageCount < 1) {
            out.printf("  %-16s not walked: the header is damaged%n", "free list");
            return;
        }
        walkFreeList(ch, size, pageSize, pageCount, freeHead, freeCount, out);
    }

    /**
     * Follows the free list from its head, checking each node (in range, not seen before, its
     * checksum, its kind). It stops at the first bad node and after at most pageCount steps, so a
     * corrupt or cyclic list cannot loop forever.
     */
    private static void walkFreeList(FileChannel ch, long size, int pageSize, long pageCount, long head, long headerCount,
            PrintStream out) throws IOException {
        long limit = Math.min(pageCount, size / pageSize);
        if (limit > Integer.MAX_VALUE) {
            out.printf("  %-16s not walked: %s pages is more than this tool tracks%n", "free list", Units.count(limit));
            return;
        }
        BitSet seen = new BitSet();
        long length = 0;
        String problem = null;
        long page = head;
        while (page != 0) {
            if (page < 1 || page >= limit) {
                problem = "entry " + (length + 1) + " names page " + page + ", outside data pages 1.." + (limit - 1);
                break;
            }
            if (seen.get((int) page)) {
                problem = "page " + page + " appears twice: the list has a cycle";
                break;
            }
            seen.set((int) page);
            ByteBuffer b = read(ch, page * pageSize, pageSize);
            int stored = b.getInt(0);
            int actual = crc32c(b, 4, pageSize);
            if (stored != actual) {
                problem = "page " + page + " (entry " + (length + 1) + ") fails its checksum (stored " + Integer.toHexString(stored)
                        + ", computed " + Integer.toHexString(actual) + ")";
                break;
            }
            int kind = b.getInt(4);
            if (kind != KIND_FREE) {
                problem = "page " + page + " (entry " + (length + 1) + ") is a " + (kind == KIND_DATA ? "data page"
                        : "page of unknown kind 0x" + Integer.toHexString(kind)) + ", not a free-list node";
                break;
            }
            length++;
            page = b.getLong(8);
        }
        String verdict = problem != null ? "BROKEN after " + Units.count(length) + " nodes: " + problem
                : length == headerCount ? Units.count(length) + " pages, as the header says; every node checks out"
                : Units.count(length) + " pages, but the header says " + Units.count(headerCount);
        out.printf("  %-16s %s%n", "free list", verdict);
    }

    // ---------------------------------------------------------------- temporary directories

    /** A temporary file of a size class: its slots, and which of them hold a block header. */
    private record ClassFile(String name, String owner, int slotKiB, int index, long size, long extentSlots,
            long blockSlots, long emptySlots) {
    }

    private static void tempDirectory(Path dir, PrintStream out) throws IOException {
        Map<String, Path> owners = new TreeMap<>();
        List<ClassFile> classFiles = new ArrayList<>();
        Map<String, long[]> ownFilesByOwner = new TreeMap<>(); // owner -> {files, bytes}
        Map<String, long[]> classByOwner = new TreeMap<>();
        List<String> others = new ArrayList<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                Matcher m;
                if ((m = OWNER.matcher(name)).matches()) {
                    owners.put(m.group(1), f);
                } else if ((m = CLASS_FILE.matcher(name)).matches() && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    ClassFile cf = classFile(f, m.group(1), Integer.parseInt(m.group(2)), Integer.parseInt(m.group(3)));
                    classFiles.add(cf);
                    long[] t = classByOwner.computeIfAbsent(cf.owner(), k -> new long[2]);
                    t[0]++;
                    t[1] += cf.size();
                } else if ((m = OWN_FILE.matcher(name)).matches() && Files.isRegularFile(f, LinkOption.NOFOLLOW_LINKS)) {
                    long[] t = ownFilesByOwner.computeIfAbsent(m.group(1), k -> new long[2]);
                    t[0]++;
                    t[1] += Files.size(f);
                } else {
                    others.add(name);
                }
            }
        }
        if (owners.isEmpty() && classFiles.isEmpty() && ownFilesByOwner.isEmpty()) {
            throw new Main.CommandException(dir + " is a directory but not a Spillway temporary directory: no owner records"
                    + " (spillway-*.owner) or temporary files (spillway-*.tmp) in it, " + others.size() + " other entries");
        }
        out.println(dir + ": Spillway temporary directory");
        out.println("owners");
        java.util.Set<String> allOwners = new java.util.TreeSet<>(owners.keySet());
        allOwners.addAll(classByOwner.keySet());
        allOwners.addAll(ownFilesByOwner.keySet());
        for (String owner : allOwners) {
            Path record = owners.get(owner);
            long[] c = classByOwner.getOrDefault(owner, new long[2]);
            long[] b = ownFilesByOwner.getOrDefault(owner, new long[2]);
            out.printf("  %-20s %s; %d size-class files, %d files of their own, %s%n", owner,
                    record == null ? "NO owner record: orphaned files, removed by the next manager that starts here"
                            : ownerState(record), c[0], b[0], Units.bytes(c[1] + b[1]));
        }
        if (!classFiles.isEmpty()) {
            out.println("size-class files (slots: the file's extent in slots; blocks: slots holding a valid block header, an"
                    + " upper bound on live blocks since a freed slot keeps its block until reused or punched)");
            out.printf("  %-10s %-46s %12s %8s %8s %8s%n", "class", "file", "size", "slots", "blocks", "empty");
            classFiles.sort((x, y) -> x.slotKiB() != y.slotKiB() ? Integer.compare(x.slotKiB(), y.slotKiB())
                    : x.name().compareTo(y.name()));
            Map<Integer, long[]> byClass = new TreeMap<>();
            for (ClassFile cf : classFiles) {
                out.printf("  %-10s %-46s %12s %8s %8s %8s%n", cf.slotKiB() + " KiB", cf.name(), Units.bytes(cf.size()),
                        Units.count(cf.extentSlots()), Units.count(cf.blockSlots()), Units.count(cf.emptySlots()));
                long[] t = byClass.computeIfAbsent(cf.slotKiB(), k -> new long[3]);
                t[0]++;
                t[1] += cf.blockSlots();
                t[2] += cf.size();
            }
            out.println("size classes");
            byClass.forEach((kib, t) -> out.printf(Locale.ROOT, "  %-10s %d files, %s blocks, %s%n", kib + " KiB", t[0],
                    Units.count(t[1]), Units.bytes(t[2])));
        }
        if (!ownFilesByOwner.isEmpty()) {
            long files = ownFilesByOwner.values().stream().mapToLong(t -> t[0]).sum();
            long bytes = ownFilesByOwner.values().stream().mapToLong(t -> t[1]).sum();
            out.printf("files of their own (buffers not of 256 KiB): %d, %s%n", files, Units.bytes(bytes));
        }
        if (!others.isEmpty()) {
            out.printf("other entries: %d, not Spillway's (managers leave them alone)%n", others.size());
        }
    }

    private static ClassFile classFile(Path f, String owner, int slotKiB, int index) throws IOException {
        // the raw class's slot is 256 KiB + 4 KiB (header and O_DIRECT padding): its name says 260k
        long slotSize = (long) slotKiB * 1024;
        try (FileChannel ch = FileChannel.open(f, StandardOpenOption.READ)) {
            long size = ch.size();
            long extent = (size + slotSize - 1) / slotSize;
            long blocks = 0;
            long empty = 0;
            for (long s = 0; s < extent; s++) {
                ByteBuffer h = read(ch, s * slotSize, BLOCK_HEADER);
                if (validBlockHeader(h, slotSize)) {
                    blocks++;
                } else if (allZero(h)) {
                    empty++; // never written, or punched out
                }
            }
            return new ClassFile(f.getFileName().toString(), owner, slotKiB, index, size, extent, blocks, empty);
        }
    }

    /** SpillFormat's header checks that need no payload: magic, codec word, lengths that fit the slot. */
    static boolean validBlockHeader(ByteBuffer h, long slotSize) {
        if (h.limit() < BLOCK_HEADER || h.getInt(0) != BLOCK_MAGIC) {
            return false;
        }
        int word = h.getInt(4);
        int codec = word & 0xFF;
        int payload = h.getInt(8);
        int raw = h.getInt(12);
        return (word >>> 8) == 0 && (codec == 0 || codec == 1) && payload >= 0 && BLOCK_HEADER + (long) payload <= slotSize
                && raw > 0 && (codec != 0 || payload == raw) && h.getLong(20) == 0 && h.getInt(28) == 0;
    }

    private static boolean allZero(ByteBuffer h) {
        for (int i = 0; i < h.limit(); i++) {
            if (h.get(i) != 0) {
                return false;
            }
        }
        return true;
    }

    /**
     * Whether an owner record's manager is alive, the way the library decides: a live manager holds
     * a lock on its record. A shared lock taken on a read-only channel and released at once writes
     * nothing.
     */
    private static String ownerState(Path record) {
        String info;
        try {
            info = Files.readString(record, StandardCharsets.UTF_8).strip().replace('\n', ' ');
        } catch (IOException e) {
            info = "record unreadable: " + Main.describe(e);
        }
        String state;
        try (FileChannel ch = FileChannel.open(record, StandardOpenOption.READ)) {
            FileLock l = ch.tryLock(0, Long.MAX_VALUE, true);
            if (l == null) {
                state = "alive (its lock is held)";
            } else {
                l.release();
                state = "STALE (nobody holds its lock: the owner died; the next manager to start here removes its files)";
            }
        } catch (OverlappingFileLockException e) {
            state = "alive (a manager in this process holds its lock)";
        } catch (IOException e) {
            state = "state unknown (" + Main.describe(e) + ")";
        }
        return (info.isEmpty() ? "" : info + ", ") + state;
    }
}
