/* test-image.c: decoding PNG, JPEG and WebP (made here with the libraries themselves), EXIF orientation, scaling, refusals. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>
#include <jpeglib.h>
#include <png.h>
#include <webp/encode.h>

#include "image-load.h"

struct buf {
    uint8_t *data;
    size_t len;
};

static void buf_add(struct buf *b, const void *p, size_t n) {
    b->data = realloc(b->data, b->len + n);
    assert_non_null(b->data);
    memcpy(b->data + b->len, p, n);
    b->len += n;
}

/* ---- fixtures ---- */

/* RGBA pixels of a w x h picture: four quadrants, red, green, blue, white, with alpha a everywhere. */
static uint8_t *quadrants(int w, int h, uint8_t a) {
    uint8_t *rgba = malloc((size_t)w * (size_t)h * 4);
    assert_non_null(rgba);
    for (int y = 0; y < h; y++)
        for (int x = 0; x < w; x++) {
            static const uint8_t colours[4][3] = {{255, 0, 0}, {0, 255, 0}, {0, 0, 255}, {255, 255, 255}};
            const uint8_t *c = colours[(y >= h / 2) * 2 + (x >= w / 2)];
            uint8_t *p = rgba + ((size_t)y * (size_t)w + (size_t)x) * 4;
            p[0] = c[0], p[1] = c[1], p[2] = c[2], p[3] = a;
        }
    return rgba;
}

static void png_write_cb(png_structp png, png_bytep data, size_t n) {
    buf_add(png_get_io_ptr(png), data, n);
}

static void png_flush_cb(png_structp png) {
    (void)png;
}

/* A PNG of colour type and depth (rows given as the type needs them), optionally interlaced, optionally with tRNS. */
static struct buf make_png(int w, int h, int colour, int depth, bool interlace, uint8_t **rows,
                           const png_color *palette, int n_palette, const png_byte *trns, int n_trns) {
    struct buf b = {0};
    png_structp png = png_create_write_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_non_null(info);
    if (setjmp(png_jmpbuf(png)))
        fail_msg("libpng failed to write a fixture");
    png_set_write_fn(png, &b, png_write_cb, png_flush_cb);
    png_set_IHDR(png, info, (png_uint_32)w, (png_uint_32)h, depth, colour,
                 interlace ? PNG_INTERLACE_ADAM7 : PNG_INTERLACE_NONE, PNG_COMPRESSION_TYPE_DEFAULT,
                 PNG_FILTER_TYPE_DEFAULT);
    if (palette)
        png_set_PLTE(png, info, palette, n_palette);
    if (trns)
        png_set_tRNS(png, info, trns, n_trns, NULL);
    png_write_info(png, info);
    png_write_image(png, rows);
    png_write_end(png, info);
    png_destroy_write_struct(&png, &info);
    return b;
}

static struct buf make_png_rgba(int w, int h, const uint8_t *rgba) {
    uint8_t **rows = malloc(sizeof *rows * (size_t)h);
    for (int y = 0; y < h; y++)
        rows[y] = (uint8_t *)rgba + (size_t)y * (size_t)w * 4;
    struct buf b = make_png(w, h, PNG_COLOR_TYPE_RGBA, 8, false, rows, NULL, 0, NULL, 0);
    free(rows);
    return b;
}

