/* test-keyfile.c: the strict keyfile reader and the platform descriptor built on it. */
#include "helpers.h"

#include <string.h>

#include "descriptor.h"
#include "keyfile.h"

static struct keyfile *parse_ok(const char *text) {
    struct keyfile *kf = NULL;
    struct err e = {0};
    int r = keyfile_parse(text, strlen(text), &kf, &e);
    if (r < 0)
        fail_msg("unexpected refusal: %s", e.msg);
    return kf;
}

static void parse_bad(const char *text, size_t len, const char *why) {
    struct keyfile *kf = NULL;
    struct err e = {0};
    assert_int_equal(keyfile_parse(text, len, &kf, &e), -E_MALFORMED);
    assert_null(kf);
    if (!strstr(e.msg, why))
        fail_msg("message '%s' does not say '%s'", e.msg, why);
}

static void test_values_and_comments(void **state) {
    (void)state;
    struct keyfile *kf = parse_ok("# top\n[package]\n  id = org.example.hello   # reverse-DNS\n"
                                  "label = Hello#1\n; semicolon comment\nempty =\n\n[service web]\nexec = bin/web\n");
    assert_string_equal(keyfile_get(kf, "package", "id"), "org.example.hello");
    assert_string_equal(keyfile_get(kf, "package", "label"), "Hello#1"); /* '#' not after a blank */
    assert_string_equal(keyfile_get(kf, "package", "empty"), "");
    assert_string_equal(keyfile_get(kf, "service web", "exec"), "bin/web");
    assert_null(keyfile_get(kf, "package", "exec"));
    assert_true(keyfile_has_section(kf, "service web"));
    keyfile_free(kf);
}

static void test_empty_section_and_no_newline(void **state) {
    (void)state;
    struct keyfile *kf = parse_ok("[files]\n[package]\nid = x");
    assert_true(keyfile_has_section(kf, "files"));
    assert_string_equal(keyfile_get(kf, "package", "id"), "x");
    keyfile_free(kf);
}

static void test_refusals(void **state) {
    (void)state;
    parse_bad("id = x\n", 7, "outside any section");
    parse_bad("[package]\nid = x\nid = y\n", 22, "repeats line 2");
    parse_bad("[a]\n[a]\n", 8, "appears twice");
    parse_bad("[package\n", 9, "malformed section");
    parse_bad("[pack age x]\n", 13, "section name has a character");
    parse_bad("[package]\njust words\n", 21, "expected 'key = value'");
    parse_bad("[package]\n = v\n", 15, "empty key");
    parse_bad("[package]\nid\x01 = v\n", 17, "control character");
    parse_bad("[package]\nid = a\0b\n", 18, "NUL");
    char many[KEYFILE_SECTIONS_MAX * 16 + 16];
    size_t off = 0;
    for (int i = 0; i <= KEYFILE_SECTIONS_MAX; i++)
        off += (size_t)snprintf(many + off, sizeof many - off, "[s%d]\n", i);
    parse_bad(many, off, "more than 256 sections");
    char long_line[KEYFILE_LINE_MAX + 64];
    memset(long_line, 'a', sizeof long_line);
    memcpy(long_line, "[p]\nk = ", 8);
    parse_bad(long_line, sizeof long_line, "longer than");
}

static void test_uint(void **state) {
    (void)state;
    unsigned long v;
    assert_int_equal(parse_uint("42", 1, 100, &v), 0);
    assert_int_equal(v, 42);
    assert_int_equal(parse_uint("042", 1, 100, &v), -EINVAL);
    assert_int_equal(parse_uint("101", 1, 100, &v), -EINVAL);
    assert_int_equal(parse_uint("0", 1, 100, &v), -EINVAL);
    assert_int_equal(parse_uint("-1", 0, 100, &v), -EINVAL);
    assert_int_equal(parse_uint("99999999999999999999999", 0, ~0ul, &v), -EINVAL);
    assert_int_equal(parse_uint("", 0, 100, &v), -EINVAL);
}

static void test_descriptor(void **state) {
    (void)state;
    struct platform_desc d, back;
    struct err e = {0};
    const char *ok = "[platform]\napi_level = 4\nmin_api_level = 3\nrelease = 2026.11\neol = true\n";
    assert_int_equal(platform_desc_parse(ok, strlen(ok), &d, &e), 0);
    assert_int_equal(d.api_level, 4);
    assert_int_equal(d.min_api_level, 3);
    assert_true(d.eol);
    assert_string_equal(d.release, "2026.11");

    char text[512];
    int n = platform_desc_format(&d, text, sizeof text);
    assert_true(n > 0);
    assert_int_equal(platform_desc_parse(text, (size_t)n, &back, &e), 0);
    assert_memory_equal(&d, &back, sizeof d);

    const char *inverted = "[platform]\napi_level = 2\nmin_api_level = 3\n";
    assert_int_equal(platform_desc_parse(inverted, strlen(inverted), &d, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "above api_level"));
    const char *unknown = "[platform]\napi_level = 2\nmin_api_level = 1\ncolour = blue\n";
    assert_int_equal(platform_desc_parse(unknown, strlen(unknown), &d, &e), -E_MALFORMED);
    const char *eol = "[platform]\napi_level = 2\nmin_api_level = 1\neol = maybe\n";
    assert_int_equal(platform_desc_parse(eol, strlen(eol), &d, &e), -E_MALFORMED);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_values_and_comments),
        cmocka_unit_test(test_empty_section_and_no_newline),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_uint),
        cmocka_unit_test(test_descriptor),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
