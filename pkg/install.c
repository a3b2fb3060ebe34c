/* install.c: the atomic install path, and remove and rollback. */
#include "install.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/stat.h>
#include <sys/statvfs.h>

#include "audit.h"
#include "package.h"
#include "util.h"

int gate_api_level(const struct platform_desc *d, const char *id, unsigned level, struct err *e) {
    if (level > d->api_level)
        return err_set(e, -E_LEVEL, "%s is built for API level %u; this device runs %u", id, level, d->api_level);
    if (level < d->min_api_level)
        return err_set(e, -E_LEVEL, "%s is built for API level %u; this platform keeps no compatibility layer below %u",
                       id, level, d->min_api_level);
    return 0;
}

int audit_tree(struct device *d, int dirfd, const struct manifest *m, const bool *elf, struct err *e) {
    struct audit_policy policy = {
        .abi = d->abi,
        .device_api = d->desc.api_level,
        .device_min = d->desc.min_api_level,
        .app_level = m->api_level,
    };
    const struct manifest_file *exec = manifest_find(m, m->exec);
    for (size_t i = 0; i < m->n_files; i++) {
        struct audit_result res;
        const struct manifest_file *f = &m->files[i];
        if (f == exec && !elf[i])
            return err_set(e, -E_AUDIT, "%s: exec %s is not an ELF binary", m->id, f->path);
        if (!elf[i])
            continue;
        int r = audit_elf_at(dirfd, f->path, &policy, &res, e);
        if (r < 0)
            return err_prefix(e, r, "%s", m->id);
        if (f == exec && (!res.executable || !res.links_slate))
            return err_set(e, -E_AUDIT, "%s: exec %s %s", m->id, f->path,
                           !res.executable ? "is not a dynamically linked program" : "does not link libslate");
    }
    return 0;
}

/*
 * An upgrade must come from the same publisher, as the same class: otherwise any
 * trusted app key could take over another publisher's app, or replace a system
 * package with an app. Only a system key may change an app's signer.
 */
static int check_continuity(struct device *d, const struct package *p, const struct db_package *old, struct err *e) {
    const struct manifest *m = package_manifest(p);
    const struct public_key *signer = package_signer(p);
    struct db_version v;
    int r = db_get_version(d->db, m->id, old->current, &v, e);
    if (r < 0)
        return r;
    if (v.system != m->system)
        return err_set(e, -E_UNTRUSTED, "%s is installed as a%s package; %s says class %s", m->id,
                       v.system ? " system" : "n app", m->version_str, m->system ? "system" : "app");
    if (strcmp(v.key_id, signer->id) != 0 && package_trust(p) != TRUST_SYSTEM)
        return err_set(e, -E_UNTRUSTED,
                       "%s %s was signed by key %s; %s is signed by key %s, and only a system key may change an "
                       "app's publisher",
                       m->id, old->current, v.key_id, m->version_str, signer->id);
    return 0;
}

static int check_state(struct device *d, const struct package *p, struct db_package *old, struct err *e) {
    const struct manifest *m = package_manifest(p);
    int r = db_get_package(d->db, m->id, old, e);
    if (r == -ENOENT) {
        *old = (struct db_package){0};
        return 0;
    }
    if (r < 0)
        return r;
    int cmp = version_cmp_str(m->version_str, old->current);
    if (cmp == 0)
        return err_set(e, -E_STATE, "%s %s is already installed", m->id, m->version_str);
    if (cmp < 0)
        return err_set(e, -E_STATE, "%s %s is older than the installed %s; use 'slate rollback' to go back", m->id,
                       m->version_str, old->current);
    return check_continuity(d, p, old, e);
}

int check_space_at(int fd, const struct manifest *m, struct err *e) {
    struct statvfs vfs;
    if (fstatvfs(fd, &vfs) < 0)
        return err_set(e, -errno, "statvfs: %m");
    /* Per file, up to one block of slack for the partial last block. */
    uint64_t need = m->total_size + (uint64_t)m->n_files * vfs.f_frsize;
    uint64_t avail = (uint64_t)vfs.f_bavail * vfs.f_frsize;
    if (need > avail)
        return err_set(e, -ENOSPC, "%s %s needs %llu MiB; the device has %llu MiB free", m->id, m->version_str,
                       (unsigned long long)(need >> 20) + 1, (unsigned long long)(avail >> 20));
    return 0;
}

