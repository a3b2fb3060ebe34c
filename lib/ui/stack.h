/* stack.h: the toolkit's graphics libraries as a whole (internal). */
#pragma once

#include "err.h"

/*
 * Load every library the toolkit may load on first use (text: FreeType, HarfBuzz, FriBidi,
 * libunibreak, libthai; pictures: pixman, libpng, libjpeg, libwebp). slated does it once, in a
 * child, to learn which files an app's sandbox must hold; 0 or a negative errno with one line in e.
 */
int ui_stack_load(struct err *e);
