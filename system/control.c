/* control.c: slated's control socket: the `slate` command's start, stop, ps and logs. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "proto.h"
#include "slated.h"
#include "util.h"

#define CONNS_MAX 64

struct conn {
    struct conn *next;
    struct slated *s;
    int fd;
    struct loop_source *src;
    struct outq q;
    bool hello;
    /* `slate logs -f`: which unit ("" for all), and the request's serial */
    bool follow;
    char follow_name[sizeof ((struct unit *)0)->name];
    uint32_t follow_serial;
    uint64_t dropped; /* lines a slow follower missed */
    /* `slate stop`: the reply waits for the unit to end */
    struct unit *stopping;
    uint32_t stop_serial;
    bool dead;
};

static void conn_free(struct conn *c) {
    struct slated *s = c->s;
    for (struct conn **p = &s->conns; *p; p = &(*p)->next)
        if (*p == c) {
            *p = c->next;
            break;
        }
    loop_source_remove(c->src);
    outq_clear(&c->q);
    close(c->fd);
    free(c);
}

static void conn_send(struct conn *c, const struct ipc_msg *m) {
    if (c->dead)
        return;
    int r = outq_send(&c->q, c->fd, m);
    if (r < 0) {
        /* Freed in its own callback, which the shutdown wakes. */
        c->dead = true;
        shutdown(c->fd, SHUT_RDWR);
        return;
    }
    loop_io_set_events(c->src, EPOLLIN | (outq_empty(&c->q) ? 0 : EPOLLOUT));
}

static void reply_error(struct conn *c, const struct ipc_view *req, int code, const char *text) {
    uint8_t buf[1024];
    struct ipc_msg m;
    ipc_msg_init_error(&m, buf, sizeof buf, req, code, text);
    conn_send(c, &m);
}

static void reply_ok(struct conn *c, const struct ipc_view *req) {
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    conn_send(c, &m);
}

/* ---- verbs ---- */

static void on_start(struct conn *c, const struct ipc_view *req) {
    uint8_t buf[256];
    struct ipc_msg m;
    struct err e = {0};
    struct unit *u;
    const char *id;

    if (ipc_msg_get_string(req, F_ID, &id, NULL, &e) < 0 || !package_id_valid(id))
        return reply_error(c, req, -EINVAL, "start needs a package id");
    if (unit_start_app(c->s, id, &u, &e) < 0)
        return reply_error(c, req, e.code, e.msg);
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_u32(&m, F_PID, (uint32_t)u->pid);
    ipc_msg_add_string(&m, F_STATE, unit_state_name(u));
    conn_send(c, &m);
}

static void on_stop(struct conn *c, const struct ipc_view *req) {
    struct err e = {0};
    const char *name;
    int r;

    if (ipc_msg_get_string(req, F_ID, &name, NULL, &e) < 0)
        return reply_error(c, req, -EINVAL, "stop needs an app id");
    struct unit *u = unit_find(c->s, name);
    if (!u)
        return reply_error(c, req, -E_STATE, "not running");
    if (c->stopping)
        return reply_error(c, req, -EBUSY, "one stop at a time per connection");
    if ((r = unit_stop(u, &e)) < 0)
        return reply_error(c, req, e.code, e.msg);
    if (r == 1) { /* nothing was running (a service between restarts) */
        uint8_t buf[256];
        struct ipc_msg m;
        ipc_msg_init_reply(&m, buf, sizeof buf, req);
        ipc_msg_add_string(&m, F_STATUS, "stopped");
        return conn_send(c, &m);
    }
    c->stopping = u;
    c->stop_serial = req->serial;
}

void control_unit_ended(struct slated *s, struct unit *u) {
    for (struct conn *c = s->conns; c; c = c->next) {
        if (c->stopping != u)
            continue;
        uint8_t buf[256];
        struct ipc_msg m;
        struct ipc_view req = {.type = MSG_STOP, .serial = c->stop_serial};
        ipc_msg_init_reply(&m, buf, sizeof buf, &req);
        ipc_msg_add_string(&m, F_STATUS, u->status);
        conn_send(c, &m);
        c->stopping = NULL;
    }
}

