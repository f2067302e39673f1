/* crc32c.c — CRC-32C (Castagnoli): SSE4.2 instruction where the CPU has it, else slicing-by-8. */
#include <string.h>

#include "spillway.h"

#define POLY 0x82F63B78u /* reflected Castagnoli polynomial */

static uint32_t table[8][256];
static int have_hw;

/* Runs when the library loads; after that the table is read-only, so no locking is needed. */
__attribute__((constructor)) static void crc32c_init(void) {
    for (uint32_t i = 0; i < 256; i++) {
        uint32_t c = i;
        for (int k = 0; k < 8; k++) c = (c >> 1) ^ (POLY & (0u - (c & 1u)));
        table[0][i] = c;
    }
    for (uint32_t i = 0; i < 256; i++) {
        for (int t = 1; t < 8; t++) table[t][i] = (table[t - 1][i] >> 8) ^ table[0][table[t - 1][i] & 0xFF];
    }
#if defined(__x86_64__)
    __builtin_cpu_init();
    have_hw = __builtin_cpu_supports("sse4.2");
#endif
}

static uint32_t crc_sw(uint32_t crc, const unsigned char *p, size_t n) {
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        w ^= crc; /* little-endian: the crc folds into the low four bytes */
        crc = table[7][w & 0xFF] ^ table[6][(w >> 8) & 0xFF] ^ table[5][(w >> 16) & 0xFF]
            ^ table[4][(w >> 24) & 0xFF] ^ table[3][(w >> 32) & 0xFF] ^ table[2][(w >> 40) & 0xFF]
            ^ table[1][(w >> 48) & 0xFF] ^ table[0][w >> 56];
        p += 8;
        n -= 8;
    }
    while (n--) crc = (crc >> 8) ^ table[0][(crc ^ *p++) & 0xFF];
    return crc;
}

#if defined(__x86_64__)
__attribute__((target("sse4.2"))) static uint32_t crc_hw(uint32_t crc, const unsigned char *p, size_t n) {
    uint64_t c = crc;
    while (n >= 8) {
        uint64_t w;
        memcpy(&w, p, 8);
        c = __builtin_ia32_crc32di(c, w);
        p += 8;
        n -= 8;
    }
    uint32_t c32 = (uint32_t)c;
    while (n--) c32 = __builtin_ia32_crc32qi(c32, *p++);
    return c32;
}
#endif

uint32_t spw_crc32c(uint32_t crc, const void *data, int64_t len) {
    if (data == NULL || len <= 0) return crc;
    uint32_t c = ~crc;
#if defined(__x86_64__)
    if (have_hw) return ~crc_hw(c, data, (size_t)len);
#endif
    return ~crc_sw(c, data, (size_t)len);
}

int spw_crc32c_hardware(void) { return have_hw; }

/* For the C tests: the software path regardless of the CPU. */
uint32_t spw_crc32c_software(uint32_t crc, const void *data, int64_t len) {
    if (data == NULL || len <= 0) return crc;
    return ~crc_sw(~crc, data, (size_t)len);
}
