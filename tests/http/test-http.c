/* test-http.c: slated's HTTP client for apps, driven by the loop against local servers. */
#include "helpers.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "http.h"
#include "loop.h"

#define SEALS_ALL (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)
#define BODY_MAX (1u << 20)
#define STALL_MS 700
#define GUARD_MS 20000
#define PATTERN_LEN (200 * 1024 + 7)

static const struct http_limits limits = {
    .body_max = BODY_MAX,
    .connect_timeout_ms = 3000,
    .stall_timeout_ms = STALL_MS,
    .total_timeout_ms = 15000,
};

extern char **environ;

/* The servers, shared by every test. */
static char *dir;
static struct test_server faults; /* tests/http-fault-server.py over dir */
static struct test_server echo;   /* tests/http/echo-server.py */
static unsigned char pattern[PATTERN_LEN];

/* What one test has: a loop and a client over it. */
struct fixture {
    struct loop *loop;
    struct http *http;
    int fds; /* open before the test: as many must be open after it */
};

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    int n = 0;
    assert_non_null(d);
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

/* One transfer's report. */
struct result {
    int calls;
    int r;
    long status;
    int fd;
    uint64_t len;
    char type[HTTP_CONTENT_TYPE_MAX];
    char error[1024];
    struct loop *quit_loop; /* quit when reported (NULL: don't) */
    int *left;              /* with several: quit when this reaches 0 */
    struct http_transfer *self, *cancel;
    struct http **free_http;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* Servers ------------------------------------------------------------------------------------ */

static int servers_start(void **state) {
    (void)state;
    for (size_t i = 0; i < sizeof pattern; i++)
        pattern[i] = (unsigned char)(i * 131 + i / 251);
    dir = test_tmpdir("http");
    char *p = test_fmt("%s/pattern.bin", dir);
    test_write(p, pattern, sizeof pattern, 0644);
    free(p);
    p = test_fmt("%s/small.txt", dir);
    test_write(p, "hello, slate\n", 13, 0644);
    free(p);
    /* Twice the limit, with a Content-Length that says so. */
    size_t big_len = 2 * BODY_MAX;
    char *big = calloc(1, big_len);
    p = test_fmt("%s/big.bin", dir);
    test_write(p, big, big_len, 0644);
    free(p);
    free(big);
    test_server_start(&faults, dir, NULL);
    test_script_server_start(&echo, "http/echo-server.py", NULL, NULL);
    return 0;
}

static int servers_stop(void **state) {
    (void)state;
    test_server_stop(&faults);
    test_server_stop(&echo);
    test_rmtree(dir);
    free(dir);
    return 0;
}

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    assert_non_null(f);
    f->fds = count_fds();
    assert_int_equal(loop_new(&f->loop), 0);
    assert_int_equal(http_new(f->loop, &limits, &f->http), 0);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    http_free(f->http);
    loop_free(f->loop);
    assert_int_equal(count_fds(), f->fds); /* bodies, sockets, timers: all closed */
    free(f);
    return 0;
}

/* Driving the loop ------------------------------------------------------------------------------ */

static int quit_with_timeout(struct loop_source *s, void *userdata) {
    (void)userdata;
    loop_quit(loop_source_loop(s), -ETIMEDOUT);
    return 0;
}

static int quit_ok(struct loop_source *s, void *userdata) {
    (void)userdata;
    loop_quit(loop_source_loop(s), 0);
    return 0;
}

/* Run until a report quits the loop; a test that hangs fails instead. */
static void run(struct fixture *f) {
    struct loop_source *guard;
    assert_int_equal(loop_add_timer(f->loop, GUARD_MS * 1000ULL, quit_with_timeout, NULL, &guard), 0);
    int r = loop_run(f->loop);
    loop_source_remove(guard);
    assert_int_equal(r, 0);
}

/* Run for ms milliseconds, whatever happens. */
static void run_for(struct fixture *f, unsigned ms) {
    struct loop_source *stop;
    assert_int_equal(loop_add_timer(f->loop, ms * 1000ULL, quit_ok, NULL, &stop), 0);
    assert_int_equal(loop_run(f->loop), 0);
    loop_source_remove(stop);
}

