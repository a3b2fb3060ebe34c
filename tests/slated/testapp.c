/*
 * testapp.c: one SDK app (API level 3) that the slated tests pack under several ids; the last
 * part of its package id picks what it does, so every behaviour runs the same real binary:
 *
 *   ...life     logs each lifecycle callback; counts its starts in a setting; saves state on trim
 *   ...hog      allocates and touches memory until its budget stops it
 *   ...crash    crashes (SIGSEGV) once started
 *   ...fetch    GETs the URL in /data/url (and POSTs to /data/post-url) and prints what came back
 *   ...client   connects to org.test.svc's "echo" service and prints the answer
 *   ...holder   connects to the same service, is answered, and keeps the connection until it stops
 *   ...svc      answers "echo:..." to each message on every connection (its [service echo])
 *   ...flaky    exits with status 3 as soon as it starts (a crashing service, for the backoff)
 *   ...hoard    as life, and holds 48 MiB (or /data/hoard-mb) from its start: a cached app worth reclaiming
 *   ...grow     allocates 2 MiB every 25 ms up to 160 MiB (or /data/grow-mb), then says done: the
 *               foreground app that puts the device under pressure
 */
#include <errno.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <slate/slate.h>

static const char *role;

static void say(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void say(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vprintf(fmt, ap);
    va_end(ap);
    putchar('\n');
    fflush(stdout);
}

static int read_line(const char *path, char *buf, size_t size) {
    FILE *f = fopen(path, "re");
    if (!f)
        return -errno;
    if (!fgets(buf, (int)size, f))
        buf[0] = '\0';
    fclose(f);
    buf[strcspn(buf, "\n")] = '\0';
    return 0;
}

/* ---- life ---- */

static void life_start(void *ud) {
    char buf[64] = "";
    (void)ud;
    long starts = slate_settings_get("starts", buf, sizeof buf) >= 0 ? strtol(buf, NULL, 10) : 0;
    snprintf(buf, sizeof buf, "%ld", starts + 1);
    int r = slate_settings_set("starts", buf);
    say("event=start starts=%ld set=%d", starts + 1, r);
    char state[128];
    if (slate_settings_get("state", state, sizeof state) >= 0)
        say("restored=%s", state);
    say("platform=%d..%d", slate_platform_min_api_level(), slate_platform_api_level());
    say("id=%s", slate_app_id());
}

static void life_pause(void *ud) {
    (void)ud;
    say("event=pause");
}

static void life_resume(void *ud) {
    (void)ud;
    say("event=resume");
}

static void life_trim(enum slate_trim_level level, void *ud) {
    (void)ud;
    int r = slate_settings_set("state", "saved-at-trim");
    say("event=trim level=%d saved=%d", (int)level, r);
}

static void life_stop(void *ud) {
    (void)ud;
    say("event=stop");
}

/* ---- hoard and grow ---- */

static long mib_from(const char *path, long fallback) {
    char buf[32];
    return read_line(path, buf, sizeof buf) == 0 && atol(buf) > 0 ? atol(buf) : fallback;
}

/* Kept where the compiler cannot prove nobody reads it, or malloc and memset would be elided. */
static char *volatile held[256];
static size_t n_held;

static void touch_mib(long mib) {
    char *p = malloc((size_t)mib << 20);
    if (!p)
        return;
    memset(p, 0x5a, (size_t)mib << 20);
    held[n_held++ % 256] = p;
}

static void hoard_start(void *ud) {
    life_start(ud);
    long mib = mib_from("/data/hoard-mb", 48);
    touch_mib(mib);
    say("hoarding=%ld", mib);
}

static int grow_timer = -1;
static long grown;

static void grow_tick(int fd, void *ud) {
    uint64_t n;
    (void)ud;
    if (read(fd, &n, sizeof n) != sizeof n)
        return;
    long goal = mib_from("/data/grow-mb", 160);
    touch_mib(2);
    grown += 2;
    if (grown % 16 == 0)
        say("grown=%ld", grown);
    if (grown >= goal) {
        say("done");
        slate_app_unwatch(fd);
    }
}

static void grow_start(void *ud) {
    (void)ud;
    grow_timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
    struct itimerspec its = {.it_value = {0, 25000000}, .it_interval = {0, 25000000}};
    timerfd_settime(grow_timer, 0, &its, NULL);
    slate_app_watch(grow_timer, grow_tick, NULL);
    say("growing");
}

/* ---- hog ---- */

static void hog_start(void *ud) {
    (void)ud;
    for (size_t mib = 8;; mib += 8) {
        char *p = malloc(8 << 20);
        if (!p) {
            say("malloc failed at %zu MiB", mib);
            return;
        }
        memset(p, 0x5a, 8 << 20);
        say("allocated=%zu", mib);
    }
}

/* ---- crash ---- */

static void crash_start(void *ud) {
    (void)ud;
    say("about to crash");
    /* A fault, not raise(): the app is pid 1 of its namespace, which ignores signals it sends itself. */
    volatile uintptr_t bad = 8;
    *(volatile int *)bad = 1;
}

/* ---- fetch ---- */

static void show(const char *what, int r, const struct slate_response *resp) {
    if (r < 0) {
        say("%s error=%d", what, r);
        return;
    }
    say("%s status=%d type=%s length=%zu body=%.*s", what, resp->status, resp->content_type, resp->body_len,
        (int)(resp->body_len > 200 ? 200 : resp->body_len), resp->body ? (const char *)resp->body : "");
}

static void fetch_start(void *ud) {
    char url[512];
    struct slate_response resp;
    (void)ud;
    if (read_line("/data/url", url, sizeof url) == 0) {
        int r = slate_fetch_get(url, &resp);
        show("get", r, &resp);
        if (r == 0)
            slate_response_free(&resp);
    }
    if (read_line("/data/post-url", url, sizeof url) == 0) {
        static const char body[] = "posted by the fetch app";
        int r = slate_fetch_post(url, "text/plain", body, sizeof body - 1, &resp);
        show("post", r, &resp);
        if (r == 0)
            slate_response_free(&resp);
    }
    slate_app_quit(0);
}

/* ---- client and echo service ---- */

/* Connect to the echo service and send it msg: the connection, its answer in buf; -1 (said why) on failure. */
static int echo_ask(const char *msg, char *buf, size_t size) {
    int fd = slate_service_connect("org.test.svc", "echo");
    if (fd < 0) {
        say("connect error=%d", fd);
        return -1;
    }
    if (send(fd, msg, strlen(msg), 0) != (ssize_t)strlen(msg)) {
        say("send error=%d", -errno);
        close(fd);
        return -1;
    }
    ssize_t n = recv(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return fd;
}

static void client_start(void *ud) {
    char buf[256];
    (void)ud;
    int fd = echo_ask("ping", buf, sizeof buf);
    if (fd < 0)
        return;
    say("reply=%s", buf);
    close(fd);
    int missing = slate_service_connect("org.test.svc", "nosuch");
    say("missing=%d", missing);
}

static void holder_start(void *ud) {
    char buf[64];
    (void)ud;
    if (echo_ask("hold", buf, sizeof buf) >= 0)
        say("holding after %s", buf); /* the connection stays open for as long as the app runs */
}

static void echo_client(int fd, void *ud) {
    char buf[256], out[300];
    (void)ud;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) {
        slate_app_unwatch(fd);
        close(fd);
        say("client gone");
        return;
    }
    int k = snprintf(out, sizeof out, "echo:%.*s", (int)n, buf);
    send(fd, out, (size_t)k, MSG_NOSIGNAL);
}

static void echo_connect(int fd, void *ud) {
    (void)ud;
    say("client connected");
    slate_app_watch(fd, echo_client, NULL);
}

static void flaky_start(void *ud) {
    (void)ud;
    say("flaky: exiting with 3");
    exit(3);
}

int main(void) {
    struct slate_app_callbacks cb = {.size = sizeof cb, .on_stop = life_stop};
    const char *id = slate_app_id();
    role = id && strrchr(id, '.') ? strrchr(id, '.') + 1 : "life";
    if (strcmp(role, "life") == 0) {
        cb.on_start = life_start;
        cb.on_pause = life_pause;
        cb.on_resume = life_resume;
        cb.on_trim_memory = life_trim;
    } else if (strcmp(role, "hog") == 0)
        cb.on_start = hog_start;
    else if (strcmp(role, "hoard") == 0) {
        cb.on_start = hoard_start;
        cb.on_pause = life_pause;
        cb.on_resume = life_resume;
        cb.on_trim_memory = life_trim;
    } else if (strcmp(role, "grow") == 0)
        cb.on_start = grow_start;
    else if (strcmp(role, "crash") == 0)
        cb.on_start = crash_start;
    else if (strcmp(role, "fetch") == 0)
        cb.on_start = fetch_start;
    else if (strcmp(role, "client") == 0)
        cb.on_start = client_start;
    else if (strcmp(role, "holder") == 0)
        cb.on_start = holder_start;
    else if (strcmp(role, "svc") == 0)
        cb.on_connect = echo_connect;
    else if (strcmp(role, "flaky") == 0)
        cb.on_start = flaky_start;
    int r = slate_app_run(&cb, NULL);
    say("exit=%d", r);
    return r < 0 ? 1 : r;
}
