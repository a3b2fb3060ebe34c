/* test-update.c: publishing to a folder repository and updating devices at different API levels from it. */
#include "helpers.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "index.h"
#include "util.h"

static struct test_device pub; /* the publisher's keys and a scratch folder */
static char *repo;

/* A device at [min, api] trusting the publisher's keys, with id at version (built for level) installed. */
static struct test_device *device_with(unsigned api, unsigned min, const char *id, const char *version,
                                       unsigned level) {
    struct test_device *d = calloc(1, sizeof *d);
    test_device_new(d, api, min);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "trust", pub.app_pub, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "trust", "--system", pub.sys_pub, NULL), 0);
    if (id) {
        char *m = test_manifest(id, version, level, "app");
        char *name = test_fmt("dev-%s-%s", id, version);
        char *src = test_app_source(d->dir, name, m, level);
        char *slp = test_fmt("%s/%s.slp", d->dir, name);
        assert_int_equal(run_slate(NULL, NULL, "pack", src, "--key", pub.app_key, "-o", slp, NULL), 0);
        assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "install", slp, NULL), 0);
        free(m), free(name), free(src), free(slp);
    }
    return d;
}

static void device_free(struct test_device *d) {
    test_device_free(d);
    free(d);
}

/* Pack id at version for level and add it to the repository. */
static void publish(const char *id, const char *version, unsigned level, bool security) {
    char *m = test_manifest(id, version, level, "app");
    char *name = test_fmt("pub-%s-%s", id, version);
    char *src = test_app_source(pub.dir, name, m, level);
    char *slp = test_fmt("%s/%s.slp", pub.dir, name);
    char *err = NULL;
    assert_int_equal(run_slate(NULL, NULL, "pack", src, "--key", pub.app_key, "-o", slp, NULL), 0);
    int rc = security ? run_slate(NULL, &err, "repo", "add", repo, "--security", slp, NULL)
                      : run_slate(NULL, &err, "repo", "add", repo, slp, NULL);
    if (rc != 0)
        fail_msg("repo add: %s", err);
    free(err), free(m), free(name), free(src), free(slp);
}

static void sign(void) {
    char *err = NULL;
    if (run_slate(NULL, &err, "repo", "sign", repo, "--key", pub.sys_key, "--expires", "30", NULL) != 0)
        fail_msg("repo sign: %s", err);
    free(err);
}

static char *current_version(struct test_device *d, const char *id) {
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "info", id, NULL), 0);
    char *v = strstr(out, "version:     ") + 13;
    char *copy = strndup(v, strcspn(v, "\n"));
    free(out);
    return copy;
}

static void assert_version(struct test_device *d, const char *id, const char *want) {
    char *v = current_version(d, id);
    if (strcmp(v, want) != 0)
        fail_msg("%s: %s installed, expected %s", id, v, want);
    free(v);
}

static int setup(void **state) {
    (void)state;
    test_device_new(&pub, 2, 1);
    repo = test_fmt("%s/repo", pub.dir);
    publish("org.example.app", "1.0.0", 1, false);
    publish("org.example.app", "1.1.0", 1, false);
    publish("org.example.app", "2.0.0", 2, false);
    sign();
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_device_free(&pub);
    free(repo);
    return 0;
}

/* The same repository serves devices at different levels: each gets the newest it supports. */
static void test_each_device_gets_what_it_supports(void **state) {
    (void)state;
    struct test_device *old = device_with(1, 1, "org.example.app", "0.9.0", 1);
    struct test_device *cur = device_with(2, 2, "org.example.app", "0.9.0", 2);
    char *out = NULL;

    assert_int_equal(run_slate(&out, NULL, "--root", old->root, "update", "--repo", repo, "--dry-run", NULL), 0);
    assert_non_null(strstr(out, "org.example.app: 0.9.0 -> 1.1.0 (API level 1), would install"));
    free(out);
    assert_version(old, "org.example.app", "0.9.0");

    assert_int_equal(run_slate(&out, NULL, "--root", old->root, "update", "--repo", repo, NULL), 0);
    assert_non_null(strstr(out, "org.example.app: 0.9.0 -> 1.1.0 (API level 1)"));
    free(out);
    assert_version(old, "org.example.app", "1.1.0");
    assert_int_equal(run_slate(&out, NULL, "--root", cur->root, "update", "--repo", repo, NULL), 0);
    free(out);
    assert_version(cur, "org.example.app", "2.0.0");

    /* Again: nothing to do, and the downloads folder holds nothing. */
    assert_int_equal(run_slate(&out, NULL, "--root", cur->root, "update", "--repo", repo, NULL), 0);
    assert_non_null(strstr(out, "1 package up to date"));
    assert_non_null(strstr(out, "nothing to update"));
    free(out);

    /* The device's own repository setting is used when --repo is not given. */
    char *conf = test_fmt("%s/etc/slate/repository", old->root);
    char *line = test_fmt("%s\n", repo);
    test_write(conf, line, strlen(line), 0644);
    assert_int_equal(run_slate(&out, NULL, "--root", old->root, "update", NULL), 0);
    assert_non_null(strstr(out, "1 package up to date"));
    assert_version(old, "org.example.app", "1.1.0");
    free(out), free(conf), free(line);
    device_free(old);
    device_free(cur);
}

