/*
 * spw_bench.c — the native benchmark harness: the same spw_ functions the JVM backends call, with
 * no JVM, as the reference every Java-side benchmark is a ratio against (shared/BENCHMARKS.md).
 *
 *   spw_bench [--file PATH] [--size-mib N] [--rounds N] [--data csv|random|both] [--level L]
 *             [--direct-ops N] [--spill-blocks N] [--only NAME[,NAME...]]
 *
 * Measures, each over --rounds rounds after one warm-up round, and prints one JSON object:
 *   noop                          an empty call (spw_noop), the floor of any binding
 *   pread_4k_cached               4 KiB pread from the page cache (buffered fd, warmed region)
 *   pread_4k_direct_t1 / _t2      4 KiB random O_DIRECT reads, 1 and 2 threads, over the whole file
 *   write_256k_raw                256 KiB O_DIRECT pwrite (spw_pwrite), sequential slots
 *   spill_write_256k_<data>       spw_spill_write: zstd compress + one pwrite, fused
 *   spill_read_256k_<data>        spw_spill_read: one pread + crc32c check + zstd decompress, fused
 *   spill_roundtrip_256k_<data>   write then read back the same slot (what the JMH benchmark does)
 * For each: wall-clock ns per operation (median, min, max, spread = (max - min) / median), CPU ns per
 * operation (process CPU time, median/min/max), and the matching throughput (MB/s, or IOPS for the
 * 4 KiB reads) at the wall-clock median.
 *
 * The data file is created (random bytes) if missing or too small and kept for the next run, so the
 * JVM benchmarks and this harness can read the very same file; the spill file PATH.spill is
 * removed at exit. Defaults finish in well under 30 s on the 2-core machines of BENCHMARKS.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "spillway.h"

#define KIB 1024
#define MIB (1024 * 1024)
#define PAGE (4 * KIB)
#define BLOCK (256 * KIB)
#define MAX_ROUNDS 101
#define SPILL_SLOTS 64                  /* default blocks per spill round: 16 MiB raw */
#define CACHED_REGION (64LL * MIB)      /* page-cache reads stay in this warmed prefix */
#define NOOP_CALLS 20000000L
#define CACHED_READS 200000L
/* DuckDB's rule: a compressed block must fit the 224 KiB size class with its header, else raw. */
#define MAX_PAYLOAD (224 * KIB - SPW_SPILL_HEADER)

struct options {
    const char *file;
    int64_t size;
    int rounds;
    int csv, random;
    int level;
    long direct_ops;
    const char *only;
    int spill_slots;
};

static struct options opt = {NULL, 256LL * MIB, 5, 1, 1, 1, 4000, NULL, SPILL_SLOTS};

static void die(const char *what, int64_t code) {
    fprintf(stderr, "spw_bench: %s: %s\n", what, spw_strerror(code));
    exit(1);
}

static void usage(const char *msg) {
    if (msg) fprintf(stderr, "spw_bench: %s\n", msg);
    fprintf(stderr,
            "usage: spw_bench [--file PATH] [--size-mib N] [--rounds N] [--data csv|random|both]\n"
            "                 [--level L] [--direct-ops N] [--spill-blocks N] [--only NAME[,NAME...]]\n"
            "  --file PATH      data file for the reads (default: $TMPDIR or /tmp, spw_bench.dat);\n"
            "                   created with random bytes if missing or smaller than --size-mib\n"
            "  --size-mib N     data file size in MiB (default 256, at least 64)\n"
            "  --rounds N       measured rounds after one warm-up (default 5, at most %d)\n"
            "  --data KIND      spill data: csv, random or both (default both)\n"
            "  --level L        zstd level for the spill writes (default 1)\n"
            "  --direct-ops N   O_DIRECT reads per thread per round (default 4000)\n"
            "  --spill-blocks N 256 KiB blocks per spill round (default %d)\n"
            "  --only NAMES     run only the named benchmarks (prefixes, comma-separated)\n",
            MAX_ROUNDS, SPILL_SLOTS);
    exit(2);
}