static void on_done(void *userdata, int r, const struct http_response *resp, const char *error) {
    struct result *res = userdata;
    res->calls++;
    res->r = r;
    res->fd = -1;
    if (r == 0) {
        assert_non_null(resp);
        assert_null(error);
        res->status = resp->status;
        res->fd = resp->body_fd;
        res->len = resp->body_len;
        memcpy(res->type, resp->content_type, sizeof res->type);
    } else {
        assert_null(resp);
        assert_non_null(error);
        assert_null(strchr(error, '\n'));
        snprintf(res->error, sizeof res->error, "%s", error);
    }
    http_cancel(res->self); /* its own: ignored */
    http_cancel(res->cancel);
    if (res->free_http) {
        assert_non_null(*res->free_http); /* freed by an earlier report: this one must not come */
        *res->free_http = http_free(*res->free_http);
    }
    if (res->left && --*res->left == 0)
        loop_quit(res->quit_loop, 0);
    else if (!res->left && res->quit_loop)
        loop_quit(res->quit_loop, 0);
}

static struct http_transfer *start(struct fixture *f, const char *base, const char *path, struct result *res) {
    char *url = test_fmt("%s%s", base, path);
    struct http_request req = {.method = "GET", .url = url};
    struct http_transfer *t = NULL;
    struct err e = {0};
    res->fd = -1;
    if (http_start(f->http, &req, on_done, res, &t, &e) < 0)
        fail_msg("http_start %s: %s", url, e.msg);
    free(url);
    return t;
}

/* One GET through the loop, waiting for its report. */
static void get(struct fixture *f, const char *base, const char *path, struct result *res) {
    res->quit_loop = f->loop;
    start(f, base, path, res);
    run(f);
    assert_int_equal(res->calls, 1);
}

/* The body's bytes, read back from the memfd, which must be sealed, close-on-exec, at offset 0. */
static void expect_body(const struct result *res, const void *want, size_t len) {
    assert_true(res->fd >= 0);
    assert_int_equal(res->len, len);
    assert_int_equal(fcntl(res->fd, F_GET_SEALS), SEALS_ALL);
    assert_true(fcntl(res->fd, F_GETFD) & FD_CLOEXEC);
    assert_int_equal(lseek(res->fd, 0, SEEK_CUR), 0);
    char *got = malloc(len + 1);
    size_t n = 0;
    ssize_t k;
    while ((k = pread(res->fd, got + n, len + 1 - n, (off_t)n)) > 0)
        n += (size_t)k;
    assert_int_equal(n, len);
    assert_memory_equal(got, want, len);
    free(got);
    errno = 0;
    assert_int_equal(write(res->fd, "x", 1), -1);
    assert_int_equal(errno, EPERM);
    assert_int_equal(ftruncate(res->fd, (off_t)len + 1), -1);
    assert_int_equal(errno, EPERM);
    if (len > 0) {
        assert_int_equal(ftruncate(res->fd, 0), -1);
        assert_int_equal(errno, EPERM);
    }
}

static void expect_error(const struct result *res, int r, const char *phrase) {
    if (res->r != r)
        fail_msg("expected %s, got %d (%s; status %ld, %llu bytes)", strerror(-r), res->r, res->error, res->status,
                 (unsigned long long)res->len);
    if (!strstr(res->error, phrase))
        fail_msg("expected \"%s\" in: %s", phrase, res->error);
    assert_non_null(strstr(res->error, "http://127.0.0.1:"));
}

/* Tests --------------------------------------------------------------------------------------- */

static void test_get(void **state) {
    struct fixture *f = *state;
    struct result res = {0};
    get(f, faults.url, "/ok/pattern.bin", &res);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.status, 200);
    assert_string_equal(res.type, "");
    expect_body(&res, pattern, sizeof pattern);
    close(res.fd);
}

/* Any status is a response: r is 0, the body comes too. */
static void test_status(void **state) {
    struct fixture *f = *state;
    struct result res = {0}, missing = {0};
    get(f, faults.url, "/status/404/x", &res);
    assert_int_equal(res.r, 0);
    assert_int_equal(res.status, 404);
    expect_body(&res, "status page\n", 12);
    close(res.fd);
    get(f, faults.url, "/status/503/x", &missing);
    assert_int_equal(missing.status, 503);
    close(missing.fd);
}

static void post(struct fixture *f, const void *body, size_t len, const char *type, struct result *res) {
    char *url = test_fmt("%s/echo", echo.url);
    struct http_request req = {.method = "POST", .url = url, .body = body, .body_len = len, .content_type = type};
    struct err e = {0};
    res->quit_loop = f->loop;
    if (http_start(f->http, &req, on_done, res, NULL, &e) < 0)
        fail_msg("http_start: %s", e.msg);
    free(url);
    run(f);
    assert_int_equal(res->calls, 1);
    assert_int_equal(res->r, 0);
    assert_int_equal(res->status, 200);
}

