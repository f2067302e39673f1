/* test_core.c — the C core: files, memory, crc32c, zstd, spill blocks, and hostile input. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <stdio.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

#include "check.h"
#include "spillway.h"

static char dir[512];

static void path_of(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", dir, name); }

static uint64_t rng = 0x9E3779B97F4A7C15ull;
static uint64_t next_rand(void) {
    rng ^= rng << 13;
    rng ^= rng >> 7;
    rng ^= rng << 17;
    return rng;
}

/* CSV-like text: compresses about 2-3x with zstd -1. */
static void fill_csv(unsigned char *p, int64_t n) {
    int64_t i = 0;
    while (i < n) {
        char line[96];
        int k = snprintf(line, sizeof line, "%llu,customer_%llu,%llu.%02llu,2026-11-%02llu\n",
                         (unsigned long long)(next_rand() % 100000), (unsigned long long)(next_rand() % 5000),
                         (unsigned long long)(next_rand() % 1000), (unsigned long long)(next_rand() % 100),
                         (unsigned long long)(next_rand() % 28 + 1));
        for (int j = 0; j < k && i < n; j++) p[i++] = (unsigned char)line[j];
    }
}

static void fill_random(unsigned char *p, int64_t n) {
    for (int64_t i = 0; i < n; i++) p[i] = (unsigned char)next_rand();
}

static void test_crc32c(void) {
    const char *v = "123456789";
    CHECK_EQ(spw_crc32c(0, v, 9), 0xE3069283u);
    CHECK_EQ(spw_crc32c_software(0, v, 9), 0xE3069283u);
    /* continuing equals one pass */
    CHECK_EQ(spw_crc32c(spw_crc32c(0, v, 4), v + 4, 5), 0xE3069283u);
    /* 32 zero bytes: RFC 3720 B.4 vector */
    unsigned char z[32] = {0};
    CHECK_EQ(spw_crc32c(0, z, 32), 0x8A9136AAu);
    unsigned char ff[32];
    memset(ff, 0xFF, sizeof ff);
    CHECK_EQ(spw_crc32c(0, ff, 32), 0x62A8AB43u);
    /* hardware and software agree at every length and alignment */
    unsigned char buf[1031];
    fill_random(buf, sizeof buf);
    for (int off = 0; off < 8; off++) {
        for (int len = 0; len < 1000; len += 37) {
            CHECK_EQ(spw_crc32c(7, buf + off, len), spw_crc32c_software(7, buf + off, len));
        }
    }
    /* ... and past the lengths where the hardware path runs three chains and joins them (3 x 256
       and 3 x 8192 bytes): every length around those edges, a page, a spill block, and lengths
       that leave each kind of remainder */
    int64_t big = 3 * 262144 + 4099;
    unsigned char *large = malloc((size_t)big);
    CHECK(large != NULL);
    fill_random(large, big);
    for (int64_t len = 760; len < 800; len++) CHECK_EQ(spw_crc32c(3, large + 1, len), spw_crc32c_software(3, large + 1, len));
    for (int64_t len = 24570; len < 24600; len++) CHECK_EQ(spw_crc32c(3, large + 5, len), spw_crc32c_software(3, large + 5, len));
    int64_t lengths[] = {4092, 4096, 262144, 262144 + 768 + 9, 3 * 262144 + 4096, big - 3};
    for (size_t i = 0; i < sizeof lengths / sizeof lengths[0]; i++) {
        CHECK_EQ(spw_crc32c(0, large + 3, lengths[i]), spw_crc32c_software(0, large + 3, lengths[i]));
    }
    /* continuing across a block edge equals one pass */
    CHECK_EQ(spw_crc32c(spw_crc32c(0, large, 10000), large + 10000, 30000), spw_crc32c(0, large, 40000));
    free(large);
    CHECK_EQ(spw_crc32c(5, NULL, 10), 5u);
    CHECK_EQ(spw_crc32c(5, buf, -1), 5u);
}

