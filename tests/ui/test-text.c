/* test-text.c: text: shaping of each script, bidi, line breaking, ellipsis, alignment, carets, caches, pixels. */
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "golden.h"
#include "text.h"

static const struct text_style body = {.size = 17, .weight = FONT_REGULAR, .line_height = 24};

static struct text_layout *lay(const char *s, int max_width, unsigned max_lines, enum text_align align) {
    struct text_layout *l = text_layout(s, strlen(s), &body, max_width, max_lines, align);
    assert_non_null(l);
    return l;
}

static size_t glyphs(const struct text_layout *l, const struct text_glyph **ret) {
    return text_layout_glyphs(l, ret);
}

/* The face file a glyph comes from contains name. */
static bool from_face(const struct text_glyph *g, const char *name) {
    size_t n;
    const char *const *files = text_files(&n);
    assert_true(g->face < n);
    return strstr(files[g->face], name) != NULL;
}

/* The glyph id s shapes to when it is one glyph alone (an isolated form, a nominal glyph). */
static uint32_t alone(const char *s) {
    struct text_layout *l = lay(s, 0, 0, TEXT_START);
    const struct text_glyph *g;
    assert_int_equal(glyphs(l, &g), 1);
    uint32_t id = g[0].id;
    text_layout_free(l);
    return id;
}

static int width_of(const char *s) {
    struct text_layout *l = lay(s, 0, 0, TEXT_START);
    int w, h;
    text_layout_size(l, &w, &h);
    text_layout_free(l);
    return w;
}

static int lines_of(const struct text_layout *l) {
    int w, h;
    text_layout_size(l, &w, &h);
    assert_int_equal(h % 24, 0);
    return h / 24;
}

/* The glyph of cluster offset (its first glyph in display order). */
static const struct text_glyph *at_offset(const struct text_layout *l, uint32_t offset) {
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    for (size_t i = 0; i < n; i++)
        if (g[i].offset == offset)
            return &g[i];
    fail_msg("no glyph for offset %u", offset);
    return NULL;
}

static void test_files_and_init(void **state) {
    (void)state;
    struct err e = {0};
    assert_int_equal(text_init(&e), 0);
    size_t n;
    const char *const *files = text_files(&n);
    assert_int_equal(n, 12);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(access(files[i], R_OK), 0);
    assert_non_null(strstr(files[n - 1], "thbrk.tri"));
}

/* Arabic letters join: سلام's glyphs are not the letters' isolated forms (alef never joins the meem after it). */
static void test_arabic_joins(void **state) {
    (void)state;
    struct text_layout *l = lay("سلام", 0, 0, TEXT_START);
    assert_true(text_layout_rtl(l));
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    assert_true(n >= 3 && n <= 4); /* lam and alef may form one ligature */
    for (size_t i = 0; i < n; i++)
        assert_true(from_face(&g[i], "NotoSansArabic-Regular"));
    assert_int_not_equal(at_offset(l, 0)->id, alone("س"));
    assert_int_not_equal(at_offset(l, 2)->id, alone("ل"));
    assert_int_equal(at_offset(l, 6)->id, alone("م"));
    /* Right to left: the first letter rightmost, the last leftmost. */
    assert_int_equal(g[n - 1].offset, 0);
    assert_int_equal(g[0].offset, 6);
    for (size_t i = 1; i < n; i++)
        assert_true(g[i].x > g[i - 1].x && g[i].offset < g[i - 1].offset);
    text_layout_free(l);
}

static void test_hebrew_rtl(void **state) {
    (void)state;
    struct text_layout *l = lay("שלום", 0, 0, TEXT_START);
    assert_true(text_layout_rtl(l));
    const struct text_glyph *g;
    assert_int_equal(glyphs(l, &g), 4);
    for (size_t i = 0; i < 4; i++) {
        assert_true(from_face(&g[i], "NotoSansHebrew-Regular"));
        assert_int_equal(g[i].offset, (3 - i) * 2);
        assert_int_equal(g[i].id, alone((const char[]){"שלום"[(3 - i) * 2], "שלום"[(3 - i) * 2 + 1], 0}));
    }
    text_layout_free(l);
}

