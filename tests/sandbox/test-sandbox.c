/* test-sandbox.c: starts the probe app through sandbox_spawn and checks what it could reach. */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "sandbox.h"

static const char *probe_path;  /* argv[1]: the built probe */
static const char *helper_path; /* argv[2]: slate-sandbox */
static char root[PATH_MAX];    /* this run's temporary folder */
static char app_dir[PATH_MAX + 8], data_a[PATH_MAX + 8], data_b[PATH_MAX + 8];
static char libslate[PATH_MAX + 32], libslate_target[PATH_MAX + 32];
static struct sandbox_bind libs[16];
static size_t n_libs;
static char *envp[8];
static char preload_env[PATH_MAX * 2];
static int userns_errno;    /* why namespaces are unavailable, 0 when they work */
static int live_pidfd = -1; /* a child not yet reaped, killed by teardown */

static int remove_entry(const char *path, const struct stat *st, int flag, struct FTW *ftw) {
    (void)st, (void)flag, (void)ftw;
    return remove(path);
}

static void copy_file(const char *from, const char *to, mode_t mode) {
    int in = open(from, O_RDONLY | O_CLOEXEC);
    int out = open(to, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    assert_true(in >= 0 && out >= 0);
    char buf[65536];
    ssize_t n;
    while ((n = read(in, buf, sizeof buf)) > 0)
        assert_int_equal(write(out, buf, (size_t)n), n);
    close(in);
    close(out);
}

static void add_lib(const char *source, const char *target) {
    assert_true(n_libs < sizeof libs / sizeof *libs);
    libs[n_libs++] = (struct sandbox_bind){strdup(source), strdup(target)};
}

/* Sanitized builds instrument libslate: the probe then needs the sanitizer runtimes, and what they load. */
static void add_preload(const char *libdir) {
    const char *preload = getenv("SLATE_APP_PRELOAD");
    if (!preload || !*preload)
        return;
    char list[PATH_MAX * 2];
    snprintf(list, sizeof list, "%s", preload);
    for (char *save = NULL, *lib = strtok_r(list, ":", &save); lib; lib = strtok_r(NULL, ":", &save))
        add_lib(lib, lib);
    static const char *const deps[] = {"libstdc++.so.6", "libgcc_s.so.1"};
    for (size_t i = 0; i < 2; i++) {
        char path[PATH_MAX + 32];
        snprintf(path, sizeof path, "%s/%s", libdir, deps[i]);
        if (access(path, R_OK) == 0)
            add_lib(path, path);
    }
    snprintf(preload_env, sizeof preload_env, "LD_PRELOAD=%s", preload);
}

static int setup(void **state) {
    (void)state;
    snprintf(root, sizeof root, "/tmp/slate-sandbox-XXXXXX");
    assert_non_null(mkdtemp(root));
    snprintf(app_dir, sizeof app_dir, "%s/app", root);
    snprintf(data_a, sizeof data_a, "%s/data-a", root);
    snprintf(data_b, sizeof data_b, "%s/data-b", root);
    char bin[PATH_MAX + 16];
    snprintf(bin, sizeof bin, "%s/bin", app_dir);
    assert_int_equal(mkdir(app_dir, 0755), 0);
    assert_int_equal(mkdir(bin, 0755), 0);
    assert_int_equal(mkdir(data_a, 0700), 0);
    assert_int_equal(mkdir(data_b, 0700), 0);
    strcat(bin, "/probe");
    copy_file(probe_path, bin, 0755);
    /* A root caller's sandboxes are not host root: their root must own the data folders, as slated's apps do. */
    if (getuid() == 0) {
        assert_int_equal(chown(data_a, SANDBOX_ID_BASE, SANDBOX_ID_BASE), 0);
        assert_int_equal(chown(data_b, SANDBOX_ID_BASE, SANDBOX_ID_BASE), 0);
        assert_int_equal(chmod(root, 0711), 0);
    }

    struct err e = {0};
    struct sandbox_bind libc[SANDBOX_LIBC_BINDS];
    int n = sandbox_libc_binds(libc, &e);
    if (n < 0)
        fail_msg("%s", e.msg);
    for (int i = 0; i < n; i++)
        add_lib(libc[i].source, libc[i].target);
    /* libslate goes beside libc, where the loader looks without being told. */
    char libdir[PATH_MAX];
    snprintf(libdir, sizeof libdir, "%s", libc[1].target);
    *strrchr(libdir, '/') = '\0';
    snprintf(libslate, sizeof libslate, "%s/lib/libslate.so.1", getenv("SLATE_BUILD_ROOT"));
    snprintf(libslate_target, sizeof libslate_target, "%s/libslate.so.1", libdir);
    add_lib(libslate, libslate_target);
    add_preload(libdir);

    size_t k = 0;
    envp[k++] = "HOME=/data";
    envp[k++] = "PATH=/app/bin";
    envp[k++] = "ASAN_OPTIONS=detect_leaks=0";
    if (preload_env[0])
        envp[k++] = preload_env;
    envp[k] = NULL;

    /* The same check as `unshare -Urpf`: some kernels and containers refuse user namespaces. */
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0)
        _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) == 0 ? 0 : errno);
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    userns_errno = WIFEXITED(status) ? WEXITSTATUS(status) : EPERM;
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (live_pidfd >= 0) {
        siginfo_t si;
        syscall(SYS_pidfd_send_signal, live_pidfd, SIGKILL, NULL, 0);
        waitid((idtype_t)P_PIDFD, (id_t)live_pidfd, &si, WEXITED);
        close(live_pidfd);
        live_pidfd = -1;
    }
    for (size_t i = 0; i < n_libs; i++) {
        free((char *)libs[i].source);
        free((char *)libs[i].target);
    }
    n_libs = 0;
    if (root[0])
        nftw(root, remove_entry, 16, FTW_DEPTH | FTW_PHYS);
    return 0;
}

