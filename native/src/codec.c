/* codec.c — zstd with reusable contexts, and the spill-block format (see spillway.h). */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <zstd.h>
#include <zstd_errors.h>

#include "spillway.h"

struct spw_codec {
    ZSTD_CCtx *cctx;
    ZSTD_DCtx *dctx;
};

spw_codec *spw_codec_new(void) {
    spw_codec *c = calloc(1, sizeof *c);
    if (c == NULL) return NULL;
    c->cctx = ZSTD_createCCtx();
    c->dctx = ZSTD_createDCtx();
    if (c->cctx == NULL || c->dctx == NULL) {
        spw_codec_free(c);
        return NULL;
    }
    return c;
}

void spw_codec_free(spw_codec *c) {
    if (c == NULL) return;
    ZSTD_freeCCtx(c->cctx);
    ZSTD_freeDCtx(c->dctx);
    free(c);
}

/*
 * Whether [a, a + alen) and [b, b + blen) share a byte. zstd, memcpy and a pread into the
 * scratch would write over input not yet read: the block would get a valid crc over the wrong
 * bytes. Compared as integers (ordering pointers into different objects is undefined in C).
 */
static int overlaps(const void *a, int64_t alen, const void *b, int64_t blen) {
    uintptr_t x = (uintptr_t)a, y = (uintptr_t)b;
    if (alen <= 0 || blen <= 0) return 0;
    return x < y ? y - x < (uint64_t)alen : x - y < (uint64_t)blen;
}

int spw_zstd_min_level(void) { return ZSTD_minCLevel(); }
int spw_zstd_max_level(void) { return ZSTD_maxCLevel(); }

int64_t spw_compress_bound(int64_t len) {
    if (len < 0 || (uint64_t)len > (uint64_t)INT32_MAX) return SPW_E_ARG;
    return (int64_t)ZSTD_compressBound((size_t)len);
}

int64_t spw_compress(spw_codec *c, void *dst, int64_t cap, const void *src, int64_t len, int level) {
    if (c == NULL || dst == NULL || (src == NULL && len > 0) || cap < 0 || len < 0) {
        return SPW_E_ARG;
    }
    if (overlaps(src, len, dst, cap)) return SPW_E_OVERLAP;
    if (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel()) return SPW_E_LEVEL;
    size_t r = ZSTD_CCtx_setParameter(c->cctx, ZSTD_c_compressionLevel, level);
    if (ZSTD_isError(r)) return SPW_E_LEVEL;
    r = ZSTD_compress2(c->cctx, dst, (size_t)cap, src, (size_t)len);
    if (ZSTD_isError(r)) {
        /* a failed frame leaves the context mid-stream; reset it for the next call */
        ZSTD_CCtx_reset(c->cctx, ZSTD_reset_session_only);
        return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? SPW_E_TOO_LARGE : SPW_E_CODEC;
    }
    return (int64_t)r;
}

int64_t spw_decompress(spw_codec *c, void *dst, int64_t cap, const void *src, int64_t len) {
    if (c == NULL || dst == NULL || src == NULL || cap < 0 || len < 0) return SPW_E_ARG;
    if (overlaps(src, len, dst, cap)) return SPW_E_OVERLAP;
    size_t r = ZSTD_decompressDCtx(c->dctx, dst, (size_t)cap, src, (size_t)len);
    if (ZSTD_isError(r)) {
        ZSTD_DCtx_reset(c->dctx, ZSTD_reset_session_only);
        return ZSTD_getErrorCode(r) == ZSTD_error_dstSize_tooSmall ? SPW_E_TOO_LARGE : SPW_E_CODEC;
    }
    return (int64_t)r;
}

/* ---- spill blocks ---- */