static long parse_long(const char *flag, const char *v, long lo, long hi) {
    char *end;
    errno = 0;
    long x = strtol(v, &end, 10);
    if (errno != 0 || *end != '\0' || end == v || x < lo || x > hi) {
        fprintf(stderr, "spw_bench: %s needs an integer in [%ld, %ld], got '%s'\n", flag, lo, hi, v);
        exit(2);
    }
    return x;
}

/* CPU time of the whole process: a preempted round costs wall time but not CPU time, so on a
 * shared machine this is the steadier measure of what a call itself costs. */
static double cpu_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static double now_ns(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e9 + (double)t.tv_nsec;
}

static int wanted(const char *name) {
    if (opt.only == NULL) return 1;
    const char *p = opt.only;
    while (*p) {
        size_t n = strcspn(p, ",");
        if (n > 0 && strncmp(name, p, n) == 0) return 1;
        p += n + (p[n] == ',');
    }
    return 0;
}

/* xorshift64*: reproducible data and offsets, thread-local by passing the state. */
static uint64_t next_rand(uint64_t *s) {
    *s ^= *s >> 12;
    *s ^= *s << 25;
    *s ^= *s >> 27;
    return *s * 0x2545F4914F6CDD1Dull;
}

static void fill_random(unsigned char *p, int64_t n, uint64_t seed) {
    for (int64_t i = 0; i < n; i += 8) {
        uint64_t v = next_rand(&seed);
        memcpy(p + i, &v, (size_t)(n - i < 8 ? n - i : 8));
    }
}

/* CSV-like text in the shape of the Java tests' TestData.csv: compresses about 2-3x at level 1. */
static void fill_csv(unsigned char *p, int64_t n, uint64_t seed) {
    int64_t i = 0;
    while (i < n) {
        char line[96];
        uint64_t a = next_rand(&seed) % 100000, b = next_rand(&seed) % 5000, c = next_rand(&seed) % 1000,
                 d = next_rand(&seed) % 100, e = 1 + next_rand(&seed) % 28;
        int k = snprintf(line, sizeof line, "%llu,customer_%llu,%llu.%02llu,2026-11-%llu\n", (unsigned long long)a,
                         (unsigned long long)b, (unsigned long long)c, (unsigned long long)d, (unsigned long long)e);
        for (int j = 0; j < k && i < n; j++) p[i++] = (unsigned char)line[j];
    }
}

static void *page_alloc(int64_t n) {
    void *p = spw_aligned_alloc(n, SPW_ALIGNMENT);
    if (p == NULL) die("spw_aligned_alloc", SPW_E_NOMEM);
    return p;
}

/* ---- results ---- */

struct result {
    char name[64];
    double ns[MAX_ROUNDS];     /* wall-clock ns per operation, one per round */
    double cpu[MAX_ROUNDS];    /* CPU ns (user + system, all threads) per operation, one per round */
    int n;
    double bytes_per_op;       /* for MB/s; 0 = report IOPS instead */
    long ops_per_round;
    double ratio;              /* compression: raw / stored bytes, 0 if not applicable */
};

static struct result results[32];
static int nresults;

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void record(struct result *r, double ns, double cpu) {
    r->ns[r->n] = ns;
    r->cpu[r->n] = cpu;
    r->n++;
}

static double median_of(const double *sorted, int n) {
    return n % 2 ? sorted[n / 2] : (sorted[n / 2 - 1] + sorted[n / 2]) / 2;
}

static struct result *new_result(const char *name, long ops, double bytes_per_op) {
    struct result *r = &results[nresults++];
    snprintf(r->name, sizeof r->name, "%s", name);
    r->ops_per_round = ops;
    r->bytes_per_op = bytes_per_op;
    return r;
}

/* A JSON string: the path is the only text from outside, so escape what JSON requires. */
static void print_json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\') {
            printf("\\%c", ch);
        } else if (ch < 0x20) {
            printf("\\u%04x", ch);
        } else {
            putchar(ch);
        }
    }
    putchar('"');
}

