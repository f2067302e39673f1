package dev.spillway.io;

import java.nio.ByteBuffer;

/** Argument checks done in Java before anything reaches native code. */
final class Checks {
    private Checks() {
    }

    static void range(String op, ByteBuffer buf, int offset, int length) {
        if (buf == null) {
            throw new NullPointerException(op + ": buffer is null");
        }
        if (!buf.isDirect()) {
            throw new IllegalArgumentException(op + ": buffer must be a direct ByteBuffer");
        }
        if (offset < 0 || length < 0 || (long) offset + length > buf.capacity()) {
            throw new IndexOutOfBoundsException(op + ": range [" + offset + ", +" + length
                    + ") outside buffer of capacity " + buf.capacity());
        }
    }

    static void writable(String op, ByteBuffer buf) {
        if (buf.isReadOnly()) {
            throw new IllegalArgumentException(op + ": buffer is read-only");
        }
    }

    static void fileRange(String op, IoFile f, long offset, long length) {
        if (offset < 0 || length < 0 || offset + length < 0) {
            throw new IllegalArgumentException(op + " on " + f.path() + ": negative or overflowing range (offset "
                    + offset + ", length " + length + ")");
        }
    }

    /** O_DIRECT transfers need aligned memory, offset and length. */
    static void directAlignment(String op, IoFile f, ByteBuffer buf, int bufOffset, int length, long fileOffset) {
        if (!f.isDirect()) {
            return;
        }
        int a = IoBackend.ALIGNMENT;
        if (buf.alignmentOffset(bufOffset, a) != 0 || length % a != 0 || fileOffset % a != 0) {
            throw new IllegalArgumentException(op + " on " + f.path() + " (O_DIRECT): memory address, length " + length
                    + " and file offset " + fileOffset + " must all be multiples of " + a
                    + " (memory is " + buf.alignmentOffset(bufOffset, a) + " bytes past alignment)");
        }
    }

    static void level(IoBackend b, int level) {
        if (level != SpillFormat.LEVEL_NONE && (level < b.minLevel() || level > b.maxLevel())) {
            throw new IllegalArgumentException("zstd level " + level + " outside [" + b.minLevel() + ", "
                    + b.maxLevel() + "] (or SpillFormat.LEVEL_NONE for raw)");
        }
    }
}
