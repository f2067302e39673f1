package dev.spillway.eviction;

import java.io.BufferedInputStream;
import java.io.BufferedReader;
import java.io.IOException;
import java.io.InputStream;
import java.io.InputStreamReader;
import java.nio.charset.StandardCharsets;
import java.nio.file.Files;
import java.nio.file.Path;
import java.util.Arrays;
import java.util.zip.GZIPInputStream;

/**
 * Reads a key trace: one integer key per line, plain text or gzip (recognised by its magic bytes,
 * not by the file name). Lines holding {@code *} are markers and blank lines are padding; both are
 * skipped. Surrounding white space (including the {@code \r} of CRLF files) is ignored. This is
 * the format of the LIRS traces shipped with Caffeine's simulator ({@code shared/traces}).
 */
public final class TraceReader {
    private static final int GZIP_MAGIC_0 = 0x1f;
    private static final int GZIP_MAGIC_1 = 0x8b;

    private TraceReader() {}

    /**
     * All keys of {@code file}, in order.
     *
     * @throws TraceFormatException a line is neither a key, a marker nor blank (names file and line)
     * @throws IOException the file cannot be read, or its gzip stream is corrupt
     */
    public static long[] read(Path file) throws IOException {
        try (InputStream in = Files.newInputStream(file)) {
            return read(in, file.toString());
        }
    }

    /** All keys of {@code in}; {@code source} names it in error messages. Does not close {@code in}. */
    public static long[] read(InputStream in, String source) throws IOException {
        BufferedInputStream buffered = new BufferedInputStream(in, 1 << 16);
        InputStream data = isGzip(buffered) ? new GZIPInputStream(buffered, 1 << 16) : buffered;
        BufferedReader reader = new BufferedReader(new InputStreamReader(data, StandardCharsets.US_ASCII), 1 << 16);
        long[] keys = new long[1024];
        int count = 0;
        long lineNumber = 0;
        String line;
        while ((line = reader.readLine()) != null) {
            lineNumber++;
            String text = line.strip();
            if (text.isEmpty() || text.indexOf('*') >= 0) {
                continue;
            }
            long key;
            try {
                key = Long.parseLong(text);
            } catch (NumberFormatException e) {
                throw new TraceFormatException(source + ":" + lineNumber + ": not an integer key: '"
                        + abbreviate(text) + "'", e);
            }
            if (count == keys.length) {
                keys = Arrays.copyOf(keys, count * 2);
            }
            keys[count++] = key;
        }
        return Arrays.copyOf(keys, count);
    }

    private static boolean isGzip(BufferedInputStream in) throws IOException {
        in.mark(2);
        int b0 = in.read();
        int b1 = in.read();
        in.reset();
        return b0 == GZIP_MAGIC_0 && b1 == GZIP_MAGIC_1;
    }

    private static String abbreviate(String s) {
        return s.length() <= 40 ? s : s.substring(0, 40) + "...";
    }
}
