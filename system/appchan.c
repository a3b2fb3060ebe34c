/* appchan.c: slated's end of each app's channel: lifecycle events out, SDK requests in. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "db.h"
#include "proto.h"
#include "slated.h"

#define FETCHES_PER_UNIT 8
#define POST_BODY_MAX (16u << 20)
#define MESSAGES_PER_WAKE 16

struct fetch_req {
    struct fetch_req *next;
    struct unit *u;
    struct http_transfer *t;
    uint32_t serial;
};

/* While replies wait for the app to read them, slated reads no more requests from it: an app
 * that never reads cannot make slated queue without end. */
static void sync_events(struct unit *u) {
    if (u->chan_src)
        loop_io_set_events(u->chan_src, outq_empty(&u->chan_q) ? EPOLLIN : EPOLLOUT);
}

/* A peer that does not read what it asked for loses its channel: its SDK calls fail, nothing else waits. */
int appchan_send(struct unit *u, const struct ipc_msg *m) {
    if (u->chan_fd < 0)
        return -ENOTCONN;
    int r = outq_send(&u->chan_q, u->chan_fd, m);
    if (r == -EINVAL) /* a reply slated failed to build: a bug here, not the app's fault */
        return r;
    if (r < 0 && r != -EPIPE && r != -ECONNRESET)
        unit_log(u, "channel: %s; closing it", r == -ENOBUFS ? "the app does not read its replies" : strerror(-r));
    if (r < 0) {
        appchan_detach(u);
        return r;
    }
    sync_events(u);
    return 0;
}

int appchan_send_event(struct unit *u, uint32_t event, uint32_t level) {
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init(&m, buf, sizeof buf, MSG_EVENT, 0, IPC_FLAG_NO_REPLY);
    ipc_msg_add_u32(&m, F_EVENT, event);
    if (level)
        ipc_msg_add_u32(&m, F_LEVEL, level);
    return appchan_send(u, &m);
}

static void reply_error(struct unit *u, const struct ipc_view *req, int code, const char *text) {
    uint8_t buf[1024];
    struct ipc_msg m;
    ipc_msg_init_error(&m, buf, sizeof buf, req, code, text);
    appchan_send(u, &m);
}

static void reply_err(struct unit *u, const struct ipc_view *req, const struct err *e) {
    reply_error(u, req, e->code, e->msg);
}

/* ---- requests ---- */

static void on_hello(struct unit *u, const struct ipc_view *req) {
    uint8_t buf[256];
    struct ipc_msg m;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    ipc_msg_add_string(&m, F_ID, u->id);
    ipc_msg_add_string(&m, F_KIND, u->service[0] ? "service" : "app");
    if (u->service[0])
        ipc_msg_add_string(&m, F_SERVICE, u->service);
    /* The display's size and theme come before the start event: the app's first page is laid out right. */
    if (appchan_send(u, &m) == 0 && !u->said_hello) {
        display_hello(u);
        unit_hello(u);
    }
}

static void on_platform(struct unit *u, const struct ipc_view *req) {
    uint8_t buf[256];
    struct ipc_msg m;
    const struct platform_desc *d = &u->s->platform;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_u32(&m, F_API_LEVEL, d->api_level);
    ipc_msg_add_u32(&m, F_MIN_API_LEVEL, d->min_api_level);
    ipc_msg_add_string(&m, F_RELEASE, d->release);
    ipc_msg_add_bool(&m, F_EOL, d->eol);
    appchan_send(u, &m);
}

static bool key_valid(const char *k) {
    size_t n = strlen(k);
    if (n == 0 || n > SETTING_KEY_MAX)
        return false;
    for (; *k; k++)
        if (*k < 0x21 || *k > 0x7e)
            return false;
    return true;
}