/* क्ष is a conjunct (three code points, one glyph); the vowel sign ि is drawn before its consonant. */
static void test_devanagari(void **state) {
    (void)state;
    struct text_layout *l = lay("क्ष", 0, 0, TEXT_START);
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    assert_true(n < 3);
    assert_true(from_face(&g[0], "NotoSansDevanagari-Regular"));
    text_layout_free(l);

    uint32_t ka = alone("क");
    l = lay("कि", 0, 0, TEXT_START);
    assert_int_equal(glyphs(l, &g), 2);
    assert_int_not_equal(g[0].id, ka); /* the vowel sign, left */
    assert_int_equal(g[1].id, ka);
    assert_true(g[0].x < g[1].x);
    assert_int_equal(g[0].offset, 0); /* one cluster: a caret never stands between them */
    assert_int_equal(g[1].offset, 0);
    text_layout_free(l);
}

/* Thai marks ride on their base: in its cluster, over it, without advancing the line. */
static void test_thai_marks(void **state) {
    (void)state;
    struct text_layout *l = lay("สวัสดี", 0, 0, TEXT_START); /* ส ว ั ส ด ี */
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    assert_int_equal(n, 6);
    for (size_t i = 0; i < n; i++)
        assert_true(from_face(&g[i], "NotoSansThai-Regular"));
    /* ั (U+0E31) on ว, ี (U+0E35) on ด: each in its base's cluster, over the base's advance. */
    assert_int_equal(g[1].offset, 3);
    assert_int_equal(g[2].offset, 3);
    assert_int_equal(g[4].offset, 12);
    assert_int_equal(g[5].offset, 12);
    assert_true(g[2].x > g[1].x && g[2].x <= g[3].x + 1);
    assert_true(g[5].x > g[4].x);
    int w, h;
    text_layout_size(l, &w, &h);
    assert_true(g[5].x <= w);
    text_layout_free(l);
}

/* สวัสดีครับ has no space: it breaks between its words สวัสดี and ครับ. */
static void test_thai_word_breaks(void **state) {
    (void)state;
    int first = width_of("สวัสดี"), whole = width_of("สวัสดีครับ");
    assert_true(first < whole);
    struct text_layout *l = lay("สวัสดีครับ", first + 2, 0, TEXT_START);
    assert_int_equal(lines_of(l), 2);
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    for (size_t i = 0; i < n; i++)
        assert_int_equal(g[i].line, g[i].offset < 18 ? 0 : 1);
    text_layout_free(l);

    /* Narrower than a word: graphemes, never a mark without its base. */
    l = lay("สวัสดีครับ", 12, 0, TEXT_START);
    n = glyphs(l, &g);
    for (size_t i = 1; i < n; i++)
        if (g[i].offset == g[i - 1].offset)
            assert_int_equal(g[i].line, g[i - 1].line);
    text_layout_free(l);
}

/* A left-to-right paragraph holding Hebrew: the Hebrew word reversed in its place. */
static void test_mixed_ltr(void **state) {
    (void)state;
    const char *s = "Hello שלום world";
    struct text_layout *l = lay(s, 0, 0, TEXT_START);
    assert_false(text_layout_rtl(l));
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    int hello = at_offset(l, 0)->x, shin = at_offset(l, 6)->x, mem = at_offset(l, 12)->x, world = at_offset(l, 15)->x;
    assert_true(hello < mem && mem < shin && shin < world);
    for (size_t i = 1; i < n; i++)
        assert_true(g[i].x >= g[i - 1].x);
    text_layout_free(l);
}

