/* http.c: libcurl's multi interface driven by slated's loop: many transfers, each body into a sealed memfd. */
#include "http.h"

#include "curl-dl.h"
#include "util.h"
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#define BODY_MAX_DEFAULT (16ULL << 20)
#define CONNECT_TIMEOUT_MS 10000L
#define STALL_TIMEOUT_MS 15000L
#define TOTAL_TIMEOUT_MS 60000L
#define CONTENT_TYPE_REQUEST_MAX 255
#define SHOWN_MAX 160 /* bytes of a URL an error line shows */
#define CAUSE_MAX (CURL_ERROR_SIZE + 128)
#define BODY_SEALS (F_SEAL_SEAL | F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE)

/* One socket curl asked the loop to watch. */
struct watch {
    struct http *h;
    struct loop_source *source;
    struct watch *prev, *next;
};

struct queue {
    struct http_transfer *head, *tail;
};

struct http_transfer {
    struct http *h;
    struct http_transfer *prev, *next; /* in h->running, or h->ended once it has an outcome */
    CURL *easy;
    struct curl_slist *headers;
    http_done_fn done;
    void *userdata;
    char where[SHOWN_MAX + 8]; /* the URL as error lines show it */
    bool ended;                /* in h->ended, waiting to be reported */
    bool reporting;            /* its callback runs: cancelling it now means nothing */

    /* While it runs. */
    int fd;         /* the body's memfd, -1 until the first byte */
    uint64_t have;  /* bytes in it */
    bool requested; /* a request went out: the stall clock runs */
    bool too_large, stalled;
    int store_error;     /* the memfd refused a write */
    uint64_t last_io_us; /* when a byte last came or went */
    curl_off_t uploaded; /* as the progress callback last saw it */
    char curl_msg[CURL_ERROR_SIZE];

    /* Its outcome, once ended. */
    int r;
    struct http_response resp;
    char error[SHOWN_MAX + 8 + 2 + CAUSE_MAX]; /* "URL: cause" */
};

struct http {
    struct loop *loop;
    struct http_limits lim;
    /* Set up by the first request only: libcurl, its multi handle, two timers. */
    bool curl_ready;
    CURLM *multi;
    struct loop_source *curl_timer;  /* the timeout curl asks for */
    struct loop_source *stall_timer; /* the next moment a running transfer may have stalled */
    bool stall_armed;
    struct watch *watches;
    struct queue running, ended;
    unsigned busy; /* inside a loop callback of ours: freeing waits until it is done */
    bool freed;
};

static uint64_t now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

static void queue_push(struct queue *q, struct http_transfer *t) {
    t->prev = q->tail;
    t->next = NULL;
    if (q->tail)
        q->tail->next = t;
    else
        q->head = t;
    q->tail = t;
}

static void queue_unlink(struct queue *q, struct http_transfer *t) {
    if (t->prev)
        t->prev->next = t->next;
    else
        q->head = t->next;
    if (t->next)
        t->next->prev = t->prev;
    else
        q->tail = t->prev;
    t->prev = t->next = NULL;
}

/* Text for one line -------------------------------------------------------------------------- */

static void printable(char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            *s = '?';
}

/*
 * The URL as an error line shows it: without user:password@ and without the
 * query (both may hold secrets that end up in logs), cut short, one line.
 */
static void shown(const char *url, char out[static SHOWN_MAX + 8]) {
    const char *authority = strstr(url, "://");
    authority = authority ? authority + 3 : url;
    size_t host_end = strcspn(authority, "/?#");
    const char *at = memchr(authority, '@', host_end);
    size_t scheme_len = (size_t)(authority - url);
    const char *rest = at ? at + 1 : authority;
    size_t rest_len = strcspn(rest, "?#");
    bool cut = rest[rest_len] != '\0';
    if (scheme_len + rest_len > SHOWN_MAX) {
        rest_len = scheme_len < SHOWN_MAX ? SHOWN_MAX - scheme_len : 0;
        cut = true;
    }
    snprintf(out, SHOWN_MAX + 8, "%.*s%.*s%s", (int)(scheme_len < SHOWN_MAX ? scheme_len : SHOWN_MAX), url,
             (int)rest_len, rest, cut ? "..." : "");
    printable(out);
}

