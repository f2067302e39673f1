package dev.spillway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.CorruptDataException;
import dev.spillway.InvalidPageFileException;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.pool.StandardBufferManager;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.BitSet;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile page files: a valid file (8 data pages, pages 3 and 6 on the free list) mutated at
 * random, then opened and every page pinned, through every backend. Mutations: header fields
 * (magic, version, page size, page count, free-list head and count, checksum), set to extreme or
 * plausible values and half the time with the header checksum recomputed (so the checks behind
 * the checksum are reached); data-page bytes and checksum fields; a page's kind flipped with its
 * checksum recomputed; free-list cycles and links to data pages (checksums recomputed); truncation
 * anywhere; garbage appended.
 *
 * <p>The property, for each attempt (bounded by a timeout, so an endless loop fails): opening
 * fails with {@link InvalidPageFileException} or {@link CorruptDataException} naming the file, or
 * it opens and each pin returns exactly the page's bytes, or fails with one of those naming file
 * and page (or says the page is free or out of range). A page whose bytes were changed without a
 * valid checksum must never be returned; one forged with a valid checksum must be returned as it
 * is on disk. Opening never writes the file, except to repair a free list of a crash's shape, and
 * then only the header and free-list nodes. {@code -Dspillway.long.tests=true} runs 20x more rounds.
 */
