/* paint.c: the fast paths of painting onto XRGB surfaces: fills, masks, rounded shapes, shadows, scrolling, images. */
#include "paint.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "image-dl.h"
#include "image-load.h"

/*
 * Blending spreads a pixel's channels over 16-bit lanes: one multiply scales
 * every channel, and a lane holds a sum of two 8x8-bit products without
 * carrying into the next. Division by 255 is exact and rounded,
 * (t + (t >> 8)) >> 8 with t = x + 128. The hot loops (masks, translucent
 * fills) use GCC/Clang vector types, which become SSE2 or NEON: the same
 * integer operations, so the same bytes, on every machine.
 */
_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__, "the vector mask blit widens bytes little-endian");

typedef uint64_t u64x2 __attribute__((vector_size(16)));
typedef uint32_t u32x4 __attribute__((vector_size(16)));
typedef uint16_t u16x8 __attribute__((vector_size(16)));
typedef uint8_t u8x16 __attribute__((vector_size(16)));

/* An opaque pixel: the X byte is written as 0xFF, whatever the display's buffer held. */
#define OPAQUE 0xFF000000u

/* In a uint64_t: B, R, G, X from the low lane up. */
#define LANES 0x00FF00FF00FF00FFull
#define LANES_HALF 0x0080008000800080ull

static inline uint64_t spread(uint32_t p) {
    return ((uint64_t)p | (uint64_t)p << 24) & LANES;
}

static inline uint32_t gather(uint64_t v) {
    return (uint32_t)((v & 0x00FF00FFu) | ((v >> 24) & 0xFF00FF00u));
}

/* Every lane (at most 255 * 255) divided by 255, rounded. */
static inline uint64_t div255_lanes(uint64_t v) {
    v += LANES_HALF;
    return ((v + ((v >> 8) & LANES)) >> 8) & LANES;
}

static inline unsigned div255(unsigned x) {
    x += 128;
    return (x + (x >> 8)) >> 8;
}

static inline u16x8 div255_vec(u16x8 x) {
    x += 128;
    return (x + (x >> 8)) >> 8;
}

/* The colour c (alpha ignored) over d at alpha a; cs is spread(c) * a. */
static inline uint32_t blend(uint32_t d, uint64_t cs, unsigned a) {
    return gather(div255_lanes(spread(d) * (255 - a) + cs)) | OPAQUE;
}

/* A colour ready for the vector blend: its red and blue, and its green (and alpha) lanes. */
struct vcolour {
    u16x8 rb, ag;
    u32x4 solid;
};

static inline struct vcolour vcolour(uint32_t c) {
    u32x4 v = {c, c, c, c};
    return (struct vcolour){(u16x8)(v & 0x00FF00FF), (u16x8)((v >> 8) & 0x00FF00FF), v | OPAQUE};
}

