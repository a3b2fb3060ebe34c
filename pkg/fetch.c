/* fetch.c: getting repository files over HTTP(S) with libcurl, or from a local folder. */
#include "fetch.h"

#include "curl-dl.h"

#include <fcntl.h>
#include <limits.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <time.h>

#include "keyfile.h"
#include "keys.h"
#include "sodium-dl.h"
#include "util.h"

#define CONNECT_TIMEOUT_S 10
#define STALL_TIMEOUT_S 15
#define STALL_TIMEOUT_MAX_S 3600
#define RETRIES 3
#define BACKOFF_FIRST_MS 200
#define BACKOFF_MAX_MS 5000
#define READ_BLOCK (64 * 1024)
#define SHOWN_MAX 300 /* bytes of a location a message shows */

/* Where the bytes of one resource go, and what has been seen on the way. */
struct transfer {
    char where[SHOWN_MAX + 4]; /* the location, as messages show it */
    const struct fetch_options *o;
    uint64_t limit; /* the most bytes the resource may hold */
    uint64_t have;  /* bytes held so far, resumed ones included */
    bool to_file;   /* fd and hash, else buf */
    int fd;
    crypto_generichash_state hash;
    char *buf;
    size_t cap;

    /* One HTTP attempt. */
    CURL *curl;
    bool status_checked, too_large, range_ignored, retryable, stalled;
    bool requested;   /* connected and the request sent: the stall clock runs */
    double last_data; /* when a byte (header or body) last arrived, or the request went out */
    long bad_status;
    int sink_error;
    char curl_msg[CURL_ERROR_SIZE];
    struct err *e;
};

/* Options ------------------------------------------------------------------------------------- */

struct fetch_options fetch_options_default(void) {
    struct fetch_options o = {
        .connect_timeout_s = CONNECT_TIMEOUT_S,
        .stall_timeout_s = STALL_TIMEOUT_S,
        .retries = RETRIES,
    };
    const char *s = getenv("SLATE_FETCH_TIMEOUT");
    unsigned long v;
    if (s && parse_uint(s, 1, STALL_TIMEOUT_MAX_S, &v) == 0)
        o.stall_timeout_s = (long)v;
    return o;
}

/* A missing or zero setting means its default. */
static struct fetch_options options_or_default(const struct fetch_options *o) {
    struct fetch_options d = fetch_options_default();
    if (!o)
        return d;
    struct fetch_options r = *o;
    if (r.connect_timeout_s <= 0)
        r.connect_timeout_s = d.connect_timeout_s;
    if (r.stall_timeout_s <= 0)
        r.stall_timeout_s = d.stall_timeout_s;
    return r;
}

char *fetch_join(const char *base, const char *name) {
    size_t n = strlen(base);
    bool slash = n > 0 && base[n - 1] == '/';
    char *s;
    if (asprintf(&s, "%s%s%s", base, slash ? "" : "/", name) < 0)
        return NULL;
    return s;
}

/* Locations ----------------------------------------------------------------------------------- */

enum kind { LOCAL, REMOTE, UNSUPPORTED };

static enum kind location_kind(const char *location) {
    if (strncasecmp(location, "http://", 7) == 0 || strncasecmp(location, "https://", 8) == 0)
        return REMOTE;
    /* scheme://..., in the URL syntax: never a local path, whatever the scheme */
    size_t n = strspn(location, "abcdefghijklmnopqrstuvwxyzABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-");
    if (n > 0 && strncmp(location + n, "://", 3) == 0)
        return UNSUPPORTED;
    return LOCAL;
}

/* A location cut short, with control characters as '?': a message stays one line. */
static void shown(const char *s, char out[static SHOWN_MAX + 4]) {
    size_t i = 0;
    for (; s[i] && i < SHOWN_MAX; i++)
        out[i] = (unsigned char)s[i] < 0x20 || s[i] == 0x7f ? '?' : s[i];
    strcpy(out + i, s[i] ? "..." : "");
}

static int transfer_init(struct transfer *t, const char *location, const struct fetch_options *o, struct err *e) {
    shown(location, t->where);
    t->o = o;
    t->fd = -1;
    t->e = e;
    if (!*location)
        return err_set(e, -EINVAL, "empty location");
    if (location_kind(location) == UNSUPPORTED)
        return err_set(e, -EPROTONOSUPPORT, "%s: unsupported scheme (only http, https or a local path)", t->where);
    return 0;
}

/* Where bytes go ------------------------------------------------------------------------------ */

