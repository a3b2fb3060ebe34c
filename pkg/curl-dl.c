/* curl-dl.c: loading libcurl on first use. */
#define CURL_DL_DEFINE
#include "curl-dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#define LIBCURL_DEFINE(f) __typeof__(f) *sym_##f;
LIBCURL_SYMBOLS(LIBCURL_DEFINE)
#undef LIBCURL_DEFINE

static pthread_once_t once = PTHREAD_ONCE_INIT;
static char failure[256];

static void load(void) {
    /* The soname this build was compiled against; it is never unloaded. */
    void *h = dlopen("libcurl.so.4", RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        snprintf(failure, sizeof failure, "cannot load libcurl: %s", dlerror());
        return;
    }
#define LIBCURL_LOAD(f)                                                                                                \
    if (!(sym_##f = (__typeof__(f) *)dlsym(h, #f))) {                                                                  \
        snprintf(failure, sizeof failure, "libcurl lacks %s", #f);                                                     \
        return;                                                                                                        \
    }
    LIBCURL_SYMBOLS(LIBCURL_LOAD)
#undef LIBCURL_LOAD
}

int dlopen_libcurl(struct err *e) {
    pthread_once(&once, load);
    return failure[0] ? err_set(e, -ELIBACC, "%s", failure) : 0;
}
