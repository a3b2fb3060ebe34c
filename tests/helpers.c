/* helpers.c: shared test helpers. */
#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "util.h"

extern char **environ;

char *test_tmpdir(const char *tag) {
    const char *base = getenv("TMPDIR");
    char *path = test_fmt("%s/slate-test-%s.XXXXXX", base && *base ? base : "/tmp", tag);
    if (!mkdtemp(path))
        fail_msg("mkdtemp %s: %m", path);
    return path;
}

void test_rmtree(const char *path) {
    rm_rf_at(AT_FDCWD, path);
}

char *test_fmt(const char *fmt, ...) {
    va_list ap;
    char *s;
    va_start(ap, fmt);
    if (vasprintf(&s, fmt, ap) < 0)
        fail_msg("out of memory");
    va_end(ap);
    return s;
}

void test_write(const char *path, const void *data, size_t len, unsigned mode) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
    if (fd < 0 || write_all(fd, data, len) < 0 || fchmod(fd, mode) < 0 || close(fd) < 0)
        fail_msg("writing %s: %m", path);
}

char *test_slurp(FILE *f, size_t *ret_len) {
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    size_t n;
    if (!m)
        fail_msg("out of memory");
    while ((n = fread(chunk, 1, sizeof chunk, f)) > 0)
        fwrite(chunk, 1, n, m);
    fclose(m);
    if (ret_len)
        *ret_len = len;
    return buf;
}

char *test_read(const char *path, size_t *ret_len) {
    FILE *f = fopen(path, "rb");
    if (!f)
        fail_msg("reading %s: %m", path);
    char *buf = test_slurp(f, ret_len);
    fclose(f);
    return buf;
}

bool test_exists(const char *path) {
    struct stat st;
    return lstat(path, &st) == 0;
}

static char *slurp_fd(int fd) {
    FILE *f = fdopen(fd, "rb");
    if (!f)
        fail_msg("fdopen: %m");
    char *buf = test_slurp(f, NULL);
    fclose(f);
    return buf;
}

/* The NULL-terminated arguments after first, into argv (at most max - 1 of them). */
static void collect_args(const char **argv, size_t max, const char *first, va_list ap) {
    size_t n = 0;
    for (const char *a = first; a && n < max - 1; a = va_arg(ap, const char *))
        argv[n++] = a;
    argv[n] = NULL;
}

int run_slatev(char **out, char **err, const char *const *argv) {
    const char *bin = getenv("SLATE_BIN");
    if (!bin)
        fail_msg("SLATE_BIN is not set: run the tests through meson test");
    char *args[64];
    size_t n = 0;
    args[n++] = (char *)bin;
    for (; argv[n - 1] && n < 63; n++)
        args[n] = (char *)argv[n - 1];
    args[n] = NULL;

    char tmp_out[] = "/tmp/slate-out.XXXXXX", tmp_err[] = "/tmp/slate-err.XXXXXX";
    int fo = mkstemp(tmp_out), fe = mkstemp(tmp_err);
    if (fo < 0 || fe < 0)
        fail_msg("mkstemp: %m");
    unlink(tmp_out);
    unlink(tmp_err);
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fo, 1);
    posix_spawn_file_actions_adddup2(&fa, fe, 2);
    pid_t pid;
    if (posix_spawn(&pid, bin, &fa, NULL, args, environ) != 0)
        fail_msg("spawning %s: %m", bin);
    posix_spawn_file_actions_destroy(&fa);
    int status;
    while (waitpid(pid, &status, 0) < 0)
        ;
    lseek(fo, 0, SEEK_SET);
    lseek(fe, 0, SEEK_SET);
    char *o = slurp_fd(fo), *e = slurp_fd(fe);
    if (out)
        *out = o;
    else
        free(o);
    if (err)
        *err = e;
    else
        free(e);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

static int run_va(char **out, char **err, const char *arg, va_list ap) {
    const char *argv[64];
    collect_args(argv, 64, arg, ap);
    return run_slatev(out, err, argv);
}

int run_slate(char **out, char **err, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    int rc = run_va(out, err, arg, ap);
    va_end(ap);
    return rc;
}

