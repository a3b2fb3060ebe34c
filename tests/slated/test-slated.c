/*
 * test-slated.c: the real slated over temporary device roots, driven by the real slate
 * command: start, ps, logs, stop; the lifecycle with freezing; crashes and memory budgets;
 * the sandbox's isolation as apps see it; settings, fetch and services over IPC; shutdown.
 *
 * Needs root (user namespaces and cgroups); skips, saying why, where the kernel lacks them.
 */
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "helpers.h"
#include "util.h"

static const char *testapp, *probe, *slated_bin;

struct daemon {
    struct test_device dev;
    pid_t pid;
    char *log; /* slated's stderr */
};

static char skip_reason[256];

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- packages ---- */

/* Pack binary as id (API level 3) with extra [app] lines and more sections, and install it. */
static void install_app(struct daemon *d, const char *id, const char *binary, const char *app_extra,
                        const char *sections) {
    char *src = test_fmt("%s/src-%s", d->dev.dir, id), *bin = test_fmt("%s/files/bin", src);
    char *manifest = test_fmt("[package]\nid = %s\nversion = 1.0.0\napi_level = 3\nclass = app\n\n"
                              "[app]\nexec = bin/app\nlabel = Test %s\n%s\n%s",
                              id, id, app_extra ? app_extra : "", sections ? sections : "");
    char *mpath = test_fmt("%s/manifest", src), *bpath = test_fmt("%s/app", bin), *slp = test_fmt("%s.slp", src);
    assert_int_equal(mkdir_parents_at(AT_FDCWD, bin), 0);
    test_write(mpath, manifest, strlen(manifest), 0644);
    size_t len;
    char *elf = test_read(binary, &len);
    test_write(bpath, elf, len, 0755);
    char *err = NULL;
    if (run_slate(NULL, &err, "pack", src, "--key", d->dev.app_key, "-o", slp, NULL) != 0)
        fail_msg("packing %s: %s", id, err);
    free(err);
    if (run_slate(NULL, &err, "--root", d->dev.root, "install", slp, NULL) != 0)
        fail_msg("installing %s: %s", id, err);
    free(err);
    free(elf);
    free(src);
    free(bin);
    free(manifest);
    free(mpath);
    free(bpath);
    free(slp);
}

/* ---- the daemon ---- */

static const char *daemon_cgroup; /* a cgroup folder slated starts in (a simulated small device) */
static const char *daemon_flag;   /* one more option for slated */

static void daemon_start(struct daemon *d, const char *extra_arg) {
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    d->log = test_fmt("%s/slated.log", d->dev.dir);
    d->pid = fork();
    assert_true(d->pid >= 0);
    if (d->pid == 0) {
        char fd[16];
        int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(log, 2);
        dup2(ready[1], 3);
        snprintf(fd, sizeof fd, "%d", 3);
        if (daemon_cgroup) {
            char procs[PATH_MAX];
            snprintf(procs, sizeof procs, "%s/cgroup.procs", daemon_cgroup);
            FILE *f = fopen(procs, "w");
            if (!f || fprintf(f, "%d\n", (int)getpid()) < 0 || fclose(f) != 0)
                _exit(126);
        }
        const char *args[16] = {"slated", "--root", d->dev.root, "--ready-fd", fd, "--freeze-delay", "300",
                                "--cache-delay", "400", "--stop-timeout", "2000"};
        size_t n = 11;
        if (extra_arg) {
            args[n++] = "--memory";
            args[n++] = extra_arg;
        }
        if (daemon_flag)
            args[n++] = daemon_flag;
        execv(slated_bin, (char *const *)args);
        _exit(127);
    }
    close(ready[1]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    char c = 0;
    if (poll(&p, 1, 10000) != 1 || read(ready[0], &c, 1) != 1 || c != '\n') {
        char *log = test_read(d->log, NULL);
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        fail_msg("slated did not become ready: %s", log);
    }
    close(ready[0]);
}

/* SIGTERM, and slated must be gone within the time it has to stop everything. Returns its exit status. */
static int daemon_stop(struct daemon *d) {
    int status;
    if (d->pid <= 0)
        return 0;
    kill(d->pid, SIGTERM);
    for (uint64_t end = now_ms() + 10000; now_ms() < end;) {
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
        }
        usleep(10000);
    }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    fail_msg("slated did not stop within 10 s of SIGTERM");
    return -1;
}

static int setup(void **state) {
    struct daemon *d = calloc(1, sizeof *d);
    if (skip_reason[0])
        return 0;
    test_device_new(&d->dev, 3, 1);
    /* Apps run as their own host uid: like /, the folders above a device root must be searchable. */
    chmod(d->dev.dir, 0755);
    *state = d;
    return 0;
}

