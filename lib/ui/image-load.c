/* image-load.c: PNG, JPEG and WebP files into premultiplied images at the size they are shown, bounded. */
#include "image-load.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <setjmp.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <jerror.h>

#include "image-dl.h"

/*
 * Header sizes are the file's word, not a fact: nothing is allocated for a
 * picture before its size is checked against these, and every decoder reads
 * only the bytes it was given.
 */
#define SIDE_MAX 16384
#define PIXELS_MAX (64 * 1024 * 1024)
#define FILE_MAX (256 * 1024 * 1024)
/* libjpeg's working memory (a progressive JPEG keeps every coefficient: 6 bytes a pixel at most). */
#define JPEG_MEMORY_MAX (256 * 1024 * 1024)
/* libpng's own cap on one ancillary chunk (an ICC profile, text): the pixels need none of them. */
#define PNG_CHUNK_MAX (1024 * 1024)

static int check_size(const char *name, int64_t w, int64_t h, struct err *e) {
    if (w <= 0 || h <= 0)
        return err_set(e, -E_MALFORMED, "%s: the picture has no pixels (%" PRId64 "x%" PRId64 ")", name, w, h);
    if (w > SIDE_MAX || h > SIDE_MAX || w * h > PIXELS_MAX)
        return err_set(e, -EFBIG, "%s: %" PRId64 "x%" PRId64 " pixels is too big (at most %d a side and %d Mpixel)",
                       name, w, h, SIDE_MAX, PIXELS_MAX >> 20);
    return 0;
}

/* The size to show a w x h picture at: scaled down (never up), keeping its shape, to just cover max_w x max_h. */
static void fit(int w, int h, int max_w, int max_h, int *ret_w, int *ret_h) {
    int64_t mw = max_w > 0 ? max_w : 0, mh = max_h > 0 ? max_h : 0;
    *ret_w = w;
    *ret_h = h;
    if (mw == 0 && mh == 0)
        return;
    /* The side that needs the larger scale decides; the other follows, rounded up. */
    if (mw * h >= mh * w) {
        if (mw < w) {
            *ret_w = (int)mw;
            *ret_h = (int)((h * mw + w - 1) / w);
        }
    } else if (mh < h) {
        *ret_h = (int)mh;
        *ret_w = (int)((w * mh + h - 1) / h);
    }
}

/* img (taken) at w x h: itself when it already is, else scaled and freed. */
static int finish(struct image *img, int w, int h, const char *name, struct image **ret, struct err *e) {
    if (img->w != w || img->h != h) {
        struct image *scaled = image_scale(img, w, h);
        image_free(img);
        if (!scaled)
            return err_set(e, -ENOMEM, "%s: cannot scale the picture to %dx%d (out of memory, or no pixman)", name,
                           w, h);
        img = scaled;
    }
    *ret = img;
    return 0;
}

/* ---- PNG ---- */

/* What the PNG decoder's callbacks share with it; it lives in the caller of the function that calls setjmp. */
struct png_job {
    const uint8_t *data;
    size_t len, pos;
    jmp_buf jmp;
    char msg[160];
    png_structp png;
    png_infop info;
    png_bytep *rows;
    struct image *img;
};

/* libpng's errors end here: the message is kept and the decoder unwinds to its setjmp. */
static void png_on_error(png_structp png, png_const_charp msg) {
    struct png_job *j = sym_png_get_error_ptr(png);
    snprintf(j->msg, sizeof j->msg, "%s", msg);
    longjmp(j->jmp, 1);
}

static void png_on_warning(png_structp png, png_const_charp msg) {
    (void)png;
    (void)msg; /* a damaged ancillary chunk: skipped, the picture is still good */
}

static void png_on_read(png_structp png, png_bytep out, size_t n) {
    struct png_job *j = sym_png_get_io_ptr(png);
    if (n > j->len - j->pos) {
        snprintf(j->msg, sizeof j->msg, "the file ends early");
        longjmp(j->jmp, 1);
    }
    memcpy(out, j->data + j->pos, n);
    j->pos += n;
}

