package dev.spillway.spill;

import dev.spillway.CorruptDataException;
import dev.spillway.ClosedException;
import dev.spillway.SpillwayException;
import dev.spillway.TempFileInfo;
import dev.spillway.TemporaryDirectoryLimitException;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Codec;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.NativeIoException;
import dev.spillway.io.OpenFlag;
import dev.spillway.io.SpillBlock;
import dev.spillway.io.SpillFormat;
import java.io.IOException;
import java.io.UncheckedIOException;
import java.lang.System.Logger.Level;
import java.nio.ByteBuffer;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.channels.OverlappingFileLockException;
import java.nio.charset.StandardCharsets;
import java.nio.file.DirectoryStream;
import java.nio.file.FileAlreadyExistsException;
import java.nio.file.FileStore;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.NoSuchFileException;
import java.nio.file.OpenOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermissions;
import java.time.Instant;
import java.util.ArrayList;
import java.util.EnumSet;
import java.util.HashMap;
import java.util.HashSet;
import java.util.LinkedHashSet;
import java.util.List;
import java.util.Map;
import java.util.Set;
import java.util.concurrent.ConcurrentHashMap;
import java.util.concurrent.ConcurrentLinkedDeque;
import java.util.concurrent.ThreadLocalRandom;
import java.util.concurrent.atomic.AtomicInteger;
import java.util.concurrent.atomic.AtomicLong;
import java.util.concurrent.locks.ReentrantLock;
import java.util.regex.Matcher;
import java.util.regex.Pattern;
import java.util.zip.CRC32C;

/**
 * Stores spilled blocks in temporary files and reads them back: the policy half of spilling (which
 * file and slot, which level, how files grow and shrink), over the C core's mechanism (zstd, crc32c,
 * O_DIRECT pwrite/pread, the fused spill calls).
 *
 * <h2>Layout (DuckDB's TemporaryFileManager, measured; see DESIGN.md)</h2>
 * Blocks of {@link #BLOCK_SIZE} (256 KiB) are compressed and stored in size classes of 32 KiB
 * (32K … 224K); a block whose compressed form does not fit 224 KiB is stored raw in the raw
 * class. Each class has its own files; a new file may hold {@code (1 << files_open_in_class) * 4000}
 * slots (file-index growth), a block takes the lowest free slot of the lowest file with room, and
 * a new file takes the lowest free file index ({@link SlotAllocator}). Buffers of any other size
 * go to a file of their own (as 256 KiB chunks, each a block, so no scratch of the buffer's size
 * is needed); those of 32 KiB or less are not compressed.
 *
 * <p><b>Deviation from DuckDB:</b> our block header is 32 bytes (magic, codec, lengths, crc32c;
 * {@link SpillFormat}) and O_DIRECT writes whole 4 KiB units, so a raw 256 KiB block takes
 * 256 KiB + 4 KiB on disk: the raw class slot is {@link #RAW_SLOT} = 266,240 bytes, and a
 * compressed block fits a class when 32 + payload, rounded up to 4 KiB, fits it.
 *
 * <h2>Better than DuckDB</h2>
 * <ul>
 * <li>Every block carries a crc32c; a corrupt block is a {@link CorruptDataException} naming file and slot.
 * <li>Freed slots below the file's tail get their disk blocks punched out where the file system
 *     allows it (DuckDB keeps the holes), once a run of them reaches {@link #PUNCH_RUN_BYTES}:
 *     one punch per freed slot costs more than reading the slot back. A freed tail truncates the
 *     file; an empty file is deleted, or kept for reuse (below).
 * <li>An owner record per manager and directory ({@code spillway-<owner>.owner}, holding pid and
 *     start time under a {@link FileLock}); at start, files of owners whose lock is free (dead) are
 *     removed, so a crash leaves nothing behind for long.
 * <li>Several directories, blocks striped across them round-robin.
 * <li>A failed write (ENOSPC, EIO, size limit) frees its slot, deletes a file it just created and
 *     leaves every counter exact; a failed read keeps the block, so a retry can succeed.
 * </ul>
 *
 * <h2>Directories</h2>
 * A directory is created on first use with mode 0700; on close it is removed if this manager
 * created it, otherwise only this manager's files are (a user's files survive). The rule for a
 * directory, checked before anything is written into it:
 * <ul>
 * <li>it is not a symbolic link (its parents may be: the user chose them): a link could send
 *     spilled data somewhere its owner did not choose;
 * <li>it is owned by the user running Spillway ({@code user.name}) or by root;
 * <li>if others may write to it, it has the sticky bit (like {@code /tmp}), so they cannot remove,
 *     rename or replace this manager's files.
 * </ul>
 * So another user who creates the default {@code <java.io.tmpdir>/spillway-<user>} first, or
 * opens it to everyone, gets a refusal, not our data. Files are created 0600, exclusively, without
 * following symbolic links; the owner record likewise.
 *
 * <h2>Concurrency</h2>
 * Only slot bookkeeping (and the file create/truncate/punch/delete it implies) runs under a lock,
 * one per size class and directory; compression, crc and the block's I/O run outside it, so many
 * threads spill at once. Each I/O takes a {@link Worker} (codec + scratch) from a small pool
 * because a codec serves one thread at a time.
 *
 * <h2>Emptied files</h2>
 * A size-class file whose last block is freed is kept open and empty for the next spill, instead
 * of deleted, when its class keeps no other emptied file and the manager's retention budget
 * ({@link Config#emptyFileRetention}, default {@link #DEFAULT_EMPTY_FILE_RETENTION}) has room; a
 * larger file is first truncated to the budget's whole slots. A spill-then-read-back cycle then
 * overwrites blocks the file system already allocated instead of creating, growing and deleting a
 * file every cycle (measured on ext4 with O_DIRECT: the delete alone took 8 to 58 ms after 64
 * blocks, more than reading them back). A kept file is listed by {@link #temporaryFiles} with no
 * slot in use, is kept only within the size limit's headroom (below), is deleted by {@link #close},
 * and is the first file a new block goes to (lowest index with room). Reused, it is not truncated:
 * its slots past the highest one in use stay on disk and stay counted as kept
 * ({@link #retainedBytes}) until blocks fill them or the file is truncated; meanwhile its class
 * keeps no other emptied file. A retention of 0 deletes every file as soon as it is empty. A failed
 * write never keeps the file it emptied.
 *
 * <h2>Size limit</h2>
 * Usage is the sum of the slot sizes in use plus the stored size of files of their own. The limit
 * defaults to 90% of the free space of the directories' file systems when first used; it can be
 * {@link #SIZE_UNLIMITED}. Passing it is a {@link TemporaryDirectoryLimitException}. The bytes of
 * kept files count against it too (usage plus {@link #retainedBytes} stays within it), so what the
 * temporary files hold on disk does too, except freed slots below a file's last block that are not
 * punched out yet (see above); kept files give way: a spill that needs their room deletes them (a
 * reused one is truncated to its slots in use) before it fails.
 */
public final class TemporaryFileManager implements AutoCloseable {
    private static final System.Logger LOG = System.getLogger("dev.spillway.spill");