static void on_setting(struct unit *u, const struct ipc_view *req) {
    uint8_t buf[SETTING_VALUE_MAX + 256];
    struct ipc_msg m;
    struct err e = {0};
    const char *key, *value = NULL;
    size_t value_len = 0;
    sqlite3 *db;
    int r;

    if (ipc_msg_get_string(req, F_KEY, &key, NULL, &e) < 0 || !key_valid(key))
        return reply_error(u, req, -EINVAL, "a setting's key is 1 to 128 bytes of printable ASCII");
    if (req->type == MSG_SETTING_SET &&
        (ipc_msg_get_string(req, F_VALUE, &value, &value_len, &e) < 0 || value_len > SETTING_VALUE_MAX))
        return reply_error(u, req, -EINVAL, "a setting's value is UTF-8 text of at most 4096 bytes");
    if ((r = slated_db(u->s, &db, &e)) < 0)
        return reply_err(u, req, &e);
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    switch (req->type) {
    case MSG_SETTING_GET: {
        char *v = NULL;
        if ((r = db_setting_get(db, u->id, key, &v, &e)) == 0)
            ipc_msg_add_string(&m, F_VALUE, v);
        free(v);
        break;
    }
    case MSG_SETTING_SET:
        r = db_setting_set(db, u->id, key, value, SETTINGS_PER_APP_MAX, &e);
        break;
    default:
        r = db_setting_delete(db, u->id, key, &e);
        break;
    }
    if (r == -ENOENT)
        return reply_error(u, req, -ENOENT, "no such setting");
    if (r < 0)
        return reply_err(u, req, &e);
    appchan_send(u, &m);
}

/* ---- fetch ---- */

static void fetch_forget(struct fetch_req *f) {
    struct unit *u = f->u;
    for (struct fetch_req **p = &u->fetches; *p; p = &(*p)->next)
        if (*p == f) {
            *p = f->next;
            break;
        }
    u->n_fetches--;
    free(f);
}

static void fetch_done(void *userdata, int r, const struct http_response *resp, const char *error) {
    struct fetch_req *f = userdata;
    struct unit *u = f->u;
    uint8_t buf[512];
    struct ipc_msg m;
    /* The reply answers the request's serial: rebuild a view of just that. */
    struct ipc_view req = {.type = MSG_FETCH, .serial = f->serial};

    fetch_forget(f);
    if (r < 0) {
        reply_error(u, &req, r, error);
        return;
    }
    ipc_msg_init_reply(&m, buf, sizeof buf, &req);
    ipc_msg_add_u32(&m, F_STATUS, (uint32_t)resp->status);
    ipc_msg_add_u64(&m, F_LENGTH, resp->body_len);
    ipc_msg_add_fd(&m, F_BODY, resp->body_fd);
    if (resp->content_type[0])
        ipc_msg_add_string(&m, F_CONTENT_TYPE, resp->content_type);
    appchan_send(u, &m);
    close(resp->body_fd);
}

/* The POST body arrives as a memfd: read at most POST_BODY_MAX bytes of it. */
static int read_body(struct ipc_view *req, void **ret, size_t *ret_len, struct err *e) {
    int fd;
    struct stat st;
    *ret = NULL;
    *ret_len = 0;
    if (ipc_msg_get_fd(req, F_BODY, &fd, NULL) < 0)
        return 0;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode))
        return err_set(e, -EINVAL, "the request body is not a memfd");
    if ((uint64_t)st.st_size > POST_BODY_MAX)
        return err_set(e, -EFBIG, "the request body is larger than %u bytes", POST_BODY_MAX);
    uint8_t *p = malloc((size_t)st.st_size + 1);
    if (!p)
        return err_set(e, -ENOMEM, "out of memory");
    ssize_t n = pread(fd, p, (size_t)st.st_size, 0);
    if (n != (ssize_t)st.st_size) {
        free(p);
        return err_set(e, -EIO, "cannot read the request body");
    }
    *ret = p;
    *ret_len = (size_t)n;
    return 0;
}

