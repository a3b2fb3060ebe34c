/* manifest.h: a package's manifest: identity, API level, app entry and the signed list of files. */
#pragma once

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"
#include "util.h"

#define MANIFEST_MAX (16u << 20)  /* bytes */
#define MANIFEST_FILES_MAX 100000 /* entries in [files] */
#define PACKAGE_ID_MAX 128
#define FILE_SIZE_MAX (UINT64_C(1) << 32)  /* one payload file */
#define TOTAL_SIZE_MAX (UINT64_C(1) << 34) /* the whole payload */

enum file_type { FILE_REGULAR, FILE_SYMLINK };

struct manifest_file {
    const char *path; /* relative to files/ */
    enum file_type type;
    uint8_t hash[32]; /* BLAKE2b-256 of the content */
    uint64_t size;
    mode_t mode;        /* permission bits only: 0644, 0755, ... */
    const char *target; /* for a symlink */
};

enum permission {
    PERM_NETWORK = 1 << 0,
    PERM_MEDIA = 1 << 1,
};

/* A background service: a [service NAME] section. */
enum service_start {
    SERVICE_ON_DEMAND, /* start = demand: on the first connection (the default) */
    SERVICE_AT_BOOT,   /* start = boot: when slated starts */
};

#define SERVICE_NAME_MAX 32
#define MANIFEST_SERVICES_MAX 8

struct manifest_service {
    const char *name; /* [a-z0-9-], 1 to SERVICE_NAME_MAX bytes */
    const char *exec; /* relative to files/, an executable file of the package */
    enum service_start start;
    unsigned idle_exit_s; /* stopped after this long with no client; 0: never (idle_exit = 30s, the default) */
    uint64_t memory;      /* budget in bytes, 0: the app's */
};

struct manifest {
    struct keyfile *kf; /* owns every string below */
    const char *id;
    const char *version_str;
    struct version version;
    unsigned api_level;
    bool system;
    const char *exec, *label, *icon;
    unsigned permissions; /* enum permission bits */
    uint64_t memory;      /* budget in bytes, 0: the platform's default */
    struct manifest_service services[MANIFEST_SERVICES_MAX]; /* in the order written */
    size_t n_services;
    struct manifest_file *files; /* sorted by path */
    size_t n_files;
    uint64_t total_size;
};

enum manifest_flags {
    MANIFEST_SOURCE = 1 << 0, /* as written by a developer: no [files] yet */
};

/* Parse and validate a manifest. The text need not be NUL-terminated. */
int manifest_parse(const char *text, size_t len, unsigned flags, struct manifest **ret, struct err *e);
struct manifest *manifest_free(struct manifest *m);
const struct manifest_file *manifest_find(const struct manifest *m, const char *path);
const struct manifest_service *manifest_service(const struct manifest *m, const char *name);

/* The space-separated permission names, into buf. */
void permissions_format(unsigned perms, char *buf, size_t size);

/* Whether id is a valid package id (reverse-DNS, lower case). */
bool package_id_valid(const char *id);

static inline void manifest_freep(struct manifest **m) {
    manifest_free(*m);
}
#define _cleanup_manifest_ __attribute__((cleanup(manifest_freep)))