static void on_ps(struct conn *c, const struct ipc_view *req) {
    uint32_t count = 0;
    uint64_t now = now_us();
    for (struct unit *u = c->s->units; u; u = u->next, count++) {
        uint8_t buf[512];
        struct ipc_msg m;
        uint64_t mem = 0;
        if (unit_running(u) && u->cg)
            cgroup_memory_current(u->cg, &mem);
        ipc_msg_init(&m, buf, sizeof buf, MSG_PS_ENTRY, req->serial, 0);
        ipc_msg_add_string(&m, F_ID, u->name);
        ipc_msg_add_string(&m, F_KIND, u->service[0] ? "service" : "app");
        ipc_msg_add_u32(&m, F_PID, (uint32_t)u->pid);
        ipc_msg_add_string(&m, F_STATE, unit_state_name(u));
        ipc_msg_add_string(&m, F_CLASS, importance_name(unit_importance(u)));
        ipc_msg_add_u64(&m, F_MEMORY, mem);
        ipc_msg_add_u64(&m, F_BUDGET, u->budget);
        ipc_msg_add_u64(&m, F_UPTIME_MS, unit_running(u) ? (now - u->started_us) / 1000 : 0);
        ipc_msg_add_bool(&m, F_FROZEN, u->frozen);
        ipc_msg_add_string(&m, F_STATUS, u->status);
        ipc_msg_add_u32(&m, F_RESTARTS, u->restarts);
        conn_send(c, &m);
    }
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_u32(&m, F_COUNT, count);
    conn_send(c, &m);
}

/* Apps write anything: a line travels as valid UTF-8 with no control characters but tab, the rest as '?'. */
static void sanitize(const char *in, size_t n, char *out, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < n && o + 5 < size;) {
        uint32_t cp;
        size_t k = utf8_next(in + i, n - i, &cp);
        if (k == 0 || (cp < 0x20 && cp != '\t') || cp == 0x7f) {
            out[o++] = '?';
            i += k ? k : 1;
        } else {
            memcpy(out + o, in + i, k);
            o += k;
            i += k;
        }
    }
    out[o] = '\0';
}

static void send_line(struct conn *c, const char *name, uint32_t serial, const struct log_line *l) {
    uint8_t buf[LOG_LINE_MAX + 512];
    char text[LOG_LINE_MAX + 1];
    struct ipc_msg m;
    sanitize(l->text, l->len, text, sizeof text);
    ipc_msg_init(&m, buf, sizeof buf, MSG_LOG_LINE, serial, 0);
    ipc_msg_add_string(&m, F_ID, name);
    ipc_msg_add_u32(&m, F_PID, l->pid);
    ipc_msg_add_u64(&m, F_TIME_US, l->time_us);
    ipc_msg_add_u32(&m, F_STREAM, l->stream);
    ipc_msg_add_string(&m, F_TEXT, text);
    conn_send(c, &m);
}

/* The rings of several units, merged by time. */
struct merge {
    struct log_line *lines;
    char **texts;
    const char **names;
    size_t n, cap;
    const char *name;
};

static void collect(void *ud, const struct log_line *l) {
    struct merge *mg = ud;
    if (mg->n == mg->cap) {
        size_t cap = mg->cap ? mg->cap * 2 : 256;
        struct log_line *lines = realloc(mg->lines, cap * sizeof *lines);
        if (lines)
            mg->lines = lines;
        char **texts = realloc(mg->texts, cap * sizeof *texts);
        if (texts)
            mg->texts = texts;
        const char **names = realloc(mg->names, cap * sizeof *names);
        if (names)
            mg->names = names;
        if (!lines || !texts || !names)
            return;
        mg->cap = cap;
    }
    char *t = strndup(l->text, l->len);
    if (!t)
        return;
    mg->lines[mg->n] = *l;
    mg->lines[mg->n].text = t;
    mg->texts[mg->n] = t;
    mg->names[mg->n] = mg->name;
    mg->n++;
}