    /** DuckDB's spill block size. */
    public static final int BLOCK_SIZE = 256 * 1024;
    /** Size-class step of compressed blocks (DuckDB's). */
    public static final int CLASS_STEP = 32 * 1024;
    /** Compressed classes 32K … 224K. */
    static final int COMPRESSED_CLASSES = 7;
    /** Index of the raw class. */
    static final int RAW_CLASS = COMPRESSED_CLASSES;
    /** Raw 256 KiB block + 32-byte header, rounded up to O_DIRECT's 4 KiB: 266,240 bytes. */
    public static final int RAW_SLOT = SpillFormat.storedSize(BLOCK_SIZE);
    /** Largest zstd payload a compressed class holds: 224 KiB less our header. */
    static final int MAX_COMPRESSED_PAYLOAD = COMPRESSED_CLASSES * CLASS_STEP - SpillFormat.HEADER_SIZE;
    /** Buffers this small are stored raw: compression saves too little to pay for itself (DuckDB's rule). */
    public static final int MIN_COMPRESSED_SIZE = 32 * 1024;
    /** A size limit meaning "no limit". */
    public static final long SIZE_UNLIMITED = Long.MAX_VALUE;
    /**
     * Emptied size-class files kept for reuse, in bytes on disk, per manager: the files of one
     * spill-and-read-back cycle of 64 MiB of raw data at the raw class, or more when compressed.
     */
    public static final long DEFAULT_EMPTY_FILE_RETENTION = 64L << 20;
    /** A size limit meaning "90% of the free space when first used". */
    public static final long SIZE_DEFAULT = -1;
    /** Share of the free disk space the default limit allows (DuckDB's 90%). */
    static final double DEFAULT_LIMIT_SHARE = 0.9;
    /** Idle workers kept for reuse; more threads than this spilling at once allocate and free their own. */
    private static final int MAX_IDLE_WORKERS = 8;
    /** Scratch of a worker: enough for the fused calls on a 256 KiB block. */
    private static final int WORKER_SCRATCH = SpillFormat.scratchSize(BLOCK_SIZE);
    private static final byte[] ZEROS = new byte[IoBackend.ALIGNMENT];
    private static final Pattern OWNER_FILE = Pattern.compile("spillway-(\\d+-[0-9a-f]{8})\\.owner");
    private static final Pattern TEMP_FILE = Pattern.compile("spillway-(\\d+-[0-9a-f]{8})-[cb][0-9a-z-]*\\.tmp");
    /** Owners alive in this JVM: their lock files must not be probed (closing a probe would drop the lock). */
    private static final Set<String> LIVE_OWNERS = ConcurrentHashMap.newKeySet();

    /**
     * @param directories  one or more temporary directories; blocks are striped across them
     * @param sizeLimit    bytes, {@link #SIZE_DEFAULT} (90% of free space at first use) or {@link #SIZE_UNLIMITED}
     * @param compression  adaptive, fixed level or none
     */
    public record Config(List<Path> directories, long sizeLimit, SpillCompression compression,
            long emptyFileRetention) {
        public Config {
            directories = List.copyOf(directories);
            if (directories.isEmpty()) {
                throw new IllegalArgumentException("at least one temporary directory is needed");
            }
            if (new HashSet<>(directories).size() != directories.size()) {
                throw new IllegalArgumentException("temporary directories given twice: " + directories);
            }
            if (sizeLimit < 0 && sizeLimit != SIZE_DEFAULT) {
                throw new IllegalArgumentException("temporary directory size limit " + sizeLimit
                        + " is negative (use SIZE_DEFAULT or SIZE_UNLIMITED)");
            }
            if (emptyFileRetention < 0) {
                throw new IllegalArgumentException("empty file retention " + emptyFileRetention + " is negative");
            }
        }

        /** With the default {@link #DEFAULT_EMPTY_FILE_RETENTION}. */
        public Config(List<Path> directories, long sizeLimit, SpillCompression compression) {
            this(directories, sizeLimit, compression, DEFAULT_EMPTY_FILE_RETENTION);
        }

        public static Config of(Path directory) {
            return new Config(List.of(directory), SIZE_DEFAULT, SpillCompression.adaptiveLevel());
        }

        public Config withSizeLimit(long bytes) {
            return new Config(directories, bytes, compression, emptyFileRetention);
        }

        public Config withCompression(SpillCompression c) {
            return new Config(directories, sizeLimit, c, emptyFileRetention);
        }

        /**
         * Bytes of emptied size-class files kept on disk for reuse (0: delete a file as soon as it
         * is empty). See "Emptied files" in the class comment.
         */
        public Config withEmptyFileRetention(long bytes) {
            return new Config(directories, sizeLimit, compression, bytes);
        }
    }

    /** A block on disk: where it is and what it takes. Immutable. */
    public static final class Block {
        final Directory dir;
        /** Size class, or -1 for a file of its own. */
        final int sizeClass;
        final int fileIndex;
        final int slot;
        final IoFile file;
        final long fileOffset;
        final int storedSize;
        final int rawLength;
        final int level;
        final int codec;
        /** Bytes counted against the size limit. */
        final long chargedBytes;
        /** For a file of its own: the stored size of each chunk, back to back from offset 0; else null. */
        final int[] chunks;

        Block(Directory dir, int sizeClass, int fileIndex, int slot, IoFile file, long fileOffset, int storedSize,
                int rawLength, int level, int codec, long chargedBytes, int[] chunks) {
            this.dir = dir;
            this.sizeClass = sizeClass;
            this.fileIndex = fileIndex;
            this.slot = slot;
            this.file = file;
            this.fileOffset = fileOffset;
            this.storedSize = storedSize;
            this.rawLength = rawLength;
            this.level = level;
            this.codec = codec;
            this.chargedBytes = chargedBytes;
            this.chunks = chunks;
        }

        /** Bytes counted against the temporary size limit (the slot, or the file of its own). */
        public long chargedBytes() {
            return chargedBytes;
        }

        public int storedSize() {
            return storedSize;
        }

        public int rawLength() {
            return rawLength;
        }

        /** Whether the block is stored zstd-compressed. */
        public boolean compressed() {
            return codec == SpillFormat.CODEC_ZSTD;
        }

        /** Slot size of the block's class, or 0 for a file of its own. */
        public int slotSize() {
            return sizeClass < 0 ? 0 : TemporaryFileManager.slotSize(sizeClass);
        }

        public Path path() {
            return file.path();
        }

        public int slot() {
            return slot;
        }

        @Override
        public String toString() {
            return sizeClass < 0 ? "block of " + rawLength + " bytes in " + file.path()
                    : "slot " + slot + " of " + file.path() + " (size class " + (slotSize() / 1024) + " KiB)";
        }
    }

    /** One size class in one directory: its slot bookkeeping and open files, under one lock. */
    final class SizeClass {
        final Directory dir;
        final int index;
        final int slotSize;
        final ReentrantLock lock = new ReentrantLock();
        // guarded by lock
        final SlotAllocator slots = new SlotAllocator();
        // guarded by lock
        final Map<Integer, IoFile> files = new HashMap<>();
        // guarded by lock
        boolean punchSupported = true;
        /** The file index of the kept empty file, or {@link #NONE_KEPT}. */
        // guarded by lock
        int keptIndex = NONE_KEPT;
        /** Bytes the kept empty file holds on disk (0 when none is kept). */
        // guarded by lock
        long keptBytes;
        /**
         * The kept file once in use again, or {@link #NONE_KEPT}. Reusing it does not truncate it
         * (overwriting blocks the file system already allocated is why it was kept), so its bytes
         * past its highest slot in use are still on disk: they stay counted in retainedBytes, as
         * {@link #tailBytes}, until slots cover them or the file is truncated or deleted. A class
         * has a kept file or such a file, not both (free keeps no other file meanwhile).
         */
        // guarded by lock
        int tailIndex = NONE_KEPT;
        /** Length of the file at tailIndex: its kept size, less once truncated. */
        // guarded by lock
        long tailEnd;
        /** Its bytes past its highest slot in use, {@code tailEnd} less those slots (counted in retainedBytes). */
        // guarded by lock
        long tailBytes;

