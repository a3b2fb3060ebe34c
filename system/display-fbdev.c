/* display-fbdev.c: the device's own screen through the kernel's framebuffer device, where there is no DRM. */
#include <errno.h>
#include <fcntl.h>
#include <linux/fb.h>
#include <linux/kd.h>
#include <linux/vt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>

#include "display-fbdev.h"
#include "display-input.h"
#include "slated.h"

/*
 * /dev/fbN mapped, and each damaged rectangle copied in as it comes (the kernel's framebuffer
 * has one buffer: no flips to wait for). 32-bit XRGB is copied as is; anything else of 16, 24 or
 * 32 bits a pixel (RGB565 the usual one) is converted through the channel layout the device
 * reports. The screen is the framebuffer's visible size. The console's text is switched off
 * (KD_GRAPHICS on the current VT) so that its cursor does not blink into the picture; it comes
 * back on close. Input: evdev (display-input.c); there is no cursor.
 */

struct fbdev {
    struct slated *s;
    int fd, tty;
    char path[64];
    uint8_t *map;
    size_t map_size, offset; /* offset: the visible area's first byte (a panned framebuffer) */
    struct fb_format fmt;
    struct evdev *input;
};

static struct fbdev *F(struct slated *s) {
    return s->display->backend_state;
}

/* ---- pixels ---- */

/* One channel of an 8-bit value into a field of len bits at offset. */
static uint32_t field(uint32_t v8, const struct fb_bitfield *f) {
    if (!f->length)
        return 0;
    uint32_t v = f->length >= 8 ? v8 << (f->length - 8) : v8 >> (8 - f->length);
    return v << f->offset;
}

bool fb_format_supported(const struct fb_format *fmt) {
    return (fmt->bpp == 16 || fmt->bpp == 24 || fmt->bpp == 32) && fmt->red.length <= 8 && fmt->green.length <= 8 &&
           fmt->blue.length <= 8 && fmt->red.offset + fmt->red.length <= fmt->bpp &&
           fmt->green.offset + fmt->green.length <= fmt->bpp && fmt->blue.offset + fmt->blue.length <= fmt->bpp;
}

void fb_convert_row(const struct fb_format *fmt, uint8_t *dst, const uint32_t *src, int n) {
    if (fmt->bpp == 32 && fmt->red.offset == 16 && fmt->green.offset == 8 && fmt->blue.offset == 0 &&
        fmt->red.length == 8 && fmt->green.length == 8 && fmt->blue.length == 8) {
        memcpy(dst, src, (size_t)n * 4);
        return;
    }
    for (int i = 0; i < n; i++) {
        uint32_t p = src[i];
        uint32_t v = field(p >> 16 & 0xff, &fmt->red) | field(p >> 8 & 0xff, &fmt->green) | field(p & 0xff, &fmt->blue);
        /* Little-endian, as the framebuffer's pixels are on the CPUs Slate runs on. */
        switch (fmt->bpp) {
        case 16:
            dst[0] = (uint8_t)v, dst[1] = (uint8_t)(v >> 8);
            dst += 2;
            break;
        case 24:
            dst[0] = (uint8_t)v, dst[1] = (uint8_t)(v >> 8), dst[2] = (uint8_t)(v >> 16);
            dst += 3;
            break;
        default: memcpy(dst, &v, 4); dst += 4;
        }
    }
}

static void fbdev_damage(struct slated *s, struct rect r) {
    struct fbdev *f = F(s);
    struct display *d = s->display;
    size_t bytes = (size_t)f->fmt.bpp / 8;
    for (int y = r.y; y < r.y + r.h; y++)
        fb_convert_row(&f->fmt, f->map + f->offset + (size_t)y * f->fmt.line_length + (size_t)r.x * bytes,
                       d->screen + (size_t)y * d->w + r.x, r.w);
}

/* ---- open and close ---- */

/* The console's text off (and back on at close), on the VT in front; nothing where there is none. */
static int console_graphics(void) {
    struct vt_stat vs;
    char path[32];
    int tty0 = open("/dev/tty0", O_RDWR | O_CLOEXEC | O_NOCTTY), tty = -1;
    if (tty0 < 0)
        return -1;
    if (ioctl(tty0, VT_GETSTATE, &vs) == 0 && snprintf(path, sizeof path, "/dev/tty%u", vs.v_active) < (int)sizeof path)
        tty = open(path, O_RDWR | O_CLOEXEC | O_NOCTTY);
    close(tty0);
    if (tty >= 0 && ioctl(tty, KDSETMODE, KD_GRAPHICS) < 0) {
        close(tty);
        tty = -1;
    }
    return tty;
}

