/* index.h: a repository's signed index: every version of every package, with its API level, size and hash. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "keys.h"
#include "util.h"

/*
 * The index file, one per repository (the only file in it that changes):
 *
 *   slate-index 1\n
 *   key <signing key id>\n
 *   signature <ed25519 over the compressed body, 128 hex digits>\n
 *   \n
 *   <one zstd frame: the body>
 *
 * The signature is checked before a byte is decompressed. The body is text:
 *
 *   slate-index-body 1
 *   version 17                 increases with every signing: older ones are refused
 *   expires 1798000000         seconds since the epoch: an expired index is refused
 *   p ID VERSION LEVEL CLASS SIZE HASH FLAGS
 *
 * one p line per package version, sorted by id then version, FLAGS being "s" for a
 * security fix and "-" otherwise. The package file is packages/HASH.slp.
 */
#define INDEX_FILE_MAX (64u << 20)
#define INDEX_BODY_MAX (256u << 20)
#define INDEX_ENTRIES_MAX 1000000

struct index_entry {
    char *id, *version_str; /* owned by the index */
    struct version version;
    unsigned api_level;
    bool system, security;
    uint64_t size;
    uint8_t hash[32];
};

struct repo_index {
    uint64_t version;
    int64_t expires;
    struct index_entry *entries; /* sorted by id, then version */
    size_t n_entries;
    char key_id[KEY_ID_HEX]; /* who signed it, once opened */
};

/*
 * Check the signature against the device's trust store (rootfd), then decompress
 * (bounded) and parse. Freshness (expiry, rollback) is the caller's to judge.
 */
int index_open(const char *data, size_t len, int rootfd, struct repo_index **ret, struct err *e);

/* Parse a body (or a repository's catalog, which has the same form). */
int index_parse_body(const char *text, size_t len, struct repo_index **ret, struct err *e);

/* The body's text for these entries; the caller frees. */
char *index_format_body(const struct repo_index *x, size_t *ret_len);

/* Compress and sign a body into a whole index file; the caller frees. */
int index_seal(const char *body, size_t len, const struct secret_key *k, char **ret, size_t *ret_len, struct err *e);

/*
 * Add an entry (copying its strings), keeping the order. The same id and version
 * again is accepted only with the same bytes (hash and size); its flags are merged.
 */
int index_add(struct repo_index *x, const struct index_entry *en, struct err *e);

/* The newest entry for id that accept() takes, or NULL. */
const struct index_entry *index_newest(const struct repo_index *x, const char *id,
                                       bool (*accept)(void *userdata, const struct index_entry *en), void *userdata);

struct repo_index *index_free(struct repo_index *x);

static inline void index_freep(struct repo_index **x) {
    index_free(*x);
}
#define _cleanup_index_ __attribute__((cleanup(index_freep)))
