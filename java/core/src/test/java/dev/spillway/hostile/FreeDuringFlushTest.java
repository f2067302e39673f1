package dev.spillway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import dev.spillway.AccessIntent;
import dev.spillway.BufferManager;
import dev.spillway.PageFile;
import dev.spillway.PageHandle;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.BackendKind;
import dev.spillway.io.Backends;
import dev.spillway.io.Codec;
import dev.spillway.io.IoBackend;
import dev.spillway.io.IoFile;
import dev.spillway.io.OpenFlag;
import dev.spillway.pool.StandardBufferManager;
import java.nio.ByteBuffer;
import java.nio.file.Path;
import java.util.Set;
import java.util.concurrent.CountDownLatch;
import java.util.concurrent.FutureTask;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.concurrent.atomic.AtomicLong;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

/**
 * The race {@link BufferPoolLincheckTest} found, made deterministic: a flush is held inside the
 * write-back of a page (its write blocks on a latch) while another thread frees the page. The
 * free must wait for the write-back and then succeed; it used to fail at once with "the page is
 * in use (pins=0 writers=0)" although nobody held a pin.
 */
class FreeDuringFlushTest {
    static final int PS = 4096;

    @TempDir
    Path dir;

    @Test
    void freeingAPageWhileAFlushWritesItBackWaitsForTheWriteBack() throws Exception {
        AtomicLong gateAt = new AtomicLong(-1);
        CountDownLatch writing = new CountDownLatch(1);
        CountDownLatch release = new CountDownLatch(1);
        IoBackend gated = new GatedBackend(Backends.open(BackendKind.AUTO), gateAt, writing, release);
        StandardBufferManager m = (StandardBufferManager) BufferManager.builder().backend(gated)
                .memoryLimit(16L * PS).build();
        try {
            PageFile f = m.createPageFile(dir.resolve("f.pf"), PS);
            long p = f.allocatePage();
            try (PageHandle h = f.pin(p, AccessIntent.WRITE)) {
                h.putLong(0, 42);
            }
            gateAt.set(p * PS); // the next write of the page blocks until released
            FutureTask<Void> flush = new FutureTask<>(() -> {
                f.flush();
                return null;
            });
            new Thread(flush, "flusher").start();
            assertTrue(writing.await(10, TimeUnit.SECONDS), "the flush reached the page's write-back");
            FutureTask<Void> free = new FutureTask<>(() -> {
                f.freePage(p);
                return null;
            });
            new Thread(free, "freer").start();
            assertThrows(TimeoutException.class, () -> free.get(300, TimeUnit.MILLISECONDS),
                    "the free waits for the write-back (it must neither fail nor finish under it)");
            release.countDown();
            free.get(10, TimeUnit.SECONDS);
            flush.get(10, TimeUnit.SECONDS);
            assertEquals(1, f.freePageCount());
            IllegalArgumentException e = assertThrows(IllegalArgumentException.class, () -> f.pin(p, AccessIntent.READ));
            assertTrue(e.getMessage().contains("is free"), e.getMessage());
            m.checkInvariants();
        } finally {
            release.countDown();
            m.close();
        }
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
    }

    /** Delegates everything; the first write at the gated offset waits for {@code release}. */
    private static final class GatedBackend implements IoBackend {
        private final IoBackend real;
        private final AtomicLong gateAt;
        private final CountDownLatch writing;
        private final CountDownLatch release;

        GatedBackend(IoBackend real, AtomicLong gateAt, CountDownLatch writing, CountDownLatch release) {
            this.real = real;
            this.gateAt = gateAt;
            this.writing = writing;
            this.release = release;
        }

        @Override
        public BackendKind kind() {
            return real.kind();
        }

        @Override
        public IoFile open(Path path, Set<OpenFlag> flags) {
            IoFile f = real.open(path, flags);
            return new IoFile() {
                @Override
                public Path path() {
                    return f.path();
                }

                @Override
                public boolean isDirect() {
                    return f.isDirect();
                }

                @Override
                public boolean isReadOnly() {
                    return f.isReadOnly();
                }

                @Override
                public boolean isOpen() {
                    return f.isOpen();
                }

                @Override
                public int read(ByteBuffer dst, int dstOffset, int length, long fileOffset) {
                    return f.read(dst, dstOffset, length, fileOffset);
                }

                @Override
                public void write(ByteBuffer src, int srcOffset, int length, long fileOffset) {
                    if (gateAt.compareAndSet(fileOffset, -1)) {
                        writing.countDown();
                        try {
                            release.await(30, TimeUnit.SECONDS);
                        } catch (InterruptedException e) {
                            Thread.currentThread().interrupt();
                        }
                    }
                    f.write(src, srcOffset, length, fileOffset);
                }

                @Override
                public void sync() {
                    f.sync();
                }

                @Override
                public void allocate(long offset, long length) {
                    f.allocate(offset, length);
                }

                @Override
                public void truncate(long length) {
                    f.truncate(length);
                }

                @Override
                public boolean punchHole(long offset, long length) {
                    return f.punchHole(offset, length);
                }

                @Override
                public long size() {
                    return f.size();
                }

                @Override
                public void close() {
                    f.close();
                }
            };
        }

        @Override
        public AlignedBuffer allocate(int size) {
            return real.allocate(size);
        }

        @Override
        public AlignedBuffer map(int size) {
            return real.map(size);
        }

        @Override
        public boolean canDiscard() {
            return real.canDiscard();
        }

        @Override
        public void discard(AlignedBuffer buffer, int offset, int length) {
            real.discard(buffer, offset, length);
        }

        @Override
        public int crc32c(ByteBuffer data, int offset, int length) {
            return real.crc32c(data, offset, length);
        }

        @Override
        public Codec newCodec() {
            return real.newCodec();
        }

        @Override
        public int minLevel() {
            return real.minLevel();
        }

        @Override
        public int maxLevel() {
            return real.maxLevel();
        }
    }
}