/* Four pixels at p under colour k at the alphas a (each pixel's alpha in both of its 16-bit lanes). */
static inline void blend4(uint32_t *p, const struct vcolour *k, u16x8 a) {
    u32x4 d;
    memcpy(&d, p, sizeof d);
    u16x8 ia = 255 - a;
    u16x8 rb = div255_vec((u16x8)(d & 0x00FF00FF) * ia + k->rb * a);
    u16x8 ag = div255_vec((u16x8)((d >> 8) & 0x00FF00FF) * ia + k->ag * a);
    d = (u32x4)rb | (u32x4)ag << 8 | OPAQUE;
    memcpy(p, &d, sizeof d);
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

static inline uint32_t *at(const struct surface *s, int x, int y) {
    return s->px + (size_t)y * (size_t)s->stride + (size_t)x;
}

/* n pixels at p in colour c at alpha a (1-255). */
static void span(uint32_t *p, int n, uint32_t c, unsigned a) {
    struct vcolour k = vcolour(c);
    int i = 0;
    if (a == 255) {
        /* Stored as vectors: at -O2 the compiler leaves a plain loop one pixel a store. */
        for (; i + 8 <= n; i += 8) {
            memcpy(p + i, &k.solid, sizeof k.solid);
            memcpy(p + i + 4, &k.solid, sizeof k.solid);
        }
        for (; i < n; i++)
            p[i] = c | OPAQUE;
        return;
    }
    /* One alpha for all: the colour's share, with the rounding, is the same for every pixel. */
    u16x8 ia = {0}, rb_c = k.rb * (uint16_t)a + 128, ag_c = k.ag * (uint16_t)a + 128;
    ia += (uint16_t)(255 - a);
    for (; i + 4 <= n; i += 4) {
        u32x4 d;
        memcpy(&d, p + i, sizeof d);
        u16x8 rb = (u16x8)(d & 0x00FF00FF) * ia + rb_c, ag = (u16x8)((d >> 8) & 0x00FF00FF) * ia + ag_c;
        rb = (rb + (rb >> 8)) >> 8;
        ag = (ag + (ag >> 8)) >> 8;
        d = (u32x4)rb | (u32x4)ag << 8 | OPAQUE;
        memcpy(p + i, &d, sizeof d);
    }
    uint64_t cs = spread(c) * a;
    for (; i < n; i++)
        p[i] = blend(p[i], cs, a);
}

void paint_fill(struct surface *s, struct rect r, uint32_t argb) {
    unsigned a = argb >> 24;
    r = rect_intersect(r, drawable(s));
    if (rect_empty(r) || a == 0)
        return;
    for (int y = r.y; y < r.y + r.h; y++)
        span(at(s, r.x, y), r.w, argb, a);
}

/* The coverage bytes (in memory order in m8) widened to 16 bits and scaled by the colour's alpha ca. */
static inline u16x8 widen(uint64_t m8, unsigned ca) {
    const u8x16 zero = {0};
    u16x8 w = (u16x8)__builtin_shufflevector((u8x16)(u64x2){m8, 0}, zero, 0, 16, 1, 17, 2, 18, 3, 19, 4, 20, 5, 21,
                                             6, 22, 7, 23);
    return ca == 255 ? w : div255_vec(w * (uint16_t)ca);
}

/*
 * One row of coverage m (n pixels) in colour k (c) of alpha ca: the glyph
 * blit. Eight pixels a step: eight empty bytes are skipped with one compare,
 * eight full ones of an opaque colour stored, the rest blended as vectors
 * with each alpha doubled (one per channel pair); then four, then one.
 */
static void mask_row(uint32_t *p, const uint8_t *m, int n, const struct vcolour *k, uint32_t c, unsigned ca) {
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        uint64_t eight;
        memcpy(&eight, m + i, 8);
        if (eight == 0)
            continue;
        if (eight == UINT64_MAX && ca == 255) {
            memcpy(p + i, &k->solid, sizeof k->solid);
            memcpy(p + i + 4, &k->solid, sizeof k->solid);
            continue;
        }
        u16x8 w = widen(eight, ca);
        blend4(p + i, k, __builtin_shufflevector(w, w, 0, 0, 1, 1, 2, 2, 3, 3));
        blend4(p + i + 4, k, __builtin_shufflevector(w, w, 4, 4, 5, 5, 6, 6, 7, 7));
    }
    if (i + 4 <= n) {
        uint32_t four;
        memcpy(&four, m + i, 4);
        if (four) {
            u16x8 w = widen(four, ca);
            blend4(p + i, k, __builtin_shufflevector(w, w, 0, 0, 1, 1, 2, 2, 3, 3));
        }
        i += 4;
    }
    /* Without a branch on the coverage: glyph edges are too irregular to predict, and alpha 0 keeps the pixel. */
    uint64_t cs = spread(c);
    for (; i < n; i++) {
        unsigned a = ca == 255 ? m[i] : div255(m[i] * ca);
        p[i] = blend(p[i], cs * a, a);
    }
}

void paint_mask(struct surface *s, int x, int y, const uint8_t *mask, int w, int h, int stride, uint32_t argb) {
    unsigned ca = argb >> 24;
    struct rect r = rect_intersect((struct rect){x, y, w, h}, drawable(s));
    if (rect_empty(r) || ca == 0)
        return;
    const uint8_t *m = mask + (ptrdiff_t)(r.y - y) * stride + (r.x - x);
    struct vcolour k = vcolour(argb);
    for (int j = 0; j < r.h; j++, m += stride)
        mask_row(at(s, r.x, r.y + j), m, r.w, &k, argb, ca);
}

/*
 * Rounded rectangles (and circles, and rings) are coverage computed row by
 * row: 16 sub-rows a pixel row, each cutting the shape in one span whose ends
 * are exact to 1/256 pixel horizontally (integer square roots), summed into a
 * difference array and integrated once. Only rows that cross a corner need it;
 * the rest, and the straight middle of the corner rows, are plain spans.
 */
#define SUBROWS 16
#define FULL (SUBROWS * 256) /* the coverage of a pixel inside */
/* Radii are clamped here: squaring them in 1/256 pixel must fit 64 bits. */
#define RADIUS_MAX (1 << 22)
/* Columns of coverage computed at a time (on the stack). */
#define CHUNK 256

struct rrect {
    int64_t x, y, w, h, r;
};

/* A ring: the outer rounded rectangle less the inner one (none when inner.w is 0). */
struct shape {
    struct rrect outer, inner;
};

static struct rrect rrect_make(int64_t x, int64_t y, int64_t w, int64_t h, int64_t r) {
    int64_t lim = (w < h ? w : h) / 2;
    if (r > lim)
        r = lim;
    if (r > RADIUS_MAX)
        r = RADIUS_MAX;
    return (struct rrect){x, y, w, h, r < 0 ? 0 : r};
}

/* The integer square root, digit by digit: no libm (slated's display paints without it), the same everywhere. */
static uint64_t isqrt(uint64_t n) {
    uint64_t r = 0, bit = 1ull << 62;
    while (bit > n)
        bit >>= 2;
    for (; bit; bit >>= 2) {
        if (n >= r + bit) {
            n -= r + bit;
            r = (r >> 1) + bit;
        } else {
            r >>= 1;
        }
    }
    return r;
}