static void test_memory(void) {
    void *p = spw_aligned_alloc(10000, 4096);
    CHECK(p != NULL);
    CHECK(((uintptr_t)p & 4095) == 0);
    unsigned char *b = p;
    int zero = 1;
    for (int i = 0; i < 10000; i++) zero &= b[i] == 0;
    CHECK(zero);
    spw_aligned_free(p);
    CHECK(spw_aligned_alloc(0, 4096) == NULL);
    CHECK(spw_aligned_alloc(-5, 4096) == NULL);
    CHECK(spw_aligned_alloc(100, 3000) == NULL);
    CHECK(spw_aligned_alloc(INT64_MAX, 4096) == NULL);
    spw_aligned_free(NULL);
}

static int all_bytes(const unsigned char *p, int64_t n, unsigned char v) {
    for (int64_t i = 0; i < n; i++) {
        if (p[i] != v) return 0;
    }
    return 1;
}

/* Pages of [p, p + n) that mincore reports resident; -1 if mincore fails. */
static int64_t resident_pages(void *p, int64_t n, int64_t page) {
    unsigned char vec[256];
    int64_t pages = (n + page - 1) / page;
    if (pages > (int64_t)sizeof vec || mincore(p, (size_t)n, vec) != 0) return -1;
    int64_t r = 0;
    for (int64_t i = 0; i < pages; i++) r += vec[i] & 1;
    return r;
}

static void test_mapped_memory(void) {
    const int64_t page = sysconf(_SC_PAGESIZE);
    const int64_t n = 64 * page;
    unsigned char *m = spw_map(n);
    CHECK(m != NULL);
    if (m == NULL) return;
    CHECK(((uintptr_t)m & 4095) == 0);
    CHECK(all_bytes(m, n, 0));

    /* whole pages: zero afterwards, neighbours untouched, and no longer resident */
    memset(m, 0xAB, (size_t)n);
    CHECK_EQ(resident_pages(m, n, page), 64);
    CHECK_EQ(spw_discard(m + 4 * page, 8 * page), 0);
    /* residency before reading: a read maps the shared zero page, which mincore counts as resident */
    CHECK_EQ(resident_pages(m + 4 * page, 8 * page, page), 0);
    CHECK_EQ(resident_pages(m, n, page), 56);
    CHECK(all_bytes(m, 4 * page, 0xAB));
    CHECK(all_bytes(m + 4 * page, 8 * page, 0));
    CHECK(all_bytes(m + 12 * page, n - 12 * page, 0xAB));

    /* partial head and tail around whole pages: all zero, only the whole pages leave, neighbours kept */
    memset(m, 0xCD, (size_t)n);
    CHECK_EQ(spw_discard(m + 20 * page - 100, 3 * page + 200), 0);
    CHECK_EQ(resident_pages(m + 20 * page, 3 * page, page), 0);
    CHECK_EQ(resident_pages(m + 19 * page, page, page), 1);
    CHECK_EQ(resident_pages(m + 23 * page, page, page), 1);
    CHECK(all_bytes(m, 20 * page - 100, 0xCD));
    CHECK(all_bytes(m + 20 * page - 100, 3 * page + 200, 0));
    CHECK(all_bytes(m + 23 * page + 100, n - 23 * page - 100, 0xCD));

    /* inside one page, and across one boundary without a whole page: memset only */
    CHECK_EQ(spw_discard(m + 30 * page + 7, 93), 0);
    CHECK(m[30 * page + 6] == 0xCD && m[30 * page + 100] == 0xCD);
    CHECK(all_bytes(m + 30 * page + 7, 93, 0));
    CHECK_EQ(spw_discard(m + 32 * page - 10, 20), 0);
    CHECK(m[32 * page - 11] == 0xCD && m[32 * page + 10] == 0xCD);
    CHECK(all_bytes(m + 32 * page - 10, 20, 0));
    CHECK_EQ(resident_pages(m + 30 * page, 3 * page, page), 3);

    /* discarded memory is ordinary memory again: writable, and discardable twice */
    memset(m + 4 * page, 0x11, (size_t)page);
    CHECK(all_bytes(m + 4 * page, page, 0x11));
    CHECK_EQ(spw_discard(m, n), 0);
    CHECK_EQ(spw_discard(m, n), 0);
    CHECK(all_bytes(m, n, 0));
    CHECK_EQ(spw_discard(m + 5, 0), 0);

    /* bad arguments: codes, never a crash */
    CHECK_EQ(spw_discard(NULL, page), SPW_E_ARG);
    CHECK_EQ(spw_discard(m, -1), SPW_E_ARG);
    CHECK_EQ(spw_discard(m, INT64_MAX), SPW_E_ARG);
    CHECK(spw_map(0) == NULL);
    CHECK(spw_map(-4096) == NULL);
    CHECK(spw_map(INT64_MAX) == NULL);
    CHECK_EQ(spw_unmap(NULL, n), SPW_E_ARG);
    CHECK_EQ(spw_unmap(m, 0), SPW_E_ARG);
    CHECK_EQ(spw_unmap(m, -1), SPW_E_ARG);
    CHECK_EQ(spw_unmap(m + 1, page), -EINVAL);
    CHECK_EQ(spw_unmap(m, n), 0);

    /* a size that is not a page multiple: the tail of the last page is part of the mapping */
    unsigned char *odd = spw_map(page + 10);
    CHECK(odd != NULL);
    if (odd != NULL) {
        memset(odd, 0x5A, (size_t)(page + 10));
        CHECK_EQ(spw_discard(odd + 1, page + 9), 0);
        CHECK(odd[0] == 0x5A && all_bytes(odd + 1, page + 9, 0));
        CHECK_EQ(spw_unmap(odd, page + 10), 0);
    }
}

