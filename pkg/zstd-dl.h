/* zstd-dl.h: libzstd, loaded when a repository index is first written or read (dl.h). */
#pragma once

#include <zstd.h>

#include "dl.h"

#define ZSTD_SYMBOLS(X) \
    X(ZSTD_compress) \
    X(ZSTD_compressBound) \
    X(ZSTD_decompress) \
    X(ZSTD_getErrorName) \
    X(ZSTD_getFrameContentSize) \
    X(ZSTD_isError)

ZSTD_SYMBOLS(DL_DECLARE)

int dlopen_zstd(struct err *e);
