/* image-dl.h: pixman, libpng, libjpeg and libwebp, loaded when a picture is first scaled or decoded (dl.h). */
#pragma once

#include <stdio.h> /* jpeglib.h needs FILE and size_t first */

#include <jpeglib.h>
#include <pixman.h>
#include <png.h>
#include <webp/decode.h>

#include "dl.h"

/* paint_image and image_scale: scaling and compositing with a filter. */
#define PIXMAN_SYMBOLS(X) \
    X(pixman_filter_create_separable_convolution) \
    X(pixman_image_composite32) \
    X(pixman_image_create_bits) \
    X(pixman_image_create_solid_fill) \
    X(pixman_image_set_filter) \
    X(pixman_image_set_repeat) \
    X(pixman_image_set_transform) \
    X(pixman_image_unref) \
    X(pixman_transform_init_scale) \
    X(pixman_transform_translate)

#define LIBPNG_SYMBOLS(X) \
    X(png_create_info_struct) \
    X(png_create_read_struct) \
    X(png_destroy_read_struct) \
    X(png_get_IHDR) \
    X(png_get_error_ptr) \
    X(png_get_io_ptr) \
    X(png_get_rowbytes) \
    X(png_read_image) \
    X(png_read_info) \
    X(png_read_update_info) \
    X(png_set_add_alpha) \
    X(png_set_chunk_malloc_max) \
    X(png_set_expand) \
    X(png_set_gray_to_rgb) \
    X(png_set_interlace_handling) \
    X(png_set_read_fn) \
    X(png_set_scale_16) \
    LIBPNG_WRITE_SYMBOLS(X)

/* png_save (screenshots, golden images' failures). */
#define LIBPNG_WRITE_SYMBOLS(X) \
    X(png_create_write_struct) \
    X(png_destroy_write_struct) \
    X(png_set_IHDR) \
    X(png_set_compression_level) \
    X(png_set_filter) \
    X(png_set_longjmp_fn) \
    X(png_set_write_fn) \
    X(png_write_end) \
    X(png_write_info) \
    X(png_write_row)

#define LIBJPEG_SYMBOLS(X) \
    X(jpeg_CreateDecompress) \
    X(jpeg_calc_output_dimensions) \
    X(jpeg_destroy_decompress) \
    X(jpeg_mem_src) \
    X(jpeg_read_header) \
    X(jpeg_read_scanlines) \
    X(jpeg_save_markers) \
    X(jpeg_start_decompress) \
    X(jpeg_std_error)

/* The header's WebPGetFeatures and WebPInitDecoderConfig are inline wrappers of the *Internal calls. */
#define LIBWEBP_SYMBOLS(X) \
    X(WebPDecode) \
    X(WebPFreeDecBuffer) \
    X(WebPGetFeaturesInternal) \
    X(WebPInitDecoderConfigInternal)

PIXMAN_SYMBOLS(DL_DECLARE)
LIBPNG_SYMBOLS(DL_DECLARE)
LIBJPEG_SYMBOLS(DL_DECLARE)
LIBWEBP_SYMBOLS(DL_DECLARE)

int dlopen_pixman(struct err *e);
int dlopen_libpng(struct err *e);
int dlopen_libjpeg(struct err *e);
int dlopen_libwebp(struct err *e);
