/* fetch.h: getting repository files over HTTP(S) with libcurl, or from a local folder. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"

/*
 * A location is an http:// or https:// URL, or a local path (a repository folder
 * on disk or a mounted medium). Any other scheme is refused. Redirects are
 * followed (at most 5), to http or https only.
 */
struct fetch_options {
    long connect_timeout_s; /* to establish the connection */
    long stall_timeout_s;   /* with no byte received for this long, give up (a stalled server) */
    unsigned retries;       /* further attempts after a transport failure (reset, stall, 5xx) */
};

/* Defaults: 10 s to connect, 15 s of silence, 3 retries; $SLATE_FETCH_TIMEOUT (seconds) sets the stall timeout. */
struct fetch_options fetch_options_default(void);

/* base + "/" + name, for a URL or a path; the caller frees. NULL when out of memory. */
char *fetch_join(const char *base, const char *name);

/*
 * The whole resource into memory: at most max_bytes (more is refused as soon as it
 * is seen, whatever the server declared), NUL-terminated. Refusals name the
 * location and the cause: HTTP status, connection reset, stall, too large.
 */
int fetch_memory(const char *location, size_t max_bytes, const struct fetch_options *o, char **ret, size_t *ret_len,
                 struct err *e);

/*
 * The resource into dirfd/name: exactly size bytes whose BLAKE2b-256 is hash.
 * Bytes stream into dirfd/name.part (never past size: endless data is cut there),
 * a transport failure is retried, resuming from what .part holds (HTTP Range),
 * and only a complete, matching file is renamed to name. On a mismatch the .part
 * is removed, so the next try starts clean.
 */
int fetch_file(const char *location, uint64_t size, const uint8_t hash[32], int dirfd, const char *name,
               const struct fetch_options *o, struct err *e);
