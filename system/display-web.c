/* display-web.c: the web viewer: a page on 127.0.0.1 that shows the screen live and sends input back. */
#include <arpa/inet.h>
#include <errno.h>
#include <microhttpd.h>
#include <netinet/in.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>

#include "dl.h"
#include "slated.h"
#include "util.h"

/*
 * libmicrohttpd, loaded when this backend starts (slated without --display web never maps it),
 * runs inside slated's loop: its epoll fd is one more source, its timeouts one more timer.
 *
 * The page draws the screen on a canvas. It asks for /frame?since=N: the answer is every
 * rectangle that changed since frame N, as raw RGBA (no encoding to pay for in slated; a scroll
 * frame is a strip), or the whole screen when N is too old; when nothing changed yet the request
 * waits (suspended) until something does. Taps, drags and keys come back as POST /input lines
 * ("down X Y", "move X Y", "up X Y", "key NAME", "text TEXT") in screen pixels.
 */
#define DEFAULT_PORT 8080
#define HISTORY 64  /* frames whose rectangles are kept for clients catching up */
#define RECTS 16    /* per frame; more are merged */
#define WAITERS_MAX 16
#define INPUT_MAX 256

#define MHD_SYMBOLS(X) \
    X(MHD_add_response_header) \
    X(MHD_create_response_from_buffer) \
    X(MHD_destroy_response) \
    X(MHD_get_daemon_info) \
    X(MHD_get_timeout) \
    X(MHD_lookup_connection_value) \
    X(MHD_queue_response) \
    X(MHD_resume_connection) \
    X(MHD_run) \
    X(MHD_start_daemon) \
    X(MHD_stop_daemon) \
    X(MHD_suspend_connection)

MHD_SYMBOLS(DL_DECLARE)
int dlopen_mhd(struct err *e);
DL_LIBRARY(mhd, "libmicrohttpd.so.12", "libmicrohttpd", MHD_SYMBOLS, NULL, false)

struct frame {
    struct rect r[RECTS];
    int n;
};

struct web {
    struct slated *s;
    struct MHD_Daemon *d;
    int port;
    struct loop_source *io, *timer, *flush;
    uint32_t seq; /* frames published */
    struct frame history[HISTORY]; /* frame k at history[k % HISTORY] */
    struct frame pending;          /* what changed since the last published frame */
    struct MHD_Connection *waiters[WAITERS_MAX];
    size_t n_waiters;
};

/* Per connection: what it asked for, and a POST body as it arrives. */
struct request {
    bool waiting;
    char body[INPUT_MAX];
    size_t len;
};

static const char page[] =
    "<!doctype html><html><head><meta charset=utf-8><meta name=viewport content='width=device-width'>"
    "<title>Slate</title><style>html,body{margin:0;height:100%;background:#202124}"
    "body{display:flex;align-items:center;justify-content:center}"
    "canvas{height:96vh;max-width:100vw;object-fit:contain;border-radius:18px;box-shadow:0 4px 24px #000a;"
    "touch-action:none;background:#fff}</style></head><body><canvas id=screen></canvas><script>\n"
    "const c=document.getElementById('screen'),g=c.getContext('2d');let seq=0,down=false;\n"
    "async function poll(){for(;;){try{const r=await fetch('/frame?since='+seq);const b=await r.arrayBuffer();"
    "const v=new DataView(b);seq=v.getUint32(0,true);const w=v.getUint32(4,true),h=v.getUint32(8,true);"
    "if(c.width!==w||c.height!==h){c.width=w;c.height=h}let n=v.getUint32(12,true),o=16;"
    "while(n--){const x=v.getUint32(o,true),y=v.getUint32(o+4,true),rw=v.getUint32(o+8,true),rh=v.getUint32(o+12,true);"
    "o+=16;g.putImageData(new ImageData(new Uint8ClampedArray(b,o,rw*rh*4),rw,rh),x,y);o+=rw*rh*4}"
    "document.body.dataset.seq=seq}catch(e){await new Promise(r=>setTimeout(r,500))}}}\n"
    "function send(t){fetch('/input',{method:'POST',body:t})}\n"
    "function at(e){const r=c.getBoundingClientRect();return Math.round((e.clientX-r.left)*c.width/r.width)+' '+"
    "Math.round((e.clientY-r.top)*c.height/r.height)}\n"
    "c.addEventListener('pointerdown',e=>{down=true;c.setPointerCapture(e.pointerId);send('down '+at(e))});\n"
    "c.addEventListener('pointermove',e=>{if(down)send('move '+at(e))});\n"
    "c.addEventListener('pointerup',e=>{down=false;send('up '+at(e))});\n"
    "c.addEventListener('pointercancel',e=>{down=false;send('cancel '+at(e))});\n"
    "const named={Escape:'Back',Enter:'Return',Backspace:'BackSpace',Delete:'Delete',ArrowLeft:'Left',"
    "ArrowRight:'Right',Home:'Home',End:'End'};\n"
    "addEventListener('keydown',e=>{if(named[e.key]){send('key '+named[e.key]);e.preventDefault()}"
    "else if(e.key.length===1&&!e.ctrlKey&&!e.metaKey){send('text '+e.key);e.preventDefault()}});\n"
    "poll();</script></body></html>";

