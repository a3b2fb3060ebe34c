/* test-paint.c: painting: exact blending, clipping of every call, rounded shapes, shadows, scrolling, images, and the golden sampler. */
#include <limits.h>
#include <math.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "golden.h"
#include "image-load.h"
#include "paint.h"

/* The exact results the fast paths must give: (x + 127) / 255 is x / 255 rounded. */
static unsigned ref_div255(unsigned x) {
    return (x + 127) / 255;
}

static uint32_t ref_blend(uint32_t d, uint32_t c, unsigned a) {
    uint32_t out = 0xFF000000u;
    for (int sh = 0; sh < 24; sh += 8) {
        unsigned dc = d >> sh & 0xFF, cc = c >> sh & 0xFF;
        out |= ref_div255(dc * (255 - a) + cc * a) << sh;
    }
    return out;
}

static uint32_t rnd_state = 12345;
static uint32_t rnd(void) {
    rnd_state = rnd_state * 1103515245u + 12345u;
    return rnd_state >> 8;
}

static void test_rects(void **state) {
    (void)state;
    struct rect r = rect_intersect((struct rect){0, 0, 10, 10}, (struct rect){5, -5, 10, 10});
    assert_true(r.x == 5 && r.y == 0 && r.w == 5 && r.h == 5);
    assert_true(rect_empty(rect_intersect((struct rect){0, 0, 10, 10}, (struct rect){10, 0, 5, 5})));
    assert_true(rect_empty(rect_intersect((struct rect){0, 0, 10, 10}, (struct rect){2, 2, -5, 5})));
    /* x + w beyond INT_MAX must not wrap into a small or negative rectangle. */
    r = rect_intersect((struct rect){INT_MAX - 5, 0, INT_MAX, 10}, (struct rect){0, 0, INT_MAX, 10});
    assert_true(r.x == INT_MAX - 5 && r.w == 5);
    r = rect_intersect((struct rect){INT_MIN, INT_MIN, INT_MAX, INT_MAX}, (struct rect){-10, -10, 20, 20});
    assert_true(r.x == -10 && r.y == -10 && r.w == 9 && r.h == 9);

    r = rect_union((struct rect){0, 0, 10, 10}, (struct rect){20, 5, 5, 10});
    assert_true(r.x == 0 && r.y == 0 && r.w == 25 && r.h == 15);
    r = rect_union((struct rect){0, 0, 0, 0}, (struct rect){3, 4, 5, 6});
    assert_true(r.x == 3 && r.y == 4 && r.w == 5 && r.h == 6);
    r = rect_union((struct rect){3, 4, 5, 6}, (struct rect){100, 100, -1, 5});
    assert_true(r.x == 3 && r.y == 4 && r.w == 5 && r.h == 6);
    r = rect_union((struct rect){INT_MIN, 0, 10, 1}, (struct rect){INT_MAX - 10, 0, 10, 1});
    assert_true(r.x == INT_MIN && r.w == INT_MAX);
    struct surface s = surface_wrap(NULL, 7, 9, 8);
    assert_true(s.clip.x == 0 && s.clip.y == 0 && s.clip.w == 7 && s.clip.h == 9 && s.stride == 8);
}

static void test_fill_exact(void **state) {
    (void)state;
    uint32_t px[37 * 3];
    struct surface s = surface_wrap(px, 37, 3, 37);
    for (unsigned a = 0; a < 256; a += 5) {
        uint32_t c = rnd() & 0xFFFFFF;
        for (size_t i = 0; i < 37 * 3; i++)
            px[i] = rnd() | 0xFF000000u;
        uint32_t before[37 * 3];
        memcpy(before, px, sizeof px);
        paint_fill(&s, (struct rect){0, 0, 37, 3}, a << 24 | c);
        for (size_t i = 0; i < 37 * 3; i++)
            assert_int_equal(px[i], a == 0 ? before[i] : ref_blend(before[i], c, a));
    }
}