static int teardown(void **state) {
    struct daemon *d = *state;
    if (!d)
        return 0;
    daemon_stop(d);
    test_device_free(&d->dev);
    free(d->log);
    free(d);
    return 0;
}

#define NEED_SLATED()                                                                                                  \
    do {                                                                                                               \
        if (skip_reason[0]) {                                                                                          \
            print_message("skipped: %s\n", skip_reason);                                                               \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

/* ---- observing ---- */

static char *app_log(struct daemon *d, const char *name) {
    char *path = test_fmt("%s/var/log/slate/%s.log", d->dev.root, name);
    char *text = test_exists(path) ? test_read(path, NULL) : strdup("");
    free(path);
    return text;
}

/* Wait until the app's log file holds needle (each app's output lands there line by line). */
static char *wait_log(struct daemon *d, const char *name, const char *needle, unsigned timeout_ms) {
    for (uint64_t end = now_ms() + timeout_ms;;) {
        char *text = app_log(d, name);
        if (strstr(text, needle))
            return text;
        if (now_ms() > end) {
            char *all = test_read(d->log, NULL);
            fail_msg("%s: no '%s' within %u ms; its log:\n%s\nslated:\n%s", name, needle, timeout_ms, text, all);
        }
        free(text);
        usleep(20000);
    }
}

__attribute__((noinline)) static char *ps_json(struct daemon *d) {
    char *out = NULL, *err = NULL;
    if (run_slate(&out, &err, "--root", d->dev.root, "ps", "--json", NULL) != 0)
        fail_msg("slate ps --json: %s", err);
    free(err);
    return out;
}

/* The JSON object of one unit in `slate ps --json` (a copy of its line). */
static char *ps_entry(struct daemon *d, const char *name) {
    char *out = ps_json(d), *key = test_fmt("\"id\": \"%s\"", name);
    const char *at = strstr(out, key);
    size_t off = at ? (size_t)(at - out) : strlen(out);
    char *entry = strndup(out + off, strcspn(out + off, "}"));
    free(key);
    free(out);
    return entry;
}

static void wait_state(struct daemon *d, const char *name, const char *state, unsigned timeout_ms) {
    char *want = test_fmt("\"state\": \"%s\"", state);
    for (uint64_t end = now_ms() + timeout_ms;;) {
        char *e = ps_entry(d, name);
        if (strstr(e, want)) {
            free(e);
            break;
        }
        if (now_ms() > end)
            fail_msg("%s did not become %s within %u ms: %s", name, state, timeout_ms, e);
        free(e);
        usleep(20000);
    }
    free(want);
}

static void start_ok(struct daemon *d, const char *id) {
    char *out = NULL, *err = NULL;
    if (run_slate(&out, &err, "--root", d->dev.root, "start", id, NULL) != 0)
        fail_msg("slate start %s: %s", id, err);
    free(out);
    free(err);
}

/* ---- tests ---- */

static void test_start_ps_logs_stop(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    char *out = NULL, *err = NULL;
    install_app(d, "org.test.life", testapp, NULL, NULL);
    daemon_start(d, NULL);

    assert_int_equal(run_slate(&out, &err, "--root", d->dev.root, "start", "org.test.life", NULL), 0);
    assert_non_null(strstr(out, "org.test.life: foreground (pid "));
    free(out);
    free(err);
    free(wait_log(d, "org.test.life", "event=start starts=1 set=0", 5000));
    char *log = wait_log(d, "org.test.life", "id=org.test.life", 5000);
    assert_non_null(strstr(log, "platform=1..3")); /* platform info came over IPC: no descriptor in the sandbox */
    free(log);

    assert_int_equal(run_slate(&out, NULL, "--root", d->dev.root, "ps", NULL), 0);
    assert_non_null(strstr(out, "org.test.life"));
    assert_non_null(strstr(out, "foreground"));
    free(out);
    char *e = ps_entry(d, "org.test.life");
    assert_non_null(strstr(e, "\"kind\": \"app\""));
    assert_non_null(strstr(e, "\"frozen\": false"));
    assert_null(strstr(e, "\"memory\": 0,")); /* measured from its cgroup */
    free(e);

    assert_int_equal(run_slate(&out, NULL, "--root", d->dev.root, "logs", "org.test.life", NULL), 0);
    assert_non_null(strstr(out, "org.test.life["));
    assert_non_null(strstr(out, "event=start"));
    assert_non_null(strstr(out, "slated: started"));
    free(out);

    assert_int_equal(run_slate(&out, &err, "--root", d->dev.root, "stop", "org.test.life", NULL), 0);
    assert_non_null(strstr(out, "org.test.life: stopped (exited with status 0)"));
    free(out);
    free(err);
    log = app_log(d, "org.test.life");
    assert_non_null(strstr(log, "event=stop"));
    assert_non_null(strstr(log, "exit=0"));
    free(log);
    wait_state(d, "org.test.life", "stopped", 1000);

    /* Settings outlive the run: the second start counts 2. */
    start_ok(d, "org.test.life");
    free(wait_log(d, "org.test.life", "event=start starts=2", 5000));

    /* Removing a running app stops it first; its data and settings go with it. */
    char *data = test_fmt("%s/var/lib/slate/data/org.test.life", d->dev.root);
    assert_true(test_exists(data));
    assert_int_equal(run_slate(&out, &err, "--root", d->dev.root, "remove", "org.test.life", NULL), 0);
    free(out);
    free(err);
    log = app_log(d, "org.test.life");
    assert_non_null(strstr(log, "stopped (exited with status 0)"));
    free(log);
    assert_false(test_exists(data));
    free(data);
    wait_state(d, "org.test.life", "stopped", 100);
    install_app(d, "org.test.life", testapp, NULL, NULL);
    start_ok(d, "org.test.life");
    /* A fresh install starts afresh: its log (kept across runs) shows a second "starts=1". */
    for (uint64_t end = now_ms() + 5000;; usleep(20000)) {
        log = app_log(d, "org.test.life");
        const char *first = strstr(log, "event=start starts=1 ");
        bool twice = first && strstr(first + 1, "event=start starts=1 ");
        free(log);
        if (twice)
            break;
        if (now_ms() > end)
            fail_msg("the reinstalled app did not start afresh");
    }
    assert_int_equal(daemon_stop(d), 0);
}

static void test_lifecycle_freeze(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    install_app(d, "org.test.life", testapp, NULL, NULL);
    install_app(d, "org.other.life", testapp, NULL, NULL);
    daemon_start(d, NULL);

    start_ok(d, "org.test.life");
    free(wait_log(d, "org.test.life", "event=start", 5000));
    start_ok(d, "org.other.life");
    free(wait_log(d, "org.other.life", "event=start", 5000));
    /* The first app is paused, then trimmed (it saves its state) and frozen after the freeze delay. */
    free(wait_log(d, "org.test.life", "event=pause", 5000));
    free(wait_log(d, "org.test.life", "event=trim level=1 saved=0", 5000));
    char *log = wait_log(d, "org.test.life", "slated: frozen", 5000);
    /* slated's log says why, and the trim comes before the freeze. */
    char *trim = strstr(log, "slated: trim-memory (level 1): in the background");
    assert_non_null(trim);
    assert_true(trim < strstr(log, "slated: frozen"));
    free(log);
    char *e = ps_entry(d, "org.test.life");
    assert_non_null(strstr(e, "\"frozen\": true"));
    free(e);
    wait_state(d, "org.test.life", "cached", 3000);
    wait_state(d, "org.other.life", "foreground", 100);

    /* Back to the foreground: thawed first, then resumed; the other one leaves. */
    start_ok(d, "org.test.life");
    free(wait_log(d, "org.test.life", "event=resume", 5000));
    e = ps_entry(d, "org.test.life");
    assert_non_null(strstr(e, "\"state\": \"foreground\""));
    assert_non_null(strstr(e, "\"frozen\": false"));
    free(e);
    free(wait_log(d, "org.other.life", "event=pause", 5000));

    /* What it saved at trim is restored on its next start. */
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->dev.root, "stop", "org.test.life", NULL), 0);
    free(out);
    /* The foreground app went away: the one before it returns, as on a phone. */
    free(wait_log(d, "org.other.life", "event=resume", 5000));
    wait_state(d, "org.other.life", "foreground", 1000);
    start_ok(d, "org.test.life");
    free(wait_log(d, "org.test.life", "restored=saved-at-trim", 5000));
    assert_int_equal(daemon_stop(d), 0);
}

