/* memory.c: the memory manager: PSI and cgroup events in, trims and one kill at a time out. */
#include "memory.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <malloc.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "memwatch.h"
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
#define TRIPWIRE_MIN (4ULL << 20) /* v2: a tripwire closer than this to the use now would trip at once */
#define WATCH_US 50000ULL         /* v2: while free memory falls, how often the manager looks */
#define CALM_US 500000ULL         /* v2: free memory that has not fallen for this long: back to the tripwire */
#define FALL_MIN (1ULL << 20)     /* v2: less than this is not a fall */
#define TRIPPED_US 20000ULL       /* v2: from a crossing of the tripwire to the look it calls for */
#define DAEMON_MIN (16ULL << 20)  /* v2: slated's own memory (and page cache) never reclaimed, up to this */

struct memmgr {
    struct slated *s;
    struct memmgr_config cfg;
    struct loop_source *psi_some, *psi_full, *device, *reclaim, *recheck, *tripwire, *device_max;
    int psi_some_fd, psi_full_fd, device_fd, reclaim_fd, tripwire_fd, device_max_fd;
    uint64_t last_check_us;
    uint64_t thresholds[2];         /* v1: the device's usage at its trim and kill lines */
    uint64_t tripwire_high;         /* v2: the apps' memory.high now; UINT64_MAX: none */
    uint64_t claimed;               /* v2: what the foreground apps claim (in the instance's memory.min) */
    bool watching;                  /* v2: looking every WATCH_US while free memory falls */
    uint64_t watch_free, watch_us;  /* the lowest free memory seen while watching, and when it last fell */
    struct unit *victim;            /* killed, its memory not yet back */
    bool pressure;                  /* below the trim line */
    bool trimmed;                   /* this episode's trims were sent */
    uint64_t last_full_us;          /* the last full-stall event */
    uint64_t refaults, refaults_us; /* the device's refault counter when last looked at */
    bool locked;                    /* slated's pages are locked (mlockall) */
    bool fine;                      /* PSI triggers in 500 ms windows are allowed */
    uint64_t seen_stall_us;         /* when an app the user sees or hears last stalled on memory */
    struct memwatch *mw;            /* the machine's free pages watched at each allocation (eBPF) */
    struct loop_source *mw_src;
    uint64_t memfree;               /* the machine's free pages (bytes) at the last look */
    uint64_t mw_at;                 /* the MemFree it is armed at (bytes); 0: disarmed */
    bool early;                     /* the watch woke the manager since the last look */
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

static void watch_apps(struct memmgr *m);

void memmgr_rank(struct slated *s) {
    uint64_t claimed = 0;
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
        /* v2: the foreground app's memory is never reclaimed for others, its code and data alike: what
         * reclaim finds elsewhere is what the user does not see (v1 has no such knob). */
        if (u->cg) {
            bool fg = imp == IMP_FOREGROUND;
            if (fg != u->protected_mem && cgroup_set_protection(u->cg, fg ? u->budget : 0, NULL) == 0)
                u->protected_mem = fg;
            claimed += u->protected_mem ? u->budget : 0;
        }
    }
    struct memmgr *m = s->mem;
    if (m && claimed != m->claimed && cgroups_protect(s->cgroups, DAEMON_MIN, claimed, NULL) == 0)
        m->claimed = claimed;
    if (m && !m->cfg.disabled && cgroups_version(s->cgroups) == 2) /* v1 groups have no PSI of their own */
        watch_apps(m);
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
    unsigned long long total_kb = 0, avail_kb = 0, free_kb = 0;
    const char *t = strstr(buf, "MemTotal:"), *a = strstr(buf, "MemAvailable:"), *f = strstr(buf, "MemFree:");
    if (!t || !a || sscanf(t, "MemTotal: %llu", &total_kb) != 1 || sscanf(a, "MemAvailable: %llu", &avail_kb) != 1)
        return -EIO;
    if (f && sscanf(f, "MemFree: %llu", &free_kb) == 1)
        m->memfree = free_kb * 1024;
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

/*
 * The page-allocation watch, a 32nd of the machine above the tripwire's line (half way there when
 * memory is closer), told in MemFree: the apps' growth brings free pages down as it brings free
 * memory down (page cache reclaimed on the way makes it come later, never sooner; the tripwire
 * stays behind it). 0: disarmed.
 */
static void arm_watch(struct memmgr *m, uint64_t free_b, uint64_t total, uint64_t line) {
    uint64_t at = 0;
    if (!m->mw)
        return;
    if (line && free_b > line) {
        uint64_t ahead = free_b - line, fall = ahead - (ahead / 2 < total / 32 ? ahead / 2 : total / 32);
        at = m->memfree > fall ? m->memfree - fall : 0; /* below what is free at all: the tripwire alone */
    }
    if (at != m->mw_at && memwatch_arm(m->mw, at) == 0)
        m->mw_at = at;
}

/*
 * v2 has no usage threshold. The apps' common parent gets a memory.high where their use brings the
 * device's free memory down to line (0: none), and its memory.events.local says when they got there.
 * Crossing it makes each allocation that follows reclaim from the apps (the foreground app's
 * protected memory aside) until it is lifted, which on_tripwire does at once. Memory the apps do not
 * use (another process, the kernel) moves the line only at the next event, PSI's included.
 */
static void arm_tripwire(struct memmgr *m, uint64_t free_b, uint64_t line) {
    uint64_t cur, high = UINT64_MAX;
    if (!m->tripwire)
        return;
    if (line && cgroups_apps_current(m->s->cgroups, &cur) == 0)
        high = cur + (free_b > line + TRIPWIRE_MIN ? free_b - line : TRIPWIRE_MIN);
    if (high != m->tripwire_high && cgroups_apps_set_high(m->s->cgroups, high, NULL) == 0)
        m->tripwire_high = high;
}

/*
 * v2: each crossing of the tripwire costs the allocating app a reclaim pass, and a kill brings memory
 * back above the trim line for the growing app to cross again. So from the crossing on, the manager
 * looks every WATCH_US for as long as free memory keeps falling, kills included, and arms the tripwire
 * again once it has not fallen for CALM_US: one crossing an episode, not two a kill. It starts just
 * above the trim line too (near): the apps' use and the device's free memory do not move quite in step,
 * and a tripwire set again a little further would only be crossed again. Returns whether it is watching.
 */
static bool watch_fall(struct memmgr *m, uint64_t free_b, bool near) {
    uint64_t now = now_us();
    if (!m->tripwire || (!m->watching && !near))
        return false;
    if (!m->watching || free_b + FALL_MIN <= m->watch_free) {
        m->watching = true;
        m->watch_free = free_b;
        m->watch_us = now;
    } else if (free_b > m->watch_free) {
        m->watch_free = free_b; /* memory came back (a kill): a fall is measured from here */
    } else if (now - m->watch_us >= CALM_US) {
        m->watching = false;
    }
    return m->watching;
}

static void check(struct memmgr *m) {
    uint64_t free_b, total, next = 0;
    if (m->cfg.disabled || m->victim || m->s->shutting_down || device_free(m, &free_b, &total) < 0)
        return;
    m->last_check_us = now_us();
    uint64_t trim_line = m->cfg.trim_free ? m->cfg.trim_free : total / 5;
    uint64_t kill_line = m->cfg.kill_free ? m->cfg.kill_free : total / 10;
    if (trim_line < TRIM_FLOOR)
        trim_line = TRIM_FLOOR;
    if (kill_line < KILL_FLOOR)
        kill_line = KILL_FLOOR;
    bool short_of = free_b < trim_line;
    uint64_t now = now_us();
    bool critical = short_of && (thrashing(m, total) || free_b < kill_line || now - m->last_full_us < FULL_STALL_US ||
                                 now - m->seen_stall_us < FULL_STALL_US);
    /* The watch's word: the fall has begun, and nobody paid for the news. */
    if (watch_fall(m, free_b, free_b < trim_line + TRIPWIRE_MIN || m->early))
        next = WATCH_US;
    m->early = false;
    uint64_t line = next || critical ? 0 : short_of ? kill_line : trim_line;
    arm_watch(m, free_b, total, line);
    arm_tripwire(m, free_b, line);
    if (!short_of) {
        if (m->pressure)
            slated_log(m->s, "memory: relieved (%" PRIu64 " MiB free of %" PRIu64 " MiB)", free_b >> 20, total >> 20);
        m->pressure = m->trimmed = false;
        m->refaults_us = 0;
    } else {
        if (!m->pressure)
            slated_log(m->s, "memory: short (%" PRIu64 " MiB free of %" PRIu64 " MiB)", free_b >> 20, total >> 20);
        m->pressure = true;
        /* Trimmed and not critical: no look for its own sake, but the next event (the kill line's threshold
         * or tripwire, reclaim, a stall, the trim line crossed back): a device may stay like this for long. */
        if (!m->trimmed) {
            send_trims(m, critical ? TRIM_CRITICAL : TRIM_MODERATE);
            m->trimmed = true;
            next = RECHECK_US;
        } else if (critical) {
            struct unit *u = pick_victim(m->s);
            if (u)
                kill_victim(m, u, free_b, total);
            else
                slated_log(m->s, "memory: %" PRIu64 " MiB free and nothing left to reclaim but the foreground app",
                           free_b >> 20);
            next = RECHECK_US;
        }
        if (next && m->watching)
            next = WATCH_US;
    }
    /* A spare sandbox is a convenience: none while memory is short or still falling (a kill's relief
     * comes and goes while an app grows). */
    spares_hold(m->s, m->pressure || m->watching);
    if (next)
        loop_timer_set(m->recheck, next);
    else
        loop_timer_stop(m->recheck);
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

/*
 * The apps crossed the tripwire: read the file (or it stays ready), lift the tripwire, and look a
 * little later. The app that crossed it is in the middle of a reclaim pass, which counts as its
 * stall until it ends: on a busy CPU, the trims, spares and kills a look may bring would lengthen it.
 */
static int on_tripwire(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct memmgr *m = userdata;
    uint64_t count;
    (void)src;
    (void)events;
    bool stale = m->tripwire_high == UINT64_MAX; /* a crossing already seen (the kernel spaces notices out) */
    /* Lifted before anything else: what slated allocates is charged below the tripwire too. */
    if (!stale && cgroups_apps_set_high(m->s->cgroups, UINT64_MAX, NULL) == 0)
        m->tripwire_high = UINT64_MAX;
    (void)cgroups_events_count(fd, "high", &count);
    if (!stale)
        loop_timer_set(m->recheck, TRIPPED_US);
    return 0;
}

/* The machine's free pages fell past the watch's line (memwatch.bpf.c disarmed it): look now. */
static int on_memwatch(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct memmgr *m = userdata;
    (void)src;
    (void)fd;
    (void)events;
    memwatch_consume(m->mw);
    if (m->mw_at && !m->watching)
        slated_log(m->s, "memory: free pages fell below %" PRIu64 " MiB: watching the fall", m->mw_at >> 20);
    m->mw_at = 0;
    m->early = true;
    check(m);
    return 0;
}

/*
 * The device reached its limit (v2) and reclaims there: v1's reclaim event. A device full of page cache
 * turns it into app memory at its limit without crossing the tripwire (set on the use, cache included).
 */
static int on_device_max(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct memmgr *m = userdata;
    uint64_t count;
    (void)src;
    (void)events;
    (void)cgroups_events_count(fd, "max", &count);
    if (now_us() - m->last_check_us >= RECLAIM_CHECK_US)
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

/*
 * The device reclaims: look, at most every RECLAIM_CHECK_US (reclaim can signal many times a second).
 * Short and trimmed too: a device at its limit turns page cache into app memory without crossing a
 * threshold, and free memory (inactive cache not counted) falls past the kill line with no other event.
 */
static int on_reclaim(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct memmgr *m = userdata;
    uint64_t count;
    (void)src;
    (void)events;
    (void)!read(fd, &count, sizeof count);
    if (now_us() - m->last_check_us >= RECLAIM_CHECK_US)
        check(m);
    return 0;
}

static void watch(struct memmgr *m, int fd, uint32_t events, loop_io_fn fn, struct loop_source **src, int *slot);
static void unwatch(struct loop_source **src, int *slot);

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
    if (u->psi)
        unwatch(&u->psi, &u->psi_fd);
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

/*
 * A stall is seen sooner in a shorter window: 500 ms ones need CAP_SYS_RESOURCE (before Linux 6.5 any
 * trigger does); without it, the 2 s windows an unprivileged process may ask for.
 */
static int psi_trigger_fine(const char *path, const char *fine, const char *coarse, bool *ret_fine) {
    int fd = psi_trigger(path, fine);
    *ret_fine = fd >= 0;
    return fd >= 0 ? fd : psi_trigger(path, coarse);
}

static void watch(struct memmgr *m, int fd, uint32_t events, loop_io_fn fn, struct loop_source **src, int *slot) {
    *slot = fd;
    if (fd >= 0 && loop_add_io(m->s->loop, fd, events, fn, m, src) < 0) {
        close(fd);
        *slot = -1;
    }
}

static void unwatch(struct loop_source **src, int *slot) {
    loop_source_remove(*src);
    *src = NULL;
    if (*slot >= 0)
        close(*slot);
    *slot = -1;
}

/*
 * An app stalled on memory (its own group's PSI). One the user sees or hears (foreground, visible,
 * perceptible) stutters now: with the device short, that makes the next look kill rather than wait
 * for the kill line. With memory to spare the stall is the app's own budget (memory.high throttles
 * it), and the log says so, at most every 10 s an app.
 */
static int on_app_psi(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct unit *u = userdata;
    struct memmgr *m = u->s->mem;
    (void)src;
    (void)fd;
    if (events & EPOLLERR) { /* its group went away */
        unwatch(&u->psi, &u->psi_fd);
        return 0;
    }
    uint64_t now = now_us();
    enum importance imp = unit_importance(u);
    if (imp <= IMP_PERCEPTIBLE)
        m->seen_stall_us = now;
    if (now - u->psi_said_us >= 10000000ULL) {
        u->psi_said_us = now;
        unit_log(u, "memory: stalls (PSI of its group, %s)%s", importance_name(imp),
                 m->pressure ? ": the device is short" : ": at its own budget");
    }
    check(m);
    return 0;
}

/* v2: a PSI trigger on each running app's own group, from its first ranking to its end. */
static void watch_apps(struct memmgr *m) {
    /* 20 ms of stall within half a second is a dropped frame or two; the coarse window where only it is allowed. */
    const char *trigger = m->fine ? "some 20000 500000" : "some 100000 2000000";
    for (struct unit *u = m->s->units; u; u = u->next) {
        if (u->psi || !u->cg || unit_importance(u) == IMP_NONE)
            continue;
        int fd = cgroup_pressure_fd(u->cg, trigger, NULL);
        if (fd >= 0 && loop_add_io(m->s->loop, fd, EPOLLPRI, on_app_psi, u, &u->psi) < 0)
            close(fd);
        else if (fd >= 0)
            u->psi_fd = fd;
    }
}

/*
 * slated protects itself: the kernel's OOM killer never picks it, what it touched stays in memory,
 * and on v2 its daemon leaf's memory.min keeps the rest (page cache it reads, such as the database)
 * from reclaim too. v1 has no memory.min: the locked pages are what it gets there.
 */
static void protect_self(struct memmgr *m) {
    struct slated *s = m->s;
    struct err e = {0};
    int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
    if (fd < 0 || write(fd, "-1000", 5) != 5)
        slated_log(s, "memory: cannot set slated's OOM score (needs CAP_SYS_RESOURCE): %s", strerror(errno));
    if (fd >= 0)
        close(fd);
    /* MCL_ONFAULT: pages are locked as they are touched, so locking does not grow what slated holds. */
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0)
        slated_log(s, "memory: cannot lock slated in memory: %s", strerror(errno));
    else
        m->locked = true;
    int r = cgroups_protect(s->cgroups, DAEMON_MIN, 0, &e);
    if (r < 0 && r != -EOPNOTSUPP)
        slated_log(s, "memory: cannot protect slated's memory: %s", e.msg);
}

/* v2: the tripwire on the apps' common parent, and the device's limit hits when a cgroup confines it. */
static void watch_v2(struct memmgr *m, bool confined) {
    struct err e = {0};
    int fd = cgroups_apps_events_fd(m->s->cgroups, &e);
    if (fd >= 0 && cgroups_apps_set_high(m->s->cgroups, UINT64_MAX, &e) == 0)
        watch(m, fd, EPOLLPRI, on_tripwire, &m->tripwire, &m->tripwire_fd);
    else if (fd >= 0)
        close(fd);
    if (!confined) {
        /* The machine is the device: free pages watched at each page allocation, where the kernel lets us. */
        if (!m->tripwire)
            return;
        if (memwatch_open(&m->mw, &e) < 0) {
            slated_log(m->s, "memory: no page-allocation watch (the tripwire alone): %s", e.msg);
        } else if (loop_add_io(m->s->loop, memwatch_fd(m->mw), EPOLLIN, on_memwatch, m, &m->mw_src) < 0) {
            memwatch_close(m->mw);
            m->mw = NULL;
        }
        return;
    }
    fd = cgroups_device_events_fd(m->s->cgroups, &e);
    watch(m, fd, EPOLLPRI, on_device_max, &m->device_max, &m->device_max_fd);
}

int memmgr_start(struct slated *s, const struct memmgr_config *cfg) {
    struct memmgr *m = calloc(1, sizeof *m);
    struct err e = {0};
    uint64_t limit = UINT64_MAX, used;
    if (!m)
        return -ENOMEM;
    m->s = s;
    m->cfg = *cfg;
    m->psi_some_fd = m->psi_full_fd = m->device_fd = m->reclaim_fd = m->tripwire_fd = m->device_max_fd = -1;
    m->tripwire_high = UINT64_MAX;
    s->mem = m;
    protect_self(m);
    if (cfg->disabled) {
        slated_log(s, "memory: manager off: the kernel alone handles memory pressure");
        return 0;
    }
    if (loop_add_timer(s->loop, 0, on_recheck, m, &m->recheck) < 0)
        return -ENOMEM;
    loop_timer_stop(m->recheck);
    /* A "some" stall only makes the manager look; a "full" one (every task waiting) counts as critical. */
    bool fine;
    watch(m, psi_trigger_fine("/proc/pressure/memory", "some 50000 500000", "some 150000 2000000", &fine), EPOLLPRI,
          on_psi, &m->psi_some, &m->psi_some_fd);
    watch(m, psi_trigger_fine("/proc/pressure/memory", "full 50000 500000", "full 100000 2000000", &fine), EPOLLPRI,
          on_psi, &m->psi_full, &m->psi_full_fd);
    m->fine = fine;
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
            fd = cgroups_pressure_fd(s->cgroups, "some 50000 500000", NULL);
            watch(m, fd >= 0 ? fd : cgroups_pressure_fd(s->cgroups, "some 150000 2000000", &e), EPOLLPRI, on_psi,
                  &m->device, &m->device_fd);
        }
    }
    if (cgroups_version(s->cgroups) == 2)
        watch_v2(m, limit != UINT64_MAX);
    slated_log(s, "memory: manager on (%s%s%s%s%s%s%s; device %s)", m->psi_some ? "PSI" : "no PSI",
               m->psi_some && fine ? " in 500 ms windows" : "", m->device ? ", device threshold" : "",
               m->reclaim ? ", device reclaim" : "", m->tripwire ? ", apps' tripwire" : "",
               m->device_max ? ", device limit hits" : "", m->mw ? ", page-allocation watch" : "",
               limit != UINT64_MAX ? "confined by its cgroup" : "is the machine");
    check(m); /* already short at start? */
    return 0;
}

