/*
 * jni_binding.c — JNI glue for dev.spillway.io.JniBinding, and nothing else.
 *
 * Rule: Java has already checked every argument (ranges, directness, alignment, open handles);
 * the glue still checks what it cannot trust (a buffer with no address, a range past its
 * capacity) and returns SPW_E_ARG rather than touching memory. Errors go back as negative codes;
 * the glue throws nothing except OutOfMemoryError from the JVM itself.
 */
#include <jni.h>
#include <stdint.h>

#include "dev_spillway_io_JniBinding.h"
#include "spillway.h"

/* Address of buf[off, off+len), or NULL if the buffer is not direct or the range is outside it. */
static char *addr(JNIEnv *env, jobject buf, jint off, jint len) {
    if (buf == NULL || off < 0 || len < 0) return NULL;
    char *base = (*env)->GetDirectBufferAddress(env, buf);
    jlong cap = (*env)->GetDirectBufferCapacity(env, buf);
    if (base == NULL || cap < 0 || (jlong)off + len > cap) return NULL;
    return base + off;
}

JNIEXPORT jstring JNICALL Java_dev_spillway_io_JniBinding_version(JNIEnv *env, jobject self) {
    (void)self;
    return (*env)->NewStringUTF(env, SPW_VERSION_STRING);
}

