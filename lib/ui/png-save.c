/* png-save.c: XRGB pixels to PNG through libpng, loaded on first use. */
#include "png-save.h"

#include <errno.h>
#include <png.h>
#include <setjmp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "image-dl.h"

struct sink {
    int fd;
    int err; /* the first write that failed */
    char message[160];
};

static void on_write(png_structp png, png_bytep data, size_t len) {
    struct sink *k = sym_png_get_io_ptr(png);
    while (len && !k->err) {
        ssize_t n = write(k->fd, data, len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            k->err = n < 0 ? errno : EIO;
            break;
        }
        data += n;
        len -= (size_t)n;
    }
}

static void on_flush(png_structp png) {
    (void)png;
}

static void on_error(png_structp png, png_const_charp msg) {
    struct sink *k = sym_png_get_io_ptr(png);
    snprintf(k->message, sizeof k->message, "%s", msg);
    longjmp(*sym_png_set_longjmp_fn(png, longjmp, sizeof(jmp_buf)), 1);
}

static void on_warning(png_structp png, png_const_charp msg) {
    (void)png, (void)msg;
}

int png_save(const uint32_t *xrgb, int w, int h, int stride, int fd, struct err *e) {
    int r = dlopen_libpng(e);
    if (r < 0)
        return r;
    if (w <= 0 || h <= 0)
        return err_set(e, -EINVAL, "an image of %d x %d pixels", w, h);
    /* What a longjmp returns to is set before setjmp and only read after: the sink lives on the heap. */
    struct sink *k = calloc(1, sizeof *k);
    uint8_t *row = malloc((size_t)w * 3);
    png_structp png = k ? sym_png_create_write_struct(PNG_LIBPNG_VER_STRING, k, on_error, on_warning) : NULL;
    png_infop info = png ? sym_png_create_info_struct(png) : NULL;
    if (!k || !row || !png || !info) {
        if (png)
            sym_png_destroy_write_struct(&png, &info);
        free(row);
        free(k);
        return err_set(e, -ENOMEM, "out of memory");
    }
    k->fd = fd;
    if (setjmp(*sym_png_set_longjmp_fn(png, longjmp, sizeof(jmp_buf)))) {
        sym_png_destroy_write_struct(&png, &info);
        r = err_set(e, k->err ? -k->err : -EIO, "PNG: %s", k->err ? strerror(k->err) : k->message);
        free(row);
        free(k);
        return r;
    }
    sym_png_set_write_fn(png, k, on_write, on_flush);
    /* Screens are flat colour and text: fast compression loses little. */
    sym_png_set_compression_level(png, 3);
    sym_png_set_filter(png, 0, PNG_FILTER_SUB | PNG_FILTER_UP);
    sym_png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, 8, PNG_COLOR_TYPE_RGB, PNG_INTERLACE_NONE,
                     PNG_COMPRESSION_TYPE_DEFAULT, PNG_FILTER_TYPE_DEFAULT);
    sym_png_write_info(png, info);
    for (int y = 0; y < h && !k->err; y++) {
        const uint32_t *src = xrgb + (size_t)y * stride;
        for (int x = 0; x < w; x++) {
            row[3 * x] = (uint8_t)(src[x] >> 16);
            row[3 * x + 1] = (uint8_t)(src[x] >> 8);
            row[3 * x + 2] = (uint8_t)src[x];
        }
        sym_png_write_row(png, row);
    }
    if (!k->err)
        sym_png_write_end(png, info);
    sym_png_destroy_write_struct(&png, &info);
    r = k->err ? err_set(e, -k->err, "PNG: %s", strerror(k->err)) : 0;
    free(row);
    free(k);
    return r;
}
