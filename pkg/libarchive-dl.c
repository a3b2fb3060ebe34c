/* libarchive-dl.c: loading libarchive on first use. */
#include "libarchive-dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define LIBARCHIVE_DEFINE(f) __typeof__(f) *sym_##f;
LIBARCHIVE_SYMBOLS(LIBARCHIVE_DEFINE)
#undef LIBARCHIVE_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[256];

static void load(void) {
    /* The soname this build was compiled against first; it is never unloaded. */
    void *h = dlopen("libarchive.so.13", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        snprintf(failure, sizeof failure, "cannot load libarchive: %s", dlerror());
        return;
    }
#define LIBARCHIVE_LOAD(f)                                                                                             \
    if (!(sym_##f = (__typeof__(f) *)dlsym(h, #f))) {                                                                  \
        snprintf(failure, sizeof failure, "libarchive lacks %s", #f);                                                  \
        return;                                                                                                        \
    }
    LIBARCHIVE_SYMBOLS(LIBARCHIVE_LOAD)
#undef LIBARCHIVE_LOAD
}

int dlopen_libarchive(struct err *e) {
    pthread_once(&once, load);
    return failure[0] ? err_set(e, -ELIBACC, "%s", failure) : 0;
}