/* Record t's failure: "URL: cause". Returns r. */
static int fail(struct http_transfer *t, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static int fail(struct http_transfer *t, int r, const char *fmt, ...) {
    char cause[CAUSE_MAX];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cause, sizeof cause, fmt, ap);
    va_end(ap);
    snprintf(t->error, sizeof t->error, "%s: %s", t->where, cause);
    printable(t->error);
    return r;
}

/* The body ------------------------------------------------------------------------------------ */

/* Only when a body comes: a failed transfer costs no file. */
static int body_open(struct http_transfer *t) {
    t->fd = memfd_create("slate-http", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    return t->fd < 0 ? -errno : 0;
}

/* Sealed, nobody (us included) can change the bytes an app is handed; read from the start. */
static int body_seal(int fd) {
    if (fcntl(fd, F_ADD_SEALS, BODY_SEALS) < 0 || lseek(fd, 0, SEEK_SET) < 0)
        return -errno;
    return 0;
}

/* What the server labels the body, when it is printable ASCII that fits (else ""). */
static void content_type_copy(char out[static HTTP_CONTENT_TYPE_MAX], const char *ct) {
    out[0] = '\0';
    if (!ct)
        return;
    size_t n = strlen(ct);
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)ct[i] < 0x20 || (unsigned char)ct[i] >= 0x7f)
            return;
    if (n >= HTTP_CONTENT_TYPE_MAX) /* parameters too long: the media type alone still says something */
        n = strcspn(ct, "; ");
    if (n < HTTP_CONTENT_TYPE_MAX) {
        memcpy(out, ct, n);
        out[n] = '\0';
    }
}

/* libcurl's callbacks: never call back the user, never touch the multi handle ------------------- */

static size_t on_body(char *p, size_t size, size_t nmemb, void *userdata) {
    struct http_transfer *t = userdata;
    size_t n = size * nmemb;
    t->last_io_us = now_us();
    /* Whatever Content-Length promised: the bytes that came decide. */
    if (n > t->h->lim.body_max - t->have) {
        t->too_large = true;
        return 0;
    }
    int r = t->fd < 0 ? body_open(t) : 0;
    if (r == 0)
        r = write_all(t->fd, p, n);
    if (r < 0) {
        t->store_error = r;
        return 0;
    }
    t->have += n;
    return n;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata) {
    (void)p;
    struct http_transfer *t = userdata;
    t->last_io_us = now_us();
    return size * nmemb;
}

/* Connected, the request about to go: silence counts from here (connecting has its own timeout). */
static int on_request(void *userdata, char *primary_ip, char *local_ip, int primary_port, int local_port) {
    (void)primary_ip, (void)local_ip, (void)primary_port, (void)local_port;
    struct http_transfer *t = userdata;
    t->requested = true;
    t->last_io_us = now_us();
    return CURL_PREREQFUNC_OK;
}

/* A POST body on its way out is no stall either. */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal;
    struct http_transfer *t = userdata;
    if (ulnow != t->uploaded) {
        t->uploaded = ulnow;
        t->last_io_us = now_us();
    }
    return 0;
}

/* Outcomes ------------------------------------------------------------------------------------ */

static int response_make(struct http_transfer *t) {
    long status = 0;
    char *ct = NULL;
    curl_easy_getinfo(t->easy, CURLINFO_RESPONSE_CODE, &status);
    curl_easy_getinfo(t->easy, CURLINFO_CONTENT_TYPE, &ct);
    int r = t->fd < 0 ? body_open(t) : 0;
    if (r == 0)
        r = body_seal(t->fd);
    if (r < 0)
        return fail(t, r, "cannot keep the reply: %s", strerror(-r));
    t->resp = (struct http_response){.status = status, .body_fd = t->fd, .body_len = t->have};
    content_type_copy(t->resp.content_type, ct);
    return 0;
}

