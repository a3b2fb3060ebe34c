/* memory.c: the memory manager: PSI and cgroup events in, trims and one kill at a time out. */
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "proto.h"
#include "slated.h"

#ifndef SYS_process_mrelease
#define SYS_process_mrelease 448
#endif

#define RECHECK_US 100000ULL /* while memory is short; never while it is not */
#define TRIM_FLOOR (32ULL << 20)
#define KILL_FLOOR (16ULL << 20)
#define FULL_STALL_US 1000000ULL /* a full stall this recent counts as critical */
#define RECLAIM_CHECK_US 20000ULL /* reclaim events closer than this are one */

struct memmgr {
    struct slated *s;
    struct memmgr_config cfg;
    struct loop_source *psi_some, *psi_full, *device, *reclaim, *recheck;
    int psi_some_fd, psi_full_fd, device_fd, reclaim_fd;
    uint64_t last_check_us;
    uint64_t thresholds[2]; /* v1: the device's usage at its trim and kill lines */
    struct unit *victim;   /* killed, its memory not yet back */
    bool pressure;         /* below the trim line: rechecking */
    bool trimmed;          /* this episode's trims were sent */
    uint64_t last_full_us; /* the last full-stall event */
    uint64_t refaults, refaults_us; /* the device's refault counter when last looked at */
};

static const char *const names[] = {
    [IMP_FOREGROUND] = "foreground", [IMP_VISIBLE] = "visible", [IMP_PERCEPTIBLE] = "perceptible",
    [IMP_SERVICE] = "service",       [IMP_PREVIOUS] = "previous", [IMP_CACHED] = "cached",
    [IMP_NONE] = "-",
};

const char *importance_name(enum importance i) {
    return names[i];
}

/* The background app the user saw last. */
static const struct unit *previous_app(const struct slated *s) {
    const struct unit *best = NULL;
    for (const struct unit *v = s->units; v; v = v->next)
        if (unit_running(v) && !v->service[0] && (v->state == UNIT_BACKGROUND || v->state == UNIT_CACHED) &&
            (!best || v->foreground_us > best->foreground_us))
            best = v;
    return best;
}

enum importance unit_importance(const struct unit *u) {
    if (!unit_running(u) || u->state == UNIT_STOPPING)
        return IMP_NONE;
    if (u->service[0]) {
        const struct unit *c = u->last_client;
        bool seen = c && unit_running(c) && (c->state == UNIT_FOREGROUND || c->state == UNIT_VISIBLE);
        return seen ? IMP_PERCEPTIBLE : IMP_SERVICE;
    }
    switch (u->state) {
    case UNIT_FOREGROUND:
        return IMP_FOREGROUND;
    case UNIT_VISIBLE:
        return IMP_VISIBLE;
    default:
        return previous_app(u->s) == u ? IMP_PREVIOUS : IMP_CACHED;
    }
}

/* ---- ranking: what the kernel is told ---- */

/* As Android's lmkd: the kernel's own OOM killer, should it ever run, takes the least important first. */
static int oom_adj_of(enum importance i) {
    static const int adj[] = {0, 100, 200, 500, 700, 900, 900};
    return adj[i];
}

void memmgr_rank(struct slated *s) {
    for (struct unit *u = s->units; u; u = u->next) {
        enum importance imp = unit_importance(u);
        if (imp == IMP_NONE)
            continue;
        int adj = oom_adj_of(imp);
        if (u->oom_adj_set && u->oom_adj == adj)
            continue;
        char path[64], text[16];
        snprintf(path, sizeof path, "/proc/%d/oom_score_adj", (int)u->pid);
        int fd = open(path, O_WRONLY | O_CLOEXEC);
        if (fd >= 0) {
            int n = snprintf(text, sizeof text, "%d", adj);
            if (write(fd, text, (size_t)n) == n) {
                u->oom_adj = adj;
                u->oom_adj_set = true;
            }
            close(fd);
        }
        /* v2: the foreground app's memory is protected from reclaim aimed elsewhere (v1 has no such knob). */
        if (u->cg) {
            bool fg = imp == IMP_FOREGROUND;
            if (fg != u->protected_mem && cgroup_set_protection(u->cg, fg ? u->budget : 0, NULL) == 0)
                u->protected_mem = fg;
        }
    }
}