static void test_post(void **state) {
    struct fixture *f = *state;
    static const char body[] = "binary\0body\r\nwith a NUL";
    struct result typed = {0}, untyped = {0}, empty = {0};
    char *copy = malloc(sizeof body);
    memcpy(copy, body, sizeof body);
    post(f, copy, sizeof body, "application/x-slate; v=1", &typed);
    free(copy); /* http_start copied it */
    expect_body(&typed, body, sizeof body);
    assert_string_equal(typed.type, "application/x-slate; v=1");
    close(typed.fd);

    char big[300 * 1024];
    for (size_t i = 0; i < sizeof big; i++)
        big[i] = (char)(i % 253);
    post(f, big, sizeof big, NULL, &untyped);
    expect_body(&untyped, big, sizeof big);
    assert_string_equal(untyped.type, ""); /* none sent, none echoed */
    close(untyped.fd);

    post(f, NULL, 0, "text/plain", &empty);
    expect_body(&empty, "", 0);
    assert_string_equal(empty.type, "text/plain");
    close(empty.fd);
}

/* A type too long keeps its media type; one with a byte outside printable ASCII is dropped. */
static void test_content_type(void **state) {
    struct fixture *f = *state;
    struct result lng = {0}, latin1 = {0};
    get(f, echo.url, "/type/long", &lng);
    assert_int_equal(lng.status, 200);
    assert_string_equal(lng.type, "text/plain");
    close(lng.fd);
    get(f, echo.url, "/type/latin1", &latin1);
    assert_int_equal(latin1.status, 200);
    assert_string_equal(latin1.type, "");
    close(latin1.fd);
}

static void test_too_large(void **state) {
    struct fixture *f = *state;
    struct result endless = {0}, declared = {0};
    get(f, faults.url, "/endless/small.txt", &endless);
    expect_error(&endless, -EFBIG, "reply larger than 1048576 bytes");
    assert_non_null(strstr(endless.error, "/endless/small.txt"));
    get(f, faults.url, "/ok/big.bin", &declared);
    expect_error(&declared, -EFBIG, "reply larger than 1048576 bytes");
}

static void test_stall(void **state) {
    struct fixture *f = *state;
    struct result half = {0}, silent = {0};
    uint64_t t0 = now_ms();
    get(f, faults.url, "/stall/pattern.bin", &half);
    uint64_t took = now_ms() - t0;
    expect_error(&half, -ETIMEDOUT, "stalled");
    assert_true(took >= STALL_MS - 50);
    assert_true(took < STALL_MS + 1500);
    t0 = now_ms();
    get(f, faults.url, "/silent/x", &silent);
    took = now_ms() - t0;
    expect_error(&silent, -ETIMEDOUT, "stalled");
    assert_true(took < STALL_MS + 1500);
}

static void test_total_timeout(void **state) {
    struct fixture *f = *state;
    struct http_limits lim = {.stall_timeout_ms = 10000, .total_timeout_ms = 600};
    http_free(f->http);
    assert_int_equal(http_new(f->loop, &lim, &f->http), 0);
    struct result res = {0};
    uint64_t t0 = now_ms();
    get(f, faults.url, "/stall/pattern.bin", &res);
    expect_error(&res, -ETIMEDOUT, "timed out");
    assert_true(now_ms() - t0 < 3000);
}

/* A base URL nobody listens on: a port bound, then closed. */
static char *refusing_base(void) {
    int s = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in a = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t alen = sizeof a;
    assert_int_equal(bind(s, (struct sockaddr *)&a, sizeof a), 0);
    assert_int_equal(getsockname(s, (struct sockaddr *)&a, &alen), 0);
    close(s);
    return test_fmt("http://127.0.0.1:%d", ntohs(a.sin_port));
}

static void test_refused(void **state) {
    struct fixture *f = *state;
    char *base = refusing_base();
    struct result res = {0};
    get(f, base, "/ok/small.txt", &res);
    expect_error(&res, -ECONNREFUSED, "connection refused");
    free(base);
}

static void test_redirects(void **state) {
    struct fixture *f = *state;
    struct result followed = {0}, looped = {0}, to_file = {0};
    get(f, faults.url, "/redirect/small.txt", &followed);
    assert_int_equal(followed.r, 0);
    assert_int_equal(followed.status, 200);
    expect_body(&followed, "hello, slate\n", 13);
    close(followed.fd);
    get(f, faults.url, "/redirect-loop/x", &looped);
    expect_error(&looped, -ELOOP, "more than 5 redirects");
    get(f, faults.url, "/redirect-file/x", &to_file);
    expect_error(&to_file, -EPROTONOSUPPORT, "scheme refused");
}

