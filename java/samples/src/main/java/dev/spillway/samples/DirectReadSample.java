package dev.spillway.samples;

import static java.lang.foreign.ValueLayout.ADDRESS;
import static java.lang.foreign.ValueLayout.JAVA_INT;
import static java.lang.foreign.ValueLayout.JAVA_LONG;

import java.lang.foreign.Arena;
import java.lang.foreign.FunctionDescriptor;
import java.lang.foreign.Linker;
import java.lang.foreign.MemoryLayout;
import java.lang.foreign.MemorySegment;
import java.lang.foreign.StructLayout;
import java.lang.invoke.MethodHandle;
import java.lang.invoke.VarHandle;
import java.nio.file.Files;
import java.nio.file.Path;

/**
 * Sample 1: call the C core directly through FFM. Opens a file with O_DIRECT ({@code spw_open}),
 * reads pages with {@code spw_pread} into a 4096-aligned {@link MemorySegment}, and reports errors
 * the core's way (a negative return value is -errno) and libc's way (errno, captured with
 * {@code Linker.Option.captureCallState("errno")}, since the JVM may clobber errno after the call).
 *
 * <pre>
 * java --enable-native-access=ALL-UNNAMED -cp &lt;samples + spillway-core&gt; dev.spillway.samples.DirectReadSample [FILE]
 * </pre>
 * Without FILE it writes a 16-page file of its own in a temp directory and checks what it reads.
 */
public final class DirectReadSample {
    static final int PAGE = 4096;
    static final int SPW_O_RDONLY = 0x01, SPW_O_DIRECT = 0x08; // spillway.h

    // int spw_open(const char *path, int flags, int mode, int *out_direct)
    static final MethodHandle SPW_OPEN = CoreLibrary.spw("spw_open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT, ADDRESS));
    // int64_t spw_pread(int fd, void *buf, int64_t len, int64_t off): bytes read, or -errno
    static final MethodHandle SPW_PREAD = CoreLibrary.spw("spw_pread",
            FunctionDescriptor.of(JAVA_LONG, JAVA_INT, ADDRESS, JAVA_LONG, JAVA_LONG));
    static final MethodHandle SPW_CLOSE = CoreLibrary.spw("spw_close", FunctionDescriptor.of(JAVA_INT, JAVA_INT));

    // libc's open(2) reports failure as -1 and leaves the reason in errno: capture it in the call itself,
    // because the JVM may run code (and change errno) between the return and our next Java statement.
    // open is variadic (int open(const char *, int, ...)): the mode is its first variadic argument.
    static final StructLayout CAPTURED = Linker.Option.captureStateLayout();
    static final VarHandle ERRNO = CAPTURED.varHandle(MemoryLayout.PathElement.groupElement("errno"));
    static final MethodHandle LIBC_OPEN = CoreLibrary.libc("open",
            FunctionDescriptor.of(JAVA_INT, ADDRESS, JAVA_INT, JAVA_INT),
            Linker.Option.firstVariadicArg(2), Linker.Option.captureCallState("errno"));

    private DirectReadSample() {
    }

    public static void main(String[] args) throws Throwable {
        Path file;
        byte[] expected = null;
        if (args.length > 0) {
            file = Path.of(args[0]);
        } else {
            file = Files.createTempDirectory("spillway-sample").resolve("pages.dat");
            expected = new byte[16 * PAGE];
            for (int i = 0; i < expected.length; i++) {
                expected[i] = (byte) (i / PAGE + 1); // page n is full of the byte n + 1
            }
            Files.write(file, expected);
        }

        try (Arena arena = Arena.ofConfined()) { // everything below is freed when the arena closes
            MemorySegment path = arena.allocateFrom(file.toString());
            MemorySegment outDirect = arena.allocate(JAVA_INT);
            int fd = (int) SPW_OPEN.invokeExact(path, SPW_O_RDONLY | SPW_O_DIRECT, 0, outDirect);
            if (fd < 0) {
                throw new IllegalStateException("spw_open " + file + ": errno " + -fd + " (" + CoreLibrary.strerror(fd) + ")");
            }
            System.out.println("opened " + file + " fd " + fd + (outDirect.get(JAVA_INT, 0) == 1
                    ? " with O_DIRECT" : " without O_DIRECT (the file system refused it)"));

            // O_DIRECT needs memory, offset and length aligned to the block size: ask the arena for it
            MemorySegment pages = arena.allocate(4L * PAGE, PAGE);
            try {
                for (long off = 0; ; off += pages.byteSize()) {
                    long n = (long) SPW_PREAD.invokeExact(fd, pages, pages.byteSize(), off);
                    if (n < 0) {
                        throw new IllegalStateException("spw_pread: errno " + -n + " (" + CoreLibrary.strerror(n) + ")");
                    }
                    for (long p = 0; p < n; p += PAGE) {
                        byte first = pages.get(java.lang.foreign.ValueLayout.JAVA_BYTE, p);
                        System.out.printf("page %d at offset %d: first byte %d%n", (off + p) / PAGE, off + p, first);
                        if (expected != null && first != expected[(int) (off + p)]) {
                            throw new IllegalStateException("page " + (off + p) / PAGE + " read back wrong");
                        }
                    }
                    if (n < pages.byteSize() || (expected == null && off >= 3 * pages.byteSize())) {
                        break; // end of file (or enough of someone else's file)
                    }
                }

                // The kernel refuses a misaligned O_DIRECT read; the core hands its errno back as -EINVAL.
                // (Spillway's Java API checks alignment first and throws; raw FFM reaches the kernel.)
                if (outDirect.get(JAVA_INT, 0) == 1) {
                    long r = (long) SPW_PREAD.invokeExact(fd, pages.asSlice(1), (long) PAGE, 0L);
                    System.out.println("misaligned O_DIRECT pread: returned " + r + " = -errno, errno " + -r + " ("
                            + CoreLibrary.strerror(r) + ")");
                    if (r != -22) {
                        throw new IllegalStateException("expected -EINVAL for a misaligned O_DIRECT read, got " + r);
                    }
                }
            } finally {
                int c = (int) SPW_CLOSE.invokeExact(fd);
                if (c < 0) {
                    System.out.println("spw_close: " + CoreLibrary.strerror(c));
                }
            }

            // The same failure both ways: the core returns -errno; libc returns -1 and we read captured errno.
            MemorySegment missing = arena.allocateFrom(file.resolveSibling("no-such-file").toString());
            int r = (int) SPW_OPEN.invokeExact(missing, SPW_O_RDONLY, 0, outDirect);
            MemorySegment state = arena.allocate(CAPTURED);
            int libcFd = (int) LIBC_OPEN.invokeExact(state, missing, 0, 0); // O_RDONLY, mode 0
            int errno = (int) ERRNO.get(state, 0L);
            System.out.println("open of a missing file: spw_open returned " + r + " (" + CoreLibrary.strerror(r)
                    + "); libc open returned " + libcFd + " with captured errno " + errno);
            if (r != -errno || libcFd != -1) {
                throw new IllegalStateException("the core's -errno and libc's errno disagree: " + r + " vs " + errno);
            }
        }
        if (expected != null) {
            Files.delete(file);
            Files.delete(file.getParent());
        }
    }
}
