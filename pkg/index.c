/* index.c: reading, writing and signing repository indexes. */
#include "index.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "keyfile.h"
#include "manifest.h"
#include "sodium-dl.h"
#include "zstd-dl.h"

#define MAGIC "slate-index 1\n"
#define BODY_MAGIC "slate-index-body 1"
#define COMPRESSION_LEVEL 19

struct repo_index *index_free(struct repo_index *x) {
    if (x) {
        for (size_t i = 0; i < x->n_entries; i++) {
            free(x->entries[i].id);
            free(x->entries[i].version_str);
        }
        free(x->entries);
        free(x);
    }
    return NULL;
}

static int entry_cmp(const struct index_entry *a, const struct index_entry *b) {
    int r = strcmp(a->id, b->id);
    return r ? r : version_cmp(&a->version, &b->version);
}

/* Split line into at most max space-separated fields (in place); returns how many. */
static size_t split(char *line, char **field, size_t max) {
    size_t n = 0;
    for (char *s = line; n < max;) {
        field[n++] = s;
        char *sp = strchr(s, ' ');
        if (!sp)
            break;
        *sp = '\0';
        s = sp + 1;
    }
    return n;
}

static int parse_entry(char *line, unsigned lineno, struct index_entry *en, struct err *e) {
    char *f[9];
    unsigned long level;
    unsigned long long size;
    if (split(line, f, 9) != 8 || strcmp(f[0], "p") != 0)
        return err_set(e, -E_MALFORMED, "index line %u: expected 'p ID VERSION LEVEL CLASS SIZE HASH FLAGS'", lineno);
    if (!package_id_valid(f[1]) || version_parse(f[2], &en->version) < 0 || parse_uint(f[3], 1, 10000, &level) < 0 ||
        (strcmp(f[4], "app") && strcmp(f[4], "system")) || hex_decode(f[6], en->hash, sizeof en->hash) < 0 ||
        (strcmp(f[7], "s") && strcmp(f[7], "-")))
        return err_set(e, -E_MALFORMED, "index line %u: malformed package entry", lineno);
    char *end;
    errno = 0;
    size = strtoull(f[5], &end, 10);
    if (*end || errno || f[5][0] == '-' || f[5][0] == '+' || size == 0 || size > (UINT64_C(1) << 36))
        return err_set(e, -E_MALFORMED, "index line %u: malformed size", lineno);
    en->api_level = (unsigned)level;
    en->system = strcmp(f[4], "system") == 0;
    en->size = size;
    en->security = f[7][0] == 's';
    if (!(en->id = strdup(f[1])) || !(en->version_str = strdup(f[2]))) {
        free(en->id);
        return err_set(e, -ENOMEM, "out of memory");
    }
    return 0;
}

static int parse_header(char *line, unsigned lineno, struct repo_index *x, unsigned *seen, struct err *e) {
    char *f[3];
    unsigned long long v;
    char *end;
    if (split(line, f, 3) != 2)
        return err_set(e, -E_MALFORMED, "index line %u: malformed header", lineno);
    errno = 0;
    v = strtoull(f[1], &end, 10);
    if (*end || errno || !f[1][0] || f[1][0] == '-' || f[1][0] == '+' || v > INT64_MAX)
        return err_set(e, -E_MALFORMED, "index line %u: malformed number", lineno);
    if (strcmp(f[0], "version") == 0 && !(*seen & 1)) {
        x->version = v;
        *seen |= 1;
    } else if (strcmp(f[0], "expires") == 0 && !(*seen & 2)) {
        x->expires = (int64_t)v;
        *seen |= 2;
    } else
        return err_set(e, -E_MALFORMED, "index line %u: unknown or repeated header '%.20s'", lineno, f[0]);
    return 0;
}

