package dev.spillway.io;

import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;

/**
 * The mechanism layer: files, aligned memory, crc32c and zstd. One interface, four
 * implementations ({@link BackendKind}) that pass one conformance suite; obtain one with
 * {@link Backends#open(BackendKind)}.
 *
 * <p>Every implementation checks its arguments in Java before anything reaches native code
 * (ranges, direct buffers, O_DIRECT alignment, closed handles), so a bad argument is an
 * exception here and never a crash in C. Buffers passed in must be direct ByteBuffers; offsets
 * and lengths are absolute indices into them and do not touch position or limit.
 */
public interface IoBackend {
    /** Alignment of buffers from {@link #allocate} and of offsets and lengths on O_DIRECT files. */
    int ALIGNMENT = 4096;

    BackendKind kind();

    /** Opens or creates a file; see {@link OpenFlag}. New files get mode 0600. */
    IoFile open(Path path, Set<OpenFlag> flags);

    /** Zero-filled memory aligned to {@link #ALIGNMENT}; freed by {@link AlignedBuffer#close()}. */
    AlignedBuffer allocate(int size);

    /**
     * Makes the entries of a directory durable (fsync(2) of the directory), so that a file just
     * created in it keeps its name through a power loss: syncing the file itself does not cover
     * the directory entry. The same for every backend (Java's {@code FileChannel.force} on the
     * directory, as Lucene does); it is called once per page file created, never on a hot path.
     *
     * @throws NativeIoException if the OS refuses (operation "sync directory", the path, the OS's text)
     */
    default void syncDirectory(Path dir) {
        try (java.nio.channels.FileChannel ch = java.nio.channels.FileChannel.open(dir, java.nio.file.StandardOpenOption.READ)) {
            ch.force(true);
        } catch (java.io.IOException e) {
            throw NioBackend.error("sync directory", dir, -1, -1, e);
        }
    }

    /**
     * Zero-filled memory aligned to {@link #ALIGNMENT} for carving into many frames: where the
     * backend {@link #canDiscard() can discard}, an anonymous mapping whose pages take physical
     * memory only when first touched and can be given back one range at a time with
     * {@link #discard}; elsewhere the same as {@link #allocate}. Freed by {@link AlignedBuffer#close()}.
     */
    default AlignedBuffer map(int size) {
        return allocate(size);
    }

    /** Whether {@link #discard} can give memory of a {@link #map}ped buffer back to the OS. */
    default boolean canDiscard() {
        return false;
    }

    /**
     * Gives the physical memory under {@code [offset, offset + length)} of a buffer from
     * {@link #map} back to the OS; afterwards the range reads as zeros and takes memory again only
     * when touched. The range must lie inside the buffer; nothing else changes.
     *
     * @throws UnsupportedOperationException where {@link #canDiscard()} is false
     * @throws dev.spillway.ClosedException if the buffer is closed
     * @throws IllegalArgumentException if the buffer is not from this backend's {@link #map}
     * @throws IndexOutOfBoundsException if the range is negative or not inside the buffer
     * @throws NativeIoException if the OS refuses (operation "discard", the range, the errno text)
     */
    default void discard(AlignedBuffer buffer, int offset, int length) {
        throw new UnsupportedOperationException("discard: the " + kind().name().toLowerCase()
                + " backend cannot give memory back to the OS");
    }

    /** crc32c (Castagnoli) of {@code length} bytes of {@code data} from absolute {@code offset}. */
    int crc32c(ByteBuffer data, int offset, int length);

    /** A reusable zstd context plus the fused spill calls; one thread at a time. */
    Codec newCodec();

    /** Lowest zstd level accepted (negative levels are the fast ones). */
    int minLevel();

    /** Highest zstd level accepted. */
    int maxLevel();
}
