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

#ifdef SLATE_VERSION
#define USER_AGENT "slate/" SLATE_VERSION
#else
#define USER_AGENT "slate"
#endif

CURLcode curl_common_setup(CURL *c, const char *url, char *errbuf) {
    CURLcode k = CURLE_OK;
#define SET(opt, value)                                                                                                \
    if (k == CURLE_OK)                                                                                                 \
    k = sym_curl_easy_setopt(c, opt, value)
    SET(CURLOPT_URL, url);
    SET(CURLOPT_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_REDIR_PROTOCOLS_STR, "http,https");
    SET(CURLOPT_FOLLOWLOCATION, 1L);
    SET(CURLOPT_MAXREDIRS, (long)CURL_REDIRECTS_MAX);
    SET(CURLOPT_NOSIGNAL, 1L);
    SET(CURLOPT_USERAGENT, USER_AGENT);
    SET(CURLOPT_ERRORBUFFER, errbuf);
#undef SET
    return k;
}
