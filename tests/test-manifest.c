/* test-manifest.c: what a manifest must say, and every way it can be wrong. */
#include "helpers.h"

#include <string.h>

#include "manifest.h"

#define HASH "0000000000000000000000000000000000000000000000000000000000000000"
#define HEAD "[package]\nid = org.example.hello\nversion = 1.2.0\napi_level = 3\nclass = app\n\n"
#define APP "[app]\nexec = bin/hello\nlabel = Hello\n"
#define FILES "[files]\nbin/hello = " HASH " 10 0755\n"

static struct manifest *parse_ok(const char *text, unsigned flags) {
    struct manifest *m = NULL;
    struct err e = {0};
    if (manifest_parse(text, strlen(text), flags, &m, &e) < 0)
        fail_msg("unexpected refusal: %s", e.msg);
    return m;
}

static void parse_bad(const char *text, unsigned flags, const char *why) {
    struct manifest *m = NULL;
    struct err e = {0};
    int r = manifest_parse(text, strlen(text), flags, &m, &e);
    if (r != -E_MALFORMED)
        fail_msg("accepted or wrong code %d for: %s", r, text);
    if (!strstr(e.msg, why))
        fail_msg("message '%s' does not say '%s'", e.msg, why);
    assert_null(m);
}

static void test_full_manifest(void **state) {
    (void)state;
    struct manifest *m = parse_ok(HEAD "[app]\nexec = bin/hello\nlabel = Hello\nicon = share/icon.png\n"
                                       "permissions = network media\nmemory = 64M\n\n[files]\n"
                                       "bin/hello = " HASH " 10 0755\n"
                                       "lib/libx.so = symlink libx.so.1\n"
                                       "lib/libx.so.1 = " HASH " 5 0644\n"
                                       "share/icon.png = " HASH " 7 0644\n",
                                  0);
    assert_string_equal(m->id, "org.example.hello");
    assert_int_equal(m->version.minor, 2);
    assert_int_equal(m->api_level, 3);
    assert_false(m->system);
    assert_int_equal(m->permissions, PERM_NETWORK | PERM_MEDIA);
    assert_int_equal(m->memory, 64ull << 20);
    assert_int_equal(m->n_files, 4);
    assert_int_equal(m->total_size, 22);
    const struct manifest_file *f = manifest_find(m, "lib/libx.so");
    assert_non_null(f);
    assert_int_equal(f->type, FILE_SYMLINK);
    assert_string_equal(f->target, "libx.so.1");
    assert_null(manifest_find(m, "lib/nothing"));
    char perms[64];
    permissions_format(m->permissions, perms, sizeof perms);
    assert_string_equal(perms, "network media");
    manifest_free(m);
}

static void test_source_manifest(void **state) {
    (void)state;
    manifest_free(parse_ok(HEAD APP, MANIFEST_SOURCE));
    parse_bad(HEAD APP FILES, MANIFEST_SOURCE, "written by 'slate pack'");
    parse_bad(HEAD APP, 0, "no [files]");
}

static void test_package_section(void **state) {
    (void)state;
    parse_bad("[package]\nid = org.example.hello\nversion = 1.0.0\nclass = app\n" APP FILES, 0, "needs id, version");
    parse_bad("[package]\nid = Org.Example\nversion = 1.0.0\napi_level = 1\nclass = app\n" APP FILES, 0,
              "reverse-DNS");
    parse_bad("[package]\nid = hello\nversion = 1.0.0\napi_level = 1\nclass = app\n" APP FILES, 0, "reverse-DNS");
    parse_bad("[package]\nid = org..x\nversion = 1.0.0\napi_level = 1\nclass = app\n" APP FILES, 0, "reverse-DNS");
    parse_bad("[package]\nid = org.x\nversion = 1.0\napi_level = 1\nclass = app\n" APP FILES, 0, "MAJOR.MINOR.PATCH");
    parse_bad("[package]\nid = org.x\nversion = 1.0.0\napi_level = 0\nclass = app\n" APP FILES, 0, "api_level");
    parse_bad("[package]\nid = org.x\nversion = 1.0.0\napi_level = one\nclass = app\n" APP FILES, 0, "api_level");
    parse_bad("[package]\nid = org.x\nversion = 1.0.0\napi_level = 1\nclass = root\n" APP FILES, 0,
              "neither app nor system");
    parse_bad("[package]\nid = org.x\nversion = 1.0.0\napi_level = 1\nclass = app\ncolour = blue\n" APP FILES, 0,
              "unknown key 'colour'");
    parse_bad(HEAD APP FILES "[extras]\n", 0, "unknown section [extras]");
}

