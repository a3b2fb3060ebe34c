/* test-cli.c: the slate command end to end, over temporary device roots. */
#include <slate/levels.h>

#include "helpers.h"

#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <unistd.h>

static struct test_device dev;

static int setup(void **state) {
    (void)state;
    test_device_new(&dev, 2, 1);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_device_free(&dev);
    return 0;
}

/* Pack the example app (built for hello_level) under a manifest; returns the .slp path. */
static char *pack_app(const char *id, const char *version, unsigned level, unsigned hello_level, const char *class_,
                      const char *key) {
    char *m = test_manifest(id, version, level, class_);
    char *name = test_fmt("src-%s-%s-%u", id, version, level);
    char *src = test_app_source(dev.dir, name, m, hello_level);
    char *out = test_fmt("%s/%s.slp", dev.dir, name);
    char *err = NULL;
    int rc = run_slate(NULL, &err, "pack", src, "--key", key, "-o", out, NULL);
    if (rc != 0)
        fail_msg("pack failed: %s", err);
    free(err);
    free(m);
    free(name);
    free(src);
    return out;
}

static char *info(const char *root, const char *id) {
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", root, "info", id, NULL), 0);
    return out;
}

static void test_install_list_info_remove(void **state) {
    (void)state;
    char *slp = pack_app("org.example.one", "1.0.0", 1, 1, "app", dev.app_key), *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "verify", slp, NULL), 0);
    assert_non_null(strstr(out, "good signature"));
    free(out);
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "install", slp, NULL), 0);
    assert_non_null(strstr(out, "installed org.example.one 1.0.0"));
    free(out);

    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "list", NULL), 0);
    assert_non_null(strstr(out, "org.example.one"));
    free(out);
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "list", "--json", NULL), 0);
    assert_non_null(strstr(out, "{\"id\": \"org.example.one\", \"version\": \"1.0.0\", \"previous\": null, "
                                "\"api_level\": 1, \"class\": \"app\""));
    free(out);
    out = info(dev.root, "org.example.one");
    assert_non_null(strstr(out, "api_level:   1"));
    free(out);

    /* The installed app runs and sees the device through the SDK. */
    char *bin = test_fmt("%s/var/lib/slate/apps/org.example.one/1.0.0/bin/hello", dev.root);
    const char *preload = getenv("SLATE_APP_PRELOAD");
    char *cmd = test_fmt("LD_PRELOAD='%s' SLATE_ROOT=%s %s", preload ? preload : "", dev.root, bin);
    FILE *p = popen(cmd, "r");
    char line[256] = "";
    assert_non_null(fgets(line, sizeof line, p));
    assert_int_equal(pclose(p), 0);
    assert_non_null(strstr(line, "built for API level 1, running on dev (API levels 1 to 2)"));
    free(cmd);

    test_expect_refused("is already installed", "--root", dev.root, "install", slp, NULL);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "remove", "org.example.one", NULL), 0);
    assert_false(test_exists(bin));
    test_expect_refused("org.example.one is not installed", "--root", dev.root, "remove", "org.example.one", NULL);
    test_expect_refused("not installed", "--root", dev.root, "info", "org.example.one", NULL);
    free(bin);
    free(slp);
}

