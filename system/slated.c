/* slated.c: the one system daemon: set-up, signals, readiness, and an orderly shutdown. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "db.h"
#include "proto.h"
#include "slated.h"
#include "sqlite-dl.h"
#include "util.h"

#define LOCK_PATH "run/slate/slated.lock"
#define READY_PATH "run/slate/ready"

static const char usage[] =
    "usage: slated [--root DIR] [--ready-fd N] [--freeze-delay MS] [--cache-delay MS] [--stop-timeout MS]\n"
    "              [--memory SIZE] [--libslate PATH] [--trim-free SIZE] [--kill-free SIZE] [--no-memory-manager]\n"
    "              [--display headless|web[:PORT]|sdl[:WxH][,SCALE]|drm[:/dev/dri/cardN]|fbdev[:/dev/fbN]]\n";

uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

uint64_t realtime_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_REALTIME, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

void slated_log(struct slated *s, const char *fmt, ...) {
    char text[600];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    fprintf(stderr, "slated: %s\n", text);
    struct log_line l = {.time_us = realtime_us(), .pid = (uint32_t)getpid(), .stream = LOG_SLATED, .text = text};
    l.len = (uint16_t)strlen(text);
    logbuf_append(&s->log, &l);
    control_log_line(s, NULL, &l);
}

/* The database idle this long is closed, and SQLite unloaded: a calm slated holds neither. */
#define DB_IDLE_US 5000000ULL

static int on_db_idle(struct loop_source *src, void *userdata) {
    struct slated *s = userdata;
    (void)src;
    if (s->db) {
        db_close(s->db);
        s->db = NULL;
    }
    dlclose_sqlite();
    memmgr_trim_self(s); /* what SQLite allocated goes back too */
    return 0;
}

int slated_db(struct slated *s, sqlite3 **ret, struct err *e) {
    if (!s->db) {
        int r = db_open(s->root, false, &s->db, e);
        if (r < 0)
            return r;
        /* slated reads a row now and then: a small page cache keeps its footprint small. */
        sym_sqlite3_exec(s->db, "PRAGMA cache_size=-64", NULL, NULL, NULL);
        /* A writer (slate install) holds the database briefly; slated's loop must not wait seconds on it. */
        sym_sqlite3_busy_timeout(s->db, 200);
        /* Closing writes nothing (no checkpoint, the -wal file stays): the catalog's watch on the
         * database's folder then wakes for others' writes, not for slated's own comings and goings. */
        int one = 1;
        sym_sqlite3_db_config(s->db, SQLITE_DBCONFIG_NO_CKPT_ON_CLOSE, 1, NULL);
        sym_sqlite3_file_control(s->db, "main", SQLITE_FCNTL_PERSIST_WAL, &one);
    }
    /* Fuzzers and tests that drive parts of slated leave db_idle_us 0: their database stays open. */
    if (s->db_idle_us && (s->db_idle ? loop_timer_set(s->db_idle, s->db_idle_us)
                                     : loop_add_timer(s->loop, s->db_idle_us, on_db_idle, s, &s->db_idle)) < 0)
        slated_log(s, "cannot arm the database's idle timer: the database stays open");
    *ret = s->db;
    return 0;
}

/* ---- set-up ---- */

static int parse_ms(const char *s, uint64_t *ret) {
    unsigned long v;
    if (parse_uint(s, 0, 24UL * 3600 * 1000, &v) < 0)
        return -1;
    *ret = v;
    return 0;
}