class HostilePageFileTest {
    static final int PS = 4096;
    static final int DATA_PAGES = 8;
    static final int ROUNDS = LincheckFiles.LONG ? 4000 : 200;
    static final long[] COUNTS = {0, 1, 2, 3, 5, 8, 9, 10, 100, 1L << 40, (1L << 40) + 1, Long.MAX_VALUE, -1, Long.MIN_VALUE};
    static final int[] SIZES = {0, 1, 4095, 2048, 4096, 8192, 65536, 262144, 524288, -4096, Integer.MIN_VALUE};

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void mutatedPageFilesFailClearlyOrReadBackExactly(IoBackend backend) throws Exception {
        Path path = dir.resolve("hostile.pf");
        byte[] pristine = pristineFile(backend, path);
        SplittableRandom rnd = new SplittableRandom(0xF11E ^ backend.kind().ordinal());
        int[] outcomes = new int[4]; // open refused, pages read whole, pages refused, (never) wrong bytes
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "hostile-page-file");
            t.setDaemon(true);
            return t;
        });
        StandardBufferManager m = (StandardBufferManager) BufferManager.builder().backend(backend)
                .memoryLimit(4L * PS).build();
        try {
            for (int round = 0; round < ROUNDS; round++) {
                byte[] bytes = pristine.clone();
                BitSet forged = new BitSet();
                StringBuilder what = new StringBuilder();
                int n = 1 + rnd.nextInt(3);
                for (int i = 0; i < n; i++) {
                    bytes = mutate(bytes, rnd, forged, what);
                }
                Files.write(path, bytes);
                final byte[] onDisk = bytes;
                final int r = round;
                Future<?> f = ex.submit(() -> attempt(m, path, pristine, onDisk, forged, "round " + r + " (" + what + ")",
                        outcomes));
                try {
                    f.get(20, TimeUnit.SECONDS);
                } catch (TimeoutException e) {
                    fail("round " + round + " (" + what + "): opening or pinning did not finish in 20 s (endless loop?)");
                } catch (ExecutionException e) {
                    throw new AssertionError("round " + round + " (" + what + "): " + e.getCause(), e.getCause());
                }
                assertOnlyFreeListRewritten(onDisk, Files.readAllBytes(path), "round " + round + " (" + what + ")");
            }
            m.checkInvariants();
        } finally {
            ex.shutdownNow();
            m.close();
        }
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
        System.out.println("HostilePageFileTest " + backend.kind() + ": " + ROUNDS + " mutated files, " + outcomes[0]
                + " refused at open, " + outcomes[1] + " pages served whole, " + outcomes[2] + " pins refused");
        assertEquals(0, outcomes[3]);
        assertTrue(outcomes[0] > ROUNDS / 4 && outcomes[2] > 0 && outcomes[1] > 0,
                "the mutations should reach every outcome: " + Arrays.toString(outcomes));
    }

    /**
     * Opening may repair a free list a crash left stale (StandardPageFile rebuilds it from the
     * pages on disk), so the header and pages that are valid free-list nodes may be rewritten; any
     * other page (data, or failing its checksum) must be left exactly as it was, and the length too.
     */
    private static void assertOnlyFreeListRewritten(byte[] before, byte[] after, String what) {
        assertEquals(before.length, after.length, what + ": opening changed the file's length");
        ByteBuffer le = ByteBuffer.wrap(before).order(ByteOrder.LITTLE_ENDIAN);
        for (int p = 1; (p + 1) * PS <= before.length; p++) {
            CRC32C c = new CRC32C();
            c.update(before, p * PS + 4, PS - 4);
            boolean freeNode = (int) c.getValue() == le.getInt(p * PS) && le.getInt(p * PS + 4) == 0x45455246;
            if (!freeNode && !Arrays.equals(before, p * PS, (p + 1) * PS, after, p * PS, (p + 1) * PS)) {
                fail(what + ": opening rewrote page " + p + ", which was not a free-list node");
            }
        }
    }

    /**
     * A sparse file of 8 TiB whose valid header claims a free list of 2^31 - 9 pages: opening it must
     * fail on the first bad node, without first allocating room for the whole claimed list (16 GiB).
     */
    @Test
    void aHeaderClaimingAHugeFreeListFailsWithoutAllocatingForIt() throws Exception {
        IoBackend backend = Backends.available().get(0);
        Path path = dir.resolve("huge.pf");
        byte[] header = Arrays.copyOf(pristineFile(backend, path), PS);
        long pages = Integer.MAX_VALUE;
        ByteBuffer le = ByteBuffer.wrap(header).order(ByteOrder.LITTLE_ENDIAN);
        le.putLong(16, pages);
        le.putLong(24, 100); // a page in the hole: its checksum fails (corruption, not a crash's stale list)
        le.putLong(32, pages - 8);
        CRC32C c = new CRC32C();
        c.update(header, 0, 40);
        le.putInt(40, (int) c.getValue());
        try (FileChannel ch = FileChannel.open(path, StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(header), 0);
            ch.write(ByteBuffer.wrap(new byte[] {0}), pages * PS - 1); // sparse: the file takes no space
        }
        try (BufferManager m = BufferManager.builder().backend(backend).memoryLimit(4L * PS).build()) {
            CorruptDataException e = assertThrows(CorruptDataException.class, () -> m.openPageFile(path));
            assertTrue(e.getMessage().contains(path.toString()), e.getMessage());
        } finally {
            Files.delete(path);
        }
    }

    private static void attempt(StandardBufferManager m, Path path, byte[] pristine, byte[] onDisk, BitSet forged,
            String what, int[] outcomes) {
        PageFile f;
        try {
            f = m.openPageFile(path);
        } catch (InvalidPageFileException | CorruptDataException e) {
            if (!e.getMessage().contains(path.toString())) {
                throw new AssertionError(what + ": the error does not name the file: " + e.getMessage(), e);
            }
            outcomes[0]++;
            return;
        }
        int refusedAsFree = 0;
        try {
            for (int p = 1; p <= DATA_PAGES + 1; p++) {
                try (PageHandle h = f.pin(p, AccessIntent.READ)) {
                    byte[] got = new byte[h.size()];
                    h.get(0, got, 0, got.length);
                    byte[] want = Arrays.copyOfRange(forged.get(p) ? onDisk : pristine, p * PS + 8, (p + 1) * PS);
                    if (!forged.get(p) && (p == 3 || p == 6 || p > DATA_PAGES)) {
                        throw new AssertionError(what + ": page " + p + " is free or absent but was served: "
                                + "a free-list node or garbage read as data");
                    }
                    if (!Arrays.equals(want, got)) {
                        outcomes[3]++;
                        throw new AssertionError(what + ": page " + p + " was served with bytes that are not on disk"
                                + (forged.get(p) ? "" : " (silent garbage)"));
                    }
                    outcomes[1]++;
                } catch (CorruptDataException e) {
                    if (!e.getMessage().contains(path.toString()) || !e.getMessage().contains("page " + p)) {
                        throw new AssertionError(what + ": the error does not name file and page " + p + ": " + e.getMessage(), e);
                    }
                    outcomes[2]++;
                } catch (IllegalArgumentException e) {
                    String msg = e.getMessage();
                    if (!msg.contains(path.toString()) || !(msg.contains("is free") || msg.contains("out of range"))) {
                        throw new AssertionError(what + ": unexpected refusal of page " + p + ": " + msg, e);
                    }
                    refusedAsFree += msg.contains("is free") ? 1 : 0;
                    outcomes[2]++;
                }
            }
            if (f.freePageCount() != refusedAsFree) { // a free list with a cycle or a page twice would differ
                throw new AssertionError(what + ": the file opened with " + f.freePageCount() + " free pages but "
                        + refusedAsFree + " distinct pages are free");
            }
        } finally {
            f.close();
        }
    }

    /** A page file of 8 data pages, each filled with its own pattern; pages 3 and 6 freed. Returns its bytes. */
    private static byte[] pristineFile(IoBackend backend, Path path) throws Exception {
        try (BufferManager m = BufferManager.builder().backend(backend).memoryLimit(16L * PS).build();
                PageFile f = m.createPageFile(path, PS)) {
            for (int p = 1; p <= DATA_PAGES; p++) {
                f.allocatePage();
                try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                    for (int off = 0; off + 8 <= h.size(); off += 8) {
                        h.putLong(off, p * 1_000_003L + off);
                    }
                }
            }
            f.freePage(3);
            f.freePage(6);
        }
        byte[] b = Files.readAllBytes(path);
        assertEquals((DATA_PAGES + 1) * PS, b.length);
        return b;
    }

    private static byte[] mutate(byte[] b, SplittableRandom rnd, BitSet forged, StringBuilder what) {
        ByteBuffer le = ByteBuffer.wrap(b).order(ByteOrder.LITTLE_ENDIAN);
        int kind = rnd.nextInt(14);
        boolean fixHeader = rnd.nextBoolean();
        if (b.length < PS && kind < 12) {
            kind = 12; // too short for the header's fields: truncate further
        } else if (b.length < (DATA_PAGES + 1) * PS && kind >= 7 && kind <= 10) {
            kind = 13; // a data page may be cut off: append garbage instead
        }
        switch (kind) {
            case 0:
                le.putLong(0, le.getLong(0) ^ (1L << rnd.nextInt(64)));
                what.append("magic bit; ");
                break;
            case 1:
                le.putInt(8, rnd.nextBoolean() ? 2 : rnd.nextInt());
                what.append("version; ");
                break;
            case 2:
                le.putInt(12, SIZES[rnd.nextInt(SIZES.length)]);
                what.append("page size ").append(le.getInt(12)).append("; ");
                break;
            case 3:
                le.putLong(16, COUNTS[rnd.nextInt(COUNTS.length)]);
                what.append("page count ").append(le.getLong(16)).append("; ");
                break;
            case 4:
                le.putLong(24, COUNTS[rnd.nextInt(COUNTS.length)]);
                what.append("free head ").append(le.getLong(24)).append("; ");
                break;
            case 5:
                le.putLong(32, COUNTS[rnd.nextInt(COUNTS.length)]);
                what.append("free count ").append(le.getLong(32)).append("; ");
                break;
            case 6:
                le.put(rnd.nextInt(48), (byte) rnd.nextInt());
                fixHeader = false;
                what.append("header byte; ");
                break;
            case 7: { // a data page's byte, checksum left alone
                int p = 1 + rnd.nextInt(DATA_PAGES);
                int at = p * PS + 8 + rnd.nextInt(PS - 8);
                b[at] ^= (byte) (1 + rnd.nextInt(255));
                what.append("byte of page ").append(p).append("; ");
                fixHeader = false;
                break;
            }
            case 8: { // a page's checksum or kind field
                int p = 1 + rnd.nextInt(DATA_PAGES);
                le.putInt(p * PS + (rnd.nextBoolean() ? 0 : 4), rnd.nextInt());
                what.append("crc/kind of page ").append(p).append("; ");
                fixHeader = false;
                break;
            }
            case 9: { // kind flipped, checksum recomputed: a forged but well-formed page
                int p = 1 + rnd.nextInt(DATA_PAGES);
                int k = le.getInt(p * PS + 4);
                le.putInt(p * PS + 4, k == 0x41544144 ? 0x45455246 : 0x41544144);
                sealPage(le, p);
                forged.set(p);
                what.append("kind of page ").append(p).append(" flipped, crc fixed; ");
                fixHeader = false;
                break;
            }
            case 10: { // a free node's next pointer: a cycle, a self-loop, a data page, out of range (crc fixed)
                int p = rnd.nextBoolean() ? 3 : 6;
                long[] targets = {3, 6, 2, 0, 9, -1, 1L << 40};
                le.putLong(p * PS + 8, targets[rnd.nextInt(targets.length)]);
                sealPage(le, p);
                forged.set(p);
                if (rnd.nextBoolean()) {
                    le.putLong(32, 1 + rnd.nextInt(DATA_PAGES)); // and a count that walks further
                    fixHeader = true;
                }
                what.append("free node ").append(p).append(" -> ").append(le.getLong(p * PS + 8)).append("; ");
                break;
            }
            case 11: // free head at a data page or a free page, counted or not
                le.putLong(24, 1 + rnd.nextInt(DATA_PAGES));
                le.putLong(32, rnd.nextInt(DATA_PAGES));
                fixHeader = true;
                what.append("free list ").append(le.getLong(24)).append('/').append(le.getLong(32)).append("; ");
                break;
            case 12: { // truncated anywhere
                int len = rnd.nextInt(b.length + 1);
                what.append("truncated to ").append(len).append("; ");
                return Arrays.copyOf(b, len);
            }
            default: { // garbage appended
                byte[] g = Arrays.copyOf(b, b.length + PS);
                for (int i = b.length; i < g.length; i++) {
                    g[i] = (byte) rnd.nextInt();
                }
                what.append("garbage appended; ");
                return g;
            }
        }
        if (fixHeader) {
            CRC32C c = new CRC32C();
            c.update(b, 0, 40);
            le.putInt(40, (int) c.getValue());
            what.append("(header crc fixed) ");
        }
        return b;
    }

    private static void sealPage(ByteBuffer le, int p) {
        CRC32C c = new CRC32C();
        c.update(le.array(), p * PS + 4, PS - 4);
        le.putInt(p * PS, (int) c.getValue());
    }
}
