/* curl-dl.h: libcurl, loaded the first time something goes over HTTP, not at every start. */
#pragma once

/* Plain prototypes: the type-checking wrappers would call the real functions by name. */
#define CURL_DISABLE_TYPECHECK 1
#include <curl/curl.h>

#include "dl.h"

/*
 * libcurl and the libraries behind it (OpenSSL, nghttp2, libssh2, LDAP, Kerberos, ...) are
 * about twenty shared objects: linked, they cost every start of `slate` some 4 ms of dynamic
 * linking and slated about 6 MB of resident memory, though most commands and a calm slated
 * never make a request. Like libarchive (libarchive-dl.h) it is loaded with dlopen on first
 * use and called through pointers with the library's own prototypes; the code that uses it
 * includes this header and keeps curl's names.
 */
#define LIBCURL_SYMBOLS(X) \
    X(curl_easy_cleanup) \
    X(curl_easy_getinfo) \
    X(curl_easy_init) \
    X(curl_easy_perform) \
    X(curl_easy_setopt) \
    X(curl_easy_strerror) \
    X(curl_free) \
    X(curl_global_cleanup) \
    X(curl_global_init) \
    X(curl_multi_add_handle) \
    X(curl_multi_assign) \
    X(curl_multi_cleanup) \
    X(curl_multi_info_read) \
    X(curl_multi_init) \
    X(curl_multi_remove_handle) \
    X(curl_multi_setopt) \
    X(curl_multi_socket_action) \
    X(curl_slist_append) \
    X(curl_slist_free_all) \
    X(curl_url) \
    X(curl_url_cleanup) \
    X(curl_url_get) \
    X(curl_url_set) \
    X(curl_url_strerror)

LIBCURL_SYMBOLS(DL_DECLARE)

/* Load libcurl once (dl.h). */
int dlopen_libcurl(struct err *e);

#define CURL_REDIRECTS_MAX 5

/*
 * What every transfer of Slate's gets, updates (pkg/fetch.c) and apps' requests
 * (system/http.c) alike: the URL, http and https only (after redirects too),
 * at most CURL_REDIRECTS_MAX redirects, no signals, Slate's user agent, and
 * curl's own text of a failure in errbuf (CURL_ERROR_SIZE bytes).
 */
CURLcode curl_common_setup(CURL *c, const char *url, char *errbuf);

/* From here on, curl's names call through the pointers (not in curl-dl.c, which defines them). */
#ifndef CURL_DL_DEFINE
#undef curl_easy_setopt /* curl.h's argument-counting wrappers */
#undef curl_easy_getinfo
#undef curl_multi_setopt
#define curl_easy_cleanup sym_curl_easy_cleanup
#define curl_easy_getinfo sym_curl_easy_getinfo
#define curl_easy_init sym_curl_easy_init
#define curl_easy_perform sym_curl_easy_perform
#define curl_easy_setopt sym_curl_easy_setopt
#define curl_easy_strerror sym_curl_easy_strerror
#define curl_free sym_curl_free
#define curl_global_cleanup sym_curl_global_cleanup
#define curl_global_init sym_curl_global_init
#define curl_multi_add_handle sym_curl_multi_add_handle
#define curl_multi_assign sym_curl_multi_assign
#define curl_multi_cleanup sym_curl_multi_cleanup
#define curl_multi_info_read sym_curl_multi_info_read
#define curl_multi_init sym_curl_multi_init
#define curl_multi_remove_handle sym_curl_multi_remove_handle
#define curl_multi_setopt sym_curl_multi_setopt
#define curl_multi_socket_action sym_curl_multi_socket_action
#define curl_slist_append sym_curl_slist_append
#define curl_slist_free_all sym_curl_slist_free_all
#define curl_url sym_curl_url
#define curl_url_cleanup sym_curl_url_cleanup
#define curl_url_get sym_curl_url_get
#define curl_url_set sym_curl_url_set
#define curl_url_strerror sym_curl_url_strerror
#endif