static void test_crash_and_budget(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    install_app(d, "org.test.crash", testapp, NULL, NULL);
    install_app(d, "org.test.hog", testapp, "memory = 32M", NULL);
    daemon_start(d, NULL);

    start_ok(d, "org.test.crash");
    free(wait_log(d, "org.test.crash", "crashed: killed by SIGSEGV", 5000));
    wait_state(d, "org.test.crash", "crashed", 1000);
    char *e = ps_entry(d, "org.test.crash");
    assert_non_null(strstr(e, "\"status\": \"killed by SIGSEGV\""));
    free(e);
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->dev.root, "logs", NULL), 0);
    assert_non_null(strstr(out, "about to crash"));
    assert_non_null(strstr(out, "crashed: killed by SIGSEGV"));
    free(out);

    /* The hog may not pass its 32 MiB budget: the kernel kills it inside its cgroup, slated says why. */
    start_ok(d, "org.test.hog");
    char *log = wait_log(d, "org.test.hog", "out of memory (budget 32 MiB)", 10000);
    assert_null(strstr(log, "allocated=40"));
    assert_non_null(strstr(log, "allocated=8"));
    free(log);
    assert_int_equal(daemon_stop(d), 0);
}

static void test_isolation(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    install_app(d, "org.test.probe", probe, NULL, NULL);
    install_app(d, "org.test.netprobe", probe, "permissions = network", NULL);
    install_app(d, "org.test.life", testapp, NULL, NULL);
    daemon_start(d, NULL);
    start_ok(d, "org.test.life"); /* another app with data of its own */
    free(wait_log(d, "org.test.life", "event=start", 5000));

    /* What the probe should not reach, by host path: the device database, another app's data, slated's socket. */
    char *data = test_fmt("%s/var/lib/slate/data/org.test.probe", d->dev.root);
    char *paths = test_fmt("%s/var/lib/slate/slate.db\n%s/var/lib/slate/data/org.test.life\n%s/run/slate/control\n"
                           "/var/lib/slate/data/org.test.life\n/etc/passwd\n",
                           d->dev.root, d->dev.root, d->dev.root);
    assert_int_equal(mkdir_parents_at(AT_FDCWD, data), 0);
    char *pfile = test_fmt("%s/paths", data);
    test_write(pfile, paths, strlen(paths), 0644);

    start_ok(d, "org.test.probe");
    char *log = wait_log(d, "org.test.probe", "hostname=", 5000);
    assert_non_null(strstr(log, "passwd=absent"));
    assert_non_null(strstr(log, "processes=1")); /* its own pid namespace: only itself */
    assert_non_null(strstr(log, "write_root=refused"));
    assert_non_null(strstr(log, "write_app=refused"));
    assert_non_null(strstr(log, "write_data=ok"));
    assert_null(strstr(log, "=present"));
    assert_non_null(strstr(log, "interfaces=1")); /* no network permission: a namespace with lo only */
    assert_non_null(strstr(log, "caps=0000000000000000"));
    assert_non_null(strstr(log, "ptrace=killed"));
    assert_non_null(strstr(log, "mount=killed"));
    assert_non_null(strstr(log, "unshare=killed"));
    /* The write landed in its own data folder on the host, nowhere else. */
    char *written = test_fmt("%s/probe", data);
    assert_true(test_exists(written));
    /* It wrote as its own host uid: not root, not another app's. */
    struct stat st, other;
    assert_int_equal(stat(written, &st), 0);
    assert_int_not_equal(st.st_uid, 0);
    char *life = test_fmt("%s/var/lib/slate/data/org.test.life", d->dev.root);
    assert_int_equal(stat(life, &other), 0);
    assert_int_not_equal(other.st_uid, 0);
    assert_int_not_equal(other.st_uid, st.st_uid);
    free(life);
    free(written);
    char *own_netns = malloc(64);
    ssize_t n = readlink("/proc/self/ns/net", own_netns, 63);
    own_netns[n > 0 ? n : 0] = '\0';
    char *line = test_fmt("netns=%s", own_netns);
    assert_null(strstr(log, line));
    free(log);

    /* With the network permission the app shares the device's network. */
    start_ok(d, "org.test.netprobe");
    log = wait_log(d, "org.test.netprobe", "hostname=", 5000);
    assert_non_null(strstr(log, line));
    free(log);
    free(line);
    free(own_netns);
    free(data);
    free(paths);
    free(pfile);
    assert_int_equal(daemon_stop(d), 0);
}