static void test_app_section(void **state) {
    (void)state;
    parse_bad(HEAD "[app]\nlabel = Hello\n" FILES, 0, "needs exec and label");
    parse_bad(HEAD "[app]\nexec = /bin/sh\nlabel = Hello\n" FILES, 0, "not a relative path");
    parse_bad(HEAD "[app]\nexec = ../bin/hello\nlabel = Hello\n" FILES, 0, "not a relative path");
    parse_bad(HEAD "[app]\nexec = bin/other\nlabel = Hello\n" FILES, 0, "not in the package");
    parse_bad(HEAD APP "permissions = network camera\n" FILES, 0, "unknown permission 'camera'");
    parse_bad(HEAD "[app]\nexec = bin/hello\nlabel = a\xc2\x9b" "31mred\n" FILES, 0, "printable UTF-8");
    parse_bad(HEAD "[app]\nexec = bin/hello\nlabel = \xff\n" FILES, 0, "printable UTF-8");
    parse_bad(HEAD APP "memory = lots\n" FILES, 0, "not a size");
    parse_bad(HEAD APP "icon = share/none.png\n" FILES, 0, "icon share/none.png is not a file");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 0644\n", 0, "not an executable file");
}

static void test_files_section(void **state) {
    (void)state;
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 4755\n", 0, "setuid");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 0777\n", 0, "lets others write");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 0311\n", 0, "not readable");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10\n", 0, "expected 'HASH SIZE MODE'");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 0755 extra\n", 0, "expected 'HASH SIZE MODE'");
    parse_bad(HEAD APP "[files]\nbin/hello = 00ff 10 0755\n", 0, "expected 'HASH SIZE MODE'");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 99999999999 0755\n", 0, "more than one file may hold");
    parse_bad(HEAD APP FILES "/etc/passwd = " HASH " 1 0644\n", 0, "not a valid package path");
    parse_bad(HEAD APP FILES "../escape = " HASH " 1 0644\n", 0, "not a valid package path");
    parse_bad(HEAD APP FILES "evil = symlink /etc/passwd\n", 0, "leaves the package");
    parse_bad(HEAD APP FILES "lib/evil = symlink ../../x\n", 0, "leaves the package");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 0755\nbin = " HASH " 1 0644\n", 0, "not sorted");
    parse_bad(HEAD APP "[files]\nbin = symlink x\nbin/hello = " HASH " 10 0755\n", 0, "both as a file and as a folder");
    parse_bad(HEAD APP "[files]\nbin/hello = " HASH " 10 0755\nbin/hello = " HASH " 10 0755\n", 0, "repeats");
}

/* ---- [service NAME] sections ---- */

#define SVC_FILES "[files]\nbin/hello = " HASH " 10 0755\nbin/timed = " HASH " 20 0755\n"