/* Every width (vector steps of 8 and 4 and the last pixels), coverage and colour alpha against the formula. */
static void test_mask_exact(void **state) {
    (void)state;
    uint32_t px[48];
    uint8_t m[64];
    for (int w = 1; w <= 40; w++)
        for (int run = 0; run < 40; run++) {
            unsigned ca = run < 10 ? 255 : run < 20 ? 0x80 : rnd() & 0xFF;
            uint32_t c = ca << 24 | (rnd() & 0xFFFFFF);
            for (int i = 0; i < 64; i++) {
                unsigned kind = rnd() % 4;
                m[i] = kind == 0 ? 0 : kind == 1 ? 255 : (uint8_t)rnd();
            }
            if (run % 7 == 0)
                memset(m, 0, 16); /* whole empty and full steps */
            if (run % 7 == 1)
                memset(m, 255, 16);
            for (int i = 0; i < 48; i++)
                px[i] = rnd() | 0xFF000000u;
            uint32_t before[48];
            memcpy(before, px, sizeof px);
            struct surface s = surface_wrap(px, 48, 1, 48);
            paint_mask(&s, 3, 0, m, w, 1, w, c);
            for (int i = 0; i < 48; i++) {
                uint32_t want = before[i];
                if (i >= 3 && i < 3 + w && ca) {
                    unsigned a = ref_div255(m[i - 3] * ca);
                    want = ref_blend(before[i], c & 0xFFFFFF, a);
                }
                assert_int_equal(px[i], want);
            }
        }
}

/*
 * Clipping: a surface inside a larger buffer (guard rows and columns around
 * it, a stride wider than it), filled with a sentinel whose X byte no call
 * writes. After every call, with every clip, nothing outside clip and surface
 * has changed.
 */
#define SW 40
#define SH 30
#define STRIDE 48
#define GUARD 4
#define SENTINEL 0x12345678u

static uint32_t canvas[(SH + 2 * GUARD) * STRIDE];

static struct surface canvas_surface(struct rect clip) {
    for (size_t i = 0; i < sizeof canvas / sizeof *canvas; i++)
        canvas[i] = SENTINEL;
    struct surface s = surface_wrap(canvas + GUARD * STRIDE + GUARD, SW, SH, STRIDE);
    s.clip = clip;
    return s;
}

/* How many pixels changed; fails if one outside the clip (and the surface) did. */
static int canvas_check(const struct surface *s, const char *what) {
    struct rect allowed = rect_intersect(s->clip, (struct rect){0, 0, SW, SH});
    int changed = 0;
    for (int by = 0; by < SH + 2 * GUARD; by++)
        for (int bx = 0; bx < STRIDE; bx++) {
            if (canvas[by * STRIDE + bx] == SENTINEL)
                continue;
            int x = bx - GUARD, y = by - GUARD;
            bool inside = x >= allowed.x && x < allowed.x + allowed.w && y >= allowed.y && y < allowed.y + allowed.h;
            if (!inside)
                fail_msg("%s: pixel %d,%d changed outside clip %d,%d %dx%d", what, x, y, s->clip.x, s->clip.y,
                         s->clip.w, s->clip.h);
            changed++;
        }
    return changed;
}

static const struct rect clip_rects[] = {
    {5, 4, 20, 15}, {0, 0, SW, SH}, {-10, -10, 100, 100}, {30, 20, 50, 50}, {-5, 3, 8, 2}, {10, 10, 0, 0},
};

static const struct rect shape_rects[] = {
    {-5, -5, 20, 20},
    {30, 20, 100, 100},
    {INT_MIN / 2, INT_MIN / 2, INT_MAX, INT_MAX},
    {INT_MAX - 5, 0, INT_MAX, 10},
    {0, 0, INT_MAX, INT_MAX},
    {-1000000, 10, 2000000, 3},
    {INT_MIN, INT_MIN, INT_MAX, INT_MAX},
    {8, 6, 25, 18},
    {10, 10, 0, 5},
    {10, 10, -5, 5},
    {39, 29, 1, 1},
};

static const int radii[] = {0, 6, 1000, INT_MAX, -3};