static struct merge *sort_target;
static int by_time(const void *a, const void *b) {
    size_t i = *(const size_t *)a, k = *(const size_t *)b;
    uint64_t x = sort_target->lines[i].time_us, y = sort_target->lines[k].time_us;
    return x < y ? -1 : x > y ? 1 : i < k ? -1 : i > k;
}

static void on_logs(struct conn *c, const struct ipc_view *req) {
    const char *name = NULL;
    bool follow = false;
    struct merge mg = {0};

    if (ipc_msg_get_string(req, F_ID, &name, NULL, NULL) < 0)
        name = NULL;
    if (ipc_msg_get_bool(req, F_FOLLOW, &follow, NULL) < 0)
        follow = false;
    if (name && !unit_find(c->s, name) && strcmp(name, "slated") != 0)
        return reply_error(c, req, -ENOENT, "slated has not run it since it started");
    if (!name || strcmp(name, "slated") == 0) {
        mg.name = "slated";
        logbuf_for_each(&c->s->log, collect, &mg);
    }
    for (struct unit *u = c->s->units; u; u = u->next)
        if (!name || strcmp(name, u->name) == 0) {
            mg.name = u->name;
            logbuf_for_each(&u->log, collect, &mg);
        }
    size_t *order = malloc((mg.n ? mg.n : 1) * sizeof *order);
    if (order) {
        for (size_t i = 0; i < mg.n; i++)
            order[i] = i;
        sort_target = &mg;
        qsort(order, mg.n, sizeof *order, by_time);
        for (size_t i = 0; i < mg.n; i++)
            send_line(c, mg.names[order[i]], req->serial, &mg.lines[order[i]]);
    }
    for (size_t i = 0; i < mg.n; i++)
        free(mg.texts[i]);
    free(mg.lines);
    free(mg.texts);
    free(mg.names);
    free(order);
    if (follow) {
        c->follow = true;
        snprintf(c->follow_name, sizeof c->follow_name, "%s", name ? name : "");
        c->follow_serial = req->serial;
        return;
    }
    reply_ok(c, req);
}

void control_log_line(struct slated *s, const struct unit *u, const struct log_line *l) {
    const char *name = u ? u->name : "slated";
    for (struct conn *c = s->conns; c; c = c->next)
        if (c->follow && (!c->follow_name[0] || strcmp(c->follow_name, name) == 0)) {
            /* A follower that does not keep up misses lines rather than growing slated, and is told how many. */
            if (c->q.bytes > OUTQ_MAX / 2) {
                c->dropped++;
                continue;
            }
            if (c->dropped) {
                char text[64];
                struct log_line note = {.time_us = l->time_us, .stream = LOG_SLATED, .text = text};
                note.len = (uint16_t)snprintf(text, sizeof text, "(%llu lines dropped: the reader was too slow)",
                                              (unsigned long long)c->dropped);
                send_line(c, "slated", c->follow_serial, &note);
                c->dropped = 0;
            }
            send_line(c, name, c->follow_serial, l);
        }
}

/* The screen as it is: a sealed memfd of its pixels, for the client to encode (slated encodes nothing). */
static void on_shot(struct conn *c, const struct ipc_view *req) {
    struct display *d = c->s->display;
    if (!d)
        return reply_error(c, req, -ENODEV, "slated shows no screen (start it with --display)");
    size_t size = (size_t)d->w * (size_t)d->h * 4;
    int fd = memfd_create("slate-shot", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return reply_error(c, req, -errno, strerror(errno));
    if (write(fd, d->screen, size) != (ssize_t)size ||
        fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_WRITE | F_SEAL_SEAL) < 0) {
        int r = -errno;
        close(fd);
        return reply_error(c, req, r ? r : -EIO, "cannot copy the screen");
    }
    uint8_t buf[128];
    struct ipc_msg m;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_fd(&m, F_BODY, fd);
    ipc_msg_add_u32(&m, F_WIDTH, (uint32_t)d->w);
    ipc_msg_add_u32(&m, F_HEIGHT, (uint32_t)d->h);
    conn_send(c, &m);
    close(fd);
}

