/* keys.c: ed25519 keys through libsodium, and the device's trust store. */
#include "keys.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "descriptor.h"
#include "keyfile.h"
#include "util.h"

#define KEYS_SYSTEM "etc/slate/keys/system"
#define KEYS_APPS "etc/slate/keys/apps"
#define KEY_FILE_MAX 4096

int keys_init(struct err *e) {
    return dlopen_sodium(e);
}

static void key_id(const uint8_t pk[crypto_sign_PUBLICKEYBYTES], char out[KEY_ID_HEX]) {
    uint8_t h[crypto_generichash_BYTES];
    sym_crypto_generichash(h, sizeof h, pk, crypto_sign_PUBLICKEYBYTES, NULL, 0);
    hex_encode(h, KEY_ID_BYTES, out);
}

static bool key_name_valid(const char *name) {
    size_t n = strlen(name);
    if (n == 0 || n > KEY_NAME_MAX)
        return false;
    for (const char *c = name; *c; c++)
        if (!((*c >= 'a' && *c <= 'z') || (*c >= 'A' && *c <= 'Z') || (*c >= '0' && *c <= '9') || strchr("._-", *c)))
            return false;
    return true;
}

int public_key_format(const struct public_key *k, char *buf, size_t size) {
    char hex[2 * crypto_sign_PUBLICKEYBYTES + 1];
    hex_encode(k->pk, sizeof k->pk, hex);
    int n = snprintf(buf, size, "# Slate public key %s\n[key]\nname = %s\nalgorithm = ed25519\npublic = %s\n", k->id,
                     k->name, hex);
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

/* Both key files share [key] name and algorithm; field is "public" or "secret". */
static int key_text_parse(const char *text, size_t len, const char *field, uint8_t *out, size_t out_len,
                          char name[KEY_NAME_MAX + 1], struct err *e) {
    _cleanup_keyfile_ struct keyfile *kf = NULL;
    int r = keyfile_parse(text, len, &kf, e);
    if (r < 0)
        return r;
    const char *n = keyfile_get(kf, "key", "name"), *alg = keyfile_get(kf, "key", "algorithm");
    const char *value = keyfile_get(kf, "key", field);
    if (!alg || strcmp(alg, "ed25519") != 0)
        return err_set(e, -E_MALFORMED, "not an ed25519 key");
    if (!value || hex_decode(value, out, out_len) < 0)
        return err_set(e, -E_MALFORMED, "no valid %s key (%zu hex digits) in [key]", field, 2 * out_len);
    snprintf(name, KEY_NAME_MAX + 1, "%s", n && key_name_valid(n) ? n : "unnamed");
    return 0;
}

int public_key_parse(const char *text, size_t len, struct public_key *ret, struct err *e) {
    if (keys_init(e) < 0)
        return -ELIBACC;
    struct public_key k = {0};
    int r = key_text_parse(text, len, "public", k.pk, sizeof k.pk, k.name, e);
    if (r < 0)
        return r;
    key_id(k.pk, k.id);
    *ret = k;
    return 0;
}

static int load_text(const char *path, char **text, size_t *len, struct err *e) {
    int r = read_file_at(AT_FDCWD, path, KEY_FILE_MAX, text, len);
    if (r < 0)
        return err_set(e, r, "%s: %s", path, r == -EFBIG ? "too large for a key file" : strerror(-r));
    return 0;
}

int public_key_load(const char *path, struct public_key *ret, struct err *e) {
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = load_text(path, &text, &len, e);
    if (r < 0)
        return r;
    r = public_key_parse(text, len, ret, e);
    return r < 0 ? err_prefix(e, r, "%s", path) : 0;
}

int secret_key_load(const char *path, struct secret_key *ret, struct err *e) {
    if (keys_init(e) < 0)
        return -ELIBACC;
    _cleanup_free_ char *text = NULL;
    uint8_t seed[crypto_sign_SEEDBYTES];
    struct secret_key k = {0};
    size_t len;
    int r = load_text(path, &text, &len, e);
    if (r == 0)
        r = key_text_parse(text, len, "secret", seed, sizeof seed, k.pub.name, e);
    sym_sodium_memzero(text, text ? len : 0);
    if (r < 0)
        return err_prefix(e, r, "%s", path);
    sym_crypto_sign_seed_keypair(k.pub.pk, k.sk, seed);
    sym_sodium_memzero(seed, sizeof seed);
    key_id(k.pub.pk, k.pub.id);
    *ret = k;
    sym_sodium_memzero(&k, sizeof k);
    return 0;
}

static int write_new_file(const char *path, const char *text, mode_t mode, struct err *e) {
    int fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, errno == EEXIST ? "already exists; not overwriting a key" : strerror(errno));
    int r = write_all(fd, text, strlen(text));
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    close(fd);
    if (r < 0) {
        unlink(path);
        return err_set(e, r, "%s: %s", path, strerror(-r));
    }
    return 0;
}