        SizeClass(Directory dir, int index) {
            this.dir = dir;
            this.index = index;
            this.slotSize = slotSize(index);
        }

        Path pathOf(int fileIndex) {
            return dir.path.resolve("spillway-" + ownerId + "-c" + (slotSize / 1024) + "k-" + fileIndex + ".tmp");
        }

        record Placement(int fileIndex, int slot, IoFile file, boolean newFile) {
        }

        Placement allocate() {
            lock.lock();
            try {
                SlotAllocator.Allocation a = slots.allocate();
                IoFile f;
                if (a.newFile()) {
                    try {
                        f = openNew(pathOf(a.fileIndex()));
                    } catch (RuntimeException e) {
                        slots.abandonNewFile(a.fileIndex());
                        throw e;
                    }
                    files.put(a.fileIndex(), f);
                    fileOpened();
                } else {
                    f = files.get(a.fileIndex());
                    if (a.fileIndex() == keptIndex) {
                        // in use again: no longer an empty file kept, but its slots past this block stay
                        // on disk, so its count moves over to the tail, less the slot now charged
                        tailIndex = keptIndex;
                        tailEnd = keptBytes;
                        tailBytes = keptBytes;
                        keptIndex = NONE_KEPT;
                        keptBytes = 0;
                    }
                    if (a.fileIndex() == tailIndex) {
                        recountTail();
                    }
                }
                return new Placement(a.fileIndex(), a.slot(), f, a.newFile());
            } finally {
                lock.unlock();
            }
        }

        /**
         * Creates a file of this class. If the name is taken by a file of ours whose delete failed
         * earlier (the slot allocator reuses file indexes; the manager's undeleted set remembers
         * them), that leftover is removed and the create tried once more: without this, one failed
         * delete would make every later file of the class fail with EEXIST. Anything else at the
         * name (a file or link someone planted, even one named like ours) is never removed: the
         * EEXIST stands.
         */
        private IoFile openNew(Path path) {
            try {
                return backend.open(path, NEW_FILE);
            } catch (NativeIoException e) {
                if (e.errno() != dev.spillway.io.Errno.EEXIST || !undeleted.contains(path)) {
                    throw e;
                }
                try {
                    Files.deleteIfExists(path); // a link is removed, never followed
                } catch (IOException suppressed) {
                    e.addSuppressed(suppressed);
                    throw e;
                }
                undeleted.remove(path);
                LOG.log(Level.INFO, "removed " + path + ", left behind by a failed delete, to create it again");
                return backend.open(path, NEW_FILE);
            }
        }

        /** Punches the not-yet-punched stretches of a run of free slots (under the lock). */
        private void punchRun(IoFile f, SlotAllocator.Release r) {
            SlotAllocator.FileSlots fs = slots.file(r.fileIndex());
            int from = fs.punched.nextClearBit(r.runStart());
            while (from < r.runEnd()) {
                int to = Math.min(r.runEnd(), fs.punched.nextSetBit(from) < 0 ? r.runEnd() : fs.punched.nextSetBit(from));
                try {
                    if (!f.punchHole((long) from * slotSize, (long) (to - from) * slotSize)) {
                        punchSupported = false; // the file system cannot: keep holes, as DuckDB does
                        return;
                    }
                } catch (RuntimeException e) {
                    LOG.log(Level.WARNING, "punching a hole over slots " + from + ".." + (to - 1) + " of " + f.path()
                            + " failed; the slots are reused later: " + e.getMessage());
                    return;
                }
                slots.markPunched(r.fileIndex(), from, to);
                from = fs.punched.nextClearBit(to);
            }
        }

        /**
         * Frees a slot. A file it empties is kept for reuse when {@code mayKeep}, this class keeps
         * no other, and the retention budget has room for it (truncated to fit, whole slots);
         * otherwise it is deleted.
         */
        void free(int fileIndex, int slot, boolean mayKeep) {
            lock.lock();
            try {
                IoFile f = files.get(fileIndex);
                boolean empties = slots.wouldEmpty(fileIndex, slot);
                if (empties && fileIndex == tailIndex) { // about to be kept (counted anew) or deleted
                    tailEnd = 0;
                    recountTail();
                }
                // one kept file per class, and none beside a reused one still holding slots past its blocks
                boolean keep = mayKeep && keptIndex == NONE_KEPT && tailIndex == NONE_KEPT && !closed && empties
                        && keepEmptied(fileIndex, f);
                SlotAllocator.Release r = slots.free(fileIndex, slot, keep);
                switch (r.action()) {
                    case KEEP_EMPTY:
                        break;
                    case DELETE:
                        files.remove(fileIndex);
                        closeDiscarded(f);
                        deleteOwn(f.path());
                        openFiles.decrementAndGet();
                        break;
                    case TRUNCATE:
                        try {
                            f.truncate((long) r.extentSlots() * slotSize);
                            if (fileIndex == tailIndex) {
                                tailEnd = Math.min(tailEnd, (long) r.extentSlots() * slotSize);
                            }
                        } catch (RuntimeException e) {
                            LOG.log(Level.WARNING, "truncating " + f.path() + " after freeing slot " + slot
                                    + " failed; the space is reused later: " + e.getMessage());
                        }
                        break;
                    case PUNCH:
                        if (punchSupported && (long) r.unpunched() * slotSize >= punchRunBytes) {
                            punchRun(f, r);
                        }
                        break;
                    default:
                        throw new AssertionError(r.action());
                }
                if (fileIndex == tailIndex) {
                    recountTail(); // a truncate that failed leaves the freed tail slots on disk: counted
                }
            } finally {
                lock.unlock();
            }
        }

        /** Recounts the bytes of the reused kept file past its highest slot in use (under the lock). */
        private void recountTail() {
            long t = 0;
            if (tailIndex != NONE_KEPT) {
                SlotAllocator.FileSlots fs = slots.file(tailIndex);
                t = fs == null ? 0 : Math.max(0, tailEnd - (long) fs.extentSlots() * slotSize);
                if (t == 0) {
                    tailIndex = NONE_KEPT; // its slots cover it now, or it was truncated or is going
                    tailEnd = 0;
                }
            }
            retainedBytes.addAndGet(t - tailBytes);
            tailBytes = t;
        }

        /**
         * Gives the room kept files take to a spill that needs it (see {@code charge}): deletes the
         * kept empty file and truncates a reused one to its slots in use. A failed truncate is
         * logged, and its bytes stay counted.
         */
        void releaseRetained() {
            lock.lock();
            try {
                if (keptIndex != NONE_KEPT) {
                    IoFile f = files.remove(keptIndex);
                    slots.removeEmpty(keptIndex);
                    retainedBytes.addAndGet(-keptBytes);
                    keptIndex = NONE_KEPT;
                    keptBytes = 0;
                    closeDiscarded(f);
                    deleteOwn(f.path());
                    openFiles.decrementAndGet();
                }
                if (tailIndex != NONE_KEPT) {
                    IoFile f = files.get(tailIndex);
                    long inUse = (long) slots.file(tailIndex).extentSlots() * slotSize;
                    try {
                        f.truncate(inUse);
                        tailEnd = inUse;
                    } catch (RuntimeException e) {
                        LOG.log(Level.WARNING, "truncating " + f.path() + " from " + tailEnd + " to the " + inUse
                                + " bytes of its slots in use, to give the room to a spill, failed: " + e.getMessage());
                    }
                    recountTail();
                }
            } finally {
                lock.unlock();
            }
        }