/* Write an index for the repository's catalog with the given version and expiry, signed by key. */
static void write_index(const char *key_path, uint64_t version, int64_t expires) {
    char *path = test_fmt("%s/catalog", repo);
    size_t len;
    char *text = test_read(path, &len);
    struct repo_index *x = NULL;
    struct err e = {0};
    assert_int_equal(index_parse_body(text, len, &x, &e), 0);
    x->version = version;
    x->expires = expires;
    size_t body_len, sealed_len;
    char *body = index_format_body(x, &body_len), *sealed = NULL;
    struct secret_key k;
    assert_int_equal(keys_init(NULL), 0);
    assert_int_equal(secret_key_load(key_path, &k, &e), 0);
    assert_int_equal(index_seal(body, body_len, &k, &sealed, &sealed_len, &e), 0);
    char *out = test_fmt("%s/index", repo);
    test_write(out, sealed, sealed_len, 0644);
    free(out), free(sealed), free(body), free(text), free(path);
    index_free(x);
}

static void test_stale_and_rolled_back_indexes(void **state) {
    (void)state;
    struct test_device *d = device_with(1, 1, "org.example.app", "0.9.0", 1);
    char *saved = test_fmt("%s/index", repo), *keep = NULL;
    size_t keep_len;
    keep = test_read(saved, &keep_len);

    /* Freeze: an expired index, even correctly signed. */
    write_index(pub.sys_key, 1000, (int64_t)time(NULL) - 60);
    test_expect_refused("expired on", "--root", d->root, "update", "--repo", repo, NULL);
    assert_version(d, "org.example.app", "0.9.0");

    /* Accept version 1000, then an older one is a rollback. */
    write_index(pub.sys_key, 1000, (int64_t)time(NULL) + 3600);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "update", "--repo", repo, "--dry-run", NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "update", "--repo", repo, NULL), 0);
    write_index(pub.sys_key, 999, (int64_t)time(NULL) + 3600);
    test_expect_refused("index version 999 is older than version 1000", "--root", d->root, "update", "--repo", repo,
                        NULL);
    /* A dry run does not record what it saw: it cannot lock a device out of its repository. */
    struct test_device *fresh = device_with(1, 1, NULL, NULL, 1);
    write_index(pub.sys_key, 5000, (int64_t)time(NULL) + 3600);
    assert_int_equal(run_slate(NULL, NULL, "--root", fresh->root, "update", "--repo", repo, "--dry-run", NULL), 0);
    write_index(pub.sys_key, 4000, (int64_t)time(NULL) + 3600);
    assert_int_equal(run_slate(NULL, NULL, "--root", fresh->root, "update", "--repo", repo, NULL), 0);

    /* Signed by a key the device does not trust. */
    char *stranger = test_fmt("%s/stranger", pub.dir), *stranger_key = test_fmt("%s.key", stranger);
    assert_int_equal(run_slate(NULL, NULL, "keygen", stranger, NULL), 0);
    write_index(stranger_key, 2000, (int64_t)time(NULL) + 3600);
    test_expect_refused("does not trust", "--root", d->root, "update", "--repo", repo, NULL);

    test_write(saved, keep, keep_len, 0644);
    free(stranger), free(stranger_key), free(keep), free(saved);
    device_free(fresh);
    device_free(d);
}