int slated_parse_options(int argc, char **argv, struct options *o) {
    *o = (struct options){.root = getenv("SLATE_ROOT"), .ready_fd = -1, .freeze_delay_ms = 10000,
                          .cache_delay_ms = 60000, .stop_timeout_ms = 3000, .memory = 256ULL << 20};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        unsigned long n;
        if (strcmp(a, "--help") == 0) {
            fputs(usage, stdout);
            exit(0);
        }
        if (strcmp(a, "--no-memory-manager") == 0) {
            o->mem.disabled = true;
            continue;
        }
        if (!v) {
            fprintf(stderr, "slated: %s: unknown option or missing value\n%s", a, usage);
            return -1;
        }
        i++;
        if (strcmp(a, "--root") == 0)
            o->root = v;
        else if (strcmp(a, "--ready-fd") == 0 && parse_uint(v, 0, INT_MAX, &n) == 0)
            o->ready_fd = (int)n;
        else if (strcmp(a, "--freeze-delay") == 0 && parse_ms(v, &o->freeze_delay_ms) == 0)
            ;
        else if (strcmp(a, "--cache-delay") == 0 && parse_ms(v, &o->cache_delay_ms) == 0)
            ;
        else if (strcmp(a, "--stop-timeout") == 0 && parse_ms(v, &o->stop_timeout_ms) == 0)
            ;
        else if (strcmp(a, "--memory") == 0 && parse_size(v, &o->memory) == 0 && o->memory >= (1 << 20))
            ;
        else if (strcmp(a, "--libslate") == 0)
            o->libslate = v;
        else if (strcmp(a, "--display") == 0)
            o->display = v;
        else if (strcmp(a, "--trim-free") == 0 && parse_size(v, &o->mem.trim_free) == 0)
            ;
        else if (strcmp(a, "--kill-free") == 0 && parse_size(v, &o->mem.kill_free) == 0)
            ;
        else {
            fprintf(stderr, "slated: %s %s: unknown option or bad value\n%s", a, v, usage);
            return -1;
        }
    }
    if (!o->root || !*o->root)
        o->root = "/";
    return 0;
}

/* libslate: where the build or the install put it, beside slated's own folder ($ORIGIN/../lib). */
static int find_libslate(struct slated *s, const char *given, struct err *e) {
    char self[PATH_MAX];
    if (given) {
        snprintf(s->libslate, sizeof s->libslate, "%s", given);
    } else {
        ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
        if (n < 0)
            return err_set(e, -errno, "/proc/self/exe: %s", strerror(errno));
        self[n] = '\0';
        *strrchr(self, '/') = '\0';
        const char *candidates[] = {"../lib/libslate.so.1", "../" SLATE_LIBDIR "/libslate.so.1"};
        s->libslate[0] = '\0';
        for (size_t i = 0; i < sizeof candidates / sizeof *candidates; i++) {
            char path[PATH_MAX + 64];
            snprintf(path, sizeof path, "%s/%s", self, candidates[i]);
            if (access(path, R_OK) == 0 && realpath(path, s->libslate))
                break;
            s->libslate[0] = '\0';
        }
        if (!s->libslate[0])
            return err_set(e, -ENOENT, "libslate.so.1 not found beside %s (give --libslate PATH)", self);
    }
    if (access(s->libslate, R_OK) < 0)
        return err_set(e, -errno, "%s: %s", s->libslate, strerror(errno));
    return 0;
}

/* The program every sandbox runs (slate-sandbox): beside slated in the build, in the install's libexec dir. */
static int find_helper(struct slated *s, struct err *e) {
    char self[PATH_MAX - 32];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1);
    if (n < 0)
        return err_set(e, -errno, "/proc/self/exe: %s", strerror(errno));
    self[n] = '\0';
    *strrchr(self, '/') = '\0';
    snprintf(s->helper, sizeof s->helper, "%s/slate-sandbox", self);
    if (access(s->helper, X_OK) == 0)
        return 0;
    snprintf(s->helper, sizeof s->helper, "%s/slate-sandbox", SLATE_LIBEXECDIR);
    if (access(s->helper, X_OK) == 0)
        return 0;
    return err_set(e, -ENOENT, "slate-sandbox not found beside %s or in %s", self, SLATE_LIBEXECDIR);
}