static void expect_refused(struct fixture *f, const struct http_request *req, int r, const char *phrase) {
    struct result res = {0};
    struct http_transfer *t = NULL;
    struct err e = {0};
    assert_int_equal(http_start(f->http, req, on_done, &res, &t, &e), r);
    assert_null(t);
    if (!strstr(e.msg, phrase))
        fail_msg("expected \"%s\" in: %s", phrase, e.msg);
    assert_null(strchr(e.msg, '\n'));
    assert_int_equal(res.calls, 0);
}

static void test_refused_at_start(void **state) {
    struct fixture *f = *state;
    struct result res = {0};
    expect_refused(f, &(struct http_request){.method = "GET", .url = "file:///etc/passwd"}, -EPROTONOSUPPORT,
                   "file:///etc/passwd: scheme refused");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "ftp://127.0.0.1/x"}, -EPROTONOSUPPORT,
                   "ftp://127.0.0.1/x: scheme refused");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "gopher:x"}, -EPROTONOSUPPORT, "scheme refused");
    expect_refused(f, &(struct http_request){.method = "PUT", .url = "http://127.0.0.1/"}, -EINVAL,
                   "method PUT refused");
    expect_refused(f, &(struct http_request){.method = "get", .url = "http://127.0.0.1/"}, -EINVAL, "refused");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "/etc/passwd"}, -EINVAL, "not an http");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "http://"}, -EINVAL, "malformed URL");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "http://127.0.0.1/a b"}, -EINVAL, "malformed URL");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "http://127.0.0.1/a\nb"}, -EINVAL,
                   "http://127.0.0.1/a?b: malformed URL");
    expect_refused(f, &(struct http_request){.method = "GET", .url = "http://127.0.0.1/", .body = "x", .body_len = 1},
                   -EINVAL, "no body");
    expect_refused(
        f, &(struct http_request){.method = "POST", .url = "http://127.0.0.1/", .content_type = "a\r\nX-Evil: 1"},
        -EINVAL, "content type refused");
    static char huge[BODY_MAX + 1];
    expect_refused(
        f, &(struct http_request){.method = "POST", .url = "http://127.0.0.1/", .body = huge, .body_len = sizeof huge},
        -E2BIG, "request body larger");
    /* No password or query in a message: they may end up in logs. */
    expect_refused(f, &(struct http_request){.method = "PUT", .url = "http://me:secret@127.0.0.1/p?key=secret"},
                   -EINVAL, "http://127.0.0.1/p...: method PUT refused");
    run_for(f, 100); /* nothing was started: nothing reports */
    assert_int_equal(res.calls, 0);
}

#define MANY 20

static void test_concurrent(void **state) {
    struct fixture *f = *state;
    struct result res[MANY] = {0};
    int left = MANY;
    for (int i = 0; i < MANY; i++) {
        res[i].quit_loop = f->loop;
        res[i].left = &left;
        start(f, faults.url, i % 2 ? "/ok/pattern.bin" : "/redirect/small.txt", &res[i]);
    }
    run(f);
    assert_int_equal(left, 0);
    for (int i = 0; i < MANY; i++) {
        assert_int_equal(res[i].calls, 1);
        assert_int_equal(res[i].r, 0);
        assert_int_equal(res[i].status, 200);
        if (i % 2)
            expect_body(&res[i], pattern, sizeof pattern);
        else
            expect_body(&res[i], "hello, slate\n", 13);
        close(res[i].fd);
    }
}

struct canceller {
    struct http_transfer *t;
};

static int cancel_later(struct loop_source *s, void *userdata) {
    (void)s;
    struct canceller *c = userdata;
    http_cancel(c->t);
    c->t = NULL;
    return 0;
}