static void test_clip_shapes(void **state) {
    (void)state;
    char what[128];
    for (size_t c = 0; c < sizeof clip_rects / sizeof *clip_rects; c++)
        for (size_t i = 0; i < sizeof shape_rects / sizeof *shape_rects; i++) {
            struct rect r = shape_rects[i];
            struct surface s = canvas_surface(clip_rects[c]);
            paint_fill(&s, r, 0xFF00FF00);
            snprintf(what, sizeof what, "fill %d,%d %dx%d", r.x, r.y, r.w, r.h);
            canvas_check(&s, what);
            for (size_t k = 0; k < sizeof radii / sizeof *radii; k++) {
                s = canvas_surface(clip_rects[c]);
                paint_rrect(&s, r, radii[k], 0xC0FF0000);
                snprintf(what, sizeof what, "rrect %d,%d %dx%d r%d", r.x, r.y, r.w, r.h, radii[k]);
                canvas_check(&s, what);
                static const int widths[] = {1, 3, INT_MAX, 0};
                for (size_t j = 0; j < 4; j++) {
                    s = canvas_surface(clip_rects[c]);
                    paint_rrect_stroke(&s, r, radii[k], widths[j], 0xFF0000FF);
                    snprintf(what, sizeof what, "stroke %d,%d %dx%d r%d w%d", r.x, r.y, r.w, r.h, radii[k],
                             widths[j]);
                    canvas_check(&s, what);
                }
                static const int blurs[] = {0, 4, 1000};
                static const int dys[] = {0, 3, -7, INT_MAX, INT_MIN};
                for (size_t j = 0; j < 3; j++)
                    for (size_t d = 0; d < 5; d++) {
                        s = canvas_surface(clip_rects[c]);
                        paint_shadow(&s, r, radii[k], blurs[j], dys[d], 0x80000000);
                        snprintf(what, sizeof what, "shadow %d,%d %dx%d r%d blur %d dy %d", r.x, r.y, r.w, r.h,
                                 radii[k], blurs[j], dys[d]);
                        canvas_check(&s, what);
                    }
            }
            s = canvas_surface(clip_rects[c]);
            paint_circle(&s, r.x, r.y, r.w, 0xFFFFFFFF);
            snprintf(what, sizeof what, "circle %d,%d r%d", r.x, r.y, r.w);
            canvas_check(&s, what);
        }
}

static void test_clip_mask_image_scroll(void **state) {
    (void)state;
    static uint8_t mask[64 * 64];
    for (size_t i = 0; i < sizeof mask; i++)
        mask[i] = (uint8_t)(i * 37);
    struct image *img = image_new(16, 12);
    assert_non_null(img);
    for (int i = 0; i < 16 * 12; i++)
        img->px[i] = 0x80402010;
    static const struct rect srcs[] = {{0, 0, 16, 12}, {-4, -4, 30, 30}, {4, 3, 5, 5}, {20, 0, 5, 5},
                                       {INT_MIN, INT_MIN, INT_MAX, INT_MAX}};
    char what[128];
    for (size_t c = 0; c < sizeof clip_rects / sizeof *clip_rects; c++) {
        static const int pos[][2] = {{-20, -20}, {-3, 5}, {10, 10}, {30, 25}, {39, 29}, {-64, 0}, {INT_MIN, 0}};
        for (size_t p = 0; p < sizeof pos / sizeof *pos; p++) {
            struct surface s = canvas_surface(clip_rects[c]);
            paint_mask(&s, pos[p][0], pos[p][1], mask, 64, 64, 64, 0xFF101010);
            snprintf(what, sizeof what, "mask at %d,%d", pos[p][0], pos[p][1]);
            canvas_check(&s, what);
        }
        for (size_t i = 0; i < sizeof shape_rects / sizeof *shape_rects; i++)
            for (size_t j = 0; j < sizeof srcs / sizeof *srcs; j++)
                for (int radius = 0; radius <= 8; radius += 8) {
                    struct surface s = canvas_surface(clip_rects[c]);
                    struct rect r = shape_rects[i];
                    paint_image(&s, r, img, srcs[j], 200, radius);
                    snprintf(what, sizeof what, "image into %d,%d %dx%d from %d,%d %dx%d r%d", r.x, r.y, r.w, r.h,
                             srcs[j].x, srcs[j].y, srcs[j].w, srcs[j].h, radius);
                    canvas_check(&s, what);
                }
        /* The same size as the image: the path without pixman. */
        for (size_t p = 0; p < sizeof pos / sizeof *pos; p++) {
            struct surface s = canvas_surface(clip_rects[c]);
            paint_image(&s, (struct rect){pos[p][0], pos[p][1], 16, 12}, img, (struct rect){0, 0, 16, 12}, 255, 4);
            canvas_check(&s, "image unscaled");
        }
        static const int dys[] = {1, -1, 5, -29, 29, 30, INT_MAX, INT_MIN};
        for (size_t i = 0; i < sizeof shape_rects / sizeof *shape_rects; i++)
            for (size_t d = 0; d < sizeof dys / sizeof *dys; d++) {
                struct surface s = canvas_surface(clip_rects[c]);
                for (int y = 0; y < SH; y++)
                    for (int x = 0; x < SW; x++)
                        s.px[y * STRIDE + x] = 0xFF000000u | (uint32_t)(y << 8 | x);
                struct surface full = s;
                full.clip = (struct rect){0, 0, SW, SH};
                paint_scroll(&s, shape_rects[i], dys[d]);
                /* Every pixel was rewritten: the check is that the guard is intact. */
                canvas_check(&full, "scroll");
            }
    }
    image_free(img);
}