/* How far in from its sides (1/256 pixel) the rounded rectangle is at height ys (1/256 pixel); -1 outside. */
static int64_t inset(const struct rrect *q, int64_t ys) {
    int64_t top = ys - q->y * 256, bottom = (q->y + q->h) * 256 - ys;
    if (top <= 0 || bottom <= 0)
        return -1;
    int64_t d = top < bottom ? top : bottom, r = q->r * 256;
    if (d >= r)
        return 0;
    int64_t v = r - d;
    return r - (int64_t)isqrt((uint64_t)(r * r - v * v));
}

/* Add v at the pixel holding position pos (1/256 pixel) of the n columns from c0; what is left of them counts at 0. */
static inline void diff_add(int32_t *diff, int64_t c0, int n, int64_t pos, int v) {
    int64_t i = (pos >> 8) - c0;
    int f = (int)(pos & 255);
    if (i < n)
        diff[i < 0 ? 0 : i] += v * (256 - f);
    if (i + 1 < n)
        diff[i + 1 < 0 ? 0 : i + 1] += v * f;
}

static void diff_span(int32_t *diff, int64_t c0, int n, const struct rrect *q, int64_t ys, int sign) {
    int64_t in = inset(q, ys);
    if (in < 0 || q->w <= 0)
        return;
    diff_add(diff, c0, n, q->x * 256 + in, sign);
    diff_add(diff, c0, n, (q->x + q->w) * 256 - in, -sign);
}

/* Coverage (0-255) of row y of the shape at columns c0..c0+n-1 (n at most CHUNK). */
static void coverage(const struct shape *sh, int64_t y, int64_t c0, int n, uint8_t *out) {
    int32_t diff[CHUNK + 1];
    memset(diff, 0, sizeof(int32_t) * (size_t)(n + 1));
    for (int k = 0; k < SUBROWS; k++) {
        int64_t ys = y * 256 + k * (256 / SUBROWS) + 256 / SUBROWS / 2;
        diff_span(diff, c0, n, &sh->outer, ys, 1);
        diff_span(diff, c0, n, &sh->inner, ys, -1);
    }
    int32_t sum = 0;
    for (int i = 0; i < n; i++) {
        sum += diff[i];
        int32_t v = sum < 0 ? 0 : sum > FULL ? FULL : sum;
        out[i] = (uint8_t)((v * 255 + FULL / 2) / FULL);
    }
}

/* Columns x0..x1-1 of row y by coverage, CHUNK at a time, inside the visible columns v0..v1-1. */
static void coverage_span(struct surface *s, const struct shape *sh, int y, int64_t x0, int64_t x1, int v0, int v1,
                          uint32_t c, unsigned ca) {
    uint8_t cov[CHUNK];
    struct vcolour k = vcolour(c);
    if (x0 < v0)
        x0 = v0;
    if (x1 > v1)
        x1 = v1;
    for (int64_t x = x0; x < x1; x += CHUNK) {
        int n = (int)(x1 - x < CHUNK ? x1 - x : CHUNK);
        coverage(sh, y, x, n, cov);
        mask_row(at(s, (int)x, y), cov, n, &k, c, ca);
    }
}

static void plain_span(struct surface *s, int y, int64_t x0, int64_t x1, int v0, int v1, uint32_t c, unsigned ca) {
    if (x0 < v0)
        x0 = v0;
    if (x1 > v1)
        x1 = v1;
    if (x1 > x0)
        span(at(s, (int)x0, y), (int)(x1 - x0), c, ca);
}

/*
 * A corner does not depend on where the shape is or how big: only on its
 * radius, and for a ring on its width too (the inner corner is concentric).
 * The common ones are kept: r rows of the left corner's r columns, each
 * followed by the same mirrored for the right. The bytes are those
 * coverage() gives, so painting with or without a table is the same picture.
 */
#define TABLE_RADIUS_MAX 64
#define TABLE_WIDTH_MAX 8 /* ring widths; 0 is a filled shape */

static _Atomic(uint8_t *) corner_tables[TABLE_RADIUS_MAX + 1][TABLE_WIDTH_MAX + 1];

static const uint8_t *corner_table(int r, int width) {
    uint8_t *t = atomic_load_explicit(&corner_tables[r][width], memory_order_acquire);
    if (t)
        return t;
    t = malloc(2 * (size_t)r * (size_t)r);
    if (!t)
        return NULL;
    struct shape sh = {rrect_make(0, 0, 2 * r, 2 * r, r), {0}};
    if (width)
        sh.inner = rrect_make(width, width, 2 * (r - width), 2 * (r - width), r - width);
    for (int j = 0; j < r; j++) {
        uint8_t *row = t + 2 * (size_t)j * (size_t)r;
        coverage(&sh, j, 0, r, row);
        for (int i = 0; i < r; i++)
            row[r + i] = row[r - 1 - i];
    }
    /* Two threads may both make it: the first one kept wins. */
    uint8_t *none = NULL;
    if (!atomic_compare_exchange_strong_explicit(&corner_tables[r][width], &none, t, memory_order_acq_rel,
                                                 memory_order_acquire)) {
        free(t);
        return none;
    }
    return t;
}

