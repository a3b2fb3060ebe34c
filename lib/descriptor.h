/* descriptor.h: the platform descriptor, <root>/etc/slate/platform, shared by libslate and the platform. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

#define PLATFORM_DESCRIPTOR "etc/slate/platform"
#define PLATFORM_DESCRIPTOR_MAX (64 * 1024)
#define API_LEVEL_MAX 10000

struct platform_desc {
    unsigned api_level;     /* the newest level this device provides */
    unsigned min_api_level; /* the oldest it still runs; nothing below, no compatibility layer */
    bool eol;               /* no new feature versions any more */
    char release[64];
};

/* Parse a descriptor's text; checks 1 <= min_api_level <= api_level. */
int platform_desc_parse(const char *data, size_t len, struct platform_desc *ret, struct err *e);

/* Read and parse <rootfd>/etc/slate/platform (rootfd may be AT_FDCWD with an absolute root path). */
int platform_desc_load(int rootfd, struct platform_desc *ret, struct err *e);

/* The descriptor as text, as platform_desc_parse reads it. Returns the length or -ENOSPC. */
int platform_desc_format(const struct platform_desc *d, char *buf, size_t size);

/* Read at most max bytes of a regular file relative to dirfd, without following a final symlink. */
int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len);
