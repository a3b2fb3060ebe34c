/*
 * test-update-http.c: slate update end to end over HTTP: a repository published with
 * 'slate repo add' / 'repo sign', served by a private nginx on 127.0.0.1 (tests/nginx-run.sh,
 * with the caching headers a CDN would see), and two devices at different API levels that
 * each must get exactly the newest version their platform runs. Skipped when nginx is not
 * installed.
 *
 * The tests run in order over one repository and two devices: the dry run first (it must
 * change nothing), then the update, then a second update that must be a no-op.
 */
#include "helpers.h"

#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#define APP "org.example.upd"   /* 1.x for level 1, 2.x for level 2 */
#define OTHER "org.example.other" /* its newest version went back to level 1 */

struct published {
    const char *id, *version;
    unsigned level;
    bool security;
    char hash[65];
};

/* Every version in the repository. */
static struct published pubs[] = {
    {APP, "1.0.0", 1, false, ""},  {APP, "1.1.0", 1, true, ""},   {APP, "1.2.0", 1, false, ""},
    {APP, "2.0.0", 2, false, ""},  {APP, "2.1.0", 2, false, ""},  {OTHER, "0.9.0", 1, false, ""},
    {OTHER, "1.0.0", 2, false, ""}, {OTHER, "1.1.0", 2, false, ""}, {OTHER, "1.2.0", 1, false, ""},
};
#define N_PUBS (sizeof pubs / sizeof pubs[0])

static struct {
    char *dir, *repo, *state, *url, *access_log;
    char *slp[N_PUBS];
    struct test_device old_dev, new_dev; /* API levels 1..1 and 2..2 */
    bool no_nginx;
} t;

static const char *nginx_script(void) {
    static char path[4096];
    const char *src = getenv("SLATE_SOURCE_ROOT");
    snprintf(path, sizeof path, "%s/tests/nginx-run.sh", src ? src : ".");
    return path;
}

static size_t find_pub(const char *id, const char *version) {
    for (size_t i = 0; i < N_PUBS; i++)
        if (strcmp(pubs[i].id, id) == 0 && strcmp(pubs[i].version, version) == 0)
            return i;
    fail_msg("no published %s %s", id, version);
    return 0;
}

static void must(int rc, const char *what, const char *err) {
    if (rc != 0)
        fail_msg("%s failed (%d): %s", what, rc, err ? err : "");
}

static void install_old(const struct test_device *d, const char *id, const char *version) {
    char *err = NULL;
    int rc = run_slate(NULL, &err, "--root", d->root, "install", t.slp[find_pub(id, version)], NULL);
    must(rc, "install", err);
    free(err);
}

/* Start nginx on the repository; false when nginx is not installed. */
static bool start_nginx(void) {
    char *cmd = test_fmt("'%s' start '%s' '%s'", nginx_script(), t.repo, t.state);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = test_slurp(p, NULL);
    int st = pclose(p);
    free(cmd);
    if (WIFEXITED(st) && WEXITSTATUS(st) == 77) {
        free(out);
        return false;
    }
    if (!WIFEXITED(st) || WEXITSTATUS(st) != 0)
        fail_msg("tests/nginx-run.sh start failed (status %d), see its stderr", st);
    unsigned port = (unsigned)strtoul(out, NULL, 10);
    assert_true(port > 0 && port < 65536);
    t.url = test_fmt("http://127.0.0.1:%u", port);
    free(out);
    return true;
}