/* The table for this shape's corners, when it has one. */
static const uint8_t *shape_table(const struct shape *sh) {
    const struct rrect *o = &sh->outer, *in = &sh->inner;
    if (o->r <= 0 || o->r > TABLE_RADIUS_MAX)
        return NULL;
    if (in->w == 0)
        return corner_table((int)o->r, 0);
    int64_t width = in->x - o->x;
    /* A ring at least as wide as the radius has a filled shape's corners; a narrower one its own. */
    if (width >= o->r)
        return corner_table((int)o->r, 0);
    if (width <= TABLE_WIDTH_MAX && in->r == o->r - width)
        return corner_table((int)o->r, (int)width);
    return NULL;
}

/* n coverage bytes cov for columns x0.. of row y, inside the visible columns v0..v1-1. */
static void table_span(struct surface *s, int y, int64_t x0, const uint8_t *cov, int n, int v0, int v1,
                       const struct vcolour *k, uint32_t c, unsigned ca) {
    int64_t a = x0 > v0 ? x0 : v0, b = x0 + n < v1 ? x0 + n : v1;
    if (b > a)
        mask_row(at(s, (int)a, y), cov + (a - x0), (int)(b - a), k, c, ca);
}

static bool inside_rows(const struct rrect *q, int64_t y) {
    return q->w > 0 && y >= q->y && y < q->y + q->h;
}

static void paint_shape(struct surface *s, const struct shape *sh, uint32_t argb) {
    unsigned ca = argb >> 24;
    const struct rrect *o = &sh->outer, *in = &sh->inner;
    struct rect d = drawable(s);
    if (ca == 0 || rect_empty(d) || o->w <= 0 || o->h <= 0)
        return;
    int64_t y0 = o->y > d.y ? o->y : d.y, y1 = o->y + o->h < d.y + d.h ? o->y + o->h : d.y + d.h;
    int v0 = d.x, v1 = d.x + d.w;
    const uint8_t *table = shape_table(sh);
    struct vcolour k = vcolour(argb);
    for (int64_t y = y0; y < y1; y++) {
        bool ring = inside_rows(in, y);
        /* The inner shape's corners lie inside the outer one's: rows clear of the outer corners are spans. */
        if (y >= o->y + o->r && y < o->y + o->h - o->r) {
            if (!ring) {
                plain_span(s, (int)y, o->x, o->x + o->w, v0, v1, argb, ca);
            } else {
                plain_span(s, (int)y, o->x, in->x, v0, v1, argb, ca);
                plain_span(s, (int)y, in->x + in->w, o->x + o->w, v0, v1, argb, ca);
            }
            continue;
        }
        if (table) {
            /* The bottom corners are the top ones upside down. */
            int64_t from_edge = y - o->y < o->y + o->h - 1 - y ? y - o->y : o->y + o->h - 1 - y;
            const uint8_t *row = table + 2 * from_edge * o->r;
            table_span(s, (int)y, o->x, row, (int)o->r, v0, v1, &k, argb, ca);
            if (!ring)
                plain_span(s, (int)y, o->x + o->r, o->x + o->w - o->r, v0, v1, argb, ca);
            table_span(s, (int)y, o->x + o->w - o->r, row + o->r, (int)o->r, v0, v1, &k, argb, ca);
            continue;
        }
        coverage_span(s, sh, (int)y, o->x, o->x + o->r, v0, v1, argb, ca);
        if (!ring)
            plain_span(s, (int)y, o->x + o->r, o->x + o->w - o->r, v0, v1, argb, ca);
        coverage_span(s, sh, (int)y, o->x + o->w - o->r, o->x + o->w, v0, v1, argb, ca);
    }
}

void paint_rrect(struct surface *s, struct rect r, int radius, uint32_t argb) {
    struct shape sh = {rrect_make(r.x, r.y, r.w, r.h, radius), {0}};
    paint_shape(s, &sh, argb);
}

void paint_rrect_stroke(struct surface *s, struct rect r, int radius, int width, uint32_t argb) {
    if (width <= 0)
        return;
    struct shape sh = {rrect_make(r.x, r.y, r.w, r.h, radius), {0}};
    int64_t iw = (int64_t)r.w - 2 * (int64_t)width, ih = (int64_t)r.h - 2 * (int64_t)width;
    if (iw > 0 && ih > 0)
        sh.inner = rrect_make((int64_t)r.x + width, (int64_t)r.y + width, iw, ih, sh.outer.r - width);
    paint_shape(s, &sh, argb);
}

void paint_circle(struct surface *s, int cx, int cy, int radius, uint32_t argb) {
    if (radius <= 0)
        return;
    int64_t r = radius;
    struct shape sh = {rrect_make(cx - r, cy - r, 2 * r, 2 * r, r), {0}};
    paint_shape(s, &sh, argb);
}