static void print_json(int direct) {
    printf("{\n  \"tool\": \"spw_bench\",\n  \"version\": \"%s\",\n  \"file\": ", SPW_VERSION_STRING);
    print_json_string(opt.file);
    printf(",\n  \"file_bytes\": %lld,\n  \"direct\": %s,\n", (long long)opt.size, direct ? "true" : "false");
    printf("  \"rounds\": %d,\n  \"level\": %d,\n  \"crc32c_hardware\": %s,\n  \"results\": [\n", opt.rounds,
           opt.level, spw_crc32c_hardware() ? "true" : "false");
    for (int i = 0; i < nresults; i++) {
        struct result *r = &results[i];
        double s[MAX_ROUNDS];
        memcpy(s, r->ns, sizeof(double) * (size_t)r->n);
        qsort(s, (size_t)r->n, sizeof(double), cmp_double);
        double med = median_of(s, r->n);
        double c[MAX_ROUNDS];
        memcpy(c, r->cpu, sizeof(double) * (size_t)r->n);
        qsort(c, (size_t)r->n, sizeof(double), cmp_double);
        printf("    {\"name\": \"%s\", \"unit\": \"ns/op\", \"median\": %.2f, \"min\": %.2f, \"max\": %.2f, "
               "\"spread_pct\": %.1f, \"cpu_median\": %.2f, \"cpu_min\": %.2f, \"cpu_max\": %.2f, "
               "\"ops_per_round\": %ld",
               r->name, med, s[0], s[r->n - 1], med > 0 ? 100.0 * (s[r->n - 1] - s[0]) / med : 0.0, median_of(c, r->n),
               c[0], c[r->n - 1], r->ops_per_round);
        if (r->bytes_per_op > 0) {
            printf(", \"mb_per_s\": %.1f", r->bytes_per_op / med * 1e3);
        } else if (strncmp(r->name, "pread_4k", 8) == 0) {
            printf(", \"iops\": %.0f", 1e9 / med);
        }
        if (r->ratio > 0) printf(", \"compression_ratio\": %.2f", r->ratio);
        printf("}%s\n", i + 1 < nresults ? "," : "");
    }
    printf("  ]\n}\n");
}

/* ---- the benchmarks ---- */

static volatile unsigned sink;

static void bench_noop(void) {
    struct result *r = new_result("noop", NOOP_CALLS, 0);
    for (int round = -1; round < opt.rounds; round++) {
        unsigned acc = 0; /* consumes every result, so no call can be dropped; unsigned wraps freely */
        double t0 = now_ns(), c0 = cpu_ns();
        for (long i = 0; i < NOOP_CALLS; i++) acc += (unsigned)spw_noop((int)(i & 0xFFFF));
        double t = now_ns() - t0, cpu = cpu_ns() - c0;
        sink = acc;
        if (round >= 0) record(r, t / NOOP_CALLS, cpu / NOOP_CALLS);
    }
}

static void bench_pread_cached(const char *path) {
    int direct;
    int fd = spw_open(path, SPW_O_RDONLY, 0, &direct);
    if (fd < 0) die("open (buffered)", fd);
    unsigned char *buf = page_alloc(MIB);
    for (int64_t off = 0; off < CACHED_REGION; off += MIB) { /* pull the region into the page cache */
        int64_t n = spw_pread(fd, buf, MIB, off);
        if (n < 0) die("pread (warm-up)", n);
    }
    struct result *r = new_result("pread_4k_cached", CACHED_READS, 0);
    uint64_t seed = 42;
    for (int round = -1; round < opt.rounds; round++) {
        double t0 = now_ns(), c0 = cpu_ns();
        for (long i = 0; i < CACHED_READS; i++) {
            int64_t off = (int64_t)(next_rand(&seed) % (CACHED_REGION / PAGE)) * PAGE;
            int64_t n = spw_pread(fd, buf, PAGE, off);
            if (n != PAGE) die("pread (cached)", n < 0 ? n : SPW_E_SHORT);
        }
        double t = now_ns() - t0, cpu = cpu_ns() - c0;
        if (round >= 0) record(r, t / CACHED_READS, cpu / CACHED_READS);
    }
    spw_aligned_free(buf);
    spw_close(fd);
}

