/* test-util.c: versions, package paths, symlink containment, hex and sizes. */
#include "helpers.h"

#include <string.h>

#include "util.h"

static void test_versions(void **state) {
    (void)state;
    struct version v;
    assert_int_equal(version_parse("1.2.3", &v), 0);
    assert_int_equal(v.major, 1);
    assert_int_equal(v.minor, 2);
    assert_int_equal(v.patch, 3);
    const char *bad[] = {"", "1", "1.2", "1.2.3.4", "1..3", "01.2.3", "1.2.x", "-1.2.3", "1.2.3 ", "2147483648.0.0"};
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_int_equal(version_parse(bad[i], &v), -EINVAL);
    /* numeric, not textual */
    assert_true(version_cmp_str("1.10.0", "1.9.0") > 0);
    assert_true(version_cmp_str("2.0.0", "10.0.0") < 0);
    assert_int_equal(version_cmp_str("3.1.4", "3.1.4"), 0);
}

static void test_paths(void **state) {
    (void)state;
    const char *good[] = {"bin/hello", "a", "share/icons/64x64/app.png", "lib/x86_64/libfoo.so.1", "a+b@c,d:e~f%g"};
    const char *bad[] = {"", "/etc/passwd", "../x", "a/../b", "a/./b", "a//b", "a/", ".", "a b", "a\nb", "a=b",
                         "a#b", "a\\b", "é"};
    for (size_t i = 0; i < sizeof good / sizeof *good; i++)
        assert_true(path_is_valid(good[i]));
    for (size_t i = 0; i < sizeof bad / sizeof *bad; i++)
        assert_false(path_is_valid(bad[i]));
    char big[PATH_BYTES_MAX + 2];
    memset(big, 'a', sizeof big - 1);
    big[sizeof big - 1] = '\0';
    assert_false(path_is_valid(big));
}

static void test_symlinks(void **state) {
    (void)state;
    assert_true(symlink_stays_inside("lib/libfoo.so", "libfoo.so.1"));
    assert_true(symlink_stays_inside("bin/app", "../lib/app"));
    assert_true(symlink_stays_inside("a/b/c", "../../x"));
    assert_false(symlink_stays_inside("a/b/c", "../../../x"));
    assert_false(symlink_stays_inside("top", "../x"));
    assert_false(symlink_stays_inside("bin/app", "/usr/bin/app"));
    assert_false(symlink_stays_inside("a/b", "../x/../../y"));
    assert_false(symlink_stays_inside("a/b", ""));
    assert_true(symlink_stays_inside("a/b", "./c/./d"));
}

static void test_hex_and_sizes(void **state) {
    (void)state;
    uint8_t raw[3] = {0x00, 0xab, 0xff}, back[3];
    char hex[7];
    hex_encode(raw, 3, hex);
    assert_string_equal(hex, "00abff");
    assert_int_equal(hex_decode(hex, back, 3), 0);
    assert_memory_equal(raw, back, 3);
    assert_int_equal(hex_decode("00ABFF", back, 3), -EINVAL);
    assert_int_equal(hex_decode("00abf", back, 3), -EINVAL);
    uint64_t s;
    assert_int_equal(parse_size("64M", &s), 0);
    assert_int_equal(s, 64ull << 20);
    assert_int_equal(parse_size("4096", &s), 0);
    assert_int_equal(s, 4096);
    assert_int_equal(parse_size("1G", &s), 0);
    assert_int_equal(parse_size("64MB", &s), -EINVAL);
    assert_int_equal(parse_size("M", &s), -EINVAL);
    assert_int_equal(parse_size("0", &s), -EINVAL);
    assert_int_equal(parse_size("99999999G", &s), -EINVAL);
}

static void test_utf8(void **state) {
    (void)state;
    assert_true(utf8_printable("Hello"));
    assert_true(utf8_printable("Caf\xc3\xa9 \xe6\x97\xa5\xe6\x9c\xac \xf0\x9f\x99\x82"));
    assert_false(utf8_printable("bell\a"));
    assert_false(utf8_printable("del\x7f"));
    assert_false(utf8_printable("c1 \xc2\x9b csi"));   /* U+009B, a terminal's CSI */
    assert_false(utf8_printable("raw \x9b csi"));       /* not UTF-8 at all */
    assert_false(utf8_printable("overlong \xc0\xaf")); /* '/' spelled in two bytes */
    assert_false(utf8_printable("surrogate \xed\xa0\x80"));
    assert_false(utf8_printable("cut \xe6\x97"));
    uint32_t c;
    assert_int_equal(utf8_next("\xf0\x9f\x99\x82", 4, &c), 4);
    assert_int_equal(c, 0x1f642);
    assert_int_equal(utf8_next("\xf4\x90\x80\x80", 4, &c), 0); /* beyond U+10FFFF */
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_versions),
        cmocka_unit_test(test_paths),
        cmocka_unit_test(test_symlinks),
        cmocka_unit_test(test_hex_and_sizes),
        cmocka_unit_test(test_utf8),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