static int connect_failure(struct http_transfer *t, long os_errno, const char *why) {
    if (os_errno == ECONNREFUSED)
        return fail(t, -ECONNREFUSED, "connection refused");
    if (os_errno == ETIMEDOUT || strstr(why, "imeout") || strstr(why, "timed out"))
        return fail(t, -ETIMEDOUT, "timed out connecting after %ld ms", t->h->lim.connect_timeout_ms);
    if (os_errno > 0)
        return fail(t, (int)-os_errno, "cannot connect: %s", strerror((int)os_errno));
    return fail(t, -ECONNREFUSED, "cannot connect (%s)", why);
}

/* libcurl's verdict as a negative errno and a cause a person understands. */
static int failure(struct http_transfer *t, CURLcode k) {
    const struct http_limits *lim = &t->h->lim;
    if (t->stalled)
        return fail(t, -ETIMEDOUT, "stalled: no data for %ld ms", lim->stall_timeout_ms);
    if (t->too_large || k == CURLE_FILESIZE_EXCEEDED)
        return fail(t, -EFBIG, "reply larger than %llu bytes", (unsigned long long)lim->body_max);
    if (k == CURLE_WRITE_ERROR && t->store_error)
        return fail(t, t->store_error, "cannot keep the reply: %s", strerror(-t->store_error));
    const char *why = *t->curl_msg ? t->curl_msg : curl_easy_strerror(k);
    long os_errno = 0;
    curl_easy_getinfo(t->easy, CURLINFO_OS_ERRNO, &os_errno);
    switch (k) {
    case CURLE_COULDNT_CONNECT: return connect_failure(t, os_errno, why);
    case CURLE_OPERATION_TIMEDOUT:
        if (!t->requested)
            return fail(t, -ETIMEDOUT, "timed out connecting after %ld ms",
                        lim->connect_timeout_ms < lim->total_timeout_ms ? lim->connect_timeout_ms
                                                                        : lim->total_timeout_ms);
        return fail(t, -ETIMEDOUT, "timed out: no complete reply within %ld ms", lim->total_timeout_ms);
    case CURLE_TOO_MANY_REDIRECTS: return fail(t, -ELOOP, "more than %d redirects", HTTP_REDIRECTS_MAX);
    case CURLE_UNSUPPORTED_PROTOCOL:
        return fail(t, -EPROTONOSUPPORT, "scheme refused: redirected to a scheme other than http or https");
    case CURLE_COULDNT_RESOLVE_HOST: return fail(t, -EHOSTUNREACH, "cannot resolve the host (%s)", why);
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (os_errno == ECONNRESET || os_errno == EPIPE)
            return fail(t, -ECONNRESET, "connection reset");
        return fail(t, -EIO, "connection failed (%s)", why);
    case CURLE_PARTIAL_FILE: return fail(t, -ECONNRESET, "connection closed before the end of the reply");
    case CURLE_GOT_NOTHING: return fail(t, -ECONNRESET, "the server closed the connection without a reply");
    case CURLE_URL_MALFORMAT: return fail(t, -EINVAL, "malformed URL (%s)", why);
    case CURLE_OUT_OF_MEMORY: return fail(t, -ENOMEM, "out of memory");
    default: return fail(t, -EIO, "%s", why);
    }
}

/* Take t out of curl and queue its outcome; the callback runs later, from deliver(). */
static void transfer_end(struct http_transfer *t, CURLcode k) {
    struct http *h = t->h;
    curl_multi_remove_handle(h->multi, t->easy);
    queue_unlink(&h->running, t);
    t->r = k == CURLE_OK && !t->stalled ? response_make(t) : failure(t, k);
    t->ended = true;
    queue_push(&h->ended, t);
}

static void transfer_free(struct http_transfer *t) {
    curl_easy_cleanup(t->easy);
    curl_slist_free_all(t->headers);
    if (t->fd >= 0)
        close(t->fd);
    free(t);
}

/* Every transfer curl has finished, queued. curl's messages are read here, not in its callbacks. */
static void collect(struct http *h) {
    CURLMsg *m;
    int left;
    while (!h->freed && h->multi && (m = curl_multi_info_read(h->multi, &left))) {
        if (m->msg != CURLMSG_DONE)
            continue;
        /* m is curl's and dies with the handle's removal: copy first */
        CURLcode k = m->data.result;
        char *p = NULL;
        curl_easy_getinfo(m->easy_handle, CURLINFO_PRIVATE, &p);
        transfer_end((struct http_transfer *)(void *)p, k);
    }
}

