/*
 * test-crash.c: SIGKILL the installer at random instants and check that the device always
 * holds the old version or the new one, whole, and that recovery leaves nothing behind.
 * SLATE_CRASH_ITERATIONS in the environment overrides the built-in count for a long soak.
 */
#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <signal.h>
#include <spawn.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define APP "org.example.crash"
#define N_FILES 150

extern char **environ;

static struct test_device dev;
static char *slp[3], *src[3]; /* index 1: version 1.0.0, index 2: version 2.0.0 */
static const char *version_of[3] = {NULL, "1.0.0", "2.0.0"};

/* Each version's payload differs in every file, so a mix is visible. */
static void make_version(int v) {
    char *m = test_manifest(APP, version_of[v], 1, "app");
    char *name = test_fmt("src%d", v);
    src[v] = test_app_source(dev.dir, name, m, 1);
    char *data = test_fmt("%s/files/data", src[v]);
    assert_int_equal(mkdir(data, 0755), 0);
    size_t size = 24 * 1024;
    char *buf = malloc(size);
    for (int i = 0; i < N_FILES; i++) {
        for (size_t k = 0; k < size; k++)
            buf[k] = (char)((k * 31 + (size_t)i * 7 + (size_t)v * 101) & 0xff);
        char *path = test_fmt("%s/f%03d", data, i);
        test_write(path, buf, size - (size_t)i, 0644);
        free(path);
    }
    free(buf);
    slp[v] = test_fmt("%s/v%d.slp", dev.dir, v);
    char *err = NULL;
    if (run_slate(NULL, &err, "pack", src[v], "--key", dev.app_key, "-o", slp[v], NULL) != 0)
        fail_msg("pack: %s", err);
    free(err);
    free(data);
    free(name);
    free(m);
}

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1e3 + ts.tv_nsec / 1e6;
}

/* Start slate with argv, kill it after delay_us (or let it finish when delay_us < 0); returns 1 if killed. */
static int run_and_kill(const char *const *argv, long delay_us) {
    const char *bin = getenv("SLATE_BIN");
    char *args[16];
    size_t n = 0;
    args[n++] = (char *)bin;
    for (size_t i = 0; argv[i]; i++)
        args[n++] = (char *)argv[i];
    args[n] = NULL;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    posix_spawn_file_actions_addopen(&fa, 2, "/dev/null", O_WRONLY, 0);
    pid_t pid;
    assert_int_equal(posix_spawn(&pid, bin, &fa, NULL, args, environ), 0);
    posix_spawn_file_actions_destroy(&fa);
    if (delay_us >= 0) {
        if (delay_us > 0)
            usleep((useconds_t)delay_us);
        kill(pid, SIGKILL);
    }
    int status;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    return WIFSIGNALED(status) && WTERMSIG(status) == SIGKILL;
}

/* Every file of the version's source is in dir with the same bytes, and nothing else is. */
static void assert_tree_is(const char *dir, int v) {
    char *cmd = test_fmt("diff -r --no-dereference %s/files %s >/dev/null 2>&1", src[v], dir);
    int status = system(cmd);
    if (status != 0)
        fail_msg("%s is not exactly version %s", dir, version_of[v]);
    free(cmd);
}

static int version_index(const char *s) {
    for (int v = 1; v <= 2; v++)
        if (strncmp(s, version_of[v], strlen(version_of[v])) == 0 && s[strlen(version_of[v])] == '\n')
            return v;
    fail_msg("unexpected version '%.20s'", s);
    return 0;
}

struct state {
    int current, previous; /* 0: none */
};

