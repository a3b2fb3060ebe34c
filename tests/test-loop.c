/* test-loop.c: slated's event loop: timers, fds, signals, children, and removal during dispatch. */
#include "helpers.h"

#include <signal.h>
#include <sys/epoll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "loop.h"

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

struct counter {
    int fired;
    uint64_t at;
    struct loop_source *other; /* removed by the first callback that runs */
};

static int on_timer(struct loop_source *s, void *userdata) {
    struct counter *c = userdata;
    c->fired++;
    c->at = now_us();
    if (c->other) {
        loop_source_remove(c->other);
        c->other = NULL;
    }
    if (c->fired < 3)
        return loop_timer_set(s, 2000); /* again, 2 ms on */
    loop_quit(loop_source_loop(s), 42);
    return 0;
}

static void test_timer(void **state) {
    (void)state;
    struct loop *l;
    struct counter c = {0};
    assert_int_equal(loop_new(&l), 0);
    uint64_t start = now_us();
    assert_int_equal(loop_add_timer(l, 10000, on_timer, &c, NULL), 0);
    assert_int_equal(loop_run(l), 42);
    assert_int_equal(c.fired, 3);
    assert_true(c.at - start >= 14000); /* 10 ms, then twice 2 ms */
    loop_free(l);
}

static int stop(struct loop_source *s, void *userdata) {
    (void)userdata;
    loop_quit(loop_source_loop(s), 0);
    return 0;
}

/* Two timers due together: the first to run removes the other, which must not run. */
static void test_remove_during_dispatch(void **state) {
    (void)state;
    struct loop *l;
    struct loop_source *a, *b;
    struct counter ca = {0}, cb = {0};
    assert_int_equal(loop_new(&l), 0);
    assert_int_equal(loop_add_timer(l, 1000, on_timer, &ca, &a), 0);
    assert_int_equal(loop_add_timer(l, 1000, on_timer, &cb, &b), 0);
    ca.other = b;
    cb.other = a;
    usleep(3000); /* both due before the loop looks */
    assert_int_equal(loop_add_timer(l, 50000, stop, NULL, NULL), 0);
    assert_int_equal(loop_run(l), 42);
    assert_int_equal(ca.fired + cb.fired, 3); /* one timer ran three times; the other never */
    assert_true(ca.fired == 0 || cb.fired == 0);
    loop_free(l);
}

static int on_readable(struct loop_source *s, int fd, uint32_t events, void *userdata) {
    char buf[16];
    int *got = userdata;
    assert_true(events & EPOLLIN);
    *got = (int)read(fd, buf, sizeof buf);
    loop_source_remove(s);
    loop_quit(loop_source_loop(s), 0);
    return 0;
}

static void test_io(void **state) {
    (void)state;
    struct loop *l;
    int p[2], got = 0;
    assert_int_equal(pipe(p), 0);
    assert_int_equal(loop_new(&l), 0);
    assert_int_equal(loop_add_io(l, p[0], EPOLLIN, on_readable, &got, NULL), 0);
    assert_int_equal(write(p[1], "hello", 5), 5);
    assert_int_equal(loop_run(l), 0);
    assert_int_equal(got, 5);
    loop_free(l);
    close(p[0]);
    close(p[1]);
}

static int on_signal(struct loop_source *s, const struct signalfd_siginfo *si, void *userdata) {
    int *last = userdata;
    *last = (int)si->ssi_signo;
    if (si->ssi_signo == SIGTERM)
        loop_quit(loop_source_loop(s), 15);
    else
        kill(getpid(), SIGTERM);
    return 0;
}

static void test_signals(void **state) {
    (void)state;
    struct loop *l;
    int last = 0;
    assert_int_equal(loop_new(&l), 0);
    assert_int_equal(loop_add_signal(l, SIGUSR1, on_signal, &last, NULL), 0);
    assert_int_equal(loop_add_signal(l, SIGTERM, on_signal, &last, NULL), 0);
    assert_int_equal(loop_add_signal(l, SIGTERM, on_signal, &last, NULL), -EEXIST);
    kill(getpid(), SIGUSR1); /* blocked: it waits for the loop instead of killing the test */
    assert_int_equal(loop_run(l), 15);
    assert_int_equal(last, SIGTERM);
    loop_free(l);
    sigset_t now;
    pthread_sigmask(SIG_SETMASK, NULL, &now);
    assert_false(sigismember(&now, SIGUSR1)); /* the mask is back as it was */
}

static int on_child(struct loop_source *s, const siginfo_t *si, void *userdata) {
    siginfo_t *out = userdata;
    *out = *si;
    loop_quit(loop_source_loop(s), 0);
    return 0;
}

static void test_child(void **state) {
    (void)state;
    struct loop *l;
    siginfo_t si = {0};
    pid_t pid = fork();
    if (pid == 0) {
        usleep(5000);
        _exit(7);
    }
    int pidfd = (int)syscall(SYS_pidfd_open, pid, 0);
    if (pidfd < 0)
        skip(); /* needs Linux 5.3 */
    assert_int_equal(loop_new(&l), 0);
    assert_int_equal(loop_add_child(l, pidfd, on_child, &si, NULL), 0);
    assert_int_equal(loop_run(l), 0);
    assert_int_equal(si.si_pid, pid);
    assert_int_equal(si.si_code, CLD_EXITED);
    assert_int_equal(si.si_status, 7);
    assert_int_equal(waitpid(pid, NULL, WNOHANG), -1); /* already reaped */
    loop_free(l);
}

static int fail_with(struct loop_source *s, void *userdata) {
    (void)s, (void)userdata;
    return -EBADMSG;
}

static void test_failure_stops(void **state) {
    (void)state;
    struct loop *l;
    assert_int_equal(loop_new(&l), 0);
    assert_int_equal(loop_add_timer(l, 0, fail_with, NULL, NULL), 0);
    assert_int_equal(loop_run(l), -EBADMSG);
    loop_free(l);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_timer),   cmocka_unit_test(test_remove_during_dispatch),
        cmocka_unit_test(test_io),      cmocka_unit_test(test_signals),
        cmocka_unit_test(test_child),   cmocka_unit_test(test_failure_stops),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
