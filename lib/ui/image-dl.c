/* image-dl.c: the libraries of pictures, loaded on first use (image-dl.h, lib/dl.h). */
#include "image-dl.h"

/* The sonames this build was compiled against (Debian 12). */
DL_LIBRARY(pixman, "libpixman-1.so.0", "pixman", PIXMAN_SYMBOLS, NULL, false)
DL_LIBRARY(libpng, "libpng16.so.16", "libpng", LIBPNG_SYMBOLS, NULL, false)
DL_LIBRARY(libjpeg, "libjpeg.so.62", "libjpeg", LIBJPEG_SYMBOLS, NULL, false)
DL_LIBRARY(libwebp, "libwebp.so.7", "libwebp", LIBWEBP_SYMBOLS, NULL, false)