static void test_cancel(void **state) {
    struct fixture *f = *state;
    struct result silent = {0}, stalled = {0}, ok = {0}, other = {0};
    /* Cancelled from a timer while running: no report, even after the stall limit. */
    struct canceller c = {start(f, faults.url, "/silent/x", &silent)};
    assert_int_equal(loop_add_timer(f->loop, 200 * 1000, cancel_later, &c, NULL), 0);
    /* Cancelled from another transfer's report, which also cancels itself (ignored). */
    ok.cancel = start(f, faults.url, "/stall/pattern.bin", &stalled);
    ok.self = start(f, faults.url, "/ok/small.txt", &ok);
    /* This one runs to its stall and ends the test. */
    other.quit_loop = f->loop;
    start(f, faults.url, "/silent/y", &other);
    run(f);
    assert_null(c.t);
    assert_int_equal(silent.calls, 0);
    assert_int_equal(stalled.calls, 0);
    assert_int_equal(ok.calls, 1);
    assert_int_equal(ok.r, 0);
    close(ok.fd);
    assert_int_equal(other.calls, 1);
    expect_error(&other, -ETIMEDOUT, "stalled");
    run_for(f, STALL_MS + 300);
    assert_int_equal(silent.calls + stalled.calls, 0);
    /* Nothing left: cancelling NULL is fine too. */
    http_cancel(NULL);
}

/* Freed with transfers under way, some never driven at all: no report, no leak. */
static void test_free_pending(void **state) {
    struct fixture *f = *state;
    struct result res[5] = {0};
    start(f, faults.url, "/silent/x", &res[0]);
    start(f, faults.url, "/stall/pattern.bin", &res[1]);
    start(f, echo.url, "/type/long", &res[2]);
    run_for(f, 300);
    assert_int_equal(res[2].calls, 1);
    close(res[2].fd);
    start(f, faults.url, "/endless/small.txt", &res[3]);
    start(f, faults.url, "/ok/pattern.bin", &res[4]); /* never driven */
    f->http = http_free(f->http);
    run_for(f, STALL_MS + 300); /* any source left behind would fire now */
    for (int i = 0; i < 5; i++)
        if (i != 2)
            assert_int_equal(res[i].calls, 0);
    assert_null(http_free(NULL));
}

/*
 * A report that frees the client: nothing else is reported, and h goes once the
 * report returns. Refused connections end together, so others are most likely
 * waiting in the queue of ended transfers by then, the silent one still runs.
 */
static void test_free_from_callback(void **state) {
    struct fixture *f = *state;
    struct result res[4] = {0};
    char *refusing = refusing_base();
    for (int i = 0; i < 4; i++) {
        res[i].quit_loop = f->loop;
        res[i].free_http = &f->http;
        start(f, i < 3 ? refusing : faults.url, i < 3 ? "/x" : "/silent/x", &res[i]);
    }
    run(f);
    assert_null(f->http);
    run_for(f, STALL_MS + 300);
    assert_int_equal(res[0].calls + res[1].calls + res[2].calls + res[3].calls, 1);
    free(refusing);
}

/* Reports may start more transfers: a chain of them, one after the other. */
struct chain {
    struct fixture *f;
    int left;
    int last_fd;
};

static void on_chain(void *userdata, int r, const struct http_response *resp, const char *error) {
    struct chain *c = userdata;
    (void)error;
    assert_int_equal(r, 0);
    close(resp->body_fd);
    if (--c->left == 0) {
        loop_quit(c->f->loop, 0);
        return;
    }
    char *url = test_fmt("%s/ok/small.txt", faults.url);
    struct http_request req = {.method = "GET", .url = url};
    assert_int_equal(http_start(c->f->http, &req, on_chain, c, NULL, NULL), 0);
    free(url);
}

static void test_start_from_callback(void **state) {
    struct fixture *f = *state;
    struct chain c = {.f = f, .left = 5};
    char *url = test_fmt("%s/ok/small.txt", faults.url);
    struct http_request req = {.method = "GET", .url = url};
    assert_int_equal(http_start(f->http, &req, on_chain, &c, NULL, NULL), 0);
    free(url);
    run(f);
    assert_int_equal(c.left, 0);
}

int main(void) {
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_get, setup, teardown),
        cmocka_unit_test_setup_teardown(test_status, setup, teardown),
        cmocka_unit_test_setup_teardown(test_post, setup, teardown),
        cmocka_unit_test_setup_teardown(test_content_type, setup, teardown),
        cmocka_unit_test_setup_teardown(test_too_large, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stall, setup, teardown),
        cmocka_unit_test_setup_teardown(test_total_timeout, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_redirects, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refused_at_start, setup, teardown),
        cmocka_unit_test_setup_teardown(test_concurrent, setup, teardown),
        cmocka_unit_test_setup_teardown(test_cancel, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_pending, setup, teardown),
        cmocka_unit_test_setup_teardown(test_free_from_callback, setup, teardown),
        cmocka_unit_test_setup_teardown(test_start_from_callback, setup, teardown),
    };
    return cmocka_run_group_tests(tests, servers_start, servers_stop);
}