static void on_fetch(struct unit *u, struct ipc_view *req) {
    struct slated *s = u->s;
    struct err e = {0};
    const char *method, *url, *ctype = NULL;
    void *body = NULL;
    size_t body_len = 0;
    int r;

    if (!u->network)
        return reply_error(u, req, -EACCES, "this app does not hold the network permission");
    if (ipc_msg_get_string(req, F_METHOD, &method, NULL, &e) < 0 || ipc_msg_get_string(req, F_URL, &url, NULL, &e) < 0)
        return reply_error(u, req, -EINVAL, "a fetch needs a method and a URL");
    if (ipc_msg_get_string(req, F_CONTENT_TYPE, &ctype, NULL, NULL) < 0)
        ctype = NULL;
    if (u->n_fetches >= FETCHES_PER_UNIT)
        return reply_error(u, req, -EBUSY, "too many fetches at once");
    if (!s->http && (r = http_new(s->loop, NULL, &s->http)) < 0)
        return reply_error(u, req, r, "cannot start the HTTP client");
    if ((r = read_body(req, &body, &body_len, &e)) < 0)
        return reply_err(u, req, &e);
    struct fetch_req *f = calloc(1, sizeof *f);
    if (!f) {
        free(body);
        return reply_error(u, req, -ENOMEM, "out of memory");
    }
    f->u = u;
    f->serial = req->serial;
    struct http_request hr = {.method = method, .url = url, .body = body, .body_len = body_len, .content_type = ctype};
    r = http_start(s->http, &hr, fetch_done, f, &f->t, &e);
    free(body);
    if (r < 0) {
        free(f);
        return reply_err(u, req, &e);
    }
    f->next = u->fetches;
    u->fetches = f;
    u->n_fetches++;
}

void fetch_cancel_all(struct unit *u) {
    while (u->fetches) {
        struct fetch_req *f = u->fetches;
        http_cancel(f->t);
        fetch_forget(f);
    }
}

/* ---- services ---- */

static void on_service_connect(struct unit *u, const struct ipc_view *req) {
    uint8_t buf[128];
    struct ipc_msg m;
    struct err e = {0};
    const char *id, *service;
    struct unit *svc;
    int fd, r;

    if (ipc_msg_get_string(req, F_ID, &id, NULL, &e) < 0 || ipc_msg_get_string(req, F_SERVICE, &service, NULL, &e) < 0)
        return reply_error(u, req, -EINVAL, "a connection needs a package id and a service name");
    if (!package_id_valid(id) || strlen(service) > SERVICE_NAME_MAX)
        return reply_error(u, req, -ENOENT, "no such service");
    if ((r = unit_service(u->s, id, service, &svc, &e)) < 0 || (r = unit_service_connect(svc, &fd, &e)) < 0)
        return reply_err(u, req, &e);
    svc->last_client = u; /* a service the user's app is using ranks with it (memory.h) */
    memmgr_rank(u->s);
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_fd(&m, F_FD, fd);
    appchan_send(u, &m);
    close(fd);
}

/* ---- the display ---- */

static void on_surface(struct unit *u, const struct ipc_view *req) {
    uint8_t buf[64];
    struct ipc_msg m;
    struct err e = {0};
    uint32_t w, h, stride;
    int fd, r;
    if (ipc_msg_get_fd(req, F_FD, &fd, &e) < 0 || ipc_msg_get_u32(req, F_WIDTH, &w, &e) < 0 ||
        ipc_msg_get_u32(req, F_HEIGHT, &h, &e) < 0 || ipc_msg_get_u32(req, F_STRIDE, &stride, &e) < 0)
        return reply_error(u, req, -EINVAL, "a surface needs a memfd, a width, a height and a stride");
    if (w > 8192 || h > 8192 || stride > 8192 * 4)
        return reply_error(u, req, -EINVAL, "a surface is at most 8192 pixels a side");
    if ((r = display_attach(u, fd, (int)w, (int)h, (int)stride, &e)) < 0)
        return reply_err(u, req, &e);
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    appchan_send(u, &m);
}

