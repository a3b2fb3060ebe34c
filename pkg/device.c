/* device.c: creating and opening device roots, and recovering them after a crash. */
#include "device.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>

#include "db.h"
#include "keys.h"
#include "manifest.h"
#include "util.h"

static const char *const device_dirs[] = {
    "etc/slate/keys/system", "etc/slate/keys/apps", APPS_DIR, STAGING_DIR, "usr/share/slate",
};

int device_init(const char *root, unsigned api_level, unsigned min_api_level, const char *release, struct err *e) {
    struct platform_desc d = {.api_level = api_level, .min_api_level = min_api_level};
    _cleanup_close_ int rootfd = -1;
    char text[512];
    sqlite3 *db;
    int r;

    if (min_api_level < 1 || min_api_level > api_level || api_level > API_LEVEL_MAX)
        return err_set(e, -EINVAL, "API levels must satisfy 1 <= min-api-level (%u) <= api-level (%u)", min_api_level,
                       api_level);
    _cleanup_abi_ struct abi_table *sdk = NULL;
    if ((r = abi_parse(slate_abi_builtin, strlen(slate_abi_builtin), &sdk, e)) < 0)
        return r;
    if (api_level > sdk->latest)
        return err_set(e, -EINVAL, "this platform build provides API levels up to %u, not %u", sdk->latest,
                       api_level);
    snprintf(d.release, sizeof d.release, "%s", release);
    if (mkdir(root, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "%s: %m", root);
    if ((rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return err_set(e, -errno, "%s: %m", root);
    if (faccessat(rootfd, PLATFORM_DESCRIPTOR, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return err_set(e, -EEXIST, "%s is already a device root (%s exists)", root, PLATFORM_DESCRIPTOR);
    for (size_t i = 0; i < sizeof device_dirs / sizeof *device_dirs; i++)
        if ((r = mkdir_parents_at(rootfd, device_dirs[i])) < 0)
            return err_set(e, r, "%s/%s: %s", root, device_dirs[i], strerror(-r));
    /* The platform's ABI table goes with the device: the audit holds apps to it. */
    _cleanup_close_ int share = openat(rootfd, "usr/share/slate", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (share < 0 || (r = write_file_atomic_at(share, "abi", slate_abi_builtin, strlen(slate_abi_builtin), 0644)) < 0)
        return err_set(e, share < 0 ? -errno : r, "%s/%s: cannot write the ABI table", root, ABI_TABLE_PATH);
    if ((r = db_open(root, true, &db, e)) < 0)
        return r;
    db_close(db);
    if ((r = fsync_dir_at(rootfd, "var/lib/slate")) < 0)
        return err_set(e, r, "%s/var/lib/slate: %s", root, strerror(-r));
    /* The descriptor comes last: its presence is what makes this a device root. */
    _cleanup_close_ int etc = openat(rootfd, "etc/slate", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int n = platform_desc_format(&d, text, sizeof text);
    if (etc < 0 || n < 0 || (r = write_file_atomic_at(etc, "platform", text, (size_t)n, 0644)) < 0)
        return err_set(e, etc < 0 ? -errno : n < 0 ? n : r, "%s/%s: cannot write the descriptor", root,
                       PLATFORM_DESCRIPTOR);
    return 0;
}

int device_open(const char *root, unsigned flags, struct device **ret, struct err *e) {
    _cleanup_device_ struct device *d = calloc(1, sizeof *d);
    int r;
    if (!d || !(d->root = strdup(root)))
        return err_set(e, -ENOMEM, "out of memory");
    d->lockfd = d->rootfd = -1;
    if ((d->rootfd = open(root, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return err_set(e, -errno, "device root %s: %m", root);
    if ((r = platform_desc_load(d->rootfd, &d->desc, e)) < 0)
        return err_prefix(e, r, "%s", root);
    if ((r = db_open(root, false, &d->db, e)) < 0 || (r = abi_load(d->rootfd, &d->abi, e)) < 0)
        return r;
    if ((flags & DEVICE_WRITE) && (r = device_lock(d, e)) < 0)
        return r;
    *ret = TAKE_PTR(d);
    return 0;
}

int device_lock(struct device *d, struct err *e) {
    if (d->lockfd >= 0)
        return 0;
    d->lockfd = openat(d->rootfd, LOCK_FILE, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (d->lockfd < 0)
        return err_set(e, -errno, "%s/%s: %m", d->root, LOCK_FILE);
    if (flock(d->lockfd, LOCK_EX | LOCK_NB) < 0) {
        if (errno != EWOULDBLOCK)
            return err_set(e, -errno, "%s/%s: %m", d->root, LOCK_FILE);
        /* Another writer is at work: wait for it rather than fail. */
        if (flock(d->lockfd, LOCK_EX) < 0)
            return err_set(e, -errno, "%s/%s: %m", d->root, LOCK_FILE);
    }
    int r = device_recover(d, e);
    return r < 0 ? r : 0;
}

struct device *device_close(struct device *d) {
    if (d) {
        if (d->db)
            db_close(d->db);
        abi_free(d->abi);
        if (d->rootfd >= 0)
            close(d->rootfd);
        if (d->lockfd >= 0)
            close(d->lockfd);
        free(d->root);
        free(d);
    }
    return NULL;
}

/* What a recovery pass carries: the device, the app whose versions are swept, the first entry that failed. */
struct sweep {
    struct device *d;
    const char *id;
    char failed[PATH_BYTES_MAX + 64];
};

/* Calls fn for each entry of parent/path but . and ..; returns how many it removed. */
static int for_each_entry(int parent, const char *path, int (*fn)(struct sweep *, int, const char *),
                          struct sweep *s) {
    int fd = openat(parent, path, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    DIR *dir = fdopendir(fd);
    if (!dir) {
        close(fd);
        return -errno;
    }
    int r = 0, removed = 0;
    for (struct dirent *de; r >= 0 && (de = readdir(dir));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        r = fn(s, dirfd(dir), de->d_name);
        if (r < 0 && !*s->failed)
            snprintf(s->failed, sizeof s->failed, "%s/%s", path, de->d_name);
        removed += r > 0 ? r : 0;
    }
    closedir(dir);
    return r < 0 ? r : removed;
}

static int remove_entry(struct sweep *s, int dirfd, const char *name) {
    (void)s;
    int r = rm_rf_at(dirfd, name);
    return r < 0 ? r : 1;
}

static int check_version_dir(struct sweep *s, int dirfd, const char *version) {
    if (db_has_version(s->d->db, s->id, version))
        return 0;
    return remove_entry(s, dirfd, version);
}

static int check_app_dir(struct sweep *s, int dirfd, const char *id) {
    struct db_package p;
    s->id = id;
    int r = for_each_entry(dirfd, id, check_version_dir, s);
    if (r == -ENOTDIR) /* a stray file where an app's folder would be */
        return db_get_package(s->d->db, id, &p, NULL) == -ENOENT ? remove_entry(s, dirfd, id) : r;
    if (r < 0)
        return r;
    if (db_get_package(s->d->db, id, &p, NULL) == -ENOENT && unlinkat(dirfd, id, AT_REMOVEDIR) == 0)
        r++;
    return r;
}

/*
 * The one app whose folders a writer is changing, named before the change and
 * forgotten after it: recovery then looks at that app alone, so opening a device
 * for writing costs the same with ten apps or a thousand.
 */
int device_intent_begin(struct device *d, const char *id, struct err *e) {
    _cleanup_close_ int dir = openat(d->rootfd, "var/lib/slate", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int r = dir < 0 ? -errno : write_file_atomic_at(dir, "intent", id, strlen(id), 0644);
    return r < 0 ? err_set(e, r, "%s/%s: %s", d->root, INTENT_FILE, strerror(-r)) : 0;
}

void device_intent_end(struct device *d) {
    (void)unlinkat(d->rootfd, INTENT_FILE, 0); /* if this is lost, recovery only looks once more */
}

int device_recover(struct device *d, struct err *e) {
    struct sweep s = {.d = d};
    int staged = for_each_entry(d->rootfd, STAGING_DIR, remove_entry, &s);
    if (staged < 0)
        return err_set(e, staged, "%s/%s: cannot clean staging: %s", d->root, *s.failed ? s.failed : STAGING_DIR,
                       strerror(-staged));
    _cleanup_free_ char *id = NULL;
    size_t len;
    int orphans = 0, r = read_file_at(d->rootfd, INTENT_FILE, PACKAGE_ID_MAX, &id, &len);
    if (r < 0 && r != -ENOENT)
        return err_set(e, r, "%s/%s: %s", d->root, INTENT_FILE, strerror(-r));
    if (r == 0) {
        if (!package_id_valid(id))
            return err_set(e, -E_MALFORMED, "%s/%s: not a package id", d->root, INTENT_FILE);
        _cleanup_close_ int apps = openat(d->rootfd, APPS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (apps < 0)
            return err_set(e, -errno, "%s/%s: %m", d->root, APPS_DIR);
        orphans = check_app_dir(&s, apps, id);
        if (orphans < 0 && orphans != -ENOENT)
            return err_set(e, orphans, "%s/%s: cannot clean leftovers: %s", d->root,
                           *s.failed ? s.failed : APPS_DIR, strerror(-orphans));
        orphans = orphans < 0 ? 0 : orphans;
    }
    if (staged + orphans > 0) {
        int fd = openat(d->rootfd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
        if (fd >= 0) {
            syncfs(fd);
            close(fd);
        }
    }
    if (r == 0)
        device_intent_end(d);
    return staged + orphans;
}