/* A right-to-left paragraph holding Latin and digits: they read left to right, left of the Arabic. */
static void test_mixed_rtl(void **state) {
    (void)state;
    const char *s = "مرحبا 123 abc"; /* مرحبا is 10 bytes */
    struct text_layout *l = lay(s, 0, 0, TEXT_START);
    assert_true(text_layout_rtl(l));
    int a = at_offset(l, 15)->x, b = at_offset(l, 16)->x, c = at_offset(l, 17)->x;
    int one = at_offset(l, 11)->x, three = at_offset(l, 13)->x, meem = at_offset(l, 0)->x;
    assert_true(a < b && b < c);
    assert_true(c < one && one < three && three < meem);
    text_layout_free(l);
}

static void test_wrap_at_spaces(void **state) {
    (void)state;
    const char *s = "Connected to Home-5G network";
    int max = width_of("Connected to") + 4;
    struct text_layout *l = lay(s, max, 0, TEXT_START);
    assert_true(lines_of(l) >= 2);
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    int w, h;
    text_layout_size(l, &w, &h);
    assert_true(w <= max);
    for (size_t i = 1; i < n; i++) {
        if (g[i].line == g[i - 1].line)
            continue;
        /* A new line starts a word (after a space or the hyphen of Home-5G), never inside one. */
        char before = s[g[i].offset - 1];
        assert_true(before == ' ' || before == '-');
        assert_true(s[g[i].offset] != ' ');
        assert_int_equal(g[i].x, 0);
    }
    /* Wider than everything: one line. */
    text_layout_free(l);
    l = lay(s, 1000, 0, TEXT_START);
    assert_int_equal(lines_of(l), 1);
    text_layout_free(l);
    /* Newlines always break. */
    l = lay("one\ntwo\r\nthree", 0, 0, TEXT_START);
    assert_int_equal(lines_of(l), 3);
    assert_int_equal(at_offset(l, 9)->line, 2);
    text_layout_free(l);
}

/* A word wider than the line is cut between graphemes, each line as full as it can be. */
static void test_wrap_long_word(void **state) {
    (void)state;
    struct text_layout *l = lay("Supercalifragilistic", 40, 0, TEXT_START);
    int w, h;
    text_layout_size(l, &w, &h);
    assert_true(w <= 40);
    assert_true(h / 24 >= 3);
    text_layout_free(l);
}

static void test_ellipsis(void **state) {
    (void)state;
    uint32_t dots = alone("…");
    const char *s = "Connected to Home-5G network";
    int max = width_of("Connected to Ho");
    struct text_layout *l = lay(s, max, 1, TEXT_START);
    assert_int_equal(lines_of(l), 1);
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    assert_int_equal(g[n - 1].id, dots);
    int w, h;
    text_layout_size(l, &w, &h);
    assert_true(w <= max);
    text_layout_free(l);

    /* Two lines: the second ends in the ellipsis, the first is whole words. */
    l = lay(s, width_of("Connected to"), 2, TEXT_START);
    assert_int_equal(lines_of(l), 2);
    n = glyphs(l, &g);
    assert_int_equal(g[n - 1].id, dots);
    assert_int_equal(g[n - 1].line, 1);
    text_layout_free(l);

    /* No ellipsis when everything fits in the lines allowed. */
    l = lay(s, 1000, 1, TEXT_START);
    n = glyphs(l, &g);
    assert_int_not_equal(g[n - 1].id, dots);
    text_layout_free(l);

    /* Lines beyond max_lines from newlines, without a width: the last line kept gets the ellipsis. */
    l = lay("one\ntwo\nthree", 0, 2, TEXT_START);
    assert_int_equal(lines_of(l), 2);
    n = glyphs(l, &g);
    assert_int_equal(g[n - 1].id, dots);
    text_layout_free(l);

    /* Right to left: the ellipsis at the left end, from a face that has one. */
    const char *ar = "مرحبا بالعالم مرحبا بالعالم";
    l = lay(ar, width_of("مرحبا بالعالم"), 1, TEXT_START);
    n = glyphs(l, &g);
    assert_int_equal(g[0].id, dots);
    assert_true(from_face(&g[0], "NotoSans-Regular"));
    for (size_t i = 1; i < n; i++)
        assert_true(g[i].x > g[0].x);
    text_layout_free(l);
}