/* ---- deciding ---- */

/* Free memory of the device: the confining cgroup's limit less its use, or the machine's MemAvailable. */
static int device_free(struct memmgr *m, uint64_t *ret_free, uint64_t *ret_total) {
    uint64_t limit = UINT64_MAX, used = 0;
    if (cgroups_device_memory(m->s->cgroups, &limit, &used) == 0 && limit != UINT64_MAX) {
        *ret_total = limit;
        *ret_free = used < limit ? limit - used : 0;
        return 0;
    }
    /* No confining limit: the machine's own figures. Read with a fixed buffer: no allocation here. */
    char buf[2048];
    int fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return -EIO;
    buf[n] = '\0';
    unsigned long long total_kb = 0, avail_kb = 0;
    const char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:");
    if (!t || !a || sscanf(t, "MemTotal: %llu", &total_kb) != 1 || sscanf(a, "MemAvailable: %llu", &avail_kb) != 1)
        return -EIO;
    *ret_total = total_kb * 1024;
    *ret_free = avail_kb * 1024;
    return 0;
}

/* Least important first; among cached apps the one used least recently. Never the foreground app. */
static struct unit *pick_victim(struct slated *s) {
    struct unit *best = NULL;
    enum importance best_imp = IMP_FOREGROUND;
    for (struct unit *u = s->units; u; u = u->next) {
        enum importance imp = unit_importance(u);
        if (imp == IMP_NONE || imp == IMP_FOREGROUND)
            continue;
        /* Ranked by importance, the enum's order read backwards; then the oldest foreground time. */
        if (!best || imp > best_imp || (imp == best_imp && u->foreground_us < best->foreground_us)) {
            best = u;
            best_imp = imp;
        }
    }
    return best;
}

static void kill_victim(struct memmgr *m, struct unit *u, uint64_t free_b, uint64_t total) {
    snprintf(u->kill_reason, sizeof u->kill_reason, "low memory: %" PRIu64 " MiB free of %" PRIu64 " MiB, %s",
             free_b >> 20, total >> 20, importance_name(unit_importance(u)));
    unit_log(u, "killing it (%s)", u->kill_reason);
    m->victim = u;
    cgroup_kill(u->cg, NULL);
    /* Reap its address space now rather than when the last thread gets to run (Linux 5.15). */
    int pidfd = u->child ? loop_source_fd(u->child) : -1;
    if (pidfd >= 0)
        syscall(SYS_process_mrelease, pidfd, 0);
}

static void send_trims(struct memmgr *m, uint32_t level) {
    for (struct unit *u = m->s->units; u; u = u->next) {
        enum importance imp = unit_importance(u);
        /* Frozen apps saved and shrank when they were frozen; the foreground app keeps its memory. */
        if (imp == IMP_NONE || imp == IMP_FOREGROUND || u->frozen || !u->said_hello || u->service[0])
            continue;
        unit_log(u, "trim-memory (level %u): memory is short", level);
        appchan_send_event(u, EVENT_TRIM_MEMORY, level);
    }
}

static int on_recheck(struct loop_source *src, void *userdata);

/*
 * Whether the device thrashes: more than 5% of its pages read back per second after eviction.
 * PSI notices a stall once it has lasted; refaults show the working set no longer fits sooner.
 */
static bool thrashing(struct memmgr *m, uint64_t total) {
    uint64_t count, now = now_us();
    if (cgroups_device_refaults(m->s->cgroups, &count) < 0)
        return false;
    bool fast = false;
    if (m->refaults_us && now > m->refaults_us && count >= m->refaults) {
        uint64_t per_s = (count - m->refaults) * 1000000 / (now - m->refaults_us);
        fast = per_s * 4096 > total / 20;
    }
    m->refaults = count;
    m->refaults_us = now;
    return fast;
}