static void test_scroll(void **state) {
    (void)state;
    struct surface s = canvas_surface((struct rect){0, 0, SW, SH});
    for (int dy = -3; dy <= 3; dy += 6) {
        for (int y = 0; y < SH; y++)
            for (int x = 0; x < SW; x++)
                s.px[y * STRIDE + x] = 0xFF000000u | (uint32_t)(y << 8 | x);
        struct rect area = {2, 5, 30, 20};
        s.clip = (struct rect){0, 0, SW, SH};
        paint_scroll(&s, area, dy);
        for (int y = 0; y < SH; y++)
            for (int x = 0; x < SW; x++) {
                uint32_t was = 0xFF000000u | (uint32_t)(y << 8 | x);
                bool in = x >= 2 && x < 32 && y >= 5 && y < 25;
                bool from_inside = y - dy >= 5 && y - dy < 25;
                uint32_t want = in && from_inside ? 0xFF000000u | (uint32_t)((y - dy) << 8 | x) : was;
                assert_int_equal(s.px[y * STRIDE + x], want);
            }
    }
    /* With a clip: only its rows and columns are written, from anywhere in the area. */
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++)
            s.px[y * STRIDE + x] = 0xFF000000u | (uint32_t)(y << 8 | x);
    s.clip = (struct rect){0, 10, 10, 5};
    paint_scroll(&s, (struct rect){0, 0, SW, SH}, 4);
    for (int y = 0; y < SH; y++)
        for (int x = 0; x < SW; x++) {
            bool in = x < 10 && y >= 10 && y < 15;
            assert_int_equal(s.px[y * STRIDE + x], 0xFF000000u | (uint32_t)((in ? y - 4 : y) << 8 | x));
        }
}

/* Coverage of a shape drawn white on black, in 1/255 pixel, per pixel. */
static uint8_t cov_at(const struct surface *s, int x, int y) {
    return (uint8_t)(s->px[y * s->stride + x] & 0xFF);
}

static double coverage_sum(const struct surface *s) {
    double sum = 0;
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++)
            sum += cov_at(s, x, y) / 255.0;
    return sum;
}

static struct surface black(uint32_t *px, int w, int h) {
    struct surface s = surface_wrap(px, w, h, w);
    paint_fill(&s, (struct rect){0, 0, w, h}, 0xFF000000);
    return s;
}

