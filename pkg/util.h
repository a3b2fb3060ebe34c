/* util.h: small helpers the package system shares: hex, versions, paths and directory-fd file work. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <unistd.h>

#include "err.h"

static inline void freep(void *p) {
    free(*(void **)p);
}
static inline void closep(int *fd) {
    if (*fd >= 0)
        close(*fd);
}
#define _cleanup_free_ __attribute__((cleanup(freep)))
#define _cleanup_close_ __attribute__((cleanup(closep)))

/* Hand ownership out of a cleanup variable. */
#define TAKE_PTR(p)                                                                                                    \
    ({                                                                                                                 \
        __typeof__(p) _p = (p);                                                                                        \
        (p) = NULL;                                                                                                    \
        _p;                                                                                                            \
    })
#define TAKE_FD(fd)                                                                                                    \
    ({                                                                                                                 \
        int _fd = (fd);                                                                                                \
        (fd) = -1;                                                                                                     \
        _fd;                                                                                                           \
    })

/* Lower-case hex of n bytes into out (2n+1 bytes). */
void hex_encode(const uint8_t *in, size_t n, char *out);
/* Exactly 2n hex digits into n bytes; returns 0 or -EINVAL. */
int hex_decode(const char *in, uint8_t *out, size_t n);

/* MAJOR.MINOR.PATCH, each a number without leading zeros below 2^31. */
struct version {
    uint32_t major, minor, patch;
};
int version_parse(const char *s, struct version *ret);
int version_cmp(const struct version *a, const struct version *b);
int version_cmp_str(const char *a, const char *b); /* both must parse */

/*
 * A package path: relative, '/'-separated, no empty, "." or ".." component, at
 * most PATH_BYTES_MAX bytes, every byte from a portable set (letters, digits and
 * "._-+@,:~%"). Anything else could mean something different to some tool.
 */
#define PATH_BYTES_MAX 1024
bool path_is_valid(const char *path);

/*
 * Whether a symlink at link_path pointing to target stays inside the package
 * tree: target is relative and, resolved lexically from link_path's folder,
 * never climbs above the root.
 */
bool symlink_stays_inside(const char *link_path, const char *target);

/* Make every missing folder of path (relative to dirfd), never following a symlink. */
int mkdir_parents_at(int dirfd, const char *path);

/*
 * Open the folder holding path (relative to dirfd, or absolute), creating missing
 * folders when asked, never following a symlink on the way. *ret_base is the last name.
 */
int open_parent_at(int dirfd, const char *path, bool create, const char **ret_base);

/* Remove dirfd/name and everything under it; missing is fine. Never follows symlinks. */
int rm_rf_at(int dirfd, const char *name);

/* Write data to dirfd/name atomically: temporary file, fsync, rename, fsync of the folder. */
int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode);

int fsync_dir_at(int dirfd, const char *name);

/* Write all of buf, retrying on EINTR and short writes. */
int write_all(int fd, const void *buf, size_t len);

/*
 * Decode the UTF-8 sequence at s (at most n bytes): its length, with the code point in
 * *cp; 0 when it is not valid UTF-8 (overlong, surrogate, beyond U+10FFFF, cut short).
 */
size_t utf8_next(const char *s, size_t n, uint32_t *cp);

/* Whether s is valid UTF-8 with no control character (C0, DEL or C1). */
bool utf8_printable(const char *s);

/* Parse a memory size such as 64M, 512K, 1G or 4096 (bytes). */
int parse_size(const char *s, uint64_t *ret);