/* What every sandbox binds: the C library and loader, libslate beside libc, and in tests a sanitizer runtime. */
static int setup_libs(struct slated *s, const char *libslate, struct err *e) {
    int n = sandbox_libc_binds(s->libs, e), r;
    if (n < 0)
        return n;
    if ((r = find_libslate(s, libslate, e)) < 0 || (r = find_helper(s, e)) < 0)
        return r;
    s->n_libs = (size_t)n;
    snprintf(s->libslate_target, sizeof s->libslate_target, "%s", s->libs[1].target);
    *strrchr(s->libslate_target, '/') = '\0';
    char dir[PATH_MAX];
    snprintf(dir, sizeof dir, "%s", s->libslate_target);
    strncat(s->libslate_target, "/libslate.so.1", sizeof s->libslate_target - strlen(s->libslate_target) - 1);
    s->libs[s->n_libs++] = (struct sandbox_bind){s->libslate, s->libslate_target};

    /* $SLATE_APP_PRELOAD: a sanitized libslate needs its runtime, which apps (never instrumented) lack. */
    static char preload[PATH_MAX * 2], deps[2][PATH_MAX + 32];
    const char *p = getenv("SLATE_APP_PRELOAD");
    if (!p || !*p)
        return 0;
    snprintf(preload, sizeof preload, "%s", p);
    snprintf(s->preload_env, sizeof s->preload_env, "LD_PRELOAD=%s", p);
    for (char *save = NULL, *lib = strtok_r(preload, ":", &save); lib && s->n_libs < 8; lib = strtok_r(NULL, ":", &save))
        s->libs[s->n_libs++] = (struct sandbox_bind){lib, lib};
    static const char *const names[] = {"libstdc++.so.6", "libgcc_s.so.1"};
    for (size_t i = 0; i < 2; i++) {
        snprintf(deps[i], sizeof deps[i], "%s/%s", dir, names[i]);
        if (access(deps[i], R_OK) == 0)
            s->libs[s->n_libs++] = (struct sandbox_bind){deps[i], deps[i]};
    }
    return 0;
}

static int take_instance_lock(struct slated *s, struct err *e) {
    int r = mkdir_parents_at(s->rootfd, "run/slate");
    if (r < 0)
        return err_set(e, r, "%s/run/slate: %s", s->root, strerror(-r));
    int fd = openat(s->rootfd, LOCK_PATH, O_RDWR | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0600);
    if (fd < 0)
        return err_set(e, -errno, "%s/" LOCK_PATH ": %s", s->root, strerror(errno));
    if (flock(fd, LOCK_EX | LOCK_NB) < 0) {
        close(fd);
        return err_set(e, -EBUSY, "another slated serves %s", s->root);
    }
    return fd;
}

/* s6-style readiness: a newline on the fd, then close it; and a file naming slated's pid. */
static void signal_ready(struct slated *s, int ready_fd) {
    char pid[32];
    int n = snprintf(pid, sizeof pid, "%d\n", (int)getpid());
    write_file_atomic_at(s->rootfd, READY_PATH, pid, (size_t)n, 0644);
    if (ready_fd >= 0) {
        (void)!write(ready_fd, "\n", 1);
        close(ready_fd);
    }
}

/* ---- shutdown ---- */

static bool any_running(struct slated *s, bool services) {
    for (struct unit *u = s->units; u; u = u->next)
        if (unit_running(u) && (services || !u->service[0]))
            return true;
    return false;
}

/* Lower ranks stop first: the apps the user sees last, then the services apps may still be using. */
static int stop_rank(const struct unit *u) {
    switch (u->state) {
    case UNIT_CACHED:
        return 0;
    case UNIT_BACKGROUND:
        return 1;
    case UNIT_VISIBLE:
        return 2;
    case UNIT_FOREGROUND:
        return 3;
    default:
        return u->service[0] ? 5 : 4;
    }
}

/* Called at SIGTERM and after each unit ends while shutting down: stops the next rank, quits once all are gone. */
static void shutdown_step(struct slated *s) {
    struct err e = {0};
    int rank = 99;
    for (struct unit *u = s->units; u; u = u->next)
        if (unit_running(u) && stop_rank(u) < rank && u->state != UNIT_STOPPING)
            rank = stop_rank(u);
    /* Services go only when no app is left that might still talk to them. */
    if (rank == 5 && any_running(s, false))
        return;
    for (struct unit *u = s->units; u; u = u->next)
        if (unit_running(u) && stop_rank(u) == rank && u->state != UNIT_STOPPING)
            unit_stop(u, &e);
    if (!any_running(s, true))
        loop_quit(s->loop, 0);
}

static int on_stop_signal(struct loop_source *src, const struct signalfd_siginfo *si, void *userdata) {
    struct slated *s = userdata;
    (void)src;
    if (!s->shutting_down) {
        const char *name = sigabbrev_np((int)si->ssi_signo);
        slated_log(s, "SIG%s: stopping every app", name ? name : "?");
        s->shutting_down = true;
        control_close(s); /* no new work from now on */
    }
    shutdown_step(s);
    return 0;
}