/* Call back, one at a time, outside libcurl: each callback may start, cancel or free anything. */
static void deliver(struct http *h) {
    struct http_transfer *t;
    while (!h->freed && (t = h->ended.head)) {
        queue_unlink(&h->ended, t);
        t->ended = false;
        t->reporting = true;
        if (t->r == 0) {
            t->fd = -1; /* the callback's now */
            t->done(t->userdata, 0, &t->resp, NULL);
        } else
            t->done(t->userdata, t->r, NULL, t->error);
        transfer_free(t);
    }
}

static void destroy(struct http *h);

static void enter(struct http *h) {
    h->busy++;
}

/* Leaving a loop callback of ours: report what ended, and free h if a callback asked for it. */
static void leave(struct http *h) {
    collect(h);
    deliver(h);
    if (--h->busy == 0 && h->freed)
        destroy(h);
}

/* The loop's side -------------------------------------------------------------------------------- */

static int on_io(struct loop_source *s, int fd, uint32_t events, void *userdata) {
    (void)s;
    struct http *h = ((struct watch *)userdata)->h; /* the watch may go inside curl */
    int mask = 0, running;
    /* An error or hang-up: let curl try what it waits for, and meet the failure there. */
    if (events & (EPOLLIN | EPOLLERR | EPOLLHUP))
        mask |= CURL_CSELECT_IN;
    if (events & (EPOLLOUT | EPOLLERR | EPOLLHUP))
        mask |= CURL_CSELECT_OUT;
    if (events & EPOLLERR)
        mask |= CURL_CSELECT_ERR;
    enter(h);
    curl_multi_socket_action(h->multi, fd, mask, &running);
    leave(h);
    return 0; /* a transfer's trouble is its own: it never stops slated's loop */
}

static int on_curl_timer(struct loop_source *s, void *userdata) {
    (void)s;
    struct http *h = userdata;
    int running;
    enter(h);
    curl_multi_socket_action(h->multi, CURL_SOCKET_TIMEOUT, 0, &running);
    leave(h);
    return 0;
}

static void stall_watch(struct http *h, uint64_t usec) {
    if (loop_timer_set(h->stall_timer, usec) == 0)
        h->stall_armed = true;
}

/*
 * Fail every transfer silent for the stall limit, and come back when the next
 * one could be. Bytes move last_io_us later without touching the timer: it may
 * fire early, never late.
 */
static int on_stall_timer(struct loop_source *s, void *userdata) {
    (void)s;
    struct http *h = userdata;
    uint64_t now = now_us(), limit = (uint64_t)h->lim.stall_timeout_ms * 1000, next = UINT64_MAX;
    h->stall_armed = false;
    enter(h);
    for (struct http_transfer *t = h->running.head, *following; t; t = following) {
        following = t->next;
        uint64_t idle = t->requested && now > t->last_io_us ? now - t->last_io_us : 0;
        if (idle >= limit) {
            t->stalled = true;
            transfer_end(t, CURLE_OK);
        } else if (limit - idle < next)
            next = limit - idle;
    }
    if (next != UINT64_MAX)
        stall_watch(h, next);
    leave(h);
    return 0;
}

static void watch_free(struct http *h, struct watch *w) {
    if (!w)
        return;
    loop_source_remove(w->source);
    if (w->prev)
        w->prev->next = w->next;
    else
        h->watches = w->next;
    if (w->next)
        w->next->prev = w->prev;
    free(w);
}