        /**
         * Reserves retention budget for a file about to be emptied, truncating it to the budget's
         * whole slots if it is larger; false (delete it) when no slot fits or it cannot be sized.
         */
        private boolean keepEmptied(int fileIndex, IoFile f) {
            long size;
            try {
                size = f.size();
            } catch (RuntimeException e) {
                return false;
            }
            for (;;) {
                long r = retainedBytes.get();
                // within the budget, and within the size limit's headroom: what we keep on disk
                // (slots in use plus kept files) stays under the limit when the file is kept
                long room = Math.min(emptyFileRetention - r, sizeLimit() - used.get() - r);
                long keepBytes = Math.min(size, room / slotSize * slotSize);
                if (keepBytes <= 0) {
                    return false;
                }
                if (!retainedBytes.compareAndSet(r, r + keepBytes)) {
                    continue;
                }
                // checked again now the bytes are counted, as charge() checks after its charge: of a
                // spill and a keep racing, one sees the other, so together they cannot pass the limit
                if (used.get() + retainedBytes.get() > sizeLimit()) {
                    retainedBytes.addAndGet(-keepBytes);
                    return false;
                }
                if (keepBytes < size) {
                    try {
                        f.truncate(keepBytes);
                    } catch (RuntimeException e) {
                        retainedBytes.addAndGet(-keepBytes);
                        return false;
                    }
                }
                keptIndex = fileIndex;
                keptBytes = keepBytes;
                return true;
            }
        }
    }

    /** One temporary directory: created lazily, with this manager's owner record in it. */
    final class Directory {
        final Path path;
        final SizeClass[] classes = new SizeClass[COMPRESSED_CLASSES + 1];
        /** Files of their own, by path. */
        final Map<Path, IoFile> ownFiles = new ConcurrentHashMap<>();
        /** Written under TemporaryFileManager.this; volatile so the fast path may read it without. */
        volatile boolean ready;
        // guarded by TemporaryFileManager.this
        boolean createdByUs;
        // guarded by TemporaryFileManager.this
        FileChannel ownerChannel;
        // guarded by TemporaryFileManager.this
        Path ownerFile;

        Directory(Path path) {
            this.path = path;
            for (int i = 0; i < classes.length; i++) {
                classes[i] = new SizeClass(this, i);
            }
        }
    }

    /** A codec and its scratch, used by one thread at a time. */
    private static final class Worker implements AutoCloseable {
        final Codec codec;
        final AlignedBuffer scratch;
        final CRC32C crc = new CRC32C();

        Worker(IoBackend backend) {
            Codec c = backend.newCodec();
            try {
                this.scratch = backend.allocate(WORKER_SCRATCH);
            } catch (RuntimeException | Error e) {
                c.close();
                throw e;
            }
            this.codec = c;
        }

        @Override
        public void close() {
            codec.close();
            scratch.close();
        }
    }

    private static final Set<OpenFlag> NEW_FILE = EnumSet.of(OpenFlag.CREATE, OpenFlag.EXCLUSIVE,
            OpenFlag.NO_FOLLOW, OpenFlag.DIRECT);

    private final IoBackend backend;
    /** Files of this manager whose delete failed: the only ones it may remove to reuse their names. */
    private final Set<Path> undeleted = ConcurrentHashMap.newKeySet();
    private final List<Directory> directories;
    private final String ownerId;
    private final CompressionLevelChooser chooser;
    private final AtomicInteger stripe = new AtomicInteger();
    private final AtomicLong ownFileSeq = new AtomicLong();
    private final ConcurrentLinkedDeque<Worker> idleWorkers = new ConcurrentLinkedDeque<>();
    private final AtomicInteger idleWorkerCount = new AtomicInteger();
    /** Bytes charged against the limit (slots in use, files of their own). */
    private final AtomicLong used = new AtomicLong();
    private final AtomicLong blocks = new AtomicLong();
    private final AtomicLong rawBytesWritten = new AtomicLong();
    private final AtomicLong storedBytesWritten = new AtomicLong();
    private final AtomicLong peakUsed = new AtomicLong();
    /** Temporary files open now and the most at once (files are created rarely: atomics are cheap here). */
    private final AtomicInteger openFiles = new AtomicInteger();
    private final AtomicInteger peakOpenFiles = new AtomicInteger();
    /**
     * Free bytes in a run that justify punching it out. One fallocate(PUNCH_HOLE) costs about as much
     * as reading 2 MiB back on this machine class (measured: punching every freed 256 KiB slot cut
     * read-back from ~450 to ~65 MB/s), so runs of 32 MiB keep the cost near 5%.
     */
    static final long PUNCH_RUN_BYTES = 32L << 20;
    private volatile long punchRunBytes = PUNCH_RUN_BYTES;
    /** {@code SizeClass.keptIndex} when the class keeps no empty file. */
    private static final int NONE_KEPT = -1;
    /** Bytes of emptied files kept for reuse, at most {@link #emptyFileRetention}. */
    private final AtomicLong retainedBytes = new AtomicLong();
    private final long emptyFileRetention;
    private volatile long sizeLimit;
    // guarded by this
    private boolean limitResolved;
    private volatile boolean closed;

    public TemporaryFileManager(IoBackend backend, Config config) {
        this.backend = backend;
        this.ownerId = ProcessHandle.current().pid() + "-"
                + String.format("%08x", ThreadLocalRandom.current().nextInt());
        this.chooser = new CompressionLevelChooser(config.compression());
        SpillCompression c = config.compression();
        if (!c.adaptive() && c.level() != SpillFormat.LEVEL_NONE
                && (c.level() < backend.minLevel() || c.level() > backend.maxLevel())) {
            throw new IllegalArgumentException("zstd level " + c.level() + " outside [" + backend.minLevel() + ", "
                    + backend.maxLevel() + "]");
        }
        List<Directory> dirs = new ArrayList<>();
        for (Path p : config.directories()) {
            dirs.add(new Directory(p.toAbsolutePath().normalize()));
        }
        this.directories = List.copyOf(dirs);
        this.sizeLimit = config.sizeLimit();
        this.emptyFileRetention = config.emptyFileRetention();
        this.limitResolved = config.sizeLimit() != SIZE_DEFAULT;
        LIVE_OWNERS.add(ownerId);
        for (Directory d : directories) {
            if (Files.isDirectory(d.path, LinkOption.NOFOLLOW_LINKS) && untrustedReason(d.path) == null) {
                removeStaleFiles(d.path); // clean up after dead owners at start, not only on first spill
            }
        }
    }

    static int slotSize(int sizeClass) {
        return sizeClass == RAW_CLASS ? RAW_SLOT : (sizeClass + 1) * CLASS_STEP;
    }

    /** The size class a compressed payload of {@code payload} bytes goes to, or -1 if it fits none. */
    static int classOf(int payload) {
        if (payload > MAX_COMPRESSED_PAYLOAD) {
            return -1;
        }
        return (SpillFormat.storedSize(payload) - 1) / CLASS_STEP;
    }

    /** Tests lower it to see holes punched without spilling 32 MiB. */
    void setPunchRunBytes(long bytes) {
        this.punchRunBytes = bytes;
    }

    public String ownerId() {
        return ownerId;
    }

    public List<Path> directories() {
        List<Path> l = new ArrayList<>();
        for (Directory d : directories) {
            l.add(d.path);
        }
        return l;
    }

    // ---------------------------------------------------------------- write