static void test_fetch(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    struct test_server srv;
    char *site = test_fmt("%s/site", d->dev.dir), *file = test_fmt("%s/hello.txt", site);
    assert_int_equal(mkdir_parents_at(AT_FDCWD, site), 0);
    test_write(file, "hello from the test server\n", 27, 0644);
    char *srvlog = test_fmt("%s/server.log", d->dev.dir);
    test_server_start(&srv, site, srvlog);

    install_app(d, "org.test.fetch", testapp, "permissions = network", NULL);
    install_app(d, "org.denied.fetch", testapp, NULL, NULL);
    char *url = test_fmt("%s/ok/hello.txt\n", srv.url);
    struct test_server echo; /* tests/http/echo-server.py: POST /echo answers the body back */
    test_script_server_start(&echo, "http/echo-server.py", NULL, NULL);
    char *post_url = test_fmt("%s/echo\n", echo.url);
    const char *ids[] = {"org.test.fetch", "org.denied.fetch"};
    for (int i = 0; i < 2; i++) {
        char *dir = test_fmt("%s/var/lib/slate/data/%s", d->dev.root, ids[i]), *path = test_fmt("%s/url", dir);
        char *post = test_fmt("%s/post-url", dir);
        assert_int_equal(mkdir_parents_at(AT_FDCWD, dir), 0);
        test_write(path, url, strlen(url), 0644);
        test_write(post, post_url, strlen(post_url), 0644);
        free(dir);
        free(path);
        free(post);
    }
    daemon_start(d, NULL);
    start_ok(d, "org.test.fetch");
    /* The POST comes after the GET: its line is the last one the app prints. */
    char *log = wait_log(d, "org.test.fetch", "post ", 10000);
    if (!strstr(log, "get status=200 type= length=27 body=hello from the test server") ||
        !strstr(log, "post status=200 type=text/plain length=23 body=posted by the fetch app"))
        fail_msg("unexpected fetch result:\n%s", log);
    free(log);
    start_ok(d, "org.denied.fetch");
    log = wait_log(d, "org.denied.fetch", "get error=", 10000);
    assert_non_null(strstr(log, "get error=-13")); /* -EACCES: no network permission */
    free(log);
    assert_int_equal(daemon_stop(d), 0);
    test_server_stop(&srv);
    test_server_stop(&echo);
    free(post_url);
    free(site);
    free(file);
    free(srvlog);
    free(url);
}