/* A file system that refuses O_DIRECT (ramfs; tmpfs before Linux 6.6): a new file opened with
 * O_CREAT|O_EXCL|O_DIRECT is created once, buffered, and says so. Needs root to mount ramfs;
 * skipped (and said) where mounting is not allowed. */
static void test_no_direct_file_system(void) {
    char mnt[600];
    path_of(mnt, sizeof mnt, "ramfs-XXXXXX");
    if (mkdtemp(mnt) == NULL) {
        CHECK(0);
        return;
    }
    if (mount("ramfs", mnt, "ramfs", 0, "mode=0700") != 0) {
        printf("test_core: skipped the O_DIRECT fallback on ramfs: cannot mount it (%s)\n", strerror(errno));
        rmdir(mnt);
        return;
    }
    char p[700];
    snprintf(p, sizeof p, "%s/new.dat", mnt);
    int direct = -1;
    int fd = spw_open(p, SPW_O_CREAT | SPW_O_EXCL | SPW_O_DIRECT, 0600, &direct);
    CHECK(fd >= 0);
    CHECK_EQ(direct, 0);
    if (fd >= 0) {
        unsigned char *buf = spw_aligned_alloc(4096, 4096);
        unsigned char *back = spw_aligned_alloc(4096, 4096);
        fill_random(buf, 4096);
        CHECK_EQ(spw_pwrite(fd, buf, 4096, 4096), 4096);
        CHECK_EQ(spw_pread(fd, back, 4096, 4096), 4096);
        CHECK(memcmp(buf, back, 4096) == 0);
        CHECK_EQ(spw_close(fd), 0);
        spw_aligned_free(buf);
        spw_aligned_free(back);
    }
    CHECK_EQ(spw_open(p, SPW_O_CREAT | SPW_O_EXCL | SPW_O_DIRECT, 0600, &direct), -EEXIST);
    fd = spw_open(p, SPW_O_DIRECT, 0, &direct); /* an existing file: opened buffered as well */
    CHECK(fd >= 0 && direct == 0);
    if (fd >= 0) spw_close(fd);
    unlink(p);
    CHECK(umount2(mnt, MNT_DETACH) == 0);
    rmdir(mnt);
}

