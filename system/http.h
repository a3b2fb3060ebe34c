/* http.h: the HTTP client slated runs for apps granted `network`, driven by its one event loop. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "loop.h"

/*
 * Many transfers run at once over libcurl's multi interface, without ever
 * blocking the loop: curl's sockets are loop io sources, its timeout one loop
 * timer. Only http and https are spoken, for the first request and for
 * redirects (at most HTTP_REDIRECTS_MAX, followed); no proxy from the
 * environment, no netrc, no cookies. libcurl is not even initialised before
 * the first request: an idle slated stays small.
 */
#define HTTP_REDIRECTS_MAX 5 /* CURL_REDIRECTS_MAX, the policy every Slate transfer shares (pkg/curl-dl.h) */
#define HTTP_URL_MAX 8192         /* longer URLs are refused by http_start */
#define HTTP_CONTENT_TYPE_MAX 128 /* http_response.content_type, its NUL included */

/* A field left 0 takes its default. */
struct http_limits {
    uint64_t body_max;       /* response bytes (and POST body bytes); default 16 MiB */
    long connect_timeout_ms; /* to reach the server; default 10 s */
    long stall_timeout_ms;   /* once the request is out, no byte in or out for this long fails it; default 15 s */
    long total_timeout_ms;   /* the whole transfer, redirects included; default 60 s */
};

struct http;          /* one per slated, over its loop */
struct http_transfer; /* one request, from http_start to its callback or http_cancel */

/*
 * A client over l, which must outlive it. lim is copied; NULL means every
 * default. Allocates only a small struct. Returns 0 or -ENOMEM.
 */
int http_new(struct loop *l, const struct http_limits *lim, struct http **ret);

/*
 * Cancel every transfer, without calling any back, and free h. Fine from inside
 * a done callback (h then goes once the callbacks return). Accepts NULL;
 * returns NULL.
 */
struct http *http_free(struct http *h);

struct http_request {
    const char *method;       /* "GET" or "POST" only */
    const char *url;          /* http:// or https:// */
    const void *body;         /* POST only: copied by http_start; may be NULL when body_len is 0 */
    size_t body_len;          /* at most body_max */
    const char *content_type; /* POST only, printable ASCII; NULL sends none */
};

/* Any HTTP status is a response: 404 and 500 arrive here with their bodies, r == 0. */
struct http_response {
    long status; /* of the final response, after redirects */
    /*
     * The body in a memfd, sealed (F_SEAL_WRITE, F_SEAL_GROW, F_SEAL_SHRINK,
     * F_SEAL_SEAL: nobody can change it, so it may be handed to an app as is),
     * O_CLOEXEC, its offset at 0. Owned by the callback, which closes or keeps it.
     */
    int body_fd;
    uint64_t body_len;
    char content_type[HTTP_CONTENT_TYPE_MAX]; /* "" when none, or when not printable ASCII */
};

/*
 * A transfer's end, called once from the loop (never from inside libcurl), unless
 * cancelled. r is 0 with resp, or a negative errno with resp NULL and error one
 * line naming the URL and the cause:
 *   -ECONNREFUSED connection refused  -ETIMEDOUT connect or total timeout, stall
 *   -EFBIG reply larger than body_max -ELOOP too many redirects
 *   -EPROTONOSUPPORT redirected to another scheme  -EHOSTUNREACH unknown host
 *   -ECONNRESET connection reset or closed early   -EIO anything else (TLS, ...)
 * resp and error live until the callback returns. The transfer is gone once it
 * returns; the callback may start or cancel other transfers, or free h.
 */
typedef void (*http_done_fn)(void *userdata, int r, const struct http_response *resp, const char *error);

/*
 * Start req; done(userdata, ...) reports its end. A bad method, URL, scheme,
 * content type or body is refused at once (-EINVAL, -EPROTONOSUPPORT, -E2BIG),
 * with one line in e, and done is never called. ret (may be NULL) receives the
 * transfer, for http_cancel; it stays valid until done is called.
 */
int http_start(struct http *h, const struct http_request *req, http_done_fn done, void *userdata,
               struct http_transfer **ret, struct err *e);

/*
 * Stop t and free it: done is not called afterwards. Safe from any loop callback,
 * done callbacks included (of another transfer; cancelling the one being
 * reported is ignored). Accepts NULL.
 */
void http_cancel(struct http_transfer *t);