static int setup(void **state) {
    (void)state;
    t.dir = test_tmpdir("update-http");
    t.repo = test_fmt("%s/repo", t.dir);
    t.state = test_fmt("%s/nginx", t.dir);
    t.access_log = test_fmt("%s/access.log", t.state);
    test_device_new(&t.old_dev, 1, 1);
    test_device_new(&t.new_dev, 2, 2);
    /* One publisher: the old device's app key, trusted on both; it signs the index too. */
    const char *key = t.old_dev.app_key;
    assert_int_equal(run_slate(NULL, NULL, "--root", t.new_dev.root, "trust", t.old_dev.app_pub, NULL), 0);

    for (size_t i = 0; i < N_PUBS; i++) {
        struct published *p = &pubs[i];
        char *m = test_manifest(p->id, p->version, p->level, "app");
        char *name = test_fmt("src-%s-%s", p->id, p->version);
        char *src = test_app_source(t.dir, name, m, p->level), *err = NULL, *out = NULL;
        t.slp[i] = test_fmt("%s/%s.slp", t.dir, name);
        must(run_slate(NULL, &err, "pack", src, "--key", key, "-o", t.slp[i], NULL), "pack", err);
        free(err);
        err = NULL;
        size_t len;
        char *bytes = test_read(t.slp[i], &len);
        test_hash(bytes, len, p->hash);
        free(bytes);
        if (p->security)
            must(run_slate(&out, &err, "repo", "add", t.repo, "--security", t.slp[i], NULL), "repo add", err);
        else
            must(run_slate(&out, &err, "repo", "add", t.repo, t.slp[i], NULL), "repo add", err);
        /* Content-addressed: the file in the repository is named by the hash of its bytes. */
        char *stored = test_fmt("%s/packages/%s.slp", t.repo, p->hash);
        assert_true(test_exists(stored));
        free(stored);
        free(out);
        free(err);
        free(m);
        free(name);
        free(src);
    }
    char *out = NULL, *err = NULL;
    must(run_slate(&out, &err, "repo", "sign", t.repo, "--key", key, "--expires", "30", NULL), "repo sign", err);
    assert_non_null(strstr(out, "9 versions"));
    free(out);
    free(err);

    /* Each device runs an older version of both apps. */
    install_old(&t.old_dev, APP, "1.0.0");
    install_old(&t.old_dev, OTHER, "0.9.0");
    install_old(&t.new_dev, APP, "2.0.0");
    install_old(&t.new_dev, OTHER, "1.0.0");

    t.no_nginx = !start_nginx();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    if (t.url) {
        char *cmd = test_fmt("'%s' stop '%s'", nginx_script(), t.state);
        if (system(cmd) != 0)
            fprintf(stderr, "tests/nginx-run.sh stop failed\n");
        free(cmd);
    }
    test_device_free(&t.old_dev);
    test_device_free(&t.new_dev);
    for (size_t i = 0; i < N_PUBS; i++)
        free(t.slp[i]);
    test_rmtree(t.dir);
    free(t.dir);
    free(t.repo);
    free(t.state);
    free(t.url);
    free(t.access_log);
    return 0;
}

#define NEED_NGINX()                                                                                                   \
    do {                                                                                                               \
        if (t.no_nginx) {                                                                                              \
            print_message("SKIP: nginx is not installed (apt-get install nginx); no HTTP update test\n");             \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

/*
 * Every path under the root with its type, size, mode and (files) mtime: any change shows.
 * Not folders' mtimes: every command, list included, opens the database read-write, and
 * SQLite creates and removes slate.db-wal and -shm next to it, which touches var/lib/slate.
 */
static char *snapshot(const char *root) {
    char *cmd = test_fmt("cd '%s' && find . -type d -printf '%%p d %%m\\n' -o -printf '%%p %%y %%s %%m %%T@\\n' | "
                         "LC_ALL=C sort",
                         root);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char *out = test_slurp(p, NULL);
    assert_int_equal(pclose(p), 0);
    free(cmd);
    return out;
}

static char *list_json(const struct test_device *d) {
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "list", "--json", NULL), 0);
    return out;
}

/* The access log from here on only: nginx appends (O_APPEND), so truncating it is safe. */
static void clear_access_log(void) {
    test_write(t.access_log, "", 0, 0644);
}

static size_t count(const char *hay, const char *needle) {
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)); p += strlen(needle))
        n++;
    return n;
}

static char *update(const struct test_device *d, bool dry_run, int *rc) {
    char *out = NULL, *err = NULL;
    if (dry_run)
        *rc = run_slate(&out, &err, "--root", d->root, "update", "--repo", t.url, "--dry-run", NULL);
    else
        *rc = run_slate(&out, &err, "--root", d->root, "update", "--repo", t.url, NULL);
    if (*rc != 0)
        print_message("slate update: exit %d\nstdout:\n%s\nstderr:\n%s\n", *rc, out, err);
    free(err);
    return out;
}