static void test_tampered_index(void **state) {
    (void)state;
    struct test_device *d = device_with(1, 1, "org.example.app", "0.9.0", 1);
    char *path = test_fmt("%s/index", repo);
    size_t len;
    char *good = test_read(path, &len);
    char *bad = malloc(len);
    /* A flipped byte in the compressed body, in the signature, in the header; then cut short. */
    size_t offsets[] = {len - 1, len / 2, 40, 100, 5};
    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        memcpy(bad, good, len);
        bad[offsets[i]] ^= 0x20;
        test_write(path, bad, len, 0644);
        char *err = NULL;
        int rc = run_slate(NULL, &err, "--root", d->root, "update", "--repo", repo, NULL);
        if (rc != 1 || strchr(err, '\n') != err + strlen(err) - 1)
            fail_msg("flip at %zu: expected one refusal line, got %d: %s", offsets[i], rc, err);
        free(err);
    }
    for (size_t cut = 0; cut < len; cut += len / 7 + 1) {
        test_write(path, good, cut, 0644);
        char *err = NULL;
        assert_int_equal(run_slate(NULL, &err, "--root", d->root, "update", "--repo", repo, NULL), 1);
        free(err);
    }
    assert_version(d, "org.example.app", "0.9.0");
    test_write(path, good, len, 0644);
    free(bad), free(good), free(path);
    device_free(d);
}

/* A package whose bytes differ from what the index says is refused, and the installed version stays. */
static void test_package_bytes_differ_from_index(void **state) {
    (void)state;
    struct test_device *d = device_with(1, 1, "org.example.app", "0.9.0", 1);
    char *catalog = test_fmt("%s/catalog", repo);
    size_t len;
    char *text = test_read(catalog, &len);
    struct repo_index *x = NULL;
    struct err e = {0};
    assert_int_equal(index_parse_body(text, len, &x, &e), 0);
    const struct index_entry *en = index_newest(x, "org.example.app", NULL, NULL);
    char *other = NULL;
    for (size_t i = 0; i < x->n_entries; i++)
        if (strcmp(x->entries[i].version_str, "1.1.0") == 0) {
            char hash[65];
            hex_encode(x->entries[i].hash, 32, hash);
            other = test_fmt("%s/packages/%s.slp", repo, hash);
        }
    assert_non_null(other);
    (void)en;
    size_t plen;
    char *orig = test_read(other, &plen);
    char *evil = malloc(plen);
    memcpy(evil, orig, plen);
    evil[plen / 2] ^= 1;
    test_write(other, evil, plen, 0644);
    char *out = NULL, *err = NULL;
    assert_int_equal(run_slate(&out, &err, "--root", d->root, "update", "--repo", repo, NULL), 1);
    assert_non_null(strstr(err, "does not match the index"));
    assert_version(d, "org.example.app", "0.9.0");
    char *staging = test_fmt("%s/var/lib/slate/staging", d->root);
    assert_int_equal(rmdir(staging), 0); /* empty: nothing was half installed */
    test_write(other, orig, plen, 0644);
    free(staging), free(out), free(err), free(evil), free(orig), free(other), free(text), free(catalog);
    index_free(x);
    device_free(d);
}

/* End of life: security fixes only, and said so. Retired apps come back when a supported version exists. */
static void test_eol_and_retirement(void **state) {
    (void)state;
    publish("org.example.eol", "1.0.1", 1, true);
    publish("org.example.eol", "1.1.0", 1, false);
    sign();
    struct test_device *d = device_with(1, 1, "org.example.eol", "1.0.0", 1);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "platform", "upgrade", "--api-level", "1",
                               "--min-api-level", "1", "--eol", NULL),
                     0);
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "update", "--repo", repo, NULL), 0);
    assert_non_null(strstr(out, "end-of-life: it takes security fixes only"));
    assert_non_null(strstr(out, "org.example.eol: 1.0.0 -> 1.0.1 (API level 1, security fix)"));
    free(out);
    assert_version(d, "org.example.eol", "1.0.1");
    device_free(d);

    /* Retired by a platform upgrade, then brought back by an update. */
    d = device_with(1, 1, "org.example.app", "0.9.0", 1);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "platform", "upgrade", "--api-level", "2",
                               "--min-api-level", "2", NULL),
                     0);
    out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "list", NULL), 0);
    assert_non_null(strstr(out, "retired"));
    free(out);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "update", "--repo", repo, NULL), 0);
    assert_version(d, "org.example.app", "2.0.0");
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "info", "org.example.app", NULL), 0);
    assert_non_null(strstr(out, "runs on this platform"));
    free(out);
    device_free(d);

    /* Retired with nothing to replace it: said plainly. */
    d = device_with(1, 1, "org.example.eol", "1.0.0", 1);
    assert_int_equal(run_slate(NULL, NULL, "--root", d->root, "platform", "upgrade", "--api-level", "2",
                               "--min-api-level", "2", NULL),
                     0);
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "update", "--repo", repo, NULL), 0);
    assert_non_null(strstr(out, "org.example.eol 1.0.0: retired, and the index has no version this platform runs"));
    free(out);
    device_free(d);
}

