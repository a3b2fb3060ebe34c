/* paint.h: pixels: 32-bit XRGB surfaces and the few things a UI draws most, fast, plus pixman for the rest. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/*
 * Every surface is XRGB8888 (0xXXRRGGBB in a uint32_t, X ignored and written
 * as 0xFF): what the display takes as it is. Colours are 0xAARRGGBB, not
 * premultiplied; alpha 0xFF is opaque. Images and glyph masks are composited
 * "over". Results are the same bytes on every run and machine (integer
 * arithmetic, no threads, no CPU-dependent paths that change output): golden
 * images rely on it.
 *
 * Every operation draws only inside the surface's clip rectangle (which
 * damage tracking sets to the region being redrawn) and never outside the
 * surface.
 */
struct rect {
    int x, y, w, h;
};

static inline bool rect_empty(struct rect r) {
    return r.w <= 0 || r.h <= 0;
}
struct rect rect_intersect(struct rect a, struct rect b);
struct rect rect_union(struct rect a, struct rect b);

struct surface {
    uint32_t *px;
    int w, h;
    int stride; /* in pixels */
    struct rect clip;
};

/* A surface over pixels someone else owns (a shared-memory buffer); the clip is all of it. */
struct surface surface_wrap(uint32_t *px, int w, int h, int stride);

/* A premultiplied ARGB32 image (decoded pictures, icons); opaque when every alpha is 0xFF. */
struct image {
    uint32_t *px;
    int w, h, stride; /* stride in pixels */
    bool opaque;
};

void paint_fill(struct surface *s, struct rect r, uint32_t argb);
/* A rectangle with rounded corners of radius (anti-aliased), filled. */
void paint_rrect(struct surface *s, struct rect r, int radius, uint32_t argb);
/* Its outline, width pixels wide, inside r. */
void paint_rrect_stroke(struct surface *s, struct rect r, int radius, int width, uint32_t argb);
/* The soft shadow a rounded rectangle r casts: blurred by blur pixels, moved down by dy. */
void paint_shadow(struct surface *s, struct rect r, int radius, int blur, int dy, uint32_t argb);
/* A coverage mask (glyphs: 8 bits per pixel, stride in bytes) at x, y in colour argb. */
void paint_mask(struct surface *s, int x, int y, const uint8_t *mask, int w, int h, int stride, uint32_t argb);
/*
 * Part src of an image into dst (scaled with a good filter when the sizes
 * differ: box-averaging down, bilinear up), at opacity alpha (0-255), with
 * corners rounded to radius (0: square).
 */
void paint_image(struct surface *s, struct rect dst, const struct image *img, struct rect src, uint8_t alpha,
                 int radius);
/* Move the pixels of area by dy rows (scrolling: only what comes into view is drawn again). */
void paint_scroll(struct surface *s, struct rect area, int dy);
/* A filled circle (switch thumbs, slider knobs), anti-aliased. */
void paint_circle(struct surface *s, int cx, int cy, int radius, uint32_t argb);

/* Images: the caller's; image_free accepts NULL. */
struct image *image_new(int w, int h);
void image_free(struct image *img);