static void test_max_lines(void **state) {
    (void)state;
    const char *s = "one two three four five six seven eight nine ten";
    int max = width_of("one two");
    for (unsigned k = 1; k <= 3; k++) {
        struct text_layout *l = lay(s, max, k, TEXT_START);
        assert_int_equal(lines_of(l), (int)k);
        text_layout_free(l);
    }
    struct text_layout *l = lay(s, max, 0, TEXT_START);
    assert_true(lines_of(l) > 3);
    text_layout_free(l);
}

static void test_alignment(void **state) {
    (void)state;
    int w = width_of("abc");
    struct text_layout *l = lay("abc", 200, 0, TEXT_START);
    assert_int_equal(at_offset(l, 0)->x, 0);
    text_layout_free(l);
    l = lay("abc", 200, 0, TEXT_CENTER);
    assert_int_equal(at_offset(l, 0)->x, (200 - w) / 2);
    text_layout_free(l);
    l = lay("abc", 200, 0, TEXT_END);
    assert_int_equal(at_offset(l, 0)->x, 200 - w);
    text_layout_free(l);

    /* Right to left, start is the right. */
    int hw = width_of("שלום");
    l = lay("שלום", 200, 0, TEXT_START);
    assert_int_equal(at_offset(l, 6)->x, 200 - hw);
    text_layout_free(l);
    l = lay("שלום", 200, 0, TEXT_END);
    assert_int_equal(at_offset(l, 6)->x, 0);
    text_layout_free(l);
    /* Each line on its own: a short last line sits at the paragraph's start side. */
    l = lay("שלום שלום שלום", hw + 4, 0, TEXT_START);
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    for (size_t i = 0; i < n; i++)
        assert_true(g[i].x >= 0 && g[i].x < hw + 4);
    assert_int_equal(at_offset(l, 6)->x, hw + 4 - hw);
    text_layout_free(l);
}

static void test_icon_ligature(void **state) {
    (void)state;
    struct text_style icon = {.size = 24, .line_height = 24, .icon = true};
    struct text_layout *l = text_layout("home", 4, &icon, 0, 0, TEXT_START);
    assert_non_null(l);
    const struct text_glyph *g;
    assert_int_equal(glyphs(l, &g), 1);
    assert_true(from_face(&g[0], "MaterialIcons-Regular"));
    int w, h;
    text_layout_size(l, &w, &h);
    assert_int_equal(w, 24);
    assert_int_equal(h, 24);
    text_layout_free(l);
}

static double now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (double)t.tv_sec * 1e6 + (double)t.tv_nsec / 1e3;
}

/* The same request gives the same shared layout, which outlives its eviction while someone holds it. */
static void test_cache(void **state) {
    (void)state;
    struct text_layout *a = lay("Wi-Fi", 0, 1, TEXT_START), *b = lay("Wi-Fi", 0, 1, TEXT_START);
    assert_ptr_equal(a, b);
    struct text_layout *c = lay("Wi-Fi", 100, 1, TEXT_START);
    assert_ptr_not_equal(a, c);
    struct text_style bold = body;
    bold.weight = FONT_BOLD;
    struct text_layout *d = text_layout("Wi-Fi", 5, &bold, 0, 1, TEXT_START);
    assert_ptr_not_equal(a, d);
    text_layout_free(b);
    text_layout_free(c);
    text_layout_free(d);
    /* Push it out with many others; the caller's reference keeps it alive and whole. */
    char buf[32];
    for (int i = 0; i < 2000; i++) {
        snprintf(buf, sizeof buf, "row %d", i);
        text_layout_free(lay(buf, 0, 1, TEXT_START));
    }
    struct text_layout *e = lay("Wi-Fi", 0, 1, TEXT_START);
    assert_ptr_not_equal(a, e);
    const struct text_glyph *ga, *ge;
    assert_int_equal(glyphs(a, &ga), glyphs(e, &ge));
    assert_memory_equal(ga, ge, 5 * sizeof *ga);
    text_layout_free(a);
    text_layout_free(e);
}

