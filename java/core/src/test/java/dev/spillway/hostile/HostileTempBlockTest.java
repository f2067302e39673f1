package dev.spillway.hostile;

import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.spillway.BufferHandle;
import dev.spillway.CorruptDataException;
import dev.spillway.MemoryTag;
import dev.spillway.SpillwayException;
import dev.spillway.TempFileInfo;
import dev.spillway.TransientBuffer;
import dev.spillway.io.AlignedBuffer;
import dev.spillway.io.Backends;
import dev.spillway.io.IoBackend;
import dev.spillway.memory.MemoryAccountant;
import dev.spillway.spill.SpillCompression;
import dev.spillway.spill.TemporaryFileManager;
import dev.spillway.spill.TransientBufferPool;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.channels.FileChannel;
import java.nio.charset.StandardCharsets;
import java.nio.file.Path;
import java.nio.file.StandardOpenOption;
import java.util.Arrays;
import java.util.List;
import java.util.SplittableRandom;
import java.util.concurrent.ExecutionException;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import java.util.concurrent.TimeoutException;
import java.util.stream.Stream;
import java.util.zip.CRC32C;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile temporary blocks, read back through the transient buffer pool: a 256 KiB buffer is
 * spilled (zstd-compressed or raw), its block in the temporary file is mutated (magic, codec,
 * payload and raw lengths, checksum, reserved bytes, payload bytes, the file truncated), and the
 * buffer is pinned again. The pin must fail with an exception naming the file and the slot; the
 * buffer must stay spilled and reported (its file listed, the validator clean) and must still free.
 * Mutations that also forge the checksum (so the zstd decoder itself sees the damage) may read back,
 * as the crc is all that vouches for a block; they must never crash or hang.
 * {@code -Dspillway.long.tests=true} runs 20x more rounds.
 */
class HostileTempBlockTest {
    static final int SIZE = TemporaryFileManager.BLOCK_SIZE;
    static final int ROUNDS = LincheckFiles.LONG ? 1500 : 75;
    static final int[] LENGTHS = {0, 1, -1, 31, 32, 4096, SIZE - 1, SIZE + 1, Integer.MAX_VALUE, Integer.MIN_VALUE};

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void mutatedBlocksFailNamingFileAndSlotAndStaySpilled(IoBackend backend) throws Exception {
        SplittableRandom rnd = new SplittableRandom(0x7E3B ^ backend.kind().ordinal());
        MemoryAccountant acct = new MemoryAccountant(SIZE + 4096);
        int[] outcomes = new int[3]; // refused, read back intact (forged only), read back different (forged only)
        ExecutorService ex = Executors.newSingleThreadExecutor(r -> {
            Thread t = new Thread(r, "hostile-temp-block");
            t.setDaemon(true);
            return t;
        });
        try (TransientBufferPool pool = new TransientBufferPool(backend, acct, new TemporaryFileManager.Config(
                List.of(dir.resolve("t")), TemporaryFileManager.SIZE_UNLIMITED, SpillCompression.fixed(1)))) {
            for (int round = 0; round < ROUNDS; round++) {
                boolean compressible = rnd.nextInt(3) != 0;
                byte[] data = contents(rnd, compressible, round);
                TransientBuffer a;
                try (BufferHandle h = pool.allocate(MemoryTag.ORDER_BY, SIZE)) {
                    h.buffer().put(0, data);
                    a = h.transientBuffer();
                }
                TransientBuffer b;
                try (BufferHandle h = pool.allocate(MemoryTag.ORDER_BY, SIZE)) { // evicts a: spilled
                    b = h.transientBuffer();
                }
                assertEquals(TransientBuffer.State.SPILLED, a.state());
                // a's file; an emptied file of an earlier round may be kept for reuse beside it
                List<TempFileInfo> files = pool.temporaryFiles().stream().filter(t -> t.slotsInUse() > 0)
                        .collect(java.util.stream.Collectors.toList());
                assertEquals(1, files.size(), pool.temporaryFiles().toString());
                Path file = files.get(0).path();
                String what = mutate(file, rnd);
                boolean forged = what.contains("forged");
                final int r = round;
                Future<byte[]> f = ex.submit(() -> {
                    try (BufferHandle h = a.pin()) {
                        byte[] back = new byte[SIZE];
                        h.buffer().get(0, back);
                        return back;
                    }
                });
                try {
                    byte[] back = f.get(20, TimeUnit.SECONDS);
                    if (!forged) {
                        fail("round " + r + " (" + what + "): a damaged block was read back without an error");
                    }
                    outcomes[Arrays.equals(data, back) ? 1 : 2]++;
                } catch (TimeoutException e) {
                    fail("round " + r + " (" + what + "): pinning did not finish in 20 s");
                } catch (ExecutionException e) {
                    Throwable c = e.getCause();
                    if (!(c instanceof SpillwayException)) {
                        throw new AssertionError("round " + r + " (" + what + "): " + c, c);
                    }
                    if (!what.contains("truncated") && !(c instanceof CorruptDataException)) {
                        throw new AssertionError("round " + r + " (" + what + "): not a CorruptDataException: " + c, c);
                    }
                    String msg = c.getMessage();
                    if (!msg.contains(file.toString()) || !msg.contains("slot 0")) {
                        throw new AssertionError("round " + r + " (" + what + "): the error does not name file and slot: "
                                + msg, c);
                    }
                    outcomes[0]++;
                    assertEquals(TransientBuffer.State.SPILLED, a.state(), "a failed read-back leaves the buffer spilled");
                    assertTrue(pool.temporaryFiles().stream().anyMatch(i -> i.path().equals(file)),
                            "its file is still reported");
                }
                List<String> problems = pool.checkInvariants();
                assertTrue(problems.isEmpty(), "round " + round + " (" + what + "): " + problems);
                assertEquals(pool.residentBytes(), acct.used(), "round " + round + ": memory accounting");
                a.free();
                b.free();
                assertEquals(0, pool.temporaryFileManager().usedBytes(), "round " + round + ": temporary bytes after free");
                assertEquals(0, acct.used());
            }
        } finally {
            ex.shutdownNow();
        }
        assertEquals(0, AlignedBuffer.liveCount(), "aligned buffers leaked");
        System.out.println("HostileTempBlockTest " + backend.kind() + ": " + ROUNDS + " damaged blocks, " + outcomes[0]
                + " refused, " + outcomes[1] + " forged read back intact, " + outcomes[2] + " forged read back different");
        assertTrue(outcomes[0] > ROUNDS / 2, Arrays.toString(outcomes));
    }