static void on_inject(struct conn *c, const struct ipc_view *req) {
    uint32_t kind;
    int64_t x = 0, y = 0;
    const char *key = NULL;
    if (!c->s->display)
        return reply_error(c, req, -ENODEV, "slated shows no screen (start it with --display)");
    if (ipc_msg_get_u32(req, F_INPUT, &kind, NULL) < 0 || kind < INPUT_DOWN || kind > INPUT_TEXT)
        return reply_error(c, req, -EINVAL, "input is a pointer going down, moving, up or cancelled, a key or text");
    ipc_msg_get_i64(req, F_X, &x, NULL);
    ipc_msg_get_i64(req, F_Y, &y, NULL);
    if ((kind == INPUT_KEY || kind == INPUT_TEXT) &&
        (ipc_msg_get_string(req, F_KEY_NAME, &key, NULL, NULL) < 0 || strlen(key) >= INPUT_KEY_MAX))
        return reply_error(c, req, -EINVAL, "a key or text needs its name, at most 63 bytes");
    if (x < 0 || y < 0 || x >= c->s->display->w || y >= c->s->display->h)
        return reply_error(c, req, -EINVAL, "the point is off the screen");
    display_input(c->s, (enum proto_input)kind, (int)x, (int)y, key);
    reply_ok(c, req);
}

/* The device's theme: set (saved, then every app told) when the request says which; the current one back. */
static void on_theme(struct conn *c, const struct ipc_view *req) {
    struct err e = {0};
    sqlite3 *db;
    bool dark;
    int r;
    if (ipc_msg_get_bool(req, F_DARK, &dark, NULL) == 0) {
        if ((r = slated_db(c->s, &db, &e)) < 0 ||
            (r = db_setting_set(db, DEVICE_SETTINGS_ID, "theme", dark ? "dark" : "light", SETTINGS_PER_APP_MAX, &e)) < 0)
            return reply_error(c, req, r, e.msg);
        if (c->s->display && c->s->display->dark != dark)
            slated_log(c->s, "theme: %s", dark ? "dark" : "light");
        display_set_theme(c->s, dark);
    } else
        dark = c->s->display ? c->s->display->dark : display_saved_dark(c->s);
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_bool(&m, F_DARK, dark);
    conn_send(c, &m);
}

static void on_hello(struct conn *c, const struct ipc_view *req) {
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init_reply(&m, buf, sizeof buf, req);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    c->hello = true;
    conn_send(c, &m);
}

static void handle(struct conn *c, const struct ipc_view *v) {
    if (v->flags & IPC_FLAG_REPLY)
        return;
    if (!c->hello && v->type != MSG_HELLO)
        return reply_error(c, v, -EPROTO, "say hello first");
    switch (v->type) {
    case MSG_HELLO:
        return on_hello(c, v);
    case MSG_START:
        return on_start(c, v);
    case MSG_STOP:
        return on_stop(c, v);
    case MSG_PS:
        return on_ps(c, v);
    case MSG_LOGS:
        return on_logs(c, v);
    case MSG_SHOT:
        return on_shot(c, v);
    case MSG_INJECT:
        return on_inject(c, v);
    case MSG_THEME:
        return on_theme(c, v);
    default:
        return reply_error(c, v, -EOPNOTSUPP, "unknown request");
    }
}

static int on_conn(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct conn *c = userdata;
    static uint8_t buf[IPC_MSG_MAX];
    struct err e = {0};
    (void)src;

    if ((events & EPOLLOUT) && outq_flush(&c->q, fd) < 0)
        c->dead = true;
    for (int i = 0; i < 16 && !c->dead && (events & (EPOLLIN | EPOLLHUP)); i++) {
        struct ipc_view v;
        int r = ipc_recv(fd, buf, sizeof buf, &v, &e);
        if (r == -EAGAIN)
            break;
        if (r < 0) {
            /* A client that sends garbage is told once, then dropped. */
            if (r != -ECONNRESET)
                slated_log(c->s, "control: refused a message: %s", e.msg);
            c->dead = true;
            break;
        }
        handle(c, &v);
        ipc_view_finish(&v);
    }
    if (c->dead) {
        conn_free(c);
        return 0;
    }
    loop_io_set_events(c->src, EPOLLIN | (outq_empty(&c->q) ? 0 : EPOLLOUT));
    return 0;
}

