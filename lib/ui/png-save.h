/* png-save.h: a screen's pixels into a PNG file (slate shot, golden images). */
#pragma once

#include <stdint.h>

#include "err.h"

/*
 * Write w x h XRGB pixels (stride in pixels) to fd as an 8-bit RGB PNG, with
 * libpng loaded on first use. 0, or a negative errno with one line in e.
 */
int png_save(const uint32_t *xrgb, int w, int h, int stride, int fd, struct err *e);
