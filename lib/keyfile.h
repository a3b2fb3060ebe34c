/* keyfile.h: a strict, bounded reader for the INI-style files Slate uses (manifests, descriptors, keys). */
#pragma once

#include <stddef.h>

#include "err.h"

/*
 * The format, as in systemd units and desktop files:
 *
 *   # comment                  lines starting with # or ; are comments
 *   [section]                  or [section name]
 *   key = value                value trimmed; " #" starts an inline comment
 *
 * Refused with the line number: a NUL byte or control character, a line over
 * KEYFILE_LINE_MAX bytes, more than KEYFILE_SECTIONS_MAX sections, a key outside a section, a malformed section header
 * or key, a section or key given twice. Values are not unquoted or unescaped.
 */
#define KEYFILE_LINE_MAX 4096
#define KEYFILE_SECTIONS_MAX 256

struct keyfile_entry {
    const char *section; /* "package", or "service web" for [service web] */
    const char *key;     /* NULL for the one entry that marks an empty section */
    const char *value;
    unsigned line;
};

struct keyfile {
    char *text; /* a private copy, cut into the strings above */
    struct keyfile_entry *entries;
    size_t n_entries;
};

/* Parse len bytes of data (need not be NUL-terminated). On success *ret owns a new keyfile. */
int keyfile_parse(const char *data, size_t len, struct keyfile **ret, struct err *e);

/* Returns NULL; accepts NULL. */
struct keyfile *keyfile_free(struct keyfile *kf);

/* The value of key in section, or NULL. */
const char *keyfile_get(const struct keyfile *kf, const char *section, const char *key);

/*
 * The value of key in section as a decimal number in [min, max], in *ret.
 * Returns 0, -ENOENT when the key is absent (no message), or -E_MALFORMED.
 */
int keyfile_get_uint(const struct keyfile *kf, const char *section, const char *key, unsigned long min,
                     unsigned long max, unsigned long *ret, struct err *e);

/* Parse a whole decimal number in [min, max] with no sign, blanks or leading zeros. */
int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret);

/* Whether the file has a section of that name (even an empty one). */
int keyfile_has_section(const struct keyfile *kf, const char *section);

static inline void keyfile_freep(struct keyfile **kf) {
    keyfile_free(*kf);
}
#define _cleanup_keyfile_ __attribute__((cleanup(keyfile_freep)))
