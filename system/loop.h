/* loop.h: slated's one event loop: file descriptors, timers, signals and child processes over epoll. */
#pragma once

#include <signal.h>
#include <stdint.h>
#include <sys/signalfd.h>
#include <sys/types.h>

/*
 * One epoll set carries every source, so a daemon sleeps in one place and wakes
 * only for work: a readable socket, a timer (a timerfd), a signal (one signalfd
 * for the loop, the signals blocked for the thread), a child's exit (its pidfd).
 * Callbacks return 0, or a negative errno that stops the loop with that code.
 * A source may be removed from any callback, its own included: it is then only
 * marked, and freed once the batch of events being dispatched is done.
 */
struct loop;
struct loop_source;

typedef int (*loop_io_fn)(struct loop_source *s, int fd, uint32_t events, void *userdata);
typedef int (*loop_timer_fn)(struct loop_source *s, void *userdata);
typedef int (*loop_signal_fn)(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata);
/* si is what waitid() reported: si_code CLD_EXITED (si_status the exit status), CLD_KILLED or CLD_DUMPED. */
typedef int (*loop_child_fn)(struct loop_source *s, const siginfo_t *si, void *userdata);

int loop_new(struct loop **ret);
/* Frees every source still there, and restores the signal mask the loop changed. Accepts NULL; returns NULL. */
struct loop *loop_free(struct loop *l);

/* Watch fd (the caller's) for events (EPOLLIN, EPOLLOUT, ...). */
int loop_add_io(struct loop *l, int fd, uint32_t events, loop_io_fn fn, void *userdata, struct loop_source **ret);
/* Watch an io source's fd for other events from now on; -EINVAL for any other kind of source. */
int loop_io_set_events(struct loop_source *s, uint32_t events);
/* Fire once, usec microseconds from now (CLOCK_MONOTONIC); loop_timer_set re-arms it. */
int loop_add_timer(struct loop *l, uint64_t usec, loop_timer_fn fn, void *userdata, struct loop_source **ret);
int loop_timer_set(struct loop_source *s, uint64_t usec);
/* Disarm a timer source, which stays in the loop until removed; loop_timer_set arms it again. */
int loop_timer_stop(struct loop_source *s);
/* Deliver sig through the loop: it is blocked for the calling thread from now on. */
int loop_add_signal(struct loop *l, int sig, loop_signal_fn fn, void *userdata, struct loop_source **ret);
/* Report a child's end; pidfd becomes the source's (closed when it is removed). The child is reaped. */
int loop_add_child(struct loop *l, int pidfd, loop_child_fn fn, void *userdata, struct loop_source **ret);

/* The fd a source watches (a child's pidfd, say), still the source's; -1 once removed or for a signal. */
int loop_source_fd(const struct loop_source *s);

/* Remove a source (NULL is fine). */
void loop_source_remove(struct loop_source *s);
struct loop *loop_source_loop(struct loop_source *s);

/* Dispatch until loop_quit or a callback fails; returns the quit code or the failure. */
int loop_run(struct loop *l);
void loop_quit(struct loop *l, int code);