/* What a list row costs: shaping on a miss, a lookup on a hit, and drawing. Printed for the record. */
static void test_timings(void **state) {
    (void)state;
    const char *rows[] = {"Wi-Fi", "Connected to Home-5G"};
    char buf[64];
    enum { N = 500 };
    static uint32_t px[360 * 40];
    struct surface s = surface_wrap(px, 360, 40, 360);
    for (size_t k = 0; k < 2; k++) {
        double t0 = now_us();
        for (int i = 0; i < N; i++) {
            snprintf(buf, sizeof buf, "%s %d", rows[k], i); /* new text each time: a miss */
            text_layout_free(lay(buf, 300, 1, TEXT_START));
        }
        double t1 = now_us();
        for (int i = 0; i < N; i++)
            text_layout_free(lay(rows[k], 300, 1, TEXT_START));
        double t2 = now_us();
        struct text_layout *l = lay(rows[k], 300, 1, TEXT_START);
        for (int i = 0; i < N; i++)
            text_layout_draw(l, &s, 8, 8, 0xff1b1c1f);
        double t3 = now_us();
        text_layout_free(l);
        double miss = (t1 - t0) / N, hit = (t2 - t1) / N, draw = (t3 - t2) / N;
        print_message("\"%s\": layout %.2f us on a miss, %.3f us on a hit; draw %.2f us\n", rows[k], miss, hit, draw);
        assert_true(hit * 5 < miss);
    }
}

/* Every offset's caret maps back to it, in either direction; points past the ends give the ends. */
static void round_trip(const char *s, bool rtl) {
    struct text_layout *l = lay(s, 0, 1, TEXT_START);
    size_t len = strlen(s);
    int w, h;
    text_layout_size(l, &w, &h);
    for (size_t o = 0; o <= len; o++) {
        if ((s[o] & 0xC0) == 0x80)
            continue;
        struct rect c = text_layout_caret(l, o);
        assert_int_equal(c.h, 24);
        assert_true(c.x >= 0 && c.x <= w);
        assert_int_equal(text_layout_hit(l, c.x, 5), o);
    }
    assert_int_equal(text_layout_hit(l, -50, 5), rtl ? len : 0);
    assert_int_equal(text_layout_hit(l, w + 50, 5), rtl ? 0 : len);
    assert_int_equal(text_layout_caret(l, len).x, rtl ? 0 : w);
    assert_int_equal(text_layout_caret(l, 0).x, rtl ? w : 0);
    text_layout_free(l);
}

static void test_caret_hit(void **state) {
    (void)state;
    round_trip("Wi-Fi Home", false);
    round_trip("שלום עולם", true);
    round_trip("مرحبا", true);
    round_trip("office", false); /* ffi is one ligature glyph: its three letters share its width */
    /* A grapheme is one stop: the caret never stands inside क्ष. */
    struct text_layout *l = lay("क्षa", 0, 1, TEXT_START);
    int x0 = text_layout_caret(l, 0).x, xa = text_layout_caret(l, 9).x;
    assert_int_equal(text_layout_caret(l, 3).x, x0);
    for (int x = x0; x < xa; x++) {
        size_t o = text_layout_hit(l, x, 0);
        assert_true(o == 0 || o == 9);
    }
    text_layout_free(l);
    /* Mixed: each offset's caret is on the character after it (logical order within a run). */
    l = lay("ab שלום cd", 0, 1, TEXT_START);
    assert_int_equal(text_layout_caret(l, 3).x, at_offset(l, 3)->x + width_of("ש"));
    assert_int_equal(text_layout_caret(l, 12).x, at_offset(l, 12)->x);
    text_layout_free(l);
    /* Empty text: a caret at the start, a line high. */
    l = lay("", 0, 1, TEXT_START);
    struct rect c = text_layout_caret(l, 0);
    assert_int_equal(c.x, 0);
    assert_int_equal(c.h, 24);
    assert_int_equal(text_layout_hit(l, 30, 5), 0);
    text_layout_free(l);
}

