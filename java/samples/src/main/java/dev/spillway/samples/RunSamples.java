package dev.spillway.samples;

/** Runs every sample in turn (what {@code ./build.sh samples} runs); stops at the first that fails. */
public final class RunSamples {
    private RunSamples() {
    }

    public static void main(String[] args) throws Throwable {
        System.out.println("== 1. DirectReadSample: spw_open(O_DIRECT) + spw_pread into an aligned segment");
        DirectReadSample.main(new String[0]);
        System.out.println("\n== 2. ZeroCopyChecksumSample: a page's memory as a MemorySegment, to spw_crc32c");
        ZeroCopyChecksumSample.main(new String[0]);
        System.out.println("\n== 3. SharedZstdFormatSample: C-core zstd and zstd-jni read each other's output");
        SharedZstdFormatSample.main(new String[0]);
    }
}
