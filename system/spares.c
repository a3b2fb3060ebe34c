/* spares.c: sandboxes made ahead of time, so that starting an app waits for neither namespaces nor cgroups. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/wait.h>
#include <unistd.h>

#include "slated.h"

/*
 * One spare per kind of sandbox (without the network, and with it once an app
 * holding the network permission has started), each waiting in a cgroup of its
 * own, named so that no app id can take the name (app ids are lower case). A
 * launch takes the ready spare of its kind. On cgroup v1 the spare's cgroup is
 * renamed after the app: a rename is instant, while moving a process into a v1
 * cgroup waits for an RCU grace period (several milliseconds). v2 cannot rename
 * a cgroup, but moves are cheap there: the spare moves into a group made for
 * the app. The next spare is made a little after each launch, once the app had
 * the CPU to start.
 */
#define REFILL_DELAY_US 50000ULL /* after a launch, before the next spare is made */
#define RETRY_MIN_US 1000000ULL  /* a spare that could not be made is tried again after this, doubling */
#define RETRY_MAX_US 60000000ULL

struct spares;

struct slot {
    struct spares *owner;
    const char *cgroup_name;
    bool network;
    bool wanted; /* keep one of this kind */
    struct sandbox_spare *sp;
    struct cgroup *cg;         /* where the spare waits */
    struct loop_source *watch; /* its socket: ready, or dead */
    struct loop_source *dying; /* a spare dropped for memory, killed, its pidfd reaping it */
    pid_t dying_pid;
    bool ready;
    unsigned failures; /* in a row */
    uint64_t retry_at; /* CLOCK_MONOTONIC, after a failure */
};

struct spares {
    struct slated *s;
    struct slot slot[2]; /* indexed by network */
    struct loop_source *timer;
    uint64_t due; /* when the timer fires (CLOCK_MONOTONIC); 0: not armed */
    bool held;    /* memory is short: no spare is kept */
};

static void discard(struct slot *sl) {
    loop_source_remove(sl->watch);
    sl->watch = NULL;
    sl->sp = sandbox_spare_free(sl->sp);
    sl->ready = false;
}

static int on_dropped_reaped(struct loop_source *src, const siginfo_t *si, void *userdata) {
    struct slot *sl = userdata;
    (void)src, (void)si;
    sl->dying = NULL;
    sl->dying_pid = 0;
    return 0;
}

/* Kill the spare and go on: the loop reaps it when its namespaces are gone (blocking here would
 * hold up slated for as long, just as memory is short). One at a time per slot; else it waits. */
static void drop(struct slot *sl) {
    if (sl->dying) {
        discard(sl);
        return;
    }
    loop_source_remove(sl->watch);
    sl->watch = NULL;
    sl->ready = false;
    pid_t pid = sandbox_spare_pid(sl->sp);
    int pidfd = sandbox_spare_release(sl->sp);
    sl->sp = NULL;
    if (pidfd >= 0 && loop_add_child(sl->owner->s->loop, pidfd, on_dropped_reaped, sl, &sl->dying) == 0)
        sl->dying_pid = pid;
    else
        sl->dying = NULL; /* no pidfd, or no memory for its source: reap_orphans takes it */
}

/* At the end, whatever is still dying is waited for: its cgroup is removed next. */
static void reap_dropped(struct slot *sl) {
    siginfo_t si;
    if (!sl->dying)
        return;
    while (waitid((idtype_t)P_PIDFD, (id_t)loop_source_fd(sl->dying), &si, WEXITED) < 0 && errno == EINTR)
        ;
    loop_source_remove(sl->dying);
    sl->dying = NULL;
    sl->dying_pid = 0;
}

static int on_timer(struct loop_source *src, void *userdata);

/* Make the missing spares in usec, or sooner if that was asked already; held, when the hold ends. */
static void refill_later(struct spares *sps, uint64_t usec) {
    uint64_t at = now_us() + usec;
    if (sps->held || (sps->due && sps->due <= at))
        return;
    if ((sps->timer ? loop_timer_set(sps->timer, usec) : loop_add_timer(sps->s->loop, usec, on_timer, sps,
                                                                          &sps->timer)) == 0)
        sps->due = at;
}