static int sink_reset(struct transfer *t) {
    t->have = 0;
    if (!t->to_file)
        return 0;
    sym_crypto_generichash_init(&t->hash, NULL, 0, crypto_generichash_BYTES);
    if (ftruncate(t->fd, 0) < 0 || lseek(t->fd, 0, SEEK_SET) < 0)
        return -errno;
    return 0;
}

static int memory_write(struct transfer *t, const void *p, size_t n) {
    size_t need = (size_t)t->have + n + 1; /* have + n <= limit < SIZE_MAX */
    if (need > t->cap) {
        size_t cap = t->cap ? t->cap : READ_BLOCK;
        while (cap < need)
            cap = cap > SIZE_MAX / 2 ? SIZE_MAX : cap * 2;
        if (cap > t->limit + 1)
            cap = (size_t)t->limit + 1;
        char *buf = realloc(t->buf, cap);
        if (!buf)
            return -ENOMEM;
        t->buf = buf;
        t->cap = cap;
    }
    memcpy(t->buf + t->have, p, n);
    return 0;
}

/* Take n more bytes, refusing any beyond the limit: endless data ends here. */
static int sink_write(struct transfer *t, const void *p, size_t n) {
    if (n > t->limit - t->have) {
        t->too_large = true;
        return -EFBIG;
    }
    int r = 0;
    if (t->to_file) {
        r = write_all(t->fd, p, n);
        if (r == 0)
            sym_crypto_generichash_update(&t->hash, (const unsigned char *)p, n);
    } else
        r = memory_write(t, p, n);
    if (r < 0) {
        t->sink_error = r;
        return r;
    }
    t->have += n;
    return 0;
}

static int too_large(struct transfer *t) {
    if (t->to_file)
        return err_set(t->e, -E_MALFORMED, "%s: the download is larger than the index says (%llu bytes)", t->where,
                       (unsigned long long)t->limit);
    return err_set(t->e, -E_MALFORMED, "%s: larger than the %llu bytes allowed", t->where,
                   (unsigned long long)t->limit);
}

/* Local files --------------------------------------------------------------------------------- */

static int read_local(struct transfer *t, const char *path) {
    /* O_NONBLOCK: a fifo must not hang us; it is refused below. */
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0)
        return err_set(t->e, -errno, "%s: %m", t->where);
    if (!S_ISREG(st.st_mode))
        return err_set(t->e, S_ISDIR(st.st_mode) ? -EISDIR : -EINVAL, "%s: not a regular file", t->where);
    if ((uint64_t)st.st_size > t->limit) /* a quick answer; the reads below check anyway */
        return too_large(t);
    int r = sink_reset(t);
    if (r < 0)
        return err_set(t->e, r, "%s: cannot write the copy: %s", t->where, strerror(-r));
    for (;;) {
        char buf[READ_BLOCK];
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return err_set(t->e, -errno, "%s: %m", t->where);
        if (n == 0)
            return 0;
        if (sink_write(t, buf, (size_t)n) < 0)
            return t->too_large ? too_large(t)
                                : err_set(t->e, t->sink_error, "%s: cannot write the copy: %s", t->where,
                                          strerror(-t->sink_error));
    }
}

/* HTTP ---------------------------------------------------------------------------------------- */

static pthread_once_t curl_once = PTHREAD_ONCE_INIT;
static CURLcode curl_init_result;

static void curl_init(void) {
    curl_init_result = curl_global_init(CURL_GLOBAL_DEFAULT);
}

