/* image-load.h: PNG, JPEG and WebP files into premultiplied images, at the size they are shown. */
#pragma once

#include <stddef.h>

#include "err.h"
#include "paint.h"

/*
 * Decode path (the format from its first bytes, not its name) into an image no
 * bigger than it needs to be to fill max_w x max_h (0: full size): JPEG decodes
 * at a reduced scale in the DCT domain (libjpeg-turbo scale_num/scale_denom) to
 * the smallest size at least twice the target, then everything is filtered down
 * to at most the target. The EXIF orientation of JPEG files is applied. The
 * libraries are loaded on first use. 0 with *ret set (the caller's), or a
 * negative errno with one line in e ("photo.jpg: not a PNG, JPEG or WebP file").
 */
int image_load(const char *path, int max_w, int max_h, struct image **ret, struct err *e);
int image_load_memory(const void *data, size_t len, const char *name, int max_w, int max_h, struct image **ret,
                      struct err *e);

/* img scaled to w x h with a good filter (box down, bilinear up); NULL when out of memory. */
struct image *image_scale(const struct image *img, int w, int h);