/* RGBA bytes (as libpng wrote them over the image's pixels) into premultiplied ARGB, in place. */
static void png_premultiply(struct image *img) {
    bool opaque = true;
    for (int y = 0; y < img->h; y++) {
        uint32_t *p = img->px + (size_t)y * (size_t)img->stride;
        const uint8_t *b = (const uint8_t *)p;
        for (int x = 0; x < img->w; x++, b += 4) {
            uint32_t r = b[0], g = b[1], bl = b[2], a = b[3];
            if (a != 255) {
                opaque = false;
                r = (r * a + 127) / 255;
                g = (g * a + 127) / 255;
                bl = (bl * a + 127) / 255;
            }
            p[x] = a << 24 | r << 16 | g << 8 | bl;
        }
    }
    img->opaque = opaque;
}

static int png_decode(struct png_job *j, const char *name, struct image **ret_img, struct err *e) {
    j->png = sym_png_create_read_struct(PNG_LIBPNG_VER_STRING, j, png_on_error, png_on_warning);
    if (!j->png)
        return err_set(e, -ENOMEM, "%s: out of memory", name);
    if (setjmp(j->jmp)) {
        sym_png_destroy_read_struct(&j->png, j->info ? &j->info : NULL, NULL);
        free(j->rows);
        image_free(j->img);
        return err_set(e, -E_MALFORMED, "%s: broken PNG file (%s)", name, j->msg);
    }
    j->info = sym_png_create_info_struct(j->png);
    if (!j->info)
        png_on_error(j->png, "out of memory");
    sym_png_set_read_fn(j->png, j, png_on_read);
    sym_png_set_chunk_malloc_max(j->png, PNG_CHUNK_MAX);
    sym_png_read_info(j->png, j->info);

    png_uint_32 w, h; /* load_png checked them */
    sym_png_get_IHDR(j->png, j->info, &w, &h, NULL, NULL, NULL, NULL, NULL);
    /* Whatever it holds (palette, grey, 16 bits, transparency) comes out as 8-bit RGBA. */
    sym_png_set_expand(j->png);
    sym_png_set_scale_16(j->png);
    sym_png_set_gray_to_rgb(j->png);
    sym_png_set_add_alpha(j->png, 0xFF, PNG_FILLER_AFTER);
    sym_png_set_interlace_handling(j->png);
    sym_png_read_update_info(j->png, j->info);
    if (sym_png_get_rowbytes(j->png, j->info) != (size_t)w * 4)
        png_on_error(j->png, "unexpected row size after conversion");

    j->img = image_new((int)w, (int)h);
    j->rows = malloc(sizeof *j->rows * h);
    if (!j->img || !j->rows)
        png_on_error(j->png, "out of memory");
    for (png_uint_32 y = 0; y < h; y++)
        j->rows[y] = (png_bytep)(j->img->px + (size_t)y * (size_t)j->img->stride);
    sym_png_read_image(j->png, j->rows);

    png_premultiply(j->img);
    sym_png_destroy_read_struct(&j->png, &j->info, NULL);
    free(j->rows);
    *ret_img = j->img;
    return 0;
}

/* ---- JPEG ---- */

struct jpeg_job {
    struct jpeg_error_mgr mgr; /* first: libjpeg hands it back as cinfo->err */
    jmp_buf jmp;
    char msg[JMSG_LENGTH_MAX];
    struct jpeg_decompress_struct cinfo;
    bool created;
    uint8_t *row; /* CMYK scanline */
    struct image *img;
};

static void jpeg_on_error(j_common_ptr cinfo) {
    struct jpeg_job *j = (struct jpeg_job *)cinfo->err;
    cinfo->err->format_message(cinfo, j->msg);
    longjmp(j->jmp, 1);
}

/*
 * Warnings about damaged data are tolerated (most such photos still show), but
 * not data that ends early, in the file or in a scan: libjpeg would paint the
 * rest grey and call it done, and a few hundred bytes would stand for a
 * picture of any size.
 */