static struct web *W(struct slated *s) {
    return s->display->backend_state;
}

/* ---- answers ---- */

static enum MHD_Result respond(struct MHD_Connection *c, unsigned status, void *body, size_t len, bool owned,
                               const char *type) {
    struct MHD_Response *r = sym_MHD_create_response_from_buffer(len, body, owned ? MHD_RESPMEM_MUST_FREE
                                                                              : MHD_RESPMEM_PERSISTENT);
    if (!r) {
        if (owned)
            free(body);
        return MHD_NO;
    }
    sym_MHD_add_response_header(r, "Content-Type", type);
    sym_MHD_add_response_header(r, "Cache-Control", "no-store");
    enum MHD_Result ret = sym_MHD_queue_response(c, status, r);
    sym_MHD_destroy_response(r);
    return ret;
}

static enum MHD_Result respond_text(struct MHD_Connection *c, unsigned status, const char *text) {
    return respond(c, status, (void *)text, strlen(text), false, "text/plain; charset=utf-8");
}

static void put_u32(uint8_t *p, uint32_t v) {
    memcpy(p, &v, 4); /* little-endian: what the page reads, and what x86 and arm are */
}

/* The rectangles changed since frame `since` (the whole screen when it is too old), with their pixels as RGBA. */
static enum MHD_Result send_frames(struct web *w, struct MHD_Connection *c, uint32_t since) {
    struct display *d = w->s->display;
    struct rect rects[HISTORY * RECTS];
    size_t n = 0;
    if (since == 0 || w->seq - since >= HISTORY)
        rects[n++] = (struct rect){0, 0, d->w, d->h};
    else
        for (uint32_t k = since + 1; k <= w->seq; k++) {
            const struct frame *f = &w->history[k % HISTORY];
            for (int i = 0; i < f->n; i++)
                rects[n++] = f->r[i];
        }
    size_t size = 16;
    for (size_t i = 0; i < n; i++)
        size += 16 + (size_t)rects[i].w * rects[i].h * 4;
    uint8_t *out = malloc(size), *p = out + 16;
    if (!out)
        return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "out of memory\n");
    put_u32(out, w->seq);
    put_u32(out + 4, (uint32_t)d->w);
    put_u32(out + 8, (uint32_t)d->h);
    put_u32(out + 12, (uint32_t)n);
    for (size_t i = 0; i < n; i++) {
        struct rect r = rects[i];
        put_u32(p, (uint32_t)r.x);
        put_u32(p + 4, (uint32_t)r.y);
        put_u32(p + 8, (uint32_t)r.w);
        put_u32(p + 12, (uint32_t)r.h);
        p += 16;
        for (int y = r.y; y < r.y + r.h; y++) {
            const uint32_t *src = d->screen + (size_t)y * d->w + r.x;
            for (int x = 0; x < r.w; x++, p += 4) {
                p[0] = (uint8_t)(src[x] >> 16);
                p[1] = (uint8_t)(src[x] >> 8);
                p[2] = (uint8_t)src[x];
                p[3] = 0xff;
            }
        }
    }
    return respond(c, MHD_HTTP_OK, out, size, true, "application/octet-stream");
}

/* A coordinate: an optional minus and at most 6 digits, then the end or a space (*end). */
static bool coordinate(const char *s, int *ret, const char **end) {
    bool minus = *s == '-';
    int v = 0, n = 0;
    s += minus;
    for (; *s >= '0' && *s <= '9'; s++, n++)
        if (n == 6)
            return false;
        else
            v = v * 10 + (*s - '0');
    if (n == 0 || (*s && *s != ' '))
        return false;
    *ret = minus ? -v : v;
    *end = s;
    return true;
}

