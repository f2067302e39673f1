package dev.spillway.spill;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.CorruptDataException;
import dev.spillway.TempFileInfo;
import dev.spillway.TemporaryDirectoryLimitException;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.Errno;
import dev.spillway.io.IoBackend;
import dev.spillway.io.SpillFormat;
import dev.spillway.testing.FaultInjectingBackend;
import dev.spillway.testing.FaultInjectingBackend.Op;
import java.io.IOException;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.ArrayList;
import java.util.List;
import java.util.function.Function;
import org.junit.jupiter.api.AfterEach;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/** The temporary file manager directly: bookkeeping, files on disk, owners, limits, corruption. */
class TemporaryFileManagerTest {
    static final int BLOCK = TemporaryFileManager.BLOCK_SIZE;

    @TempDir
    Path tmp;

    private final List<AutoCloseable> open = new ArrayList<>();

    static List<IoBackend> backends() {
        return SpillTestSupport.backends().collect(java.util.stream.Collectors.toList());
    }

    @AfterEach
    void closeAll() throws Exception {
        for (AutoCloseable c : open) {
            if (c instanceof TemporaryFileManager) {
                TemporaryFileManager m = (TemporaryFileManager) c;
                if (m.isOpen()) {
                    assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
                }
            }
            c.close();
        }
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
        assertEquals(0, Backends.liveCodecs(), "zstd codecs (native contexts) leaked");
    }

    private TemporaryFileManager manager(IoBackend backend, TemporaryFileManager.Config c) {
        TemporaryFileManager m = new TemporaryFileManager(backend, c);
        open.add(m);
        return m;
    }

    private AlignedBuffer buffer(IoBackend backend, int size) {
        AlignedBuffer b = backend.allocate(size);
        open.add(0, b); // closed after the managers
        return b;
    }

    // ---------------------------------------------------------------- bookkeeping alone

    @Test
    void sizeClassesFollowDuckDbWithOurHeader() {
        assertEquals(0, TemporaryFileManager.classOf(1));
        assertEquals(0, TemporaryFileManager.classOf(32 * 1024 - SpillFormat.HEADER_SIZE));
        assertEquals(1, TemporaryFileManager.classOf(32 * 1024 - SpillFormat.HEADER_SIZE + 1));
        assertEquals(6, TemporaryFileManager.classOf(TemporaryFileManager.MAX_COMPRESSED_PAYLOAD));
        assertEquals(-1, TemporaryFileManager.classOf(TemporaryFileManager.MAX_COMPRESSED_PAYLOAD + 1));
        for (int c = 0; c < 7; c++) {
            assertEquals((c + 1) * 32 * 1024, TemporaryFileManager.slotSize(c));
        }
        assertEquals(256 * 1024 + 4096, TemporaryFileManager.slotSize(TemporaryFileManager.RAW_CLASS));
        assertEquals(256 * 1024 + 4096, TemporaryFileManager.RAW_SLOT);
    }

    @Test
    void fileIndexGrowthDoublesSlotsPerNewFile() {
        SlotAllocator s = new SlotAllocator();
        for (int i = 0; i < 4000; i++) {
            SlotAllocator.Allocation a = s.allocate();
            assertEquals(0, a.fileIndex());
            assertEquals(i, a.slot());
            assertEquals(i == 0, a.newFile());
            assertEquals(4000, a.capacity());
        }
        SlotAllocator.Allocation a = s.allocate();
        assertEquals(1, a.fileIndex());
        assertTrue(a.newFile());
        assertEquals(8000, a.capacity(), "(1 << 1) * 4000");
        for (int i = 1; i < 8000; i++) {
            s.allocate();
        }
        a = s.allocate();
        assertEquals(2, a.fileIndex());
        assertEquals(16000, a.capacity(), "(1 << 2) * 4000");
        assertEquals(12001, s.slotsInUse());
        assertTrue(s.check().isEmpty(), s.check().toString());
    }

    @Test
    void lowestFreeSlotFirstThenTruncateAndDelete() {
        SlotAllocator s = new SlotAllocator();
        for (int i = 0; i < 6; i++) {
            s.allocate();
        }
        SlotAllocator.Release r = s.free(0, 2);
        assertEquals(SlotAllocator.Action.PUNCH, r.action(), "a middle slot is punched");
        r = s.free(0, 4);
        assertEquals(SlotAllocator.Action.PUNCH, r.action());
        assertEquals(2, s.allocate().slot(), "lowest free slot first");
        assertEquals(4, s.allocate().slot());
        assertEquals(6, s.allocate().slot(), "then append");
        r = s.free(0, 6);
        assertEquals(SlotAllocator.Action.TRUNCATE, r.action());
        assertEquals(6, r.extentSlots());
        s.free(0, 3);
        s.free(0, 4);
        r = s.free(0, 5);
        assertEquals(SlotAllocator.Action.TRUNCATE, r.action(), "tail freed past a hole");
        assertEquals(3, r.extentSlots(), "truncated to the highest slot in use, 2");
        s.free(0, 0);
        s.free(0, 1);
        r = s.free(0, 2);
        assertEquals(SlotAllocator.Action.DELETE, r.action());
        assertEquals(0, s.fileCount());
        assertThrows(IllegalStateException.class, () -> s.free(0, 2));
    }