static void on_frame(struct unit *u, const struct ipc_view *req) {
    const void *rects = NULL;
    size_t len = 0;
    if (ipc_msg_get_bytes(req, F_DAMAGE, &rects, &len, NULL) < 0)
        len = 0;
    display_frame(u, rects, len);
}

/* ---- the channel ---- */

static void handle(struct unit *u, struct ipc_view *v) {
    if (v->flags & IPC_FLAG_REPLY)
        return; /* slated asks nothing of apps: a reply is a confused peer, ignored */
    if (!u->said_hello && v->type != MSG_HELLO && v->type != MSG_EVENT_DONE) {
        if (!(v->flags & IPC_FLAG_NO_REPLY))
            reply_error(u, v, -EPROTO, "say hello first");
        return;
    }
    switch (v->type) {
    case MSG_HELLO:
        return on_hello(u, v);
    case MSG_EVENT_DONE: {
        uint32_t event;
        if (ipc_msg_get_u32(v, F_EVENT, &event, NULL) == 0)
            unit_event_done(u, event);
        return;
    }
    case MSG_PLATFORM:
        return on_platform(u, v);
    case MSG_SETTING_GET:
    case MSG_SETTING_SET:
    case MSG_SETTING_DELETE:
        return on_setting(u, v);
    case MSG_FETCH:
        return on_fetch(u, v);
    case MSG_SERVICE_CONNECT:
        return on_service_connect(u, v);
    case MSG_SURFACE:
        return on_surface(u, v);
    case MSG_FRAME:
        return on_frame(u, v);
    default:
        if (!(v->flags & IPC_FLAG_NO_REPLY))
            reply_error(u, v, -EOPNOTSUPP, "unknown request");
    }
}

static int on_channel(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct unit *u = userdata;
    static uint8_t buf[IPC_MSG_MAX]; /* one loop, one message at a time */
    struct err e = {0};
    (void)src;

    if (events & EPOLLOUT) {
        int r = outq_flush(&u->chan_q, fd);
        if (r < 0) {
            appchan_detach(u);
            return 0;
        }
        sync_events(u);
    }
    for (int i = 0; i < MESSAGES_PER_WAKE && u->chan_fd >= 0 && outq_empty(&u->chan_q) &&
                    (events & (EPOLLIN | EPOLLHUP));
         i++) {
        struct ipc_view v;
        int r = ipc_recv(fd, buf, sizeof buf, &v, &e);
        if (r == -EAGAIN)
            break;
        if (r == -ECONNRESET) {
            appchan_detach(u);
            break;
        }
        if (r < 0) {
            /* Malformed: said in the app's log the first time (and every 1000th); the message is dropped. */
            if (u->refused++ % 1000 == 0)
                unit_log(u, "channel: refused a message (%llu so far): %s", (unsigned long long)u->refused, e.msg);
            if (r != -E_MALFORMED && r != -EPROTONOSUPPORT && r != -EMSGSIZE) {
                appchan_detach(u);
                break;
            }
            continue;
        }
        handle(u, &v);
        ipc_view_finish(&v);
    }
    return 0;
}

/* What the loop does when the channel wakes it: read and handle what waits, flush what is queued. */
void appchan_receive(struct unit *u) {
    if (u->chan_fd >= 0)
        on_channel(u->chan_src, u->chan_fd, EPOLLIN | (outq_empty(&u->chan_q) ? 0 : EPOLLOUT), u);
}

int appchan_attach(struct unit *u, int fd) {
    fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK);
    u->chan_fd = fd;
    int r = loop_add_io(u->s->loop, fd, EPOLLIN, on_channel, u, &u->chan_src);
    if (r < 0) {
        close(fd);
        u->chan_fd = -1;
    }
    return r;
}

void appchan_detach(struct unit *u) {
    loop_source_remove(u->chan_src);
    u->chan_src = NULL;
    outq_clear(&u->chan_q);
    if (u->chan_fd >= 0)
        close(u->chan_fd);
    u->chan_fd = -1;
}
