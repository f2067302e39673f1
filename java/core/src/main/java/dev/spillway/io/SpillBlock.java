package dev.spillway.io;

/**
 * What a spill write stored: {@code storedSize} bytes on disk (a multiple of 4096),
 * the codec ({@link SpillFormat#CODEC_RAW} or {@link SpillFormat#CODEC_ZSTD}) and the payload length.
 */
public record SpillBlock(int storedSize, int codec, int payloadLength) {
}