/* Orphans re-parented to slated (it is a subreaper, or PID 1): reaped here; units are reaped by their pidfd. */
static void reap_orphans(struct slated *s) {
    for (;;) {
        siginfo_t si = {0};
        if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT) < 0 || si.si_pid == 0)
            return;
        for (struct unit *u = s->units; u; u = u->next)
            if (unit_running(u) && u->pid == si.si_pid)
                return; /* its pidfd source reaps it in this batch; the next SIGCHLD gets the rest */
        if (spares_own(s, si.si_pid))
            return; /* a spare sandbox: reaped when it is freed */
        waitpid(si.si_pid, NULL, WNOHANG);
    }
}

static int on_sigchld(struct loop_source *src, const struct signalfd_siginfo *si, void *userdata) {
    (void)src;
    (void)si;
    reap_orphans(userdata);
    return 0;
}

/* ---- main ---- */

int slated_run(struct slated *s, const struct options *o, struct err *e) {
    int r, lockfd;
    if ((s->rootfd = open(s->root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0)
        return err_set(e, -errno, "%s: %s", s->root, strerror(errno));
    if ((r = platform_desc_load(s->rootfd, &s->platform, e)) < 0)
        return err_prefix(e, r, "%s is not a Slate device (run slate init)", s->root);
    if ((lockfd = take_instance_lock(s, e)) < 0)
        return lockfd;
    char name[32];
    snprintf(name, sizeof name, "slated.%d", (int)getpid());
    s->db_idle_us = DB_IDLE_US;
    if ((r = setup_libs(s, o->libslate, e)) < 0 || (o->display && (r = display_sandbox_files(s, e)) < 0) ||
        (r = loop_new(&s->loop)) < 0 ||
        (r = cgroups_open(name, &s->cgroups, e)) < 0) {
        if (r < 0 && !e->msg[0])
            err_set(e, r, "event loop: %s", strerror(-r));
        s->loop = loop_free(s->loop);
        free(s->toolkit_files);
        s->toolkit_files = NULL;
        close(lockfd);
        return r;
    }
    slated_log(s, "%s", cgroups_describe(s->cgroups));
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if ((r = loop_add_signal(s->loop, SIGTERM, on_stop_signal, s, NULL)) < 0 ||
        (r = loop_add_signal(s->loop, SIGINT, on_stop_signal, s, NULL)) < 0 ||
        (r = loop_add_signal(s->loop, SIGCHLD, on_sigchld, s, NULL)) < 0)
        err_set(e, r, "signals: %s", strerror(-r));
    else if ((r = control_open(s, e)) == 0 && (r = memmgr_start(s, &o->mem)) == 0 &&
             (r = catalog_start(s, e)) == 0 && (r = spares_start(s, e)) == 0 &&
             (!o->display || (r = display_open(s, o->display, e)) == 0)) {
        units_start_boot_services(s);
        signal_ready(s, o->ready_fd);
        slated_log(s, "ready on %s (API levels %u to %u)", s->root, s->platform.min_api_level, s->platform.api_level);
        r = loop_run(s->loop);
        if (r < 0)
            err_set(e, r, "event loop: %s", strerror(-r));
    }
    control_close(s);
    memmgr_stop(s);
    spares_stop(s);
    display_close(s);
    catalog_stop(s);
    unlinkat(s->rootfd, READY_PATH, 0);
    while (s->units) {
        struct unit *u = s->units;
        s->units = u->next;
        unit_free(u);
    }
    s->cgroups = cgroups_close(s->cgroups);
    s->http = http_free(s->http);
    s->loop = loop_free(s->loop);
    if (s->db)
        db_close(s->db);
    logbuf_free(&s->log);
    free(s->toolkit_files);
    s->toolkit_files = NULL;
    close(lockfd); /* never unlinked: a path that outlives the lock is what keeps two slateds apart */
    close(s->rootfd);
    return r;
}

/* While shutting down, each unit's end moves the shutdown on. */
void slated_unit_ended(struct slated *s) {
    reap_orphans(s);
    if (s->shutting_down)
        shutdown_step(s);
}