static double now(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Connected (or reusing a connection), about to send a request: silence counts from here. */
static int on_request(void *userdata, char *conn_primary_ip, char *conn_local_ip, int conn_primary_port,
                      int conn_local_port) {
    (void)conn_primary_ip, (void)conn_local_ip, (void)conn_primary_port, (void)conn_local_port;
    struct transfer *t = userdata;
    t->requested = true;
    t->last_data = now();
    return CURL_PREREQFUNC_OK;
}

/*
 * Called about once a second when nothing arrives. libcurl's own low-speed check
 * averages over a few seconds, so a stall would be noticed seconds late.
 */
static int on_progress(void *userdata, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal, curl_off_t ulnow) {
    (void)dltotal, (void)dlnow, (void)ultotal, (void)ulnow;
    struct transfer *t = userdata;
    if (t->requested && now() - t->last_data >= (double)t->o->stall_timeout_s) {
        t->stalled = true;
        return 1;
    }
    return 0;
}

static size_t on_header(char *p, size_t size, size_t nmemb, void *userdata) {
    (void)p;
    struct transfer *t = userdata;
    t->last_data = now();
    return size * nmemb;
}

static size_t on_data(char *p, size_t size, size_t nmemb, void *userdata) {
    struct transfer *t = userdata;
    size_t n = size * nmemb;
    t->last_data = now();
    if (!t->status_checked) {
        long status = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
        if (status / 100 != 2) {
            t->bad_status = status;
            return 0;
        }
        /* libcurl refuses a 200 to a resume itself; this is a second lock on that door. */
        if (t->have > 0 && status != 206 && (t->sink_error = sink_reset(t)) < 0)
            return 0;
        t->status_checked = true;
    }
    return sink_write(t, p, n) < 0 ? 0 : n;
}

#define SET(opt, value)                                                                                                \
    do {                                                                                                               \
        if (k == CURLE_OK)                                                                                             \
            k = curl_easy_setopt(c, opt, value);                                                                       \
    } while (0)

static int curl_open(struct transfer *t, const char *url) {
    int r = dlopen_libcurl(t->e);
    if (r < 0)
        return r;
    pthread_once(&curl_once, curl_init);
    if (curl_init_result != CURLE_OK)
        return err_set(t->e, -ENOMEM, "%s: cannot start libcurl: %s", t->where, curl_easy_strerror(curl_init_result));
    CURL *c = curl_easy_init();
    if (!c)
        return err_set(t->e, -ENOMEM, "out of memory");
    CURLcode k = curl_common_setup(c, url, t->curl_msg);
    SET(CURLOPT_FAILONERROR, 1L);
    SET(CURLOPT_CONNECTTIMEOUT, t->o->connect_timeout_s);
    SET(CURLOPT_LOW_SPEED_LIMIT, 1L);
    SET(CURLOPT_LOW_SPEED_TIME, t->o->stall_timeout_s);
    SET(CURLOPT_WRITEFUNCTION, on_data);
    SET(CURLOPT_WRITEDATA, t);
    SET(CURLOPT_HEADERFUNCTION, on_header);
    SET(CURLOPT_HEADERDATA, t);
    SET(CURLOPT_PREREQFUNCTION, on_request);
    SET(CURLOPT_PREREQDATA, t);
    SET(CURLOPT_XFERINFOFUNCTION, on_progress);
    SET(CURLOPT_XFERINFODATA, t);
    SET(CURLOPT_NOPROGRESS, 0L);
    /* A declared length beyond the limit is refused before any byte (0 would mean no limit). */
    if (t->limit > 0 && t->limit <= INT64_MAX)
        SET(CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)t->limit);
    if (k != CURLE_OK) {
        curl_easy_cleanup(c);
        return err_set(t->e, -EIO, "%s: cannot set up libcurl: %s", t->where, curl_easy_strerror(k));
    }
    t->curl = c;
    return 0;
}

static int http_status_failure(struct transfer *t, long status) {
    t->retryable = status >= 500 || status == 408 || status == 429;
    int r = status == 404 || status == 410 ? -ENOENT : status == 401 || status == 403 ? -EACCES : -EIO;
    return err_set(t->e, r, "%s: HTTP %ld", t->where, status);
}