/* Invalid UTF-8 shows as U+FFFD, one for each maximal invalid sequence; the valid text around it is kept. */
static void test_invalid_utf8(void **state) {
    (void)state;
    uint32_t fffd = alone("\xEF\xBF\xBD"), a = alone("a"), z = alone("z");
    struct {
        const char *s;
        size_t replacements;
    } cases[] = {
        {"a\xFFz", 1},             /* a byte that is never UTF-8 */
        {"a\xC0\xAFz", 2},         /* an overlong '/' */
        {"a\xED\xA0\x80z", 3},     /* a surrogate */
        {"a\xE2\x82z", 1},         /* cut short */
        {"a\xF4\x90\x80\x80z", 4}, /* past U+10FFFF */
        {"a\x80\x80z", 2},         /* continuation bytes alone */
    };
    for (size_t k = 0; k < sizeof cases / sizeof *cases; k++) {
        struct text_layout *l = lay(cases[k].s, 0, 0, TEXT_START);
        const struct text_glyph *g;
        size_t n = glyphs(l, &g);
        assert_int_equal(n, cases[k].replacements + 2);
        assert_int_equal(g[0].id, a);
        assert_int_equal(g[n - 1].id, z);
        assert_int_equal(g[n - 1].offset, strlen(cases[k].s) - 1);
        for (size_t i = 1; i + 1 < n; i++)
            assert_int_equal(g[i].id, fffd);
        text_layout_free(l);
    }
    /* A NUL inside is a character like any other, and a string cut inside a character still lays out. */
    struct text_layout *l = text_layout("a\0b\xE0", 4, &body, 0, 0, TEXT_START);
    assert_non_null(l);
    text_layout_free(l);
}

/* Megabytes of text: laid out up to the cap, quickly, not cached. */
static void test_long_text(void **state) {
    (void)state;
    size_t len = 1 << 20;
    char *s = malloc(len);
    assert_non_null(s);
    for (size_t i = 0; i < len; i++)
        s[i] = i % 7 == 6 ? ' ' : 'a' + (char)(i % 7);
    memcpy(s + 65534, "€", 3); /* a character straddling the cap is dropped whole */
    struct text_layout *l = text_layout(s, len, &body, 300, 0, TEXT_START);
    assert_non_null(l);
    const struct text_glyph *g;
    size_t n = glyphs(l, &g);
    assert_true(n > 50000 && n <= 64 * 1024);
    assert_true(g[n - 1].offset < 65534);
    struct text_layout *again = text_layout(s, len, &body, 300, 0, TEXT_START);
    assert_ptr_not_equal(l, again);
    text_layout_free(again);
    text_layout_free(l);
    l = text_layout(s, len, &body, 300, 3, TEXT_START);
    assert_int_equal(lines_of(l), 3);
    text_layout_free(l);
    free(s);
}

/* Whatever the numbers, a layout comes back, sized within the clamps (em 1..256 px, line 0..1024 px). */
static void test_extremes(void **state) {
    (void)state;
    struct text_style styles[] = {
        {.size = 0, .line_height = -1},
        {.size = -5},
        {.size = 100000, .line_height = INT32_MAX},
        {.size = 17},
    };
    int widths[] = {-1, 0, 1, INT32_MAX};
    for (size_t i = 0; i < sizeof styles / sizeof *styles; i++)
        for (size_t k = 0; k < sizeof widths / sizeof *widths; k++) {
            struct text_layout *l = text_layout("Wi-Fi مرحبا", 16, &styles[i], widths[k], 2, TEXT_CENTER);
            assert_non_null(l);
            int w, h;
            text_layout_size(l, &w, &h);
            assert_true(w >= 0 && w < 20000 && h > 0 && h <= 2 * 1024);
            text_layout_free(l);
        }
    struct text_layout *l = text_layout(NULL, 0, &body, 0, 0, TEXT_START);
    assert_non_null(l);
    int w, h;
    text_layout_size(l, &w, &h);
    assert_int_equal(w, 0);
    assert_int_equal(h, 24);
    text_layout_free(l);
    text_layout_free(NULL);
}