/*
 * glibc gives freed heap back with madvise(MADV_DONTNEED), which locked pages refuse: under mlockall
 * whatever slated once allocated (start-up, SQLite's caches, a burst of messages) would stay resident
 * for good. So, idle, it unlocks, trims and locks again; what it touches from then on is locked as
 * before. Not on the kill path: the trim runs only from the idle timer.
 */
void memmgr_trim_self(struct slated *s) {
    struct memmgr *m = s->mem;
    if (!m || !m->locked) {
        malloc_trim(0);
        return;
    }
    munlockall();
    malloc_trim(0);
    if (mlockall(MCL_CURRENT | MCL_FUTURE | MCL_ONFAULT) < 0) {
        m->locked = false;
        slated_log(s, "memory: cannot lock slated in memory again: %s", strerror(errno));
    }
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
    loop_source_remove(m->tripwire);
    loop_source_remove(m->device_max);
    for (struct unit *u = s->units; u; u = u->next)
        if (u->psi)
            unwatch(&u->psi, &u->psi_fd);
    loop_source_remove(m->mw_src);
    memwatch_close(m->mw);
    if (m->tripwire)
        (void)cgroups_apps_set_high(s->cgroups, UINT64_MAX, NULL);
    int fds[] = {m->psi_some_fd, m->psi_full_fd, m->device_fd, m->reclaim_fd, m->tripwire_fd, m->device_max_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(m);
    s->mem = NULL;
}