static void fbdev_free(struct fbdev *f) {
    evdev_close(f->input);
    if (f->map)
        munmap(f->map, f->map_size);
    if (f->tty >= 0) {
        ioctl(f->tty, KDSETMODE, KD_TEXT);
        close(f->tty);
    }
    if (f->fd >= 0)
        close(f->fd);
    free(f);
}

static int setup(struct fbdev *f, struct err *e) {
    struct fb_var_screeninfo var;
    struct fb_fix_screeninfo fix;
    if ((f->fd = open(f->path, O_RDWR | O_CLOEXEC | O_NOCTTY)) < 0) {
        if (errno == ENOENT)
            return err_set(e, -ENODEV, "--display fbdev: no %s: this kernel has no framebuffer device (--display drm?)",
                           f->path);
        return err_set(e, -errno, "--display fbdev: %s: %s", f->path, strerror(errno));
    }
    if (ioctl(f->fd, FBIOGET_VSCREENINFO, &var) < 0 || ioctl(f->fd, FBIOGET_FSCREENINFO, &fix) < 0)
        return err_set(e, -ENOTTY, "--display fbdev: %s is not a framebuffer device", f->path);
    f->fmt = (struct fb_format){.bpp = var.bits_per_pixel,
                                .line_length = fix.line_length,
                                .red = var.red,
                                .green = var.green,
                                .blue = var.blue};
    if (fix.type != FB_TYPE_PACKED_PIXELS || fix.visual != FB_VISUAL_TRUECOLOR || !fb_format_supported(&f->fmt))
        return err_set(e, -ENOTSUP,
                       "--display fbdev: %s has %u bits a pixel (type %u, visual %u): slated draws 16, 24 and 32-bit "
                       "true colour",
                       f->path, var.bits_per_pixel, fix.type, fix.visual);
    f->offset = (size_t)var.yoffset * fix.line_length + (size_t)var.xoffset * (var.bits_per_pixel / 8);
    f->map_size = fix.smem_len;
    if (var.xres == 0 || var.yres == 0 || fix.line_length < var.xres * (var.bits_per_pixel / 8) ||
        f->offset + (size_t)fix.line_length * var.yres > f->map_size)
        return err_set(e, -EINVAL, "--display fbdev: %s reports a %ux%u screen its %u bytes of memory cannot hold",
                       f->path, var.xres, var.yres, fix.smem_len);
    void *p = mmap(NULL, f->map_size, PROT_READ | PROT_WRITE, MAP_SHARED, f->fd, 0);
    if (p == MAP_FAILED)
        return err_set(e, -errno, "--display fbdev: cannot map %s: %s", f->path, strerror(errno));
    f->map = p;
    ioctl(f->fd, FBIOBLANK, FB_BLANK_UNBLANK);
    f->s->display->w = (int)var.xres;
    f->s->display->h = (int)var.yres;
    return 0;
}

static int fbdev_open(struct slated *s, const char *arg, struct err *e) {
    struct fbdev *f = calloc(1, sizeof *f);
    int r;
    if (!f)
        return err_set(e, -ENOMEM, "out of memory");
    *f = (struct fbdev){.s = s, .fd = -1, .tty = -1};
    if (strlen(arg) >= sizeof f->path) {
        free(f);
        return err_set(e, -ENAMETOOLONG, "--display fbdev:%s: a device such as /dev/fb0", arg);
    }
    snprintf(f->path, sizeof f->path, "%s", arg[0] ? arg : "/dev/fb0");
    if ((r = setup(f, e)) < 0) {
        fbdev_free(f);
        return r;
    }
    s->display->backend_state = f;
    if ((r = evdev_open(s, NULL, &f->input, e)) < 0) {
        fbdev_free(f);
        s->display->backend_state = NULL;
        return r;
    }
    f->tty = console_graphics();
    slated_log(s, "fbdev: %s, %dx%d, %u bits a pixel (red %u:%u, green %u:%u, blue %u:%u)", f->path, s->display->w,
               s->display->h, f->fmt.bpp, f->fmt.red.offset, f->fmt.red.length, f->fmt.green.offset,
               f->fmt.green.length, f->fmt.blue.offset, f->fmt.blue.length);
    return 0;
}

static void fbdev_close(struct slated *s) {
    struct fbdev *f = F(s);
    if (!f)
        return;
    fbdev_free(f);
    s->display->backend_state = NULL;
}

const struct display_backend fbdev_backend = {
    .name = "fbdev", .open = fbdev_open, .damage = fbdev_damage, .close = fbdev_close};