/* A JPEG of the RGB of rgba, with an EXIF orientation (0: no EXIF) written as an APP1 segment. */
static struct buf make_jpeg(int w, int h, const uint8_t *rgba, int orientation, bool big_endian) {
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    unsigned char *out = NULL;
    unsigned long len = 0;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    jpeg_mem_dest(&c, &out, &len);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 4;
    c.in_color_space = JCS_EXT_RGBX;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 95, TRUE);
    jpeg_start_compress(&c, TRUE);
    if (orientation) {
        /* "Exif\0\0", a TIFF header, IFD0 with one entry: orientation, SHORT, count 1. */
        uint8_t exif[6 + 8 + 2 + 12 + 4] = "Exif\0\0";
        uint8_t *t = exif + 6;
        if (big_endian) {
            memcpy(t, "MM\0\x2a\0\0\0\x08", 8);
            memcpy(t + 8, "\0\x01\x01\x12\0\x03\0\0\0\x01", 10);
            t[18] = 0, t[19] = (uint8_t)orientation;
        } else {
            memcpy(t, "II\x2a\0\x08\0\0\0", 8);
            memcpy(t + 8, "\x01\0\x12\x01\x03\0\x01\0\0\0", 10);
            t[18] = (uint8_t)orientation, t[19] = 0;
        }
        jpeg_write_marker(&c, JPEG_APP0 + 1, exif, sizeof exif);
    }
    while (c.next_scanline < c.image_height) {
        JSAMPROW row = (JSAMPROW)(rgba + (size_t)c.next_scanline * (size_t)w * 4);
        jpeg_write_scanlines(&c, &row, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    struct buf b = {0};
    buf_add(&b, out, len);
    free(out);
    return b;
}

static struct buf make_webp(int w, int h, const uint8_t *rgba, bool lossless) {
    uint8_t *out = NULL;
    size_t len = lossless ? WebPEncodeLosslessRGBA(rgba, w, h, w * 4, &out)
                          : WebPEncodeRGBA(rgba, w, h, w * 4, 90, &out);
    assert_true(len > 0);
    struct buf b = {0};
    buf_add(&b, out, len);
    WebPFree(out);
    return b;
}

/* ---- checks ---- */

static uint32_t px(const struct image *img, int x, int y) {
    return img->px[(size_t)y * (size_t)img->stride + (size_t)x];
}

/* Within tol of the colour on every channel (lossy formats), alpha exact. */
static void assert_near(uint32_t got, uint32_t want, int tol) {
    for (int sh = 0; sh < 32; sh += 8) {
        int g = (int)(got >> sh & 0xFF), w = (int)(want >> sh & 0xFF);
        if (abs(g - w) > (sh == 24 ? 0 : tol))
            fail_msg("pixel %08x, wanted %08x (within %d)", got, want, tol);
    }
}

/* The quadrants of make-quadrants, opaque, seen from where each corner ended up. */
static void assert_quadrants(const struct image *img, uint32_t tl, uint32_t tr, uint32_t bl, uint32_t br, int tol) {
    int w = img->w, h = img->h;
    assert_near(px(img, w / 4, h / 4), tl, tol);
    assert_near(px(img, 3 * w / 4, h / 4), tr, tol);
    assert_near(px(img, w / 4, 3 * h / 4), bl, tol);
    assert_near(px(img, 3 * w / 4, 3 * h / 4), br, tol);
}

#define RED 0xFFFF0000u
#define GREEN 0xFF00FF00u
#define BLUE 0xFF0000FFu
#define WHITE 0xFFFFFFFFu

/* A refusal: negative, one line naming the file. */
static void assert_refused(const struct buf *b, const char *name, const char *words) {
    struct image *img = (struct image *)&img; /* must stay untouched */
    struct image *const before = img;
    struct err e = {0};
    int r = image_load_memory(b->data, b->len, name, 0, 0, &img, &e);
    assert_true(r < 0);
    assert_ptr_equal(img, before);
    assert_non_null(strstr(e.msg, name));
    assert_null(strchr(e.msg, '\n'));
    if (!strstr(e.msg, words))
        fail_msg("refusal of %s says \"%s\", not \"%s\"", name, e.msg, words);
}

static struct image *load(const struct buf *b, const char *name, int max_w, int max_h) {
    struct image *img = NULL;
    struct err e = {0};
    if (image_load_memory(b->data, b->len, name, max_w, max_h, &img, &e) < 0)
        fail_msg("%s: %s", name, e.msg);
    return img;
}

/* ---- tests ---- */

static void test_png(void **state) {
    (void)state;
    uint8_t *rgba = quadrants(40, 20, 255);
    rgba[3] = 128; /* the first pixel half transparent: premultiplied */
    struct buf b = make_png_rgba(40, 20, rgba);
    struct image *img = load(&b, "q.png", 0, 0);
    assert_true(img->w == 40 && img->h == 20 && !img->opaque);
    assert_int_equal(px(img, 0, 0), 0x80800000u);
    assert_quadrants(img, RED, GREEN, BLUE, WHITE, 0);
    image_free(img);
    free(b.data);

    rgba[3] = 255;
    b = make_png_rgba(40, 20, rgba);
    img = load(&b, "q.png", 0, 0);
    assert_true(img->opaque);
    image_free(img);
    /* Covering 10 x 10 takes 20 x 10; never larger than the picture. */
    img = load(&b, "q.png", 10, 10);
    assert_true(img->w == 20 && img->h == 10);
    assert_quadrants(img, RED, GREEN, BLUE, WHITE, 2);
    image_free(img);
    img = load(&b, "q.png", 8, 0);
    assert_true(img->w == 8 && img->h == 4);
    image_free(img);
    img = load(&b, "q.png", 1000, 1000);
    assert_true(img->w == 40 && img->h == 20);
    image_free(img);
    free(b.data);
    free(rgba);
}

static void test_png_kinds(void **state) {
    (void)state;
    /* A palette with one colour half transparent (tRNS), 4 bits a pixel. */
    png_color palette[2] = {{255, 0, 0}, {0, 0, 255}};
    png_byte trns[1] = {128};
    uint8_t row0[2] = {0x01, 0x10}, row1[2] = {0x11, 0x00};
    uint8_t *rows[2] = {row0, row1};
    struct buf b = make_png(4, 2, PNG_COLOR_TYPE_PALETTE, 4, false, rows, palette, 2, trns, 1);
    struct image *img = load(&b, "palette.png", 0, 0);
    assert_int_equal(px(img, 0, 0), 0x80800000u);
    assert_int_equal(px(img, 1, 0), BLUE);
    assert_int_equal(px(img, 2, 0), BLUE);
    assert_int_equal(px(img, 3, 0), 0x80800000u);
    assert_false(img->opaque);
    image_free(img);
    free(b.data);

    /* 16-bit grey, Adam7-interlaced. */
    enum { W = 9, H = 7 };
    uint8_t grey[H][W * 2];
    uint8_t *grows[H];
    for (int y = 0; y < H; y++) {
        for (int x = 0; x < W; x++) {
            uint16_t v = (uint16_t)((x * 7 + y * 3) * 1000);
            grey[y][2 * x] = (uint8_t)(v >> 8), grey[y][2 * x + 1] = (uint8_t)v;
        }
        grows[y] = grey[y];
    }
    b = make_png(W, H, PNG_COLOR_TYPE_GRAY, 16, true, grows, NULL, 0, NULL, 0);
    img = load(&b, "grey16.png", 0, 0);
    assert_true(img->w == W && img->h == H && img->opaque);
    for (int y = 0; y < H; y++)
        for (int x = 0; x < W; x++) {
            unsigned v = (unsigned)(((x * 7 + y * 3) * 1000 * 255 + 32767) / 65535);
            assert_near(px(img, x, y), 0xFF000000u | v << 16 | v << 8 | v, 1);
        }
    image_free(img);
    free(b.data);
}

static void test_jpeg(void **state) {
    (void)state;
    uint8_t *rgba = quadrants(64, 48, 255);
    struct buf b = make_jpeg(64, 48, rgba, 0, false);
    struct image *img = load(&b, "q.jpg", 0, 0);
    assert_true(img->w == 64 && img->h == 48 && img->opaque);
    assert_quadrants(img, RED, GREEN, BLUE, WHITE, 12);
    image_free(img);
    free(b.data);
    free(rgba);

    /* A big one asked for small: decoded at 1/4 in the DCT (200 x 150, twice 100 x 75), then filtered. */
    rgba = quadrants(800, 600, 255);
    b = make_jpeg(800, 600, rgba, 0, false);
    img = load(&b, "big.jpg", 100, 60);
    assert_true(img->w == 100 && img->h == 75);
    assert_quadrants(img, RED, GREEN, BLUE, WHITE, 12);
    image_free(img);
    free(b.data);
    free(rgba);
}

static void test_jpeg_orientation(void **state) {
    (void)state;
    uint8_t *rgba = quadrants(64, 48, 255);
    for (int big_endian = 0; big_endian <= 1; big_endian++) {
        /* 6: the camera was turned a quarter clockwise: the picture's left side comes on top. */
        struct buf b = make_jpeg(64, 48, rgba, 6, big_endian);
        struct image *img = load(&b, "turned.jpg", 0, 0);
        assert_true(img->w == 48 && img->h == 64);
        assert_quadrants(img, BLUE, RED, WHITE, GREEN, 12);
        image_free(img);
        /* The target is upright too: covering 24 x 24 of a 48 x 64 picture is 24 x 32. */
        img = load(&b, "turned.jpg", 24, 24);
        assert_true(img->w == 24 && img->h == 32);
        assert_quadrants(img, BLUE, RED, WHITE, GREEN, 12);
        image_free(img);
        free(b.data);

        /* 3: upside down. */
        b = make_jpeg(64, 48, rgba, 3, big_endian);
        img = load(&b, "upside-down.jpg", 0, 0);
        assert_true(img->w == 64 && img->h == 48);
        assert_quadrants(img, WHITE, BLUE, GREEN, RED, 12);
        image_free(img);
        free(b.data);
    }
    /* 8: a quarter the other way. */
    struct buf b = make_jpeg(64, 48, rgba, 8, false);
    struct image *img = load(&b, "turned-back.jpg", 0, 0);
    assert_true(img->w == 48 && img->h == 64);
    assert_quadrants(img, GREEN, WHITE, RED, BLUE, 12);
    image_free(img);
    free(b.data);
    free(rgba);
}

static void test_webp(void **state) {
    (void)state;
    uint8_t *rgba = quadrants(40, 30, 255);
    rgba[3] = 64;
    struct buf b = make_webp(40, 30, rgba, true);
    struct image *img = load(&b, "q.webp", 0, 0);
    assert_true(img->w == 40 && img->h == 30 && !img->opaque);
    assert_near(px(img, 0, 0), 0x40400000u, 1);
    assert_quadrants(img, RED, GREEN, BLUE, WHITE, 0);
    image_free(img);
    free(b.data);

    rgba[3] = 255;
    b = make_webp(40, 30, rgba, false);
    img = load(&b, "lossy.webp", 20, 0);
    assert_true(img->w == 20 && img->h == 15 && img->opaque);
    assert_quadrants(img, RED, GREEN, BLUE, WHITE, 24);
    image_free(img);
    free(b.data);
    free(rgba);
}

static uint32_t crc32_of(const uint8_t *p, size_t n) {
    uint32_t c = 0xFFFFFFFFu;
    for (size_t i = 0; i < n; i++) {
        c ^= p[i];
        for (int k = 0; k < 8; k++)
            c = c >> 1 ^ (0xEDB88320u & (0u - (c & 1)));
    }
    return ~c;
}

static void put32(uint8_t *p, uint32_t v) {
    p[0] = (uint8_t)(v >> 24), p[1] = (uint8_t)(v >> 16), p[2] = (uint8_t)(v >> 8), p[3] = (uint8_t)v;
}

/* A PNG that is only a signature and a valid IHDR claiming w x h: what a hostile header looks like. */
static struct buf png_header(uint32_t w, uint32_t h) {
    uint8_t f[8 + 25] = "\x89PNG\r\n\x1a\n";
    uint8_t *c = f + 8;
    put32(c, 13);
    memcpy(c + 4, "IHDR", 4);
    put32(c + 8, w);
    put32(c + 12, h);
    c[16] = 8, c[17] = 6, c[18] = 0, c[19] = 0, c[20] = 0;
    put32(c + 21, crc32_of(c + 4, 17));
    struct buf b = {0};
    buf_add(&b, f, sizeof f);
    return b;
}

static void test_refusals(void **state) {
    (void)state;
    struct buf b = {0};
    buf_add(&b, "GIF89a\x01\0\x01\0", 10);
    assert_refused(&b, "anim.gif", "not a PNG, JPEG or WebP file");
    free(b.data);
    b = (struct buf){0};
    assert_refused(&b, "empty.png", "not a PNG, JPEG or WebP file");

    /* Absurd sizes, refused before anything is allocated. */
    b = png_header(20000, 10);
    assert_refused(&b, "wide.png", "20000x10 pixels is too big");
    free(b.data);
    b = png_header(10000, 10000);
    assert_refused(&b, "huge.png", "too big");
    free(b.data);
    b = png_header(1, 1);
    assert_refused(&b, "headless.png", "broken PNG file (the file ends early)");
    free(b.data);

    uint8_t *rgba = quadrants(64, 48, 255);
    struct buf jpg = make_jpeg(64, 48, rgba, 6, false);
    /* The SOF0 frame's height and width patched to 30000 x 30000. */
    for (size_t i = 0; i + 9 < jpg.len; i++)
        if (jpg.data[i] == 0xFF && jpg.data[i + 1] == 0xC0) {
            jpg.data[i + 5] = 0x75, jpg.data[i + 6] = 0x30, jpg.data[i + 7] = 0x75, jpg.data[i + 8] = 0x30;
            break;
        }
    assert_refused(&jpg, "huge.jpg", "30000x30000 pixels is too big");
    free(jpg.data);

    /* Truncated files of each kind. */
    jpg = make_jpeg(64, 48, rgba, 0, false);
    jpg.len = jpg.len * 2 / 3;
    assert_refused(&jpg, "cut.jpg", "broken JPEG file");
    jpg.len = 200;
    assert_refused(&jpg, "cut-header.jpg", "broken JPEG file");
    free(jpg.data);
    struct buf png = make_png_rgba(64, 48, rgba);
    png.len = png.len / 2;
    assert_refused(&png, "cut.png", "the file ends early");
    free(png.data);
    struct buf webp = make_webp(64, 48, rgba, false);
    webp.len = webp.len / 2;
    assert_refused(&webp, "cut.webp", "broken WebP file");
    webp.len = 20;
    assert_refused(&webp, "cut-header.webp", "broken WebP file");
    free(webp.data);
    free(rgba);

    /* A lossless WebP header claiming 16384 x 16384. */
    uint8_t vp8l[] = "RIFF\x1a\0\0\0WEBPVP8L\x0d\0\0\0\x2f\xff\xff\xff\x0f\0\0\0\0\0\0\0\0\0";
    b = (struct buf){0};
    buf_add(&b, vp8l, sizeof vp8l - 1);
    assert_refused(&b, "huge.webp", "16384x16384 pixels is too big");
    free(b.data);
}

static void test_files(void **state) {
    (void)state;
    char path[] = "/tmp/slate-image-XXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    uint8_t *rgba = quadrants(16, 16, 255);
    struct buf b = make_png_rgba(16, 16, rgba);
    assert_int_equal(write(fd, b.data, b.len), (ssize_t)b.len);
    close(fd);
    struct image *img = NULL;
    struct err e = {0};
    assert_int_equal(image_load(path, 0, 0, &img, &e), 0);
    assert_true(img->w == 16 && img->h == 16);
    image_free(img);
    unlink(path);
    free(b.data);
    free(rgba);

    img = NULL;
    assert_int_equal(image_load(path, 0, 0, &img, &e), -ENOENT);
    assert_non_null(strstr(e.msg, path));
    assert_null(img);
    assert_true(image_load("/tmp", 0, 0, &img, &e) < 0);
    assert_non_null(strstr(e.msg, "/tmp: not a regular file"));
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_png),
        cmocka_unit_test(test_png_kinds),
        cmocka_unit_test(test_jpeg),
        cmocka_unit_test(test_jpeg_orientation),
        cmocka_unit_test(test_webp),
        cmocka_unit_test(test_refusals),
        cmocka_unit_test(test_files),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