    /**
     * Spills {@code length} bytes of {@code src} from absolute {@code offset}. A block of
     * {@link #BLOCK_SIZE} goes to a size class, any other size to a file of its own (in chunks).
     * On failure nothing is left behind and nothing stays charged.
     * @throws TemporaryDirectoryLimitException when the size limit does not allow it
     */
    public Block write(ByteBuffer src, int offset, int length) {
        ensureOpen("spill write");
        if (length <= 0) {
            throw new IllegalArgumentException("spill write: length " + length + " must be positive");
        }
        if (offset < 0 || (long) offset + length > src.capacity()) {
            throw new IndexOutOfBoundsException("spill write: [" + offset + ", +" + length + ") outside a buffer of "
                    + src.capacity() + " bytes");
        }
        Directory d = nextDirectory();
        prepare(d);
        Worker w = acquireWorker();
        try {
            Block b = length == BLOCK_SIZE ? writeClassBlock(d, w, src, offset) : writeOwnFile(d, w, src, offset, length);
            blocks.incrementAndGet();
            rawBytesWritten.addAndGet(length);
            storedBytesWritten.addAndGet(b.chunks != null ? b.chargedBytes : b.storedSize);
            return b;
        } finally {
            releaseWorker(w);
        }
    }

    private Block writeClassBlock(Directory d, Worker w, ByteBuffer src, int offset) {
        long t0 = System.nanoTime();
        int level = chooser.choose();
        ByteBuffer s = w.scratch.buffer();
        int payload = -1;
        int sizeClass = RAW_CLASS;
        if (level != SpillFormat.LEVEL_NONE) {
            int n = w.codec.compress(src, offset, BLOCK_SIZE, s, SpillFormat.HEADER_SIZE,
                    s.capacity() - SpillFormat.HEADER_SIZE, level);
            int c = classOf(n);
            if (c >= 0) {
                payload = n;
                sizeClass = c;
            }
        }
        SizeClass sc = d.classes[sizeClass];
        charge(sc.slotSize);
        SizeClass.Placement p;
        try {
            p = sc.allocate();
        } catch (RuntimeException e) {
            uncharge(sc.slotSize);
            throw spillFailure("spill write (creating a file of size class " + sc.slotSize / 1024 + " KiB in " + d.path
                    + ")", e);
        }
        long fileOffset = (long) p.slot() * sc.slotSize;
        int stored;
        int codec;
        try {
            if (payload >= 0) {
                stored = SpillFormat.storedSize(payload);
                SpillFormat.putHeader(s, 0, SpillFormat.CODEC_ZSTD, payload, BLOCK_SIZE);
                s.put(SpillFormat.HEADER_SIZE + payload, ZEROS, 0, stored - SpillFormat.HEADER_SIZE - payload);
                w.crc.reset();
                w.crc.update(s.duplicate().position(0).limit(16));
                w.crc.update(s.duplicate().position(SpillFormat.HEADER_SIZE).limit(SpillFormat.HEADER_SIZE + payload));
                SpillFormat.putCrc(s, 0, (int) w.crc.getValue());
                p.file().write(s, 0, stored, fileOffset);
                codec = SpillFormat.CODEC_ZSTD;
            } else {
                SpillBlock sb = w.codec.spillWrite(p.file(), fileOffset, src, offset, BLOCK_SIZE, SpillFormat.LEVEL_NONE,
                        0, w.scratch);
                stored = sb.storedSize();
                codec = sb.codec();
            }
        } catch (RuntimeException e) {
            sc.free(p.fileIndex(), p.slot(), false); // deletes a file this block just created (or emptied)
            uncharge(sc.slotSize);
            throw spillFailure("spill write of a " + BLOCK_SIZE + "-byte block to slot " + p.slot() + " of "
                    + p.file().path() + " (size class " + sc.slotSize / 1024 + " KiB)", e);
        }
        if (!p.newFile()) { // creating a file costs far more than the block: it would skew the level's cost
            chooser.recordWrite(level, BLOCK_SIZE, System.nanoTime() - t0);
        }
        return new Block(d, sizeClass, p.fileIndex(), p.slot(), p.file(), fileOffset, stored, BLOCK_SIZE, level, codec,
                sc.slotSize, null);
    }

    /**
     * A buffer of another size goes to a file of its own, as chunks of at most {@link #BLOCK_SIZE}
     * raw bytes, each a spill block of its own back to back: the worker's scratch serves any size,
     * so spilling a huge buffer needs no scratch of its size.
     */
    private Block writeOwnFile(Directory d, Worker w, ByteBuffer src, int offset, int length) {
        int level = length <= MIN_COMPRESSED_SIZE ? SpillFormat.LEVEL_NONE : chooser.choose();
        int n = (int) (((long) length + BLOCK_SIZE - 1) / BLOCK_SIZE);
        long worstCase = 0; // raw chunks: maxPayload = chunk length keeps each at most that
        for (int i = 0; i < n; i++) {
            worstCase += SpillFormat.storedSize(Math.min(BLOCK_SIZE, length - i * BLOCK_SIZE));
        }
        charge(worstCase);
        Path path = d.path.resolve("spillway-" + ownerId + "-b" + ownFileSeq.incrementAndGet() + ".tmp");
        IoFile f;
        try {
            f = backend.open(path, NEW_FILE);
        } catch (RuntimeException e) {
            uncharge(worstCase);
            throw spillFailure("spill write (creating " + path + ")", e);
        }
        d.ownFiles.put(path, f);
        fileOpened();
        long t0 = System.nanoTime();
        int[] chunks = new int[n];
        long stored = 0;
        int codec = SpillFormat.CODEC_RAW;
        try {
            for (int i = 0; i < n; i++) {
                int len = Math.min(BLOCK_SIZE, length - i * BLOCK_SIZE);
                SpillBlock sb = w.codec.spillWrite(f, stored, src, offset + i * BLOCK_SIZE, len, level, len, w.scratch);
                chunks[i] = sb.storedSize();
                stored += sb.storedSize();
                codec = Math.max(codec, sb.codec());
            }
        } catch (RuntimeException e) {
            d.ownFiles.remove(path);
            closeDiscarded(f);
            deleteQuietly(path);
            openFiles.decrementAndGet();
            uncharge(worstCase);
            throw spillFailure("spill write of a " + length + "-byte buffer to " + path + " at offset " + stored, e);
        }
        if (length > MIN_COMPRESSED_SIZE) {
            // the chooser picked the level: feed it back whatever it was, "none" included, as the block
            // path does. Recording only compressed writes left it without a sample, so it kept answering
            // "none" and never tried a level on buffers of other sizes. The file's creation is not timed
            // (t0 is taken after it), so every own-file write is a fair sample, unlike a class's new file.
            chooser.recordWrite(level, length, System.nanoTime() - t0);
        }
        uncharge(worstCase - stored);
        return new Block(d, -1, -1, 0, f, 0, (int) Math.min(Integer.MAX_VALUE, stored), length, level, codec, stored,
                chunks);
    }

    private static SpillwayException spillFailure(String what, Throwable e) {
        if (e instanceof TemporaryDirectoryLimitException) {
            return (TemporaryDirectoryLimitException) e;
        }
        return new SpillwayException(what + " failed: " + e.getMessage(), e);
    }

    // ---------------------------------------------------------------- read and release