static void expect_installed(const struct test_device *d, const char *id, const char *version, const char *previous,
                             unsigned level) {
    char *json = list_json(d);
    char *want = test_fmt("{\"id\": \"%s\", \"version\": \"%s\", \"previous\": %s%s%s, \"api_level\": %u,", id, version,
                          previous ? "\"" : "", previous ? previous : "null", previous ? "\"" : "", level);
    if (!strstr(json, want))
        fail_msg("%s: expected %s in\n%s", d->root, want, json);
    free(want);
    free(json);
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "info", id, NULL), 0);
    assert_non_null(strstr(out, version));
    free(out);
}

static void test_dry_run_changes_nothing(void **state) {
    (void)state;
    NEED_NGINX();
    const struct test_device *devs[] = {&t.old_dev, &t.new_dev};
    const char *plans[][2] = {
        {APP ": 1.0.0 -> 1.2.0 (API level 1), would install", OTHER ": 0.9.0 -> 1.2.0 (API level 1), would install"},
        {APP ": 2.0.0 -> 2.1.0 (API level 2), would install", OTHER ": 1.0.0 -> 1.1.0 (API level 2), would install"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *before = snapshot(devs[i]->root), *json_before = list_json(devs[i]);
        clear_access_log();
        int rc;
        char *out = update(devs[i], true, &rc);
        assert_int_equal(rc, 0);
        assert_non_null(strstr(out, "9 versions"));
        for (size_t k = 0; k < 2; k++)
            if (!strstr(out, plans[i][k]))
                fail_msg("expected '%s' in:\n%s", plans[i][k], out);
        assert_non_null(strstr(out, "dry run: nothing changed"));
        /* Nothing downloaded: the index only. */
        char *log = test_read(t.access_log, NULL);
        assert_int_equal(count(log, "GET /index "), 1);
        assert_int_equal(count(log, "/packages/"), 0);
        free(log);
        /* And nothing on the device changed, down to the mtimes. */
        char *after = snapshot(devs[i]->root), *json_after = list_json(devs[i]);
        assert_string_equal(json_before, json_after);
        if (strcmp(before, after) != 0) {
            char *b = test_fmt("%s/before", t.dir), *a = test_fmt("%s/after", t.dir);
            test_write(b, before, strlen(before), 0644);
            test_write(a, after, strlen(after), 0644);
            char *cmd = test_fmt("diff '%s' '%s'", b, a);
            FILE *p = popen(cmd, "r");
            char *diff = test_slurp(p, NULL);
            pclose(p);
            print_message("--dry-run changed %s (path type size mode mtime):\n%s", devs[i]->root, diff);
            fail_msg("--dry-run changed the device");
        }
        free(before);
        free(after);
        free(json_before);
        free(json_after);
        free(out);
    }
}

static void test_update_takes_newest_supported(void **state) {
    (void)state;
    NEED_NGINX();
    /* The level-1 device: the newest 1.x, never 2.x (level 2). */
    clear_access_log();
    int rc;
    char *out = update(&t.old_dev, false, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, APP ": 1.0.0 -> 1.2.0 (API level 1)\n"));
    assert_non_null(strstr(out, OTHER ": 0.9.0 -> 1.2.0 (API level 1)\n"));
    assert_non_null(strstr(out, "update done"));
    free(out);
    expect_installed(&t.old_dev, APP, "1.2.0", "1.0.0", 1);
    expect_installed(&t.old_dev, OTHER, "1.2.0", "0.9.0", 1);
    /* Exactly the two chosen files were downloaded, once each. */
    char *log = test_read(t.access_log, NULL);
    assert_int_equal(count(log, "GET /index "), 1);
    assert_int_equal(count(log, "/packages/"), 2);
    char *a = test_fmt("GET /packages/%s.slp HTTP/1.1\" 200 ", pubs[find_pub(APP, "1.2.0")].hash);
    char *b = test_fmt("GET /packages/%s.slp HTTP/1.1\" 200 ", pubs[find_pub(OTHER, "1.2.0")].hash);
    assert_int_equal(count(log, a), 1);
    assert_int_equal(count(log, b), 1);
    free(a);
    free(b);
    free(log);

    /* The level-2 device: the newest 2.x; not OTHER 1.2.0, which is newer but built for level 1. */
    clear_access_log();
    out = update(&t.new_dev, false, &rc);
    assert_int_equal(rc, 0);
    assert_non_null(strstr(out, APP ": 2.0.0 -> 2.1.0 (API level 2)\n"));
    assert_non_null(strstr(out, OTHER ": 1.0.0 -> 1.1.0 (API level 2)\n"));
    assert_non_null(strstr(out, "update done"));
    free(out);
    expect_installed(&t.new_dev, APP, "2.1.0", "2.0.0", 2);
    expect_installed(&t.new_dev, OTHER, "1.1.0", "1.0.0", 2);
    log = test_read(t.access_log, NULL);
    assert_int_equal(count(log, "/packages/"), 2);
    a = test_fmt("GET /packages/%s.slp HTTP/1.1\" 200 ", pubs[find_pub(APP, "2.1.0")].hash);
    b = test_fmt("GET /packages/%s.slp HTTP/1.1\" 200 ", pubs[find_pub(OTHER, "1.1.0")].hash);
    assert_int_equal(count(log, a), 1);
    assert_int_equal(count(log, b), 1);
    free(a);
    free(b);
    free(log);

    /* The updated apps run, and the downloads are not left behind. */
    const struct test_device *devs[] = {&t.old_dev, &t.new_dev};
    const char *versions[] = {"1.2.0", "2.1.0"};
    for (size_t i = 0; i < 2; i++) {
        char *bin = test_fmt("%s/var/lib/slate/apps/" APP "/%s/bin/hello", devs[i]->root, versions[i]);
        const char *preload = getenv("SLATE_APP_PRELOAD");
        char *cmd = test_fmt("LD_PRELOAD='%s' SLATE_ROOT='%s' '%s' 2>&1", preload ? preload : "", devs[i]->root, bin);
        FILE *p = popen(cmd, "r");
        assert_non_null(p);
        char *line = test_slurp(p, NULL);
        assert_int_equal(pclose(p), 0);
        char *want = test_fmt("built for API level %zu", i + 1);
        if (!strstr(line, want))
            fail_msg("%s printed: %s", bin, line);
        free(want);
        free(line);
        free(cmd);
        free(bin);
        char *ls = test_fmt("find '%s/var/lib/slate/downloads' -type f 2>/dev/null | grep -q .", devs[i]->root);
        assert_int_not_equal(system(ls), 0);
        free(ls);
    }
}