int key_generate(const char *prefix, const char *name, struct public_key *ret, struct err *e) {
    if (keys_init(e) < 0)
        return -ELIBACC;
    char secret_path[PATH_MAX], public_path[PATH_MAX];
    uint8_t seed[crypto_sign_SEEDBYTES], sk[crypto_sign_SECRETKEYBYTES];
    char seed_hex[2 * sizeof seed + 1], text[512];
    struct public_key k = {0};

    if (!key_name_valid(name))
        return err_set(e, -EINVAL, "key name '%s': use up to %d letters, digits, '.', '_' or '-'", name, KEY_NAME_MAX);
    if (snprintf(secret_path, sizeof secret_path, "%s.key", prefix) >= (int)sizeof secret_path ||
        snprintf(public_path, sizeof public_path, "%s.pub", prefix) >= (int)sizeof public_path)
        return err_set(e, -ENAMETOOLONG, "%s: path too long", prefix);
    if (access(public_path, F_OK) == 0)
        return err_set(e, -EEXIST, "%s: already exists; not overwriting a key", public_path);

    sym_randombytes_buf(seed, sizeof seed);
    sym_crypto_sign_seed_keypair(k.pk, sk, seed);
    sym_sodium_memzero(sk, sizeof sk);
    key_id(k.pk, k.id);
    snprintf(k.name, sizeof k.name, "%s", name);
    hex_encode(seed, sizeof seed, seed_hex);
    sym_sodium_memzero(seed, sizeof seed);
    snprintf(text, sizeof text, "# Slate secret key %s: keep it private\n[key]\nname = %s\nalgorithm = ed25519\nsecret = %s\n",
             k.id, name, seed_hex);
    sym_sodium_memzero(seed_hex, sizeof seed_hex);
    int r = write_new_file(secret_path, text, 0600, e);
    sym_sodium_memzero(text, sizeof text);
    if (r < 0)
        return r;
    if (public_key_format(&k, text, sizeof text) < 0 || (r = write_new_file(public_path, text, 0644, e)) < 0) {
        unlink(secret_path);
        return r < 0 ? r : err_set(e, -ENOSPC, "key text too long");
    }
    *ret = k;
    return 0;
}