static void need_namespaces(void) {
    if (userns_errno) {
        print_message("skipped: this kernel refuses user namespaces (%s)\n", strerror(userns_errno));
        skip();
    }
}

/* The host uid of root inside a sandbox this process makes. */
static uid_t inside_root(void) {
    return getuid() == 0 ? SANDBOX_ID_BASE : getuid();
}

static struct sandbox_base base_of(bool network) {
    return (struct sandbox_base){
        .helper = helper_path, .libs = libs, .n_libs = n_libs, .network = network, .cgroup_fd = -1};
}

static struct sandbox_spec base_spec(const char *data, char **argv) {
    static const struct sandbox_rlimit limits[] = {
        {RLIMIT_CORE, 0, 0}, /* the hostile-call probes die of SIGSYS: no core files */
        {RLIMIT_NOFILE, 256, 256},
    };
    return (struct sandbox_spec){
        .app_dir = app_dir,
        .exec = "/app/bin/probe",
        .data_dir = data,
        .argv = argv,
        .envp = envp,
        .rlimits = limits,
        .n_rlimits = 2,
        .stdout_fd = -1,
        .stderr_fd = -1,
        .channel_fd = -1,
    };
}

/* Runs the probe to its end in sp (a new sandbox when NULL) and returns its report (caller frees); asserts it exited 0. */
static char *run_probe_in(struct sandbox_spare *sp, bool network, struct sandbox_spec spec) {
    int out[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    spec.stdout_fd = out[1];
    struct sandbox_child child;
    struct err e = {0};
    struct sandbox_base base = base_of(network);
    int r = sp ? sandbox_launch(sp, &spec, &child, &e) : sandbox_spawn(&base, &spec, &child, &e);
    close(out[1]);
    if (r < 0) {
        close(out[0]);
        fail_msg("sandbox_spawn: %s", e.msg);
    }
    live_pidfd = child.pidfd;
    assert_true(child.pid > 1);

    size_t size = 0, cap = 8192;
    char *text = malloc(cap);
    assert_non_null(text);
    for (;;) {
        struct pollfd pfd = {.fd = out[0], .events = POLLIN};
        assert_int_equal(poll(&pfd, 1, 5000), 1); /* a probe that hangs fails the test, teardown kills it */
        ssize_t n = read(out[0], text + size, cap - size - 1);
        assert_true(n >= 0);
        if (n == 0)
            break;
        size += (size_t)n;
        assert_true(size < cap - 1);
    }
    text[size] = '\0';
    close(out[0]);

    siginfo_t si = {0};
    assert_int_equal(waitid((idtype_t)P_PIDFD, (id_t)child.pidfd, &si, WEXITED), 0);
    close(child.pidfd);
    live_pidfd = -1;
    if (si.si_code != CLD_EXITED || si.si_status != 0)
        fail_msg("the probe ended with code %d status %d; it said:\n%s", si.si_code, si.si_status, text);
    return text;
}

static char *run_probe(struct sandbox_spec spec) {
    return run_probe_in(NULL, false, spec);
}

/* The value of "key=" in a report. */
static const char *value(const char *text, const char *key) {
    static char buf[512];
    size_t klen = strlen(key);
    for (const char *line = text; line && *line; line = strchr(line, '\n') ? strchr(line, '\n') + 1 : NULL)
        if (strncmp(line, key, klen) == 0 && line[klen] == '=') {
            size_t len = strcspn(line + klen + 1, "\n");
            snprintf(buf, sizeof buf, "%.*s", (int)len, line + klen + 1);
            return buf;
        }
    fail_msg("the probe did not report %s:\n%s", key, text);
    return NULL;
}

static void assert_value(const char *text, const char *key, const char *expected) {
    const char *got = value(text, key);
    if (strcmp(got, expected) != 0)
        fail_msg("%s=%s, expected %s; the probe said:\n%s", key, got, expected, text);
}

static void host_netns(char *buf, size_t size) {
    ssize_t n = readlink("/proc/self/ns/net", buf, size - 1);
    assert_true(n > 0);
    buf[n] = '\0';
}

static void test_isolated(void **state) {
    (void)state;
    need_namespaces();
    char *argv[] = {"probe", "from-a", NULL};
    char *text = run_probe(base_spec(data_a, argv));

    assert_value(text, "libslate", "loaded");
    assert_value(text, "passwd", "absent");
    assert_value(text, "home", "absent");
    assert_value(text, "root", "absent");
    assert_value(text, "pid", "1");
    assert_value(text, "processes", "1");
    assert_value(text, "write_root", "refused:30"); /* EROFS */
    assert_value(text, "write_app", "refused:30");
    assert_value(text, "write_data", "ok");
    assert_value(text, "cwd", "/data");
    assert_value(text, "uid", "0");
    /* Root inside is the caller, or for a root caller the base of the sandboxes' own range, never host root. */
    const char *uid_map = value(text, "uid_map");
    unsigned inside, outside, count;
    assert_int_equal(sscanf(uid_map, "%u %u %u", &inside, &outside, &count), 3);
    assert_int_equal(inside, 0);
    assert_int_equal(outside, inside_root());
    assert_int_equal(count, getuid() == 0 ? SANDBOX_ID_COUNT : 1);
    if (getuid() == 0)
        assert_value(text, "groups", "0"); /* the caller's supplementary groups stay outside */
    assert_value(text, "caps", "0000000000000000");
    assert_value(text, "ptrace", "killed");
    assert_value(text, "mount", "killed");
    assert_value(text, "unshare", "killed");
    assert_value(text, "sethostname", "errno:1"); /* not on the allow-list: EPERM */
    assert_value(text, "hostname", "slate");

    /* No network: a namespace of its own holding only lo. */
    char host_ns[64];
    host_netns(host_ns, sizeof host_ns);
    assert_string_not_equal(value(text, "netns"), host_ns);
    assert_value(text, "interfaces", "1");

    /* What the app wrote is on the host, in its data folder. */
    char written[PATH_MAX * 2];
    snprintf(written, sizeof written, "%s/from-a", data_a);
    struct stat st;
    assert_int_equal(stat(written, &st), 0);
    assert_int_equal(st.st_size, 6);
    assert_int_equal(st.st_uid, inside_root());
    free(text);
}

static void test_network_permission(void **state) {
    (void)state;
    need_namespaces();
    char *argv[] = {"probe", "net", NULL};
    char *text = run_probe_in(NULL, true, base_spec(data_a, argv));
    char host_ns[64];
    host_netns(host_ns, sizeof host_ns);
    assert_value(text, "netns", host_ns);
    assert_value(text, "pid", "1");
    free(text);
}

static void test_data_private(void **state) {
    (void)state;
    need_namespaces();
    char *argv_a[] = {"probe", "secret-a", NULL};
    free(run_probe(base_spec(data_a, argv_a)));
    char *argv_b[] = {"probe", "secret-b", NULL};
    char *text = run_probe(base_spec(data_b, argv_b));
    /* B sees its own file only: nothing of A's folder. */
    assert_value(text, "data", "secret-b ");
    char path[PATH_MAX * 2];
    snprintf(path, sizeof path, "%s/secret-b", data_a);
    assert_int_equal(access(path, F_OK), -1);
    free(text);
}

static void test_missing_exec(void **state) {
    (void)state;
    need_namespaces();
    char *argv[] = {"nope", NULL};
    struct sandbox_spec spec = base_spec(data_a, argv);
    spec.exec = "/app/bin/nope";
    struct sandbox_child child = {.pid = -1, .pidfd = -1};
    struct err e = {0};
    struct sandbox_base base = base_of(false);
    assert_int_equal(sandbox_spawn(&base, &spec, &child, &e), -ENOENT);
    assert_string_equal(e.msg, "exec /app/bin/nope: No such file or directory");
    assert_int_equal(child.pidfd, -1);
    /* Nothing left behind: the failed child was reaped. */
    siginfo_t si = {0};
    assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

static void test_bad_bind(void **state) {
    (void)state;
    need_namespaces();
    char *argv[] = {"probe", NULL};
    struct sandbox_spec spec = base_spec(data_a, argv);
    struct sandbox_bind bad[sizeof libs / sizeof *libs + 1];
    memcpy(bad, libs, n_libs * sizeof *libs);
    bad[n_libs] = (struct sandbox_bind){"/nonexistent/libfoo.so.1", "/lib/libfoo.so.1"};
    struct sandbox_base base = base_of(false);
    base.libs = bad;
    base.n_libs = n_libs + 1;
    struct sandbox_child child;
    struct err e = {0};
    assert_int_equal(sandbox_spawn(&base, &spec, &child, &e), -ENOENT);
    assert_string_equal(e.msg, "bind /nonexistent/libfoo.so.1: No such file or directory");

    /* A target must stay inside the sandbox's root. */
    bad[n_libs] = (struct sandbox_bind){"/etc/passwd", "/lib/../etc/passwd"};
    assert_int_equal(sandbox_spawn(&base, &spec, &child, &e), -EINVAL);
    assert_string_equal(e.msg, "bind /lib/../etc/passwd: the target must be an absolute path without ..");

    base = base_of(false);
    spec = base_spec("/nonexistent/data", argv);
    assert_int_equal(sandbox_spawn(&base, &spec, &child, &e), -ENOENT);
    assert_string_equal(e.msg, "bind /nonexistent/data: No such file or directory");
}

static void test_exec_outside_app(void **state) {
    (void)state;
    char *argv[] = {"sh", NULL};
    struct sandbox_spec spec = base_spec(data_a, argv);
    spec.exec = "/bin/sh";
    struct sandbox_child child;
    struct err e = {0};
    struct sandbox_base base = base_of(false);
    assert_int_equal(sandbox_spawn(&base, &spec, &child, &e), -EINVAL);
    assert_string_equal(e.msg, "exec /bin/sh: not a path under /app");
}

/* Made ahead, used later: the spare says it is ready on its fd, then runs the app like a fresh sandbox. */
static void test_spare(void **state) {
    (void)state;
    need_namespaces();
    struct sandbox_base base = base_of(false);
    struct sandbox_spare *sp;
    struct err e = {0};
    if (sandbox_prepare(&base, &sp, &e) < 0)
        fail_msg("sandbox_prepare: %s", e.msg);
    assert_false(sandbox_spare_network(sp));
    struct pollfd pfd = {.fd = sandbox_spare_fd(sp), .events = POLLIN};
    assert_int_equal(poll(&pfd, 1, 5000), 1);
    assert_int_equal(sandbox_spare_poll(sp, false, &e), 1);
    char *argv[] = {"probe", "spare", NULL};
    char *text = run_probe_in(sp, false, base_spec(data_a, argv));
    assert_value(text, "pid", "1");
    assert_value(text, "processes", "1");
    assert_value(text, "passwd", "absent");
    assert_value(text, "write_data", "ok");
    assert_value(text, "caps", "0000000000000000");
    free(text);

    /* One that is never used goes without a trace. */
    if (sandbox_prepare(&base, &sp, &e) < 0)
        fail_msg("sandbox_prepare: %s", e.msg);
    assert_null(sandbox_spare_free(sp));
    siginfo_t si = {0};
    assert_int_equal(waitid(P_ALL, 0, &si, WEXITED | WNOHANG), -1);
    assert_int_equal(errno, ECHILD);
}

/* A root caller gives each app a host id of its own: inside it is that id's offset, with no capability. */
static void test_app_ids(void **state) {
    (void)state;
    need_namespaces();
    if (getuid() != 0) {
        print_message("skipped: only a root caller maps the sandboxes' id range\n");
        skip();
    }
    uid_t host = SANDBOX_ID_BASE + 4242;
    assert_int_equal(chown(data_b, host, host), 0);
    char *argv[] = {"probe", "own-id", NULL};
    struct sandbox_spec spec = base_spec(data_b, argv);
    spec.host_uid = host;
    char *text = run_probe(spec);
    assert_value(text, "uid", "4242");
    assert_value(text, "gid", "4242");
    assert_value(text, "groups", "0");
    assert_value(text, "caps", "0000000000000000");
    assert_value(text, "write_data", "ok");
    char written[PATH_MAX * 2];
    snprintf(written, sizeof written, "%s/own-id", data_b);
    struct stat st;
    assert_int_equal(stat(written, &st), 0);
    assert_int_equal(st.st_uid, host);
    assert_int_equal(st.st_gid, host);
    free(text);
    assert_int_equal(chown(data_b, SANDBOX_ID_BASE, SANDBOX_ID_BASE), 0);

    /* An id outside the range is refused before anything starts. */
    spec.host_uid = 1000;
    struct sandbox_child child;
    struct err e = {0};
    struct sandbox_base base = base_of(false);
    assert_int_equal(sandbox_spawn(&base, &spec, &child, &e), -EINVAL);
    assert_string_equal(e.msg, "sandbox: host uid 1000 is not in the sandboxes' id range (or the caller is not root)");
}

/* Library sources anywhere, /tmp too: the shared root is mounted there, after every source is taken. */
static void test_libs_under_tmp(void **state) {
    (void)state;
    need_namespaces();
    char copy[PATH_MAX + 32];
    snprintf(copy, sizeof copy, "%s/libslate.so.1", root);
    copy_file(libslate, copy, 0644);
    struct sandbox_bind moved[sizeof libs / sizeof *libs];
    memcpy(moved, libs, n_libs * sizeof *libs);
    for (size_t i = 0; i < n_libs; i++)
        if (strcmp(moved[i].source, libslate) == 0)
            moved[i].source = copy;
    struct sandbox_base base = base_of(false);
    base.libs = moved;
    int out[2];
    assert_int_equal(pipe2(out, O_CLOEXEC), 0);
    char *argv[] = {"probe", "tmp-libs", NULL};
    struct sandbox_spec spec = base_spec(data_a, argv);
    spec.stdout_fd = out[1];
    struct sandbox_child child;
    struct err e = {0};
    if (sandbox_spawn(&base, &spec, &child, &e) < 0)
        fail_msg("sandbox_spawn: %s", e.msg);
    close(out[1]);
    siginfo_t si = {0};
    assert_int_equal(waitid((idtype_t)P_PIDFD, (id_t)child.pidfd, &si, WEXITED), 0);
    close(child.pidfd);
    char buf[64] = "";
    assert_true(read(out[0], buf, sizeof buf - 1) > 0);
    close(out[0]);
    assert_int_equal(strncmp(buf, "libslate=loaded", 15), 0);
    assert_int_equal(si.si_code, CLD_EXITED);
    assert_int_equal(si.si_status, 0);
}

int main(int argc, char **argv) {
    if (argc < 3) {
        fprintf(stderr, "usage: %s PROBE SLATE-SANDBOX\n", argv[0]);
        return 100;
    }
    probe_path = argv[1];
    helper_path = argv[2];
    /* clang-format off */
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_isolated),
        cmocka_unit_test(test_network_permission),
        cmocka_unit_test(test_data_private),
        cmocka_unit_test(test_missing_exec),
        cmocka_unit_test(test_bad_bind),
        cmocka_unit_test(test_exec_outside_app),
        cmocka_unit_test(test_spare),
        cmocka_unit_test(test_app_ids),
        cmocka_unit_test(test_libs_under_tmp),
    };
    /* clang-format on */
    return cmocka_run_group_tests(tests, setup, teardown);
}