static void test_shapes(void **state) {
    (void)state;
    static uint32_t px[100 * 80];
    struct surface s = black(px, 100, 80);
    paint_rrect(&s, (struct rect){10, 10, 60, 40}, 0, 0xFFFFFFFF);
    assert_true(fabs(coverage_sum(&s) - 60 * 40) < 0.01);
    assert_int_equal(cov_at(&s, 9, 10), 0);
    assert_int_equal(cov_at(&s, 10, 10), 255);

    for (int r = 1; r <= 20; r += 3) {
        s = black(px, 100, 80);
        paint_rrect(&s, (struct rect){10, 10, 60, 40}, r, 0xFFFFFFFF);
        double want = 60 * 40 - (4 - M_PI) * r * r;
        assert_true(fabs(coverage_sum(&s) - want) < 0.02 * r + 0.5);
        assert_int_equal(cov_at(&s, 40, 30), 255);
        assert_int_equal(cov_at(&s, 10, 30), 255); /* the straight sides are whole pixels */
        assert_int_equal(cov_at(&s, 40, 10), 255);
        if (r >= 4)
            assert_true(cov_at(&s, 10, 10) < 40); /* the corner pixel is mostly outside */
        /* Symmetric left to right and top to bottom. */
        for (int y = 10; y < 50; y++)
            for (int x = 10; x < 70; x++) {
                assert_int_equal(cov_at(&s, x, y), cov_at(&s, 79 - x, y));
                assert_int_equal(cov_at(&s, x, y), cov_at(&s, x, 59 - y));
            }
    }

    for (int r = 1; r <= 35; r += 2) {
        s = black(px, 100, 80);
        paint_circle(&s, 50, 40, r, 0xFFFFFFFF);
        assert_true(fabs(coverage_sum(&s) - M_PI * r * r) < 0.02 * r + 0.2);
        assert_int_equal(cov_at(&s, 50, 40), r == 1 ? 200 : 255); /* a quarter of the unit disc: pi / 4 */
        assert_int_equal(cov_at(&s, 50 + r, 40), 0);
        assert_int_equal(cov_at(&s, 50 - r - 1, 40), 0);
    }

    /* A ring is the outer shape less the inner one: the middle is untouched, the sum is the difference. */
    s = black(px, 100, 80);
    paint_rrect_stroke(&s, (struct rect){10, 10, 60, 40}, 12, 3, 0xFFFFFFFF);
    double outer = 60 * 40 - (4 - M_PI) * 144, inner = 54 * 34 - (4 - M_PI) * 81;
    assert_true(fabs(coverage_sum(&s) - (outer - inner)) < 1.0);
    assert_int_equal(cov_at(&s, 40, 30), 0);
    assert_int_equal(cov_at(&s, 40, 10), 255);
    assert_int_equal(cov_at(&s, 40, 12), 255);
    assert_int_equal(cov_at(&s, 40, 13), 0);
    assert_int_equal(cov_at(&s, 12, 30), 255);
    assert_int_equal(cov_at(&s, 13, 30), 0);
    /* Wider than half the rectangle: all of it. */
    uint32_t px2[100 * 80];
    struct surface s2 = black(px2, 100, 80);
    s = black(px, 100, 80);
    paint_rrect_stroke(&s, (struct rect){10, 10, 60, 40}, 12, 20, 0xFFFFFFFF);
    paint_rrect(&s2, (struct rect){10, 10, 60, 40}, 12, 0xFFFFFFFF);
    assert_memory_equal(px, px2, sizeof px2);
}