static void test_second_update_is_noop(void **state) {
    (void)state;
    NEED_NGINX();
    const struct test_device *devs[] = {&t.old_dev, &t.new_dev};
    const char *current[][2] = {
        {"2 packages up to date", "nothing to update"},
        {"2 packages up to date", "nothing to update"},
    };
    for (size_t i = 0; i < 2; i++) {
        char *json_before = list_json(devs[i]);
        clear_access_log();
        int rc;
        char *out = update(devs[i], false, &rc);
        assert_int_equal(rc, 0);
        for (size_t k = 0; k < 2; k++)
            if (!strstr(out, current[i][k]))
                fail_msg("expected '%s' in:\n%s", current[i][k], out);
        assert_non_null(strstr(out, "nothing to update"));
        assert_null(strstr(out, "->"));
        free(out);
        char *log = test_read(t.access_log, NULL);
        assert_int_equal(count(log, "GET /index "), 1);
        assert_int_equal(count(log, "/packages/"), 0);
        free(log);
        char *json_after = list_json(devs[i]);
        assert_string_equal(json_before, json_after);
        free(json_before);
        free(json_after);

        /* A dry run now plans nothing either. */
        out = update(devs[i], true, &rc);
        assert_int_equal(rc, 0);
        assert_null(strstr(out, "would install"));
        assert_non_null(strstr(out, "dry run: nothing changed"));
        free(out);
    }
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_dry_run_changes_nothing),
        cmocka_unit_test(test_update_takes_newest_supported),
        cmocka_unit_test(test_second_update_is_noop),
    };
    int failed = cmocka_run_group_tests(tests, setup, teardown);
    return failed == 0 && t.no_nginx ? 77 : failed; /* 77: meson reports SKIP, not OK */
}