static void test_api_level_gating(void **state) {
    (void)state;
    struct test_device old_dev, new_dev;
    test_device_new(&old_dev, 1, 1);
    test_device_new(&new_dev, 2, 2);
    char *old_key = test_fmt("%s", old_dev.app_key);
    /* The same signing key is trusted on both devices. */
    char *pub = test_fmt("%s", dev.app_pub);
    assert_int_equal(run_slate(NULL, NULL, "--root", old_dev.root, "trust", pub, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", new_dev.root, "trust", pub, NULL), 0);
    char *v1 = pack_app("org.example.gate", "1.0.0", 1, 1, "app", dev.app_key);
    char *v2 = pack_app("org.example.gate", "2.0.0", 2, 2, "app", dev.app_key);

    test_expect_refused("org.example.gate is built for API level 2; this device runs 1", "--root", old_dev.root, "install", v2, NULL);
    test_expect_refused("org.example.gate is built for API level 1; this platform keeps no compatibility layer below 2", "--root", new_dev.root, "install", v1, NULL);
    assert_int_equal(run_slate(NULL, NULL, "--root", old_dev.root, "install", v1, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", new_dev.root, "install", v2, NULL), 0);

    /* Nor may a system app built for a newer level be sideloaded: the vendor's key does not change the gate. */
    assert_int_equal(run_slate(NULL, NULL, "--root", old_dev.root, "trust", "--system", dev.sys_pub, NULL), 0);
    char *sys2 = pack_app("org.example.sysnew", "1.0.0", 2, 2, "system", dev.sys_key);
    test_expect_refused("org.example.sysnew is built for API level 2; this device runs 1", "--root", old_dev.root,
                        "install", sys2, NULL);
    free(sys2);

    /* A manifest claiming level 1 over a binary built for level 2: the ELF note must agree. */
    char *liar = pack_app("org.example.liar", "1.0.0", 1, 2, "app", dev.app_key);
    test_expect_refused("built for API level 2, but the manifest says 1", "--root", old_dev.root, "install", liar, NULL);
    test_expect_refused("built for API level 2", "--root", old_dev.root, "audit", liar, NULL);
    free(liar);
    free(v1);
    free(v2);
    free(pub);
    free(old_key);
    test_device_free(&old_dev);
    test_device_free(&new_dev);
}

static void test_upgrade_rollback_and_pruning(void **state) {
    (void)state;
    char *v1 = pack_app("org.example.up", "1.0.0", 1, 1, "app", dev.app_key);
    char *v2 = pack_app("org.example.up", "1.1.0", 2, 2, "app", dev.app_key);
    char *v3 = pack_app("org.example.up", "1.10.0", 2, 2, "app", dev.app_key);
    char *out = NULL;
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", v1, NULL), 0);
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "install", v2, NULL), 0);
    assert_non_null(strstr(out, "installed org.example.up 1.1.0 (was 1.0.0; kept for rollback)"));
    free(out);
    out = info(dev.root, "org.example.up");
    assert_non_null(strstr(out, "version:     1.1.0\nprevious:    1.0.0"));
    free(out);

    test_expect_refused("1.0.0 is older than the installed 1.1.0", "--root", dev.root, "install", v1, NULL);
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "rollback", "org.example.up", NULL), 0);
    assert_non_null(strstr(out, "rolled org.example.up back to 1.0.0 (from 1.1.0)"));
    free(out);
    /* Going forward again replaces the kept copy in one swap. */
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", v2, NULL), 0);
    /* 1.10.0 is newer than 1.1.0 (numeric comparison); 1.0.0 is pruned. */
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", v3, NULL), 0);
    char *dir = test_fmt("%s/var/lib/slate/apps/org.example.up", dev.root);
    char *d1 = test_fmt("%s/1.0.0", dir), *d2 = test_fmt("%s/1.1.0", dir), *d3 = test_fmt("%s/1.10.0", dir);
    assert_false(test_exists(d1));
    assert_true(test_exists(d2));
    assert_true(test_exists(d3));
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "rollback", "org.example.up", NULL), 0);
    out = info(dev.root, "org.example.up");
    assert_non_null(strstr(out, "version:     1.1.0\nprevious:    1.10.0"));
    free(out);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "remove", "org.example.up", NULL), 0);
    assert_false(test_exists(dir));
    test_expect_refused("not installed", "--root", dev.root, "rollback", "org.example.up", NULL);
    free(d1);
    free(d2);
    free(d3);
    free(dir);
    free(v1);
    free(v2);
    free(v3);
}