    @Test
    void freeRunsReportWhatIsNotPunchedYet() {
        SlotAllocator s = new SlotAllocator();
        for (int i = 0; i < 10; i++) {
            s.allocate();
        }
        s.free(0, 3);
        SlotAllocator.Release r = s.free(0, 4);
        assertEquals(SlotAllocator.Action.PUNCH, r.action());
        assertEquals(3, r.runStart());
        assertEquals(5, r.runEnd());
        assertEquals(2, r.unpunched());
        s.markPunched(0, 3, 5);
        r = s.free(0, 5);
        assertEquals(1, r.unpunched(), "only the newly freed slot");
        assertEquals(3, s.allocate().slot(), "reused: no longer punched");
        r = s.free(0, 2);
        assertEquals(2, r.runStart());
        assertEquals(3, r.runEnd());
        assertEquals(1, r.unpunched());
    }

    @Test
    void aNewFileTakesTheLowestFreeFileIndex() {
        SlotAllocator s = new SlotAllocator();
        for (int i = 0; i < 4000 + 8000 + 1; i++) {
            s.allocate();
        }
        assertEquals(3, s.fileCount());
        for (int i = 0; i < 4000; i++) {
            s.free(0, i);
        }
        assertEquals(2, s.fileCount(), "file 0 deleted when empty");
        for (int i = 0; i < 8000; i++) {
            if (s.file(1).inUse == 8000) {
                break;
            }
            s.allocate();
        }
        SlotAllocator.Allocation a = s.allocate();
        assertEquals(2, a.fileIndex(), "file 2 still had room");
        while (s.file(2).inUse < s.file(2).capacity) {
            s.allocate();
        }
        a = s.allocate();
        assertTrue(a.newFile());
        assertEquals(0, a.fileIndex(), "lowest free file index");
        assertEquals(16000, a.capacity(), "two files open: (1 << 2) * 4000");
        assertTrue(s.check().isEmpty(), s.check().toString());
    }

    @Test
    void theAdaptiveLevelFollowsMeasuredCostAndBacksOffExploring() {
        CompressionLevelChooser c = new CompressionLevelChooser(SpillCompression.adaptiveLevel());
        int none = SpillFormat.LEVEL_NONE;
        assertEquals(none, c.choose(), "starts with no compression");
        c.recordWrite(none, BLOCK, BLOCK);          // 1 ns/B
        c.recordRead(none, BLOCK, BLOCK);
        assertEquals(-3, c.choose(), "then measures its neighbour");
        c.recordWrite(-3, BLOCK, 5L * BLOCK);       // 5 ns/B: compressing costs more than the disk saves
        c.recordRead(-3, BLOCK, BLOCK);
        List<Integer> picks = new ArrayList<>();
        for (int i = 0; i < 2000; i++) {
            picks.add(c.choose());
        }
        long explored = picks.stream().filter(l -> l != none).count();
        assertTrue(explored >= 3 && explored <= 8, "a losing neighbour is re-measured with back-off: " + explored);
        assertFalse(picks.contains(1), "levels beyond the neighbour are not tried while none wins");
        c.recordWrite(none, BLOCK, 100L * BLOCK); // one 25 ms stall
        assertEquals(none, c.choose(), "one stall does not flip the choice");
        // now compression pays (a slow disk): level -3 becomes the best, then level 1 gets measured
        for (int i = 0; i < 40; i++) {
            c.recordWrite(none, BLOCK, 20L * BLOCK);
        }
        assertEquals(1, c.choose(), "-3 is the best now: its unmeasured neighbour, 1, is measured at once");
        c.recordWrite(1, BLOCK, 8L * BLOCK);
        c.recordRead(1, BLOCK, BLOCK);
        assertEquals(-3, c.choose(), "and -3 stays the choice");

        CompressionLevelChooser fixed = new CompressionLevelChooser(SpillCompression.fixed(3));
        assertEquals(3, fixed.choose());
        fixed.recordWrite(3, BLOCK, 1);
        assertEquals(3, fixed.choose());
        assertTrue(fixed.describe().contains("level 3"));
    }

