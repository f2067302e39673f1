/*
 * libFuzzer target for the C decode path: spw_spill_decode (header, lengths, crc32c, zstd) and
 * spw_decompress on its own. Built only when the C compiler takes -fsanitize=fuzzer (clang with
 * libclang-rt-dev; see CMakeLists.txt, option SPW_FUZZ), always with ASan + UBSan.
 *
 * The first input byte picks what the rest is:
 *   mode 0  a zstd frame for spw_decompress, into a buffer of (byte 1 << 12) bytes (up to 1 MiB)
 *   mode 1  a spill block for spw_spill_decode, expected raw length taken from its own header
 *   mode 2  the same, but with the crc32c recomputed first, so mutations reach the zstd decoder
 *           and the length checks behind the checksum (an attacker can always forge a crc)
 * Every input is copied into a buffer of exactly its size, so ASan sees any read past its end.
 * The property: a result is the expected length or a negative SPW_E_* code; nothing else.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "spillway.h"

#define MAX_RAW (1 << 20)

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static spw_codec *codec;
    static unsigned char *dst;
    if (codec == NULL) {
        codec = spw_codec_new();
        dst = malloc(MAX_RAW);
        if (codec == NULL || dst == NULL) abort();
    }
    if (size < 2) return 0;
    int mode = data[0] % 3;
    const uint8_t *body = data + 1;
    size_t len = size - 1;
    unsigned char *in = malloc(len);
    if (in == NULL) abort();
    memcpy(in, body, len);
    if (mode == 0) {
        int64_t cap = ((int64_t)body[0] << 12) % (MAX_RAW + 1);
        int64_t r = spw_decompress(codec, dst, cap, in + 1, (int64_t)len - 1);
        if (!(r >= 0 ? r <= cap : (r == SPW_E_CODEC || r == SPW_E_TOO_LARGE))) abort();
    } else {
        int64_t raw = len >= SPW_SPILL_HEADER ? (int64_t)get32(in + 12) : 0;
        if (raw > MAX_RAW) raw = MAX_RAW; /* the decoder must then refuse the block: its raw length differs */
        if (mode == 2 && len >= SPW_SPILL_HEADER) {
            uint32_t payload = get32(in + 8);
            if (payload <= len - SPW_SPILL_HEADER) {
                uint32_t crc = spw_crc32c(0, in, 16);
                put32(in + 16, spw_crc32c(crc, in + SPW_SPILL_HEADER, payload));
            }
        }
        int64_t r = spw_spill_decode(codec, in, (int64_t)len, dst, raw);
        if (!(r == raw || r == SPW_E_FORMAT || r == SPW_E_CHECKSUM || r == SPW_E_CODEC)) abort();
    }
    free(in);
    return 0;
}