struct reader {
    int fd;
    long ops;
    uint64_t seed;
    int64_t err;
};

static void *direct_reader(void *arg) {
    struct reader *rd = arg;
    unsigned char *buf = spw_aligned_alloc(PAGE, SPW_ALIGNMENT);
    if (buf == NULL) {
        rd->err = SPW_E_NOMEM;
        return NULL;
    }
    int64_t pages = opt.size / PAGE;
    for (long i = 0; i < rd->ops; i++) {
        int64_t off = (int64_t)(next_rand(&rd->seed) % (uint64_t)pages) * PAGE;
        int64_t n = spw_pread(rd->fd, buf, PAGE, off);
        if (n != PAGE) {
            rd->err = n < 0 ? n : SPW_E_SHORT;
            break;
        }
    }
    spw_aligned_free(buf);
    return NULL;
}

static void bench_pread_direct(int fd, int threads) {
    char name[64];
    snprintf(name, sizeof name, "pread_4k_direct_t%d", threads);
    /* ns/op is wall time over all reads of all threads: 1e9 / ns is the aggregate IOPS */
    struct result *r = new_result(name, opt.direct_ops * threads, 0);
    for (int round = -1; round < opt.rounds; round++) {
        pthread_t tid[2];
        struct reader rd[2];
        double t0 = now_ns(), c0 = cpu_ns();
        for (int t = 0; t < threads; t++) {
            rd[t] = (struct reader){fd, opt.direct_ops, 1000u * (uint64_t)(round + 2) + (uint64_t)t, 0};
            if (pthread_create(&tid[t], NULL, direct_reader, &rd[t]) != 0) die("pthread_create", -EAGAIN);
        }
        for (int t = 0; t < threads; t++) pthread_join(tid[t], NULL);
        double t = now_ns() - t0, cpu = cpu_ns() - c0;
        for (int k = 0; k < threads; k++) {
            if (rd[k].err < 0) die("pread (O_DIRECT)", rd[k].err);
        }
        double ops = (double)(opt.direct_ops * threads);
        if (round >= 0) record(r, t / ops, cpu / ops);
    }
}

static void bench_write_raw(int sfd, const unsigned char *src) {
    struct result *r = new_result("write_256k_raw", opt.spill_slots, BLOCK);
    for (int round = -1; round < opt.rounds; round++) {
        double t0 = now_ns(), c0 = cpu_ns();
        for (int i = 0; i < opt.spill_slots; i++) {
            int64_t w = spw_pwrite(sfd, src, BLOCK, (int64_t)i * (BLOCK + PAGE));
            if (w < 0) die("pwrite (raw)", w);
        }
        double t = now_ns() - t0, cpu = cpu_ns() - c0;
        if (round >= 0) record(r, t / opt.spill_slots, cpu / opt.spill_slots);
    }
}

