/* test-fetch.c: the transport against a local HTTP server that misbehaves on request (tests/http-fault-server.py). */
#include <fcntl.h>
#include <signal.h>
#include <sodium.h>
#include <spawn.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "fetch.h"
#include "helpers.h"

extern char **environ;

#define BIG_BYTES (3 * 1000 * 1000)
#define SMALL_TEXT "a small file\n"

static struct {
    char *dir, *srv, *log, *url;
    struct test_server server;
    uint8_t *big;
    uint8_t big_hash[32], small_hash[32];
    /* per test */
    char *out;
    int outfd;
} S = {.outfd = -1};

static void hash_of(const void *data, size_t len, uint8_t out[32]) {
    crypto_generichash(out, 32, data, len, NULL, 0);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static struct fetch_options quick(unsigned retries) {
    return (struct fetch_options){.connect_timeout_s = 5, .stall_timeout_s = 2, .retries = retries};
}

/* The URL of name served in a mode; the caller frees. */
static char *url(const char *mode, const char *name) {
    return test_fmt("%s/%s/%s", S.url, mode, name);
}

static int group_setup(void **state) {
    (void)state;
    if (sodium_init() < 0)
        return -1;
    /* The server is local: a proxy from the environment must not sit in between. */
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    S.dir = test_tmpdir("fetch");
    S.srv = test_fmt("%s/srv", S.dir);
    S.log = test_fmt("%s/requests.log", S.dir);
    if (mkdir(S.srv, 0755) < 0)
        return -1;
    S.big = malloc(BIG_BYTES);
    randombytes_buf(S.big, BIG_BYTES);
    hash_of(S.big, BIG_BYTES, S.big_hash);
    hash_of(SMALL_TEXT, strlen(SMALL_TEXT), S.small_hash);
    char *p = test_fmt("%s/big", S.srv);
    test_write(p, S.big, BIG_BYTES, 0644);
    free(p);
    p = test_fmt("%s/small", S.srv);
    test_write(p, SMALL_TEXT, strlen(SMALL_TEXT), 0644);
    free(p);
    p = test_fmt("%s/empty", S.srv);
    test_write(p, "", 0, 0644);
    free(p);
    test_server_start(&S.server, S.srv, S.log);
    S.url = S.server.url;
    return 0;
}

static int group_teardown(void **state) {
    (void)state;
    test_server_stop(&S.server);
    test_rmtree(S.dir);
    free(S.dir);
    free(S.srv);
    free(S.log);
    free(S.big);
    return 0;
}

/* Each test gets an empty output folder and an empty request log. */
static int setup(void **state) {
    (void)state;
    S.out = test_tmpdir("fetch-out");
    S.outfd = open(S.out, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    test_write(S.log, "", 0, 0644);
    return S.outfd < 0 ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    close(S.outfd);
    test_rmtree(S.out);
    free(S.out);
    return 0;
}

/* The request log, once a line containing until is in it (or after 3 s). */
static char *requests(const char *until) {
    for (double end = now() + 3;;) {
        char *log = test_read(S.log, NULL);
        if (!until || strstr(log, until) || now() > end)
            return log;
        free(log);
        usleep(20 * 1000);
    }
}

static int count(const char *haystack, const char *needle) {
    int n = 0;
    for (const char *p = haystack; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static bool out_exists(const char *name) {
    struct stat st;
    return fstatat(S.outfd, name, &st, AT_SYMLINK_NOFOLLOW) == 0;
}

/* The output file name holds exactly the big file. */
static void assert_big(const char *name) {
    char *p = test_fmt("%s/%s", S.out, name);
    size_t len;
    char *data = test_read(p, &len);
    assert_int_equal(len, BIG_BYTES);
    assert_memory_equal(data, S.big, BIG_BYTES);
    free(data);
    free(p);
}

static void write_part(const char *name, const void *data, size_t len) {
    char *p = test_fmt("%s/%s.part", S.out, name);
    test_write(p, data, len, 0644);
    free(p);
}

/* fetch_memory ---------------------------------------------------------------------------------- */

static void memory_ok(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *u = url("ok", "small"), *buf = NULL;
    size_t len = 0;
    assert_int_equal(fetch_memory(u, 100, &o, &buf, &len, &e), 0);
    assert_int_equal(len, strlen(SMALL_TEXT));
    assert_string_equal(buf, SMALL_TEXT);
    free(buf);
    free(u);

    /* A limit of exactly the size is enough. */
    u = url("ok", "big");
    assert_int_equal(fetch_memory(u, BIG_BYTES, &o, &buf, &len, &e), 0);
    assert_int_equal(len, BIG_BYTES);
    assert_memory_equal(buf, S.big, BIG_BYTES);
    assert_int_equal(buf[len], '\0');
    free(buf);
    free(u);
}

static void memory_too_large(void **state) {
    (void)state;
    struct fetch_options o = quick(3);
    struct err e = {0};
    char *u = url("ok", "big"), *buf = NULL;
    size_t len = 0;
    double t0 = now();
    assert_int_equal(fetch_memory(u, 1000, &o, &buf, &len, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "larger than the 1000 bytes allowed"));
    assert_non_null(strstr(e.msg, u));
    assert_true(now() - t0 < 2);
    free(u);

    /* No length announced and no end: cut at the limit, not read on. */
    u = url("endless", "small");
    t0 = now();
    assert_int_equal(fetch_memory(u, 1 << 20, &o, &buf, &len, &e), -E_MALFORMED);
    assert_true(now() - t0 < 4);
    assert_non_null(strstr(e.msg, "larger than the 1048576 bytes allowed"));
    char *log = requests("ENDLESS SENT");
    long sent = -1;
    char *at = strstr(log, "ENDLESS SENT ");
    if (at)
        sent = atol(at + strlen("ENDLESS SENT "));
    /* What the server got into the socket: the limit, plus what the kernel's buffers hold (about 0.2 MiB here). */
    assert_in_range(sent, 1 << 20, 5 << 20);
    assert_int_equal(count(log, "GET "), 2); /* neither refusal is retried */
    free(log);
    free(u);
}

static void memory_http_status(void **state) {
    (void)state;
    struct fetch_options o = quick(1);
    struct err e = {0};
    char *u = url("ok", "missing"), *buf = NULL;
    size_t len = 0;
    assert_int_equal(fetch_memory(u, 100, &o, &buf, &len, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "HTTP 404"));
    assert_non_null(strstr(e.msg, u));
    char *log = requests(NULL);
    assert_int_equal(count(log, "GET "), 1); /* 404 is an answer, not a failure to retry */
    free(log);
    free(u);

    /* A server error is retried. */
    test_write(S.log, "", 0, 0644);
    u = url("status/503", "small");
    assert_int_equal(fetch_memory(u, 100, &o, &buf, &len, &e), -EIO);
    assert_non_null(strstr(e.msg, "HTTP 503"));
    log = requests(NULL);
    assert_int_equal(count(log, "GET "), 2);
    free(log);
    free(u);
}

static void memory_stall(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *u = url("stall", "big"), *buf = NULL;
    size_t len = 0;
    double t0 = now();
    assert_int_equal(fetch_memory(u, BIG_BYTES, &o, &buf, &len, &e), -ETIMEDOUT);
    double took = now() - t0;
    assert_true(took >= 1.9 && took < 3.5);
    assert_non_null(strstr(e.msg, "no data for 2 s: the server stalled"));
    assert_non_null(strstr(e.msg, u));
    free(u);

    /* Connected, and not a byte of an answer. */
    u = url("silent", "big");
    t0 = now();
    assert_int_equal(fetch_memory(u, BIG_BYTES, &o, &buf, &len, &e), -ETIMEDOUT);
    took = now() - t0;
    assert_true(took >= 1.9 && took < 3.5);
    assert_non_null(strstr(e.msg, "no data for 2 s: the server stalled"));
    free(u);
}

static void memory_redirects(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *u = url("redirect", "small"), *buf = NULL;
    size_t len = 0;
    assert_int_equal(fetch_memory(u, 100, &o, &buf, &len, &e), 0);
    assert_string_equal(buf, SMALL_TEXT);
    free(buf);
    free(u);

    u = url("redirect-file", "small");
    assert_int_equal(fetch_memory(u, 100000, &o, &buf, &len, &e), -EPROTONOSUPPORT);
    assert_non_null(strstr(e.msg, "redirected to a scheme other than http or https"));
    free(u);

    u = url("redirect-loop", "small");
    assert_int_equal(fetch_memory(u, 100, &o, &buf, &len, &e), -ELOOP);
    assert_non_null(strstr(e.msg, "more than 5 redirects"));
    free(u);
}

static void memory_schemes(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *buf = NULL;
    size_t len = 0;
    const char *refused[] = {"ftp://127.0.0.1/small", "file:///etc/passwd", "FILE:///etc/passwd", "gopher://x/"};
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        assert_int_equal(fetch_memory(refused[i], 100000, &o, &buf, &len, &e), -EPROTONOSUPPORT);
        assert_non_null(strstr(e.msg, "unsupported scheme"));
        assert_non_null(strstr(e.msg, refused[i]));
        assert_int_equal(fetch_file(refused[i], 1, S.small_hash, S.outfd, "x", &o, &e), -EPROTONOSUPPORT);
    }
    assert_int_equal(fetch_memory("", 100, &o, &buf, &len, &e), -EINVAL);

    /* Nothing listens: refused at once, named. */
    int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    socklen_t sl = sizeof sa;
    assert_int_equal(bind(fd, (struct sockaddr *)&sa, sizeof sa), 0);
    assert_int_equal(getsockname(fd, (struct sockaddr *)&sa, &sl), 0);
    close(fd);
    char *u = test_fmt("http://127.0.0.1:%d/ok/small", ntohs(sa.sin_port));
    assert_int_equal(fetch_memory(u, 100, &o, &buf, &len, &e), -ECONNREFUSED);
    assert_non_null(strstr(e.msg, "cannot connect"));
    free(u);
}

static void memory_local(void **state) {
    (void)state;
    struct err e = {0};
    char *p = test_fmt("%s/small", S.srv), *buf = NULL;
    size_t len = 0;
    assert_int_equal(fetch_memory(p, 100, NULL, &buf, &len, &e), 0);
    assert_string_equal(buf, SMALL_TEXT);
    assert_int_equal(len, strlen(SMALL_TEXT));
    free(buf);
    assert_int_equal(fetch_memory(p, 5, NULL, &buf, &len, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "larger than the 5 bytes allowed"));
    free(p);

    p = test_fmt("%s/missing", S.srv);
    assert_int_equal(fetch_memory(p, 100, NULL, &buf, &len, &e), -ENOENT);
    assert_non_null(strstr(e.msg, p));
    free(p);
    assert_int_equal(fetch_memory(S.srv, 100, NULL, &buf, &len, &e), -EISDIR);
    p = test_fmt("%s/fifo", S.out);
    assert_int_equal(mkfifo(p, 0644), 0);
    assert_int_equal(fetch_memory(p, 100, NULL, &buf, &len, &e), -EINVAL); /* at once, not waiting for a writer */
    assert_non_null(strstr(e.msg, "not a regular file"));
    free(p);

    /* An empty file is an empty string. */
    p = test_fmt("%s/empty", S.out);
    test_write(p, "", 0, 0644);
    assert_int_equal(fetch_memory(p, 0, NULL, &buf, &len, &e), 0);
    assert_int_equal(len, 0);
    assert_string_equal(buf, "");
    free(buf);
    free(p);
}

/* fetch_file ------------------------------------------------------------------------------------ */

static void file_ok(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *u = url("ok", "big");
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    assert_false(out_exists("big.part"));
    free(u);
}

static void file_empty(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    uint8_t h[32];
    hash_of("", 0, h);
    char *u = url("ok", "empty");
    assert_int_equal(fetch_file(u, 0, h, S.outfd, "empty", &o, &e), 0);
    assert_true(out_exists("empty"));
    /* Bytes where the index says none. */
    free(u);
    u = url("ok", "small");
    assert_int_equal(fetch_file(u, 0, h, S.outfd, "small", &o, &e), -E_MALFORMED);
    assert_false(out_exists("small.part"));
    free(u);
}

static void file_stall(void **state) {
    (void)state;
    struct fetch_options o = quick(1);
    struct err e = {0};
    char *u = url("stall", "big");
    double t0 = now();
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), -ETIMEDOUT);
    assert_true(now() - t0 < 2 * 3.5);
    assert_non_null(strstr(e.msg, "the server stalled"));
    assert_non_null(strstr(e.msg, "tried 2 times"));
    char *log = requests(NULL);
    char *want = test_fmt("GET /stall/big -\nGET /stall/big bytes=%d-\n", BIG_BYTES / 2);
    assert_string_equal(log, want);
    free(want);
    free(log);
    free(u);
}

static void file_reset(void **state) {
    (void)state;
    struct fetch_options o = quick(2);
    struct err e = {0};
    char *u = url("reset", "big");
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), -ECONNRESET);
    assert_non_null(strstr(e.msg, "the connection was reset"));
    assert_non_null(strstr(e.msg, "tried 3 times"));
    assert_non_null(strstr(e.msg, u));
    char *log = requests(NULL);
    assert_int_equal(count(log, "GET "), 3);
    assert_int_equal(count(log, "bytes="), 2); /* each retry resumed */
    free(log);
    /* What did arrive stays for the next try. */
    assert_false(out_exists("big"));
    assert_true(out_exists("big.part"));
    free(u);
}