/* ---- pixels ---- */

#define W 240
#define H 80
#define WHITE 0xFFFFFFFFu

static uint32_t pixels[W * H];

static struct surface blank(void) {
    for (size_t i = 0; i < W * H; i++)
        pixels[i] = WHITE;
    return surface_wrap(pixels, W, H, W);
}

/* Text draws inside its box, blending its colour over what was there; no pixel changes outside. */
static void test_draw_in_box(void **state) {
    (void)state;
    const char *samples[] = {"Wi-Fi Home", "שלום", "مرحبا", "สวัสดีครับ", "नमस्ते"};
    for (size_t k = 0; k < sizeof samples / sizeof *samples; k++) {
        struct surface s = blank();
        struct text_layout *l = lay(samples[k], 0, 1, TEXT_START);
        int w, h, x = 30, y = 20, inked = 0;
        text_layout_size(l, &w, &h);
        text_layout_draw(l, &s, x, y, 0xFFFF0000);
        for (int py = 0; py < H; py++)
            for (int px = 0; px < W; px++) {
                uint32_t p = pixels[py * W + px];
                if ((p & 0xFFFFFF) == 0xFFFFFF)
                    continue;
                inked++;
                assert_true(px >= x && px < x + w + 1 && py >= y && py < y + h);
                /* Red over white: red stays full, green and blue fall together. */
                assert_int_equal((p >> 16) & 0xFF, 0xFF);
                assert_int_equal((p >> 8) & 0xFF, p & 0xFF);
            }
        assert_true(inked > 20);
        text_layout_free(l);
    }
}

/* Fully covered pixels are exactly the colour; nothing is drawn outside the clip. */
static void test_draw_colour_and_clip(void **state) {
    (void)state;
    struct surface s = blank();
    struct text_style big = {.size = 40, .weight = FONT_BOLD, .line_height = 48};
    struct text_layout *l = text_layout("Hi", 2, &big, 0, 1, TEXT_START);
    assert_non_null(l);
    text_layout_draw(l, &s, 10, 10, 0xFF2F5FD0);
    int exact = 0;
    for (size_t i = 0; i < W * H; i++)
        exact += (pixels[i] & 0xFFFFFF) == 0x2F5FD0;
    assert_true(exact > 50);

    s = blank();
    s.clip = (struct rect){10, 10, 15, 20};
    text_layout_draw(l, &s, 10, 10, 0xFF2F5FD0);
    for (int py = 0; py < H; py++)
        for (int px = 0; px < W; px++)
            if (px < 10 || px >= 25 || py < 10 || py >= 30)
                assert_int_equal(pixels[py * W + px], WHITE);
    text_layout_free(l);
}

static long ink(enum font_weight weight) {
    struct surface s = blank();
    struct text_style st = {.size = 17, .weight = weight, .line_height = 24};
    struct text_layout *l = text_layout("Settings", 8, &st, 0, 1, TEXT_START);
    assert_non_null(l);
    text_layout_draw(l, &s, 4, 4, 0xFF000000);
    text_layout_free(l);
    long sum = 0;
    for (size_t i = 0; i < W * H; i++)
        sum += 255 - (long)(pixels[i] & 0xFF);
    return sum;
}

