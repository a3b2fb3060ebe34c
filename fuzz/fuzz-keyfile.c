/* fuzz-keyfile.c: libFuzzer target for the keyfile reader and the formats built on it (descriptor, keys, ABI table). */
#include <string.h>

#include "abi.h"
#include "descriptor.h"
#include "fuzz.h"
#include "keyfile.h"
#include "keys.h"

static void fuzz_keyfile(const char *text, size_t len) {
    struct keyfile *kf = NULL;
    struct err e = {0};
    int r = keyfile_parse(text, len, &kf, &e);
    fuzz_trace("keyfile", r, &e);
    if (r == 0) {
        unsigned long n;
        for (size_t i = 0; i < kf->n_entries; i++) {
            const struct keyfile_entry *en = &kf->entries[i];
            if (en->key && keyfile_get(kf, en->section, en->key) != en->value)
                abort(); /* a key given twice must have been refused */
            if (en->key)
                (void)keyfile_get_uint(kf, en->section, en->key, 0, 1000000, &n, &e);
            (void)keyfile_has_section(kf, en->section);
        }
    }
    keyfile_free(kf);
}

/* What parses must format, and the formatted text must parse back to the same thing. */
static void fuzz_descriptor(const char *text, size_t len) {
    struct platform_desc d, again;
    struct err e = {0};
    char buf[512];
    int r = platform_desc_parse(text, len, &d, &e);
    fuzz_trace("platform descriptor", r, &e);
    if (r < 0)
        return;
    if (d.min_api_level < 1 || d.min_api_level > d.api_level || !memchr(d.release, '\0', sizeof d.release))
        abort();
    int n = platform_desc_format(&d, buf, sizeof buf);
    if (n < 0 || platform_desc_parse(buf, (size_t)n, &again, &e) < 0 || again.api_level != d.api_level ||
        again.min_api_level != d.min_api_level || again.eol != d.eol || strcmp(again.release, d.release) != 0)
        abort();
}

static void fuzz_public_key(const char *text, size_t len) {
    struct public_key k, again;
    struct err e = {0};
    char buf[512];
    int r = public_key_parse(text, len, &k, &e);
    fuzz_trace("public key", r, &e);
    if (r < 0)
        return;
    int n = public_key_format(&k, buf, sizeof buf);
    if (n < 0 || public_key_parse(buf, (size_t)n, &again, &e) < 0 || memcmp(&k, &again, sizeof k) != 0)
        abort();
}

static void fuzz_signature(const char *text, size_t len) {
    char id[KEY_ID_HEX];
    uint8_t sig[crypto_sign_BYTES];
    struct err e = {0};
    fuzz_trace("signature", signature_parse(text, len, id, sig, &e), &e);
}

static void fuzz_abi(const char *text, size_t len) {
    struct abi_table *t = NULL;
    struct err e = {0};
    int r = abi_parse(text, len, &t, &e);
    fuzz_trace("ABI table", r, &e);
    if (r == 0)
        for (size_t i = 0; i < t->n_symbols; i++)
            if (abi_find(t, t->symbols[i].name) != &t->symbols[i])
                abort();
    abi_free(t);
}

/* The first byte picks the parser, so one corpus can hold all five formats. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static void (*const parsers[])(const char *, size_t) = {
        fuzz_keyfile, fuzz_descriptor, fuzz_public_key, fuzz_signature, fuzz_abi,
    };
    if (size < 1)
        return 0;
    parsers[data[0] % (sizeof parsers / sizeof *parsers)]((const char *)data + 1, size - 1);
    return 0;
}
