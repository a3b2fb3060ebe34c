/* app.c: slate_app_run: an app's one loop over slated's channel, its own fds and (outside slated) signals. */
#include <errno.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include <slate/app.h>

#include "channel.h"
#include "proto.h"
#include "window.h"

#define WATCH_MAX 256

struct watch {
    int fd;
    slate_fd_fn fn;
    void *userdata;
};

static pthread_mutex_t watch_lock = PTHREAD_MUTEX_INITIALIZER;
static struct watch watches[WATCH_MAX];
static size_t n_watches;

static atomic_bool quitting;
static atomic_int quit_code;
static atomic_int wake_fd = -1; /* an eventfd while slate_app_run runs, so slate_app_quit wakes it from any thread */

int slate_app_watch(int fd, slate_fd_fn fn, void *userdata) {
    int r = 0;
    if (fd < 0 || !fn)
        return -EINVAL;
    pthread_mutex_lock(&watch_lock);
    for (size_t i = 0; i < n_watches; i++)
        if (watches[i].fd == fd)
            r = -EEXIST;
    if (r == 0 && n_watches == WATCH_MAX)
        r = -ENOSPC;
    if (r == 0)
        watches[n_watches++] = (struct watch){fd, fn, userdata};
    pthread_mutex_unlock(&watch_lock);
    return r;
}

int slate_app_unwatch(int fd) {
    int r = -ENOENT;
    pthread_mutex_lock(&watch_lock);
    for (size_t i = 0; i < n_watches; i++)
        if (watches[i].fd == fd) {
            watches[i] = watches[--n_watches];
            r = 0;
            break;
        }
    pthread_mutex_unlock(&watch_lock);
    return r;
}

void slate_app_quit(int code) {
    quit_code = code;
    quitting = true;
    int fd = wake_fd;
    if (fd >= 0) {
        uint64_t one = 1;
        (void)!write(fd, &one, sizeof one);
    }
}

const char *slate_app_id(void) {
    return channel_app_id();
}

struct run {
    struct slate_app_callbacks cb;
    void *userdata;
    bool stopped;
};

static void dispatch(struct run *run, const struct channel_event *ev) {
    /* The display's messages go to the window, which draws and routes input. */
    if (ev->type == MSG_DISPLAY) {
        struct ui_display d = {(int)ev->width, (int)ev->height, ev->dark};
        ui_display_configure(&d);
        return;
    }
    if (ev->type == MSG_INPUT) {
        ui_input((enum ui_input_kind)ev->input, ev->x, ev->y, ev->time_us, ev->key);
        return;
    }
    if (ev->type == MSG_FRAME_DONE) {
        ui_frame_done();
        return;
    }
    if (ev->type == MSG_SERVICE_CLIENT) {
        if (run->cb.on_connect)
            run->cb.on_connect(ev->fd, run->userdata);
        else
            close(ev->fd);
        return;
    }
    switch (ev->event) {
    case EVENT_START:
        if (run->cb.on_start)
            run->cb.on_start(run->userdata);
        break;
    case EVENT_PAUSE:
        if (run->cb.on_pause)
            run->cb.on_pause(run->userdata);
        break;
    case EVENT_RESUME:
        if (run->cb.on_resume)
            run->cb.on_resume(run->userdata);
        break;
    case EVENT_TRIM_MEMORY:
        if (run->cb.on_trim_memory)
            run->cb.on_trim_memory((enum slate_trim_level)ev->level, run->userdata);
        break;
    case EVENT_STOP:
        if (run->cb.on_stop)
            run->cb.on_stop(run->userdata);
        run->stopped = true;
        break;
    default:
        return; /* an event of a newer platform: nothing to call, nothing to acknowledge */
    }
    channel_event_done(ev->event);
}

/* Standalone: SIGINT and SIGTERM stop the app, through a signalfd so callbacks run in the loop. */
static int standalone_signals(sigset_t *old) {
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    if (pthread_sigmask(SIG_BLOCK, &set, old) != 0)
        return -EINVAL;
    int fd = signalfd(-1, &set, SFD_CLOEXEC | SFD_NONBLOCK);
    return fd < 0 ? -errno : fd;
}