int web_parse_input(char *line, struct web_input *ret) {
    static const struct {
        const char *word;
        enum proto_input kind;
    } kinds[] = {{"down", INPUT_DOWN}, {"move", INPUT_MOVE}, {"up", INPUT_UP},
                 {"cancel", INPUT_CANCEL}, {"key", INPUT_KEY}, {"text", INPUT_TEXT}};
    char *arg = strchr(line, ' ');
    if (!arg)
        return -EINVAL;
    *arg++ = '\0';
    for (size_t i = 0; i < sizeof kinds / sizeof *kinds; i++) {
        if (strcmp(line, kinds[i].word) != 0)
            continue;
        *ret = (struct web_input){.kind = kinds[i].kind};
        if (kinds[i].kind == INPUT_KEY || kinds[i].kind == INPUT_TEXT) {
            if (!*arg || strlen(arg) >= INPUT_KEY_MAX || !utf8_printable(arg))
                return -EINVAL;
            ret->key = arg;
            return 0;
        }
        const char *p;
        if (!coordinate(arg, &ret->x, &p) || *p != ' ' || !coordinate(p + 1, &ret->y, &p) || *p)
            return -EINVAL;
        return 0;
    }
    return -EINVAL;
}

/* One line from the page, into the display's input. */
static bool take_input(struct web *w, char *line) {
    struct display *d = w->s->display;
    struct web_input in;
    if (web_parse_input(line, &in) < 0)
        return false;
    /* A drag may leave the canvas: it ends at its edge. */
    in.x = in.x < 0 ? 0 : in.x >= d->w ? d->w - 1 : in.x;
    in.y = in.y < 0 ? 0 : in.y >= d->h ? d->h - 1 : in.y;
    display_input(w->s, in.kind, in.x, in.y, in.key);
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url, const char *method,
                                  const char *version, const char *upload, size_t *upload_size, void **con_cls) {
    struct web *w = cls;
    struct request *rq = *con_cls;
    (void)version;
    if (!rq) {
        if (!(rq = calloc(1, sizeof *rq)))
            return MHD_NO;
        *con_cls = rq;
        return MHD_YES;
    }
    if (!strcmp(method, "POST") && !strcmp(url, "/input")) {
        if (*upload_size) {
            size_t take = *upload_size < sizeof rq->body - 1 - rq->len ? *upload_size : sizeof rq->body - 1 - rq->len;
            memcpy(rq->body + rq->len, upload, take);
            rq->len += take;
            *upload_size = 0;
            return MHD_YES;
        }
        rq->body[rq->len] = '\0';
        return take_input(w, rq->body) ? respond_text(c, MHD_HTTP_OK, "ok\n")
                                       : respond_text(c, MHD_HTTP_BAD_REQUEST, "down|move|up|cancel X Y, key NAME, text TEXT\n");
    }
    if (strcmp(method, "GET") != 0)
        return respond_text(c, MHD_HTTP_METHOD_NOT_ALLOWED, "GET or POST /input\n");
    if (!strcmp(url, "/"))
        return respond(c, MHD_HTTP_OK, (void *)page, sizeof page - 1, false, "text/html; charset=utf-8");
    if (!strcmp(url, "/frame")) {
        const char *since_s = sym_MHD_lookup_connection_value(c, MHD_GET_ARGUMENT_KIND, "since");
        unsigned long since = 0;
        if (since_s && parse_uint(since_s, 0, UINT32_MAX, &since) < 0)
            return respond_text(c, MHD_HTTP_BAD_REQUEST, "since: a frame number\n");
        /* Nothing new yet: wait for the next frame, suspended (no thread, no polling). */
        if (since == w->seq && since != 0 && !rq->waiting) {
            if (w->n_waiters == WAITERS_MAX)
                return respond_text(c, MHD_HTTP_SERVICE_UNAVAILABLE, "too many viewers\n");
            rq->waiting = true;
            w->waiters[w->n_waiters++] = c;
            sym_MHD_suspend_connection(c);
            return MHD_YES;
        }
        return send_frames(w, c, (uint32_t)(since > w->seq ? 0 : since));
    }
    return respond_text(c, MHD_HTTP_NOT_FOUND, "not here: / is the viewer\n");
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls, enum MHD_RequestTerminationCode code) {
    struct web *w = cls;
    (void)code;
    for (size_t i = 0; i < w->n_waiters; i++)
        if (w->waiters[i] == c)
            w->waiters[i] = w->waiters[--w->n_waiters];
    free(*con_cls);
    *con_cls = NULL;
}