static void test_service_full(void **state) {
    (void)state;
    struct manifest *m = parse_ok(HEAD APP "[service time]\nexec = bin/timed\nstart = boot\nidle_exit = 5m\n"
                                           "memory = 32M\n\n[service clock-2]\nexec = bin/timed\n" SVC_FILES,
                                  0);
    assert_int_equal(m->n_services, 2);
    const struct manifest_service *svc = manifest_service(m, "time");
    assert_non_null(svc);
    assert_ptr_equal(svc, &m->services[0]); /* in the order written */
    assert_string_equal(svc->name, "time");
    assert_string_equal(svc->exec, "bin/timed");
    assert_int_equal(svc->start, SERVICE_AT_BOOT);
    assert_int_equal(svc->idle_exit_s, 300);
    assert_int_equal(svc->memory, 32ull << 20);
    /* The defaults: started on demand, stopped after 30 s without a client, the app's memory budget. */
    svc = manifest_service(m, "clock-2");
    assert_non_null(svc);
    assert_int_equal(svc->start, SERVICE_ON_DEMAND);
    assert_int_equal(svc->idle_exit_s, 30);
    assert_int_equal(svc->memory, 0);
    assert_null(manifest_service(m, "tim"));
    assert_null(manifest_service(m, "clock"));
    manifest_free(m);
}

/* The service of a manifest with one [service NAME] section reading "KEY = VALUE" (a source manifest). */
static struct manifest *one_service(const char *name, const char *lines) {
    char *text = test_fmt(HEAD APP "[service %s]\n%s", name, lines);
    struct manifest *m = parse_ok(text, MANIFEST_SOURCE);
    free(text);
    assert_int_equal(m->n_services, 1);
    return m;
}

static void service_bad(const char *name, const char *lines, const char *why) {
    char *text = test_fmt(HEAD APP "[service %s]\n%s", name, lines);
    parse_bad(text, MANIFEST_SOURCE, why);
    free(text);
}

static void test_service_names(void **state) {
    (void)state;
    manifest_free(one_service("a", "exec = bin/timed\n"));
    manifest_free(one_service("0-9", "exec = bin/timed\n"));
    manifest_free(one_service("abcdefghijklmnopqrstuvwxyz012345", "exec = bin/timed\n")); /* 32 bytes */
    service_bad("abcdefghijklmnopqrstuvwxyz0123456", "exec = bin/timed\n", "1 to 32 of a-z, 0-9 and -");
    service_bad("Time", "exec = bin/timed\n", "1 to 32 of a-z, 0-9 and -");
    service_bad("a_b", "exec = bin/timed\n", "1 to 32 of a-z, 0-9 and -");
    service_bad("a.b", "exec = bin/timed\n", "1 to 32 of a-z, 0-9 and -");
    service_bad("a b", "exec = bin/timed\n", "not allowed"); /* the keyfile takes one space in a header */
    service_bad("", "exec = bin/timed\n", "malformed section header");
    parse_bad(HEAD APP "[service]\nexec = bin/timed\n", MANIFEST_SOURCE, "unknown section [service]");
    parse_bad(HEAD APP "[services time]\nexec = bin/timed\n", MANIFEST_SOURCE, "unknown section");
    parse_bad(HEAD APP "[service time]\nexec = bin/timed\n[service time]\nexec = bin/timed\n", MANIFEST_SOURCE,
              "appears twice");
}

static void test_service_exec(void **state) {
    (void)state;
    service_bad("time", "start = boot\n", "[service time] needs exec");
    service_bad("time", "", "[service time] needs exec"); /* an empty section */
    service_bad("time", "exec = /bin/sh\n", "not a relative path");
    service_bad("time", "exec = ../bin/timed\n", "not a relative path");
    /* Packed, exec must be an executable file of the package. */
    parse_bad(HEAD APP "[service time]\nexec = bin/other\n" SVC_FILES, 0,
              "service time: exec bin/other is not an executable file in the package");
    parse_bad(HEAD APP "[service time]\nexec = bin/timed\n[files]\nbin/hello = " HASH " 10 0755\nbin/timed = " HASH
                       " 20 0644\n",
              0, "service time: exec bin/timed is not an executable file");
    parse_bad(HEAD APP "[service time]\nexec = bin/timed\n[files]\nbin/hello = " HASH " 10 0755\n"
                       "bin/timed = symlink hello\n",
              0, "service time: exec bin/timed is not an executable file");
    parse_bad(HEAD APP "[service time]\nexec = bin\n" SVC_FILES, 0, "is not an executable file");
}