static void jpeg_on_message(j_common_ptr cinfo, int level) {
    if (level < 0 && (cinfo->err->msg_code == JWRN_JPEG_EOF || cinfo->err->msg_code == JWRN_HIT_MARKER))
        jpeg_on_error(cinfo);
}

static void jpeg_no_output(j_common_ptr cinfo) {
    (void)cinfo; /* libraries never print */
}

static uint16_t rd16(const uint8_t *p, bool le) {
    return le ? (uint16_t)(p[0] | p[1] << 8) : (uint16_t)(p[0] << 8 | p[1]);
}

static uint32_t rd32(const uint8_t *p, bool le) {
    return le ? (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24
              : (uint32_t)p[0] << 24 | (uint32_t)p[1] << 16 | (uint32_t)p[2] << 8 | (uint32_t)p[3];
}

/* The orientation tag (1-8) of an APP1 segment holding EXIF; 1 when there is none or it cannot be read. */
static int exif_orientation(const uint8_t *p, size_t n) {
    if (n < 6 + 8 || memcmp(p, "Exif\0\0", 6) != 0)
        return 1;
    const uint8_t *tiff = p + 6;
    size_t len = n - 6;
    bool le = tiff[0] == 'I' && tiff[1] == 'I';
    if (!le && !(tiff[0] == 'M' && tiff[1] == 'M'))
        return 1;
    if (rd16(tiff + 2, le) != 42)
        return 1;
    uint32_t ifd = rd32(tiff + 4, le);
    if (ifd < 8 || ifd > len - 2)
        return 1;
    size_t count = rd16(tiff + ifd, le);
    if (count > (len - ifd - 2) / 12)
        count = (len - ifd - 2) / 12;
    for (size_t i = 0; i < count; i++) {
        const uint8_t *entry = tiff + ifd + 2 + 12 * i;
        /* Tag 0x0112, one SHORT, held in the entry itself. */
        if (rd16(entry, le) == 0x0112 && rd16(entry + 2, le) == 3 && rd32(entry + 4, le) == 1) {
            int o = rd16(entry + 8, le);
            return o >= 1 && o <= 8 ? o : 1;
        }
    }
    return 1;
}

/* Adobe's CMYK (stored inverted) or plain CMYK scanline into opaque pixels. */
static void cmyk_row(uint32_t *out, const uint8_t *in, int w, bool inverted) {
    for (int x = 0; x < w; x++, in += 4) {
        uint32_t c = in[0], m = in[1], y = in[2], k = in[3];
        if (!inverted)
            c = 255 - c, m = 255 - m, y = 255 - y, k = 255 - k;
        out[x] = 0xFF000000u | (c * k + 127) / 255 << 16 | (m * k + 127) / 255 << 8 | (y * k + 127) / 255;
    }
}

/* The DCT scale (n/8) giving the smallest size at least twice tw x th, or all of it. */
static int jpeg_scale(unsigned w, unsigned h, int tw, int th) {
    for (int n = 1; n < 8; n++) {
        uint64_t sw = ((uint64_t)w * (uint64_t)n + 7) / 8, sh = ((uint64_t)h * (uint64_t)n + 7) / 8;
        if (sw >= 2 * (uint64_t)tw && sh >= 2 * (uint64_t)th)
            return n;
    }
    return 8;
}

/* Decoded and turned upright, at least twice the size asked for; *ret_orientation is EXIF's. */
static int jpeg_decode(struct jpeg_job *j, const uint8_t *data, size_t len, const char *name, int max_w, int max_h,
                       struct image **ret_img, int *ret_orientation, struct err *e) {
    j->cinfo.err = sym_jpeg_std_error(&j->mgr);
    j->mgr.error_exit = jpeg_on_error;
    j->mgr.emit_message = jpeg_on_message;
    j->mgr.output_message = jpeg_no_output;
    if (setjmp(j->jmp)) {
        if (j->created)
            sym_jpeg_destroy_decompress(&j->cinfo);
        free(j->row);
        image_free(j->img);
        /* Past max_memory_to_use libjpeg asks for a backing store (a temporary file), which it lacks. */
        if (j->mgr.msg_code == JERR_OUT_OF_MEMORY || j->mgr.msg_code == JERR_NO_BACKING_STORE)
            return err_set(e, -ENOMEM, "%s: the JPEG needs more than %d MiB to decode", name, JPEG_MEMORY_MAX >> 20);
        return err_set(e, -E_MALFORMED, "%s: broken JPEG file (%s)", name, j->msg);
    }
    sym_jpeg_CreateDecompress(&j->cinfo, JPEG_LIB_VERSION, sizeof j->cinfo);
    j->created = true;
    j->cinfo.mem->max_memory_to_use = JPEG_MEMORY_MAX;
    sym_jpeg_mem_src(&j->cinfo, data, (unsigned long)len);
    sym_jpeg_save_markers(&j->cinfo, JPEG_APP0 + 1, 0xFFFF);
    sym_jpeg_read_header(&j->cinfo, TRUE);

    int r = check_size(name, j->cinfo.image_width, j->cinfo.image_height, e);
    if (r < 0) {
        sym_jpeg_destroy_decompress(&j->cinfo);
        return r;
    }
    int orientation = 1;
    for (jpeg_saved_marker_ptr m = j->cinfo.marker_list; m && orientation == 1; m = m->next)
        if (m->marker == JPEG_APP0 + 1)
            orientation = exif_orientation(m->data, m->data_length);
    /* The target is upright; the decoder works on the stored picture, which 5-8 turn a quarter. */
    bool turned = orientation >= 5;
    int uw = (int)(turned ? j->cinfo.image_height : j->cinfo.image_width);
    int uh = (int)(turned ? j->cinfo.image_width : j->cinfo.image_height);
    int tw, th;
    fit(uw, uh, max_w, max_h, &tw, &th);
    j->cinfo.scale_num = (unsigned)jpeg_scale(j->cinfo.image_width, j->cinfo.image_height, turned ? th : tw,
                                              turned ? tw : th);
    j->cinfo.scale_denom = 8;
    bool cmyk = j->cinfo.jpeg_color_space == JCS_CMYK || j->cinfo.jpeg_color_space == JCS_YCCK;
    j->cinfo.out_color_space = cmyk ? JCS_CMYK : JCS_EXT_BGRA; /* BGRA bytes: 0xAARRGGBB words here */
    sym_jpeg_start_decompress(&j->cinfo);

    int w = (int)j->cinfo.output_width, h = (int)j->cinfo.output_height;
    j->img = image_new(w, h);
    if (cmyk)
        j->row = malloc((size_t)w * 4);
    if (!j->img || (cmyk && !j->row)) {
        snprintf(j->msg, sizeof j->msg, "out of memory for %dx%d pixels", w, h);
        longjmp(j->jmp, 1);
    }
    j->img->opaque = true;
    while (j->cinfo.output_scanline < j->cinfo.output_height) {
        uint32_t *out = j->img->px + (size_t)j->cinfo.output_scanline * (size_t)j->img->stride;
        JSAMPROW row = cmyk ? j->row : (JSAMPROW)out;
        if (sym_jpeg_read_scanlines(&j->cinfo, &row, 1) != 1) {
            snprintf(j->msg, sizeof j->msg, "no more scanlines");
            longjmp(j->jmp, 1);
        }
        if (cmyk)
            cmyk_row(out, j->row, w, j->cinfo.saw_Adobe_marker);
    }
    sym_jpeg_destroy_decompress(&j->cinfo);
    free(j->row);
    *ret_img = j->img;
    *ret_orientation = orientation;
    return 0;
}

/* img turned upright by EXIF orientation o (2-8): a new image, or NULL when out of memory. */
static struct image *orient(const struct image *img, int o) {
    bool turned = o >= 5;
    int W = img->w, H = img->h;
    struct image *out = image_new(turned ? H : W, turned ? W : H);
    if (!out)
        return NULL;
    out->opaque = img->opaque;
    for (int y = 0; y < out->h; y++)
        for (int x = 0; x < out->w; x++) {
            int sx, sy;
            switch (o) {
            case 2: sx = W - 1 - x, sy = y; break;
            case 3: sx = W - 1 - x, sy = H - 1 - y; break;
            case 4: sx = x, sy = H - 1 - y; break;
            case 5: sx = y, sy = x; break;
            case 6: sx = y, sy = H - 1 - x; break;
            case 7: sx = W - 1 - y, sy = H - 1 - x; break;
            default: sx = W - 1 - y, sy = x; break; /* 8 */
            }
            out->px[(size_t)y * (size_t)out->stride + (size_t)x] = img->px[(size_t)sy * (size_t)img->stride + (size_t)sx];
        }
    return out;
}

static int load_jpeg(const uint8_t *data, size_t len, const char *name, int max_w, int max_h, struct image **ret,
                     struct err *e) {
    struct jpeg_job job = {0};
    struct image *img;
    int orientation;
    int r = jpeg_decode(&job, data, len, name, max_w, max_h, &img, &orientation, e);
    if (r < 0)
        return r;
    if (orientation != 1) {
        struct image *upright = orient(img, orientation);
        image_free(img);
        if (!upright)
            return err_set(e, -ENOMEM, "%s: out of memory", name);
        img = upright;
    }
    int tw, th;
    fit(img->w, img->h, max_w, max_h, &tw, &th);
    return finish(img, tw, th, name, ret, e);
}

/* ---- WebP ---- */

static const char *webp_status(VP8StatusCode st) {
    switch (st) {
    case VP8_STATUS_OUT_OF_MEMORY: return "out of memory";
    case VP8_STATUS_UNSUPPORTED_FEATURE: return "a feature libwebp does not decode";
    case VP8_STATUS_NOT_ENOUGH_DATA: return "the file ends early";
    default: return "bad data";
    }
}

static int load_webp(const uint8_t *data, size_t len, const char *name, int max_w, int max_h, struct image **ret,
                     struct err *e) {
    WebPDecoderConfig config;
    if (!sym_WebPInitDecoderConfigInternal(&config, WEBP_DECODER_ABI_VERSION))
        return err_set(e, -ELIBACC, "%s: libwebp is not the version this build expects", name);
    VP8StatusCode st = sym_WebPGetFeaturesInternal(data, len, &config.input, WEBP_DECODER_ABI_VERSION);
    if (st != VP8_STATUS_OK)
        return err_set(e, -E_MALFORMED, "%s: broken WebP file (%s)", name, webp_status(st));
    if (config.input.has_animation)
        return err_set(e, -E_MALFORMED, "%s: animated WebP is not supported", name);
    int r = check_size(name, config.input.width, config.input.height, e);
    if (r < 0)
        return r;
    int tw, th;
    fit(config.input.width, config.input.height, max_w, max_h, &tw, &th);
    struct image *img = image_new(tw, th);
    if (!img)
        return err_set(e, -ENOMEM, "%s: out of memory for %dx%d pixels", name, tw, th);
    /* libwebp's own scaler averages down to the target; premultiplied BGRA bytes are 0xAARRGGBB words. */
    if (tw != config.input.width || th != config.input.height) {
        config.options.use_scaling = 1;
        config.options.scaled_width = tw;
        config.options.scaled_height = th;
    }
    config.output.colorspace = MODE_bgrA;
    config.output.is_external_memory = 1;
    config.output.u.RGBA.rgba = (uint8_t *)img->px;
    config.output.u.RGBA.stride = img->stride * 4;
    config.output.u.RGBA.size = (size_t)img->stride * 4 * (size_t)img->h;
    st = sym_WebPDecode(data, len, &config);
    sym_WebPFreeDecBuffer(&config.output);
    if (st != VP8_STATUS_OK) {
        image_free(img);
        return err_set(e, -E_MALFORMED, "%s: broken WebP file (%s)", name, webp_status(st));
    }
    /* has_alpha is the header's hint: a lossless stream can hold alpha the header denies. */
    img->opaque = true;
    for (size_t i = 0; i < (size_t)img->stride * (size_t)img->h && img->opaque; i++)
        img->opaque = img->px[i] >> 24 == 0xFF;
    *ret = img;
    return 0;
}

static int load_png(const uint8_t *data, size_t len, const char *name, int max_w, int max_h, struct image **ret,
                    struct err *e) {
    /*
     * The size is checked here, from the IHDR chunk that must come first: libpng
     * reads on to the first IDAT before it tells, and the chunks between may be large.
     */
    if (len >= 24 && memcmp(data + 12, "IHDR", 4) == 0) {
        int r = check_size(name, rd32(data + 16, false), rd32(data + 20, false), e);
        if (r < 0)
            return r;
    }
    struct png_job job = {.data = data, .len = len};
    struct image *img;
    int r = png_decode(&job, name, &img, e);
    if (r < 0)
        return r;
    int tw, th;
    fit(img->w, img->h, max_w, max_h, &tw, &th);
    return finish(img, tw, th, name, ret, e);
}

int image_load_memory(const void *data, size_t len, const char *name, int max_w, int max_h, struct image **ret,
                      struct err *e) {
    const uint8_t *p = data;
    int r;
    if (len >= 8 && memcmp(p, "\x89PNG\r\n\x1a\n", 8) == 0) {
        if ((r = dlopen_libpng(e)) < 0)
            return err_prefix(e, r, "%s", name);
        return load_png(p, len, name, max_w, max_h, ret, e);
    }
    if (len >= 3 && memcmp(p, "\xFF\xD8\xFF", 3) == 0) {
        if ((r = dlopen_libjpeg(e)) < 0)
            return err_prefix(e, r, "%s", name);
        return load_jpeg(p, len, name, max_w, max_h, ret, e);
    }
    if (len >= 12 && memcmp(p, "RIFF", 4) == 0 && memcmp(p + 8, "WEBP", 4) == 0) {
        if ((r = dlopen_libwebp(e)) < 0)
            return err_prefix(e, r, "%s", name);
        return load_webp(p, len, name, max_w, max_h, ret, e);
    }
    return err_set(e, -E_MALFORMED, "%s: not a PNG, JPEG or WebP file", name);
}

/* The whole file, at most FILE_MAX bytes; the caller frees *ret_data. */
static int read_file(const char *path, uint8_t **ret_data, size_t *ret_len, struct err *e) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    struct stat st;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = err_set(e, -errno, "%s: %s", path, strerror(errno));
    else if (!S_ISREG(st.st_mode))
        r = err_set(e, -E_MALFORMED, "%s: not a regular file", path);
    else if (st.st_size > FILE_MAX)
        r = err_set(e, -EFBIG, "%s: %lld bytes is too big for a picture (at most %d MiB)", path,
                    (long long)st.st_size, FILE_MAX >> 20);
    uint8_t *data = r < 0 ? NULL : malloc(st.st_size > 0 ? (size_t)st.st_size : 1);
    if (r == 0 && !data)
        r = err_set(e, -ENOMEM, "%s: out of memory", path);
    size_t len = 0;
    while (r == 0 && len < (size_t)st.st_size) {
        ssize_t n = read(fd, data + len, (size_t)st.st_size - len);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            r = err_set(e, -errno, "%s: %s", path, strerror(errno));
        if (n <= 0)
            break; /* shorter than it was a moment ago: decode what is there */
        len += (size_t)n;
    }
    close(fd);
    if (r < 0) {
        free(data);
        return r;
    }
    *ret_data = data;
    *ret_len = len;
    return 0;
}

int image_load(const char *path, int max_w, int max_h, struct image **ret, struct err *e) {
    uint8_t *data = NULL;
    size_t len = 0;
    int r = read_file(path, &data, &len, e);
    if (r < 0)
        return r;
    r = image_load_memory(data, len, path, max_w, max_h, ret, e);
    free(data);
    return r;
}