static void file_drop_once(void **state) {
    (void)state;
    struct fetch_options o = quick(3);
    struct err e = {0};
    char *u = url("drop-once", "big");
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    assert_false(out_exists("big.part"));
    char *log = requests(NULL);
    assert_int_equal(count(log, "GET "), 2);
    /* The retry asked for the rest only. */
    char *want = test_fmt("GET /drop-once/big -\nGET /drop-once/big bytes=%d-\n", BIG_BYTES / 2);
    assert_string_equal(log, want);
    free(want);
    free(log);
    free(u);
}

static void file_ignore_range(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    write_part("big", S.big, 1000);
    char *u = url("ignore-range", "big");
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    char *log = requests(NULL);
    assert_string_equal(log, "GET /ignore-range/big bytes=1000-\nGET /ignore-range/big -\n");
    free(log);
    free(u);
}

static void file_hash_mismatch(void **state) {
    (void)state;
    struct fetch_options o = quick(3);
    struct err e = {0};
    uint8_t wrong[32];
    memcpy(wrong, S.big_hash, 32);
    wrong[0] ^= 1;
    char *u = url("ok", "big");
    assert_int_equal(fetch_file(u, BIG_BYTES, wrong, S.outfd, "big", &o, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "the download does not match the index (BLAKE2b)"));
    assert_non_null(strstr(e.msg, u));
    assert_false(out_exists("big"));
    assert_false(out_exists("big.part"));
    char *log = requests(NULL);
    assert_int_equal(count(log, "GET "), 1);
    free(log);
    free(u);
}