/*
 * Shadows: the rounded rectangle's coverage blurred (three box passes each
 * way, close to a Gaussian of sigma blur/2), as a nine-patch. Away from the
 * corners every column of a blurred rectangle is the same, and so is every
 * row: the mask is made for the corners with one middle row and column
 * between them (at most 2 * (radius + 2 * reach) + 1 each way), and the
 * middle is stretched when drawn, as spans. Masks are kept for the shapes
 * drawn last (a screen of cards draws the same few again and again).
 */
#define BLUR_MAX 64           /* past these a shadow is no longer a UI's, and its mask grows with their square */
#define SHADOW_RADIUS_MAX 128
#define SHADOW_CACHE 8
#define SHADOW_CACHE_BYTES (512 * 1024) /* in all; a mask over half of it is made for its one call */

struct shadow_mask {
    int mw, mh;      /* its size: 2 * (radius + 2 * pad) + 1, or the whole padded shape when that is less */
    int radius, pad; /* with the size, the key: the shape's middle is what the size leaves */
    uint8_t *a;
};

static struct {
    pthread_mutex_t lock;
    struct shadow_mask *masks[SHADOW_CACHE]; /* the most recently used first */
} shadows = {PTHREAD_MUTEX_INITIALIZER, {0}};

/* Box blur of radius rb along n values at stride, three times; tmp holds n values. */
static void blur_line(uint16_t *v, int n, ptrdiff_t stride, int rb, uint16_t *tmp) {
    int win = 2 * rb + 1;
    for (int pass = 0; pass < 3; pass++) {
        uint32_t sum = 0;
        for (int i = 0; i < n; i++)
            tmp[i] = v[i * stride];
        for (int i = 0; i < rb && i < n; i++)
            sum += tmp[i];
        for (int i = 0; i < n; i++) {
            if (i + rb < n)
                sum += tmp[i + rb];
            v[i * stride] = (uint16_t)((sum + (uint32_t)win / 2) / (uint32_t)win);
            if (i - rb >= 0)
                sum -= tmp[i - rb];
        }
    }
}

static struct shadow_mask *shadow_mask_make(int mw, int mh, int radius, int pad) {
    struct shadow_mask *m = calloc(1, sizeof *m);
    uint16_t *v = calloc((size_t)mw * (size_t)mh, sizeof *v);
    uint16_t *tmp = malloc(sizeof *tmp * (size_t)(mw > mh ? mw : mh));
    if (m)
        m->a = malloc((size_t)mw * (size_t)mh);
    if (!m || !v || !tmp || !m->a) {
        free(v);
        free(tmp);
        if (m)
            free(m->a);
        free(m);
        return NULL;
    }
    *m = (struct shadow_mask){mw, mh, radius, pad, m->a};
    /* The shape in the mask: its middle squeezed to what is left between the corners' reach. */
    struct shape sh = {rrect_make(pad, pad, mw - 2 * pad, mh - 2 * pad, radius), {0}};
    uint8_t cov[CHUNK];
    for (int y = 0; y < mh; y++)
        for (int x = 0; x < mw; x += CHUNK) {
            int n = mw - x < CHUNK ? mw - x : CHUNK;
            coverage(&sh, y, x, n, cov);
            for (int i = 0; i < n; i++)
                v[(size_t)y * (size_t)mw + (size_t)(x + i)] = (uint16_t)(cov[i] * 257);
        }
    int rb = pad / 3;
    for (int y = 0; y < mh; y++)
        blur_line(v + (size_t)y * (size_t)mw, mw, 1, rb, tmp);
    for (int x = 0; x < mw; x++)
        blur_line(v + x, mh, mw, rb, tmp);
    for (size_t i = 0; i < (size_t)mw * (size_t)mh; i++)
        m->a[i] = (uint8_t)((v[i] + 128) / 257);
    free(v);
    free(tmp);
    return m;
}

static void shadow_mask_free(struct shadow_mask *m) {
    if (m)
        free(m->a);
    free(m);
}

/* The mask for this shape, from the cache or made (and cached when small); the cache's lock is held. */
static struct shadow_mask *shadow_mask_get(int w, int h, int radius, int pad, bool *ret_cached) {
    int half = radius + 2 * pad;
    int64_t pw = (int64_t)w + 2 * pad, ph = (int64_t)h + 2 * pad;
    int mw = pw > 2 * half + 1 ? 2 * half + 1 : (int)pw;
    int mh = ph > 2 * half + 1 ? 2 * half + 1 : (int)ph;
    /* Shapes wider than the mask all share it: the key is the mask's own size. */
    int n = 0;
    while (n < SHADOW_CACHE && shadows.masks[n])
        n++;
    for (int i = 0; i < n; i++) {
        struct shadow_mask *m = shadows.masks[i];
        if (m->mw == mw && m->mh == mh && m->radius == radius && m->pad == pad) {
            memmove(&shadows.masks[1], &shadows.masks[0], sizeof *shadows.masks * (size_t)i);
            shadows.masks[0] = m;
            *ret_cached = true;
            return m;
        }
    }
    struct shadow_mask *m = shadow_mask_make(mw, mh, radius, pad);
    size_t bytes = (size_t)mw * (size_t)mh;
    *ret_cached = m && bytes <= SHADOW_CACHE_BYTES / 2;
    if (*ret_cached) {
        /* The least recently used go until the new one fits the cache's bytes. */
        size_t total = bytes;
        for (int i = 0; i < n; i++)
            total += (size_t)shadows.masks[i]->mw * (size_t)shadows.masks[i]->mh;
        while (n > 0 && (n == SHADOW_CACHE || total > SHADOW_CACHE_BYTES)) {
            n--;
            total -= (size_t)shadows.masks[n]->mw * (size_t)shadows.masks[n]->mh;
            shadow_mask_free(shadows.masks[n]);
            shadows.masks[n] = NULL;
        }
        memmove(&shadows.masks[1], &shadows.masks[0], sizeof *shadows.masks * (size_t)n);
        shadows.masks[0] = m;
    }
    return m;
}

