/* errors.c — text for every return code of the core. */
#include <string.h>

#include "spillway.h"

const char *spw_strerror(int64_t code) {
    switch (code) {
    case SPW_E_ARG: return "invalid argument to the Spillway core";
    case SPW_E_CODEC: return "zstd could not decode the data (corrupt or truncated frame)";
    case SPW_E_FORMAT: return "malformed spill block header";
    case SPW_E_CHECKSUM: return "spill block crc32c mismatch";
    case SPW_E_SHORT: return "end of file before the whole block";
    case SPW_E_TOO_LARGE: return "output does not fit the destination";
    case SPW_E_NOMEM: return "out of memory in the Spillway core";
    case SPW_E_LEVEL: return "zstd level out of range";
    case SPW_E_OVERLAP: return "input and output overlap in memory";
    default: break;
    }
    if (code < 0 && code > -4096) {
        /* strerror's table is read-only in glibc for valid errno values */
        return strerror((int)-code);
    }
    return "unknown Spillway error";
}

const char *spw_version(void) { return SPW_VERSION_STRING; }

int spw_noop(int x) { return x; }