static void test_trust_classes(void **state) {
    (void)state;
    char *err = NULL;
    char *sys_by_app = pack_app("org.example.sys", "1.0.0", 1, 1, "system", dev.app_key);
    char *sys_by_sys = pack_app("org.example.sys", "1.0.1", 1, 1, "system", dev.sys_key);
    test_expect_refused("is a system package, but key", "--root", dev.root, "install", sys_by_app, NULL);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", sys_by_sys, NULL), 0);
    char *out = info(dev.root, "org.example.sys");
    assert_non_null(strstr(out, "class:       system"));
    free(out);
    /* An app key cannot turn a system package into its own app. */
    char *as_app = pack_app("org.example.sys", "9.0.0", 1, 1, "app", dev.app_key);
    test_expect_refused("org.example.sys is installed as a system package; 9.0.0 says class app", "--root", dev.root,
                        "install", as_app, NULL);
    free(as_app);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "remove", "org.example.sys", NULL), 0);

    /* Another trusted publisher cannot take over an app; a system key may move it. */
    char *other = test_fmt("%s/other", dev.dir), *other_key = test_fmt("%s.key", other),
         *other_pub = test_fmt("%s.pub", other);
    assert_int_equal(run_slate(NULL, NULL, "keygen", other, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "trust", other_pub, NULL), 0);
    char *mine = pack_app("org.example.mine", "1.0.0", 1, 1, "app", dev.app_key);
    char *takeover = pack_app("org.example.mine", "1.1.0", 1, 1, "app", other_key);
    char *moved = pack_app("org.example.mine", "1.2.0", 1, 1, "app", dev.sys_key);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", mine, NULL), 0);
    test_expect_refused("only a system key may change an app's publisher", "--root", dev.root, "install", takeover,
                        NULL);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", moved, NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "remove", "org.example.mine", NULL), 0);
    free(mine);
    free(takeover);
    free(moved);
    free(other);
    free(other_key);
    free(other_pub);

    /* An unknown key, and a key cannot be both kinds. */
    char *stranger = test_fmt("%s/stranger", dev.dir), *stranger_key = test_fmt("%s.key", stranger);
    assert_int_equal(run_slate(NULL, NULL, "keygen", stranger, NULL), 0);
    char *slp = pack_app("org.example.stranger", "1.0.0", 1, 1, "app", stranger_key);
    test_expect_refused("does not trust", "--root", dev.root, "install", slp, NULL);
    test_expect_refused("does not trust", "--root", dev.root, "verify", slp, NULL);
    assert_int_equal(run_slate(NULL, &err, "--root", dev.root, "trust", "--system", dev.app_pub, NULL), 111);
    assert_non_null(strstr(err, "already trusted as an app key"));
    free(err);
    assert_int_equal(run_slate(NULL, &err, "keygen", stranger, NULL), 111);
    assert_non_null(strstr(err, "already exists"));
    free(err);
    free(slp);
    free(stranger);
    free(stranger_key);
    free(sys_by_app);
    free(sys_by_sys);
}

static void test_usage_and_roots(void **state) {
    (void)state;
    char *err = NULL, *out = NULL;
    assert_int_equal(run_slate(NULL, &err, "frobnicate", NULL), 100);
    assert_non_null(strstr(err, "unknown command 'frobnicate'"));
    free(err);
    assert_int_equal(run_slate(NULL, &err, "--root", dev.root, "init", "--api-level", "1", NULL), 100);
    free(err);
    assert_int_equal(run_slate(NULL, &err, "--root", dev.root, "init", "--api-level", "2", "--min-api-level", "1",
                               NULL),
                     111);
    assert_non_null(strstr(err, "already a device root"));
    free(err);
    char *fresh = test_fmt("%s/fresh", dev.dir);
    assert_int_equal(run_slate(NULL, &err, "--root", fresh, "init", "--api-level", "1", "--min-api-level", "2", NULL),
                     100);
    assert_non_null(strstr(err, "min-api-level (2) <= api-level (1)"));
    free(err);
    char *nothing = test_fmt("%s/nothing", dev.dir);
    assert_int_equal(mkdir(nothing, 0755), 0);
    assert_int_equal(run_slate(NULL, &err, "--root", nothing, "list", NULL), 111);
    assert_non_null(strstr(err, "no platform descriptor"));
    free(err);
    /* $SLATE_ROOT names the root, and --root may come after the verb. */
    setenv("SLATE_ROOT", dev.root, 1);
    assert_int_equal(run_slate(&out, NULL, "platform", NULL), 0);
    assert_non_null(strstr(out, "runs levels:   1 to 2"));
    free(out);
    unsetenv("SLATE_ROOT");
    assert_int_equal(run_slate(&out, NULL, "platform", "--root", dev.root, NULL), 0);
    assert_non_null(strstr(out, "api_level:     2"));
    free(out);
    free(nothing);
    free(fresh);
}