static void test_services(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    install_app(d, "org.test.svc", testapp, NULL, "[service echo]\nexec = bin/app\nidle_exit = 1s\n");
    install_app(d, "org.test.client", testapp, NULL, NULL);
    install_app(d, "org.test.holder", testapp, NULL, NULL);
    install_app(d, "org.test.flaky", testapp, NULL, "[service boom]\nexec = bin/app\nstart = boot\n");
    daemon_start(d, NULL);

    /* A boot service that keeps crashing is restarted, later each time. */
    char *log = wait_log(d, "org.test.flaky@boom", "restarting in 200 ms", 5000);
    assert_non_null(strstr(log, "restarting in 100 ms"));
    assert_non_null(strstr(log, "flaky: exiting with 3"));
    assert_non_null(strstr(log, "crashed: exited with status 3"));
    free(log);

    /* The echo service is not running until the client connects: started on demand. */
    char *e = ps_entry(d, "org.test.svc@echo");
    assert_string_equal(e, "");
    free(e);
    start_ok(d, "org.test.client");
    log = wait_log(d, "org.test.client", "missing=", 5000);
    assert_non_null(strstr(log, "reply=echo:ping"));
    assert_non_null(strstr(log, "missing=-2"));
    free(log);
    log = wait_log(d, "org.test.svc@echo", "client gone", 5000);
    assert_non_null(strstr(log, "client connected"));
    free(log);
    /* No client for its idle time: stopped. */
    free(wait_log(d, "org.test.svc@echo", "idle for 1 s: stopping it", 5000));
    wait_state(d, "org.test.svc@echo", "stopped", 5000);

    /* A client that keeps its connection keeps the service; slated looks less and less often (1, 2,
     * 4, 8 s after it came), and the client's exit restarts the idle clock instead of waiting for the next look. */
    start_ok(d, "org.test.holder");
    free(wait_log(d, "org.test.holder", "holding after echo:hold", 5000));
    usleep(4500 * 1000);
    e = ps_entry(d, "org.test.svc@echo");
    assert_non_null(strstr(e, "\"state\": \"service\""));
    free(e);
    /* The next look would come 8 s after the connection; the client's exit brings it to 1 s from then. */
    uint64_t t0 = now_ms();
    assert_int_equal(run_slate(NULL, NULL, "--root", d->dev.root, "stop", "org.test.holder", NULL), 0);
    wait_state(d, "org.test.svc@echo", "stopped", 5000);
    uint64_t took = now_ms() - t0;
    if (took > 2500)
        fail_msg("the service stopped %" PRIu64 " ms after its only client did, not about 1 s", took);
    assert_int_equal(daemon_stop(d), 0);
}

static bool pid_alive(pid_t pid) {
    return pid > 0 && kill(pid, 0) == 0;
}