static void test_files(void) {
    char p[600];
    path_of(p, sizeof p, "files.dat");
    unlink(p);
    int direct = -1;
    int fd = spw_open(p, SPW_O_CREAT | SPW_O_EXCL | SPW_O_DIRECT, 0600, &direct);
    CHECK(fd >= 0);
    CHECK(direct == 0 || direct == 1);
    struct stat st;
    CHECK(stat(p, &st) == 0 && (st.st_mode & 0777) == 0600);
    int again = spw_open(p, SPW_O_CREAT | SPW_O_EXCL, 0600, &direct);
    CHECK_EQ(again, -EEXIST);

    unsigned char *buf = spw_aligned_alloc(3 * 4096, 4096);
    fill_random(buf, 3 * 4096);
    CHECK_EQ(spw_pwrite(fd, buf, 3 * 4096, 4096), 3 * 4096);
    CHECK_EQ(spw_file_size(fd), 4 * 4096);
    unsigned char *back = spw_aligned_alloc(4 * 4096, 4096);
    CHECK_EQ(spw_pread(fd, back, 3 * 4096, 4096), 3 * 4096);
    CHECK(memcmp(buf, back, 3 * 4096) == 0);
    /* the hole at the start reads as zeros */
    CHECK_EQ(spw_pread(fd, back, 4096, 0), 4096);
    int zero = 1;
    for (int i = 0; i < 4096; i++) zero &= back[i] == 0;
    CHECK(zero);
    /* past the end: short read, then 0 */
    CHECK_EQ(spw_pread(fd, back, 2 * 4096, 3 * 4096), 4096);
    CHECK_EQ(spw_pread(fd, back, 4096, 100 * 4096), 0);
    /* bad arguments never reach the kernel */
    CHECK_EQ(spw_pread(fd, back, -1, 0), SPW_E_ARG);
    CHECK_EQ(spw_pread(fd, back, 4096, -4096), SPW_E_ARG);
    CHECK_EQ(spw_pread(fd, NULL, 4096, 0), SPW_E_ARG);
    CHECK_EQ(spw_pwrite(fd, buf, 4096, INT64_MAX - 10), SPW_E_ARG);
    if (direct) {
        /* O_DIRECT refuses a misaligned transfer with EINVAL, and says so */
        CHECK_EQ(spw_pread(fd, back + 1, 4096, 0), -EINVAL);
    }
    CHECK_EQ(spw_fallocate(fd, 0, 8 * 4096), 0);
    CHECK_EQ(spw_file_size(fd), 8 * 4096);
    int ph = spw_punch_hole(fd, 4096, 4096);
    CHECK(ph == 0 || ph == -EOPNOTSUPP);
    if (ph == 0) {
        CHECK_EQ(spw_pread(fd, back, 4096, 4096), 4096);
        zero = 1;
        for (int i = 0; i < 4096; i++) zero &= back[i] == 0;
        CHECK(zero);
        CHECK_EQ(spw_file_size(fd), 8 * 4096); /* KEEP_SIZE */
    }
    CHECK_EQ(spw_ftruncate(fd, 4096), 0);
    CHECK_EQ(spw_file_size(fd), 4096);
    CHECK_EQ(spw_ftruncate(fd, -1), SPW_E_ARG);
    CHECK_EQ(spw_fdatasync(fd), 0);
    CHECK_EQ(spw_close(fd), 0);
    /* a closed descriptor is EBADF, not a crash */
    CHECK_EQ(spw_pread(fd, back, 4096, 0), -EBADF);
    CHECK_EQ(spw_fdatasync(fd), -EBADF);
    CHECK_EQ(spw_file_size(fd), -EBADF);
    CHECK_EQ(spw_close(-1), -EBADF);

    /* read-only refuses writes; missing file is ENOENT; symlinks refused with NOFOLLOW */
    fd = spw_open(p, SPW_O_RDONLY, 0, &direct);
    CHECK(fd >= 0);
    CHECK_EQ(spw_pwrite(fd, buf, 4096, 0), -EBADF);
    spw_close(fd);
    char missing[600];
    path_of(missing, sizeof missing, "no-such-file");
    CHECK_EQ(spw_open(missing, 0, 0, &direct), -ENOENT);
    char link[600];
    path_of(link, sizeof link, "link.dat");
    unlink(link);
    CHECK(symlink(p, link) == 0);
    CHECK_EQ(spw_open(link, SPW_O_NOFOLLOW, 0, &direct), -ELOOP);
    CHECK_EQ(spw_open(p, 0x400, 0, &direct), SPW_E_ARG);
    CHECK_EQ(spw_open(NULL, 0, 0, &direct), SPW_E_ARG);
    unlink(link);
    unlink(p);
    spw_aligned_free(buf);
    spw_aligned_free(back);
}

