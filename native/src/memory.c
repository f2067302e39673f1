/* memory.c — aligned, zero-filled memory for frames and I/O buffers; mapped slabs that give pages back. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <unistd.h>

#include "spillway.h"

/* Beyond any x86-64/aarch64 user address space: a larger size is a caller's bug, not a request. */
#define SPW_MAX_SIZE ((int64_t)1 << 47)

void *spw_aligned_alloc(int64_t size, int64_t alignment) {
    if (size <= 0 || alignment < (int64_t)sizeof(void *) || (alignment & (alignment - 1)) != 0
        || size > SPW_MAX_SIZE) {
        return NULL;
    }
    void *p = NULL;
    if (posix_memalign(&p, (size_t)alignment, (size_t)size) != 0) return NULL;
    memset(p, 0, (size_t)size);
    return p;
}

void spw_aligned_free(void *p) { free(p); }

void *spw_map(int64_t size) {
    if (size <= 0 || size > SPW_MAX_SIZE) return NULL;
    void *p = mmap(NULL, (size_t)size, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE, -1, 0);
    return p == MAP_FAILED ? NULL : p;
}

int spw_unmap(void *p, int64_t size) {
    if (p == NULL || size <= 0 || size > SPW_MAX_SIZE) return SPW_E_ARG;
    return munmap(p, (size_t)size) == 0 ? 0 : -errno;
}

int spw_discard(void *p, int64_t len) {
    if (p == NULL || len < 0 || len > SPW_MAX_SIZE || (uintptr_t)len > UINTPTR_MAX - (uintptr_t)p) return SPW_E_ARG;
    /* sysconf, not a cached static: the core keeps no global state, and glibc answers from the auxv */
    uintptr_t page = (uintptr_t)sysconf(_SC_PAGESIZE);
    uintptr_t start = (uintptr_t)p, end = start + (uintptr_t)len;
    uintptr_t first = (start + page - 1) & ~(page - 1); /* first whole page inside the range */
    uintptr_t last = end & ~(page - 1);                 /* end of the last whole page inside it */
    if (first >= last) {                                 /* no whole page: zero it all */
        memset(p, 0, (size_t)len);
        return 0;
    }
    /* the whole pages first: a range madvise refuses comes back as its error, the partial ends untouched */
    if (madvise((void *)first, last - first, MADV_DONTNEED) != 0) return -errno;
    memset(p, 0, first - start);
    memset((void *)last, 0, end - last);
    return 0;
}
