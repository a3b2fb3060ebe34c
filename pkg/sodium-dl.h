/* sodium-dl.h: libsodium, loaded by keys_init() when a key, a signature or a hash is first needed (dl.h). */
#pragma once

#include <sodium.h>

#include "dl.h"

#define SODIUM_SYMBOLS(X) \
    X(crypto_generichash) \
    X(crypto_generichash_final) \
    X(crypto_generichash_init) \
    X(crypto_generichash_update) \
    X(crypto_sign_detached) \
    X(crypto_sign_seed_keypair) \
    X(crypto_sign_verify_detached) \
    X(randombytes_buf) \
    X(randombytes_random) \
    X(sodium_init) \
    X(sodium_memcmp) \
    X(sodium_memzero)

SODIUM_SYMBOLS(DL_DECLARE)

/* Load libsodium and run sodium_init(), once. */
int dlopen_sodium(struct err *e);
