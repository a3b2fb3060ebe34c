/* loop.c: an epoll loop over fds, timerfds, one signalfd and pidfds. */
#include "loop.h"

#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/timerfd.h>
#include <sys/wait.h>
#include <unistd.h>

#define BATCH 32

enum kind { SOURCE_IO, SOURCE_TIMER, SOURCE_SIGNAL, SOURCE_CHILD };

struct loop_source {
    struct loop *loop;
    enum kind kind;
    int fd;    /* watched: the caller's for SOURCE_IO, ours for timers and children, -1 for signals */
    int sig;   /* SOURCE_SIGNAL */
    bool dead; /* removed while a batch was dispatched: freed after it */
    loop_io_fn io;
    loop_timer_fn timer;
    loop_signal_fn signal;
    loop_child_fn child;
    void *userdata;
    struct loop_source *next; /* the loop's list of sources */
};

struct loop {
    int epfd;
    int sigfd; /* one signalfd for every signal source, -1 until the first */
    sigset_t mask, saved_mask;
    bool mask_changed, dispatching, quit;
    int code;
    struct loop_source *sources;
};

/* The epoll tag of the loop's signalfd: no source has this address. */
static char signal_tag;

int loop_new(struct loop **ret) {
    struct loop *l = calloc(1, sizeof *l);
    if (!l)
        return -ENOMEM;
    l->sigfd = -1;
    sigemptyset(&l->mask);
    if ((l->epfd = epoll_create1(EPOLL_CLOEXEC)) < 0) {
        int r = -errno;
        free(l);
        return r;
    }
    *ret = l;
    return 0;
}

static void source_free(struct loop_source *s) {
    if ((s->kind == SOURCE_TIMER || s->kind == SOURCE_CHILD) && s->fd >= 0)
        close(s->fd);
    free(s);
}

struct loop *loop_free(struct loop *l) {
    if (!l)
        return NULL;
    while (l->sources) {
        struct loop_source *s = l->sources;
        l->sources = s->next;
        source_free(s);
    }
    if (l->sigfd >= 0)
        close(l->sigfd);
    if (l->mask_changed)
        pthread_sigmask(SIG_SETMASK, &l->saved_mask, NULL);
    close(l->epfd);
    free(l);
    return NULL;
}

static struct loop_source *source_new(struct loop *l, enum kind kind, int fd, void *userdata) {
    struct loop_source *s = calloc(1, sizeof *s);
    if (s)
        *s = (struct loop_source){.loop = l, .kind = kind, .fd = fd, .userdata = userdata};
    return s;
}

/* Register s's fd with epoll and link s in. */
static int attach(struct loop_source *s, uint32_t events, struct loop_source **ret) {
    struct epoll_event ev = {.events = events, .data.ptr = s};
    if (s->fd >= 0 && epoll_ctl(s->loop->epfd, EPOLL_CTL_ADD, s->fd, &ev) < 0) {
        int r = -errno;
        source_free(s);
        return r;
    }
    s->next = s->loop->sources;
    s->loop->sources = s;
    if (ret)
        *ret = s;
    return 0;
}

int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata, struct loop_source **ret) {
    struct loop_source *s = source_new(l, SOURCE_IO, fd, userdata);
    if (!s)
        return -ENOMEM;
    s->io = fn;
    return attach(s, events, ret);
}

int loop_source_fd(const struct loop_source *s) {
    return s->dead ? -1 : s->fd;
}

int loop_io_set_events(struct loop_source *s, uint32_t events) {
    if (s->kind != SOURCE_IO || s->dead)
        return -EINVAL;
    struct epoll_event ev = {.events = events, .data.ptr = s};
    return epoll_ctl(s->loop->epfd, EPOLL_CTL_MOD, s->fd, &ev) < 0 ? -errno : 0;
}