static void test_shutdown_and_refusals(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    char *out = NULL, *err = NULL;
    install_app(d, "org.test.life", testapp, NULL, NULL);
    install_app(d, "org.test.probe", probe, NULL, NULL);

    test_expect_refused("slated is not running", "--root", d->dev.root, "ps", NULL);
    daemon_start(d, NULL);
    test_expect_refused("org.nosuch.app is not installed", "--root", d->dev.root, "start", "org.nosuch.app", NULL);
    test_expect_refused("not running", "--root", d->dev.root, "stop", "org.test.life", NULL);
    assert_int_equal(run_slate(NULL, &err, "--root", d->dev.root, "start", "Not An Id", NULL), 100);
    free(err);

    /* A second slated on the same root refuses to start. */
    char *cmd = test_fmt("%s --root %s 2>&1", slated_bin, d->dev.root);
    FILE *p = popen(cmd, "r");
    char *second = test_slurp(p, NULL);
    assert_int_not_equal(pclose(p), 0);
    assert_non_null(strstr(second, "another slated serves"));
    free(second);
    free(cmd);

    start_ok(d, "org.test.life");
    free(wait_log(d, "org.test.life", "event=start", 5000));
    char *e = ps_entry(d, "org.test.life");
    char *pidp = strstr(e, "\"pid\": ");
    assert_non_null(pidp);
    pid_t pid = (pid_t)atoi(pidp + 7);
    free(e);
    assert_true(pid_alive(pid));
    int slated_pid = d->pid;

    /* SIGTERM: apps stop in order through their stop callback, and nothing is left behind. */
    assert_int_equal(daemon_stop(d), 0);
    char *log = app_log(d, "org.test.life");
    assert_non_null(strstr(log, "event=stop"));
    free(log);
    assert_false(pid_alive(pid));
    char *sock = test_fmt("%s/run/slate/control", d->dev.root);
    assert_false(test_exists(sock));
    free(sock);
    /* No cgroup folder of that slated remains in any hierarchy. */
    char *find = test_fmt("find /sys/fs/cgroup -maxdepth 6 -type d -name 'slated.%d' 2>/dev/null", slated_pid);
    p = popen(find, "r");
    out = test_slurp(p, NULL);
    pclose(p);
    assert_string_equal(out, "");
    free(out);
    free(find);
}

static void test_retired_refused(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    char *manifest = test_manifest("org.test.old", "1.0.0", 1, "app");
    char *src = test_app_source(d->dev.dir, "old", manifest, 1);
    free(manifest);
    char *slp = test_fmt("%s/old.slp", d->dev.dir);
    assert_int_equal(run_slate(NULL, NULL, "pack", src, "--key", d->dev.app_key, "-o", slp, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->dev.root, "install", slp, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->dev.root, "platform", "upgrade", "--api-level", "3",
                               "--min-api-level", "2", NULL),
                     0);
    daemon_start(d, NULL);
    test_expect_refused("keeps no compatibility layer below 2", "--root", d->dev.root, "start", "org.test.old", NULL);
    assert_int_equal(daemon_stop(d), 0);
    free(src);
    free(slp);
}

/* ---- memory pressure on a small device ---- */

/* The test's own cgroup in the v1 memory hierarchy, or NULL (v2 needs a delegated cgroup: skipped). */
static char *memory_cgroup_v1(void) {
    FILE *f = fopen("/proc/self/cgroup", "re");
    char line[1024], *path = NULL;
    while (f && fgets(line, sizeof line, f)) {
        char *ctrl = strchr(line, ':'), *p = ctrl ? strchr(ctrl + 1, ':') : NULL;
        if (!p)
            continue;
        *p = '\0';
        p[strcspn(p + 1, "\n") + 1] = '\0';
        for (char *save = NULL, *c = strtok_r(ctrl + 1, ",", &save); c; c = strtok_r(NULL, ",", &save))
            if (strcmp(c, "memory") == 0)
                path = test_fmt("/sys/fs/cgroup/memory%s", p + 1);
    }
    if (f)
        fclose(f);
    if (path && !test_exists(path)) {
        free(path);
        path = NULL;
    }
    return path;
}

static void write_text(const char *dir, const char *file, const char *text) {
    char *path = test_fmt("%s/%s", dir, file);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs(text, f);
    if (fclose(f) != 0)
        fail_msg("%s: %s", path, strerror(errno));
    free(path);
}

static uint64_t read_key(const char *dir, const char *file, const char *key) {
    char *path = test_fmt("%s/%s", dir, file), *text = test_read(path, NULL);
    char *at = strstr(text, key);
    uint64_t v = at ? strtoull(at + strlen(key), NULL, 10) : 0;
    free(text);
    free(path);
    return v;
}