static void test_codec(void) {
    spw_codec *c = spw_codec_new();
    CHECK(c != NULL);
    enum { N = 256 * 1024 };
    unsigned char *src = malloc(N), *dst = malloc(N + 1024), *back = malloc(N);
    fill_csv(src, N);
    int64_t bound = spw_compress_bound(N);
    unsigned char *frame = malloc((size_t)bound);
    int levels[] = {-5, -1, 1, 3, 5, 19};
    for (size_t i = 0; i < sizeof levels / sizeof *levels; i++) {
        int64_t n = spw_compress(c, frame, bound, src, N, levels[i]);
        CHECK(n > 0 && n < N);
        CHECK_EQ(spw_decompress(c, back, N, frame, n), N);
        CHECK(memcmp(src, back, N) == 0);
    }
    CHECK_EQ(spw_compress(c, frame, bound, src, N, spw_zstd_max_level() + 1), SPW_E_LEVEL);
    CHECK_EQ(spw_compress(c, frame, bound, src, N, spw_zstd_min_level() - 1), SPW_E_LEVEL);
    CHECK_EQ(spw_compress(c, frame, 10, src, N, 1), SPW_E_TOO_LARGE);
    /* the context still works after an error */
    int64_t n = spw_compress(c, frame, bound, src, N, 1);
    CHECK(n > 0);
    CHECK_EQ(spw_decompress(c, back, N, frame, n), N);
    /* corrupt and truncated frames are errors, never crashes */
    CHECK(spw_decompress(c, back, N, frame, n / 2) < 0);
    frame[n / 2] ^= 0x5A;
    int64_t r = spw_decompress(c, back, N, frame, n);
    CHECK(r < 0 || r == N); /* a flip inside literals may still decode; the spill crc catches that */
    CHECK_EQ(spw_decompress(c, back, 10, frame, n), SPW_E_TOO_LARGE);
    fill_random(frame, 1000);
    CHECK(spw_decompress(c, back, N, frame, 1000) < 0);
    CHECK_EQ(spw_decompress(NULL, back, N, frame, 10), SPW_E_ARG);
    free(src), free(dst), free(back), free(frame);
    spw_codec_free(c);
    spw_codec_free(NULL);
}

static void test_spill_blocks(void) {
    spw_codec *c = spw_codec_new();
    enum { N = 256 * 1024 };
    unsigned char *src = malloc(N), *back = malloc(N);
    int64_t cap = spw_spill_stored_size(spw_compress_bound(N));
    unsigned char *blk = spw_aligned_alloc(cap, 4096);
    int codec = -1;
    int64_t payload = -1;

    /* compressible: zstd, stored size a multiple of 4096 smaller than raw */
    fill_csv(src, N);
    int64_t stored = spw_spill_encode(c, src, N, 1, N - 1, blk, cap, &codec, &payload);
    CHECK(stored > 0 && stored % 4096 == 0 && stored < N);
    CHECK_EQ(codec, SPW_CODEC_ZSTD);
    CHECK_EQ(stored, spw_spill_stored_size(payload));
    CHECK_EQ(spw_spill_decode(c, blk, stored, back, N), N);
    CHECK(memcmp(src, back, N) == 0);
    /* wrong expected length is a format error */
    CHECK_EQ(spw_spill_decode(c, blk, stored, back, N - 1), SPW_E_FORMAT);

    /* incompressible: stored raw when the frame would not be smaller */
    fill_random(src, N);
    stored = spw_spill_encode(c, src, N, 1, N - 1, blk, cap, &codec, &payload);
    CHECK_EQ(codec, SPW_CODEC_RAW);
    CHECK_EQ(payload, N);
    CHECK_EQ(stored, N + 4096);
    CHECK_EQ(spw_spill_decode(c, blk, stored, back, N), N);
    CHECK(memcmp(src, back, N) == 0);
    /* LEVEL_NONE always raw; max_payload forces raw */
    fill_csv(src, N);
    spw_spill_encode(c, src, N, SPW_LEVEL_NONE, N, blk, cap, &codec, &payload);
    CHECK_EQ(codec, SPW_CODEC_RAW);
    spw_spill_encode(c, src, N, 1, 100, blk, cap, &codec, &payload);
    CHECK_EQ(codec, SPW_CODEC_RAW);
    CHECK_EQ(spw_spill_encode(c, src, N, 99, N, blk, cap, &codec, &payload), SPW_E_LEVEL);
    CHECK_EQ(spw_spill_encode(c, src, N, 1, N, blk, 100, &codec, &payload), SPW_E_TOO_LARGE);

    /* every single-byte flip in header and payload is caught */
    stored = spw_spill_encode(c, src, N, 1, N - 1, blk, cap, &codec, &payload);
    int caught = 0, flips = 0;
    for (int64_t i = 0; i < 32 + payload; i += (i < 32 ? 1 : 97)) {
        blk[i] ^= 0x01;
        int64_t r = spw_spill_decode(c, blk, stored, back, N);
        blk[i] ^= 0x01;
        flips++;
        caught += r < 0;
    }
    CHECK_EQ(caught, flips);
    CHECK_EQ(spw_spill_decode(c, blk, 16, back, N), SPW_E_FORMAT);

    /* hostile blocks: random mutations of length fields and bytes never crash or hang */
    for (int round = 0; round < 2000; round++) {
        stored = spw_spill_encode(c, src, N, 1, N - 1, blk, cap, &codec, &payload);
        int muts = 1 + (int)(next_rand() % 4);
        for (int m = 0; m < muts; m++) {
            int64_t at = (int64_t)(next_rand() % (uint64_t)stored);
            if (next_rand() % 3 == 0) at = (int64_t)(next_rand() % 32);
            blk[at] = (unsigned char)next_rand();
        }
        int64_t r = spw_spill_decode(c, blk, stored, back, N);
        CHECK(r == N || r < 0);
    }
    free(src), free(back);
    spw_aligned_free(blk);
    spw_codec_free(c);
}

