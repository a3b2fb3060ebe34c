/* fuzz-image.c: libFuzzer target for the picture decoders (PNG, JPEG with EXIF, WebP) and the painting of what they give. */
#include <string.h>

#include "fuzz.h"
#include "image-load.h"
#include "paint.h"

/*
 * Input: one byte picks the size asked for (full size, a box, one side only:
 * so the DCT scaling, libwebp's scaler and the filters all run), then the
 * file. Checked: a refusal is one line; a picture is no bigger than it needs
 * to be, premultiplied (no channel above alpha) and opaque when it says so;
 * painting it scaled, with rounded corners, stays inside the surface.
 */
static void check(const struct image *img, int max_w, int max_h) {
    if (img->w <= 0 || img->h <= 0 || img->stride < img->w)
        abort();
    if ((max_w > 0 || max_h > 0) && (max_w <= 0 || img->w > max_w) && (max_h <= 0 || img->h > max_h))
        abort(); /* larger than it needs to be to cover the box */
    for (int y = 0; y < img->h; y++)
        for (int x = 0; x < img->w; x++) {
            uint32_t p = img->px[(size_t)y * (size_t)img->stride + (size_t)x], a = p >> 24;
            if ((p >> 16 & 0xFF) > a || (p >> 8 & 0xFF) > a || (p & 0xFF) > a || (img->opaque && a != 0xFF))
                abort();
        }
    uint32_t px[40 * 30];
    struct surface s = surface_wrap(px, 40, 30, 40);
    paint_fill(&s, (struct rect){0, 0, 40, 30}, 0xFF808080);
    paint_image(&s, (struct rect){-3, 2, 37, 25}, img, (struct rect){0, 0, img->w, img->h}, 200, 7);
    paint_image(&s, (struct rect){5, 5, img->w, img->h}, img, (struct rect){0, 0, img->w, img->h}, 255, 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static const int sizes[][2] = {{0, 0}, {64, 64}, {17, 0}, {0, 5}};
    if (size < 1)
        return 0;
    const int *max = sizes[data[0] % (sizeof sizes / sizeof *sizes)];
    struct image *img = NULL;
    struct err e = {0};
    int r = image_load_memory(data + 1, size - 1, "input", max[0], max[1], &img, &e);
    fuzz_trace("image", r, &e);
    if (r < 0 && (img || !strstr(e.msg, "input") || strchr(e.msg, '\n')))
        abort();
    if (r == 0)
        check(img, max[0], max[1]);
    image_free(img);
    return 0;
}