/* Which mask column (or row) shows at position i of n, the mask being mn wide with its middle at half. */
static inline int nine(int64_t i, int64_t n, int mn) {
    int half = mn / 2;
    if (mn == n || i < half)
        return (int)i;
    if (i >= n - half)
        return (int)(i - (n - mn));
    return half;
}

void paint_shadow(struct surface *s, struct rect r, int radius, int blur, int dy, uint32_t argb) {
    unsigned ca = argb >> 24;
    if (blur <= 0) {
        paint_rrect(s, (struct rect){r.x, clamp_int((int64_t)r.y + dy), r.w, r.h}, radius, argb);
        return;
    }
    if (rect_empty(r) || ca == 0)
        return;
    int rb = (blur > BLUR_MAX ? BLUR_MAX : blur) / 2;
    int pad = 3 * (rb < 1 ? 1 : rb);
    int64_t rad = rrect_make(0, 0, r.w, r.h, radius).r;
    rad = rad > SHADOW_RADIUS_MAX ? SHADOW_RADIUS_MAX : rad;
    int64_t x0 = (int64_t)r.x - pad, y0 = (int64_t)r.y + dy - pad;
    int64_t pw = (int64_t)r.w + 2 * pad, ph = (int64_t)r.h + 2 * pad;
    struct rect d = drawable(s);
    int64_t vx0 = x0 > d.x ? x0 : d.x, vx1 = x0 + pw < d.x + d.w ? x0 + pw : d.x + d.w;
    int64_t vy0 = y0 > d.y ? y0 : d.y, vy1 = y0 + ph < d.y + d.h ? y0 + ph : d.y + d.h;
    if (vx1 <= vx0 || vy1 <= vy0)
        return;

    pthread_mutex_lock(&shadows.lock);
    bool cached;
    struct shadow_mask *m = shadow_mask_get(r.w, r.h, (int)rad, pad, &cached);
    if (m) {
        struct vcolour k = vcolour(argb);
        int half = m->mw / 2;
        for (int64_t y = vy0; y < vy1; y++) {
            const uint8_t *mr = m->a + (size_t)nine(y - y0, ph, m->mh) * (size_t)m->mw;
            int yy = (int)y;
            if (m->mw == pw) {
                mask_row(at(s, (int)vx0, yy), mr + (vx0 - x0), (int)(vx1 - vx0), &k, argb, ca);
                continue;
            }
            /* Left part, the stretched middle column, right part. */
            int64_t l1 = x0 + half < vx1 ? x0 + half : vx1, r0 = x0 + pw - half > vx0 ? x0 + pw - half : vx0;
            if (l1 > vx0)
                mask_row(at(s, (int)vx0, yy), mr + (vx0 - x0), (int)(l1 - vx0), &k, argb, ca);
            unsigned a = div255(mr[half] * ca);
            int64_t m0 = vx0 > x0 + half ? vx0 : x0 + half, m1 = vx1 < x0 + pw - half ? vx1 : x0 + pw - half;
            if (a && m1 > m0)
                span(at(s, (int)m0, yy), (int)(m1 - m0), argb, a);
            if (vx1 > r0)
                mask_row(at(s, (int)r0, yy), mr + (m->mw - half) + (r0 - (x0 + pw - half)), (int)(vx1 - r0), &k,
                         argb, ca);
        }
    }
    if (!cached)
        shadow_mask_free(m);
    pthread_mutex_unlock(&shadows.lock);
}

void paint_scroll(struct surface *s, struct rect area, int dy) {
    struct rect a = rect_intersect(area, (struct rect){0, 0, s->w, s->h});
    struct rect w = rect_intersect(a, s->clip);
    if (rect_empty(w) || dy == 0 || dy >= a.h || dy <= -a.h)
        return;
    /* Rows written are those of the clip whose source row (y - dy) lies in the area. */
    int from = w.y > a.y + dy ? w.y : a.y + dy;
    int to = w.y + w.h < a.y + a.h + dy ? w.y + w.h : a.y + a.h + dy;
    size_t bytes = sizeof(uint32_t) * (size_t)w.w;
    /* Whole rows of a surface without padding are one block: one move. */
    if (w.x == 0 && w.w == s->w && s->stride == s->w) {
        if (to > from)
            memmove(at(s, 0, from), at(s, 0, from - dy), bytes * (size_t)(to - from));
        return;
    }
    if (dy > 0)
        for (int y = to - 1; y >= from; y--)
            memmove(at(s, w.x, y), at(s, w.x, y - dy), bytes);
    else
        for (int y = from; y < to; y++)
            memmove(at(s, w.x, y), at(s, w.x, y - dy), bytes);
}