static void failed(struct slot *sl, const struct err *e) {
    struct spares *sps = sl->owner;
    discard(sl);
    uint64_t delay = RETRY_MIN_US;
    for (unsigned i = 0; i < sl->failures && delay < RETRY_MAX_US; i++)
        delay *= 2;
    delay = delay < RETRY_MAX_US ? delay : RETRY_MAX_US;
    sl->failures++;
    sl->retry_at = now_us() + delay;
    /* The first failure is news; the same one again every minute is not. */
    if (sl->failures == 1)
        slated_log(sps->s, "cannot make a sandbox ahead of time (apps start without one): %s", e->msg);
    refill_later(sps, delay);
}

/* The spare's socket: it is ready, or it died (then a new one is made). */
static int on_spare(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct slot *sl = userdata;
    struct err e = {0};
    (void)src, (void)fd, (void)events;
    int r = sandbox_spare_poll(sl->sp, false, &e);
    if (r < 0)
        failed(sl, &e);
    else if (r > 0 && !sl->ready) {
        sl->ready = true;
        sl->failures = 0;
    }
    return 0;
}

/* The slot's own cgroup, made once and kept: each spare waits there. */
static int slot_cgroup(struct slot *sl, struct err *e) {
    struct slated *s = sl->owner->s;
    if (sl->cg)
        return 0;
    struct cgroup_limits lim;
    units_limits(s->default_memory, &lim);
    return cgroup_create(s->cgroups, sl->cgroup_name, &lim, &sl->cg, e);
}

static int make(struct slot *sl, struct err *e) {
    struct slated *s = sl->owner->s;
    int procs[CGROUP_PROCS_MAX], n_procs = 0, r;

    if ((r = slot_cgroup(sl, e)) < 0 || (n_procs = r = cgroup_procs_fds(sl->cg, procs, CGROUP_PROCS_MAX)) < 0)
        return r < 0 && !e->msg[0] ? err_set(e, r, "cgroup: %s", strerror(-r)) : r;
    struct sandbox_base base = {
        .helper = s->helper,
        .libs = s->libs,
        .n_libs = s->n_libs,
        .network = sl->network,
        .cgroup_fd = cgroup_dir_fd(sl->cg),
        .cgroup_procs = procs,
        .n_cgroup_procs = (size_t)n_procs,
    };
    r = sandbox_prepare(&base, &sl->sp, e);
    for (int i = 0; i < n_procs; i++)
        close(procs[i]);
    if (r < 0)
        return r;
    if ((r = loop_add_io(s->loop, sandbox_spare_fd(sl->sp), EPOLLIN, on_spare, sl, &sl->watch)) < 0) {
        sl->sp = sandbox_spare_free(sl->sp);
        return err_set(e, r, "cannot watch a sandbox: %s", strerror(-r));
    }
    return 0;
}

static int on_timer(struct loop_source *src, void *userdata) {
    struct spares *sps = userdata;
    uint64_t now = now_us(), next = 0;
    (void)src;
    sps->due = 0;
    if (sps->s->shutting_down || sps->held)
        return 0;
    for (size_t i = 0; i < 2; i++) {
        struct slot *sl = &sps->slot[i];
        struct err e = {0};
        if (!sl->wanted || sl->sp)
            continue;
        if (now < sl->retry_at) {
            next = next && next < sl->retry_at - now ? next : sl->retry_at - now;
            continue;
        }
        if (make(sl, &e) < 0)
            failed(sl, &e);
    }
    if (next)
        refill_later(sps, next);
    return 0;
}

int spares_start(struct slated *s, struct err *e) {
    struct spares *sps = calloc(1, sizeof *sps);
    if (!sps)
        return err_set(e, -ENOMEM, "out of memory");
    sps->s = s;
    sps->slot[0] = (struct slot){.owner = sps, .cgroup_name = "Spare.isolated", .wanted = true};
    sps->slot[1] = (struct slot){.owner = sps, .cgroup_name = "Spare.network", .network = true};
    s->spares = sps;
    /* The first one right away: the first app of the day starts as fast as the others. */
    on_timer(NULL, sps);
    return 0;
}