static void must_run(const char *arg, ...) __attribute__((sentinel));
static void must_run(const char *arg, ...) {
    char *err = NULL;
    va_list ap;
    va_start(ap, arg);
    int rc = run_va(NULL, &err, arg, ap);
    va_end(ap);
    if (rc != 0)
        fail_msg("slate %s failed (%d): %s", arg, rc, err);
    free(err);
}

static void expect_exit_va(int status, const char *phrase, const char *arg, va_list ap) {
    char *err = NULL;
    int rc = run_va(NULL, &err, arg, ap);
    if (rc != status || strncmp(err, "slate: ", 7) != 0 || strchr(err, '\n') != err + strlen(err) - 1 ||
        !strstr(err, phrase))
        fail_msg("expected one error line (exit %d) naming '%s'; got exit %d: %s", status, phrase, rc, err);
    free(err);
}

void test_expect_refused(const char *phrase, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    expect_exit_va(1, phrase, arg, ap);
    va_end(ap);
}

void test_expect_exit(int status, const char *phrase, const char *arg, ...) {
    va_list ap;
    va_start(ap, arg);
    expect_exit_va(status, phrase, arg, ap);
    va_end(ap);
}

void test_device_new(struct test_device *d, unsigned api, unsigned min) {
    char a[16], m[16];
    d->dir = test_tmpdir("device");
    d->root = test_fmt("%s/root", d->dir);
    d->app_key = test_fmt("%s/app.key", d->dir);
    d->app_pub = test_fmt("%s/app.pub", d->dir);
    d->sys_key = test_fmt("%s/sys.key", d->dir);
    d->sys_pub = test_fmt("%s/sys.pub", d->dir);
    snprintf(a, sizeof a, "%u", api);
    snprintf(m, sizeof m, "%u", min);
    char *app = test_fmt("%s/app", d->dir), *sys = test_fmt("%s/sys", d->dir);
    must_run("--root", d->root, "init", "--api-level", a, "--min-api-level", m, NULL);
    must_run("keygen", app, NULL);
    must_run("keygen", sys, NULL);
    must_run("--root", d->root, "trust", d->app_pub, NULL);
    must_run("--root", d->root, "trust", "--system", d->sys_pub, NULL);
    free(app);
    free(sys);
}

void test_device_free(struct test_device *d) {
    test_rmtree(d->dir);
    free(d->dir);
    free(d->root);
    free(d->app_key);
    free(d->app_pub);
    free(d->sys_key);
    free(d->sys_pub);
}

const char *test_hello(unsigned level) {
    char name[32];
    snprintf(name, sizeof name, "HELLO_API%u", level);
    const char *p = getenv(name);
    if (!p)
        fail_msg("%s is not set: run the tests through meson test", name);
    return p;
}

char *test_manifest(const char *id, const char *version, unsigned level, const char *class_) {
    return test_fmt("[package]\nid = %s\nversion = %s\napi_level = %u\nclass = %s\n\n[app]\nexec = bin/hello\n"
                    "label = Hello\n",
                    id, version, level, class_);
}

char *test_app_source(const char *parent, const char *name, const char *manifest_text, unsigned hello_level) {
    char *dir = test_fmt("%s/%s", parent, name);
    char *files = test_fmt("%s/files/bin", dir);
    if (mkdir_parents_at(AT_FDCWD, files) < 0)
        fail_msg("mkdir %s: %m", files);
    char *manifest = test_fmt("%s/manifest", dir), *bin = test_fmt("%s/hello", files);
    test_write(manifest, manifest_text, strlen(manifest_text), 0644);
    size_t len;
    char *elf = test_read(test_hello(hello_level), &len);
    test_write(bin, elf, len, 0755);
    free(elf);
    free(manifest);
    free(bin);
    free(files);
    return dir;
}

struct craft {
    struct archive *a;
};

struct craft *craft_new(const char *path, bool zstd) {
    struct craft *c = calloc(1, sizeof *c);
    c->a = archive_write_new();
    archive_write_set_format_pax_restricted(c->a);
    if (zstd)
        archive_write_add_filter_zstd(c->a);
    if (archive_write_open_filename(c->a, path) != ARCHIVE_OK)
        fail_msg("craft %s: %s", path, archive_error_string(c->a));
    return c;
}

