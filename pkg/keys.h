/* keys.h: ed25519 signing keys, their ids, and the device's trust store. */
#pragma once

#include "sodium-dl.h"
#include <stdbool.h>
#include <stdint.h>

#include "err.h"

#define KEY_ID_BYTES 8
#define KEY_ID_HEX (2 * KEY_ID_BYTES + 1)
#define KEY_NAME_MAX 64

/*
 * Key files are keyfiles: NAME.pub holds [key] name, algorithm = ed25519 and
 * public (64 hex digits); NAME.key (mode 0600) holds the 32-byte seed as secret.
 * A key's id is the first 8 bytes of BLAKE2b-256 of its public key, in hex: it
 * is computed, never read, so a file cannot claim another key's id.
 */
struct public_key {
    uint8_t pk[crypto_sign_PUBLICKEYBYTES];
    char id[KEY_ID_HEX];
    char name[KEY_NAME_MAX + 1];
};

struct secret_key {
    uint8_t sk[crypto_sign_SECRETKEYBYTES];
    struct public_key pub;
};

enum trust_class {
    TRUST_NONE,
    TRUST_APPS,   /* may sign class=app packages */
    TRUST_SYSTEM, /* may sign anything */
};

int keys_init(struct err *e); /* load libsodium and initialise it, once: before any key, signature or hash */

/* Write NAME.key and NAME.pub (path prefix given); refuses to overwrite. */
int key_generate(const char *path_prefix, const char *name, struct public_key *ret, struct err *e);

int public_key_parse(const char *text, size_t len, struct public_key *ret, struct err *e);
int public_key_load(const char *path, struct public_key *ret, struct err *e);
int secret_key_load(const char *path, struct secret_key *ret, struct err *e);
int public_key_format(const struct public_key *k, char *buf, size_t size);

/* Find key id in <root>/etc/slate/keys/{system,apps}/ID.pub. Returns TRUST_* (>= 0) or a negative code. */
int trust_lookup(int rootfd, const char *key_id, struct public_key *ret, struct err *e);

/* Install a public key into the device's trust store. */
int trust_add(int rootfd, const struct public_key *k, bool system, struct err *e);

/* SIGNATURE: [signature] algorithm = ed25519, key = ID, value = 128 hex digits, over the manifest bytes. */
#define SIGNATURE_MAX 1024
int signature_format(const struct secret_key *k, const void *msg, size_t len, char *buf, size_t size);
int signature_parse(const char *text, size_t len, char ret_key_id[KEY_ID_HEX],
                    uint8_t ret_sig[crypto_sign_BYTES], struct err *e);
bool signature_check(const struct public_key *k, const uint8_t sig[crypto_sign_BYTES], const void *msg, size_t len);