/* Start-up recovery removes stale staging and version folders the database does not know. */
static void test_recovery(void **state) {
    (void)state;
    /* What a writer killed between its rename and its commit leaves: staging, an unnamed version, its intent. */
    char *stale = test_fmt("%s/var/lib/slate/staging/org.example.x.1234abcd", dev.root);
    char *orphan = test_fmt("%s/var/lib/slate/apps/org.example.ghost/9.9.9", dev.root);
    assert_int_equal(mkdir(stale, 0755), 0);
    char *f = test_fmt("%s/half-written", stale);
    test_write(f, "x", 1, 0644);
    char *parent = test_fmt("%s/var/lib/slate/apps/org.example.ghost", dev.root);
    assert_int_equal(mkdir(parent, 0755), 0);
    assert_int_equal(mkdir(orphan, 0755), 0);
    char *intent = test_fmt("%s/var/lib/slate/intent", dev.root);
    test_write(intent, "org.example.ghost", 17, 0644);
    /* Anything else in the apps folder is none of recovery's business, and blocks nothing. */
    char *stray = test_fmt("%s/var/lib/slate/apps/README", dev.root);
    test_write(stray, "x", 1, 0644);
    char *slp = pack_app("org.example.rec", "1.0.0", 1, 1, "app", dev.app_key);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "install", slp, NULL), 0);
    assert_false(test_exists(stale));
    assert_false(test_exists(orphan));
    assert_false(test_exists(parent));
    assert_false(test_exists(intent));
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "remove", "org.example.rec", NULL), 0);
    unlink(stray);
    free(stray), free(intent), free(slp), free(parent), free(f), free(stale), free(orphan);
}

static void test_audit_verb(void **state) {
    (void)state;
    char *out = NULL;
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "audit", test_hello(2), NULL), 0);
    assert_non_null(strstr(out, "imports slate_log_enabled@SLATE_2"));
    assert_non_null(strstr(out, "built for API level 2"));
    free(out);
    /* A program named through a symlink, as many in /usr/bin are. */
    char *link = test_fmt("%s/hello-link", dev.dir);
    assert_int_equal(symlink(test_hello(1), link), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", dev.root, "audit", link, NULL), 0);
    free(link);
    /* A package is audited only once its signature holds: nothing unsigned is unpacked. */
    char *stranger = test_fmt("%s/audit-stranger", dev.dir), *stranger_key = test_fmt("%s.key", stranger);
    assert_int_equal(run_slate(NULL, NULL, "keygen", stranger, NULL), 0);
    char *slp = pack_app("org.example.audited", "1.0.0", 1, 1, "app", stranger_key);
    test_expect_refused("does not trust", "--root", dev.root, "audit", slp, NULL);
    free(slp);
    slp = pack_app("org.example.audited", "1.0.1", 1, 1, "app", dev.app_key);
    assert_int_equal(run_slate(&out, NULL, "--root", dev.root, "audit", slp, NULL), 0);
    assert_non_null(strstr(out, "every binary runs on this device"));
    free(out);
    free(slp);
    free(stranger);
    free(stranger_key);
    struct test_device old;
    test_device_new(&old, 1, 1);
    test_expect_refused("built for API level 2; this device runs levels 1 to 1", "--root", old.root, "audit", test_hello(2), NULL);
    test_device_free(&old);
}