/* curl's CURLMOPT_SOCKETFUNCTION: what to watch on socket fd. */
static int on_socket(CURL *easy, curl_socket_t fd, int what, void *userp, void *socketp) {
    (void)easy;
    struct http *h = userp;
    struct watch *w = socketp;
    if (what == CURL_POLL_REMOVE) {
        watch_free(h, w);
        return 0;
    }
    uint32_t events = (what & CURL_POLL_IN ? EPOLLIN : 0) | (what & CURL_POLL_OUT ? EPOLLOUT : 0);
    if (w)
        return loop_io_set_events(w->source, events) < 0 ? -1 : 0;
    if (!(w = calloc(1, sizeof *w)))
        return -1;
    w->h = h;
    if (loop_add_io(h->loop, fd, events, on_io, w, &w->source) < 0) {
        free(w);
        return -1;
    }
    w->next = h->watches;
    if (h->watches)
        h->watches->prev = w;
    h->watches = w;
    curl_multi_assign(h->multi, fd, w);
    return 0;
}

/* curl's CURLMOPT_TIMERFUNCTION: only arms the loop's timer; curl is called from the loop. */
static int on_timeout_change(CURLM *multi, long timeout_ms, void *userp) {
    (void)multi;
    struct http *h = userp;
    if (!h->curl_timer)
        return 0;
    int r =
        timeout_ms < 0 ? loop_timer_stop(h->curl_timer) : loop_timer_set(h->curl_timer, (uint64_t)timeout_ms * 1000);
    return r < 0 ? -1 : 0;
}

/* libcurl and what drives it, on the first request; each step is kept if a later one fails. */
static int curl_up(struct http *h, struct err *e) {
    int r;
    if (!h->curl_ready) {
        if ((r = dlopen_libcurl(e)) < 0)
            return r;
        CURLcode k = curl_global_init(CURL_GLOBAL_DEFAULT);
        if (k != CURLE_OK)
            return err_set(e, -ENOMEM, "cannot start libcurl: %s", curl_easy_strerror(k));
        h->curl_ready = true;
    }
    if (!h->curl_timer) {
        if ((r = loop_add_timer(h->loop, 0, on_curl_timer, h, &h->curl_timer)) < 0)
            return err_set(e, r, "cannot add a timer: %s", strerror(-r));
        loop_timer_stop(h->curl_timer); /* armed by curl when it wants */
    }
    if (!h->stall_timer) {
        if ((r = loop_add_timer(h->loop, 0, on_stall_timer, h, &h->stall_timer)) < 0)
            return err_set(e, r, "cannot add a timer: %s", strerror(-r));
        loop_timer_stop(h->stall_timer);
    }
    if (h->multi)
        return 0;
    CURLM *m = curl_multi_init();
    if (!m)
        return err_set(e, -ENOMEM, "out of memory");
    if (curl_multi_setopt(m, CURLMOPT_SOCKETFUNCTION, on_socket) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_SOCKETDATA, h) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_TIMERFUNCTION, on_timeout_change) != CURLM_OK ||
        curl_multi_setopt(m, CURLMOPT_TIMERDATA, h) != CURLM_OK) {
        curl_multi_cleanup(m);
        return err_set(e, -EIO, "cannot set up libcurl");
    }
    h->multi = m;
    return 0;
}

/* The API ------------------------------------------------------------------------------------- */

static long or_default(long v, long d) {
    return v > 0 ? v : d;
}

int http_new(struct loop *l, const struct http_limits *lim, struct http **ret) {
    struct http *h = calloc(1, sizeof *h);
    if (!h)
        return -ENOMEM;
    struct http_limits given = lim ? *lim : (struct http_limits){0};
    h->loop = l;
    h->lim = (struct http_limits){
        .body_max = given.body_max > 0 ? given.body_max : BODY_MAX_DEFAULT,
        .connect_timeout_ms = or_default(given.connect_timeout_ms, CONNECT_TIMEOUT_MS),
        .stall_timeout_ms = or_default(given.stall_timeout_ms, STALL_TIMEOUT_MS),
        .total_timeout_ms = or_default(given.total_timeout_ms, TOTAL_TIMEOUT_MS),
    };
    *ret = h;
    return 0;
}

static void destroy(struct http *h) {
    if (h->multi)
        curl_multi_cleanup(h->multi); /* may still tell on_socket to drop watches */
    h->multi = NULL;
    while (h->watches)
        watch_free(h, h->watches);
    loop_source_remove(h->curl_timer);
    loop_source_remove(h->stall_timer);
    if (h->curl_ready)
        curl_global_cleanup();
    free(h);
}