/* ---- the loop ---- */

static void rearm(struct web *w) {
    MHD_UNSIGNED_LONG_LONG ms;
    if (sym_MHD_get_timeout(w->d, &ms) == MHD_YES)
        loop_timer_set(w->timer, ms * 1000);
    else
        loop_timer_stop(w->timer);
}

static int on_io(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct web *w = userdata;
    (void)src, (void)fd, (void)events;
    sym_MHD_run(w->d);
    rearm(w);
    return 0;
}

static int on_timeout(struct loop_source *src, void *userdata) {
    (void)src;
    on_io(NULL, -1, 0, userdata);
    return 0;
}

/* Once per loop turn: what changed becomes a frame, and the viewers waiting for one get it. */
static int on_flush(struct loop_source *src, void *userdata) {
    struct web *w = userdata;
    (void)src;
    if (!w->pending.n)
        return 0;
    w->seq++;
    w->history[w->seq % HISTORY] = w->pending;
    w->pending.n = 0;
    for (size_t i = 0; i < w->n_waiters; i++)
        sym_MHD_resume_connection(w->waiters[i]);
    w->n_waiters = 0;
    /* Their requests are answered when libmicrohttpd runs them again: now. */
    sym_MHD_run(w->d);
    rearm(w);
    return 0;
}

static void web_damage(struct slated *s, struct rect r) {
    struct web *w = W(s);
    struct frame *f = &w->pending;
    if (f->n == RECTS) {
        f->r[0] = rect_union(f->r[0], r);
        for (int i = 1; i < f->n; i++)
            f->r[0] = rect_union(f->r[0], f->r[i]);
        f->n = 1;
    } else
        f->r[f->n++] = r;
    loop_timer_set(w->flush, 0);
}

static int web_open(struct slated *s, const char *arg, struct err *e) {
    unsigned long port = DEFAULT_PORT;
    int r;
    if (arg[0] && parse_uint(arg, 1, 65535, &port) < 0)
        return err_set(e, -EINVAL, "--display web:%s: a port from 1 to 65535", arg);
    if ((r = dlopen_mhd(e)) < 0)
        return r;
    struct web *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, -ENOMEM, "out of memory");
    w->s = s;
    w->port = (int)port;
    /* Never beyond this machine: the viewer drives the device. */
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port),
                             .sin_addr.s_addr = htonl(INADDR_LOOPBACK)};
    w->d = sym_MHD_start_daemon(MHD_USE_EPOLL | MHD_ALLOW_SUSPEND_RESUME, (uint16_t)port, NULL, NULL, on_request, w,
                                MHD_OPTION_SOCK_ADDR, &sa, MHD_OPTION_NOTIFY_COMPLETED, on_completed, w,
                                MHD_OPTION_CONNECTION_LIMIT, (unsigned)64, MHD_OPTION_END);
    if (!w->d) {
        free(w);
        return err_set(e, -EADDRINUSE, "web viewer: cannot listen on 127.0.0.1:%lu (in use?)", port);
    }
    const union MHD_DaemonInfo *info = sym_MHD_get_daemon_info(w->d, MHD_DAEMON_INFO_EPOLL_FD);
    if (!info || (r = loop_add_io(s->loop, info->epoll_fd, EPOLLIN, on_io, w, &w->io)) < 0 ||
        (r = loop_add_timer(s->loop, 0, on_timeout, w, &w->timer)) < 0 ||
        (r = loop_add_timer(s->loop, 0, on_flush, w, &w->flush)) < 0) {
        loop_source_remove(w->io);
        loop_source_remove(w->timer);
        sym_MHD_stop_daemon(w->d);
        free(w);
        return err_set(e, r < 0 ? r : -EIO, "web viewer: cannot join the event loop");
    }
    loop_timer_stop(w->flush);
    rearm(w);
    s->display->backend_state = w;
    slated_log(s, "web viewer on http://127.0.0.1:%lu/", port);
    return 0;
}

static void web_close(struct slated *s) {
    struct web *w = W(s);
    if (!w)
        return;
    for (size_t i = 0; i < w->n_waiters; i++)
        sym_MHD_resume_connection(w->waiters[i]);
    loop_source_remove(w->io);
    loop_source_remove(w->timer);
    loop_source_remove(w->flush);
    sym_MHD_stop_daemon(w->d);
    free(w);
    s->display->backend_state = NULL;
}

const struct display_backend web_backend = {.name = "web", .open = web_open, .damage = web_damage, .close = web_close};