int trust_lookup(int rootfd, const char *key_id_hex, struct public_key *ret, struct err *e) {
    static const struct {
        const char *dir;
        int class;
    } stores[] = {{KEYS_SYSTEM, TRUST_SYSTEM}, {KEYS_APPS, TRUST_APPS}};
    uint8_t raw[KEY_ID_BYTES];

    if (hex_decode(key_id_hex, raw, sizeof raw) < 0)
        return err_set(e, -E_UNTRUSTED, "signature names a malformed key id");
    for (size_t i = 0; i < sizeof stores / sizeof *stores; i++) {
        char path[128];
        _cleanup_free_ char *text = NULL;
        size_t len;
        snprintf(path, sizeof path, "%s/%s.pub", stores[i].dir, key_id_hex);
        int r = read_file_at(rootfd, path, KEY_FILE_MAX, &text, &len);
        if (r == -ENOENT)
            continue;
        if (r < 0)
            return err_set(e, r, "%s: %s", path, strerror(-r));
        struct public_key k;
        if ((r = public_key_parse(text, len, &k, e)) < 0)
            return err_prefix(e, r, "%s", path);
        if (strcmp(k.id, key_id_hex) != 0)
            return err_set(e, -E_UNTRUSTED, "%s holds key %s, not %s", path, k.id, key_id_hex);
        *ret = k;
        return stores[i].class;
    }
    return err_set(e, -E_UNTRUSTED, "signed with key %s, which this device does not trust", key_id_hex);
}

int trust_add(int rootfd, const struct public_key *k, bool system, struct err *e) {
    const char *dir = system ? KEYS_SYSTEM : KEYS_APPS, *other = system ? KEYS_APPS : KEYS_SYSTEM;
    char path[128], text[512];
    int r;

    snprintf(path, sizeof path, "%s/%s.pub", other, k->id);
    if (faccessat(rootfd, path, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return err_set(e, -EEXIST, "key %s is already trusted as an %s key; remove %s first", k->id,
                       system ? "app" : "system", path);
    if ((r = mkdir_parents_at(rootfd, dir)) < 0)
        return err_set(e, r, "%s: %s", dir, strerror(-r));
    int dfd = openat(rootfd, dir, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dfd < 0)
        return err_set(e, -errno, "%s: %m", dir);
    snprintf(path, sizeof path, "%s.pub", k->id);
    r = public_key_format(k, text, sizeof text);
    if (r >= 0)
        r = write_file_atomic_at(dfd, path, text, (size_t)r, 0644);
    close(dfd);
    return r < 0 ? err_set(e, r, "%s/%s: %s", dir, path, strerror(-r)) : 0;
}

int signature_format(const struct secret_key *k, const void *msg, size_t len, char *buf, size_t size) {
    uint8_t sig[crypto_sign_BYTES];
    char hex[2 * crypto_sign_BYTES + 1];
    sym_crypto_sign_detached(sig, NULL, msg, len, k->sk);
    hex_encode(sig, sizeof sig, hex);
    int n = snprintf(buf, size, "[signature]\nalgorithm = ed25519\nkey = %s\nvalue = %s\n", k->pub.id, hex);
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}

int signature_parse(const char *text, size_t len, char ret_key_id[KEY_ID_HEX], uint8_t ret_sig[crypto_sign_BYTES],
                    struct err *e) {
    _cleanup_keyfile_ struct keyfile *kf = NULL;
    uint8_t id[KEY_ID_BYTES];
    int r = keyfile_parse(text, len, &kf, e);
    if (r < 0)
        return err_prefix(e, -E_UNTRUSTED, "SIGNATURE");
    const char *alg = keyfile_get(kf, "signature", "algorithm"), *key = keyfile_get(kf, "signature", "key");
    const char *value = keyfile_get(kf, "signature", "value");
    if (!alg || strcmp(alg, "ed25519") != 0)
        return err_set(e, -E_UNTRUSTED, "SIGNATURE: not an ed25519 signature");
    if (!key || hex_decode(key, id, sizeof id) < 0)
        return err_set(e, -E_UNTRUSTED, "SIGNATURE: malformed key id");
    if (!value || hex_decode(value, ret_sig, crypto_sign_BYTES) < 0)
        return err_set(e, -E_UNTRUSTED, "SIGNATURE: malformed signature value");
    snprintf(ret_key_id, KEY_ID_HEX, "%s", key);
    return 0;
}

bool signature_check(const struct public_key *k, const uint8_t sig[crypto_sign_BYTES], const void *msg, size_t len) {
    return sym_crypto_sign_verify_detached(sig, msg, len, k->pk) == 0;
}