struct image *image_new(int w, int h) {
    /* pixman addresses pixels in 16.16 fixed point: nothing wider than 32767. */
    if (w <= 0 || h <= 0 || w > 32767 || h > 32767)
        return NULL;
    struct image *img = malloc(sizeof *img);
    if (!img)
        return NULL;
    *img = (struct image){calloc((size_t)w * (size_t)h, sizeof(uint32_t)), w, h, w, false};
    if (!img->px) {
        free(img);
        return NULL;
    }
    return img;
}

void image_free(struct image *img) {
    if (img)
        free(img->px);
    free(img);
}

/* Premultiplied source s over d with the extra coverage m (0-255). */
static inline uint32_t over(uint32_t d, uint32_t s, unsigned m) {
    if (m != 255)
        s = gather(div255_lanes(spread(s) * m));
    unsigned sa = s >> 24;
    if (sa == 255)
        return s;
    if (sa == 0)
        return d | OPAQUE;
    return (s + gather(div255_lanes(spread(d) * (255 - sa)))) | OPAQUE;
}

/* The rounded-corner coverage of dst at alpha, for the visible part vis, one row (n = vis.w) at a time. */
static void corner_mask_row(const struct shape *sh, struct rect vis, int y, uint8_t alpha, uint8_t *out) {
    const struct rrect *o = &sh->outer;
    if (y >= o->y + o->r && y < o->y + o->h - o->r) {
        memset(out, alpha, (size_t)vis.w);
        return;
    }
    for (int x = 0; x < vis.w; x += CHUNK) {
        int n = vis.w - x < CHUNK ? vis.w - x : CHUNK;
        coverage(sh, y, (int64_t)vis.x + x, n, out + x);
        if (alpha != 255)
            for (int i = 0; i < n; i++)
                out[x + i] = (uint8_t)div255(out[x + i] * alpha);
    }
}

/* Same size: composited here, pixman is not needed. */
static void image_unscaled(struct surface *s, struct rect vis, struct rect dst, const struct image *img,
                           struct rect src, uint8_t alpha, const struct shape *sh) {
    uint8_t cov[CHUNK];
    for (int y = vis.y; y < vis.y + vis.h; y++) {
        const uint32_t *from = img->px + (size_t)(src.y + y - dst.y) * (size_t)img->stride + (src.x + vis.x - dst.x);
        uint32_t *to = at(s, vis.x, y);
        if (img->opaque && alpha == 255 && sh->outer.r == 0) {
            for (int i = 0; i < vis.w; i++)
                to[i] = from[i] | OPAQUE;
            continue;
        }
        for (int x = 0; x < vis.w; x += CHUNK) {
            int n = vis.w - x < CHUNK ? vis.w - x : CHUNK;
            corner_mask_row(sh, (struct rect){vis.x + x, y, n, 1}, y, alpha, cov);
            for (int i = 0; i < n; i++)
                to[x + i] = over(to[x + i], from[x + i], cov[i]);
        }
    }
}

/*
 * A pixman image over src of img, sampled so that destination pixel i of a
 * dst_w x dst_h picture, starting off_x, off_y pixels into it, shows what
 * covers it: box-filtered (separable convolution) where it shrinks by more
 * than 4/3, bilinear otherwise. Edges repeat outwards (no dark fringe).
 */
static pixman_image_t *scaled_source(const struct image *img, struct rect src, int dst_w, int dst_h, int64_t off_x,
                                     int64_t off_y) {
    pixman_image_t *p =
        sym_pixman_image_create_bits(img->opaque ? PIXMAN_x8r8g8b8 : PIXMAN_a8r8g8b8, src.w, src.h,
                                     img->px + (size_t)src.y * (size_t)img->stride + (size_t)src.x, img->stride * 4);
    if (!p)
        return NULL;
    /* Destination to source, in 16.16 fixed point, in integers (the same on every machine). */
    pixman_fixed_t sx = (pixman_fixed_t)(((int64_t)src.w << 16) / dst_w);
    pixman_fixed_t sy = (pixman_fixed_t)(((int64_t)src.h << 16) / dst_h);
    struct pixman_transform t;
    sym_pixman_transform_init_scale(&t, sx > 0 ? sx : 1, sy > 0 ? sy : 1);
    sym_pixman_transform_translate(&t, NULL, (pixman_fixed_t)((off_x * src.w << 16) / dst_w),
                                   (pixman_fixed_t)((off_y * src.h << 16) / dst_h));
    sym_pixman_image_set_transform(p, &t);
    sym_pixman_image_set_repeat(p, PIXMAN_REPEAT_PAD);
    /* Shrinking by at most 4/3 looks like bilinear anyway; past 16 the kernel grows slow for little gain. */
    int64_t fx = sx < 87381 ? 65536 : sx > (16 << 16) ? (16 << 16) : sx;
    int64_t fy = sy < 87381 ? 65536 : sy > (16 << 16) ? (16 << 16) : sy;
    if (fx == 65536 && fy == 65536) {
        sym_pixman_image_set_filter(p, PIXMAN_FILTER_BILINEAR, NULL, 0);
        return p;
    }
    int n;
    pixman_fixed_t *params = sym_pixman_filter_create_separable_convolution(
        &n, (pixman_fixed_t)fx, (pixman_fixed_t)fy, PIXMAN_KERNEL_BOX, PIXMAN_KERNEL_BOX, PIXMAN_KERNEL_BOX,
        PIXMAN_KERNEL_BOX, 4, 4);
    bool ok = params && sym_pixman_image_set_filter(p, PIXMAN_FILTER_SEPARABLE_CONVOLUTION, params, n);
    free(params);
    if (!ok) {
        sym_pixman_image_unref(p);
        return NULL;
    }
    return p;
}