static void test_service_start(void **state) {
    (void)state;
    struct manifest *m = one_service("time", "exec = bin/timed\nstart = demand\n");
    assert_int_equal(m->services[0].start, SERVICE_ON_DEMAND);
    manifest_free(m);
    m = one_service("time", "exec = bin/timed\nstart = boot\n");
    assert_int_equal(m->services[0].start, SERVICE_AT_BOOT);
    manifest_free(m);
    service_bad("time", "exec = bin/timed\nstart = always\n", "neither demand nor boot");
    service_bad("time", "exec = bin/timed\nstart = Boot\n", "neither demand nor boot");
    service_bad("time", "exec = bin/timed\nstart =\n", "neither demand nor boot");
}

static void test_service_idle_exit(void **state) {
    (void)state;
    static const struct {
        const char *text;
        unsigned seconds;
    } good[] = {
        {"30s", 30}, {"5m", 300}, {"0", 0}, {"0s", 0}, {"0m", 0}, {"45", 45}, {"86400s", 86400}, {"1440m", 86400},
    };
    static const char *const bad[] = {"",     "s",     "m",     "5h",  "-1",   "1.5m",
                                      "30 s", "86401", "1441m", "abc", "0x10", "99999999999999999999"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++) {
        char *lines = test_fmt("exec = bin/timed\nidle_exit = %s\n", good[i].text);
        struct manifest *m = one_service("time", lines);
        if (m->services[0].idle_exit_s != good[i].seconds)
            fail_msg("idle_exit = %s gave %u s, not %u", good[i].text, m->services[0].idle_exit_s, good[i].seconds);
        manifest_free(m);
        free(lines);
    }
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++) {
        char *lines = test_fmt("exec = bin/timed\nidle_exit = %s\n", bad[i]);
        service_bad("time", lines, "is not a duration like 30s or 5m");
        free(lines);
    }
}

static void test_service_memory_and_keys(void **state) {
    (void)state;
    struct manifest *m = one_service("time", "exec = bin/timed\nmemory = 512K\n");
    assert_int_equal(m->services[0].memory, 512ull << 10);
    manifest_free(m);
    service_bad("time", "exec = bin/timed\nmemory = lots\n", "memory = 'lots' is not a size like 64M");
    service_bad("time", "exec = bin/timed\nrestart = always\n", "unknown key 'restart' in [service time]");
    service_bad("time", "exec = bin/timed\nlabel = Time\n", "unknown key 'label' in [service time]");
    service_bad("time", "exec = bin/timed\nexec = bin/hello\n", "repeats");
}

/* At most MANIFEST_SERVICES_MAX (8) services. */
static void test_service_count(void **state) {
    (void)state;
    char *text = test_fmt("%s", HEAD APP);
    for (int i = 0; i < MANIFEST_SERVICES_MAX; i++) {
        char *more = test_fmt("%s[service s%d]\nexec = bin/timed\n", text, i);
        free(text);
        text = more;
    }
    struct manifest *m = parse_ok(text, MANIFEST_SOURCE);
    assert_int_equal(m->n_services, MANIFEST_SERVICES_MAX);
    assert_string_equal(m->services[MANIFEST_SERVICES_MAX - 1].name, "s7");
    manifest_free(m);
    char *more = test_fmt("%s[service s8]\nexec = bin/timed\n", text);
    parse_bad(more, MANIFEST_SOURCE, "more than 8 services");
    free(more);
    free(text);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_manifest),           cmocka_unit_test(test_source_manifest),
        cmocka_unit_test(test_package_section),         cmocka_unit_test(test_app_section),
        cmocka_unit_test(test_files_section),           cmocka_unit_test(test_service_full),
        cmocka_unit_test(test_service_names),           cmocka_unit_test(test_service_exec),
        cmocka_unit_test(test_service_start),           cmocka_unit_test(test_service_idle_exit),
        cmocka_unit_test(test_service_memory_and_keys), cmocka_unit_test(test_service_count),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