static void test_shadow(void **state) {
    (void)state;
    static uint32_t px[300 * 120];
    struct surface s = surface_wrap(px, 300, 120, 300);
    paint_fill(&s, (struct rect){0, 0, 300, 120}, 0xFFFFFFFF);
    paint_shadow(&s, (struct rect){40, 30, 220, 50}, 8, 12, 4, 0xFF000000);
    /* Dark (dark = 255 - blue) inside, fading out, nothing far away; the middle stretch is even. */
    unsigned inside = 255 - (px[59 * 300 + 150] & 0xFF);
    assert_true(inside > 240);
    assert_int_equal(px[5 * 300 + 150] & 0xFFFFFF, 0xFFFFFF);
    assert_int_equal(px[59 * 300 + 5] & 0xFFFFFF, 0xFFFFFF);
    for (int x = 80; x < 220; x++)
        for (int y = 0; y < 120; y++)
            assert_int_equal(px[y * 300 + x], px[y * 300 + 80]);
    /* Falls off monotonically below the shape (moved down by 4) and is symmetric about its middle. */
    for (int y = 60; y < 119; y++)
        assert_true((px[y * 300 + 150] & 0xFF) <= (px[(y + 1) * 300 + 150] & 0xFF));
    for (int y = 0; y < 120; y++)
        for (int x = 0; x < 300; x++)
            assert_int_equal(px[y * 300 + x], px[y * 300 + 299 - x]);

    /* The nine-patch gives what a shape too small for it gives: a wide shadow's left end is a narrow one's. */
    static uint32_t px2[300 * 120];
    struct surface s2 = surface_wrap(px2, 300, 120, 300);
    paint_fill(&s2, (struct rect){0, 0, 300, 120}, 0xFFFFFFFF);
    paint_shadow(&s2, (struct rect){40, 30, 60, 50}, 8, 12, 4, 0xFF000000);
    for (int y = 0; y < 120; y++)
        for (int x = 0; x < 60; x++)
            assert_int_equal(px[y * 300 + x], px2[y * 300 + x]);
}

static void test_image_unscaled(void **state) {
    (void)state;
    struct image *img = image_new(4, 2);
    assert_non_null(img);
    img->px[0] = 0xFF102030;               /* opaque */
    img->px[1] = 0x80402010;               /* half: premultiplied */
    img->px[2] = 0x00000000;               /* transparent */
    img->px[3] = 0x40404040;               /* premultiplied white at a quarter */
    uint32_t px[6 * 4];
    struct surface s = surface_wrap(px, 6, 4, 6);
    paint_fill(&s, (struct rect){0, 0, 6, 4}, 0xFF808080);
    paint_image(&s, (struct rect){1, 1, 4, 2}, img, (struct rect){0, 0, 4, 2}, 255, 0);
    assert_int_equal(px[1 * 6 + 1], 0xFF102030);
    assert_int_equal(px[1 * 6 + 2], 0xFF000000u | (0x40 + ref_div255(0x80 * 127)) << 16 |
                                         (0x20 + ref_div255(0x80 * 127)) << 8 | (0x10 + ref_div255(0x80 * 127)));
    assert_int_equal(px[1 * 6 + 3], 0xFF808080);
    unsigned v = 0x40 + ref_div255(0x80 * 191);
    assert_int_equal(px[1 * 6 + 4], 0xFF000000u | v << 16 | v << 8 | v);
    assert_int_equal(px[0], 0xFF808080);
    /* At half opacity an opaque pixel blends half way. */
    paint_image(&s, (struct rect){1, 1, 1, 1}, img, (struct rect){0, 0, 1, 1}, 128, 0);
    assert_int_equal(px[1 * 6 + 1], ref_blend(0xFF102030, 0x102030, 128));
    image_free(img);
    image_free(NULL);
    assert_null(image_new(0, 5));
    assert_null(image_new(5, -1));
    assert_null(image_new(100000, 100000));
}