/* Over HTTP, through a server that misbehaves: a dropped connection resumes; stalls, resets and endless data are refused. */
static void test_http_faults(void **state) {
    (void)state;
    struct test_server server;
    char *log = test_fmt("%s/requests.log", pub.dir);
    test_server_start(&server, repo, log);
    setenv("SLATE_FETCH_TIMEOUT", "2", 1);
    struct test_device *d = device_with(1, 1, "org.example.app", "0.9.0", 1);
    char *out = NULL;

    char *url = test_fmt("%s/stall", server.url);
    test_expect_exit(111, "stalled", "--root", d->root, "update", "--repo", url, NULL);
    free(url);
    url = test_fmt("%s/reset", server.url);
    test_expect_exit(111, "reset", "--root", d->root, "update", "--repo", url, NULL);
    free(url);
    url = test_fmt("%s/endless", server.url);
    test_expect_refused("index", "--root", d->root, "update", "--repo", url, NULL);
    free(url);
    url = test_fmt("%s/status/503", server.url);
    test_expect_exit(111, "503", "--root", d->root, "update", "--repo", url, NULL);
    free(url);
    assert_version(d, "org.example.app", "0.9.0");
    char *staging = test_fmt("%s/var/lib/slate/staging", d->root);
    assert_int_equal(rmdir(staging), 0);
    assert_int_equal(mkdir(staging, 0755), 0);

    /* The connection drops halfway through each file once: the retry resumes and the update completes. */
    url = test_fmt("%s/drop-once", server.url);
    assert_int_equal(run_slate(&out, NULL, "--root", d->root, "update", "--repo", url, NULL), 0);
    assert_non_null(strstr(out, "org.example.app: 0.9.0 -> 1.1.0"));
    free(out);
    free(url);
    assert_version(d, "org.example.app", "1.1.0");
    char *requests = test_read(log, NULL);
    assert_non_null(strstr(requests, "/drop-once/packages/"));
    assert_non_null(strstr(requests, "bytes="));
    free(requests);

    unsetenv("SLATE_FETCH_TIMEOUT");
    test_server_stop(&server);
    free(staging);
    free(log);
    device_free(d);
}

static void test_repo_refusals(void **state) {
    (void)state;
    /* The same id and version with other bytes cannot be added: package files are immutable. */
    char *m = test_manifest("org.example.app", "1.0.0", 1, "app");
    char *src = test_app_source(pub.dir, "pub-again", m, 1);
    char *extra = test_fmt("%s/files/extra", src);
    test_write(extra, "x", 1, 0644);
    char *slp = test_fmt("%s/again.slp", pub.dir);
    assert_int_equal(run_slate(NULL, NULL, "pack", src, "--key", pub.app_key, "-o", slp, NULL), 0);
    test_expect_refused("already in the repository with other contents", "repo", "add", repo, slp, NULL);
    char *junk = test_fmt("%s/junk.slp", pub.dir);
    test_write(junk, "not a package", 13, 0644);
    test_expect_refused("junk.slp", "repo", "add", repo, junk, NULL);
    free(junk), free(slp), free(extra), free(src), free(m);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_each_device_gets_what_it_supports),
        cmocka_unit_test(test_stale_and_rolled_back_indexes),
        cmocka_unit_test(test_tampered_index),
        cmocka_unit_test(test_package_bytes_differ_from_index),
        cmocka_unit_test(test_eol_and_retirement),
        cmocka_unit_test(test_http_faults),
        cmocka_unit_test(test_repo_refusals),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