    private static byte[] contents(SplittableRandom rnd, boolean compressible, int round) {
        byte[] d = new byte[SIZE];
        if (compressible) {
            byte[] row = ("row," + round + ",alpha,beta,3.25\n").getBytes(StandardCharsets.US_ASCII);
            for (int i = 0; i < SIZE; i++) {
                d[i] = row[i % row.length];
            }
        } else {
            rnd.nextBytes(d);
        }
        return d;
    }

    /** Damages the block at offset 0 of the file; returns what it did ("forged" when the crc was recomputed). */
    private static String mutate(Path file, SplittableRandom rnd) throws Exception {
        try (FileChannel ch = FileChannel.open(file, StandardOpenOption.READ, StandardOpenOption.WRITE)) {
            ByteBuffer h = ByteBuffer.allocate(32).order(ByteOrder.LITTLE_ENDIAN);
            ch.read(h, 0);
            int payload = h.getInt(8);
            int kind = rnd.nextInt(10);
            String what;
            switch (kind) {
                case 0: {
                    int i = rnd.nextInt(4);
                    h.put(i, (byte) (h.get(i) ^ (1 << rnd.nextInt(8))));
                    what = "magic byte " + i;
                    break;
                }
                case 1:
                    h.put(4, (byte) (2 + rnd.nextInt(254)));
                    what = "codec " + (h.get(4) & 0xFF);
                    break;
                case 2:
                    h.putInt(8, LENGTHS[rnd.nextInt(LENGTHS.length)]);
                    what = "payload length " + h.getInt(8);
                    break;
                case 3:
                    h.putInt(12, LENGTHS[rnd.nextInt(LENGTHS.length)]);
                    what = "raw length " + h.getInt(12);
                    break;
                case 4:
                    h.putInt(16, h.getInt(16) ^ (1 + rnd.nextInt(Integer.MAX_VALUE)));
                    what = "crc";
                    break;
                case 5:
                    h.put(20 + rnd.nextInt(12), (byte) (1 + rnd.nextInt(255)));
                    what = "reserved byte";
                    break;
                case 6: {
                    long at = 32 + rnd.nextInt(payload);
                    flip(ch, at, rnd);
                    return "payload byte " + at;
                }
                case 7: { // payload bytes changed and the crc forged: the decoder itself meets the damage
                    int n = 1 + rnd.nextInt(4);
                    for (int i = 0; i < n; i++) {
                        flip(ch, 32 + rnd.nextInt(payload), rnd);
                    }
                    forge(ch, h, payload);
                    return "forged: " + n + " payload bytes with a valid crc";
                }
                case 8: { // a shorter payload length with a valid crc: a truncated zstd frame / raw block
                    h.putInt(8, rnd.nextInt(payload));
                    forge(ch, h, h.getInt(8));
                    return "forged: payload length " + h.getInt(8) + " of " + payload + " with a valid crc";
                }
                default: {
                    long len = rnd.nextInt(32 + payload);
                    ch.truncate(len);
                    return "truncated to " + len + " bytes";
                }
            }
            ch.write(h.position(0), 0);
            return what;
        }
    }

    private static void flip(FileChannel ch, long at, SplittableRandom rnd) throws Exception {
        ByteBuffer one = ByteBuffer.allocate(1);
        ch.read(one, at);
        one.put(0, (byte) (one.get(0) ^ (1 + rnd.nextInt(255))));
        ch.write(one.position(0), at);
    }

    /** Recomputes the header's crc32c over bytes 0..15 and {@code payload} bytes of payload, and writes the header. */
    private static void forge(FileChannel ch, ByteBuffer h, int payload) throws Exception {
        ByteBuffer p = ByteBuffer.allocate(payload);
        ch.read(p, 32);
        CRC32C c = new CRC32C();
        c.update(h.array(), 0, 16);
        c.update(p.array(), 0, payload);
        h.putInt(16, (int) c.getValue());
        ch.write(h.position(0), 0);
    }
}