/* libcurl's answer as a code, a message naming the cause, and whether to try again. */
static int curl_failure(struct transfer *t, CURLcode k) {
    const char *why = *t->curl_msg ? t->curl_msg : curl_easy_strerror(k);
    long os_errno = 0;
    curl_easy_getinfo(t->curl, CURLINFO_OS_ERRNO, &os_errno);
    t->retryable = true;
    switch (k) {
    case CURLE_WRITE_ERROR:
        t->retryable = false;
        if (t->too_large)
            return too_large(t);
        if (t->bad_status)
            return http_status_failure(t, t->bad_status);
        if (t->sink_error)
            return err_set(t->e, t->sink_error, "%s: cannot write the download: %s", t->where,
                           strerror(-t->sink_error));
        break;
    case CURLE_FILESIZE_EXCEEDED: t->retryable = false; return too_large(t);
    case CURLE_HTTP_RETURNED_ERROR: {
        long status = 0;
        curl_easy_getinfo(t->curl, CURLINFO_RESPONSE_CODE, &status);
        return http_status_failure(t, status);
    }
    case CURLE_ABORTED_BY_CALLBACK:
        if (!t->stalled)
            break;
        return err_set(t->e, -ETIMEDOUT, "%s: no data for %ld s: the server stalled", t->where, t->o->stall_timeout_s);
    case CURLE_OPERATION_TIMEDOUT:
        if (strstr(why, "too slow")) /* the low-speed check, a second net under on_progress */
            return err_set(t->e, -ETIMEDOUT, "%s: no data for %ld s: the server stalled", t->where,
                           t->o->stall_timeout_s);
        return err_set(t->e, -ETIMEDOUT, "%s: timed out (%s)", t->where, why);
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_RESOLVE_PROXY: return err_set(t->e, -EHOSTUNREACH, "%s: %s", t->where, why);
    case CURLE_COULDNT_CONNECT: return err_set(t->e, -ECONNREFUSED, "%s: cannot connect (%s)", t->where, why);
    case CURLE_RECV_ERROR:
    case CURLE_SEND_ERROR:
        if (os_errno == ECONNRESET)
            return err_set(t->e, -ECONNRESET, "%s: the connection was reset", t->where);
        return err_set(t->e, -EIO, "%s: the connection failed (%s)", t->where, why);
    case CURLE_PARTIAL_FILE:
        return err_set(t->e, -ECONNRESET, "%s: the connection closed before the end (%s)", t->where, why);
    case CURLE_GOT_NOTHING:
        return err_set(t->e, -ECONNRESET, "%s: the server closed the connection without a reply", t->where);
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM: return err_set(t->e, -EIO, "%s: %s", t->where, why);
    case CURLE_RANGE_ERROR:
        t->retryable = false;
        t->range_ignored = true;
        return err_set(t->e, -EIO, "%s: the server cannot resume a download (%s)", t->where, why);
    case CURLE_UNSUPPORTED_PROTOCOL:
        t->retryable = false;
        return err_set(t->e, -EPROTONOSUPPORT, "%s: redirected to a scheme other than http or https", t->where);
    case CURLE_TOO_MANY_REDIRECTS:
        t->retryable = false;
        return err_set(t->e, -ELOOP, "%s: more than %d redirects", t->where, CURL_REDIRECTS_MAX);
    case CURLE_OUT_OF_MEMORY: t->retryable = false; return err_set(t->e, -ENOMEM, "out of memory");
    default: break;
    }
    t->retryable = false;
    return err_set(t->e, -EIO, "%s: %s", t->where, why);
}

static int http_attempt(struct transfer *t) {
    t->status_checked = t->too_large = t->range_ignored = t->retryable = t->stalled = t->requested = false;
    t->bad_status = 0;
    t->sink_error = 0;
    t->curl_msg[0] = '\0';
    CURLcode k = curl_easy_setopt(t->curl, CURLOPT_RESUME_FROM_LARGE, (curl_off_t)t->have);
    if (k == CURLE_OK)
        k = curl_easy_perform(t->curl);
    return k == CURLE_OK ? 0 : curl_failure(t, k);
}