static void put32(unsigned char *p, uint32_t v) {
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static uint32_t get32(const unsigned char *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

int64_t spw_spill_stored_size(int64_t payload_len) {
    if (payload_len < 0 || payload_len > INT32_MAX) return SPW_E_ARG;
    return (SPW_SPILL_HEADER + payload_len + SPW_ALIGNMENT - 1) & ~(int64_t)(SPW_ALIGNMENT - 1);
}

int64_t spw_spill_encode(spw_codec *c, const void *src, int64_t len, int level, int64_t max_payload, void *out,
                         int64_t out_cap, int *out_codec, int64_t *out_payload) {
    if (c == NULL || (src == NULL && len > 0) || out == NULL || out_codec == NULL || out_payload == NULL || len < 0
        || len > INT32_MAX - 2 * SPW_ALIGNMENT - SPW_SPILL_HEADER || out_cap < SPW_SPILL_HEADER || max_payload < 0) {
        return SPW_E_ARG;
    }
    if (overlaps(src, len, out, out_cap)) return SPW_E_OVERLAP;
    if (level != SPW_LEVEL_NONE && (level < ZSTD_minCLevel() || level > ZSTD_maxCLevel())) return SPW_E_LEVEL;
    unsigned char *o = out;
    int codec = SPW_CODEC_RAW;
    int64_t payload = len;
    if (level != SPW_LEVEL_NONE && len > 0) {
        int64_t n = spw_compress(c, o + SPW_SPILL_HEADER, out_cap - SPW_SPILL_HEADER, src, len, level);
        if (n >= 0 && n <= max_payload) {
            codec = SPW_CODEC_ZSTD;
            payload = n;
        } else if (n < 0 && n != SPW_E_TOO_LARGE) {
            return n;
        }
    }
    int64_t stored = spw_spill_stored_size(payload);
    if (stored < 0 || stored > out_cap) return SPW_E_TOO_LARGE;
    if (codec == SPW_CODEC_RAW && len > 0) memcpy(o + SPW_SPILL_HEADER, src, (size_t)len);
    memset(o, 0, SPW_SPILL_HEADER);
    put32(o, SPW_SPILL_MAGIC);
    o[4] = (unsigned char)codec;
    put32(o + 8, (uint32_t)payload);
    put32(o + 12, (uint32_t)len);
    memset(o + SPW_SPILL_HEADER + payload, 0, (size_t)(stored - SPW_SPILL_HEADER - payload));
    uint32_t crc = spw_crc32c(0, o, 16);
    crc = spw_crc32c(crc, o + SPW_SPILL_HEADER, payload);
    put32(o + 16, crc);
    *out_codec = codec;
    *out_payload = payload;
    return stored;
}

int64_t spw_spill_decode(spw_codec *c, const void *block, int64_t block_len, void *dst, int64_t dst_len) {
    if (c == NULL || block == NULL || (dst == NULL && dst_len > 0) || block_len < 0 || dst_len < 0) {
        return SPW_E_ARG;
    }
    if (overlaps(block, block_len, dst, dst_len)) return SPW_E_OVERLAP;
    const unsigned char *b = block;
    if (block_len < SPW_SPILL_HEADER) return SPW_E_FORMAT;
    if (get32(b) != SPW_SPILL_MAGIC) return SPW_E_FORMAT;
    uint32_t codec_word = get32(b + 4);
    if ((codec_word >> 8) != 0 || (codec_word != SPW_CODEC_RAW && codec_word != SPW_CODEC_ZSTD)) return SPW_E_FORMAT;
    int64_t payload = get32(b + 8);
    int64_t raw = get32(b + 12);
    if (payload > block_len - SPW_SPILL_HEADER || raw != dst_len) return SPW_E_FORMAT;
    if (codec_word == SPW_CODEC_RAW && payload != raw) return SPW_E_FORMAT;
    for (int i = 20; i < SPW_SPILL_HEADER; i++) {
        if (b[i] != 0) return SPW_E_FORMAT; /* reserved bytes are outside the crc: they must be zero */
    }
    uint32_t crc = spw_crc32c(0, b, 16);
    crc = spw_crc32c(crc, b + SPW_SPILL_HEADER, payload);
    if (crc != get32(b + 16)) return SPW_E_CHECKSUM;
    if (codec_word == SPW_CODEC_RAW) {
        if (raw > 0) memcpy(dst, b + SPW_SPILL_HEADER, (size_t)raw);
        return raw;
    }
    int64_t n = spw_decompress(c, dst, dst_len, b + SPW_SPILL_HEADER, payload);
    if (n < 0) return n == SPW_E_TOO_LARGE ? SPW_E_CODEC : n;
    return n == dst_len ? n : SPW_E_CODEC;
}

int64_t spw_spill_write(spw_codec *c, int fd, int64_t off, const void *src, int64_t len, int level,
                        int64_t max_payload, void *scratch, int64_t scratch_cap, int *out_codec, int64_t *out_payload) {
    if (off < 0 || (off & (SPW_ALIGNMENT - 1)) != 0 || scratch == NULL
        || ((uintptr_t)scratch & (SPW_ALIGNMENT - 1)) != 0) {
        return SPW_E_ARG;
    }
    int64_t stored = spw_spill_encode(c, src, len, level, max_payload, scratch, scratch_cap, out_codec, out_payload);
    if (stored < 0) return stored;
    int64_t w = spw_pwrite(fd, scratch, stored, off);
    return w < 0 ? w : stored;
}

int64_t spw_spill_read(spw_codec *c, int fd, int64_t off, int64_t stored_size, void *dst, int64_t dst_len,
                       void *scratch, int64_t scratch_cap) {
    if (off < 0 || (off & (SPW_ALIGNMENT - 1)) != 0 || stored_size < SPW_SPILL_HEADER
        || (stored_size & (SPW_ALIGNMENT - 1)) != 0 || scratch == NULL || scratch_cap < stored_size
        || ((uintptr_t)scratch & (SPW_ALIGNMENT - 1)) != 0) {
        return SPW_E_ARG;
    }
    /* refused before the pread, which would overwrite dst with the block */
    if (overlaps(scratch, stored_size, dst, dst_len)) return SPW_E_OVERLAP;
    int64_t r = spw_pread(fd, scratch, stored_size, off);
    if (r < 0) return r;
    if (r < stored_size) return SPW_E_SHORT;
    return spw_spill_decode(c, scratch, stored_size, dst, dst_len);
}
