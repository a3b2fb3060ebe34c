/*
 * pictures.c: the gallery's pictures, made at build time: three scenes painted here (a landscape,
 * a sunset over water, a tiled pattern with transparency) and written as JPEG, WebP and PNG by
 * the libraries themselves, so the gallery shows one picture of each format the toolkit decodes.
 *
 * usage: pictures OUTDIR
 */
#include <math.h>
#include <png.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>
#include <webp/encode.h>

#define W 1200
#define H 800

static double clamp01(double v) {
    return v < 0 ? 0 : v > 1 ? 1 : v;
}

static void mix(double *c, const double *to, double t) {
    for (int i = 0; i < 3; i++)
        c[i] += (to[i] - c[i]) * clamp01(t);
}

/* Hills under a morning sky, a sun, mist in the valleys. */
static void landscape(int x, int y, uint8_t *out) {
    double u = (double)x / W, v = (double)y / H, c[3] = {0.55, 0.75, 0.95};
    const double horizon[3] = {0.95, 0.88, 0.78}, sun[3] = {1, 0.97, 0.85};
    mix(c, horizon, v * 1.6);
    double d = hypot(u - 0.72, (v - 0.28) * H / W);
    if (d < 0.05)
        mix(c, sun, 1);
    else
        mix(c, sun, 0.5 - d * 3);
    for (int layer = 0; layer < 4; layer++) {
        double ridge = 0.45 + layer * 0.12 + 0.06 * sin(u * (5 + layer * 3) + layer) + 0.03 * sin(u * 17 + layer * 2);
        if (v > ridge) {
            double green[3] = {0.18 + 0.1 * layer, 0.42 - 0.04 * layer, 0.25 - 0.03 * layer};
            double haze = 0.5 - layer * 0.15;
            mix(green, horizon, haze);
            memcpy(c, green, sizeof c);
            mix(c, (double[3]){0.1, 0.2, 0.1}, (v - ridge) * 1.5);
        }
    }
    for (int i = 0; i < 3; i++)
        out[i] = (uint8_t)(clamp01(c[i]) * 255 + 0.5);
}

/* A sun going down over water, its path on the waves. */
static void sunset(int x, int y, uint8_t *out) {
    double u = (double)x / W, v = (double)y / H, c[3] = {0.25, 0.15, 0.45};
    const double glow[3] = {1, 0.55, 0.25}, sun[3] = {1, 0.9, 0.6}, sea[3] = {0.08, 0.12, 0.3};
    double sea_line = 0.62;
    if (v < sea_line) {
        mix(c, glow, v / sea_line);
        double d = hypot(u - 0.5, (v - 0.55) * H / W);
        if (d < 0.07)
            mix(c, sun, 1);
        else
            mix(c, glow, 0.6 - d * 2);
    } else {
        memcpy(c, sea, sizeof c);
        double wave = sin(v * 400 + sin(u * 40) * 2) * 0.5 + 0.5, path = exp(-pow((u - 0.5) * 8 / (v + 0.2), 2));
        mix(c, glow, path * wave * 0.9);
    }
    for (int i = 0; i < 3; i++)
        out[i] = (uint8_t)(clamp01(c[i]) * 255 + 0.5);
}

/* Tiles of colour with round holes: the holes are transparent. */
static void pattern(int x, int y, uint8_t *out) {
    int tx = x / 100, ty = y / 100;
    double cx = x % 100 - 50, cy = y % 100 - 50, d = hypot(cx, cy);
    double hue = (tx * 7 + ty * 3) % 12 / 12.0 * 6;
    double r = clamp01(fabs(hue - 3) - 1), g = clamp01(2 - fabs(hue - 2)), b = clamp01(2 - fabs(hue - 4));
    out[0] = (uint8_t)(r * 200 + 40);
    out[1] = (uint8_t)(g * 200 + 40);
    out[2] = (uint8_t)(b * 200 + 40);
    out[3] = (uint8_t)(clamp01((d - 28) / 2) * 255); /* an antialiased hole */
}

static uint8_t *render(void (*fn)(int, int, uint8_t *), int channels) {
    uint8_t *px = malloc((size_t)W * H * channels);
    if (!px) {
        fprintf(stderr, "pictures: out of memory\n");
        exit(1);
    }
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++)
            fn(x, y, px + ((size_t)y * W + x) * channels);
    return px;
}

static FILE *create(const char *dir, const char *name) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", dir, name);
    FILE *f = fopen(path, "wb");
    if (!f) {
        perror(path);
        exit(1);
    }
    return f;
}

static void write_jpeg(const char *dir, const char *name, const uint8_t *rgb) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    FILE *f = create(dir, name);
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_stdio_dest(&c, f);
    c.image_width = W;
    c.image_height = H;
    c.input_components = 3;
    c.in_color_space = JCS_RGB;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 88, TRUE);
    jpeg_start_compress(&c, TRUE);
    while (c.next_scanline < H) {
        JSAMPROW row = (JSAMPROW)(rgb + (size_t)c.next_scanline * W * 3);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    fclose(f);
}

static void write_webp(const char *dir, const char *name, const uint8_t *rgb) {
    uint8_t *out = NULL;
    size_t n = WebPEncodeRGB(rgb, W, H, W * 3, 85, &out);
    FILE *f = create(dir, name);
    if (!n || fwrite(out, 1, n, f) != n || fclose(f) != 0) {
        fprintf(stderr, "pictures: cannot write %s\n", name);
        exit(1);
    }
    WebPFree(out);
}

static void write_png(const char *dir, const char *name, const uint8_t *rgba) {
    FILE *f = create(dir, name);
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    if (!png || !info || setjmp(png_jmpbuf(png))) {
        fprintf(stderr, "pictures: cannot write %s\n", name);
        exit(1);
    }
    png_init_io(png, f);
    png_set_IHDR(png, info, W, H, 8, PNG_COLOR_TYPE_RGBA, PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    png_write_info(png, info);
    for (int y = 0; y < H; y++)
        png_write_row(png, rgba + (size_t)y * W * 4);
    png_write_end(png, NULL);
    png_destroy_write_struct(&png, &info);
    fclose(f);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: pictures OUTDIR\n");
        return 2;
    }
    uint8_t *a = render(landscape, 3), *b = render(sunset, 3), *c = render(pattern, 4);
    write_jpeg(argv[1], "hills.jpg", a);
    write_webp(argv[1], "sunset.webp", b);
    write_png(argv[1], "tiles.png", c);
    free(a);
    free(b);
    free(c);
    return 0;
}
