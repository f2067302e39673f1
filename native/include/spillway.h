/*
 * spillway.h — the C core of Spillway: mechanism only, no policy state.
 *
 * Every function reports failure by returning a negative value:
 *   -errno                      for operating-system errors (see errno(3));
 *   SPW_E_* (below -4096)       for the core's own errors (codec, format, argument).
 * Nothing here aborts, prints, or keeps global mutable state; a spw_codec is the only
 * object and belongs to one thread at a time.
 *
 * Lengths and offsets are int64_t so that a negative value from a caller is visible
 * (and rejected with SPW_E_ARG) instead of wrapping to a huge size_t.
 */
#ifndef SPILLWAY_H
#define SPILLWAY_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

#define SPW_VERSION_STRING "0.1.0"

/* ---- error codes (all below -4096 so they never collide with -errno) ---- */
#define SPW_E_ARG          (-5001)  /* bad argument: negative/overflowing length, null, misaligned,
                                       or input and output memory that overlap */
#define SPW_E_CODEC        (-5002)  /* zstd reported an error (corrupt or truncated frame) */
#define SPW_E_FORMAT       (-5003)  /* spill block header malformed (magic, lengths, codec id) */
#define SPW_E_CHECKSUM     (-5004)  /* spill block crc32c mismatch */
#define SPW_E_SHORT        (-5005)  /* end of file before the requested bytes (spill read) */
#define SPW_E_TOO_LARGE    (-5006)  /* output does not fit the destination capacity */
#define SPW_E_NOMEM        (-5007)  /* allocation failed inside the core */
#define SPW_E_LEVEL        (-5008)  /* zstd level outside [min, max] */
#define SPW_E_OVERLAP      (-5009)  /* input and output (or source and scratch) overlap in memory */

/* Human-readable text for any return code (errno text for -errno). Never NULL. */
const char *spw_strerror(int64_t code);

/* ---- files ---- */
#define SPW_O_RDONLY    0x01   /* open read-only (default: read-write) */
#define SPW_O_CREAT     0x02   /* create if missing */
#define SPW_O_EXCL      0x04   /* with CREAT: fail with -EEXIST if it exists */
#define SPW_O_DIRECT    0x08   /* ask for O_DIRECT; see out_direct */
#define SPW_O_NOFOLLOW  0x10   /* fail with -ELOOP if the last component is a symlink */
#define SPW_O_TRUNC     0x20   /* truncate to 0 on open */

/*
 * Opens path with O_CLOEXEC plus the flags above; mode applies on creation.
 * With SPW_O_DIRECT, if the file system refuses O_DIRECT (EINVAL), the file is reopened
 * without it and *out_direct is 0; otherwise *out_direct is 1 when O_DIRECT is in force.
 * Returns the fd (>= 0) or -errno.
 */
int spw_open(const char *path, int flags, int mode, int *out_direct);
int spw_close(int fd);

/*
 * Reads/writes exactly len bytes at off, looping over short transfers and EINTR.
 * pread returns the bytes read, which is less than len only at end of file.
 * pwrite returns len or -errno (a write that makes no progress is -EIO).
 */
int64_t spw_pread(int fd, void *buf, int64_t len, int64_t off);
int64_t spw_pwrite(int fd, const void *buf, int64_t len, int64_t off);
int spw_fdatasync(int fd);
int spw_fallocate(int fd, int64_t off, int64_t len);
int spw_ftruncate(int fd, int64_t len);
/* FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE; -EOPNOTSUPP where the file system cannot. */
int spw_punch_hole(int fd, int64_t off, int64_t len);
int64_t spw_file_size(int fd);

/* ---- aligned memory ---- */
#define SPW_ALIGNMENT 4096
/* Zero-filled memory aligned to `alignment` (a power of two >= sizeof(void*)); NULL on failure. */
void *spw_aligned_alloc(int64_t size, int64_t alignment);
void spw_aligned_free(void *p);

/*
 * ---- mapped memory (slabs of frames whose memory can be given back) ----
 * spw_map: an anonymous private mapping of `size` bytes (0 < size <= 2^47), zero-filled, aligned
 * to the OS page size (>= 4096) and reserving no swap: physical pages are taken only when first
 * touched. NULL on failure or a bad size. Free it with spw_unmap and the same size.
 */
void *spw_map(int64_t size);
/* munmap: 0 or -errno; SPW_E_ARG for NULL or a bad size. */
int spw_unmap(void *p, int64_t size);
/*
 * Afterwards [p, p + len) reads as zeros. The whole OS pages inside the range go back to the OS
 * (madvise MADV_DONTNEED) and are taken again only when touched; a partial page at either end
 * (p or p + len not on an OS page boundary, e.g. with 64 KiB pages on some aarch64 kernels) is
 * zeroed with memset and stays resident. Only for memory from spw_map: on other memory (malloc,
 * a file mapping) MADV_DONTNEED would drop data that is not ours or not reread as zeros.
 * Returns 0, -errno from madvise, or SPW_E_ARG for NULL, a negative or an overflowing length.
 */