/* Spill write, read, and write-then-read of the same slot, on one kind of data. */
static void bench_spill(int sfd, const char *kind, const unsigned char *src) {
    spw_codec *c = spw_codec_new();
    if (c == NULL) die("spw_codec_new", SPW_E_NOMEM);
    int64_t scratch_cap = spw_spill_stored_size(spw_compress_bound(BLOCK));
    unsigned char *scratch = page_alloc(scratch_cap);
    unsigned char *dst = page_alloc(BLOCK);
    int64_t *stored = malloc(sizeof(int64_t) * (size_t)opt.spill_slots);
    if (stored == NULL) die("malloc", SPW_E_NOMEM);
    const int64_t slot = BLOCK + PAGE; /* room for a raw block with its header */
    char name[64];
    int do_write, do_read, do_round;

    snprintf(name, sizeof name, "spill_write_256k_%s", kind);
    do_write = wanted(name);
    struct result *w = do_write ? new_result(name, opt.spill_slots, BLOCK) : NULL;
    double stored_total = 0;
    for (int round = -1; round < opt.rounds; round++) { /* always run: the reads need the blocks */
        double t0 = now_ns(), c0 = cpu_ns();
        for (int i = 0; i < opt.spill_slots; i++) {
            int codec;
            int64_t payload;
            stored[i] = spw_spill_write(c, sfd, i * slot, src, BLOCK, opt.level, MAX_PAYLOAD, scratch, scratch_cap,
                                        &codec, &payload);
            if (stored[i] < 0) die("spw_spill_write", stored[i]);
            stored_total += (double)stored[i];
        }
        double t = now_ns() - t0, cpu = cpu_ns() - c0;
        if (w && round >= 0) record(w, t / opt.spill_slots, cpu / opt.spill_slots);
    }
    if (w) w->ratio = (double)BLOCK * opt.spill_slots * (opt.rounds + 1) / stored_total;

    snprintf(name, sizeof name, "spill_read_256k_%s", kind);
    do_read = wanted(name);
    if (do_read) {
        struct result *rr = new_result(name, opt.spill_slots, BLOCK);
        for (int round = -1; round < opt.rounds; round++) {
            double t0 = now_ns(), c0 = cpu_ns();
            for (int i = 0; i < opt.spill_slots; i++) {
                int64_t n = spw_spill_read(c, sfd, i * slot, stored[i], dst, BLOCK, scratch, scratch_cap);
                if (n != BLOCK) die("spw_spill_read", n < 0 ? n : SPW_E_SHORT);
            }
            double t = now_ns() - t0, cpu = cpu_ns() - c0;
            if (round >= 0) record(rr, t / opt.spill_slots, cpu / opt.spill_slots);
        }
        if (memcmp(dst, src, BLOCK) != 0) die("spill read-back compare", SPW_E_FORMAT);
    }

    snprintf(name, sizeof name, "spill_roundtrip_256k_%s", kind);
    do_round = wanted(name);
    if (do_round) {
        struct result *rt = new_result(name, opt.spill_slots, BLOCK);
        for (int round = -1; round < opt.rounds; round++) {
            double t0 = now_ns(), c0 = cpu_ns();
            for (int i = 0; i < opt.spill_slots; i++) {
                int codec;
                int64_t payload;
                int64_t s = spw_spill_write(c, sfd, 0, src, BLOCK, opt.level, MAX_PAYLOAD, scratch, scratch_cap, &codec,
                                            &payload);
                if (s < 0) die("spw_spill_write", s);
                int64_t n = spw_spill_read(c, sfd, 0, s, dst, BLOCK, scratch, scratch_cap);
                if (n != BLOCK) die("spw_spill_read", n < 0 ? n : SPW_E_SHORT);
            }
            double t = now_ns() - t0, cpu = cpu_ns() - c0;
            if (round >= 0) record(rt, t / opt.spill_slots, cpu / opt.spill_slots);
        }
    }
    free(stored);
    spw_aligned_free(dst);
    spw_aligned_free(scratch);
    spw_codec_free(c);
}

/* Creates or extends the data file with random bytes; an existing file of the right size is reused. */
static void prepare_file(const char *path) {
    int direct;
    int fd = spw_open(path, SPW_O_CREAT, 0600, &direct);
    if (fd < 0) die(path, fd);
    int64_t have = spw_file_size(fd);
    if (have < 0) die("fstat", have);
    if (have < opt.size) {
        unsigned char *buf = page_alloc(MIB);
        for (int64_t off = have / MIB * MIB; off < opt.size; off += MIB) {
            fill_random(buf, MIB, (uint64_t)off + 1);
            int64_t w = spw_pwrite(fd, buf, MIB, off);
            if (w < 0) die("writing the data file", w);
        }
        spw_aligned_free(buf);
        int s = spw_fdatasync(fd);
        if (s < 0) die("fdatasync", s);
    }
    spw_close(fd);
}