struct http *http_free(struct http *h) {
    if (!h || h->freed)
        return NULL;
    h->freed = true;
    while (h->running.head)
        http_cancel(h->running.head);
    while (h->ended.head)
        http_cancel(h->ended.head);
    if (h->busy == 0)
        destroy(h);
    return NULL;
}

void http_cancel(struct http_transfer *t) {
    if (!t || t->reporting)
        return;
    struct http *h = t->h;
    if (t->ended)
        queue_unlink(&h->ended, t);
    else {
        curl_multi_remove_handle(h->multi, t->easy);
        queue_unlink(&h->running, t);
    }
    transfer_free(t);
}

static bool is_printable(const char *s) {
    for (; *s; s++)
        if ((unsigned char)*s < 0x20 || (unsigned char)*s >= 0x7f)
            return false;
    return true;
}

/* "scheme:" at the start of s, in the URL syntax. */
static bool has_scheme(const char *s) {
    size_t n = strspn(s, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    return n > 0 && s[n] == ':';
}

/* What can be refused without libcurl: method, scheme, sizes, the body's type. */
static int request_check(const struct http *h, const struct http_request *req, const char *where, struct err *e) {
    bool post = req->method && strcmp(req->method, "POST") == 0;
    if (!post && !(req->method && strcmp(req->method, "GET") == 0)) {
        char method[SHOWN_MAX + 8];
        shown(req->method ? req->method : "(none)", method);
        return err_set(e, -EINVAL, "%s: method %s refused: GET or POST only", where, method);
    }
    if (!*req->url)
        return err_set(e, -EINVAL, "empty URL");
    if (strlen(req->url) > HTTP_URL_MAX)
        return err_set(e, -EINVAL, "%s: URL longer than %d bytes", where, HTTP_URL_MAX);
    if (strncasecmp(req->url, "http://", 7) != 0 && strncasecmp(req->url, "https://", 8) != 0)
        return has_scheme(req->url) ? err_set(e, -EPROTONOSUPPORT, "%s: scheme refused: http or https only", where)
                                    : err_set(e, -EINVAL, "%s: not an http or https URL", where);
    if (!post && (req->body_len > 0 || req->content_type))
        return err_set(e, -EINVAL, "%s: a GET request carries no body", where);
    if (req->body_len > 0 && !req->body)
        return err_set(e, -EINVAL, "%s: no body bytes given", where);
    if (req->body_len > h->lim.body_max)
        return err_set(e, -E2BIG, "%s: request body larger than %llu bytes", where,
                       (unsigned long long)h->lim.body_max);
    if (req->content_type && (strlen(req->content_type) > CONTENT_TYPE_REQUEST_MAX || !is_printable(req->content_type)))
        return err_set(e, -EINVAL, "%s: content type refused: at most %d bytes of printable ASCII", where,
                       CONTENT_TYPE_REQUEST_MAX);
    return 0;
}

/* The URL as libcurl parses it, so that a malformed one is refused now rather than in a callback. */
static int url_parse(const char *url, const char *where, char **ret, struct err *e) {
    CURLU *u = curl_url();
    if (!u)
        return err_set(e, -ENOMEM, "out of memory");
    CURLUcode uc = curl_url_set(u, CURLUPART_URL, url, 0);
    char *scheme = NULL;
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_SCHEME, &scheme, 0);
    /* The check above saw the text; this is what curl will use. */
    if (uc == CURLUE_OK && strcmp(scheme, "http") != 0 && strcmp(scheme, "https") != 0)
        uc = CURLUE_UNSUPPORTED_SCHEME;
    if (uc == CURLUE_OK)
        uc = curl_url_get(u, CURLUPART_URL, ret, 0);
    curl_free(scheme);
    curl_url_cleanup(u);
    if (uc == CURLUE_OK)
        return 0;
    if (uc == CURLUE_OUT_OF_MEMORY)
        return err_set(e, -ENOMEM, "out of memory");
    if (uc == CURLUE_UNSUPPORTED_SCHEME)
        return err_set(e, -EPROTONOSUPPORT, "%s: scheme refused: http or https only", where);
    return err_set(e, -EINVAL, "%s: malformed URL (%s)", where, curl_url_strerror(uc));
}