/* Medium sits between Regular and Bold; Light is Regular (no lighter face); the same text draws the same bytes. */
static void test_weights(void **state) {
    (void)state;
    long regular = ink(FONT_REGULAR), medium = ink(FONT_MEDIUM), bold = ink(FONT_BOLD), light = ink(FONT_LIGHT);
    assert_true(regular < medium && medium < bold);
    assert_int_equal(light, regular);
    assert_int_equal(ink(FONT_MEDIUM), medium);
}

/* The five scripts, the weights, an icon, a wrapped paragraph with an ellipsis: what text looks like, pixel for pixel.
 */
static void test_golden_sampler(void **state) {
    (void)state;
    enum { SW = 360, SH = 330 };
    static uint32_t px[SW * SH];
    for (size_t i = 0; i < SW * SH; i++)
        px[i] = 0xFFFAFAFC;
    struct surface s = surface_wrap(px, SW, SH, SW);
    struct {
        const char *text;
        struct text_style style;
        int max_width;
        unsigned max_lines;
        enum text_align align;
    } rows[] = {
        {"Settings", {.size = 22, .weight = FONT_BOLD, .line_height = 28}, 0, 1, TEXT_START},
        {"Wi-Fi · Connected to Home-5G", {.size = 17, .weight = FONT_MEDIUM, .line_height = 24}, 0, 1, TEXT_START},
        {"Ελληνικά, Кириллица, Latin", body, 0, 1, TEXT_START},
        {"مرحبا بالعالم (123)", body, 340, 1, TEXT_START},
        {"שלום עולם, Slate 4", body, 340, 1, TEXT_START},
        {"नमस्ते दुनिया, क्षत्रिय", body, 0, 1, TEXT_START},
        {"สวัสดีครับ ภาษาไทย", body, 0, 1, TEXT_START},
        {"home settings wifi", {.size = 24, .line_height = 24, .icon = true}, 0, 1, TEXT_START},
        {"A longer paragraph wraps at spaces and ends with an ellipsis when it runs out of lines, as this one does.",
         {.size = 14, .weight = FONT_REGULAR, .line_height = 20},
         340,
         2,
         TEXT_CENTER},
    };
    int y = 10;
    for (size_t i = 0; i < sizeof rows / sizeof *rows; i++) {
        const char *t = rows[i].text;
        /* The icon font draws one name a layout: the three names side by side. */
        for (int x = 10; *t; x += 32) {
            size_t len = rows[i].style.icon ? strcspn(t, " ") : strlen(t);
            struct text_layout *l =
                text_layout(t, len, &rows[i].style, rows[i].max_width, rows[i].max_lines, rows[i].align);
            assert_non_null(l);
            text_layout_draw(l, &s, x, y, 0xFF1B1C1F);
            int w, h;
            text_layout_size(l, &w, &h);
            text_layout_free(l);
            t += len + (t[len] == ' ');
            if (!*t)
                y += h + 8;
        }
    }
    golden_check(&s, "text-sampler");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_files_and_init), cmocka_unit_test(test_arabic_joins),
        cmocka_unit_test(test_hebrew_rtl),     cmocka_unit_test(test_devanagari),
        cmocka_unit_test(test_thai_marks),     cmocka_unit_test(test_thai_word_breaks),
        cmocka_unit_test(test_mixed_ltr),      cmocka_unit_test(test_mixed_rtl),
        cmocka_unit_test(test_wrap_at_spaces), cmocka_unit_test(test_wrap_long_word),
        cmocka_unit_test(test_ellipsis),       cmocka_unit_test(test_max_lines),
        cmocka_unit_test(test_alignment),      cmocka_unit_test(test_icon_ligature),
        cmocka_unit_test(test_cache),          cmocka_unit_test(test_timings),
        cmocka_unit_test(test_caret_hit),      cmocka_unit_test(test_invalid_utf8),
        cmocka_unit_test(test_long_text),      cmocka_unit_test(test_extremes),
        cmocka_unit_test(test_draw_in_box),    cmocka_unit_test(test_draw_colour_and_clip),
        cmocka_unit_test(test_weights),        cmocka_unit_test(test_golden_sampler),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