static void image_scaled(struct surface *s, struct rect vis, struct rect dst, const struct image *img, struct rect src,
                         uint8_t alpha, const struct shape *sh) {
    if (dlopen_pixman(NULL) < 0)
        return; /* nothing to draw with; image_scale reports it to whoever loads pictures */
    pixman_image_t *from = scaled_source(img, src, dst.w, dst.h, (int64_t)vis.x - dst.x, (int64_t)vis.y - dst.y);
    pixman_image_t *to = sym_pixman_image_create_bits(PIXMAN_x8r8g8b8, s->w, s->h, s->px, s->stride * 4);
    pixman_image_t *mask = NULL;
    uint8_t *cov = NULL;
    int cov_stride = (vis.w + 3) & ~3; /* pixman's rows are whole 32-bit words */
    if (sh->outer.r > 0) {
        cov = malloc((size_t)cov_stride * (size_t)vis.h);
        if (cov) {
            for (int y = 0; y < vis.h; y++)
                corner_mask_row(sh, vis, vis.y + y, alpha, cov + (size_t)y * (size_t)cov_stride);
            mask = sym_pixman_image_create_bits(PIXMAN_a8, vis.w, vis.h, (uint32_t *)cov, cov_stride);
        }
    } else if (alpha != 255) {
        pixman_color_t c = {0, 0, 0, (uint16_t)(alpha * 257)};
        mask = sym_pixman_image_create_solid_fill(&c);
    }
    if (from && to && (mask || (sh->outer.r == 0 && alpha == 255))) {
        sym_pixman_image_composite32(PIXMAN_OP_OVER, from, mask, to, 0, 0, 0, 0, vis.x, vis.y, vis.w, vis.h);
        /* pixman leaves x8r8g8b8's X byte as it computes it; the display wants 0xFF. */
        for (int y = vis.y; y < vis.y + vis.h; y++) {
            uint32_t *p = at(s, vis.x, y);
            for (int i = 0; i < vis.w; i++)
                p[i] |= OPAQUE;
        }
    }
    if (mask)
        sym_pixman_image_unref(mask);
    if (to)
        sym_pixman_image_unref(to);
    if (from)
        sym_pixman_image_unref(from);
    free(cov);
}

void paint_image(struct surface *s, struct rect dst, const struct image *img, struct rect src, uint8_t alpha,
                 int radius) {
    if (!img || alpha == 0)
        return;
    src = rect_intersect(src, (struct rect){0, 0, img->w, img->h});
    struct rect vis = rect_intersect(dst, drawable(s));
    if (rect_empty(src) || rect_empty(vis))
        return;
    struct shape sh = {rrect_make(dst.x, dst.y, dst.w, dst.h, radius), {0}};
    if (dst.w == src.w && dst.h == src.h)
        image_unscaled(s, vis, dst, img, src, alpha, &sh);
    else
        image_scaled(s, vis, dst, img, src, alpha, &sh);
}

struct image *image_scale(const struct image *img, int w, int h) {
    struct image *out = image_new(w, h);
    if (!out || dlopen_pixman(NULL) < 0) {
        image_free(out);
        return NULL;
    }
    out->opaque = img->opaque; /* the edges repeat outwards: nothing transparent comes in */
    pixman_image_t *from = scaled_source(img, (struct rect){0, 0, img->w, img->h}, w, h, 0, 0);
    pixman_image_t *to = sym_pixman_image_create_bits(PIXMAN_a8r8g8b8, w, h, out->px, w * 4);
    if (from && to)
        sym_pixman_image_composite32(PIXMAN_OP_SRC, from, NULL, to, 0, 0, 0, 0, 0, 0, w, h);
    if (to)
        sym_pixman_image_unref(to);
    if (from)
        sym_pixman_image_unref(from);
    if (!from || !to) {
        image_free(out);
        return NULL;
    }
    return out;
}