JNIEXPORT jstring JNICALL Java_dev_spillway_io_JniBinding_strerror(JNIEnv *env, jobject self, jlong code) {
    (void)self;
    return (*env)->NewStringUTF(env, spw_strerror(code));
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_zstdMinLevel(JNIEnv *env, jobject self) {
    (void)env, (void)self;
    return spw_zstd_min_level();
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_zstdMaxLevel(JNIEnv *env, jobject self) {
    (void)env, (void)self;
    return spw_zstd_max_level();
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_open(JNIEnv *env, jobject self, jbyteArray path, jint flags,
                                                            jint mode) {
    (void)self;
    if (path == NULL) return SPW_E_ARG;
    jsize n = (*env)->GetArrayLength(env, path);
    jbyte *p = (*env)->GetByteArrayElements(env, path, NULL);
    if (p == NULL) return SPW_E_NOMEM;
    int r;
    int direct = 0;
    if (n == 0 || p[n - 1] != 0) {
        r = SPW_E_ARG; /* must be NUL-terminated */
    } else {
        r = spw_open((const char *)p, flags, mode, &direct);
    }
    (*env)->ReleaseByteArrayElements(env, path, p, JNI_ABORT);
    return r < 0 ? (jlong)r : ((jlong)r << 1) | direct;
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_close(JNIEnv *env, jobject self, jint fd) {
    (void)env, (void)self;
    return spw_close(fd);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_pread(JNIEnv *env, jobject self, jint fd, jobject buf, jint off,
                                                             jint len, jlong file_off) {
    (void)self;
    char *p = addr(env, buf, off, len);
    return p == NULL ? SPW_E_ARG : spw_pread(fd, p, len, file_off);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_pwrite(JNIEnv *env, jobject self, jint fd, jobject buf, jint off,
                                                              jint len, jlong file_off) {
    (void)self;
    char *p = addr(env, buf, off, len);
    return p == NULL ? SPW_E_ARG : spw_pwrite(fd, p, len, file_off);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_fdatasync(JNIEnv *env, jobject self, jint fd) {
    (void)env, (void)self;
    return spw_fdatasync(fd);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_fallocate(JNIEnv *env, jobject self, jint fd, jlong off, jlong len) {
    (void)env, (void)self;
    return spw_fallocate(fd, off, len);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_ftruncate(JNIEnv *env, jobject self, jint fd, jlong len) {
    (void)env, (void)self;
    return spw_ftruncate(fd, len);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_punchHole(JNIEnv *env, jobject self, jint fd, jlong off, jlong len) {
    (void)env, (void)self;
    return spw_punch_hole(fd, off, len);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_fileSize(JNIEnv *env, jobject self, jint fd) {
    (void)env, (void)self;
    return spw_file_size(fd);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_alignedAlloc(JNIEnv *env, jobject self, jlong size,
                                                                    jlong alignment) {
    (void)env, (void)self;
    return (jlong)(intptr_t)spw_aligned_alloc(size, alignment);
}

JNIEXPORT void JNICALL Java_dev_spillway_io_JniBinding_alignedFree(JNIEnv *env, jobject self, jlong address) {
    (void)env, (void)self;
    spw_aligned_free((void *)(intptr_t)address);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_map(JNIEnv *env, jobject self, jlong size) {
    (void)env, (void)self;
    return (jlong)(intptr_t)spw_map(size);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_unmap(JNIEnv *env, jobject self, jlong address, jlong size) {
    (void)env, (void)self;
    return spw_unmap((void *)(intptr_t)address, size);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_discard(JNIEnv *env, jobject self, jobject buf, jint off,
                                                              jint len) {
    (void)self;
    char *p = addr(env, buf, off, len);
    return p == NULL ? SPW_E_ARG : spw_discard(p, len);
}

JNIEXPORT jobject JNICALL Java_dev_spillway_io_JniBinding_wrap(JNIEnv *env, jobject self, jlong address, jint size) {
    (void)self;
    if (address == 0 || size <= 0) return NULL;
    return (*env)->NewDirectByteBuffer(env, (void *)(intptr_t)address, size);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_crc32c(JNIEnv *env, jobject self, jint crc, jobject buf, jint off,
                                                             jint len) {
    (void)self;
    char *p = addr(env, buf, off, len);
    return p == NULL ? crc : (jint)spw_crc32c((uint32_t)crc, p, len);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_codecNew(JNIEnv *env, jobject self) {
    (void)env, (void)self;
    return (jlong)(intptr_t)spw_codec_new();
}

JNIEXPORT void JNICALL Java_dev_spillway_io_JniBinding_codecFree(JNIEnv *env, jobject self, jlong codec) {
    (void)env, (void)self;
    spw_codec_free((spw_codec *)(intptr_t)codec);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_compress(JNIEnv *env, jobject self, jlong codec, jobject src,
                                                                jint src_off, jint src_len, jobject dst, jint dst_off,
                                                                jint dst_cap, jint level) {
    (void)self;
    char *s = addr(env, src, src_off, src_len);
    char *d = addr(env, dst, dst_off, dst_cap);
    if (codec == 0 || s == NULL || d == NULL) return SPW_E_ARG;
    return spw_compress((spw_codec *)(intptr_t)codec, d, dst_cap, s, src_len, level);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_decompress(JNIEnv *env, jobject self, jlong codec, jobject src,
                                                                  jint src_off, jint src_len, jobject dst,
                                                                  jint dst_off, jint dst_cap) {
    (void)self;
    char *s = addr(env, src, src_off, src_len);
    char *d = addr(env, dst, dst_off, dst_cap);
    if (codec == 0 || s == NULL || d == NULL) return SPW_E_ARG;
    return spw_decompress((spw_codec *)(intptr_t)codec, d, dst_cap, s, src_len);
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_spillWrite(JNIEnv *env, jobject self, jlong codec, jint fd,
                                                                  jlong file_off, jobject src, jint src_off,
                                                                  jint src_len, jint level, jint max_payload,
                                                                  jobject scratch, jint scratch_cap) {
    (void)self;
    char *s = addr(env, src, src_off, src_len);
    char *t = addr(env, scratch, 0, scratch_cap);
    if (codec == 0 || s == NULL || t == NULL) return SPW_E_ARG;
    int used_codec = 0;
    int64_t payload = 0;
    int64_t r = spw_spill_write((spw_codec *)(intptr_t)codec, fd, file_off, s, src_len, level, max_payload, t,
                                scratch_cap, &used_codec, &payload);
    return r < 0 ? r : ((jlong)used_codec << 32) | payload;
}

JNIEXPORT jlong JNICALL Java_dev_spillway_io_JniBinding_spillRead(JNIEnv *env, jobject self, jlong codec, jint fd,
                                                                 jlong file_off, jint stored, jobject dst,
                                                                 jint dst_off, jint dst_len, jobject scratch,
                                                                 jint scratch_cap) {
    (void)self;
    char *d = addr(env, dst, dst_off, dst_len);
    char *t = addr(env, scratch, 0, scratch_cap);
    if (codec == 0 || d == NULL || t == NULL) return SPW_E_ARG;
    return spw_spill_read((spw_codec *)(intptr_t)codec, fd, file_off, stored, d, dst_len, t, scratch_cap);
}

JNIEXPORT jint JNICALL Java_dev_spillway_io_JniBinding_noop(JNIEnv *env, jobject self, jint x) {
    (void)env, (void)self;
    return spw_noop(x);
}
