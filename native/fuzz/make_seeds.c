/*
 * Writes the fuzz target's seed corpus into the directory given as argv[1]: valid inputs of each
 * mode (raw and zstd spill blocks, a bare zstd frame), so the fuzzer starts past the magic and
 * crc checks. Run by CTest before the fuzz run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "spillway.h"

static void put(const char *dir, const char *name, unsigned char mode, const void *body, size_t len) {
    char p[1024];
    snprintf(p, sizeof p, "%s/%s", dir, name);
    FILE *f = fopen(p, "wb");
    if (f == NULL || fwrite(&mode, 1, 1, f) != 1 || fwrite(body, 1, len, f) != len || fclose(f) != 0) {
        perror(p);
        exit(1);
    }
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: %s CORPUS_DIR\n", argv[0]);
        return 2;
    }
    spw_codec *c = spw_codec_new();
    enum { N = 3000 };
    unsigned char src[N];
    for (int i = 0; i < N; i++) src[i] = (unsigned char)("id,name,amount\n1,alpha,3.25\n"[i % 28]);
    int64_t cap = spw_spill_stored_size(spw_compress_bound(N));
    unsigned char *blk = malloc((size_t)cap);
    int codec;
    int64_t payload;
    for (int mode = 1; mode <= 2; mode++) {
        char name[64];
        spw_spill_encode(c, src, N, 3, N - 1, blk, cap, &codec, &payload);
        snprintf(name, sizeof name, "zstd-block-%d", mode);
        put(argv[1], name, (unsigned char)mode, blk, (size_t)(SPW_SPILL_HEADER + payload));
        spw_spill_encode(c, src, 200, SPW_LEVEL_NONE, 200, blk, cap, &codec, &payload);
        snprintf(name, sizeof name, "raw-block-%d", mode);
        put(argv[1], name, (unsigned char)mode, blk, (size_t)(SPW_SPILL_HEADER + payload));
    }
    unsigned char frame[1 + 4096];
    frame[0] = 1; /* mode 0: output capacity 1 << 12 */
    int64_t n = spw_compress(c, frame + 1, (int64_t)sizeof frame - 1, src, N, 1);
    put(argv[1], "zstd-frame", 0, frame, (size_t)(1 + n));
    free(blk);
    spw_codec_free(c);
    return 0;
}