    /**
     * Reads a block back into {@code dst} (exactly its raw length from absolute {@code offset}) and
     * frees it. If the read fails the block stays on disk and charged, so a retry can succeed. Once
     * it succeeded nothing is thrown: freeing the block does not fail (a close(2) that reports an
     * error is logged, see {@code closeDiscarded}), so a caller never drops data it has read.
     * @throws CorruptDataException naming file and slot when the block fails its checks
     */
    public void read(Block b, ByteBuffer dst, int offset) {
        ensureOpen("spill read");
        Worker w = acquireWorker();
        long t0 = System.nanoTime();
        long at = b.fileOffset;
        try {
            if (b.chunks == null) {
                w.codec.spillRead(b.file, at, b.storedSize, dst, offset, b.rawLength, w.scratch);
            } else {
                for (int i = 0; i < b.chunks.length; i++) {
                    int len = Math.min(BLOCK_SIZE, b.rawLength - i * BLOCK_SIZE);
                    w.codec.spillRead(b.file, at, b.chunks[i], dst, offset + i * BLOCK_SIZE, len, w.scratch);
                    at += b.chunks[i];
                }
            }
        } catch (CorruptDataException e) {
            throw new CorruptDataException("reading back " + b + " at offset " + at + ": " + e.getMessage(), e);
        } catch (NativeIoException e) {
            throw new SpillwayException("reading back " + b + " failed (the block stays on disk; a retry may succeed): "
                    + e.getMessage(), e);
        } finally {
            releaseWorker(w);
        }
        if (b.chunks == null || b.rawLength > MIN_COMPRESSED_SIZE) { // not a small buffer stored raw by rule
            chooser.recordRead(b.level, b.rawLength, System.nanoTime() - t0);
        }
        release(b);
    }

    /** Frees a block without reading it (its buffer was freed). */
    public void release(Block b) {
        if (b.sizeClass >= 0) {
            b.dir.classes[b.sizeClass].free(b.fileIndex, b.slot, true);
        } else {
            b.dir.ownFiles.remove(b.file.path());
            closeDiscarded(b.file);
            deleteQuietly(b.file.path());
            openFiles.decrementAndGet();
        }
        uncharge(b.chargedBytes);
        blocks.decrementAndGet();
    }

    // ---------------------------------------------------------------- size limit

    /**
     * Charges bytes against the limit. Files kept for reuse are on disk too, so they count
     * (retainedBytes), but they give way: a charge they would stop first deletes or truncates them
     * ({@code releaseRetained}), then tries once more.
     */
    private void charge(long bytes) {
        long limit = sizeLimit();
        boolean released = false;
        for (;;) {
            long u = used.get();
            long r = retainedBytes.get();
            if (u + r + bytes > limit) {
                if (r > 0 && !released) {
                    released = true;
                    for (Directory d : directories) {
                        for (SizeClass sc : d.classes) {
                            sc.releaseRetained();
                        }
                    }
                    continue;
                }
                throw new TemporaryDirectoryLimitException("spilling " + bytes + " bytes to " + directories()
                        + " would pass the temporary directory size limit: limit " + limit + " bytes, " + u
                        + " bytes in use" + (r > 0 ? " and " + r + " bytes of emptied files kept for reuse that "
                        + "could not be released" : "") + "; raise it with setTemporaryDirectoryLimit(bytes) "
                        + "(Config.sizeLimit, SIZE_UNLIMITED for none)", limit, u + r, bytes);
            }
            if (!used.compareAndSet(u, u + bytes)) {
                continue;
            }
            // checked again now the charge is in, as keepEmptied checks after its reservation: of a spill
            // and a keep racing, one sees the other, so together they cannot pass the limit
            if (u + bytes + retainedBytes.get() > limit) {
                used.addAndGet(-bytes);
                continue;
            }
            peakUsed.accumulateAndGet(u + bytes, Math::max);
            return;
        }
    }

    private void uncharge(long bytes) {
        if (used.addAndGet(-bytes) < 0) {
            throw new IllegalStateException("temporary storage accounting went negative releasing " + bytes + " bytes");
        }
    }

    /** The size limit in bytes ({@link #SIZE_UNLIMITED} for none); resolves the default on first call. */
    public long sizeLimit() {
        long l = sizeLimit;
        return l != SIZE_DEFAULT ? l : resolveDefaultLimit();
    }

    private synchronized long resolveDefaultLimit() {
        if (!limitResolved) {
            Set<FileStore> stores = new LinkedHashSet<>();
            long free = 0;
            for (Directory d : directories) {
                Path p = d.path;
                while (p != null && !Files.exists(p)) {
                    p = p.getParent();
                }
                try {
                    FileStore fs = Files.getFileStore(p);
                    if (stores.add(fs)) {
                        free += fs.getUsableSpace();
                    }
                } catch (IOException e) {
                    throw new UncheckedIOException("reading the free space under " + d.path + " for the default "
                            + "temporary directory size limit failed", e);
                }
            }
            sizeLimit = (long) (free * DEFAULT_LIMIT_SHARE);
            limitResolved = true;
        }
        return sizeLimit;
    }

    /**
     * Changes the size limit ({@link #SIZE_UNLIMITED} for none).
     * @throws TemporaryDirectoryLimitException if the usage is already above it; the limit stays
     */
    public synchronized void setSizeLimit(long bytes) {
        if (bytes < 0) {
            throw new IllegalArgumentException("temporary directory size limit " + bytes + " is negative");
        }
        long old = sizeLimit();
        sizeLimit = bytes;
        limitResolved = true;
        long u = used.get();
        if (u > bytes) {
            sizeLimit = old;
            throw new TemporaryDirectoryLimitException("cannot lower the temporary directory size limit to " + bytes
                    + " bytes: " + u + " bytes are in use in " + directories() + "; the limit stays " + old
                    + " (free spilled buffers, or read them back, first)", old, u, 0);
        }
        if (u + retainedBytes.get() > bytes) {
            // kept files count against the limit too (class comment): they give way now, as to a charge
            for (Directory d : directories) {
                for (SizeClass sc : d.classes) {
                    sc.releaseRetained();
                }
            }
        }
    }

    /** Bytes charged against the limit now. */
    public long usedBytes() {
        return used.get();
    }

    /**
     * Bytes on disk of emptied files kept for reuse, and of a reused one past its highest slot in
     * use. Not in {@link #usedBytes}, but they count against the size limit with it until a spill
     * needs their room.
     */
    public long retainedBytes() {
        return retainedBytes.get();
    }

    /** Blocks on disk now. */
    public long blockCount() {
        return blocks.get();
    }

    /** Raw bytes given to {@link #write} so far, and what they took on disk: the saving of compression. */
    public long rawBytesWritten() {
        return rawBytesWritten.get();
    }

    public long storedBytesWritten() {
        return storedBytesWritten.get();
    }

    /** The most bytes charged at once so far. */
    public long peakUsedBytes() {
        return peakUsed.get();
    }

    /** Temporary files open now (size-class files and files of their own). */
    public int openFiles() {
        return openFiles.get();
    }

    /** The most temporary files open at once so far. */
    public int peakOpenFiles() {
        return peakOpenFiles.get();
    }

    private void fileOpened() {
        peakOpenFiles.accumulateAndGet(openFiles.incrementAndGet(), Math::max);
    }

    /** How the level is chosen now, with the adaptive cost estimates. */
    public String compressionState() {
        return chooser.describe();
    }

    // ---------------------------------------------------------------- introspection and checks

    /** Every temporary file of this manager, like {@code duckdb_temporary_files()}. */
    public List<TempFileInfo> temporaryFiles() {
        List<TempFileInfo> out = new ArrayList<>();
        for (Directory d : directories) {
            for (SizeClass sc : d.classes) {
                sc.lock.lock();
                try {
                    for (SlotAllocator.FileSlots fs : sc.slots.files()) {
                        IoFile f = sc.files.get(fs.fileIndex);
                        out.add(new TempFileInfo(f.path(), sc.slotSize, fs.inUse, fs.capacity, sizeOf(f)));
                    }
                } finally {
                    sc.lock.unlock();
                }
            }
            for (IoFile f : d.ownFiles.values()) {
                out.add(new TempFileInfo(f.path(), 0, 1, 1, sizeOf(f)));
            }
        }
        return out;
    }