void craft_entry(struct craft *c, const char *name, unsigned type, unsigned mode, int64_t size, const void *data,
                 size_t len, const char *link) {
    struct archive_entry *ae = archive_entry_new();
    archive_entry_set_pathname(ae, name);
    archive_entry_set_filetype(ae, type);
    archive_entry_set_perm(ae, mode & 07777);
    archive_entry_set_mode(ae, type | (mode & 07777));
    archive_entry_set_size(ae, size);
    if (link && type == AE_IFLNK)
        archive_entry_set_symlink(ae, link);
    else if (link)
        archive_entry_set_hardlink(ae, link);
    if (archive_write_header(c->a, ae) != ARCHIVE_OK)
        fail_msg("craft header %s: %s", name, archive_error_string(c->a));
    if (len)
        archive_write_data(c->a, data, len);
    archive_entry_free(ae);
}

void craft_file(struct craft *c, const char *name, const void *data, size_t len, unsigned mode) {
    craft_entry(c, name, AE_IFREG, mode, (int64_t)len, data, len, NULL);
}

void craft_close(struct craft *c) {
    archive_write_close(c->a);
    archive_write_free(c->a);
    free(c);
}

char *craft_signature(const char *key_path, const char *manifest, size_t len) {
    struct secret_key k;
    struct err e = {0};
    char buf[SIGNATURE_MAX];
    if (keys_init(NULL) < 0 || secret_key_load(key_path, &k, &e) < 0)
        fail_msg("loading %s: %s", key_path, e.msg);
    int n = signature_format(&k, manifest, len, buf, sizeof buf);
    assert_true(n > 0);
    return strdup(buf);
}

void test_hash(const void *data, size_t len, char out[65]) {
    uint8_t h[32];
    crypto_generichash(h, sizeof h, data, len, NULL, 0);
    hex_encode(h, sizeof h, out);
}

void test_script_server_start(struct test_server *s, const char *script_name, const char *arg1, const char *arg2) {
    int out[2], in[2];
    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(in, O_CLOEXEC) < 0)
        fail_msg("pipe: %m");
    setenv("no_proxy", "127.0.0.1", 1);
    setenv("NO_PROXY", "127.0.0.1", 1);
    const char *src = getenv("SLATE_SOURCE_ROOT");
    char *script = test_fmt("%s/tests/%s", src ? src : ".", script_name);
    char *argv[] = {"python3", script, (char *)arg1, (char *)arg2, NULL};
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, in[0], 0);
    posix_spawn_file_actions_adddup2(&fa, out[1], 1);
    if (posix_spawnp(&s->pid, "python3", &fa, NULL, argv, environ) != 0)
        fail_msg("cannot start python3");
    posix_spawn_file_actions_destroy(&fa);
    close(in[0]);
    close(out[1]);
    s->stdin_fd = in[1];

    char line[64] = "";
    size_t n = 0;
    while (n < sizeof line - 1 && !strchr(line, '\n')) {
        ssize_t k = read(out[0], line + n, sizeof line - 1 - n);
        if (k <= 0)
            fail_msg("%s did not start", script_name);
        n += (size_t)k;
        line[n] = '\0';
    }
    close(out[0]);
    int port = 0;
    if (sscanf(line, "PORT %d", &port) != 1 || port <= 0)
        fail_msg("%s said: %s", script_name, line);
    s->url = test_fmt("http://127.0.0.1:%d", port);
    free(script);
}

void test_server_start(struct test_server *s, const char *dir, const char *log) {
    test_script_server_start(s, "http-fault-server.py", dir, log);
}

void test_server_stop(struct test_server *s) {
    if (s->pid > 0) {
        kill(s->pid, SIGTERM);
        waitpid(s->pid, NULL, 0);
        s->pid = 0;
    }
    if (s->stdin_fd >= 0)
        close(s->stdin_fd);
    s->stdin_fd = -1;
    free(s->url);
    s->url = NULL;
}

bool test_slated_unsupported(char *why, size_t size) {
    if (geteuid() != 0) {
        snprintf(why, size, "slated's sandboxes and cgroups need root");
        return true;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) == 0 ? 0 : errno);
    int status;
    waitpid(pid, &status, 0);
    if (WIFEXITED(status) && WEXITSTATUS(status) == 0)
        return false;
    snprintf(why, size, "this kernel refuses user namespaces (%s)", strerror(WIFEXITED(status) ? WEXITSTATUS(status) : EPERM));
    return true;
}