    /**
     * The adaptive chooser learns from buffers of other sizes too: it starts with "none", and the
     * next buffer tries its unmeasured neighbour, level -3 (on the old code the write at "none" was
     * not recorded, so the chooser never had a sample and every such buffer was stored raw).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void adaptiveCompressionMeasuresBuffersOfOtherSizes(IoBackend backend) throws Exception {
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t")));
        int size = 1 << 20;
        AlignedBuffer src = buffer(backend, size); // zeros
        AlignedBuffer dst = buffer(backend, size);
        TemporaryFileManager.Block first = m.write(src.buffer(), 0, size);
        assertFalse(first.compressed(), "no sample yet: the cheapest level to try, none");
        TemporaryFileManager.Block second = m.write(src.buffer(), 0, size);
        assertTrue(second.compressed(), "none was measured: its neighbour is tried next; " + m.compressionState());
        assertTrue(second.chargedBytes() < size / 50, "1 MiB of zeros took " + second.chargedBytes() + " bytes");
        m.read(first, dst.buffer(), 0);
        m.read(second, dst.buffer(), 0);
        assertEquals(src.buffer(), dst.buffer());
    }

    // ---------------------------------------------------------------- on disk

    @ParameterizedTest
    @MethodSource("backends")
    void slotsAreReusedFilesTruncatedAndDeleted(IoBackend backend) throws Exception {
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.none()).withEmptyFileRetention(0)); // delete when empty
        m.setPunchRunBytes(1); // punch every freed middle slot
        AlignedBuffer src = buffer(backend, BLOCK);
        AlignedBuffer dst = buffer(backend, BLOCK);
        List<TemporaryFileManager.Block> blocks = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            SpillTestSupport.fillRandom(src.buffer(), i);
            blocks.add(m.write(src.buffer(), 0, BLOCK));
            assertEquals(i, blocks.get(i).slot());
        }
        Path file = blocks.get(0).path();
        long slot = TemporaryFileManager.RAW_SLOT;
        assertEquals(4 * slot + SpillFormat.storedSize(BLOCK), Files.size(file));
        m.read(blocks.get(4), dst.buffer(), 0);
        SpillTestSupport.fillRandom(src.buffer(), 4);
        assertEquals(src.buffer(), dst.buffer());
        assertEquals(4 * slot, Files.size(file), "the tail slot freed: truncated");
        m.read(blocks.get(1), dst.buffer(), 0);
        assertEquals(4 * slot, Files.size(file), "a middle slot freed: size kept");
        if (canPunch(backend)) {
            assertBlocksBelow(file, 4 * slot - slot / 2, "the hole over slot 1 was punched");
        }
        SpillTestSupport.fillRandom(src.buffer(), 9);
        TemporaryFileManager.Block again = m.write(src.buffer(), 0, BLOCK);
        assertEquals(1, again.slot(), "the freed slot is reused");
        assertEquals(4, m.blockCount());
        assertEquals(4 * slot, m.usedBytes());
        List<TempFileInfo> files = m.temporaryFiles();
        assertEquals(1, files.size());
        assertEquals(4, files.get(0).slotsInUse());
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        m.read(again, dst.buffer(), 0);
        m.release(blocks.get(0));
        m.release(blocks.get(2));
        m.release(blocks.get(3));
        assertFalse(Files.exists(file), "an empty file is deleted");
        assertEquals(0, m.usedBytes());
        assertTrue(m.temporaryFiles().isEmpty());
    }

    @Test
    void slotAllocatorKeepsAnEmptiedFileWhenAskedAndReusesItFirst() {
        SlotAllocator s = new SlotAllocator();
        SlotAllocator.Allocation a = s.allocate();
        SlotAllocator.Allocation b = s.allocate();
        assertTrue(s.wouldEmpty(a.fileIndex(), 1) == false && !s.wouldEmpty(a.fileIndex(), 0));
        s.free(a.fileIndex(), a.slot(), true);
        assertTrue(s.wouldEmpty(b.fileIndex(), b.slot()));
        SlotAllocator.Release r = s.free(b.fileIndex(), b.slot(), true);
        assertEquals(SlotAllocator.Action.KEEP_EMPTY, r.action());
        assertEquals(1, s.fileCount(), "kept, with no slot in use");
        assertEquals(0, s.slotsInUse());
        assertFalse(s.check().isEmpty(), "an empty file is a problem unless kept files are allowed");
        assertTrue(s.check(true).isEmpty(), s.check(true).toString());
        SlotAllocator.Allocation c = s.allocate();
        assertFalse(c.newFile(), "the kept file is reused");
        assertEquals(a.fileIndex(), c.fileIndex());
        assertEquals(0, c.slot());
        s.free(c.fileIndex(), c.slot(), true);
        s.removeEmpty(c.fileIndex());
        assertEquals(0, s.fileCount());
        assertThrows(IllegalStateException.class, () -> s.removeEmpty(0));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void anEmptiedFileIsKeptReusedAndDeletedOnClose(IoBackend backend) throws Exception {
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.none()));
        AlignedBuffer src = buffer(backend, BLOCK);
        AlignedBuffer dst = buffer(backend, BLOCK);
        List<TemporaryFileManager.Block> blocks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            SpillTestSupport.fillRandom(src.buffer(), i);
            blocks.add(m.write(src.buffer(), 0, BLOCK));
        }
        Path file = blocks.get(0).path();
        long size = Files.size(file);
        for (TemporaryFileManager.Block b : blocks) {
            m.read(b, dst.buffer(), 0); // oldest first: the tail goes last, so nothing is truncated
        }
        assertTrue(Files.exists(file), "the emptied file is kept");
        assertEquals(size, Files.size(file), "whole: it is within the retention");
        assertEquals(size, m.retainedBytes());
        assertEquals(0, m.usedBytes(), "a kept file is not charged against the size limit");
        assertEquals(0, m.blockCount());
        List<TempFileInfo> files = m.temporaryFiles();
        assertEquals(1, files.size());
        assertEquals(0, files.get(0).slotsInUse());
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        SpillTestSupport.fillRandom(src.buffer(), 7);
        TemporaryFileManager.Block again = m.write(src.buffer(), 0, BLOCK);
        assertEquals(file, again.path(), "the next block goes to the kept file");
        assertEquals(0, again.slot());
        assertEquals(size, Files.size(file), "overwritten in place, not grown");
        assertEquals(size - TemporaryFileManager.RAW_SLOT, m.retainedBytes(),
                "in use again: its slots past the block stay on disk, counted as kept");
        assertEquals(1, m.openFiles());
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        m.read(again, dst.buffer(), 0);
        assertEquals(src.buffer(), dst.buffer());
        assertTrue(Files.exists(file));
        m.close();
        assertFalse(Files.exists(file), "close deletes a kept file");
        assertEquals(0, m.retainedBytes());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void keptFilesStayWithinTheRetentionOnePerClass(IoBackend backend) throws Exception {
        long slot = TemporaryFileManager.RAW_SLOT;
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.fixed(1)).withEmptyFileRetention(2 * slot));
        AlignedBuffer raw = buffer(backend, BLOCK);
        AlignedBuffer csv = buffer(backend, BLOCK);
        AlignedBuffer dst = buffer(backend, BLOCK);
        SpillTestSupport.fillRandom(raw.buffer(), 1);
        SpillTestSupport.fillCsv(csv.buffer(), 2);
        List<TemporaryFileManager.Block> rawBlocks = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            rawBlocks.add(m.write(raw.buffer(), 0, BLOCK));
        }
        Path rawFile = rawBlocks.get(0).path();
        for (TemporaryFileManager.Block b : rawBlocks) {
            m.release(b);
        }
        assertTrue(Files.exists(rawFile));
        assertEquals(2 * slot, Files.size(rawFile), "truncated to the retention's whole slots");
        assertEquals(2 * slot, m.retainedBytes());
        TemporaryFileManager.Block c = m.write(csv.buffer(), 0, BLOCK);
        assertTrue(c.compressed() && c.slotSize() < slot);
        m.release(c);
        assertFalse(Files.exists(c.path()), "no retention left: an emptied file of another class is deleted");
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        // a second raw file emptied while the class keeps one is deleted
        List<TemporaryFileManager.Block> more = new ArrayList<>();
        for (int i = 0; i < 4; i++) {
            more.add(m.write(raw.buffer(), 0, BLOCK));
        }
        assertEquals(rawFile, more.get(0).path());
        m.read(more.get(3), dst.buffer(), 0);
        assertEquals(raw.buffer(), dst.buffer());
        for (TemporaryFileManager.Block b : more.subList(0, 3)) {
            m.release(b);
        }
        assertTrue(Files.exists(rawFile), "kept again");
        assertEquals(1, m.temporaryFiles().size());
        assertTrue(m.retainedBytes() <= 2 * slot);
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
    }

    @ParameterizedTest
    @MethodSource("backends")
    void keptFilesStayWithinTheSizeLimitsHeadroom(IoBackend backend) throws Exception {
        long slot = TemporaryFileManager.RAW_SLOT;
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("h"))
                .withCompression(SpillCompression.none()).withSizeLimit(3 * slot));
        AlignedBuffer raw = buffer(backend, BLOCK);
        SpillTestSupport.fillRandom(raw.buffer(), 3);
        List<TemporaryFileManager.Block> blocks = new ArrayList<>();
        for (int i = 0; i < 3; i++) {
            blocks.add(m.write(raw.buffer(), 0, BLOCK));
        }
        Path file = blocks.get(0).path();
        // the last slot is still charged when its release decides what to keep: 3 - 1 slots of headroom
        for (TemporaryFileManager.Block b : blocks) {
            m.release(b);
        }
        assertEquals(2 * slot, m.retainedBytes(), "kept within the limit's headroom, not the 64 MiB budget");
        assertEquals(2 * slot, Files.size(file));
        assertTrue(m.usedBytes() + m.retainedBytes() <= m.sizeLimit());
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        // the limit still admits three blocks: the kept file is reused and grows again
        for (int i = 0; i < 3; i++) {
            blocks.set(i, m.write(raw.buffer(), 0, BLOCK));
        }
        assertEquals(file, blocks.get(2).path());
        for (TemporaryFileManager.Block b : blocks) {
            m.release(b);
        }
    }

    /**
     * The limit bounds what the temporary files hold on disk, kept files included: an emptied file
     * kept for reuse, and the slots of one reused for a single block, must not let other spills
     * pass the limit (a reviewer's run had 3,538,944 bytes of temporary files under a limit of
     * 2,662,400). With {@code reuse}, one block goes into the kept file before the rest of the limit
     * is filled with files of their own; without, the kept file stays empty meanwhile.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void keptFilesCountAgainstTheSizeLimitOnDisk(IoBackend backend) throws Exception {
        long limit = 10L * TemporaryFileManager.RAW_SLOT;
        AlignedBuffer src = buffer(backend, BLOCK);
        AlignedBuffer dst = buffer(backend, BLOCK);
        SpillTestSupport.fillRandom(src.buffer(), 5);
        for (boolean reuse : new boolean[] {true, false}) {
            Path dir = tmp.resolve("limit-" + reuse);
            TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(dir)
                    .withCompression(SpillCompression.none()).withSizeLimit(limit));
            List<TemporaryFileManager.Block> blocks = new ArrayList<>();
            for (int i = 0; i < 5; i++) {
                blocks.add(m.write(src.buffer(), 0, BLOCK));
            }
            Path file = blocks.get(0).path();
            for (TemporaryFileManager.Block b : blocks) {
                m.read(b, dst.buffer(), 0);
            }
            assertEquals(5L * TemporaryFileManager.RAW_SLOT, m.retainedBytes(), "the emptied file is kept whole");
            if (reuse) {
                TemporaryFileManager.Block again = m.write(src.buffer(), 0, BLOCK);
                assertEquals(file, again.path(), "the block went to the kept file");
                assertTrue(tempBytesOnDisk(dir) <= limit);
            }
            int n = 0;
            try {
                for (;; n++) {
                    m.write(src.buffer(), 0, 200_000); // a file of its own each
                    long onDisk = tempBytesOnDisk(dir);
                    assertTrue(onDisk <= limit, "after " + (n + 1) + " files of their own (reuse " + reuse
                            + ") the temporary files hold " + onDisk + " bytes, over the limit of " + limit + ": "
                            + m.temporaryFiles());
                    assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
                }
            } catch (TemporaryDirectoryLimitException e) {
                assertTrue(m.usedBytes() + m.retainedBytes() <= limit, e.getMessage());
            }
            // the kept file gave its room to the spills (truncated to its block, or deleted): as many files
            // of their own (200,704 bytes each on disk) fit as the limit leaves beside the one block
            assertEquals((limit - (reuse ? TemporaryFileManager.RAW_SLOT : 0)) / 200_704, n, "files of their own");
            assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        }
    }

    /**
     * Lowering the limit below what kept files hold gives their room back at once, so usage plus
     * kept bytes stays within the limit as the class comment promises (before: setSizeLimit looked
     * at the usage alone, so after setSizeLimit(0), "no spilling", an emptied file of 5 slots stayed
     * on disk, 1,331,200 bytes over the new limit, until the manager closed).
     */
    @ParameterizedTest
    @MethodSource("backends")
    void loweringTheLimitReleasesKeptFilesThatNoLongerFit(IoBackend backend) throws Exception {
        long slot = TemporaryFileManager.RAW_SLOT;
        Path dir = tmp.resolve("lower");
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(dir)
                .withCompression(SpillCompression.none()).withSizeLimit(10 * slot));
        AlignedBuffer src = buffer(backend, BLOCK);
        AlignedBuffer dst = buffer(backend, BLOCK);
        SpillTestSupport.fillRandom(src.buffer(), 6);
        List<TemporaryFileManager.Block> blocks = new ArrayList<>();
        for (int i = 0; i < 5; i++) {
            blocks.add(m.write(src.buffer(), 0, BLOCK));
        }
        for (TemporaryFileManager.Block b : blocks) {
            m.read(b, dst.buffer(), 0);
        }
        assertEquals(5 * slot, m.retainedBytes(), "the emptied file is kept");
        m.setSizeLimit(3 * slot);
        assertTrue(m.usedBytes() + m.retainedBytes() <= m.sizeLimit(), m.retainedBytes() + " bytes kept");
        assertTrue(tempBytesOnDisk(dir) <= 3 * slot, m.temporaryFiles().toString());
        m.setSizeLimit(0);
        assertEquals(0, m.retainedBytes());
        assertEquals(List.of(), m.temporaryFiles());
        assertEquals(0, tempBytesOnDisk(dir));
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
    }

    private static long tempBytesOnDisk(Path dir) throws IOException {
        long sum = 0;
        for (Path p : SpillTestSupport.listDir(dir)) {
            if (p.getFileName().toString().endsWith(".tmp")) {
                sum += Files.size(p);
            }
        }
        return sum;
    }

    /**
     * close(2) may report an error (EIO on NFS or FUSE) after it released the descriptor. When the
     * read that empties a file succeeded, the data is back and the bookkeeping must follow as if the
     * close had succeeded: slot freed, nothing charged, the file counted closed and deleted, and the
     * class's next file can take the same name (before, every later spill of the class failed with
     * EEXIST). The same for a file of its own, and for a release without a read.
     */
    @ParameterizedTest
    @MethodSource("backends")
    void aCloseThatFailsWhenAFileIsEmptiedStillFreesAndDeletesIt(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 1);
        TemporaryFileManager m = manager(io, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.none()).withEmptyFileRetention(0)); // an emptied file is deleted
        for (int size : new int[] {BLOCK, 300_000}) { // a size-class file, then a file of its own
            AlignedBuffer src = buffer(io, (int) TransientBufferPool.allocationSize(size));
            AlignedBuffer dst = buffer(io, (int) TransientBufferPool.allocationSize(size));
            SpillTestSupport.fillRandom(src.buffer(), size);
            for (boolean read : new boolean[] {true, false}) {
                TemporaryFileManager.Block b = m.write(src.buffer(), 0, size);
                Path file = b.path();
                long injected = io.injected(Op.CLOSE);
                io.inject(Op.CLOSE).errno(Errno.EIO).times(1);
                if (read) {
                    m.read(b, dst.buffer(), 0); // the read succeeded: the failed close is logged, not thrown
                    assertEquals(src.buffer().slice(0, size), dst.buffer().slice(0, size), "size " + size);
                } else {
                    m.release(b);
                }
                assertEquals(injected + 1, io.injected(Op.CLOSE), "the close failed");
                assertFalse(Files.exists(file), "deleted although its close failed: " + file);
                assertEquals(0, m.usedBytes());
                assertEquals(0, m.blockCount());
                assertEquals(0, m.openFiles());
                assertTrue(m.temporaryFiles().isEmpty(), m.temporaryFiles().toString());
                assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
                TemporaryFileManager.Block again = m.write(src.buffer(), 0, size);
                if (size == BLOCK) {
                    assertEquals(file, again.path(), "the class's file index 0 is free again");
                }
                m.read(again, dst.buffer(), 0);
                assertEquals(src.buffer().slice(0, size), dst.buffer().slice(0, size));
            }
        }
    }

    /** Closing the manager deletes every file and its owner record even when each close(2) fails. */
    @ParameterizedTest
    @MethodSource("backends")
    void closingTheManagerDeletesEverythingEvenWhenClosesFail(IoBackend backend) throws Exception {
        FaultInjectingBackend io = new FaultInjectingBackend(backend, 1);
        Path dir = Files.createDirectories(tmp.resolve("t")); // not created by the manager: it stays, empty
        TemporaryFileManager m = manager(io, TemporaryFileManager.Config.of(dir).withCompression(SpillCompression.none()));
        AlignedBuffer src = buffer(io, (int) TransientBufferPool.allocationSize(300_000));
        TemporaryFileManager.Block block = m.write(src.buffer(), 0, BLOCK);
        m.write(src.buffer(), 0, BLOCK);
        m.write(src.buffer(), 0, 300_000);
        m.write(src.buffer(), 0, 300_000);
        assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        assertEquals(3, m.openFiles());
        io.inject(Op.CLOSE).errno(Errno.EIO);
        m.close();
        assertEquals(3, io.injected(Op.CLOSE), "every close failed");
        assertEquals(List.of(), SpillTestSupport.listDir(dir), "files left after close");
        assertEquals(0, m.openFiles());
        assertFalse(m.isOpen());
        assertFalse(Files.exists(block.path()));
    }

    private boolean canPunch(IoBackend backend) {
        Path probe = tmp.resolve("punch-probe");
        try (dev.spillway.io.IoFile f = backend.open(probe, java.util.EnumSet.of(dev.spillway.io.OpenFlag.CREATE))) {
            f.truncate(8192);
            return f.punchHole(0, 4096);
        }
    }

    /** Allocated blocks (stat %b, 512-byte units) show a punched hole where the file system supports it. */
    private static void assertBlocksBelow(Path file, long maxBytes, String what) throws Exception {
        Process p = new ProcessBuilder("stat", "-c", "%b", file.toString()).redirectErrorStream(true).start();
        String out = new String(p.getInputStream().readAllBytes()).trim();
        if (p.waitFor() != 0) {
            return; // no stat(1) here: the bookkeeping checks above still ran
        }
        long bytes = Long.parseLong(out) * 512;
        String fsType = Files.getFileStore(file).type();
        if (fsType.equals("ext4") || fsType.equals("xfs") || fsType.equals("tmpfs") || fsType.equals("btrfs")) {
            assertTrue(bytes <= maxBytes, what + ": " + bytes + " bytes allocated on " + fsType);
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void buffersOfOtherSizesGetAFileOfTheirOwn(IoBackend backend) throws Exception {
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.fixed(1)));
        int[] sizes = {1, 4095, 32 * 1024, 32 * 1024 + 1, 1 << 20, (1 << 20) + 3};
        for (int size : sizes) {
            AlignedBuffer src = buffer(backend, (int) TransientBufferPool.allocationSize(size));
            AlignedBuffer dst = buffer(backend, (int) TransientBufferPool.allocationSize(size));
            SpillTestSupport.fillCsv(src.buffer(), size);
            TemporaryFileManager.Block b = m.write(src.buffer(), 0, size);
            assertEquals(0, b.slotSize());
            assertEquals(size > 32 * 1024, b.compressed(), "compressed only above 32 KiB: " + size);
            List<TempFileInfo> files = m.temporaryFiles();
            assertEquals(1, files.size());
            assertEquals(b.storedSize(), files.get(0).sizeBytes());
            assertEquals(b.storedSize(), m.usedBytes());
            m.read(b, dst.buffer(), 0);
            assertEquals(src.buffer().slice(0, size), dst.buffer().slice(0, size), "size " + size);
            assertFalse(Files.exists(b.path()), "read back: its file is gone");
            assertEquals(0, m.usedBytes());
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aHugeBufferSpillsInChunksWithoutAScratchOfItsSize(IoBackend backend) throws Exception {
        int size = 5 * BLOCK + 12345;
        AlignedBuffer src = buffer(backend, (int) TransientBufferPool.allocationSize(size));
        AlignedBuffer dst = buffer(backend, (int) TransientBufferPool.allocationSize(size));
        dev.spillway.testing.FaultInjectingBackend io = new dev.spillway.testing.FaultInjectingBackend(backend, 1);
        TemporaryFileManager m = manager(io, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.fixed(1)));
        SpillTestSupport.fillCsv(src.buffer(), 77);
        TemporaryFileManager.Block b = m.write(src.buffer(), 0, size);
        assertTrue(io.largestAllocation() < 2 * BLOCK, "largest scratch " + io.largestAllocation());
        assertTrue(b.compressed());
        assertEquals(Files.size(b.path()), b.chargedBytes());
        m.read(b, dst.buffer(), 0);
        assertEquals(src.buffer().slice(0, size), dst.buffer().slice(0, size));
        assertEquals(0, m.usedBytes());

        TemporaryFileManager.Block c = m.write(src.buffer(), 0, size);
        long fileSize = Files.size(c.path());
        try (FileChannel ch = FileChannel.open(c.path(), StandardOpenOption.WRITE)) {
            // into the payload of the last chunk (the padding after it is not checked)
            ch.write(ByteBuffer.wrap(new byte[] {1, 2, 3}), fileSize - c.chunks[c.chunks.length - 1] + 40);
        }
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> m.read(c, dst.buffer(), 0));
        assertTrue(e.getMessage().contains(c.path().toString()), e.getMessage());
        m.release(c);
        assertFalse(Files.exists(c.path()));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aCorruptBlockIsAnErrorNamingFileAndSlot(IoBackend backend) throws Exception {
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t"))
                .withCompression(SpillCompression.fixed(1)));
        AlignedBuffer src = buffer(backend, BLOCK);
        AlignedBuffer dst = buffer(backend, BLOCK);
        SpillTestSupport.fillCsv(src.buffer(), 1);
        m.write(src.buffer(), 0, BLOCK);
        TemporaryFileManager.Block b = m.write(src.buffer(), 0, BLOCK);
        assertEquals(1, b.slot());
        assertTrue(b.compressed());
        try (FileChannel ch = FileChannel.open(b.path(), StandardOpenOption.WRITE)) {
            ch.write(ByteBuffer.wrap(new byte[] {(byte) 0xA5}), b.slotSize() + 100L);
        }
        CorruptDataException e = assertThrows(CorruptDataException.class, () -> m.read(b, dst.buffer(), 0));
        assertTrue(e.getMessage().contains(b.path().toString()) && e.getMessage().contains("slot 1"), e.getMessage());
        assertEquals(2, m.blockCount(), "a corrupt block stays charged until released");
        m.release(b);
    }

    @ParameterizedTest
    @MethodSource("backends")
    void staleFilesOfDeadOwnersAreRemovedAtStart(IoBackend backend) throws Exception {
        Path dir = Files.createDirectories(tmp.resolve("t"));
        String dead = "999999999-deadbeef";
        Path deadOwner = Files.writeString(dir.resolve("spillway-" + dead + ".owner"), "pid=999999999\n");
        Path deadFile = Files.write(dir.resolve("spillway-" + dead + "-c64k-0.tmp"), new byte[8192]);
        Path orphan = Files.write(dir.resolve("spillway-888888888-0badf00d-b7.tmp"), new byte[10]);
        Path user = Files.writeString(dir.resolve("important.txt"), "keep me");
        TemporaryFileManager alive = manager(backend, TemporaryFileManager.Config.of(dir));
        AlignedBuffer src = buffer(backend, BLOCK);
        TemporaryFileManager.Block kept = alive.write(src.buffer(), 0, BLOCK);
        assertFalse(Files.exists(deadOwner), "dead owner's record removed");
        assertFalse(Files.exists(deadFile), "dead owner's file removed");
        assertFalse(Files.exists(orphan), "a temp file without an owner record is removed");
        assertTrue(Files.exists(user), "a user's file stays");

        TemporaryFileManager second = manager(backend, TemporaryFileManager.Config.of(dir));
        second.write(src.buffer(), 0, BLOCK);
        assertTrue(Files.exists(kept.path()), "a live owner's files are left alone");
        assertTrue(Files.readString(dir.resolve("spillway-" + alive.ownerId() + ".owner")).contains("pid="));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void theSizeLimitDefaultsToNinetyPercentOfFreeSpace(IoBackend backend) throws IOException {
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(tmp.resolve("t")));
        FileStore fs = Files.getFileStore(tmp);
        long expected = (long) (fs.getUsableSpace() * 0.9);
        long got = m.sizeLimit();
        assertTrue(Math.abs(got - expected) < Math.max(64L << 20, expected / 100), got + " vs " + expected);
        assertThrows(IllegalArgumentException.class, () -> m.setSizeLimit(-2));
        assertThrows(IllegalArgumentException.class,
                () -> new TemporaryFileManager.Config(List.of(tmp), -5, SpillCompression.none()));
        assertThrows(IllegalArgumentException.class,
                () -> new TemporaryFileManager.Config(List.of(tmp, tmp), -1, SpillCompression.none()));
        assertThrows(IllegalArgumentException.class, () -> manager(backend,
                TemporaryFileManager.Config.of(tmp).withCompression(SpillCompression.fixed(1000))));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void writingPastTheLimitLeavesNothingBehind(IoBackend backend) throws Exception {
        Path dir = tmp.resolve("t");
        TemporaryFileManager m = manager(backend, TemporaryFileManager.Config.of(dir)
                .withCompression(SpillCompression.none()).withSizeLimit(TemporaryFileManager.RAW_SLOT - 1));
        AlignedBuffer src = buffer(backend, BLOCK);
        TemporaryDirectoryLimitException e = assertThrows(TemporaryDirectoryLimitException.class,
                () -> m.write(src.buffer(), 0, BLOCK));
        assertTrue(e.getMessage().contains(String.valueOf(TemporaryFileManager.RAW_SLOT - 1)), e.getMessage());
        assertEquals(0, m.usedBytes());
        Function<Path, Boolean> isTemp = p -> p.getFileName().toString().endsWith(".tmp");
        assertTrue(SpillTestSupport.listDir(dir).stream().noneMatch(isTemp::apply), "no empty file left behind");
        AlignedBuffer big = buffer(backend, 1 << 20);
        assertThrows(TemporaryDirectoryLimitException.class, () -> m.write(big.buffer(), 0, 1 << 20));
        assertEquals(0, m.usedBytes());
        assertTrue(SpillTestSupport.listDir(dir).stream().noneMatch(isTemp::apply));
    }
}
