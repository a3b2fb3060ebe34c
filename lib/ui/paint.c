/* paint.c: the fast paths of painting onto XRGB surfaces: fills, masks, rounded shapes, shadows, scrolling, images. */
#include "paint.h"

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/*
 * Blending works on a pixel spread over 64 bits, one channel per 16-bit lane
 * (B, R, G, X from the low lane up): one multiply scales all four channels,
 * and a lane holds any sum of two 8x8-bit products without carrying into the
 * next. Division by 255 is exact and rounded, (t + (t >> 8)) >> 8 with
 * t = x + 128, which is the same on every machine.
 */
#define LANES 0x00FF00FF00FF00FFull
#define LANES_HALF 0x0080008000800080ull

static inline uint64_t spread(uint32_t p) {
    return ((uint64_t)p | (uint64_t)p << 24) & LANES;
}

static inline uint32_t gather(uint64_t v) {
    return (uint32_t)((v & 0x00FF00FFu) | ((v >> 24) & 0xFF00FF00u));
}

/* Every lane of v (each at most 255 * 255 + 255 * 255 - 127 from the sums below) divided by 255, rounded. */
static inline uint64_t div255_lanes(uint64_t v) {
    v += LANES_HALF;
    return ((v + ((v >> 8) & LANES)) >> 8) & LANES;
}

static inline unsigned div255(unsigned x) {
    x += 128;
    return (x + (x >> 8)) >> 8;
}

/* An opaque pixel: the X byte is written as 0xFF, whatever the display's buffer held. */
#define OPAQUE 0xFF000000u

/* The colour c (non-premultiplied, alpha ignored) over d at alpha a (1-254); cs is spread(c) * a. */
static inline uint32_t blend(uint32_t d, uint64_t cs, unsigned a) {
    return gather(div255_lanes(spread(d) * (255 - a) + cs)) | OPAQUE;
}

struct rect rect_intersect(struct rect a, struct rect b) {
    /* In 64 bits: x + w of a huge rectangle must not wrap around. */
    int64_t x0 = a.x > b.x ? a.x : b.x, y0 = a.y > b.y ? a.y : b.y;
    int64_t ax1 = (int64_t)a.x + a.w, bx1 = (int64_t)b.x + b.w;
    int64_t ay1 = (int64_t)a.y + a.h, by1 = (int64_t)b.y + b.h;
    int64_t x1 = ax1 < bx1 ? ax1 : bx1, y1 = ay1 < by1 ? ay1 : by1;
    if (rect_empty(a) || rect_empty(b) || x1 <= x0 || y1 <= y0)
        return (struct rect){0, 0, 0, 0};
    return (struct rect){(int)x0, (int)y0, (int)(x1 - x0), (int)(y1 - y0)};
}

static int clamp_int(int64_t v) {
    return v > INT32_MAX ? INT32_MAX : v < INT32_MIN ? INT32_MIN : (int)v;
}

struct rect rect_union(struct rect a, struct rect b) {
    if (rect_empty(a))
        return rect_empty(b) ? (struct rect){0, 0, 0, 0} : b;
    if (rect_empty(b))
        return a;
    int64_t x0 = a.x < b.x ? a.x : b.x, y0 = a.y < b.y ? a.y : b.y;
    int64_t ax1 = (int64_t)a.x + a.w, bx1 = (int64_t)b.x + b.w;
    int64_t ay1 = (int64_t)a.y + a.h, by1 = (int64_t)b.y + b.h;
    int64_t x1 = ax1 > bx1 ? ax1 : bx1, y1 = ay1 > by1 ? ay1 : by1;
    return (struct rect){(int)x0, (int)y0, clamp_int(x1 - x0), clamp_int(y1 - y0)};
}

struct surface surface_wrap(uint32_t *px, int w, int h, int stride) {
    return (struct surface){px, w, h, stride, {0, 0, w, h}};
}

/* What a call may touch: its clip, inside the surface. */
static struct rect drawable(const struct surface *s) {
    return rect_intersect(s->clip, (struct rect){0, 0, s->w, s->h});
}

static inline uint32_t *row(const struct surface *s, int x, int y) {
    return s->px + (size_t)y * (size_t)s->stride + (size_t)x;
}

/* A span of n pixels at p in colour c at alpha a (1-255). */
static inline void span(uint32_t *p, int n, uint32_t c, unsigned a) {
    if (a == 255) {
        uint32_t v = c | OPAQUE;
        for (int i = 0; i < n; i++)
            p[i] = v;
        return;
    }
    uint64_t cs = spread(c) * a;
    for (int i = 0; i < n; i++)
        p[i] = blend(p[i], cs, a);
}

void paint_fill(struct surface *s, struct rect r, uint32_t argb) {
    unsigned a = argb >> 24;
    r = rect_intersect(r, drawable(s));
    if (rect_empty(r) || a == 0)
        return;
    for (int y = r.y; y < r.y + r.h; y++)
        span(row(s, r.x, y), r.w, argb, a);
}

/* One row of a mask in an opaque colour: coverage is the alpha. Runs of empty coverage are skipped 8 at a time. */
static void mask_row_opaque(uint32_t *p, const uint8_t *m, int n, uint32_t c) {
    uint64_t cs = spread(c);
    uint32_t v = c | OPAQUE;
    int i = 0;
    while (i < n) {
        uint64_t eight;
        if (i + 8 <= n && (memcpy(&eight, m + i, 8), eight == 0)) {
            i += 8;
            continue;
        }
        unsigned a = m[i];
        if (a == 255)
            p[i] = v;
        else if (a)
            p[i] = blend(p[i], cs * a, a);
        i++;
    }
}

/* One row of a mask in a translucent colour of alpha ca: coverage times ca is the alpha. */
static void mask_row(uint32_t *p, const uint8_t *m, int n, uint32_t c, unsigned ca) {
    uint64_t cs = spread(c);
    int i = 0;
    while (i < n) {
        uint64_t eight;
        if (i + 8 <= n && (memcpy(&eight, m + i, 8), eight == 0)) {
            i += 8;
            continue;
        }
        unsigned a = div255(m[i] * ca);
        if (a)
            p[i] = blend(p[i], cs * a, a);
        i++;
    }
}

void paint_mask(struct surface *s, int x, int y, const uint8_t *mask, int w, int h, int stride, uint32_t argb) {
    unsigned ca = argb >> 24;
    struct rect r = rect_intersect((struct rect){x, y, w, h}, drawable(s));
    if (rect_empty(r) || ca == 0)
        return;
    const uint8_t *m = mask + (size_t)(r.y - y) * (size_t)stride + (size_t)(r.x - x);
    for (int j = 0; j < r.h; j++, m += stride) {
        if (ca == 255)
            mask_row_opaque(row(s, r.x, r.y + j), m, r.w, argb);
        else
            mask_row(row(s, r.x, r.y + j), m, r.w, argb, ca);
    }
}