static void file_size_mismatch(void **state) {
    (void)state;
    struct fetch_options o = quick(3);
    struct err e = {0};
    char *u = url("ok", "big");

    /* Smaller in the index than served: refused at the announced length. */
    assert_int_equal(fetch_file(u, 1000, S.big_hash, S.outfd, "big", &o, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "the download is larger than the index says (1000 bytes)"));
    assert_false(out_exists("big.part"));

    /* No length announced: cut at the index's size. */
    char *endless = url("endless", "big");
    double t0 = now();
    assert_int_equal(fetch_file(endless, 1 << 20, S.big_hash, S.outfd, "big", &o, &e), -E_MALFORMED);
    assert_true(now() - t0 < 4);
    assert_non_null(strstr(e.msg, "larger than the index says (1048576 bytes)"));
    assert_false(out_exists("big.part"));
    free(endless);

    /* Larger in the index than served. */
    assert_int_equal(fetch_file(u, BIG_BYTES + 10, S.big_hash, S.outfd, "big", &o, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "the download is 3000000 bytes, the index says 3000010"));
    assert_false(out_exists("big.part"));
    assert_false(out_exists("big"));

    char *log = requests("ENDLESS SENT");
    assert_int_equal(count(log, "GET "), 3); /* none retried */
    free(log);
    free(u);
}