    private static long sizeOf(IoFile f) {
        try {
            return f.size();
        } catch (ClosedException e) {
            return 0; // released meanwhile
        }
    }

    /** Internal consistency: one message per problem, empty when all is well (tests call it). */
    public List<String> checkInvariants() {
        List<String> problems = new ArrayList<>();
        long charged = 0;
        long kept = 0;
        int fileCount = 0;
        for (Directory d : directories) {
            fileCount += d.ownFiles.size();
            for (SizeClass sc : d.classes) {
                sc.lock.lock();
                try {
                    for (String p : sc.slots.check(true)) {
                        problems.add(d.path + " class " + sc.slotSize / 1024 + " KiB: " + p);
                    }
                    Set<Integer> indexes = new HashSet<>();
                    for (SlotAllocator.FileSlots fs : sc.slots.files()) {
                        indexes.add(fs.fileIndex);
                        IoFile f = sc.files.get(fs.fileIndex);
                        if (f == null || !f.isOpen()) {
                            problems.add("file index " + fs.fileIndex + " of class " + sc.slotSize / 1024
                                    + " KiB has slots in use but no open file");
                        } else if (f.size() < (long) fs.extentSlots() * sc.slotSize - sc.slotSize) {
                            problems.add(f.path() + " is " + f.size() + " bytes, shorter than its slots in use");
                        }
                    }
                    if (!indexes.equals(sc.files.keySet())) {
                        problems.add("class " + sc.slotSize / 1024 + " KiB: open files " + sc.files.keySet()
                                + " but bookkeeping has " + indexes);
                    }
                    for (SlotAllocator.FileSlots fs : sc.slots.files()) {
                        // an empty file must be the one kept, so a second empty file is reported too
                        if ((fs.inUse == 0) != (fs.fileIndex == sc.keptIndex)) {
                            problems.add("file index " + fs.fileIndex + " of class " + sc.slotSize / 1024 + " KiB has "
                                    + fs.inUse + " slots in use but is " + (fs.fileIndex == sc.keptIndex ? "" : "not ")
                                    + "kept as an empty file");
                        }
                    }
                    if ((sc.keptIndex == NONE_KEPT) != (sc.keptBytes == 0)) {
                        problems.add("class " + sc.slotSize / 1024 + " KiB keeps file index " + sc.keptIndex + " holding "
                                + sc.keptBytes + " bytes");
                    }
                    if (sc.tailIndex != NONE_KEPT || sc.tailBytes != 0) {
                        SlotAllocator.FileSlots fs = sc.slots.file(sc.tailIndex);
                        long expected = fs == null || fs.inUse == 0 ? -1
                                : Math.max(0, sc.tailEnd - (long) fs.extentSlots() * sc.slotSize);
                        if (expected <= 0 || expected != sc.tailBytes || sc.keptIndex != NONE_KEPT) {
                            problems.add("class " + sc.slotSize / 1024 + " KiB counts " + sc.tailBytes + " bytes of "
                                    + "reused file index " + sc.tailIndex + " (" + sc.tailEnd + " bytes long) past its "
                                    + "slots in use, expected " + expected + ", keeping file index " + sc.keptIndex);
                        }
                    }
                    kept += sc.keptBytes + sc.tailBytes;
                    charged += sc.slots.slotsInUse() * sc.slotSize;
                    fileCount += sc.files.size();
                } finally {
                    sc.lock.unlock();
                }
            }
            for (IoFile f : d.ownFiles.values()) {
                charged += f.size();
            }
        }
        if (fileCount != openFiles.get()) {
            problems.add(fileCount + " temporary files are open but the counter says " + openFiles.get());
        }
        if (kept != retainedBytes.get()) {
            problems.add("files kept for reuse hold " + kept + " bytes but the counter says " + retainedBytes.get());
        }
        if (retainedBytes.get() > emptyFileRetention) {
            problems.add("empty files kept hold " + retainedBytes.get() + " bytes, over the retention of "
                    + emptyFileRetention);
        }
        if (charged != used.get()) {
            problems.add("charged " + used.get() + " bytes but slots and files in use add up to " + charged);
        }
        return problems;
    }

    // ---------------------------------------------------------------- directories

    private Directory nextDirectory() {
        return directories.get(Math.floorMod(stripe.getAndIncrement(), directories.size()));
    }

    private void prepare(Directory d) {
        if (!d.ready) { // prepareSlow decides under the lock
            prepareSlow(d);
        }
    }