/* The time (its log's first column) of the first line of name's log that holds needle. */
static char *log_time_of(struct daemon *d, const char *name, const char *needle) {
    char *log = app_log(d, name), *at = strstr(log, needle), *t = NULL;
    if (at) {
        while (at > log && at[-1] != '\n')
            at--;
        t = strndup(at, strcspn(at, " "));
    }
    free(log);
    return t;
}

/*
 * A 256 MiB device: slated in a memory-limited cgroup, three cached apps holding 48 MiB each,
 * then a foreground app growing to 160 MiB. The manager must trim first, then kill cached apps
 * least recently used first, never the foreground app, before the kernel's OOM killer acts.
 */
static void test_memory_pressure(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    char *own = memory_cgroup_v1();
    if (!own) {
        print_message("skipped: the pressure test builds its small device on cgroup v1's memory hierarchy\n");
        skip();
    }
    char *device = test_fmt("%s/slate-device-%d", own, (int)getpid());
    rmdir(device);
    assert_int_equal(mkdir(device, 0755), 0);
    char *memsw = test_fmt("%s/memory.memsw.limit_in_bytes", device);
    write_text(device, "memory.limit_in_bytes", "256M");
    if (test_exists(memsw))
        write_text(device, "memory.memsw.limit_in_bytes", "256M");
    free(memsw);

    const char *hoards[] = {"org.one.hoard", "org.two.hoard", "org.three.hoard"};
    for (int i = 0; i < 3; i++)
        install_app(d, hoards[i], testapp, "memory = 100M", NULL);
    install_app(d, "org.test.grow", testapp, "memory = 200M", NULL);
    daemon_cgroup = device;
    daemon_start(d, NULL);
    daemon_cgroup = NULL;

    for (int i = 0; i < 3; i++) {
        start_ok(d, hoards[i]);
        free(wait_log(d, hoards[i], "hoarding=48", 5000));
    }
    /* The first two are frozen in the background by now (trimmed first), the third leaves when grow comes. */
    free(wait_log(d, hoards[1], "slated: frozen", 5000));
    start_ok(d, "org.test.grow");
    char *log = wait_log(d, "org.test.grow", "done", 30000);
    free(log);
    wait_state(d, "org.test.grow", "foreground", 100);

    /* The least recently used went first, after its trim; the foreground app never. */
    char *e0 = ps_entry(d, hoards[0]);
    if (!strstr(e0, "killed by slated: low memory")) {
        char *all = NULL;
        run_slate(&all, NULL, "--root", d->dev.root, "logs", NULL);
        test_write("/tmp/pressure-failure.log", all, strlen(all), 0644);
        fail_msg("the oldest cached app was not reclaimed: %s", e0);
    }
    free(e0);
    for (int i = 0; i < 3; i++) {
        char *trim = log_time_of(d, hoards[i], "event=trim"), *kill = log_time_of(d, hoards[i], "killing it");
        if (kill) {
            assert_non_null(trim);
            assert_true(strcmp(trim, kill) <= 0);
        }
        if (i > 0 && kill) { /* a later app dies only after the earlier ones did */
            char *before = log_time_of(d, hoards[i - 1], "killing it");
            assert_non_null(before);
            assert_true(strcmp(before, kill) <= 0);
            free(before);
        }
        free(trim);
        free(kill);
    }
    /* No OOM kill by the kernel, in the device or in any app's budget. */
    assert_int_equal(read_key(device, "memory.oom_control", "oom_kill "), 0);
    char *all = ps_json(d);
    if (strstr(all, "out of memory")) {
        char *logs = NULL;
        run_slate(&logs, NULL, "--root", d->dev.root, "logs", NULL);
        test_write("/tmp/pressure-failure.log", logs, strlen(logs), 0644);
        fail_msg("the kernel's OOM killer acted: %s", all);
    }
    free(all);

    /* What the reclaimed app saved at its trim comes back on its next start. */
    start_ok(d, hoards[0]);
    free(wait_log(d, hoards[0], "restored=saved-at-trim", 5000));
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->dev.root, "logs", NULL), 0);
    assert_non_null(strstr(out, "memory: short"));
    assert_non_null(strstr(out, "memory: dropped the spare sandbox")); /* a convenience goes first */
    if (getenv("SLATE_TEST_LOGS")) /* where to keep what slated said, to look at a run */
        test_write(getenv("SLATE_TEST_LOGS"), out, strlen(out), 0644);
    free(out);
    assert_int_equal(daemon_stop(d), 0);
    assert_int_equal(rmdir(device), 0);
    free(device);
    free(own);
}

