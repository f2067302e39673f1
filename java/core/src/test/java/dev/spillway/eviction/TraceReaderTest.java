package dev.spillway.eviction;

import static org.junit.jupiter.api.Assertions.assertArrayEquals;
import static org.junit.jupiter.api.Assertions.assertEquals;
import static org.junit.jupiter.api.Assertions.assertThrows;
import static org.junit.jupiter.api.Assertions.assertTrue;

import java.io.IOException;
import java.io.OutputStream;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.zip.GZIPOutputStream;
import org.junit.jupiter.api.Test;
import org.junit.jupiter.api.io.TempDir;

class TraceReaderTest {
    private static final String TEXT = "1\n*\n  2 \r\n\n-3\n* marker line\n9223372036854775807\n";
    private static final long[] KEYS = {1, 2, -3, Long.MAX_VALUE};

    @TempDir Path dir;

    @Test
    void readsPlainText() throws IOException {
        Path file = dir.resolve("plain.trace");
        Files.writeString(file, TEXT);
        assertArrayEquals(KEYS, TraceReader.read(file));
    }

    @Test
    void readsGzipByMagicNotByName() throws IOException {
        Path file = dir.resolve("no-suffix");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write(TEXT.getBytes(StandardCharsets.US_ASCII));
        }
        assertArrayEquals(KEYS, TraceReader.read(file));
    }

    @Test
    void emptyAndOneByteFilesAreEmptyTraces() throws IOException {
        Path empty = dir.resolve("empty");
        Files.writeString(empty, "");
        assertEquals(0, TraceReader.read(empty).length);
        Path one = dir.resolve("one");
        Files.writeString(one, "7");
        assertArrayEquals(new long[] {7}, TraceReader.read(one));
    }

    @Test
    void malformedLineNamesFileAndLine() throws IOException {
        Path file = dir.resolve("bad.trace");
        Files.writeString(file, "1\n2\n\n3x\n4\n");
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceReader.read(file));
        assertTrue(e.getMessage().startsWith(file + ":4:"), e.getMessage());
        assertTrue(e.getMessage().contains("'3x'"), e.getMessage());
    }

    @Test
    void malformedLineInGzipNamesFileAndLine() throws IOException {
        Path file = dir.resolve("bad.trace.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(file))) {
            out.write("5\n99999999999999999999\n".getBytes(StandardCharsets.US_ASCII));
        }
        TraceFormatException e = assertThrows(TraceFormatException.class, () -> TraceReader.read(file));
        assertTrue(e.getMessage().startsWith(file + ":2:"), e.getMessage());
    }

    @Test
    void truncatedGzipIsAnIoError() throws IOException {
        Path good = dir.resolve("good.gz");
        try (OutputStream out = new GZIPOutputStream(Files.newOutputStream(good))) {
            for (int i = 0; i < 10_000; i++) {
                out.write((i + "\n").getBytes(StandardCharsets.US_ASCII));
            }
        }
        byte[] bytes = Files.readAllBytes(good);
        Path cut = dir.resolve("cut.gz");
        Files.write(cut, java.util.Arrays.copyOf(bytes, bytes.length / 2));
        assertThrows(IOException.class, () -> TraceReader.read(cut));
    }
}
