package dev.spillway.io;

import dev.spillway.CorruptDataException;
import java.nio.file.Path;
import java.util.Set;
import java.util.function.LongFunction;

/**
 * The C core's conventions, shared by the jni, ffm and jna backends: flag bits (spillway.h's
 * SPW_O_*), return codes (-errno or SPW_E_*) and their translation into exceptions.
 */
final class NativeCodes {
    static final int O_RDONLY = 0x01;
    static final int O_CREAT = 0x02;
    static final int O_EXCL = 0x04;
    static final int O_DIRECT = 0x08;
    static final int O_NOFOLLOW = 0x10;
    static final int O_TRUNC = 0x20;

    // SPW_E_ARG (-5001) and SPW_E_LEVEL (-5008) need no name here: Java checks those arguments first,
    // and any code without a branch below becomes an IllegalArgumentException naming it.
    static final long E_CODEC = -5002;
    static final long E_FORMAT = -5003;
    static final long E_CHECKSUM = -5004;
    static final long E_SHORT = -5005;
    static final long E_TOO_LARGE = -5006;
    static final long E_NOMEM = -5007;
    static final long E_OVERLAP = -5009;

    private NativeCodes() {
    }

    static int openFlags(Set<OpenFlag> flags) {
        int f = 0;
        for (OpenFlag o : flags) {
            switch (o) {
                case READ_ONLY -> f |= O_RDONLY;
                case CREATE -> f |= O_CREAT;
                case EXCLUSIVE -> f |= O_EXCL;
                case DIRECT -> f |= O_DIRECT;
                case NO_FOLLOW -> f |= O_NOFOLLOW;
                case TRUNCATE -> f |= O_TRUNC;
            }
        }
        return f;
    }

    static boolean isErrno(long code) {
        return code < 0 && code > -4096;
    }

    static NativeIoException ioError(String op, Path path, long offset, long length, long code,
            LongFunction<String> strerror) {
        return new NativeIoException(op, path, offset, length, isErrno(code) ? (int) -code : 0, strerror.apply(code));
    }

    static long codecResult(String op, long r, int srcLength, LongFunction<String> strerror) {
        if (r >= 0) {
            return r;
        }
        if (r == E_CODEC) {
            throw new CorruptDataException(op + " of " + srcLength + " bytes: " + strerror.apply(r));
        }
        if (r == E_TOO_LARGE) {
            throw new IllegalArgumentException(op + " of " + srcLength + " bytes: " + strerror.apply(r));
        }
        if (r == E_NOMEM) {
            throw new OutOfMemoryError(op + ": " + strerror.apply(r));
        }
        throw new IllegalArgumentException(op + ": " + strerror.apply(r) + " (code " + r + ")");
    }

    static SpillBlock spillWriteResult(IoFile file, long offset, int length, long r, LongFunction<String> strerror) {
        if (r < 0) {
            if (isErrno(r)) {
                throw ioError("spill write", file.path(), offset, length, r, strerror);
            }
            codecResult("spill write", r, length, strerror);
        }
        int payload = (int) r;
        return new SpillBlock(SpillFormat.storedSize(payload), (int) (r >>> 32), payload);
    }

    static void spillReadResult(IoFile file, long offset, int storedSize, long r, LongFunction<String> strerror) {
        if (r >= 0) {
            return;
        }
        if (isErrno(r)) {
            throw ioError("spill read", file.path(), offset, storedSize, r, strerror);
        }
        if (r == E_FORMAT || r == E_CHECKSUM || r == E_CODEC || r == E_SHORT) {
            throw AbstractCodec.corrupt(file, offset, strerror.apply(r));
        }
        codecResult("spill read", r, storedSize, strerror);
    }
}
