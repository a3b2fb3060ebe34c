/* test-outq.c: slated's send queue: queueing behind a full socket, order, fds, the bound, a peer gone. */
#include "helpers.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "outq.h"

#define TYPE 0x0201
#define F_BLOB 1
#define F_FILE 2

/* slated's end (nonblocking, a small send buffer, so it fills fast) and the app's. */
struct pair {
    int slated, app;
};

static void pair_new(struct pair *p) {
    int fds[2], size = 4096;
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, fds), 0);
    assert_int_equal(setsockopt(fds[0], SOL_SOCKET, SO_SNDBUF, &size, sizeof size), 0);
    p->slated = fds[0];
    p->app = fds[1];
}

static void pair_free(struct pair *p) {
    if (p->slated >= 0)
        close(p->slated);
    if (p->app >= 0)
        close(p->app);
}

static uint8_t mbuf[IPC_MSG_MAX];
static struct ipc_msg m;

/* A message with serial and a payload of len bytes, and fd when not negative. */
static const struct ipc_msg *numbered(uint32_t serial, size_t len, int fd) {
    static uint8_t blob[IPC_MSG_MAX];
    assert_int_equal(ipc_msg_init(&m, mbuf, sizeof mbuf, TYPE, serial, 0), 0);
    if (len)
        assert_int_equal(ipc_msg_add_bytes(&m, F_BLOB, blob, len), 0);
    if (fd >= 0)
        assert_int_equal(ipc_msg_add_fd(&m, F_FILE, fd), 0);
    return &m;
}

/* One message from the app's end: its serial (the fd it carried in *ret_fd), or 0 when none waits. */
static uint32_t receive(int fd, int *ret_fd) {
    static uint8_t rbuf[IPC_MSG_MAX];
    struct ipc_view v;
    int r = ipc_recv(fd, rbuf, sizeof rbuf, &v, NULL);
    if (r == -EAGAIN)
        return 0;
    assert_int_equal(r, 0);
    assert_int_equal(v.type, TYPE);
    if (ret_fd && ipc_msg_take_fd(&v, F_FILE, ret_fd, NULL) < 0)
        *ret_fd = -1;
    ipc_view_finish(&v);
    return v.serial;
}

/* Send 1000-byte messages numbered from 1 until one has to wait; returns its serial. */
static uint32_t fill(struct outq *q, int fd) {
    for (uint32_t serial = 1; serial < 10000; serial++) {
        int r = outq_send(q, fd, numbered(serial, 1000, -1));
        if (r == 1)
            return serial;
        assert_int_equal(r, 0);
        assert_true(outq_empty(q));
    }
    fail_msg("the socket never filled");
    return 0;
}