static void test_image_scaled(void **state) {
    (void)state;
    /* A checkerboard shrunk four times is an even grey; enlarged it stays between its two colours. */
    struct image *img = image_new(64, 64);
    assert_non_null(img);
    img->opaque = true;
    for (int y = 0; y < 64; y++)
        for (int x = 0; x < 64; x++)
            img->px[y * 64 + x] = (x + y) % 2 ? 0xFFFFFFFF : 0xFF000000;
    uint32_t px[32 * 32];
    struct surface s = surface_wrap(px, 32, 32, 32);
    paint_fill(&s, (struct rect){0, 0, 32, 32}, 0xFFFF0000);
    paint_image(&s, (struct rect){8, 8, 16, 16}, img, (struct rect){0, 0, 64, 64}, 255, 0);
    for (int y = 8; y < 24; y++)
        for (int x = 8; x < 24; x++) {
            uint32_t p = px[y * 32 + x];
            assert_true((p & 0xFF) >= 120 && (p & 0xFF) <= 135);
            assert_true((p >> 16 & 0xFF) == (p & 0xFF)); /* grey: no red from around it */
        }
    assert_int_equal(px[7 * 32 + 8], 0xFFFF0000);
    assert_int_equal(px[24 * 32 + 8], 0xFFFF0000);

    struct image *two = image_new(2, 1);
    assert_non_null(two);
    two->opaque = true;
    two->px[0] = 0xFF000000;
    two->px[1] = 0xFFFFFFFF;
    paint_image(&s, (struct rect){0, 0, 32, 4}, two, (struct rect){0, 0, 2, 1}, 255, 0);
    for (int x = 1; x < 32; x++)
        assert_true((px[x] & 0xFF) >= (px[x - 1] & 0xFF)); /* a ramp, not two blocks */
    assert_true((px[0] & 0xFF) < 10 && (px[31] & 0xFF) > 245);
    assert_true((px[14] & 0xFF) > 20 && (px[14] & 0xFF) < 235);

    /* image_scale: the same filter into a new image. */
    struct image *small = image_scale(img, 16, 16);
    assert_non_null(small);
    assert_true(small->w == 16 && small->h == 16 && small->opaque);
    assert_true((small->px[5 * 16 + 5] & 0xFF) >= 120 && (small->px[5 * 16 + 5] & 0xFF) <= 135);
    image_free(small);
    assert_null(image_scale(img, 0, 5));

    /* Rounded corners: the corner pixel keeps the background, the middle is the image. */
    paint_fill(&s, (struct rect){0, 0, 32, 32}, 0xFFFF0000);
    paint_image(&s, (struct rect){0, 0, 32, 32}, img, (struct rect){0, 0, 64, 64}, 255, 10);
    assert_int_equal(px[0], 0xFFFF0000);
    assert_int_equal(px[31 * 32 + 31], 0xFFFF0000);
    assert_true((px[16 * 32 + 16] >> 16 & 0xFF) == (px[16 * 32 + 16] & 0xFF));
    image_free(two);
    image_free(img);
}

/* A picture made in code (no file): a colour wheel's gradients with a transparent hole. */
static struct image *sample_image(int w, int h) {
    struct image *img = image_new(w, h);
    assert_non_null(img);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            unsigned r = (unsigned)(x * 255 / (w - 1)), g = (unsigned)(y * 255 / (h - 1)), b = 255 - r / 2;
            int dx = x - w / 2, dy = y - h / 2;
            unsigned a = dx * dx + dy * dy < (w / 5) * (w / 5) ? 0x60 : 0xFF;
            img->px[y * w + x] = a << 24 | (r * a / 255) << 16 | (g * a / 255) << 8 | (b * a / 255);
        }
    return img;
}