/* Calls the watch for fd, if it is still watched (a callback may have unwatched it). */
static void call_watch(int fd) {
    struct watch w = {.fd = -1};
    pthread_mutex_lock(&watch_lock);
    for (size_t i = 0; i < n_watches; i++)
        if (watches[i].fd == fd)
            w = watches[i];
    pthread_mutex_unlock(&watch_lock);
    if (w.fd >= 0)
        w.fn(fd, w.userdata);
}

static int loop(struct run *run, int chan, int sigfd, int evfd) {
    struct pollfd p[WATCH_MAX + 3];
    struct channel_event ev;
    int r = 0;

    while (!run->stopped && !quitting) {
        bool busy = false;
        /* Whatever arrived with a reply an SDK call waited for is queued already: dispatch it first. */
        if (chan >= 0) {
            while (!run->stopped && !quitting && (r = channel_next_event(&ev)) == 1)
                dispatch(run, &ev);
            busy = r == -EBUSY;
            if (r == -ECONNRESET) { /* slated went away: the app ends as if stopped */
                if (run->cb.on_stop)
                    run->cb.on_stop(run->userdata);
                return 0;
            }
            if (run->stopped || quitting)
                break;
        }
        /* What the callbacks changed is drawn before the app sleeps. */
        ui_before_wait();
        size_t n = 0;
        p[n++] = (struct pollfd){.fd = evfd, .events = POLLIN};
        /* While another thread's call reads the channel, only its poke wakes us for it. */
        p[n++] = (struct pollfd){.fd = busy ? -1 : chan >= 0 ? chan : sigfd, .events = POLLIN};
        pthread_mutex_lock(&watch_lock);
        for (size_t i = 0; i < n_watches; i++)
            p[n++] = (struct pollfd){.fd = watches[i].fd, .events = POLLIN};
        pthread_mutex_unlock(&watch_lock);
        if (poll(p, n, -1) < 0) {
            if (errno == EINTR)
                continue;
            return -errno;
        }
        if (p[0].revents) {
            uint64_t count;
            (void)!read(evfd, &count, sizeof count);
        }
        if (chan < 0 && p[1].revents) {
            struct signalfd_siginfo si;
            if (read(sigfd, &si, sizeof si) == (ssize_t)sizeof si) {
                ev = (struct channel_event){.type = MSG_EVENT, .event = EVENT_STOP, .fd = -1};
                dispatch(run, &ev);
            }
        }
        for (size_t i = 2; i < n && !run->stopped && !quitting; i++)
            if (p[i].revents)
                call_watch(p[i].fd);
    }
    return quitting ? quit_code : 0;
}

int slate_app_run(const struct slate_app_callbacks *callbacks, void *userdata) {
    struct run run = {.userdata = userdata};
    sigset_t old;
    int sigfd = -1, r;

    if (!callbacks || callbacks->size < offsetof(struct slate_app_callbacks, on_start))
        return -EINVAL;
    /* A callbacks struct from an older level is shorter: copy what it has, the rest stays NULL. */
    memcpy(&run.cb, callbacks, callbacks->size < sizeof run.cb ? callbacks->size : sizeof run.cb);
    int evfd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (evfd < 0)
        return -errno;
    wake_fd = evfd;
    quitting = false;
    channel_set_wake(evfd);

    int chan = channel_fd();
    if (chan < 0) {
        if ((sigfd = standalone_signals(&old)) < 0) {
            r = sigfd;
            goto out;
        }
        struct channel_event start = {.type = MSG_EVENT, .event = EVENT_START, .fd = -1};
        dispatch(&run, &start);
    }
    r = loop(&run, chan, sigfd, evfd);
    if (sigfd >= 0) {
        close(sigfd);
        pthread_sigmask(SIG_SETMASK, &old, NULL);
    }
out:
    channel_set_wake(-1);
    wake_fd = -1;
    close(evfd);
    return r;
}