static void test_spill_file(void) {
    char p[600];
    path_of(p, sizeof p, "spill.tmp");
    unlink(p);
    int direct = 0;
    int fd = spw_open(p, SPW_O_CREAT | SPW_O_EXCL | SPW_O_DIRECT, 0600, &direct);
    CHECK(fd >= 0);
    spw_codec *c = spw_codec_new();
    enum { N = 256 * 1024 };
    unsigned char *src = spw_aligned_alloc(N, 4096), *back = spw_aligned_alloc(N, 4096);
    int64_t cap = spw_spill_stored_size(spw_compress_bound(N));
    unsigned char *scratch = spw_aligned_alloc(cap, 4096);
    int codec;
    int64_t payload;
    fill_csv(src, N);
    int64_t stored = spw_spill_write(c, fd, 8192, src, N, 1, 224 * 1024 - 32, scratch, cap, &codec, &payload);
    CHECK(stored > 0 && stored <= 224 * 1024);
    CHECK_EQ(codec, SPW_CODEC_ZSTD);
    CHECK_EQ(spw_spill_read(c, fd, 8192, stored, back, N, scratch, cap), N);
    CHECK(memcmp(src, back, N) == 0);
    /* truncated file: short, not garbage */
    CHECK_EQ(spw_ftruncate(fd, 8192 + 4096), 0);
    CHECK_EQ(spw_spill_read(c, fd, 8192, stored, back, N, scratch, cap), SPW_E_SHORT);
    /* misaligned offset / scratch refused before any I/O */
    CHECK_EQ(spw_spill_write(c, fd, 100, src, N, 1, N, scratch, cap, &codec, &payload), SPW_E_ARG);
    CHECK_EQ(spw_spill_read(c, fd, 0, stored, back, N, scratch + 1, cap - 1), SPW_E_ARG);
    CHECK_EQ(spw_spill_read(c, fd, 0, 100, back, N, scratch, cap), SPW_E_ARG);
    spw_close(fd);
    CHECK_EQ(spw_spill_write(c, fd, 0, src, N, 1, N, scratch, cap, &codec, &payload), -EBADF);
    unlink(p);
    spw_aligned_free(src), spw_aligned_free(back), spw_aligned_free(scratch);
    spw_codec_free(c);
}

/* Input and output that share memory are refused before any work: zstd would overwrite input it
   has not read, and the block would carry a valid crc over the wrong bytes. */