void spares_stop(struct slated *s) {
    struct spares *sps = s->spares;
    if (!sps)
        return;
    loop_source_remove(sps->timer);
    for (size_t i = 0; i < 2; i++) {
        struct slot *sl = &sps->slot[i];
        struct err e = {0};
        discard(sl);
        reap_dropped(sl);
        if (sl->cg && cgroup_destroy(sl->cg, &e) < 0)
            slated_log(s, "%s", e.msg);
    }
    free(sps);
    s->spares = NULL;
}

void spares_hold(struct slated *s, bool hold) {
    struct spares *sps = s->spares;
    if (!sps || sps->held == hold)
        return;
    sps->held = hold;
    if (hold) {
        /* A spare is a convenience: when memory is short it goes first, and none is made (no timer
         * either: a refill due now would only wake slated to find the hold). */
        if (sps->due)
            loop_timer_stop(sps->timer);
        sps->due = 0;
        for (size_t i = 0; i < 2; i++)
            if (sps->slot[i].sp) {
                drop(&sps->slot[i]);
                slated_log(s, "memory: dropped the spare sandbox%s", sps->slot[i].network ? " for network apps" : "");
            }
    } else
        refill_later(sps, REFILL_DELAY_US);
}

bool spares_own(const struct slated *s, pid_t pid) {
    const struct spares *sps = s->spares;
    for (size_t i = 0; sps && i < 2; i++)
        if ((sps->slot[i].sp && sandbox_spare_pid(sps->slot[i].sp) == pid) ||
            (sps->slot[i].dying && sps->slot[i].dying_pid == pid))
            return true;
    return false;
}

/* The spare's cgroup becomes the app's, named name and limited by lim. */
static int adopt(struct slot *sl, const char *name, const struct cgroup_limits *lim, struct cgroup **ret,
                 struct err *e) {
    struct slated *s = sl->owner->s;
    int r;
    if (cgroups_version(s->cgroups) == 1) {
        if ((r = cgroup_set_limits(sl->cg, lim, e)) < 0 || (r = cgroup_rename(sl->cg, name, e)) < 0)
            return r;
        *ret = sl->cg;
        sl->cg = NULL;
        return 0;
    }
    struct cgroup *g;
    if ((r = cgroup_create(s->cgroups, name, lim, &g, e)) < 0)
        return r;
    if ((r = cgroup_attach(g, sandbox_spare_pid(sl->sp), e)) < 0) {
        cgroup_destroy(g, NULL);
        return r;
    }
    *ret = g;
    return 0;
}

struct sandbox_spare *spares_take(struct slated *s, bool network, const char *name, const struct cgroup_limits *lim,
                                  struct cgroup **cg) {
    struct spares *sps = s->spares;
    struct err e = {0};
    if (!sps)
        return NULL;
    struct slot *sl = &sps->slot[network];
    /* Apps of this kind start: keep a spare for the next one from now on. */
    if (!sl->wanted) {
        sl->wanted = true;
        refill_later(sps, REFILL_DELAY_US);
    }
    if (!sl->ready)
        return NULL;
    int r = sandbox_spare_poll(sl->sp, false, &e);
    if (r < 0) {
        failed(sl, &e);
        return NULL;
    }
    /* The app's group from an earlier run goes first: its name is about to be taken. */
    if (*cg && cgroup_destroy(*cg, NULL) < 0)
        return NULL;
    *cg = NULL;
    if (adopt(sl, name, lim, cg, &e) < 0) {
        slated_log(s, "%s: its sandbox made ahead of time could not be used: %s", name, e.msg);
        return NULL;
    }
    loop_source_remove(sl->watch);
    sl->watch = NULL;
    struct sandbox_spare *sp = sl->sp;
    sl->sp = NULL;
    sl->ready = false;
    refill_later(sps, REFILL_DELAY_US);
    return sp;
}