int loop_timer_set(struct loop_source *s, uint64_t usec) {
    /* it_value 0 would disarm the timer: the shortest wait is a nanosecond */
    struct itimerspec its = {.it_value = {(time_t)(usec / 1000000), (long)(usec % 1000000) * 1000}};
    if (usec == 0)
        its.it_value.tv_nsec = 1;
    return timerfd_settime(s->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int loop_timer_stop(struct loop_source *s) {
    /* Disarming also clears an expiry not yet read: dispatch then finds nothing and skips it. */
    struct itimerspec its = {0};
    if (s->kind != SOURCE_TIMER)
        return -EINVAL;
    return timerfd_settime(s->fd, 0, &its, NULL) < 0 ? -errno : 0;
}

int loop_add_timer(struct loop *l, uint64_t usec, loop_timer_fn fn, void *userdata, struct loop_source **ret) {
    int fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    struct loop_source *s = source_new(l, SOURCE_TIMER, fd, userdata);
    if (!s) {
        close(fd);
        return -ENOMEM;
    }
    s->timer = fn;
    int r = loop_timer_set(s, usec);
    if (r < 0) {
        source_free(s);
        return r;
    }
    return attach(s, EPOLLIN, ret);
}

int loop_add_signal(struct loop *l, int sig, loop_signal_fn fn, void *userdata, struct loop_source **ret) {
    for (struct loop_source *o = l->sources; o; o = o->next)
        if (o->kind == SOURCE_SIGNAL && !o->dead && o->sig == sig)
            return -EEXIST;
    sigset_t mask = l->mask;
    sigaddset(&mask, sig);
    /* Block it before the signalfd reads it, or its default action would run first. */
    sigset_t old;
    if (pthread_sigmask(SIG_BLOCK, &mask, &old) != 0)
        return -EINVAL;
    if (!l->mask_changed) {
        l->saved_mask = old;
        l->mask_changed = true;
    }
    int fd = signalfd(l->sigfd, &mask, SFD_CLOEXEC | SFD_NONBLOCK);
    if (fd < 0)
        return -errno;
    if (l->sigfd < 0) {
        struct epoll_event ev = {.events = EPOLLIN, .data.ptr = &signal_tag};
        if (epoll_ctl(l->epfd, EPOLL_CTL_ADD, fd, &ev) < 0) {
            int r = -errno;
            close(fd);
            return r;
        }
        l->sigfd = fd;
    }
    l->mask = mask;
    struct loop_source *s = source_new(l, SOURCE_SIGNAL, -1, userdata);
    if (!s)
        return -ENOMEM;
    s->sig = sig;
    s->signal = fn;
    return attach(s, 0, ret);
}

int loop_add_child(struct loop *l, int pidfd, loop_child_fn fn, void *userdata, struct loop_source **ret) {
    struct loop_source *s = source_new(l, SOURCE_CHILD, pidfd, userdata);
    if (!s) {
        close(pidfd);
        return -ENOMEM;
    }
    s->child = fn;
    return attach(s, EPOLLIN, ret);
}

struct loop *loop_source_loop(struct loop_source *s) {
    return s->loop;
}

static void unlink_source(struct loop *l, struct loop_source *s) {
    for (struct loop_source **p = &l->sources; *p; p = &(*p)->next)
        if (*p == s) {
            *p = s->next;
            return;
        }
}

void loop_source_remove(struct loop_source *s) {
    if (!s || s->dead)
        return;
    struct loop *l = s->loop;
    if (s->fd >= 0)
        epoll_ctl(l->epfd, EPOLL_CTL_DEL, s->fd, NULL);
    if (s->kind == SOURCE_SIGNAL) {
        /* The signal stays blocked: unblocking it now could let a pending one kill the process. */
        sigdelset(&l->mask, s->sig);
        if (l->sigfd >= 0)
            (void)signalfd(l->sigfd, &l->mask, SFD_CLOEXEC | SFD_NONBLOCK);
    }
    if (l->dispatching) {
        s->dead = true; /* the current batch may still name it */
        return;
    }
    unlink_source(l, s);
    source_free(s);
}

static int dispatch_signals(struct loop *l) {
    struct signalfd_siginfo si;
    ssize_t n;
    while ((n = read(l->sigfd, &si, sizeof si)) == (ssize_t)sizeof si) {
        for (struct loop_source *s = l->sources; s; s = s->next)
            if (s->kind == SOURCE_SIGNAL && !s->dead && s->sig == (int)si.ssi_signo) {
                int r = s->signal(s, &si, s->userdata);
                if (r < 0)
                    return r;
                break;
            }
    }
    return n < 0 && errno != EAGAIN ? -errno : 0;
}

static int dispatch(struct loop_source *s, uint32_t events) {
    switch (s->kind) {
    case SOURCE_IO: return s->io(s, s->fd, events, s->userdata);
    case SOURCE_TIMER: {
        uint64_t expirations;
        if (read(s->fd, &expirations, sizeof expirations) < 0 && errno == EAGAIN)
            return 0; /* re-armed meanwhile */
        return s->timer(s, s->userdata);
    }
    case SOURCE_CHILD: {
        siginfo_t si = {0};
        if (waitid(P_PIDFD, (id_t)s->fd, &si, WEXITED | WNOHANG) < 0)
            return -errno;
        if (si.si_pid == 0)
            return 0; /* not ended yet */
        int r = s->child(s, &si, s->userdata);
        loop_source_remove(s); /* a child ends once */
        return r;
    }
    case SOURCE_SIGNAL: break;
    }
    return 0;
}

static void reap_dead(struct loop *l) {
    for (struct loop_source **p = &l->sources; *p;) {
        struct loop_source *s = *p;
        if (s->dead) {
            *p = s->next;
            source_free(s);
        } else
            p = &s->next;
    }
}

int loop_run(struct loop *l) {
    struct epoll_event events[BATCH];
    int r = 0;
    l->quit = false;
    while (!l->quit && r == 0) {
        int n = epoll_wait(l->epfd, events, BATCH, -1);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        l->dispatching = true;
        for (int i = 0; i < n && r == 0 && !l->quit; i++) {
            if (events[i].data.ptr == &signal_tag)
                r = dispatch_signals(l);
            else if (!((struct loop_source *)events[i].data.ptr)->dead)
                r = dispatch(events[i].data.ptr, events[i].events);
        }
        l->dispatching = false;
        reap_dead(l);
    }
    return r < 0 ? r : l->code;
}

void loop_quit(struct loop *l, int code) {
    l->quit = true;
    l->code = code;
}