static void check(struct memmgr *m) {
    uint64_t free_b, total;
    if (m->cfg.disabled || m->victim || m->s->shutting_down || device_free(m, &free_b, &total) < 0)
        return;
    m->last_check_us = now_us();
    uint64_t trim_line = m->cfg.trim_free ? m->cfg.trim_free : total / 5;
    uint64_t kill_line = m->cfg.kill_free ? m->cfg.kill_free : total / 10;
    if (trim_line < TRIM_FLOOR)
        trim_line = TRIM_FLOOR;
    if (kill_line < KILL_FLOOR)
        kill_line = KILL_FLOOR;
    if (free_b >= trim_line) {
        if (m->pressure) {
            slated_log(m->s, "memory: relieved (%" PRIu64 " MiB free of %" PRIu64 " MiB)", free_b >> 20, total >> 20);
            spares_hold(m->s, false);
        }
        m->pressure = m->trimmed = false;
        m->refaults_us = 0;
        loop_timer_stop(m->recheck);
        return;
    }
    if (!m->pressure) {
        slated_log(m->s, "memory: short (%" PRIu64 " MiB free of %" PRIu64 " MiB)", free_b >> 20, total >> 20);
        spares_hold(m->s, true);
    }
    m->pressure = true;
    bool critical = thrashing(m, total) || free_b < kill_line || now_us() - m->last_full_us < FULL_STALL_US;
    if (!m->trimmed) {
        send_trims(m, critical ? TRIM_CRITICAL : TRIM_MODERATE);
        m->trimmed = true;
    } else if (critical) {
        struct unit *u = pick_victim(m->s);
        if (u)
            kill_victim(m, u, free_b, total);
        else
            slated_log(m->s, "memory: %" PRIu64 " MiB free and nothing left to reclaim but the foreground app",
                       free_b >> 20);
    } else {
        /* Short, trimmed, not critical: wait for an event (the kill line's threshold, reclaim, a stall, the
         * trim line crossed back) rather than look every 100 ms at a device that may stay like this. */
        loop_timer_stop(m->recheck);
        return;
    }
    loop_timer_set(m->recheck, RECHECK_US);
}

static int on_recheck(struct loop_source *src, void *userdata) {
    (void)src;
    check(userdata);
    return 0;
}

static int on_psi(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct memmgr *m = userdata;
    (void)fd;
    if (events & EPOLLERR) { /* the file went away (cgroup removed): stop listening */
        loop_source_remove(src);
        return 0;
    }
    if (src == m->psi_full)
        m->last_full_us = now_us();
    check(m);
    return 0;
}

static int on_device(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    uint64_t count;
    (void)src;
    (void)events;
    (void)!read(fd, &count, sizeof count);
    check(userdata);
    return 0;
}

/* The device reclaims: look, at most every RECLAIM_CHECK_US (reclaim can signal many times a second). */
static int on_reclaim(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct memmgr *m = userdata;
    uint64_t count;
    (void)src;
    (void)events;
    (void)!read(fd, &count, sizeof count);
    if (!m->pressure && now_us() - m->last_check_us >= RECLAIM_CHECK_US)
        check(m);
    return 0;
}

static void watch(struct memmgr *m, int fd, uint32_t events, loop_io_fn fn, struct loop_source **src, int *slot);

/*
 * v1 keeps, per threshold list, the threshold just below the usage it last saw, and sees it
 * only when pages are charged or uncharged in the group (or below it) whose counter is due.
 * A victim's memory leaves from the victim's own group: the device's list can miss the fall,
 * and then miss the next rise too. Registering anew makes the kernel look at the usage now.
 */
static void rearm_thresholds(struct memmgr *m) {
    struct err e = {0};
    if (!m->device || !m->thresholds[0])
        return;
    int fd = cgroups_usage_eventfd(m->s->cgroups, m->thresholds, 2, &e);
    if (fd < 0)
        return; /* the old registration stays */
    loop_source_remove(m->device);
    close(m->device_fd);
    watch(m, fd, EPOLLIN, on_device, &m->device, &m->device_fd);
}

void memmgr_unit_ended(struct slated *s, struct unit *u) {
    struct memmgr *m = s->mem;
    if (!m)
        return;
    if (m->victim == u) {
        m->victim = NULL;
        rearm_thresholds(m);
        check(m);
    }
    memmgr_rank(s);
}

