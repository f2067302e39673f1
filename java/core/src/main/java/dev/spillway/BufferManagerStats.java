package dev.spillway;

/**
 * What a {@link BufferManager} has done since it was built: a snapshot of cumulative counters
 * (plus a few current and peak values), from {@link BufferManager#stats()}. Counters are read one
 * after the other without stopping the manager, so under concurrent use a snapshot may mix
 * moments a few operations apart; each counter on its own never goes back.
 *
 * @param pageHits            pins that found their page resident
 * @param pageMisses          pins that read their page from disk
 * @param pageEvictions       pages evicted to make room (not counting pages freed or files closed)
 * @param pageWriteBacks      dirty pages written back, by eviction or by a flush
 * @param buffersSpilled      transient buffers evicted to a temporary file
 * @param buffersReadBack     spilled buffers read back by a pin
 * @param buffersDropped      buffers whose contents were dropped by their destroy policy
 * @param failedSpills        spills that failed (the buffer stayed in memory)
 * @param bytesSpilled        bytes of buffers spilled, as they were in memory
 * @param bytesSpilledStored  bytes those spills took on disk (block headers and 4 KiB padding included)
 * @param bytesReadBack       bytes of buffers read back, as they are in memory
 * @param temporaryBytes      bytes charged in temporary files now (slots in use, files of their own)
 * @param temporaryBytesPeak  the most {@code temporaryBytes} has been
 * @param temporaryFiles      temporary files open now
 * @param temporaryFilesPeak  the most temporary files open at once
 */
public record BufferManagerStats(long pageHits, long pageMisses, long pageEvictions, long pageWriteBacks,
        long buffersSpilled, long buffersReadBack, long buffersDropped, long failedSpills, long bytesSpilled,
        long bytesSpilledStored, long bytesReadBack, long temporaryBytes, long temporaryBytesPeak, int temporaryFiles,
        int temporaryFilesPeak) {

    /** Hits per pin, 0 before the first pin. */
    public double pageHitRatio() {
        long pins = pageHits + pageMisses;
        return pins == 0 ? 0 : (double) pageHits / pins;
    }

    /** Bytes spilled per byte stored: above 1 when compression saved space, 0 before the first spill. */
    public double compressionRatio() {
        return bytesSpilledStored == 0 ? 0 : (double) bytesSpilled / bytesSpilledStored;
    }
}