#define SET(opt, value)                                                                                                \
    do {                                                                                                               \
        if (k == CURLE_OK)                                                                                             \
            k = curl_easy_setopt(c, opt, value);                                                                       \
    } while (0)

/* A POST's body (copied by curl) and its headers: the given type or none, and no 100-continue wait. */
static CURLcode post_setup(struct http_transfer *t, const struct http_request *req) {
    CURL *c = t->easy;
    CURLcode k = CURLE_OK;
    char type[CONTENT_TYPE_REQUEST_MAX + 32];
    snprintf(type, sizeof type, "Content-Type:%s%s", req->content_type ? " " : "",
             req->content_type ? req->content_type : "");
    if (!(t->headers = curl_slist_append(NULL, type)) || !curl_slist_append(t->headers, "Expect:"))
        return CURLE_OUT_OF_MEMORY;
    SET(CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)req->body_len);
    SET(CURLOPT_COPYPOSTFIELDS, req->body_len > 0 ? req->body : "");
    SET(CURLOPT_HTTPHEADER, t->headers);
    return k;
}

static int easy_setup(struct http_transfer *t, const struct http_request *req, const char *url, struct err *e) {
    const struct http_limits *lim = &t->h->lim;
    CURL *c = t->easy = curl_easy_init();
    if (!c)
        return err_set(e, -ENOMEM, "out of memory");
    CURLcode k = curl_common_setup(c, url, t->curl_msg);
    SET(CURLOPT_PRIVATE, t);
    SET(CURLOPT_PROXY, ""); /* not the environment's: the device decides */
    SET(CURLOPT_NETRC, (long)CURL_NETRC_IGNORED);
    SET(CURLOPT_CONNECTTIMEOUT_MS, lim->connect_timeout_ms);
    SET(CURLOPT_TIMEOUT_MS, lim->total_timeout_ms);
    SET(CURLOPT_WRITEFUNCTION, on_body);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_PREREQFUNCTION, on_request);
    SET(CURLOPT_PREREQDATA, t);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, t);
    SET(CURLOPT_NOPROGRESS, 0L);
    /* A declared length beyond the limit fails before any byte; on_body checks what really comes. */
    if (lim->body_max <= INT64_MAX)
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)lim->body_max);
    if (k == CURLE_OK && strcmp(req->method, "POST") == 0)
        k = post_setup(t, req);
    if (k != CURLE_OK)
        return err_set(e, k == CURLE_OUT_OF_MEMORY ? -ENOMEM : -EIO, "%s: cannot set up libcurl: %s", t->where,
                       curl_easy_strerror(k));
    return 0;
}

int http_start(struct http *h, const struct http_request *req, http_done_fn done, void *userdata,
               struct http_transfer **ret, struct err *e) {
    char where[SHOWN_MAX + 8];
    if (!req->url || !done)
        return err_set(e, -EINVAL, "no URL or no callback");
    shown(req->url, where);
    int r = request_check(h, req, where, e);
    if (r == 0)
        r = curl_up(h, e);
    char *url = NULL;
    if (r == 0)
        r = url_parse(req->url, where, &url, e);
    if (r < 0)
        return r;
    struct http_transfer *t = calloc(1, sizeof *t);
    if (!t) {
        curl_free(url);
        return err_set(e, -ENOMEM, "out of memory");
    }
    *t = (struct http_transfer){.h = h, .done = done, .userdata = userdata, .fd = -1, .last_io_us = now_us()};
    memcpy(t->where, where, sizeof where);
    r = easy_setup(t, req, url, e); /* curl copies the URL */
    curl_free(url);
    if (r == 0 && curl_multi_add_handle(h->multi, t->easy) != CURLM_OK)
        r = err_set(e, -ENOMEM, "%s: cannot add the transfer", t->where);
    if (r < 0) {
        transfer_free(t);
        return r;
    }
    queue_push(&h->running, t);
    if (!h->stall_armed)
        stall_watch(h, (uint64_t)h->lim.stall_timeout_ms * 1000);
    if (ret)
        *ret = t;
    return 0;
}
