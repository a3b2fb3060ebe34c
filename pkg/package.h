/* package.h: reading, verifying and writing .slp packages. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"
#include "keys.h"
#include "manifest.h"

/*
 * A .slp is a zstd-compressed POSIX tar holding, in this order: SIGNATURE (an
 * ed25519 signature over the manifest bytes, with the key id), manifest, then
 * the payload as files/<path>, sorted by path. Reading is one pass: the
 * signature is checked before the manifest is parsed and before any payload
 * byte is written, and every payload byte is checked against the manifest as
 * it streams past.
 */
struct package;

/* Read SIGNATURE and manifest from fd, check nothing. The fd stays the caller's. */
int package_open_raw(int fd, struct package **ret, struct err *e);

/*
 * Check the signature against the device's trust store (rootfd), then parse
 * the manifest and require the key's class to allow the package's class.
 * Returns the trust class (TRUST_APPS or TRUST_SYSTEM).
 */
int package_authenticate(struct package *p, int rootfd, struct err *e);

/* Parse the manifest without any signature check: only for fuzzing and tools that say so. */
int package_parse_unverified(struct package *p, struct err *e);

/* Open, authenticate and parse: what install and verify use. */
int package_open(int fd, int rootfd, struct package **ret, struct err *e);

const struct manifest *package_manifest(const struct package *p);
const char *package_manifest_text(const struct package *p, size_t *ret_len);
const struct public_key *package_signer(const struct package *p);
/* TRUST_APPS or TRUST_SYSTEM once authenticated, TRUST_NONE before. */
int package_trust(const struct package *p);

/*
 * Stream the payload. With dirfd >= 0, write it beneath dirfd (which should be
 * an empty staging folder); with dirfd < 0, only check it. Refuses, naming the
 * entry: anything not in the manifest, missing, repeated or out of order; a
 * hash, size, type, mode or link target that differs from the manifest; hard
 * links, devices, fifos, folders. ret_elf, when given, receives a bitmap (one
 * bool per manifest file) of the files that start with the ELF magic.
 */
int package_extract(struct package *p, int dirfd, bool **ret_elf, struct err *e);

struct package *package_free(struct package *p);

static inline void package_freep(struct package **p) {
    package_free(*p);
}
#define _cleanup_package_ __attribute__((cleanup(package_freep)))

/*
 * Build a package from dir (dir/manifest without [files], payload under
 * dir/files/) signed with key, written atomically to out. The same input
 * gives the same bytes.
 */
int package_pack(const char *dir, const struct secret_key *key, const char *out, struct err *e);