/* Probe once whether slated can run here at all (namespaces, cgroups), and say why not. */
static void check_environment(void) {
    test_slated_unsupported(skip_reason, sizeof skip_reason);
}

/* Whether slated has SQLite mapped now. */
static bool sqlite_loaded(struct daemon *d) {
    char *path = test_fmt("/proc/%d/maps", (int)d->pid), *maps = test_read(path, NULL);
    bool loaded = strstr(maps, "libsqlite3") != NULL;
    free(maps);
    free(path);
    return loaded;
}

/* What is installed while slated runs is what it starts; SQLite leaves its memory when the database is idle. */
static void test_installs_while_running(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    char *out = NULL, *err = NULL;
    daemon_start(d, NULL);
    assert_int_equal(run_slate(NULL, &err, "--root", d->dev.root, "start", "org.late.life", NULL), 1);
    assert_string_equal(err, "slate: org.late.life is not installed\n");
    free(err);

    install_app(d, "org.late.life", testapp, NULL, NULL);
    start_ok(d, "org.late.life"); /* at once: no waiting for slated to notice the install */
    free(wait_log(d, "org.late.life", "event=start", 5000));
    assert_true(sqlite_loaded(d));
    assert_int_equal(run_slate(&out, NULL, "--root", d->dev.root, "remove", "org.late.life", NULL), 0);
    free(out);
    assert_int_equal(run_slate(NULL, &err, "--root", d->dev.root, "start", "org.late.life", NULL), 1);
    assert_string_equal(err, "slate: org.late.life is not installed\n");
    free(err);

    /* Five seconds without a query: the database is closed and SQLite unloaded. */
    for (uint64_t end = now_ms() + 8000; sqlite_loaded(d); usleep(100000))
        if (now_ms() > end)
            fail_msg("slated still maps SQLite 8 s after its last query");
    /* For good: closing the database is no change that would send slated back to it. */
    usleep(1000000);
    assert_false(sqlite_loaded(d));
    /* And comes back when needed. */
    install_app(d, "org.again.life", testapp, NULL, NULL);
    start_ok(d, "org.again.life");
    free(wait_log(d, "org.again.life", "event=start", 5000));
    assert_int_equal(daemon_stop(d), 0);
}

/* With the manager off, the kernel's OOM killer acts for a device that ran out: ps says so, not "budget". */
static void test_device_oom_named(void **state) {
    NEED_SLATED();
    struct daemon *d = *state;
    char *own = memory_cgroup_v1();
    if (!own) {
        print_message("skipped: this test builds its small device on cgroup v1's memory hierarchy\n");
        skip();
    }
    char *device = test_fmt("%s/slate-device-oom-%d", own, (int)getpid());
    rmdir(device);
    assert_int_equal(mkdir(device, 0755), 0);
    char *memsw = test_fmt("%s/memory.memsw.limit_in_bytes", device);
    write_text(device, "memory.limit_in_bytes", "96M");
    if (test_exists(memsw))
        write_text(device, "memory.memsw.limit_in_bytes", "96M");
    free(memsw);
    install_app(d, "org.test.grow", testapp, "memory = 200M", NULL);
    daemon_cgroup = device;
    daemon_flag = "--no-memory-manager";
    daemon_start(d, NULL);
    daemon_cgroup = NULL;
    daemon_flag = NULL;
    start_ok(d, "org.test.grow");
    wait_state(d, "org.test.grow", "crashed", 10000);
    char *e = ps_entry(d, "org.test.grow");
    if (!strstr(e, "out of memory (the device's)"))
        fail_msg("the device's OOM kill was not named as such: %s", e);
    free(e);
    assert_int_equal(daemon_stop(d), 0);
    assert_int_equal(rmdir(device), 0);
    free(device);
    free(own);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: test-slated SLATED TESTAPP PROBE\n");
        return 2;
    }
    slated_bin = argv[1];
    testapp = argv[2];
    probe = argv[3];
    check_environment();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_start_ps_logs_stop, setup, teardown),
        cmocka_unit_test_setup_teardown(test_lifecycle_freeze, setup, teardown),
        cmocka_unit_test_setup_teardown(test_crash_and_budget, setup, teardown),
        cmocka_unit_test_setup_teardown(test_isolation, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fetch, setup, teardown),
        cmocka_unit_test_setup_teardown(test_services, setup, teardown),
        cmocka_unit_test_setup_teardown(test_shutdown_and_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_retired_refused, setup, teardown),
        cmocka_unit_test_setup_teardown(test_installs_while_running, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_pressure, setup, teardown),
        cmocka_unit_test_setup_teardown(test_device_oom_named, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
