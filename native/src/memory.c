/* memory.c — aligned, zero-filled memory for frames and I/O buffers. */
#include <stdlib.h>
#include <string.h>

#include "spillway.h"

void *spw_aligned_alloc(int64_t size, int64_t alignment) {
    if (size <= 0 || alignment < (int64_t)sizeof(void *) || (alignment & (alignment - 1)) != 0
        || size > ((int64_t)1 << 47)) { /* beyond any x86-64/aarch64 user address space */
        return NULL;
    }
    void *p = NULL;
    if (posix_memalign(&p, (size_t)alignment, (size_t)size) != 0) return NULL;
    memset(p, 0, (size_t)size);
    return p;
}

void spw_aligned_free(void *p) { free(p); }
