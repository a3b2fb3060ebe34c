/* golden.c: golden-image comparison for the toolkit's tests (golden.h), with libpng's simplified API. */
#include "golden.h"

#include <errno.h>
#include <limits.h>
#include <stdbool.h>
#include <png.h>
#include <stdarg.h>
#include <stddef.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <cmocka.h>

/* GOLDEN_DIR (the references, in the source tree) and GOLDEN_OUT_DIR (in the build) come from meson. */

static void path_of(char *buf, size_t size, const char *dir, const char *name, const char *suffix) {
    int n = snprintf(buf, size, "%s/%s%s", dir, name, suffix);
    if (n < 0 || (size_t)n >= size)
        fail_msg("golden: path too long for %s", name);
}

/* The surface as 8-bit RGB rows, as the reference is stored. */
static uint8_t *to_rgb(const struct surface *s) {
    uint8_t *rgb = malloc((size_t)s->w * (size_t)s->h * 3);
    assert_non_null(rgb);
    for (int y = 0; y < s->h; y++)
        for (int x = 0; x < s->w; x++) {
            uint32_t p = s->px[(size_t)y * (size_t)s->stride + (size_t)x];
            uint8_t *o = rgb + ((size_t)y * (size_t)s->w + (size_t)x) * 3;
            o[0] = (uint8_t)(p >> 16);
            o[1] = (uint8_t)(p >> 8);
            o[2] = (uint8_t)p;
        }
    return rgb;
}

static void write_png(const char *path, const uint8_t *rgb, int w, int h) {
    png_image img = {.version = PNG_IMAGE_VERSION, .width = (png_uint_32)w, .height = (png_uint_32)h,
                     .format = PNG_FORMAT_RGB};
    if (!png_image_write_to_file(&img, path, 0, rgb, w * 3, NULL))
        fail_msg("golden: cannot write %s: %s", path, img.message);
}

/* The reference as RGB (the caller's), its size in *w, *h; NULL when there is none. */
static uint8_t *read_png(const char *path, int *w, int *h) {
    png_image img = {.version = PNG_IMAGE_VERSION};
    if (!png_image_begin_read_from_file(&img, path)) {
        if (errno != ENOENT)
            fail_msg("golden: cannot read %s: %s", path, img.message);
        return NULL;
    }
    img.format = PNG_FORMAT_RGB;
    uint8_t *rgb = malloc(PNG_IMAGE_SIZE(img));
    assert_non_null(rgb);
    if (!png_image_finish_read(&img, NULL, rgb, 0, NULL))
        fail_msg("golden: cannot read %s: %s", path, img.message);
    *w = (int)img.width;
    *h = (int)img.height;
    return rgb;
}

static void make_dir(const char *dir) {
    char buf[4096];
    snprintf(buf, sizeof buf, "%s", dir);
    for (char *p = buf + 1; *p; p++)
        if (*p == '/') {
            *p = '\0';
            mkdir(buf, 0755);
            *p = '/';
        }
    if (mkdir(buf, 0755) < 0 && errno != EEXIST)
        fail_msg("golden: cannot create %s: %s", dir, strerror(errno));
}

int golden_compare(const struct surface *s, const char *name, char *msg, size_t size) {
    char ref[4096], actual[4096], diff[4096];
    path_of(ref, sizeof ref, GOLDEN_DIR, name, ".png");
    uint8_t *got = to_rgb(s);
    const char *update = getenv("SLATE_GOLDEN_UPDATE");
    if (update && strcmp(update, "1") == 0) {
        write_png(ref, got, s->w, s->h);
        free(got);
        return 0;
    }

    int w = 0, h = 0;
    uint8_t *want = read_png(ref, &w, &h);
    bool same_size = want && w == s->w && h == s->h;
    size_t differ = 0;
    uint8_t *marked = NULL;
    if (same_size) {
        /* Differences in red over the actual picture dimmed toward grey. */
        marked = malloc((size_t)w * (size_t)h * 3);
        assert_non_null(marked);
        for (size_t i = 0; i < (size_t)w * (size_t)h; i++) {
            const uint8_t *a = got + i * 3, *b = want + i * 3;
            uint8_t *d = marked + i * 3;
            if (memcmp(a, b, 3) != 0) {
                differ++;
                d[0] = 255, d[1] = 0, d[2] = 0;
            } else {
                d[0] = d[1] = d[2] = (uint8_t)(128 + (a[0] + a[1] + a[2]) / 9);
            }
        }
    }
    bool found = want != NULL;
    free(want);
    if (same_size && differ == 0) {
        free(marked);
        free(got);
        return 0;
    }

    make_dir(GOLDEN_OUT_DIR);
    path_of(actual, sizeof actual, GOLDEN_OUT_DIR, name, ".actual.png");
    path_of(diff, sizeof diff, GOLDEN_OUT_DIR, name, ".diff.png");
    write_png(actual, got, s->w, s->h);
    free(got);
    if (marked)
        write_png(diff, marked, w, h);
    free(marked);
    if (!found)
        snprintf(msg, size, "golden %s: no reference %s (SLATE_GOLDEN_UPDATE=1 makes it); the picture is in %s", name,
                 ref, actual);
    else if (!same_size)
        snprintf(msg, size, "golden %s: the picture is %dx%d, the reference %s %dx%d; see %s", name, s->w, s->h, ref,
                 w, h, actual);
    else
        snprintf(msg, size, "golden %s: %zu pixels differ from %s; see %s and %s", name, differ, ref, actual, diff);
    return differ > 0 ? (int)(differ < INT_MAX ? differ : INT_MAX) : -1;
}

void golden_check(const struct surface *s, const char *name) {
    char msg[3 * 4096 + 256];
    if (golden_compare(s, name, msg, sizeof msg) != 0)
        fail_msg("%s", msg);
}
