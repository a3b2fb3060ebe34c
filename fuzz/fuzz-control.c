/* fuzz-control.c: libFuzzer target for slated's control socket, fed what a client may send. */
#include "proto.h"
#include "slated-fuzz.h"
#include "slated.h"

/*
 * Each input (datagrams as slated-fuzz.h says) is sent by a client over a
 * fresh connection (control_attach, as on_accept makes one), and slated's own
 * loop runs until nothing moves: slated has read everything or dropped the
 * client, and the client has read every reply. With flag bit 0, each datagram
 * is then also logged as a line of org.example.app's output (what a client
 * following its logs receives, bytes an app chose), and the loop runs again.
 * Then the client hangs up, and the loop runs until slated has let go.
 *
 * The scratch device root has no package installed, so START is refused
 * ("not installed") before anything is spawned. Two units are listed and
 * never run: an app that exited, with lines in its log, and a service in
 * backoff (which STOP can stop). Checked: no crash or sanitizer report, every
 * message slated sends parses, the loop goes quiet, no fd is left open.
 */

#define TICKS_MAX 100000
#define QUIET_TICKS 3 /* see on_tick */

static struct slated s;
static struct unit *app, *svc;
static char root[PATH_MAX];

struct client {
    int fd;     /* the client's end */
    int server; /* slated's end, while s.conns holds it */
    struct loop_source *src, *tick;
    bool moved; /* the client read something since the last tick */
    bool gone;  /* slated closed its end */
    int quiet, ticks;
};

static struct client cl = {.fd = -1, .server = -1};

static int on_client(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    (void)events;
    (void)userdata;
    int n = fuzz_drain(fd);
    if (n != 0)
        cl.moved = true;
    if (n < 0) {
        cl.gone = true;
        loop_source_remove(src);
        cl.src = NULL;
    }
    return 0;
}

/*
 * Quiet: nothing for slated or the client to read, and the client read
 * nothing since the last tick. A reply slated still queues would reach the
 * client within two batches (slated's end is writable once the client has
 * read all), so three quiet ticks in a row mean nothing is left to move.
 */
static int on_tick(struct loop_source *src, void *userdata) {
    (void)userdata;
    bool quiet = !cl.moved && (cl.gone || !fuzz_readable(cl.fd)) && (!s.conns || !fuzz_readable(cl.server));
    cl.moved = false;
    cl.quiet = quiet ? cl.quiet + 1 : 0;
    if (++cl.ticks == TICKS_MAX)
        fuzz_fail("the control connection never goes quiet");
    if (cl.quiet == QUIET_TICKS)
        loop_quit(s.loop, 0);
    else
        loop_timer_set(src, 0);
    return 0;
}

static void run_until_quiet(void) {
    cl.quiet = cl.ticks = 0;
    cl.moved = false;
    loop_timer_set(cl.tick, 0);
    if (loop_run(s.loop) < 0)
        fuzz_fail("the loop failed");
}

static struct unit *unit_make(const char *id, const char *service) {
    struct unit *u = unit_new(&s, id, service);
    if (!u)
        fuzz_fail("out of memory");
    return u;
}

static void log_line(struct unit *u, uint8_t stream, uint64_t time_us, const char *text, size_t len) {
    struct log_line l = {.time_us = time_us, .pid = 42, .stream = stream, .text = text};
    l.len = (uint16_t)(len < LOG_LINE_MAX ? len : LOG_LINE_MAX);
    logbuf_append(&u->log, &l);
    control_log_line(&s, u, &l);
}

/* The units' logs as every input finds them: lines with what an app may write, out of time order. */
static void reset_units(void) {
    static const char *const lines[] = {
        "hello",
        "",
        "tab\there",
        "bell\a and escape\x1b[31m",
        "cut \xe2\x82",
        "overlong \xc0\xaf",
        "surrogate \xed\xa0\x80",
        "<3>org.example.app: an error",
        "caf\xc3\xa9 \xf0\x9f\x98\x80",
    };
    logbuf_free(&app->log);
    logbuf_free(&svc->log);
    logbuf_free(&s.log);
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++) {
        struct log_line l = {.time_us = 1000000 * (i % 4), .pid = 7, .stream = (uint8_t)(i % 3), .text = lines[i]};
        l.len = (uint16_t)strlen(lines[i]);
        logbuf_append(i % 2 ? &svc->log : &app->log, &l);
    }
    app->state = UNIT_EXITED;
    snprintf(app->status, sizeof app->status, "exited with status 0");
    svc->state = UNIT_BACKOFF;
    svc->restarts = 3;
    snprintf(svc->status, sizeof svc->status, "killed by SIGSEGV");
}

static void setup(void) {
    struct err e = {0};
    sqlite3 *db;
    fuzz_begin();
    fuzz_device_root("control", root);
    snprintf(s.root, sizeof s.root, "%s", root);
    s.control_fd = -1;
    s.default_memory = 256 << 20;
    if ((s.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        platform_desc_load(s.rootfd, &s.platform, &e) < 0 || loop_new(&s.loop) < 0 || slated_db(&s, &db, &e) < 0 ||
        catalog_start(&s, &e) < 0)
        fuzz_fail("%s: cannot set up slated: %s", root, e.msg[0] ? e.msg : strerror(errno));
    if (loop_add_timer(s.loop, 0, on_tick, NULL, &cl.tick) < 0 || loop_timer_stop(cl.tick) < 0)
        fuzz_fail("loop: cannot add a timer");
    app = unit_make("org.example.app", NULL);
    svc = unit_make("org.example.svc", "time");
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    struct datagrams d;
    int pair[2];

    if (!ready) {
        setup();
        ready = true;
    }
    datagrams_split(data, size, &d);
    reset_units();
    int fds_before = fuzz_count_fds();

    fuzz_socketpair(pair);
    cl = (struct client){.fd = pair[1], .server = pair[0], .tick = cl.tick};
    if (control_attach(&s, pair[0]) < 0 || loop_add_io(s.loop, cl.fd, EPOLLIN, on_client, NULL, &cl.src) < 0)
        fuzz_fail("cannot attach the connection");
    for (size_t i = 0; i < d.n; i++)
        if (!fuzz_send(cl.fd, d.p[i], d.len[i]))
            break;
    run_until_quiet();
    if ((d.flags & 1) && s.conns) {
        for (size_t i = 0; i < d.n; i++)
            log_line(app, (uint8_t)(i % 3), d.n - i, (const char *)d.p[i], d.len[i]);
        run_until_quiet();
    }

    /* The client hangs up: slated must let the connection go. */
    loop_source_remove(cl.src);
    close(cl.fd);
    cl.fd = -1;
    cl.gone = true;
    run_until_quiet();
    if (s.conns)
        fuzz_fail("slated kept a connection whose client hung up");

    int fds_after = fuzz_count_fds();
    if (fds_after != fds_before)
        fuzz_fail("%d fds open before the input, %d after: a leak", fds_before, fds_after);
    return 0;
}