int index_parse_body(const char *text, size_t len, struct repo_index **ret, struct err *e) {
    _cleanup_index_ struct repo_index *x = calloc(1, sizeof *x);
    _cleanup_free_ char *copy = malloc(len + 1);
    size_t cap = 0;
    unsigned lineno = 0, seen = 0;
    int r = 0;

    if (!x || !copy)
        return err_set(e, -ENOMEM, "out of memory");
    if (len > INDEX_BODY_MAX || memchr(text, '\0', len))
        return err_set(e, -E_MALFORMED, "index body: too large or not text");
    memcpy(copy, text, len);
    copy[len] = '\0';
    for (char *line = copy, *end = copy + len; r == 0 && line < end;) {
        char *nl = memchr(line, '\n', (size_t)(end - line));
        if (!nl)
            return err_set(e, -E_MALFORMED, "index body: the last line is cut short");
        *nl = '\0';
        lineno++;
        if (lineno == 1)
            r = strcmp(line, BODY_MAGIC) == 0 ? 0 : err_set(e, -E_MALFORMED, "not a Slate index body");
        else if (line[0] == 'p' && line[1] == ' ') {
            if (x->n_entries == INDEX_ENTRIES_MAX)
                return err_set(e, -E_MALFORMED, "index lists more than %d versions", INDEX_ENTRIES_MAX);
            if (x->n_entries == cap) {
                cap = cap ? 2 * cap : 64;
                struct index_entry *grown = reallocarray(x->entries, cap, sizeof *grown);
                if (!grown)
                    return err_set(e, -ENOMEM, "out of memory");
                x->entries = grown;
            }
            struct index_entry *en = &x->entries[x->n_entries];
            *en = (struct index_entry){0};
            if ((r = parse_entry(line, lineno, en, e)) == 0) {
                x->n_entries++;
                if (x->n_entries > 1 && entry_cmp(en - 1, en) >= 0)
                    r = err_set(e, -E_MALFORMED, "index line %u: not sorted, or a version listed twice", lineno);
            }
        } else
            r = parse_header(line, lineno, x, &seen, e);
        line = nl + 1;
    }
    if (r < 0)
        return r;
    if (seen != 3)
        return err_set(e, -E_MALFORMED, "index body: version and expires are required");
    *ret = TAKE_PTR(x);
    return 0;
}

char *index_format_body(const struct repo_index *x, size_t *ret_len) {
    char *buf = NULL;
    size_t len = 0;
    FILE *f = open_memstream(&buf, &len);
    if (!f)
        return NULL;
    fprintf(f, "%s\nversion %llu\nexpires %lld\n", BODY_MAGIC, (unsigned long long)x->version,
            (long long)x->expires);
    for (size_t i = 0; i < x->n_entries; i++) {
        const struct index_entry *en = &x->entries[i];
        char hash[65];
        hex_encode(en->hash, sizeof en->hash, hash);
        fprintf(f, "p %s %s %u %s %llu %s %s\n", en->id, en->version_str, en->api_level, en->system ? "system" : "app",
                (unsigned long long)en->size, hash, en->security ? "s" : "-");
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *ret_len = len;
    return buf;
}

int index_add(struct repo_index *x, const struct index_entry *en, struct err *e) {
    size_t at = 0;
    while (at < x->n_entries && entry_cmp(&x->entries[at], en) < 0)
        at++;
    if (at < x->n_entries && entry_cmp(&x->entries[at], en) == 0) {
        struct index_entry *old = &x->entries[at];
        if (old->size != en->size || memcmp(old->hash, en->hash, sizeof en->hash) != 0 ||
            old->api_level != en->api_level || old->system != en->system)
            return err_set(e, -E_STATE, "%s %s is already in the repository with other contents", en->id,
                           en->version_str);
        old->security |= en->security;
        return 0;
    }
    struct index_entry *grown = reallocarray(x->entries, x->n_entries + 1, sizeof *grown);
    if (!grown)
        return err_set(e, -ENOMEM, "out of memory");
    x->entries = grown;
    struct index_entry copy = *en;
    copy.id = strdup(en->id);
    copy.version_str = strdup(en->version_str);
    if (!copy.id || !copy.version_str) {
        free(copy.id);
        free(copy.version_str);
        return err_set(e, -ENOMEM, "out of memory");
    }
    memmove(&x->entries[at + 1], &x->entries[at], (x->n_entries - at) * sizeof *grown);
    x->entries[at] = copy;
    x->n_entries++;
    return 0;
}

const struct index_entry *index_newest(const struct repo_index *x, const char *id,
                                       bool (*accept)(void *userdata, const struct index_entry *en), void *userdata) {
    /* Entries are sorted by id: find the first of id by bisection, then walk its versions, oldest first. */
    size_t lo = 0, hi = x->n_entries;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (strcmp(x->entries[mid].id, id) < 0)
            lo = mid + 1;
        else
            hi = mid;
    }
    const struct index_entry *best = NULL;
    for (size_t i = lo; i < x->n_entries && strcmp(x->entries[i].id, id) == 0; i++)
        if (!accept || accept(userdata, &x->entries[i]))
            best = &x->entries[i];
    return best;
}