static void backoff(unsigned attempt) {
    long ms = BACKOFF_FIRST_MS;
    for (unsigned i = 0; i < attempt && ms < BACKOFF_MAX_MS; i++)
        ms *= 2;
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    struct timespec ts = {ms / 1000, ms % 1000 * 1000000L};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

/*
 * The resource over HTTP into t, retrying transport failures. A file resumes from
 * what it holds; a server that ignores ranges gets whole requests from then on.
 */
static int download(struct transfer *t, const char *url) {
    int r = curl_open(t, url);
    if (r < 0)
        return r;
    bool resume = t->to_file;
    unsigned attempt = 0;
    for (;;) {
        if (!resume && (r = sink_reset(t)) < 0) {
            r = err_set(t->e, r, "%s: cannot write the download: %s", t->where, strerror(-r));
            break;
        }
        /* Everything arrived before the connection failed: the hash check decides. */
        if (resume && t->have > 0 && t->have == t->limit) {
            r = 0;
            break;
        }
        r = http_attempt(t);
        if (r == 0)
            break;
        if (t->range_ignored && resume) {
            resume = false;
            continue;
        }
        if (!t->retryable || attempt >= t->o->retries)
            break;
        backoff(attempt++);
    }
    if (r < 0 && attempt > 0 && t->e) {
        size_t n = strlen(t->e->msg);
        snprintf(t->e->msg + n, sizeof t->e->msg - n, " (tried %u times)", attempt + 1);
    }
    curl_easy_cleanup(t->curl);
    t->curl = NULL;
    return r;
}

/* The API ------------------------------------------------------------------------------------- */

int fetch_memory(const char *location, size_t max_bytes, const struct fetch_options *o, char **ret, size_t *ret_len,
                 struct err *e) {
    struct fetch_options opts = options_or_default(o);
    struct transfer t = {.limit = max_bytes < SIZE_MAX - 1 ? max_bytes : SIZE_MAX - 1};
    int r = keys_init(e) < 0 ? -ELIBACC : transfer_init(&t, location, &opts, e);
    if (r == 0)
        r = location_kind(location) == LOCAL ? read_local(&t, location) : download(&t, location);
    if (r == 0 && !t.buf && !(t.buf = malloc(1)))
        r = err_set(e, -ENOMEM, "out of memory");
    if (r < 0) {
        free(t.buf);
        return r;
    }
    t.buf[t.have] = '\0';
    *ret = t.buf;
    *ret_len = (size_t)t.have;
    return 0;
}

/* Start the hash with what dirfd/name.part already holds, keeping it when it can be the start of the file. */
static int part_resume(struct transfer *t) {
    struct stat st;
    if (fstat(t->fd, &st) < 0)
        return -errno;
    if (!S_ISREG(st.st_mode))
        return -EINVAL;
    sym_crypto_generichash_init(&t->hash, NULL, 0, crypto_generichash_BYTES);
    t->have = 0;
    if ((uint64_t)st.st_size > t->limit)
        return sink_reset(t);
    for (;;) {
        char buf[READ_BLOCK];
        ssize_t n = read(t->fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0 || (uint64_t)n > t->limit - t->have)
            break;
        sym_crypto_generichash_update(&t->hash, (const unsigned char *)buf, (size_t)n);
        t->have += (uint64_t)n;
    }
    /* The file may have changed under us: continue exactly after what was hashed. */
    if (ftruncate(t->fd, (off_t)t->have) < 0 || lseek(t->fd, (off_t)t->have, SEEK_SET) < 0)
        return -errno;
    return 0;
}

/* The complete file: its size and hash against the index's. */
static int part_check(struct transfer *t, const uint8_t want[32]) {
    uint8_t got[crypto_generichash_BYTES];
    if (t->have != t->limit)
        return err_set(t->e, -E_MALFORMED, "%s: the download is %llu bytes, the index says %llu", t->where,
                       (unsigned long long)t->have, (unsigned long long)t->limit);
    sym_crypto_generichash_final(&t->hash, got, sizeof got);
    if (sym_sodium_memcmp(got, want, sizeof got) != 0)
        return err_set(t->e, -E_MALFORMED, "%s: the download does not match the index (BLAKE2b)", t->where);
    return 0;
}

static int fetch_into_part(struct transfer *t, const char *location, const uint8_t hash[32]) {
    int r = part_resume(t);
    if (r < 0)
        return err_set(t->e, r, "%s: cannot read the partial download: %s", t->where, strerror(-r));
    bool resumed = t->have > 0;
    for (;;) {
        r = location_kind(location) == LOCAL ? read_local(t, location) : download(t, location);
        if (r == 0)
            r = part_check(t, hash);
        /* The bad bytes may be a leftover of an earlier try's: start over once, from nothing. */
        if (r != -E_MALFORMED || !resumed)
            return r;
        resumed = false;
        if ((r = sink_reset(t)) < 0)
            return err_set(t->e, r, "%s: cannot write the download: %s", t->where, strerror(-r));
    }
}

int fetch_file(const char *location, uint64_t size, const uint8_t hash[32], int dirfd, const char *name,
               const struct fetch_options *o, struct err *e) {
    struct fetch_options opts = options_or_default(o);
    struct transfer t = {.limit = size, .to_file = true};
    char part[PATH_MAX];
    int r = keys_init(e) < 0 ? -ELIBACC : transfer_init(&t, location, &opts, e);
    if (r < 0)
        return r;
    if (snprintf(part, sizeof part, "%s.part", name) >= (int)sizeof part)
        return err_set(e, -ENAMETOOLONG, "%s: name too long", name);
    t.fd = openat(dirfd, part, O_RDWR | O_CREAT | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (t.fd < 0)
        return err_set(e, -errno, "%s: %m", part);
    r = fetch_into_part(&t, location, hash);
    /* Keep only what can be resumed: bytes that may be the start of the file. */
    if (r == -E_MALFORMED || (r < 0 && t.have == 0))
        unlinkat(dirfd, part, 0);
    if (r == 0 && fsync(t.fd) < 0)
        r = err_set(e, -errno, "%s: %m", part);
    if (close(t.fd) < 0 && r == 0)
        r = err_set(e, -errno, "%s: %m", part);
    if (r == 0 && renameat(dirfd, part, dirfd, name) < 0)
        r = err_set(e, -errno, "%s: %m", name);
    if (r == 0 && (r = fsync_dir_at(dirfd, ".")) < 0)
        r = err_set(e, r, "%s: cannot sync its folder: %s", name, strerror(-r));
    return r;
}