int spw_discard(void *p, int64_t len);

/* ---- crc32c (Castagnoli), hardware SSE4.2 where present ---- */
/* Continue a crc: pass 0 to start. crc32c("123456789") == 0xE3069283. */
uint32_t spw_crc32c(uint32_t crc, const void *data, int64_t len);
int spw_crc32c_hardware(void); /* 1 if the SSE4.2 path is in use */
uint32_t spw_crc32c_software(uint32_t crc, const void *data, int64_t len); /* table path, for tests */

/* ---- zstd with reusable contexts ---- */
typedef struct spw_codec spw_codec;
spw_codec *spw_codec_new(void);
void spw_codec_free(spw_codec *c);
int spw_zstd_min_level(void);
int spw_zstd_max_level(void);
int64_t spw_compress_bound(int64_t len);
/*
 * Input and output of the calls below must not share a byte (src/dst, src/scratch, block/dst,
 * dst/scratch[0, stored_size)): zstd would overwrite input it has not read yet, and a spill block
 * would get a valid crc over the wrong bytes. Overlap is refused with SPW_E_OVERLAP before any work.
 */
/* Returns compressed bytes written to dst, or an error (SPW_E_TOO_LARGE if cap is short). */
int64_t spw_compress(spw_codec *c, void *dst, int64_t cap, const void *src, int64_t len, int level);
/* Returns decompressed bytes, or SPW_E_CODEC / SPW_E_TOO_LARGE. */
int64_t spw_decompress(spw_codec *c, void *dst, int64_t cap, const void *src, int64_t len);

/*
 * ---- spill blocks ----
 * On-disk format of one spilled block, shared by every backend (the pure-Java one too):
 *
 *   offset  size  field
 *   0       4     magic 'S','P','W','B' (0x42575053 little-endian)
 *   4       1     codec: 0 = raw, 1 = zstd frame
 *   5       3     reserved, zero
 *   8       4     payload length in bytes (stored bytes after the header)
 *   12      4     raw length in bytes (the block's size in memory)
 *   16      4     crc32c over bytes 0..15 and the payload
 *   20      12    reserved, zero
 *   32      ...   payload, then zero padding to a multiple of 4096
 *
 * All integers little-endian. The stored (on-disk) size is
 * spw_spill_stored_size(payload) = roundup(32 + payload, 4096).
 */
#define SPW_SPILL_HEADER 32
#define SPW_SPILL_MAGIC 0x42575053u
#define SPW_CODEC_RAW 0
#define SPW_CODEC_ZSTD 1
#define SPW_LEVEL_NONE (-1000)  /* level value meaning "store raw" */

int64_t spw_spill_stored_size(int64_t payload_len);

/*
 * Compresses src (len bytes) at `level` into scratch after a header, pads to 4096 and writes
 * it at off in one pwrite. If level is SPW_LEVEL_NONE, or the compressed payload would be
 * larger than max_payload (pass len - 1 to mean "only if smaller"), the block is stored raw.
 * scratch must be 4096-aligned with scratch_cap >= spw_spill_stored_size(max(len, bound)).
 * Returns the stored size in bytes (a multiple of 4096); *out_codec gets the codec used and
 * *out_payload the payload length.
 */
int64_t spw_spill_write(spw_codec *c, int fd, int64_t off, const void *src, int64_t len, int level,
                        int64_t max_payload, void *scratch, int64_t scratch_cap,
                        int *out_codec, int64_t *out_payload);

/*
 * Reads stored_size bytes at off into scratch (4096-aligned), checks the header and crc32c,
 * and decompresses (or copies) the payload into dst, which must hold exactly the block's raw
 * length (dst_len). Returns dst_len, or SPW_E_FORMAT / SPW_E_CHECKSUM / SPW_E_CODEC /
 * SPW_E_SHORT / -errno.
 */
int64_t spw_spill_read(spw_codec *c, int fd, int64_t off, int64_t stored_size, void *dst,
                       int64_t dst_len, void *scratch, int64_t scratch_cap);

/* In-memory halves of the two calls above, for backends and tests that do their own I/O. */
int64_t spw_spill_encode(spw_codec *c, const void *src, int64_t len, int level, int64_t max_payload,
                         void *out, int64_t out_cap, int *out_codec, int64_t *out_payload);
int64_t spw_spill_decode(spw_codec *c, const void *block, int64_t block_len, void *dst, int64_t dst_len);

/* SPW_VERSION_STRING of the library actually loaded (bindings without JNI refuse a mismatch). */
const char *spw_version(void);

/* An empty function, for measuring binding overhead. */
int spw_noop(int x);

#ifdef __cplusplus
}
#endif
#endif