int index_seal(const char *body, size_t len, const struct secret_key *k, char **ret, size_t *ret_len,
               struct err *e) {
    if (dlopen_zstd(e) < 0)
        return -ELIBACC;
    size_t bound = sym_ZSTD_compressBound(len);
    _cleanup_free_ char *z = malloc(bound);
    if (!z)
        return err_set(e, -ENOMEM, "out of memory");
    size_t zlen = sym_ZSTD_compress(z, bound, body, len, COMPRESSION_LEVEL);
    if (sym_ZSTD_isError(zlen))
        return err_set(e, -EIO, "compressing the index: %s", sym_ZSTD_getErrorName(zlen));
    uint8_t sig[crypto_sign_BYTES];
    char sig_hex[2 * crypto_sign_BYTES + 1], head[256];
    sym_crypto_sign_detached(sig, NULL, (const uint8_t *)z, zlen, k->sk);
    hex_encode(sig, sizeof sig, sig_hex);
    int n = snprintf(head, sizeof head, MAGIC "key %s\nsignature %s\n\n", k->pub.id, sig_hex);
    char *out = malloc((size_t)n + zlen);
    if (!out)
        return err_set(e, -ENOMEM, "out of memory");
    memcpy(out, head, (size_t)n);
    memcpy(out + n, z, zlen);
    *ret = out;
    *ret_len = (size_t)n + zlen;
    return 0;
}

/* "NAME VALUE\n" at *p, with VALUE exactly hex_len hex digits; advances *p. */
static const char *header_field(const char **p, const char *end, const char *name, size_t hex_len) {
    size_t n = strlen(name);
    if ((size_t)(end - *p) < n + 1 + hex_len + 1 || memcmp(*p, name, n) != 0 || (*p)[n] != ' ' ||
        (*p)[n + 1 + hex_len] != '\n')
        return NULL;
    const char *value = *p + n + 1;
    *p = value + hex_len + 1;
    return value;
}

int index_open(const char *data, size_t len, int rootfd, struct repo_index **ret, struct err *e) {
    const char *p = data, *end = data + len, *key, *sig;
    char key_id[KEY_ID_HEX], sig_hex[2 * crypto_sign_BYTES + 1];
    uint8_t raw_sig[crypto_sign_BYTES];
    struct public_key signer;

    if (dlopen_zstd(e) < 0)
        return -ELIBACC;
    if (len > INDEX_FILE_MAX)
        return err_set(e, -E_MALFORMED, "index: larger than %u bytes", INDEX_FILE_MAX);
    if (len < strlen(MAGIC) || memcmp(p, MAGIC, strlen(MAGIC)) != 0)
        return err_set(e, -E_MALFORMED, "not a Slate repository index");
    p += strlen(MAGIC);
    if (!(key = header_field(&p, end, "key", KEY_ID_HEX - 1)) ||
        !(sig = header_field(&p, end, "signature", 2 * crypto_sign_BYTES)) || p == end || *p++ != '\n')
        return err_set(e, -E_MALFORMED, "index: malformed header");
    memcpy(key_id, key, KEY_ID_HEX - 1);
    key_id[KEY_ID_HEX - 1] = '\0';
    memcpy(sig_hex, sig, sizeof sig_hex - 1);
    sig_hex[sizeof sig_hex - 1] = '\0';
    if (hex_decode(sig_hex, raw_sig, sizeof raw_sig) < 0)
        return err_set(e, -E_UNTRUSTED, "index: malformed signature");
    int r = trust_lookup(rootfd, key_id, &signer, e);
    if (r < 0)
        return err_prefix(e, r, "index");
    const char *z = p;
    size_t zlen = (size_t)(end - p);
    if (!signature_check(&signer, raw_sig, z, zlen))
        return err_set(e, -E_UNTRUSTED, "index: bad signature: changed after key %s signed it", key_id);

    /* Only signed bytes are decompressed, and only to the size their frame declares, within bounds. */
    unsigned long long size = sym_ZSTD_getFrameContentSize(z, zlen);
    if (size == ZSTD_CONTENTSIZE_ERROR || size == ZSTD_CONTENTSIZE_UNKNOWN || size > INDEX_BODY_MAX)
        return err_set(e, -E_MALFORMED, "index: the body is not one zstd frame of known, bounded size");
    _cleanup_free_ char *body = malloc(size ? size : 1);
    if (!body)
        return err_set(e, -ENOMEM, "out of memory");
    size_t got = sym_ZSTD_decompress(body, size, z, zlen);
    if (sym_ZSTD_isError(got) || got != size)
        return err_set(e, -E_MALFORMED, "index: corrupt body (%s)", sym_ZSTD_isError(got) ? sym_ZSTD_getErrorName(got) : "short");
    struct repo_index *x;
    if ((r = index_parse_body(body, got, &x, e)) < 0)
        return r;
    snprintf(x->key_id, sizeof x->key_id, "%s", key_id);
    *ret = x;
    return 0;
}
