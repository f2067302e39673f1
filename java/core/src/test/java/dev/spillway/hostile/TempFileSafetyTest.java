package dev.spillway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertFalse;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.SpillwayException;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.spill.SpillCompression;
import dev.spillway.spill.TemporaryFileManager;
import java.nio.channels.FileChannel;
import java.nio.channels.FileLock;
import java.nio.file.Files;
import java.nio.file.LinkOption;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.nio.file.attribute.PosixFilePermission;
import java.nio.file.attribute.PosixFilePermissions;
import java.util.List;
import java.util.Set;
import java.util.stream.Stream;
import org.junit.jupiter.api.Assumptions;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * What the temporary file manager does to the file system, through every backend: directories it
 * creates are 0700 and files 0600 whatever the umask; it creates files exclusively and follows no
 * symbolic link planted where a file of its will be; it refuses a temporary directory that is a
 * symbolic link, or that another user owns or could tamper with (documented in
 * TemporaryFileManager's "Directories"); and it deletes only what it created and what dead owners
 * left behind: a user's files, and the files of a live owner, survive.
 */
class TempFileSafetyTest {
    static final int BLOCK = TemporaryFileManager.BLOCK_SIZE;
    static final Set<PosixFilePermission> DIR_0700 = PosixFilePermissions.fromString("rwx------");
    static final Set<PosixFilePermission> FILE_0600 = PosixFilePermissions.fromString("rw-------");

    @TempDir
    Path tmp;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    private static TemporaryFileManager manager(IoBackend b, Path dir) {
        return new TemporaryFileManager(b, new TemporaryFileManager.Config(List.of(dir),
                TemporaryFileManager.SIZE_UNLIMITED, SpillCompression.none()));
    }

    /** The raw class's file of index 0: where the first raw 256 KiB block of a manager goes. */
    private static Path firstRawFile(TemporaryFileManager m, Path dir) {
        return dir.resolve("spillway-" + m.ownerId() + "-c" + TemporaryFileManager.RAW_SLOT / 1024 + "k-0.tmp");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void createdDirectoriesAre0700AndFiles0600(IoBackend b) throws Exception {
        Path dir = tmp.resolve("a/b/spill");
        try (TemporaryFileManager m = manager(b, dir); AlignedBuffer src = b.allocate(BLOCK)) {
            m.write(src.buffer(), 0, BLOCK);
            m.write(src.buffer(), 0, 8192); // a file of its own
            assertEquals(DIR_0700, Files.getPosixFilePermissions(dir, LinkOption.NOFOLLOW_LINKS));
            try (Stream<Path> s = Files.list(dir)) {
                List<Path> files = s.toList();
                assertEquals(3, files.size(), files.toString()); // owner record, class file, own file
                for (Path f : files) {
                    assertEquals(FILE_0600, Files.getPosixFilePermissions(f, LinkOption.NOFOLLOW_LINKS), f.toString());
                }
            }
        }
        assertFalse(Files.exists(dir), "the directory it created is removed on close");
        assertTrue(Files.isDirectory(tmp.resolve("a/b")), "parents it created stay (they may be shared)");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aFileAtATempFilePathIsNeverOverwritten(IoBackend b) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("t"), PosixFilePermissions.asFileAttribute(DIR_0700));
        try (TemporaryFileManager m = manager(b, dir); AlignedBuffer src = b.allocate(BLOCK)) {
            Path planted = Files.writeString(firstRawFile(m, dir), "someone's data");
            SpillwayException e = assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, BLOCK));
            assertTrue(e.getMessage().contains(planted.toString()), e.getMessage());
            assertEquals("someone's data", Files.readString(planted));
            assertEquals(0, m.usedBytes());
            assertTrue(m.checkInvariants().isEmpty(), m.checkInvariants().toString());
        }
        assertTrue(Files.exists(firstRawFileName(dir)), "the planted file survives close");
    }

    private static Path firstRawFileName(Path dir) throws Exception {
        try (Stream<Path> s = Files.list(dir)) {
            return s.filter(p -> p.getFileName().toString().endsWith("-0.tmp")).findFirst().orElseThrow();
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void symbolicLinksPlantedWhereFilesWillBeAreNotFollowed(IoBackend b) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("t"), PosixFilePermissions.asFileAttribute(DIR_0700));
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "precious");
        Path nowhere = tmp.resolve("created-through-a-link");
        try (TemporaryFileManager m = manager(b, dir); AlignedBuffer src = b.allocate(BLOCK)) {
            Path classFile = Files.createSymbolicLink(firstRawFile(m, dir), victim);
            Path ownFile = Files.createSymbolicLink(dir.resolve("spillway-" + m.ownerId() + "-b1.tmp"), nowhere);
            assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, BLOCK));
            assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, 8192));
            assertEquals("precious", Files.readString(victim), "the link's target is untouched");
            assertFalse(Files.exists(nowhere, LinkOption.NOFOLLOW_LINKS), "nothing was created through a dangling link");
            assertTrue(Files.isSymbolicLink(classFile) && Files.isSymbolicLink(ownFile));
            assertEquals(0, m.usedBytes());
        }
        assertEquals("precious", Files.readString(victim), "close did not delete through the link either");
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aSymbolicLinkAtTheOwnerRecordIsNotFollowed(IoBackend b) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("t"), PosixFilePermissions.asFileAttribute(DIR_0700));
        Path victim = Files.writeString(tmp.resolve("victim.txt"), "precious");
        try (TemporaryFileManager m = manager(b, dir); AlignedBuffer src = b.allocate(BLOCK)) {
            Files.createSymbolicLink(dir.resolve("spillway-" + m.ownerId() + ".owner"), victim);
            assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, BLOCK));
            assertEquals("precious", Files.readString(victim));
        }
        assertEquals("precious", Files.readString(victim));
        assertTrue(Files.exists(victim));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aTemporaryDirectoryThatIsASymbolicLinkIsRefusedItsParentsMayBe(IoBackend b) throws Exception {
        Path real = Files.createDirectory(tmp.resolve("real"), PosixFilePermissions.asFileAttribute(DIR_0700));
        Path link = Files.createSymbolicLink(tmp.resolve("link"), real);
        try (TemporaryFileManager m = manager(b, link); AlignedBuffer src = b.allocate(BLOCK)) {
            SpillwayException e = assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, BLOCK));
            assertTrue(e.getMessage().contains("symbolic link"), e.getMessage());
        }
        try (Stream<Path> s = Files.list(real)) {
            assertEquals(0, s.count(), "nothing was written through the link");
        }
        Path parentLink = Files.createSymbolicLink(tmp.resolve("parent-link"), real);
        try (TemporaryFileManager m = manager(b, parentLink.resolve("spill")); AlignedBuffer src = b.allocate(BLOCK)) {
            m.write(src.buffer(), 0, BLOCK); // a link above the directory is the user's choice
            assertTrue(Files.isDirectory(real.resolve("spill")));
        }
    }

    @ParameterizedTest
    @MethodSource("backends")
    void aDirectoryOthersCouldTamperWithIsRefused(IoBackend b) throws Exception {
        Path open = Files.createDirectory(tmp.resolve("world-writable"));
        Files.setPosixFilePermissions(open, PosixFilePermissions.fromString("rwxrwxrwx"));
        Path deadLookalike = Files.writeString(open.resolve("spillway-4194002-deadbeef-c64k-0.tmp"), "not ours to judge");
        try (TemporaryFileManager m = manager(b, open); AlignedBuffer src = b.allocate(BLOCK)) {
            SpillwayException e = assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, BLOCK));
            assertTrue(e.getMessage().contains("writable by other users"), e.getMessage());
        }
        assertTrue(Files.exists(deadLookalike), "no start-up clean-up in a directory it refuses");
        Path sticky = Files.createDirectory(tmp.resolve("sticky"));
        Files.setAttribute(sticky, "unix:mode", 01777); // like /tmp: others cannot remove or rename our files
        try (TemporaryFileManager m = manager(b, sticky); AlignedBuffer src = b.allocate(BLOCK)) {
            m.write(src.buffer(), 0, BLOCK);
        }
        Assumptions.assumeTrue(isRoot(), "giving a directory to another user needs root");
        Path foreign = Files.createDirectory(tmp.resolve("foreign"), PosixFilePermissions.asFileAttribute(DIR_0700));
        Files.setAttribute(foreign, "unix:uid", 65534);
        try (TemporaryFileManager m = manager(b, foreign); AlignedBuffer src = b.allocate(BLOCK)) {
            SpillwayException e = assertThrows(SpillwayException.class, () -> m.write(src.buffer(), 0, BLOCK));
            assertTrue(e.getMessage().contains("is owned by"), e.getMessage());
        }
        try (Stream<Path> s = Files.list(foreign)) {
            assertEquals(0, s.count(), "nothing was written into the other user's directory");
        }
    }

    private static boolean isRoot() {
        return "root".equals(System.getProperty("user.name"));
    }

    @ParameterizedTest
    @MethodSource("backends")
    void onlyItsOwnFilesAndThoseOfDeadOwnersAreDeleted(IoBackend b) throws Exception {
        Path dir = Files.createDirectory(tmp.resolve("shared"), PosixFilePermissions.asFileAttribute(DIR_0700));
        Path user = Files.writeString(dir.resolve("important.txt"), "keep");
        Path userLookalike = Files.writeString(dir.resolve("spillway-notes.tmp"), "keep too");
        String liveOwner = "4194000-0badcafe"; // another process, alive: its record is locked
        Path liveRecord = Files.writeString(dir.resolve("spillway-" + liveOwner + ".owner"), "pid=4194000\n");
        Path liveFile = Files.writeString(dir.resolve("spillway-" + liveOwner + "-c64k-0.tmp"), "live data");
        Path liveOwn = Files.writeString(dir.resolve("spillway-" + liveOwner + "-b3.tmp"), "live data");
        String deadOwner = "4194001-deadbeef";
        Path deadRecord = Files.writeString(dir.resolve("spillway-" + deadOwner + ".owner"), "pid=4194001\n");
        Path deadFile = Files.writeString(dir.resolve("spillway-" + deadOwner + "-c260k-1.tmp"), "stale");
        try (FileChannel ch = FileChannel.open(liveRecord, StandardOpenOption.WRITE); FileLock lock = ch.lock()) {
            try (TemporaryFileManager m = manager(b, dir); AlignedBuffer src = b.allocate(BLOCK)) {
                assertFalse(Files.exists(deadFile), "a dead owner's file is removed at start");
                assertFalse(Files.exists(deadRecord), "and its record");
                TemporaryFileManager.Block blk = m.write(src.buffer(), 0, BLOCK);
                assertTrue(Files.exists(blk.path()));
                try (TemporaryFileManager second = manager(b, dir)) {
                    second.write(src.buffer(), 0, BLOCK); // a second manager starting beside a live one
                    assertTrue(Files.exists(blk.path()), "a live manager's files survive another's start-up");
                }
                assertTrue(Files.exists(blk.path()), "and its close");
            }
            for (Path p : new Path[] {user, userLookalike, liveRecord, liveFile, liveOwn}) {
                assertTrue(Files.exists(p), p + " must survive");
            }
            assertEquals("live data", Files.readString(liveFile));
            try (Stream<Path> s = Files.list(dir)) {
                assertEquals(5, s.count(), "only what the managers created is gone");
            }
        }
        assertTrue(Files.isDirectory(dir), "a directory it did not create stays");
    }
}