/* What the database says, checked against the folders. */
static struct state observe(void) {
    struct state st = {0};
    char *out = NULL, *err = NULL;
    int rc = run_slate(&out, &err, "--root", dev.root, "info", APP, NULL);
    if (rc == 1 && strstr(err, "not installed")) {
        free(out);
        free(err);
        return st;
    }
    if (rc != 0)
        fail_msg("info after a crash failed (%d): %s", rc, err);
    st.current = version_index(strstr(out, "version:     ") + 13);
    char *prev = strstr(out, "previous:    ") + 13;
    st.previous = strncmp(prev, "(none", 5) == 0 ? 0 : version_index(prev);
    free(out);
    free(err);
    for (int which = 0; which < 2; which++) {
        int v = which ? st.previous : st.current;
        if (!v)
            continue;
        char *dir = test_fmt("%s/var/lib/slate/apps/%s/%s", dev.root, APP, version_of[v]);
        assert_tree_is(dir, v);
        free(dir);
    }
    return st;
}

static size_t count_entries(const char *path) {
    DIR *d = opendir(path);
    size_t n = 0;
    if (!d)
        return 0;
    for (struct dirent *de; (de = readdir(d));)
        n += strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0;
    closedir(d);
    return n;
}

static void test_kill_anywhere(void **state) {
    (void)state;
    long iterations = SLATE_CRASH_ITERATIONS;
    const char *env = getenv("SLATE_CRASH_ITERATIONS");
    if (env && atol(env) > 0)
        iterations = atol(env);
    unsigned seed = (unsigned)time(NULL);
    srand(seed);
    printf("# crash test: %ld iterations, seed %u\n", iterations, seed);

    /* How long an uninterrupted install takes bounds the kill delays. */
    const char *install2[] = {"--root", dev.root, "install", slp[2], NULL};
    const char *install1[] = {"--root", dev.root, "install", slp[1], NULL};
    const char *rollback[] = {"--root", dev.root, "rollback", APP, NULL};
    const char *remove[] = {"--root", dev.root, "remove", APP, NULL};
    double t0 = now_ms();
    run_and_kill(install1, -1);
    double install_ms = now_ms() - t0;
    assert_int_equal(observe().current, 1);
    printf("# an uninterrupted install takes %.1f ms\n", install_ms);

    long killed = 0, changed = 0;
    struct state st = observe();
    for (long i = 0; i < iterations; i++) {
        const char *const *op;
        if (st.current == 0)
            op = install1;
        else if (st.current == 1)
            op = install2;
        else
            op = st.previous && rand() % 2 ? rollback : remove;
        long delay = (long)(rand() % (long)(install_ms * 1300 + 1)); /* microseconds, up to 1.3x the run */
        killed += run_and_kill(op, delay);
        struct state after = observe();
        /* old or new, never anything else */
        if (op == install1)
            assert_true(after.current == st.current || after.current == 1);
        else if (op == install2)
            assert_true(after.current == 1 || after.current == 2);
        else if (op == rollback)
            assert_true(after.current == st.current || after.current == st.previous);
        else
            assert_true(after.current == st.current || after.current == 0);
        changed += after.current != st.current;
        st = after;
    }
    /* Any writer runs recovery: afterwards no staging and no folder the database does not name. */
    char *err = NULL;
    if (run_slate(NULL, &err, "--root", dev.root, "trust", dev.app_pub, NULL) != 0)
        fail_msg("trust: %s", err);
    free(err);
    char *staging = test_fmt("%s/var/lib/slate/staging", dev.root);
    assert_int_equal(count_entries(staging), 0);
    char *apps = test_fmt("%s/var/lib/slate/apps/%s", dev.root, APP);
    st = observe();
    assert_int_equal(count_entries(apps), (size_t)(st.current != 0) + (size_t)(st.previous != 0));
    printf("# %ld of %ld runs killed before they finished; the state changed %ld times\n", killed, iterations,
           changed);
    free(staging);
    free(apps);
}

static int setup(void **state) {
    (void)state;
    test_device_new(&dev, 1, 1);
    make_version(1);
    make_version(2);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    for (int v = 1; v <= 2; v++) {
        free(slp[v]);
        free(src[v]);
    }
    test_device_free(&dev);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_kill_anywhere)};
    return cmocka_run_group_tests(tests, setup, teardown);
}