static void file_resume_leftover(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *u = url("ok", "big");
    write_part("big", S.big, 1000000);
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    char *log = requests(NULL);
    assert_string_equal(log, "GET /ok/big bytes=1000000-\n");
    free(log);

    /* A leftover that is not the start of the file: one clean restart. */
    test_write(S.log, "", 0, 0644);
    unlinkat(S.outfd, "big", 0);
    write_part("big", "garbage", 7);
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    log = requests(NULL);
    assert_string_equal(log, "GET /ok/big bytes=7-\nGET /ok/big -\n");
    free(log);

    /* A leftover longer than the file: it cannot be the start. */
    test_write(S.log, "", 0, 0644);
    unlinkat(S.outfd, "big", 0);
    char *longer = malloc(BIG_BYTES + 5);
    memcpy(longer, S.big, BIG_BYTES);
    memcpy(longer + BIG_BYTES, "extra", 5);
    write_part("big", longer, BIG_BYTES + 5);
    free(longer);
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    log = requests(NULL);
    assert_string_equal(log, "GET /ok/big -\n");
    free(log);

    /* A complete leftover: nothing left to ask for. */
    test_write(S.log, "", 0, 0644);
    unlinkat(S.outfd, "big", 0);
    write_part("big", S.big, BIG_BYTES);
    assert_int_equal(fetch_file(u, BIG_BYTES, S.big_hash, S.outfd, "big", &o, &e), 0);
    assert_big("big");
    log = requests(NULL);
    assert_string_equal(log, "");
    free(log);
    free(u);
}