static void test_overlap(void) {
    char p[600];
    path_of(p, sizeof p, "overlap.tmp");
    unlink(p);
    int direct = 0;
    int fd = spw_open(p, SPW_O_CREAT | SPW_O_EXCL, 0600, &direct);
    CHECK(fd >= 0);
    spw_codec *c = spw_codec_new();
    enum { N = 1 << 20 };
    int64_t cap = spw_spill_stored_size(spw_compress_bound(N)) + N; /* room for a dst after the block */
    unsigned char *scratch = spw_aligned_alloc(cap, 4096), *mem = malloc(3 * N);
    int codec;
    int64_t payload;
    /* spill write of the scratch itself, of its tail, of its last byte: zstd, raw, and in memory */
    int64_t at[] = {0, 32, cap - N, cap - 1};
    for (size_t i = 0; i < sizeof at / sizeof *at; i++) {
        int64_t len = at[i] == cap - 1 ? 1 : N;
        fill_csv(scratch + at[i], len);
        CHECK_EQ(spw_spill_write(c, fd, 0, scratch + at[i], len, 1, len - 1, scratch, cap, &codec, &payload), SPW_E_OVERLAP);
        CHECK_EQ(spw_spill_write(c, fd, 0, scratch + at[i], len, SPW_LEVEL_NONE, len, scratch, cap, &codec, &payload),
                 SPW_E_OVERLAP);
        CHECK_EQ(spw_spill_encode(c, scratch + at[i], len, 1, len, scratch, cap, &codec, &payload), SPW_E_OVERLAP);
    }
    CHECK_EQ(spw_file_size(fd), 0); /* refused before the pwrite */
    /* a source that ends where the output begins does not overlap it */
    fill_csv(scratch, 4096);
    CHECK(spw_spill_encode(c, scratch, 4096, 1, 4095, scratch + 4096, cap - 4096, &codec, &payload) > 0);

    fill_csv(mem, N);
    int64_t stored = spw_spill_write(c, fd, 0, mem, N, 1, N - 1, scratch, cap, &codec, &payload);
    CHECK(stored > 0 && codec == SPW_CODEC_ZSTD && cap - stored >= N);
    /* spill read into the block's bytes of the scratch (the pread would overwrite dst): refused */
    CHECK_EQ(spw_spill_read(c, fd, 0, stored, scratch + 4096, N, scratch, cap), SPW_E_OVERLAP);
    CHECK_EQ(spw_spill_read(c, fd, 0, stored, scratch + stored - 1, 1, scratch, cap), SPW_E_OVERLAP);
    /* ... into the scratch just past the block: allowed, and the bytes come back */
    CHECK_EQ(spw_spill_read(c, fd, 0, stored, scratch + stored, N, scratch, cap), N);
    CHECK(memcmp(scratch + stored, mem, N) == 0);
    CHECK_EQ(spw_spill_decode(c, scratch, stored, scratch + 100, N), SPW_E_OVERLAP);

    /* compress and decompress: src and dst sharing one byte, either way round, are refused */
    CHECK_EQ(spw_compress(c, mem + N - 1, N, mem, N, 1), SPW_E_OVERLAP);
    CHECK_EQ(spw_compress(c, mem, N, mem + N - 1, 1, 1), SPW_E_OVERLAP);
    int64_t n = spw_compress(c, mem + N, 2 * N, mem, N, 1); /* adjacent: fine */
    CHECK(n > 0 && n < N);
    CHECK_EQ(spw_decompress(c, mem + N + n - 1, N, mem + N, n), SPW_E_OVERLAP);
    CHECK_EQ(spw_decompress(c, mem, N + 1, mem + N, n), SPW_E_OVERLAP);
    /* and the contexts still work */
    CHECK_EQ(spw_decompress(c, mem + N + n, N, mem + N, n), N);
    CHECK(memcmp(mem + N + n, mem, N) == 0);
    spw_close(fd);
    unlink(p);
    free(mem);
    spw_aligned_free(scratch);
    spw_codec_free(c);
}

static void test_strerror(void) {
    CHECK(strstr(spw_strerror(-ENOSPC), "space") != NULL);
    CHECK(strstr(spw_strerror(SPW_E_CHECKSUM), "crc32c") != NULL);
    CHECK(strstr(spw_strerror(SPW_E_OVERLAP), "overlap") != NULL);
    CHECK(spw_strerror(-999999) != NULL);
    CHECK(spw_strerror(12345) != NULL);
    CHECK_EQ(spw_noop(42), 42);
}

int main(void) {
    const char *d = getenv("SPW_TEST_DIR");
    snprintf(dir, sizeof dir, "%s", d ? d : "/tmp");
    mkdir(dir, 0700);
    test_crc32c();
    test_memory();
    test_mapped_memory();
    test_files();
    test_no_direct_file_system();
    test_codec();
    test_spill_blocks();
    test_spill_file();
    test_overlap();
    test_strerror();
    return check_report("test_core");
}
