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

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_full_manifest),  cmocka_unit_test(test_source_manifest),
        cmocka_unit_test(test_package_section), cmocka_unit_test(test_app_section),
        cmocka_unit_test(test_files_section),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
