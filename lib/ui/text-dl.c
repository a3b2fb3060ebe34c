/* text-dl.c: the libraries text loads on first use (text-dl.h). */
#include "text-dl.h"

/* libunibreak wants its tables indexed once before the first break is looked up. */
static int init_unibreak(void) {
    sym_init_linebreak();
    return 0;
}

/* The sonames of Debian 12, which this build was compiled against. */
DL_LIBRARY(freetype, "libfreetype.so.6", "FreeType", FREETYPE_SYMBOLS, NULL, false)
DL_LIBRARY(harfbuzz, "libharfbuzz.so.0", "HarfBuzz", HARFBUZZ_SYMBOLS, NULL, false)
DL_LIBRARY(fribidi, "libfribidi.so.0", "FriBidi", FRIBIDI_SYMBOLS, NULL, false)
DL_LIBRARY(unibreak, "libunibreak.so.1", "libunibreak", UNIBREAK_SYMBOLS, init_unibreak, false)
DL_LIBRARY(libthai, "libthai.so.0", "libthai", LIBTHAI_SYMBOLS, NULL, false)
