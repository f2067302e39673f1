package dev.spillway.io;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertTrue;
import static org.junit.jupiter.api.Assertions.fail;

import dev.spillway.CorruptDataException;
import java.nio.ByteBuffer;
import java.nio.ByteOrder;
import java.nio.file.Path;
import java.util.EnumSet;
import java.util.SplittableRandom;
import java.util.stream.Stream;
import org.junit.jupiter.api.io.TempDir;
import org.junit.jupiter.params.ParameterizedTest;
import org.junit.jupiter.params.provider.MethodSource;

/**
 * Hostile input on the decode path: spill blocks mutated at random (header fields set to
 * extreme values, random bytes, truncation) are read back through every backend. Each read must
 * return the original bytes or throw {@link CorruptDataException}: never crash the JVM, never
 * hang, never return different bytes. {@code -Dspillway.long.tests=true} runs 20x more rounds.
 */
class HostileSpillBlockTest {
    private static final int RAW = 64 * 1024;
    private static final int ROUNDS = Boolean.getBoolean("spillway.long.tests") ? 20_000 : 1_000;
    private static final int[] EXTREMES = {0, 1, -1, Integer.MAX_VALUE, Integer.MIN_VALUE, RAW, RAW + 1, RAW - 1, 4096,
        1 << 20};

    @TempDir
    Path dir;

    static Stream<IoBackend> backends() {
        return Backends.available().stream();
    }

    @ParameterizedTest
    @MethodSource("backends")
    void mutatedBlocksAreDetectedNeverMisread(IoBackend b) {
        SplittableRandom rnd = new SplittableRandom(0xC0FFEE ^ b.kind().ordinal());
        byte[] csv = TestData.csv(RAW, 11);
        int[] outcomes = new int[3]; // intact, detected, (impossible) wrong bytes
        try (IoFile f = b.open(dir.resolve("hostile.spill"), EnumSet.of(OpenFlag.CREATE, OpenFlag.DIRECT));
                Codec c = b.newCodec(); AlignedBuffer scratch = b.allocate(SpillFormat.scratchSize(RAW));
                AlignedBuffer src = b.allocate(RAW); AlignedBuffer dst = b.allocate(RAW)) {
            src.buffer().put(0, csv);
            for (int round = 0; round < ROUNDS; round++) {
                int level = rnd.nextInt(4) == 0 ? SpillFormat.LEVEL_NONE : 1;
                SpillBlock blk = c.spillWrite(f, 0, src.buffer(), 0, RAW, level, RAW - 1, scratch);
                int stored = blk.storedSize();
                f.read(scratch.buffer(), 0, stored, 0);
                ByteBuffer le = scratch.buffer().duplicate().order(ByteOrder.LITTLE_ENDIAN);
                int mutations = 1 + rnd.nextInt(3);
                for (int m = 0; m < mutations; m++) {
                    switch (rnd.nextInt(4)) {
                        case 0: // a length field to an extreme value
                            le.putInt(rnd.nextBoolean() ? 8 : 12, EXTREMES[rnd.nextInt(EXTREMES.length)]);
                            break;
                        case 1: // a random header byte
                            le.put(rnd.nextInt(SpillFormat.HEADER_SIZE), (byte) rnd.nextInt());
                            break;
                        default: // a random byte anywhere in the stored block
                            le.put(rnd.nextInt(stored), (byte) rnd.nextInt());
                            break;
                    }
                }
                f.write(scratch.buffer(), 0, stored, 0);
                int readSize = rnd.nextInt(8) == 0 ? Math.max(4096, stored - 4096) : stored; // sometimes truncated
                try {
                    c.spillRead(f, 0, readSize, dst.buffer(), 0, RAW, scratch);
                    byte[] back = TestData.bytes(dst.buffer(), 0, RAW);
                    if (java.util.Arrays.equals(csv, back)) {
                        outcomes[0]++;
                    } else {
                        outcomes[2]++;
                        fail("round " + round + ": a mutated block decoded to different bytes without an error");
                    }
                } catch (CorruptDataException e) {
                    assertTrue(e.getMessage().contains("hostile.spill"), e.getMessage());
                    outcomes[1]++;
                }
            }
            // the codec and file still work after all that
            SpillBlock ok = c.spillWrite(f, 0, src.buffer(), 0, RAW, 1, RAW - 1, scratch);
            c.spillRead(f, 0, ok.storedSize(), dst.buffer(), 0, RAW, scratch);
            assertArrayEquals(csv, TestData.bytes(dst.buffer(), 0, RAW));
        }
        assertEquals(0, outcomes[2]);
        assertTrue(outcomes[1] > ROUNDS * 9 / 10, "most mutations must be detected: " + outcomes[1] + " of " + ROUNDS);
    }
}
