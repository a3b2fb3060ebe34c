/* display-fbdev.h: the framebuffer's pixel formats, apart from the device so that a test can check them. */
#pragma once

#include <linux/fb.h>
#include <stdbool.h>
#include <stdint.h>

/* A framebuffer's layout: bits a pixel, bytes a row, where each channel sits (as FBIOGET_VSCREENINFO says). */
struct fb_format {
    uint32_t bpp, line_length;
    struct fb_bitfield red, green, blue;
};

/* Whether slated can draw into it: packed 16, 24 or 32 bits a pixel, channels of at most 8 bits inside it. */
bool fb_format_supported(const struct fb_format *fmt);
/* n XRGB pixels into the framebuffer's format at dst (little-endian). */
void fb_convert_row(const struct fb_format *fmt, uint8_t *dst, const uint32_t *src, int n);