int main(int argc, char **argv) {
    static char default_file[4096];
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) usage(NULL);
        if (i + 1 >= argc) usage("missing value after an option (or unknown option)");
        const char *v = argv[++i];
        if (strcmp(a, "--file") == 0) {
            opt.file = v;
        } else if (strcmp(a, "--size-mib") == 0) {
            opt.size = parse_long(a, v, 64, 1L << 20) * MIB;
        } else if (strcmp(a, "--rounds") == 0) {
            opt.rounds = (int)parse_long(a, v, 1, MAX_ROUNDS);
        } else if (strcmp(a, "--level") == 0) {
            opt.level = (int)parse_long(a, v, spw_zstd_min_level(), spw_zstd_max_level());
        } else if (strcmp(a, "--direct-ops") == 0) {
            opt.direct_ops = parse_long(a, v, 1, 100000000L);
        } else if (strcmp(a, "--spill-blocks") == 0) {
            opt.spill_slots = (int)parse_long(a, v, 1, 65536);
        } else if (strcmp(a, "--only") == 0) {
            opt.only = v;
        } else if (strcmp(a, "--data") == 0) {
            opt.csv = strcmp(v, "csv") == 0 || strcmp(v, "both") == 0;
            opt.random = strcmp(v, "random") == 0 || strcmp(v, "both") == 0;
            if (!opt.csv && !opt.random) usage("--data must be csv, random or both");
        } else {
            fprintf(stderr, "spw_bench: unknown option '%s'\n", a);
            usage(NULL);
        }
    }
    if (opt.file == NULL) {
        const char *tmp = getenv("TMPDIR");
        snprintf(default_file, sizeof default_file, "%s/spw_bench.dat", tmp && *tmp ? tmp : "/tmp");
        opt.file = default_file;
    }
    prepare_file(opt.file);

    int direct;
    int dfd = spw_open(opt.file, SPW_O_RDONLY | SPW_O_DIRECT, 0, &direct);
    if (dfd < 0) die("open (O_DIRECT)", dfd);
    if (!direct) fprintf(stderr, "spw_bench: %s refuses O_DIRECT; the direct rows read through the page cache\n", opt.file);

    if (wanted("noop")) bench_noop();
    if (wanted("pread_4k_cached")) bench_pread_cached(opt.file);
    if (wanted("pread_4k_direct_t1")) bench_pread_direct(dfd, 1);
    if (wanted("pread_4k_direct_t2")) bench_pread_direct(dfd, 2);
    spw_close(dfd);

    int need_spill = wanted("write_256k_raw");
    static const char *const spill_names[] = {"spill_write_256k_csv", "spill_read_256k_csv",
                                              "spill_roundtrip_256k_csv", "spill_write_256k_random",
                                              "spill_read_256k_random", "spill_roundtrip_256k_random"};
    for (size_t i = 0; i < sizeof spill_names / sizeof spill_names[0]; i++) need_spill |= wanted(spill_names[i]);
    if (need_spill) {
        char spill_path[4200];
        snprintf(spill_path, sizeof spill_path, "%s.spill", opt.file);
        int sdirect;
        int sfd = spw_open(spill_path, SPW_O_CREAT | SPW_O_TRUNC | SPW_O_DIRECT, 0600, &sdirect);
        if (sfd < 0) die(spill_path, sfd);
        unlink(spill_path); /* nothing is left behind, even if a benchmark dies */
        unsigned char *src = page_alloc(BLOCK);
        if (wanted("write_256k_raw")) {
            fill_random(src, BLOCK, 7);
            bench_write_raw(sfd, src);
        }
        const char *kinds[2] = {"csv", "random"};
        for (int k = 0; k < 2; k++) {
            char prefix[64];
            if ((k == 0 && !opt.csv) || (k == 1 && !opt.random)) continue;
            snprintf(prefix, sizeof prefix, "spill_write_256k_%s", kinds[k]);
            char p2[64], p3[64];
            snprintf(p2, sizeof p2, "spill_read_256k_%s", kinds[k]);
            snprintf(p3, sizeof p3, "spill_roundtrip_256k_%s", kinds[k]);
            if (!wanted(prefix) && !wanted(p2) && !wanted(p3)) continue;
            if (k == 0) {
                fill_csv(src, BLOCK, 6);
            } else {
                fill_random(src, BLOCK, 7);
            }
            bench_spill(sfd, kinds[k], src);
        }
        spw_aligned_free(src);
        spw_close(sfd);
    }
    print_json(direct);
    return 0;
}
