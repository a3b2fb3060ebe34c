/* curl-dl.c: what every transfer of Slate's sets up (libcurl itself is loaded by dl.c). */
#define CURL_DL_DEFINE
#include "curl-dl.h"


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
