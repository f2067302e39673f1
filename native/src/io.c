/* io.c — file operations: open (O_DIRECT with fallback), full pread/pwrite loops, sync, sizing. */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "spillway.h"

int spw_open(const char *path, int flags, int mode, int *out_direct) {
    if (path == NULL || out_direct == NULL || (flags & ~0x3F) != 0 || (mode & ~07777) != 0) {
        return SPW_E_ARG;
    }
    int oflags = O_CLOEXEC | ((flags & SPW_O_RDONLY) ? O_RDONLY : O_RDWR);
    if (flags & SPW_O_CREAT) oflags |= O_CREAT;
    if (flags & SPW_O_EXCL) oflags |= O_EXCL;
    if (flags & SPW_O_NOFOLLOW) oflags |= O_NOFOLLOW;
    if (flags & SPW_O_TRUNC) oflags |= O_TRUNC;
    *out_direct = 0;
    /* Open without O_DIRECT, then ask for it with fcntl: Linux creates the file before open(2)
     * refuses O_DIRECT (tmpfs before 6.6, ramfs, some FUSE), so trying O_DIRECT first would leave
     * an empty file behind and make a retry with O_EXCL fail with EEXIST. */
    int fd;
    do {
        fd = open(path, oflags, (mode_t)mode);
    } while (fd < 0 && errno == EINTR);
    if (fd < 0) return -errno;
    if (flags & SPW_O_DIRECT) {
        int fl = fcntl(fd, F_GETFL);
        /* EINVAL: the file system refuses O_DIRECT; stay buffered, *out_direct = 0 says so. */
        if (fl >= 0 && fcntl(fd, F_SETFL, fl | O_DIRECT) == 0) *out_direct = 1;
    }
    return fd;
}

int spw_close(int fd) {
    if (fd < 0) return -EBADF;
    /* Linux releases the descriptor even when close reports EINTR: never retry. */
    return close(fd) == 0 ? 0 : -errno;
}

int64_t spw_pread(int fd, void *buf, int64_t len, int64_t off) {
    if (buf == NULL || len < 0 || off < 0 || off > INT64_MAX - len) return SPW_E_ARG;
    char *p = buf;
    int64_t done = 0;
    while (done < len) {
        ssize_t n = pread(fd, p + done, (size_t)(len - done), (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) break; /* end of file */
        done += n;
    }
    return done;
}

int64_t spw_pwrite(int fd, const void *buf, int64_t len, int64_t off) {
    if (buf == NULL || len < 0 || off < 0 || off > INT64_MAX - len) return SPW_E_ARG;
    const char *p = buf;
    int64_t done = 0;
    while (done < len) {
        ssize_t n = pwrite(fd, p + done, (size_t)(len - done), (off_t)(off + done));
        if (n < 0) {
            if (errno == EINTR) continue;
            return -errno;
        }
        if (n == 0) return -EIO; /* no progress: would loop forever */
        done += n;
    }
    return done;
}

int spw_fdatasync(int fd) {
    int r;
    do {
        r = fdatasync(fd);
    } while (r < 0 && errno == EINTR);
    return r == 0 ? 0 : -errno;
}

int spw_fallocate(int fd, int64_t off, int64_t len) {
    if (off < 0 || len <= 0 || off > INT64_MAX - len) return SPW_E_ARG;
    int r;
    do {
        r = fallocate(fd, 0, (off_t)off, (off_t)len);
    } while (r < 0 && errno == EINTR);
    return r == 0 ? 0 : -errno;
}

int spw_ftruncate(int fd, int64_t len) {
    if (len < 0) return SPW_E_ARG;
    int r;
    do {
        r = ftruncate(fd, (off_t)len);
    } while (r < 0 && errno == EINTR);
    return r == 0 ? 0 : -errno;
}

int spw_punch_hole(int fd, int64_t off, int64_t len) {
    if (off < 0 || len <= 0 || off > INT64_MAX - len) return SPW_E_ARG;
    int r;
    do {
        r = fallocate(fd, FALLOC_FL_PUNCH_HOLE | FALLOC_FL_KEEP_SIZE, (off_t)off, (off_t)len);
    } while (r < 0 && errno == EINTR);
    return r == 0 ? 0 : -errno;
}

int64_t spw_file_size(int fd) {
    struct stat st;
    if (fstat(fd, &st) != 0) return -errno;
    return (int64_t)st.st_size;
}