static void file_part_symlink(void **state) {
    (void)state;
    struct fetch_options o = quick(0);
    struct err e = {0};
    char *target = test_fmt("%s/victim", S.out);
    test_write(target, "keep", 4, 0644);
    assert_int_equal(symlinkat(target, S.outfd, "small.part"), 0);
    char *u = url("ok", "small");
    assert_int_equal(fetch_file(u, strlen(SMALL_TEXT), S.small_hash, S.outfd, "small", &o, &e), -ELOOP);
    char *data = test_read(target, NULL);
    assert_string_equal(data, "keep");
    free(data);
    free(target);
    free(u);
}

static void file_local(void **state) {
    (void)state;
    struct err e = {0};
    char *p = test_fmt("%s/big", S.srv);
    assert_int_equal(fetch_file(p, BIG_BYTES, S.big_hash, S.outfd, "big", NULL, &e), 0);
    assert_big("big");
    assert_false(out_exists("big.part"));

    uint8_t wrong[32];
    memcpy(wrong, S.big_hash, 32);
    wrong[31] ^= 0x80;
    assert_int_equal(fetch_file(p, BIG_BYTES, wrong, S.outfd, "copy", NULL, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "does not match the index (BLAKE2b)"));
    assert_int_equal(fetch_file(p, 1000, S.big_hash, S.outfd, "copy", NULL, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "larger than the index says"));
    assert_false(out_exists("copy.part"));
    assert_false(out_exists("copy"));
    free(p);

    p = test_fmt("%s/missing", S.srv);
    assert_int_equal(fetch_file(p, 1, S.big_hash, S.outfd, "copy", NULL, &e), -ENOENT);
    free(p);
}

/* Options and names ----------------------------------------------------------------------------- */

static void options_and_join(void **state) {
    (void)state;
    setenv("SLATE_FETCH_TIMEOUT", "7", 1);
    struct fetch_options o = fetch_options_default();
    assert_int_equal(o.stall_timeout_s, 7);
    assert_int_equal(o.connect_timeout_s, 10);
    assert_int_equal(o.retries, 3);
    const char *bad[] = {"0", "3601", "abc", "-5", "07", ""};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        setenv("SLATE_FETCH_TIMEOUT", bad[i], 1);
        assert_int_equal(fetch_options_default().stall_timeout_s, 15);
    }
    unsetenv("SLATE_FETCH_TIMEOUT");
    assert_int_equal(fetch_options_default().stall_timeout_s, 15);

    char *s = fetch_join("https://cdn.example/repo", "index");
    assert_string_equal(s, "https://cdn.example/repo/index");
    free(s);
    s = fetch_join("/media/repo/", "pkg/ab12");
    assert_string_equal(s, "/media/repo/pkg/ab12");
    free(s);
}

#define T(f) cmocka_unit_test_setup_teardown(f, setup, teardown)

int main(void) {
    const struct CMUnitTest tests[] = {
        T(memory_ok),         T(memory_too_large),   T(memory_http_status), T(memory_stall),
        T(memory_redirects),  T(memory_schemes),     T(memory_local),       T(file_ok),
        T(file_empty),        T(file_stall),         T(file_reset),         T(file_drop_once),
        T(file_ignore_range), T(file_hash_mismatch), T(file_size_mismatch), T(file_resume_leftover),
        T(file_part_symlink), T(file_local),         T(options_and_join),
    };
    return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