/* An OS update that drops a level retires the apps built for it: kept, refused, until a supported version comes. */
static void test_platform_upgrade(void **state) {
    (void)state;
    struct test_device phone;
    char *out = NULL, *err = NULL;
    test_device_new(&phone, 1, 1);
    assert_int_equal(run_slate(NULL, NULL, "--root", phone.root, "trust", dev.app_pub, NULL), 0);
    char *v1 = pack_app("org.example.old", "1.0.0", 1, 1, "app", dev.app_key);
    char *v2 = pack_app("org.example.old", "2.0.0", 2, 2, "app", dev.app_key);
    assert_int_equal(run_slate(NULL, NULL, "--root", phone.root, "install", v1, NULL), 0);

    assert_int_equal(run_slate(&out, NULL, "--root", phone.root, "platform", "upgrade", "--api-level", "2",
                               "--min-api-level", "2", "--release", "2027.01", NULL),
                     0);
    assert_non_null(strstr(out, "retired (kept on disk; they do not run"));
    assert_non_null(strstr(out, "  org.example.old 1.0.0 (API level 1)"));
    assert_non_null(strstr(out, "API levels 1 to 1 -> 2 to 2, release 2027.01; 1 app retired"));
    free(out);
    assert_int_equal(run_slate(&out, NULL, "--root", phone.root, "list", NULL), 0);
    assert_non_null(strstr(out, "retired"));
    free(out);
    out = info(phone.root, "org.example.old");
    assert_non_null(strstr(out, "state:       retired: org.example.old is built for API level 1; this platform keeps no "
                                "compatibility layer below 2"));
    free(out);
    char *kept = test_fmt("%s/var/lib/slate/apps/org.example.old/1.0.0/bin/hello", phone.root);
    assert_true(test_exists(kept)); /* disabled, not deleted */
    free(kept);

    /* An update that brings a supported version brings the app back. */
    assert_int_equal(run_slate(NULL, NULL, "--root", phone.root, "install", v2, NULL), 0);
    out = info(phone.root, "org.example.old");
    assert_non_null(strstr(out, "state:       runs on this platform"));
    free(out);
    /* ...and there is no going back to the retired one. */
    test_expect_refused("keeps no compatibility layer below 2", "--root", phone.root, "rollback", "org.example.old",
                        NULL);

    test_expect_refused("cannot go back from API level 2 to 1", "--root", phone.root, "platform", "upgrade",
                        "--api-level", "1", "--min-api-level", "1", NULL);
    test_expect_refused("API level 1 was retired", "--root", phone.root, "platform", "upgrade", "--api-level", "2",
                        "--min-api-level", "1", NULL);
    char *beyond = test_fmt("%d", SLATE_API_LATEST + 1);
    char *beyond_msg = test_fmt("provides API levels up to %d, not %d", SLATE_API_LATEST, SLATE_API_LATEST + 1);
    test_expect_refused(beyond_msg, "--root", phone.root, "platform", "upgrade", "--api-level", beyond,
                        "--min-api-level", "2", NULL);
    assert_int_equal(run_slate(&out, NULL, "--root", phone.root, "platform", "upgrade", "--api-level", "2",
                               "--min-api-level", "2", "--eol", NULL),
                     0);
    assert_non_null(strstr(out, "end-of-life"));
    free(out);
    assert_int_equal(run_slate(&out, NULL, "--root", phone.root, "platform", NULL), 0);
    assert_non_null(strstr(out, "eol:           yes"));
    free(out);
    test_expect_refused("end-of-life", "--root", phone.root, "platform", "upgrade", "--api-level", "2",
                        "--min-api-level", "2", NULL);
    char *fresh = test_fmt("%s/future", phone.dir);
    assert_int_equal(run_slate(NULL, &err, "--root", fresh, "init", "--api-level", beyond, "--min-api-level", "1", NULL),
                     100);
    assert_non_null(strstr(err, beyond_msg));
    free(err);
    free(beyond);
    free(beyond_msg);
    free(fresh);
    free(v1);
    free(v2);
    test_device_free(&phone);
}

/* A package that cannot fit is refused before anything is written (a small tmpfs stands in for a full disk). */
static void test_no_space(void **state) {
    (void)state;
    char *small = test_fmt("%s/small", dev.dir);
    assert_int_equal(mkdir(small, 0755), 0);
    if (mount("tmpfs", small, "tmpfs", 0, "size=1m") < 0)
        skip(); /* needs root (CI runs as root) */
    char *root = test_fmt("%s/root", small);
    assert_int_equal(run_slate(NULL, NULL, "--root", root, "init", "--api-level", "1", "--min-api-level", "1", NULL), 0);
    assert_int_equal(run_slate(NULL, NULL, "--root", root, "trust", dev.app_pub, NULL), 0);
    char *m = test_manifest("org.example.big", "1.0.0", 1, "app");
    char *src = test_app_source(dev.dir, "src-big", m, 1);
    char *big = test_fmt("%s/files/big.bin", src);
    size_t size = 4u << 20;
    char *zeros = calloc(1, size);
    test_write(big, zeros, size, 0644);
    char *slp = test_fmt("%s/big.slp", dev.dir);
    assert_int_equal(run_slate(NULL, NULL, "pack", src, "--key", dev.app_key, "-o", slp, NULL), 0);
    char *err = NULL;
    assert_int_equal(run_slate(NULL, &err, "--root", root, "install", slp, NULL), 111);
    assert_non_null(strstr(err, "org.example.big 1.0.0 needs 5 MiB; the device has"));
    char *staging = test_fmt("%s/var/lib/slate/staging", root);
    assert_int_equal(rmdir(staging), 0); /* empty: nothing was written */
    assert_int_equal(umount(small), 0);
    free(staging);
    free(err);
    free(slp);
    free(zeros);
    free(big);
    free(src);
    free(m);
    free(root);
    free(small);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_install_list_info_remove),
        cmocka_unit_test(test_api_level_gating),
        cmocka_unit_test(test_upgrade_rollback_and_pruning),
        cmocka_unit_test(test_trust_classes),
        cmocka_unit_test(test_usage_and_roots),
        cmocka_unit_test(test_recovery),
        cmocka_unit_test(test_audit_verb),
        cmocka_unit_test(test_no_space),
        cmocka_unit_test(test_platform_upgrade),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