/* A PSI trigger: the fd reports EPOLLPRI when the stall passes the threshold within the window. */
static int psi_trigger(const char *path, const char *trigger) {
    int fd = open(path, O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    if (write(fd, trigger, strlen(trigger) + 1) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

static void watch(struct memmgr *m, int fd, uint32_t events, loop_io_fn fn, struct loop_source **src, int *slot) {
    *slot = fd;
    if (fd >= 0 && loop_add_io(m->s->loop, fd, events, fn, m, src) < 0) {
        close(fd);
        *slot = -1;
    }
}

/* slated protects itself: the kernel's OOM killer never picks it, and what it touched stays in memory. */
static void protect_self(struct slated *s) {
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "-1000", 5) != 5)
        slated_log(s, "memory: cannot set slated's OOM score (needs CAP_SYS_RESOURCE): %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    /* MCL_ONFAULT: pages are locked as they are touched, so locking does not grow what slated holds. */
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
        slated_log(s, "memory: cannot lock slated in memory: %s", strerror(errno));
}

int memmgr_start(struct slated *s, const struct memmgr_config *cfg) {
    struct memmgr *m = calloc(1, sizeof *m);
    struct err e = {0};
    uint64_t limit, used;
    if (!m)
        return -ENOMEM;
    m->s = s;
    m->cfg = *cfg;
    m->psi_some_fd = m->psi_full_fd = m->device_fd = m->reclaim_fd = -1;
    s->mem = m;
    protect_self(s);
    if (cfg->disabled) {
        slated_log(s, "memory: manager off: the kernel alone handles memory pressure");
        return 0;
    }
    if (loop_add_timer(s->loop, 0, on_recheck, m, &m->recheck) < 0)
        return -ENOMEM;
    loop_timer_stop(m->recheck);
    /* 2 s windows: the shortest a process without CAP_SYS_RESOURCE may ask for (containers often lack it). */
    watch(m, psi_trigger("/proc/pressure/memory", "some 150000 2000000"), EPOLLPRI, on_psi, &m->psi_some,
          &m->psi_some_fd);
    watch(m, psi_trigger("/proc/pressure/memory", "full 100000 2000000"), EPOLLPRI, on_psi, &m->psi_full,
          &m->psi_full_fd);
    /* The device slated confines: thresholds at its trim and kill lines (v1), or its own PSI (v2). */
    if (cgroups_device_memory(s->cgroups, &limit, &used) == 0 && limit != UINT64_MAX) {
        uint64_t trim = cfg->trim_free ? cfg->trim_free : limit / 5, kill = cfg->kill_free ? cfg->kill_free : limit / 10;
        trim = trim < TRIM_FLOOR ? TRIM_FLOOR : trim;
        kill = kill < KILL_FLOOR ? KILL_FLOOR : kill;
        /* Both: a crossing of the trim line can find memory just above it (page cache does not count as
         * used), and no second event comes while usage stays above; the kill line's crossing does. */
        m->thresholds[0] = limit > trim ? limit - trim : 0;
        m->thresholds[1] = limit > kill ? limit - kill : 0;
        int fd = cgroups_usage_eventfd(s->cgroups, m->thresholds, 2, &e);
        if (fd >= 0) {
            watch(m, fd, EPOLLIN, on_device, &m->device, &m->device_fd);
            /* A device full of page cache stays above the threshold while apps grow into it: its
             * reclaim is what says so. Nothing reclaims on a calm device: no wake-up then. */
            watch(m, cgroups_vmpressure_eventfd(s->cgroups, "low", &e), EPOLLIN, on_reclaim, &m->reclaim,
                  &m->reclaim_fd);
        } else {
            m->thresholds[0] = m->thresholds[1] = 0; /* v2: no thresholds to re-arm */
            watch(m, cgroups_pressure_fd(s->cgroups, "some 150000 2000000", &e), EPOLLPRI, on_psi, &m->device,
                  &m->device_fd);
        }
    }
    slated_log(s, "memory: manager on (%s%s%s; device %s)", m->psi_some ? "PSI" : "no PSI",
               m->device ? ", device threshold" : "", m->reclaim ? ", device reclaim" : "",
               limit != UINT64_MAX ? "confined by its cgroup" : "is the machine");
    check(m); /* already short at start? */
    return 0;
}

void memmgr_stop(struct slated *s) {
    struct memmgr *m = s->mem;
    if (!m)
        return;
    loop_source_remove(m->psi_some);
    loop_source_remove(m->psi_full);
    loop_source_remove(m->device);
    loop_source_remove(m->reclaim);
    loop_source_remove(m->recheck);
    int fds[] = {m->psi_some_fd, m->psi_full_fd, m->device_fd, m->reclaim_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(m);
    s->mem = NULL;
}
