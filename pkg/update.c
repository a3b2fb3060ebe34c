/* update.c: slate update: index, freshness, choice of versions, downloads, installs. */
#include "update.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "db.h"
#include "install.h"
#include "platform.h"
#include "util.h"

#define DOWNLOADS_DIR "var/lib/slate/downloads"

static int fetch_index(struct device *d, const struct update_options *o, struct repo_index **ret, struct err *e) {
    _cleanup_free_ char *location = fetch_join(o->repo, "index"), *data = NULL;
    size_t len;
    if (!location)
        return err_set(e, -ENOMEM, "out of memory");
    int r = fetch_memory(location, INDEX_FILE_MAX, &o->fetch, &data, &len, e);
    if (r < 0)
        return r;
    r = index_open(data, len, d->rootfd, ret, e);
    return r < 0 ? err_prefix(e, r, "%s", location) : 0;
}

/* Expired (a stale mirror freezing the device) or older than what was accepted (a rollback): refused. */
static int check_fresh(struct device *d, const struct repo_index *x, struct err *e) {
    time_t now = time(NULL);
    if ((int64_t)now >= x->expires) {
        char when[64];
        time_t t = (time_t)x->expires;
        strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
        return err_set(e, -E_UNTRUSTED, "index version %llu expired on %s: refusing a stale index",
                       (unsigned long long)x->version, when);
    }
    uint64_t accepted;
    int r = db_repo_state(d->db, x->key_id, &accepted, e);
    if (r == -ENOENT)
        return 0;
    if (r < 0)
        return r;
    if (x->version < accepted)
        return err_set(e, -E_UNTRUSTED,
                       "index version %llu is older than version %llu, the newest this device accepted from key %s",
                       (unsigned long long)x->version, (unsigned long long)accepted, x->key_id);
    return 0;
}

struct choice {
    const struct db_current *it;
    struct version v;
    const struct platform_desc *desc;
};

/* Newer, of the same class, built for a level this platform runs; security fixes only once end-of-life. */
static bool acceptable(void *userdata, const struct index_entry *en) {
    const struct choice *c = userdata;
    return version_cmp(&en->version, &c->v) > 0 && en->system == c->it->system &&
           platform_runs(c->desc, en->id, en->api_level, NULL) == 0 && (!c->desc->eol || en->security);
}

static int download_and_install(struct device *d, const struct update_options *o, const struct index_entry *en,
                                struct err *e) {
    char hash[65], name[80], path[4096], rel[128];
    hex_encode(en->hash, sizeof en->hash, hash);
    snprintf(name, sizeof name, "%s.slp", hash);
    snprintf(rel, sizeof rel, "packages/%s", name);
    _cleanup_free_ char *location = fetch_join(o->repo, rel);
    if (!location)
        return err_set(e, -ENOMEM, "out of memory");
    int r = mkdir_parents_at(d->rootfd, DOWNLOADS_DIR);
    if (r < 0)
        return err_set(e, r, "%s/%s: %s", d->root, DOWNLOADS_DIR, strerror(-r));
    _cleanup_close_ int dirfd = openat(d->rootfd, DOWNLOADS_DIR, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (dirfd < 0)
        return err_set(e, -errno, "%s/%s: %m", d->root, DOWNLOADS_DIR);
    if ((r = fetch_file(location, en->size, en->hash, dirfd, name, &o->fetch, e)) < 0)
        return r;
    snprintf(path, sizeof path, "%s/%s/%s", d->root, DOWNLOADS_DIR, name);
    struct install_result res;
    r = install_package(d, path, &res, e);
    unlinkat(dirfd, name, 0); /* verified or not, it is done with */
    if (r == 0 && (strcmp(res.id, en->id) != 0 || strcmp(res.version, en->version_str) != 0))
        return err_set(e, -E_MALFORMED, "%s: the package is %s %s, not what the index says", location, res.id,
                       res.version);
    return r;
}

int update_run(struct device *d, const struct update_options *o, const struct update_report *rep, struct err *e) {
    _cleanup_index_ struct repo_index *x = NULL;
    _cleanup_free_ struct db_current *installed = NULL;
    size_t n = 0;
    int r, failed = 0;

    if ((r = fetch_index(d, o, &x, e)) < 0 || (r = check_fresh(d, x, e)) < 0)
        return r;
    /* The accepted version is durable before anything from this index is used. */
    if (!o->dry_run && (r = db_accept_index(d->db, x->key_id, x->version, x->expires, e)) < 0)
        return r;
    if (rep && rep->on_index)
        rep->on_index(rep->userdata, x, d->desc.eol);
    if ((r = db_list_current(d->db, &installed, &n, e)) < 0)
        return r;
    for (size_t i = 0; i < n; i++) {
        const struct db_current *it = &installed[i];
        struct choice c = {it, {0}, &d->desc};
        struct update_event ev = {.id = it->id, .from = it->version};
        struct err why = {0};
        (void)version_parse(it->version, &c.v);
        ev.to = index_newest(x, it->id, acceptable, &c);
        if (!ev.to)
            ev.outcome = platform_runs(&d->desc, it->id, it->api_level, NULL) < 0 ? UPDATE_STRANDED : UPDATE_CURRENT;
        else if (o->dry_run)
            ev.outcome = UPDATE_PLANNED;
        /* Only now, with something to install, does update become the device's writer. */
        else if (device_lock(d, &why) == 0 && download_and_install(d, o, ev.to, &why) == 0)
            ev.outcome = UPDATE_INSTALLED;
        else {
            ev.outcome = UPDATE_FAILED;
            ev.why = &why;
            failed++;
        }
        if (rep && rep->on_package)
            rep->on_package(rep->userdata, &ev);
    }
    return failed ? err_set(e, -E_STATE, "%d package%s could not be updated", failed, failed == 1 ? "" : "s") : 0;
}