/* A fresh folder under staging, named after the package so leftovers are easy to read. */
static int make_staging(struct device *d, const char *id, char name[static 256], struct err *e) {
    for (int tries = 0; tries < 16; tries++) {
        uint32_t nonce;
        if (getrandom(&nonce, sizeof nonce, 0) != sizeof nonce)
            nonce = (uint32_t)getpid() ^ (uint32_t)tries;
        snprintf(name, 256, "%s/%s.%08x", STAGING_DIR, id, nonce);
        if (mkdirat(d->rootfd, name, 0755) == 0) {
            int fd = openat(d->rootfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            if (fd < 0) {
                int r = err_set(e, -errno, "%s/%s: %m", d->root, name);
                unlinkat(d->rootfd, name, AT_REMOVEDIR);
                return r;
            }
            return fd;
        }
        if (errno != EEXIST)
            break;
    }
    return err_set(e, -errno, "%s/%s: %m", d->root, STAGING_DIR);
}

/*
 * Move the staged tree to apps/<id>/<version>. A kept copy of the same version (the
 * previous one, after a rollback) is forgotten in its own transaction first, then
 * removed: the database never names a folder whose contents are being replaced.
 */
static int publish(struct device *d, const char *staging, const struct manifest *m, struct err *e) {
    char app_dir[512], target[600];
    int r;
    snprintf(app_dir, sizeof app_dir, "%s/%s", APPS_DIR, m->id);
    snprintf(target, sizeof target, "%s/%s", app_dir, m->version_str);
    if (db_has_version(d->db, m->id, m->version_str)) {
        if ((r = db_forget_version(d->db, m->id, m->version_str, e)) < 0)
            return r;
        if ((r = rm_rf_at(d->rootfd, target)) < 0)
            return err_set(e, r, "%s/%s: %s", d->root, target, strerror(-r));
    }
    if (mkdirat(d->rootfd, app_dir, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s/%s: %m", d->root, app_dir);
    if ((r = fsync_dir_at(d->rootfd, APPS_DIR)) < 0)
        return err_set(e, r, "%s/%s: %s", d->root, APPS_DIR, strerror(-r));
    if (renameat2(d->rootfd, staging, d->rootfd, target, RENAME_NOREPLACE) < 0)
        return err_set(e, -errno, "%s/%s: %m", d->root, target);
    r = fsync_dir_at(d->rootfd, app_dir);
    return r < 0 ? err_set(e, r, "%s/%s: %s", d->root, app_dir, strerror(-r)) : 0;
}

static void drop_versions(struct device *d, const char *id, char (*dropped)[VERSION_MAX], size_t n) {
    for (size_t i = 0; i < n; i++) {
        char path[600];
        snprintf(path, sizeof path, "%s/%s/%s", APPS_DIR, id, dropped[i]);
        (void)rm_rf_at(d->rootfd, path); /* what fails here, recovery removes later */
    }
}

static int stage_and_commit(struct device *d, struct package *p, int stagingfd, const char *staging,
                            struct err *e) {
    const struct manifest *m = package_manifest(p);
    _cleanup_free_ bool *elf = NULL;
    char(*dropped)[VERSION_MAX] = NULL;
    size_t n_dropped = 0, text_len;
    int r;

    if ((r = package_extract(p, stagingfd, &elf, e)) < 0)
        return err_prefix(e, r, "%s", m->id);
    if ((r = audit_tree(d, stagingfd, m, elf, e)) < 0)
        return r;
    /* One syncfs makes every staged file durable: far cheaper than an fsync per file. */
    if (syncfs(stagingfd) < 0)
        return err_set(e, -errno, "%s: %m", staging);
    if ((r = device_intent_begin(d, m->id, e)) < 0 || (r = publish(d, staging, m, e)) < 0)
        return r;
    const char *text = package_manifest_text(p, &text_len);
    r = db_record_install(d->db, m, package_signer(p)->id, text, text_len, &dropped, &n_dropped, e);
    if (r == 0) {
        drop_versions(d, m->id, dropped, n_dropped);
        device_intent_end(d);
    }
    free(dropped);
    return r;
}

int install_package(struct device *d, const char *path, struct install_result *ret, struct err *e) {
    _cleanup_package_ struct package *p = NULL;
    _cleanup_close_ int fd = -1, stagingfd = -1;
    struct db_package old;
    char staging[256];
    int r;

    if ((fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY)) < 0)
        return err_set(e, -errno, "%s: %m", path);
    if ((r = package_open(fd, d->rootfd, &p, e)) < 0)
        return err_prefix(e, r, "%s", path);
    const struct manifest *m = package_manifest(p);
    if ((r = gate_api_level(&d->desc, m->id, m->api_level, e)) < 0 || (r = check_state(d, p, &old, e)) < 0 ||
        (r = check_space_at(d->rootfd, m, e)) < 0)
        return r;
    if ((stagingfd = make_staging(d, m->id, staging, e)) < 0)
        return stagingfd;
    r = stage_and_commit(d, p, stagingfd, staging, e);
    if (r < 0)
        (void)rm_rf_at(d->rootfd, staging); /* what this leaves, recovery removes */
    if (r < 0)
        return r;
    snprintf(ret->id, sizeof ret->id, "%s", m->id);
    snprintf(ret->version, sizeof ret->version, "%s", m->version_str);
    snprintf(ret->replaced, sizeof ret->replaced, "%s", old.current);
    return 0;
}

int remove_package(struct device *d, const char *id, struct err *e) {
    char path[512];
    struct db_package p;
    int r = db_get_package(d->db, id, &p, e);
    if (r < 0)
        return r == -ENOENT ? err_set(e, -E_STATE, "%s is not installed", id) : r;
    if ((r = device_intent_begin(d, id, e)) < 0 || (r = db_remove(d->db, id, e)) < 0)
        return r;
    snprintf(path, sizeof path, "%s/%s", APPS_DIR, id);
    if (rm_rf_at(d->rootfd, path) == 0) /* the database no longer names it: recovery finishes any leftover */
        device_intent_end(d);
    /* Its data goes with it, as its settings went with the database rows. */
    snprintf(path, sizeof path, "%s/%s", DATA_DIR, id);
    rm_rf_at(d->rootfd, path);
    return 0;
}

int rollback_package(struct device *d, const char *id, struct install_result *ret, struct err *e) {
    struct db_package p;
    struct db_version v;
    /* The version to go back to must still be one this platform runs. */
    int r = db_get_package(d->db, id, &p, e);
    if (r == 0 && *p.previous && (r = db_get_version(d->db, id, p.previous, &v, e)) == 0)
        r = gate_api_level(&d->desc, id, v.api_level, e);
    if (r == 0)
        r = db_rollback(d->db, id, &p, e);
    if (r < 0)
        return r == -ENOENT ? err_set(e, -E_STATE, "%s is not installed", id) : r;
    snprintf(ret->id, sizeof ret->id, "%s", id);
    snprintf(ret->version, sizeof ret->version, "%s", p.current);
    snprintf(ret->replaced, sizeof ret->replaced, "%s", p.previous);
    return 0;
}
