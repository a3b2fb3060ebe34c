/* stack.c: the toolkit's graphics libraries, loaded at once. */
#include "stack.h"

#include "image-dl.h"
#include "text-dl.h"

int ui_stack_load(struct err *e) {
    static int (*const load[])(struct err *) = {
        dlopen_freetype, dlopen_harfbuzz, dlopen_fribidi, dlopen_unibreak, dlopen_libthai,
        dlopen_pixman,   dlopen_libpng,   dlopen_libjpeg,  dlopen_libwebp,
    };
    for (size_t i = 0; i < sizeof load / sizeof *load; i++) {
        int r = load[i](e);
        if (r < 0)
            return r;
    }
    return 0;
}