static void test_sends_at_once(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    pair_new(&p);
    assert_int_equal(outq_send(&q, p.slated, numbered(7, 10, -1)), 0);
    assert_true(outq_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(receive(p.app, NULL), 7);
    assert_int_equal(outq_flush(&q, p.slated), 0); /* nothing waits */
    pair_free(&p);
}

/* Once one message waits, the next ones queue behind it even when there is room; the peer gets them in order. */
static void test_queue_order(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    pair_new(&p);
    uint32_t first = fill(&q, p.slated), last = first;
    size_t bytes = m.len;
    assert_false(outq_empty(&q));
    assert_int_equal(q.bytes, bytes);
    for (int i = 0; i < 20; i++) {
        assert_int_equal(outq_send(&q, p.slated, numbered(++last, 100, -1)), 1);
        bytes += m.len;
    }
    assert_int_equal(q.bytes, bytes);

    /* The app reads what went out; there is room now, yet a new message still queues behind the rest. */
    uint32_t next = 1, got;
    while ((got = receive(p.app, NULL)) != 0)
        assert_int_equal(got, next++);
    assert_int_equal(next, first);
    assert_int_equal(outq_send(&q, p.slated, numbered(++last, 10, -1)), 1);

    /* Flush as the loop would on EPOLLOUT, the app reading between: every message, in order, once. */
    for (int rounds = 0;; rounds++) {
        assert_true(rounds < 1000);
        int r = outq_flush(&q, p.slated);
        assert_true(r == 0 || r == 1);
        while ((got = receive(p.app, NULL)) != 0)
            assert_int_equal(got, next++);
        if (r == 0)
            break;
    }
    assert_int_equal(next, last + 1);
    assert_true(outq_empty(&q));
    assert_int_equal(q.bytes, 0);
    pair_free(&p);
}

/* A queued message keeps its own copy of each fd: the caller may close its own at once; the peer gets the file. */
static void test_fds_carried(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    int pipefd[2], got_fd = -1;
    char buf[8];
    pair_new(&p);
    assert_int_equal(pipe2(pipefd, O_CLOEXEC), 0);
    uint32_t first = fill(&q, p.slated);
    assert_int_equal(outq_send(&q, p.slated, numbered(first + 1, 10, pipefd[0])), 1);
    close(pipefd[0]);
    assert_int_equal(write(pipefd[1], "hi", 2), 2);
    uint32_t got;
    do {
        int r = outq_flush(&q, p.slated);
        assert_true(r >= 0);
        while ((got = receive(p.app, &got_fd)) != 0 && got != first + 1)
            assert_int_equal(got_fd, -1);
    } while (got != first + 1);
    assert_true(got_fd >= 0);
    assert_int_equal(read(got_fd, buf, sizeof buf), 2);
    assert_memory_equal(buf, "hi", 2);
    close(got_fd);
    close(pipefd[1]);
    pair_free(&p);
}

/* Clearing the queue closes its copies: a pipe's write end that only the queue held is closed (EOF). */
static void test_clear_closes_fds(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    int pipefd[2];
    char c;
    pair_new(&p);
    assert_int_equal(pipe2(pipefd, O_CLOEXEC | O_NONBLOCK), 0);
    fill(&q, p.slated);
    assert_int_equal(outq_send(&q, p.slated, numbered(9999, 10, pipefd[1])), 1);
    close(pipefd[1]);
    assert_int_equal(read(pipefd[0], &c, 1), -1); /* a write end is still open: no EOF */
    assert_int_equal(errno, EAGAIN);
    outq_clear(&q);
    assert_true(outq_empty(&q));
    assert_int_equal(q.bytes, 0);
    assert_int_equal(read(pipefd[0], &c, 1), 0);
    close(pipefd[0]);
    outq_clear(&q); /* twice is fine */
    pair_free(&p);
}

/* The queue holds at most OUTQ_MAX bytes: past that a message is refused (-ENOBUFS) and nothing changes. */
static void test_bound(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    pair_new(&p);
    uint32_t serial = fill(&q, p.slated);
    int r;
    while ((r = outq_send(&q, p.slated, numbered(++serial, 60000, -1))) == 1)
        assert_true(q.bytes <= OUTQ_MAX);
    assert_int_equal(r, -ENOBUFS);
    size_t bytes = q.bytes;
    assert_true(bytes + m.len > OUTQ_MAX);
    assert_true(bytes <= OUTQ_MAX);
    /* A message that fits in what is left is still taken: the bound is in bytes. */
    size_t room = OUTQ_MAX - bytes;
    if (room > 200) {
        assert_int_equal(outq_send(&q, p.slated, numbered(++serial, room - 100, -1)), 1);
        assert_true(q.bytes <= OUTQ_MAX);
    }
    outq_clear(&q);
    assert_int_equal(q.bytes, 0);
    pair_free(&p);
}

/* A peer gone: a send says -EPIPE, and nothing is queued. */
static void test_peer_gone(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    pair_new(&p);
    close(p.app);
    p.app = -1;
    assert_int_equal(outq_send(&q, p.slated, numbered(1, 10, -1)), -EPIPE);
    assert_true(outq_empty(&q));
    pair_free(&p);
}

/*
 * A peer that left with messages unread: the kernel says -ECONNRESET once
 * (to the flush of what waited), then -EPIPE. What waited stays until the
 * owner clears it.
 */
static void test_peer_gone_unread(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    pair_new(&p);
    uint32_t serial = fill(&q, p.slated);
    close(p.app);
    p.app = -1;
    assert_int_equal(outq_flush(&q, p.slated), -ECONNRESET);
    assert_false(outq_empty(&q));
    assert_int_equal(outq_flush(&q, p.slated), -EPIPE);
    outq_clear(&q);
    assert_int_equal(outq_send(&q, p.slated, numbered(++serial, 10, -1)), -EPIPE);
    assert_true(outq_empty(&q));
    pair_free(&p);
}

/* A message whose building failed is refused, neither sent nor queued. */
static void test_unbuilt(void **state) {
    (void)state;
    struct pair p;
    struct outq q = {0};
    pair_new(&p);
    ipc_msg_init(&m, mbuf, sizeof mbuf, TYPE, 1, 0);
    assert_int_equal(ipc_msg_add_string(&m, 3, "\xff not UTF-8"), -EINVAL);
    assert_int_equal(outq_send(&q, p.slated, &m), -EINVAL);
    assert_true(outq_empty(&q));
    assert_int_equal(receive(p.app, NULL), 0);
    pair_free(&p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sends_at_once),    cmocka_unit_test(test_queue_order), cmocka_unit_test(test_fds_carried),
        cmocka_unit_test(test_clear_closes_fds), cmocka_unit_test(test_bound),       cmocka_unit_test(test_peer_gone),
        cmocka_unit_test(test_peer_gone_unread), cmocka_unit_test(test_unbuilt),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