static int on_accept_resume(struct loop_source *src, void *userdata) {
    struct slated *s = userdata;
    (void)src;
    if (s->control_src)
        loop_io_set_events(s->control_src, EPOLLIN);
    return 0;
}

static int on_accept(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct slated *s = userdata;
    (void)events;
    for (;;) {
        int cfd = accept4(fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
        if (cfd < 0 && (errno == EMFILE || errno == ENFILE)) {
            /* Out of fds: the pending client stays queued; listening again in 100 ms beats spinning. */
            loop_io_set_events(src, 0);
            if (!s->accept_pause)
                loop_add_timer(s->loop, 100000, on_accept_resume, s, &s->accept_pause);
            else
                loop_timer_set(s->accept_pause, 100000);
            return 0;
        }
        if (cfd < 0)
            return 0; /* EAGAIN, or a client gone before we got to it */
        struct ucred cred;
        socklen_t len = sizeof cred;
        size_t n = 0;
        for (struct conn *c = s->conns; c; c = c->next)
            n++;
        /* The socket is 0600 already; the check also covers a file mode changed by hand. */
        if (getsockopt(cfd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0 || (cred.uid != 0 && cred.uid != getuid()) ||
            n >= CONNS_MAX) {
            close(cfd);
            continue;
        }
        control_attach(s, cfd);
    }
}

int control_attach(struct slated *s, int fd) {
    struct conn *c = calloc(1, sizeof *c);
    int r;
    if (!c) {
        close(fd);
        return -ENOMEM;
    }
    c->s = s;
    c->fd = fd;
    if ((r = loop_add_io(s->loop, fd, EPOLLIN, on_conn, c, &c->src)) < 0) {
        close(fd);
        free(c);
        return r;
    }
    c->next = s->conns;
    s->conns = c;
    return 0;
}

int control_open(struct slated *s, struct err *e) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int r;
    if ((r = mkdir_parents_at(s->rootfd, "run/slate")) < 0)
        return err_set(e, r, "%s/run/slate: %s", s->root, strerror(-r));
    if (fchmodat(s->rootfd, "run/slate", 0700, 0) < 0)
        return err_set(e, -errno, "%s/run/slate: %s", s->root, strerror(errno));
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/" PROTO_CONTROL_PATH, s->root) >= sizeof sa.sun_path)
        return err_set(e, -ENAMETOOLONG, "%s/" PROTO_CONTROL_PATH ": the path is too long for a socket", s->root);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0)
        return err_set(e, -errno, "socket: %s", strerror(errno));
    /* A socket file left by a slated that died: the instance lock says nobody else serves this root. */
    unlink(sa.sun_path);
    mode_t old = umask(0077);
    r = bind(fd, (struct sockaddr *)&sa, sizeof sa);
    umask(old);
    if (r < 0 || listen(fd, 64) < 0) {
        r = err_set(e, -errno, "%s: %s", sa.sun_path, strerror(errno));
        close(fd);
        return r;
    }
    if ((r = loop_add_io(s->loop, fd, EPOLLIN, on_accept, s, &s->control_src)) < 0) {
        close(fd);
        return err_set(e, r, "control socket: %s", strerror(-r));
    }
    s->control_fd = fd;
    return 0;
}

void control_close(struct slated *s) {
    while (s->conns)
        conn_free(s->conns);
    loop_source_remove(s->accept_pause);
    s->accept_pause = NULL;
    if (s->control_fd >= 0) {
        loop_source_remove(s->control_src);
        s->control_src = NULL;
        close(s->control_fd);
        unlinkat(s->rootfd, PROTO_CONTROL_PATH, 0);
        s->control_fd = -1;
    }
}
