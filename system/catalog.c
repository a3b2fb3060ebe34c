/* catalog.c: what slated knows of the installed apps, read from the database once and again when it changes. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <unistd.h>

#include "db.h"
#include "slated.h"

/*
 * Starting an app needs its current version, exec, budget and permissions;
 * starting a service, its manifest's [service] section. Reading them from the
 * database at every launch would keep SQLite loaded and in the launch's path,
 * so slated keeps them here: read at start, and again after the database
 * changed. An inotify watch on the database's folder says when: slate install,
 * remove, rollback and update write the database (its -wal file) there; so do
 * slated's own settings, which cost one needless reread (slated opening and
 * closing the database writes nothing: see slated_db). The watch sleeps with
 * the rest of the loop while nothing is written; rereading waits a moment after
 * the last write (an install writes several times), or happens at once when an
 * app starts before that.
 */
#define DB_DIR "var/lib/slate"
#define RELOAD_DELAY_US 200000ULL

struct catalog {
    struct slated *s;
    struct catalog_app *apps; /* sorted by id */
    size_t n_apps;
    bool stale;
    int inotify_fd; /* -1: no watch, every lookup rereads */
    struct loop_source *watch, *timer;
};

static void free_apps(struct catalog *c) {
    for (size_t i = 0; i < c->n_apps; i++)
        free(c->apps[i].manifest);
    free(c->apps);
    c->apps = NULL;
    c->n_apps = 0;
}

static int reload(struct catalog *c, struct err *e) {
    struct db_current *cur = NULL;
    size_t n = 0;
    sqlite3 *db;
    int r;

    if ((r = slated_db(c->s, &db, e)) < 0 || (r = db_list_current(db, &cur, &n, e)) < 0)
        return r;
    struct catalog_app *apps = calloc(n ? n : 1, sizeof *apps);
    if (!apps) {
        free(cur);
        return err_set(e, -ENOMEM, "out of memory");
    }
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
        struct catalog_app *a = &apps[k];
        struct db_version v;
        if ((r = db_get_version(db, cur[i].id, cur[i].version, &v, e)) < 0 ||
            (r = db_get_manifest(db, cur[i].id, cur[i].version, &a->manifest, &a->manifest_len, e)) < 0) {
            /* Removed between the two reads: the next reload has the rest. */
            if (r == -ENOENT) {
                free(a->manifest);
                *a = (struct catalog_app){0};
                r = 0;
                continue;
            }
            break;
        }
        snprintf(a->id, sizeof a->id, "%s", v.id);
        snprintf(a->version, sizeof a->version, "%s", v.version);
        snprintf(a->exec, sizeof a->exec, "%s", v.exec);
        snprintf(a->label, sizeof a->label, "%s", v.label);
        a->api_level = v.api_level;
        a->memory = v.memory;
        a->network = strstr(v.permissions, "network") != NULL;
        k++;
        r = 0;
    }
    free(cur);
    if (r < 0) {
        for (size_t i = 0; i < k; i++)
            free(apps[i].manifest);
        free(apps);
        return r;
    }
    free_apps(c);
    c->apps = apps;
    c->n_apps = k;
    c->stale = c->inotify_fd < 0;
    return 0;
}

static int on_timer(struct loop_source *src, void *userdata) {
    struct catalog *c = userdata;
    struct err e = {0};
    (void)src;
    if (c->stale && reload(c, &e) < 0)
        slated_log(c->s, "cannot read the installed apps: %s", e.msg);
    return 0;
}

/* The database's folder changed: when it was the database, reread it once writes have settled. */
static int on_inotify(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct catalog *c = userdata;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    bool db = false;
    ssize_t n;
    (void)src, (void)events;
    while ((n = read(fd, buf, sizeof buf)) > 0)
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ev = (const struct inotify_event *)p;
            db |= (ev->mask & IN_Q_OVERFLOW) ||
                  (ev->len && (strcmp(ev->name, "slate.db") == 0 || strcmp(ev->name, "slate.db-wal") == 0));
            p += sizeof *ev + ev->len;
        }
    if (db) {
        c->stale = true;
        if (c->timer)
            loop_timer_set(c->timer, RELOAD_DELAY_US);
        else
            loop_add_timer(c->s->loop, RELOAD_DELAY_US, on_timer, c, &c->timer);
    }
    return 0;
}

int catalog_start(struct slated *s, struct err *e) {
    struct catalog *c = calloc(1, sizeof *c);
    if (!c)
        return err_set(e, -ENOMEM, "out of memory");
    c->s = s;
    c->inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    char dir[PATH_MAX + 32];
    snprintf(dir, sizeof dir, "%s/" DB_DIR, s->root);
    /* Without a watch slated still works: it rereads at every launch. */
    if (c->inotify_fd >= 0 &&
        (inotify_add_watch(c->inotify_fd, dir, IN_MODIFY | IN_MOVED_TO | IN_CREATE | IN_DELETE) < 0 ||
         loop_add_io(s->loop, c->inotify_fd, EPOLLIN, on_inotify, c, &c->watch) < 0)) {
        slated_log(s, "%s: cannot watch it (%s): the installed apps are reread at every launch", dir, strerror(errno));
        close(c->inotify_fd);
        c->inotify_fd = -1;
    }
    s->catalog = c;
    int r = reload(c, e);
    if (r < 0) {
        catalog_stop(s);
        return err_prefix(e, r, "the installed apps");
    }
    return 0;
}

void catalog_stop(struct slated *s) {
    struct catalog *c = s->catalog;
    if (!c)
        return;
    loop_source_remove(c->watch);
    loop_source_remove(c->timer);
    if (c->inotify_fd >= 0)
        close(c->inotify_fd);
    free_apps(c);
    free(c);
    s->catalog = NULL;
}

static int by_id(const void *key, const void *entry) {
    return strcmp(key, ((const struct catalog_app *)entry)->id);
}

int catalog_find(struct slated *s, const char *id, const struct catalog_app **ret, struct err *e) {
    struct catalog *c = s->catalog;
    int r;
    if (!c)
        return err_set(e, -EIO, "slated has no list of installed apps");
    if (c->stale && (r = reload(c, e)) < 0)
        return r;
    *ret = bsearch(id, c->apps, c->n_apps, sizeof *c->apps, by_id);
    return *ret ? 0 : err_set(e, -ENOENT, "%s is not installed", id);
}

size_t catalog_apps(struct slated *s, const struct catalog_app **ret) {
    struct catalog *c = s->catalog;
    *ret = c ? c->apps : NULL;
    return c ? c->n_apps : 0;
}

const char *unit_label(const struct unit *u) {
    const struct catalog_app *a;
    if (catalog_find(u->s, u->id, &a, NULL) == 0 && a->label[0])
        return a->label;
    return u->id;
}