    private synchronized void prepareSlow(Directory d) {
        if (d.ready) {
            return;
        }
        ensureOpen("spill write");
        Path p = d.path;
        try {
            if (Files.isSymbolicLink(p)) {
                throw new SpillwayException("temporary directory " + p + " is a symbolic link; Spillway refuses one "
                        + "(spilled data must land where it was told): give the real path");
            }
            if (Files.exists(p, LinkOption.NOFOLLOW_LINKS)) {
                if (!Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                    throw new SpillwayException("temporary directory " + p + " exists but is not a directory");
                }
            } else {
                if (p.getParent() != null) {
                    Files.createDirectories(p.getParent());
                }
                try {
                    Files.createDirectory(p, PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rwx------")));
                    d.createdByUs = true;
                    Files.setPosixFilePermissions(p, PosixFilePermissions.fromString("rwx------")); // despite umask
                } catch (FileAlreadyExistsException e) {
                    if (Files.isSymbolicLink(p) || !Files.isDirectory(p, LinkOption.NOFOLLOW_LINKS)) {
                        throw new SpillwayException("temporary directory " + p + " appeared as a link or a file while "
                                + "being created");
                    }
                }
            }
            checkTrusted(p);
            Path owner = p.resolve("spillway-" + ownerId + ".owner");
            FileChannel ch = FileChannel.open(owner, Set.<OpenOption>of(StandardOpenOption.CREATE_NEW, StandardOpenOption.READ,
                    StandardOpenOption.WRITE, LinkOption.NOFOLLOW_LINKS),
                    PosixFilePermissions.asFileAttribute(PosixFilePermissions.fromString("rw-------")));
            try {
                if (ch.tryLock() == null) {
                    throw new SpillwayException("locking the new owner record " + owner + " failed");
                }
                String start = ProcessHandle.current().info().startInstant().map(Instant::toString).orElse("unknown");
                ch.write(ByteBuffer.wrap(("pid=" + ProcessHandle.current().pid() + "\nstart=" + start + "\nowner="
                        + ownerId + "\n").getBytes(StandardCharsets.UTF_8)));
            } catch (IOException | RuntimeException e) {
                ch.close();
                Files.deleteIfExists(owner);
                throw e;
            }
            d.ownerChannel = ch;
            d.ownerFile = owner;
            removeStaleFiles(p);
        } catch (IOException e) {
            throw new SpillwayException("preparing temporary directory " + p + " failed: " + e, e);
        }
        d.ready = true;
    }

    /** The directory rule of the class comment: owned by us or root; writable by others only if sticky. */
    private static void checkTrusted(Path p) {
        String why = untrustedReason(p);
        if (why != null) {
            throw new SpillwayException("temporary directory " + p + " " + why);
        }
    }

    /** Why a directory breaks the rule, or null; a directory that cannot be read is left to the caller's next step. */
    private static String untrustedReason(Path p) {
        int mode;
        String owner;
        try {
            mode = (Integer) Files.getAttribute(p, "unix:mode", LinkOption.NOFOLLOW_LINKS);
            owner = Files.getOwner(p, LinkOption.NOFOLLOW_LINKS).getName();
        } catch (UnsupportedOperationException | IllegalArgumentException e) {
            return null; // no unix attributes here: the link rule and O_EXCL | O_NOFOLLOW still hold
        } catch (IOException e) {
            return "cannot be inspected (" + e + ")";
        }
        String me = System.getProperty("user.name");
        if (!owner.equals(me) && !owner.equals("root")) {
            return "is owned by " + owner + ", not by " + me + " (the user running Spillway) or root; Spillway refuses "
                    + "to spill into another user's directory: remove it or give another temporary directory";
        }
        if ((mode & 0022) != 0 && (mode & 01000) == 0) {
            return String.format("is writable by other users (mode %04o) without the sticky bit, so they could remove "
                    + "or replace spilled files; Spillway refuses it: chmod go-w (or +t) it, or give another temporary "
                    + "directory", mode & 07777);
        }
        return null;
    }

    /** Removes the files of owners that are no longer alive, and temp files whose owner record is gone. */
    private void removeStaleFiles(Path dir) {
        Set<String> owners = new HashSet<>();
        Map<String, List<Path>> tempsByOwner = new HashMap<>();
        try (DirectoryStream<Path> ds = Files.newDirectoryStream(dir)) {
            for (Path f : ds) {
                String name = f.getFileName().toString();
                Matcher m = OWNER_FILE.matcher(name);
                if (m.matches()) {
                    owners.add(m.group(1));
                    continue;
                }
                m = TEMP_FILE.matcher(name);
                if (m.matches()) {
                    tempsByOwner.computeIfAbsent(m.group(1), k -> new ArrayList<>()).add(f);
                }
            }
        } catch (IOException e) {
            LOG.log(Level.WARNING, "listing " + dir + " for stale temporary files failed: " + e);
            return;
        }
        for (String owner : owners) {
            if (!owner.equals(ownerId) && !ownerAlive(dir.resolve("spillway-" + owner + ".owner"), owner)) {
                for (Path f : tempsByOwner.getOrDefault(owner, List.of())) {
                    deleteQuietly(f);
                }
                deleteQuietly(dir.resolve("spillway-" + owner + ".owner"));
                LOG.log(Level.INFO, "removed the temporary files of dead owner " + owner + " from " + dir);
            }
        }
        for (Map.Entry<String, List<Path>> e : tempsByOwner.entrySet()) {
            // the record is created before any temp file and deleted after them all: no record, no owner
            if (!owners.contains(e.getKey()) && !LIVE_OWNERS.contains(e.getKey())) {
                e.getValue().forEach(TemporaryFileManager::deleteQuietly);
            }
        }
    }

    /** Whether the owner of a record is alive: in this JVM by registry, elsewhere by its file lock. */
    private static boolean ownerAlive(Path record, String owner) {
        if (LIVE_OWNERS.contains(owner)) {
            return true;
        }
        long pid = Long.parseLong(owner.substring(0, owner.indexOf('-')));
        if (pid == ProcessHandle.current().pid()) {
            return false; // ours by pid, not registered: a manager of this JVM that did not clean up
        }
        try (FileChannel ch = FileChannel.open(record, StandardOpenOption.READ, StandardOpenOption.WRITE,
                LinkOption.NOFOLLOW_LINKS)) {
            FileLock l = ch.tryLock();
            if (l == null) {
                return true; // another process holds it
            }
            l.release();
            return false;
        } catch (OverlappingFileLockException e) {
            return true; // another manager of this JVM is probing it right now
        } catch (NoSuchFileException e) {
            return false;
        } catch (IOException e) {
            return true; // cannot tell: keep its files
        }
    }

    /** Deletes a file this manager created; one that stays is remembered for {@code SizeClass.openNew}. */
    private void deleteOwn(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            undeleted.add(p);
            LOG.log(Level.WARNING, "deleting temporary file " + p + " failed: " + e);
        }
    }

    /**
     * Closes a temporary file whose contents are no longer needed (read back, freed, or never
     * accepted). close(2) can report an error (EIO on NFS or FUSE) but releases the descriptor all
     * the same, and an error it reports can only concern data being thrown away; so it is logged,
     * not thrown, and the caller's bookkeeping (file counted closed, deleted, slot freed) goes on as
     * after a good close. Thrown, it used to stop that bookkeeping halfway: the slot freed but the
     * file neither deleted nor remembered, so the class's next file failed with EEXIST for good.
     */
    private static void closeDiscarded(IoFile f) {
        try {
            f.close();
        } catch (RuntimeException e) {
            LOG.log(Level.WARNING, "closing temporary file " + f.path() + " failed; its contents were no longer "
                    + "needed and it is deleted all the same: " + e.getMessage());
        }
    }

    private static void deleteQuietly(Path p) {
        try {
            Files.deleteIfExists(p);
        } catch (IOException e) {
            LOG.log(Level.WARNING, "deleting temporary file " + p + " failed: " + e);
        }
    }

    // ---------------------------------------------------------------- workers

    private Worker acquireWorker() {
        Worker w = idleWorkers.pollFirst();
        if (w != null) {
            idleWorkerCount.decrementAndGet();
            return w;
        }
        return new Worker(backend);
    }

    private void releaseWorker(Worker w) {
        if (closed || idleWorkerCount.incrementAndGet() > MAX_IDLE_WORKERS) {
            if (!closed) {
                idleWorkerCount.decrementAndGet();
            }
            w.close();
            return;
        }
        idleWorkers.addFirst(w);
        if (closed) {
            drainWorkers(); // close() ran meanwhile
        }
    }

    private void drainWorkers() {
        for (Worker w; (w = idleWorkers.pollFirst()) != null;) {
            w.close();
        }
    }

    // ---------------------------------------------------------------- close

    private void ensureOpen(String op) {
        if (closed) {
            throw new ClosedException(op + ": the temporary file manager is closed");
        }
    }

    public boolean isOpen() {
        return !closed;
    }

    /**
     * Deletes every file of this manager (blocks still on disk are lost), its owner records, and each
     * directory it created; a directory it did not create keeps everything else in it.
     */
    @Override
    public synchronized void close() {
        if (closed) {
            return;
        }
        closed = true;
        drainWorkers();
        for (Directory d : directories) {
            for (SizeClass sc : d.classes) {
                sc.lock.lock();
                try {
                    for (IoFile f : sc.files.values()) {
                        closeDiscarded(f);
                        deleteQuietly(f.path());
                        openFiles.decrementAndGet();
                    }
                    sc.files.clear();
                    if (sc.keptIndex != NONE_KEPT) {
                        sc.slots.removeEmpty(sc.keptIndex); // deleted above: the bookkeeping forgets it too
                        sc.keptIndex = NONE_KEPT;
                        sc.keptBytes = 0;
                    }
                    sc.tailIndex = NONE_KEPT;
                    sc.tailEnd = 0;
                    sc.tailBytes = 0;
                } finally {
                    sc.lock.unlock();
                }
            }
            for (IoFile f : d.ownFiles.values()) {
                closeDiscarded(f);
                deleteQuietly(f.path());
                openFiles.decrementAndGet();
            }
            d.ownFiles.clear();
            if (d.ownerChannel != null) {
                deleteQuietly(d.ownerFile); // delete before unlocking: no one sees an unlocked record of ours
                try {
                    d.ownerChannel.close();
                } catch (IOException e) {
                    LOG.log(Level.WARNING, "closing owner record " + d.ownerFile + " failed: " + e);
                }
            }
            if (d.createdByUs) {
                try {
                    Files.deleteIfExists(d.path);
                } catch (IOException e) {
                    LOG.log(Level.INFO, "temporary directory " + d.path + " was created by Spillway but is not empty "
                            + "(someone else's files are in it); left in place: " + e);
                }
            }
        }
        retainedBytes.set(0);
        LIVE_OWNERS.remove(ownerId);
    }
}