static void test_golden_sampler(void **state) {
    (void)state;
    enum { W = 320, H = 240 };
    static uint32_t px[W * H];
    struct surface s = surface_wrap(px, W, H, W);
    paint_fill(&s, (struct rect){0, 0, W, H}, 0xFFF4F1EC);
    paint_fill(&s, (struct rect){0, 0, W, 28}, 0xFF3A5A8C);
    paint_fill(&s, (struct rect){10, 20, 100, 20}, 0x80FFCC00);

    /* A card with its shadow, a pill, an outline, a ring, circles. */
    paint_shadow(&s, (struct rect){12, 44, 140, 80}, 12, 16, 4, 0x60000000);
    paint_rrect(&s, (struct rect){12, 44, 140, 80}, 12, 0xFFFFFFFF);
    paint_rrect(&s, (struct rect){22, 54, 80, 24}, 12, 0xFF2E7D32);
    paint_rrect_stroke(&s, (struct rect){22, 86, 120, 28}, 6, 2, 0xFF5C6BC0);
    paint_rrect_stroke(&s, (struct rect){110, 52, 34, 34}, 17, 4, 0xC0E53935);
    paint_circle(&s, 190, 70, 20, 0xFF00897B);
    paint_circle(&s, 230, 70, 12, 0x80FF6F00);
    paint_circle(&s, 262, 70, 5, 0xFF000000);
    paint_circle(&s, 282, 70, 1, 0xFF000000);
    paint_shadow(&s, (struct rect){170, 100, 130, 30}, 4, 6, 2, 0x80000000);
    paint_rrect(&s, (struct rect){170, 100, 130, 30}, 4, 0xFFFAFAFA);

    /* Masks: a soft disc and stripes standing in for glyphs, opaque and translucent. */
    uint8_t mask[24 * 24];
    for (int y = 0; y < 24; y++)
        for (int x = 0; x < 24; x++) {
            int d = (x - 12) * (x - 12) + (y - 12) * (y - 12);
            mask[y * 24 + x] = (uint8_t)(d < 100 ? 255 : d < 144 ? (144 - d) * 255 / 44 : (x % 5 == 0) * 160);
        }
    paint_mask(&s, 176, 104, mask, 24, 24, 24, 0xFF1A237E);
    paint_mask(&s, 206, 104, mask, 24, 24, 24, 0x99C62828);
    paint_mask(&s, 236, 110, mask, 20, 16, 24, 0xFF000000);

    /* A picture shrunk, enlarged, at the same size, translucent and rounded. */
    struct image *img = sample_image(96, 64);
    paint_image(&s, (struct rect){12, 140, 48, 32}, img, (struct rect){0, 0, 96, 64}, 255, 0);
    paint_image(&s, (struct rect){70, 140, 120, 80}, img, (struct rect){24, 16, 48, 32}, 255, 10);
    paint_image(&s, (struct rect){200, 140, 96, 64}, img, (struct rect){0, 0, 96, 64}, 160, 8);
    paint_image(&s, (struct rect){12, 180, 30, 50}, img, (struct rect){0, 0, 96, 64}, 255, 0);
    image_free(img);

    /* Part of the last picture scrolled up (its bottom rows stay as they were), and a fill clipped. */
    paint_scroll(&s, (struct rect){250, 140, 50, 64}, -10);
    s.clip = (struct rect){250, 215, 30, 10};
    paint_fill(&s, (struct rect){240, 200, 100, 40}, 0xFF6A1B9A);
    golden_check(&s, "paint-sampler");
}

/* golden.c itself: a picture one pixel off its reference fails, naming the actual and the diff it wrote. */
static void test_golden_mismatch(void **state) {
    (void)state;
    uint32_t px[16 * 12];
    struct surface s = surface_wrap(px, 16, 12, 16);
    paint_fill(&s, (struct rect){0, 0, 16, 12}, 0xFF204080);
    paint_circle(&s, 8, 6, 5, 0xFFFFC000);
    golden_check(&s, "golden-selftest");
    const char *update = getenv("SLATE_GOLDEN_UPDATE");
    if (update && strcmp(update, "1") == 0)
        return; /* it would be written as the reference */
    px[3 * 16 + 5] ^= 0x00010000;
    px[11 * 16 + 15] = 0xFF000000;
    char msg[16384];
    assert_int_equal(golden_compare(&s, "golden-selftest", msg, sizeof msg), 2);
    assert_non_null(strstr(msg, "2 pixels differ"));
    assert_non_null(strstr(msg, "golden-out/golden-selftest.actual.png"));
    assert_non_null(strstr(msg, "golden-out/golden-selftest.diff.png"));
    struct surface other = surface_wrap(px, 12, 12, 16);
    assert_int_equal(golden_compare(&other, "golden-selftest", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "the picture is 12x12, the reference"));
    assert_int_equal(golden_compare(&s, "golden-no-such-reference", msg, sizeof msg), -1);
    assert_non_null(strstr(msg, "no reference"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_rects),
        cmocka_unit_test(test_fill_exact),
        cmocka_unit_test(test_mask_exact),
        cmocka_unit_test(test_clip_shapes),
        cmocka_unit_test(test_clip_mask_image_scroll),
        cmocka_unit_test(test_scroll),
        cmocka_unit_test(test_shapes),
        cmocka_unit_test(test_shadow),
        cmocka_unit_test(test_image_unscaled),
        cmocka_unit_test(test_image_scaled),
        cmocka_unit_test(test_golden_sampler),
        cmocka_unit_test(test_golden_mismatch),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
