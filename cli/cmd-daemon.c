/* cmd-daemon.c: the verbs slated answers: start, stop, ps, logs (over its control socket). */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include "cli.h"
#include "ipc.h"
#include "logbuf.h"
#include "proto.h"
#include "session.h"
#include "util.h"

int fail_reply(const struct ipc_view *v, const char *what) {
    int64_t code = -EIO;
    const char *text = "failed";
    struct err e = {0};
    ipc_msg_get_i64(v, IPC_FIELD_ERROR_CODE, &code, NULL);
    ipc_msg_get_string(v, IPC_FIELD_ERROR_TEXT, &text, NULL, NULL);
    err_set(&e, (int)code, "%s%s%s", what ? what : "", what ? ": " : "", text);
    /* What slated refuses (not installed, not running, retired, no permission, no screen) is the user's to fix. */
    if (code == -ENOENT || code == -EACCES || code == -EBUSY || code == -ENODEV)
        e.code = -E_STATE;
    return cli_fail(&e);
}

void session_close(struct session *s) {
    if (s->fd >= 0)
        close(s->fd);
    free(s->buf);
}

/* Receive until the reply to serial; other messages of that serial go to fn (a stream of entries). */
int receive_reply(struct session *s, uint32_t serial, int (*fn)(void *ud, const struct ipc_view *v), void *ud,
                  struct ipc_view *ret, struct err *e) {
    for (;;) {
        int r = ipc_recv(s->fd, s->buf, IPC_MSG_MAX, ret, e);
        if (r == -ECONNRESET)
            return err_set(e, -ECONNRESET, "slated closed the connection");
        if (r < 0)
            return r;
        /* HELLO's reply comes first: a refusal there (another protocol version) is the answer. */
        if (s->hello && ipc_view_is_reply_to(ret, s->hello)) {
            s->hello = 0;
            if (ret->flags & IPC_FLAG_ERROR)
                return 0;
            ipc_view_finish(ret);
            continue;
        }
        if (ipc_view_is_reply_to(ret, serial))
            return 0;
        if (ret->serial == serial && fn && (r = fn(ud, ret)) < 0) {
            ipc_view_finish(ret);
            return r;
        }
        ipc_view_finish(ret);
    }
}

int session_open(struct cli *c, struct session *s, struct err *e) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    uint8_t buf[64];
    struct ipc_msg m;
    int r;

    *s = (struct session){.fd = -1};
    if ((size_t)snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", strcmp(c->root, "/") ? c->root : "",
                         PROTO_CONTROL_PATH) >= sizeof sa.sun_path)
        return err_set(e, -ENAMETOOLONG, "%s: the path is too long for a socket", c->root);
    if (!(s->buf = malloc(IPC_MSG_MAX)))
        return err_set(e, -ENOMEM, "out of memory");
    if ((s->fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0)) < 0)
        return err_set(e, -errno, "socket: %s", strerror(errno));
    if (connect(s->fd, (struct sockaddr *)&sa, sizeof sa) < 0) {
        r = errno;
        if (r == ENOENT || r == ECONNREFUSED)
            return err_set(e, -E_STATE, "slated is not running on %s (no one answers at %s)", c->root, sa.sun_path);
        return err_set(e, -r, "%s: %s", sa.sun_path, strerror(r));
    }
    /* The request follows at once: HELLO's reply is read with the request's (one round trip, not two). */
    ipc_msg_init(&m, buf, sizeof buf, MSG_HELLO, ipc_serial_next(&s->serial), 0);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    s->hello = ipc_msg_serial(&m);
    return ipc_send(s->fd, &m, e);
}

/* One request with a string argument; the reply (not an error) left in *ret. */
static int request(struct cli *c, struct session *s, uint16_t type, const char *id, struct ipc_view *ret, int *status) {
    uint8_t buf[512];
    struct ipc_msg m;
    struct err e = {0};
    int r;

    if ((r = session_open(c, s, &e)) < 0) {
        *status = cli_fail(&e);
        return r;
    }
    ipc_msg_init(&m, buf, sizeof buf, type, ipc_serial_next(&s->serial), 0);
    if (id)
        ipc_msg_add_string(&m, F_ID, id);
    if ((r = ipc_send(s->fd, &m, &e)) < 0 || (r = receive_reply(s, ipc_msg_serial(&m), NULL, NULL, ret, &e)) < 0) {
        *status = cli_fail(&e);
        return r;
    }
    if (ret->flags & IPC_FLAG_ERROR) {
        *status = fail_reply(ret, NULL);
        ipc_view_finish(ret);
        return -1;
    }
    return 0;
}

int verb_start(struct cli *c) {
    struct session s;
    struct ipc_view v;
    int status = 0;
    uint32_t pid = 0;
    const char *state = "?";

    if (c->argc != 2)
        return cli_usage(c, "one app id expected");
    if (request(c, &s, MSG_START, c->argv[1], &v, &status) == 0) {
        ipc_msg_get_u32(&v, F_PID, &pid, NULL);
        ipc_msg_get_string(&v, F_STATE, &state, NULL, NULL);
        printf("%s: %s (pid %u)\n", c->argv[1], state, pid);
        ipc_view_finish(&v);
    }
    session_close(&s);
    return status;
}

int verb_stop(struct cli *c) {
    struct session s;
    struct ipc_view v;
    int status = 0;
    const char *how = "stopped";

    if (c->argc != 2)
        return cli_usage(c, "one app id expected");
    if (request(c, &s, MSG_STOP, c->argv[1], &v, &status) == 0) {
        ipc_msg_get_string(&v, F_STATUS, &how, NULL, NULL);
        printf("%s: stopped (%s)\n", c->argv[1], *how ? how : "not running");
        ipc_view_finish(&v);
    }
    session_close(&s);
    return status;
}

/* ---- ps ---- */

struct ps_row {
    char name[200], state[32], class_[16], status[200];
    uint32_t pid, restarts;
    uint64_t memory, budget, uptime_ms;
    bool frozen, service;
};

struct ps {
    struct ps_row *rows;
    size_t n;
};

static void copy_string(const struct ipc_view *v, uint16_t id, char *dst, size_t size) {
    const char *s = "";
    ipc_msg_get_string(v, id, &s, NULL, NULL);
    snprintf(dst, size, "%s", s);
}

static int collect_row(void *ud, const struct ipc_view *v) {
    struct ps *ps = ud;
    if (v->type != MSG_PS_ENTRY)
        return 0;
    struct ps_row *rows = realloc(ps->rows, (ps->n + 1) * sizeof *rows);
    if (!rows)
        return -ENOMEM;
    ps->rows = rows;
    struct ps_row *r = &rows[ps->n++];
    char kind[16];
    memset(r, 0, sizeof *r);
    copy_string(v, F_ID, r->name, sizeof r->name);
    copy_string(v, F_STATE, r->state, sizeof r->state);
    copy_string(v, F_CLASS, r->class_, sizeof r->class_);
    copy_string(v, F_STATUS, r->status, sizeof r->status);
    copy_string(v, F_KIND, kind, sizeof kind);
    r->service = strcmp(kind, "service") == 0;
    ipc_msg_get_u32(v, F_PID, &r->pid, NULL);
    ipc_msg_get_u32(v, F_RESTARTS, &r->restarts, NULL);
    ipc_msg_get_u64(v, F_MEMORY, &r->memory, NULL);
    ipc_msg_get_u64(v, F_BUDGET, &r->budget, NULL);
    ipc_msg_get_u64(v, F_UPTIME_MS, &r->uptime_ms, NULL);
    ipc_msg_get_bool(v, F_FROZEN, &r->frozen, NULL);
    return 0;
}

static void format_uptime(uint64_t ms, char *buf, size_t size) {
    uint64_t s = ms / 1000;
    if (ms == 0)
        snprintf(buf, size, "-");
    else if (s < 60)
        snprintf(buf, size, "%llu.%llus", (unsigned long long)s, (unsigned long long)(ms % 1000 / 100));
    else if (s < 3600)
        snprintf(buf, size, "%llum%02llus", (unsigned long long)(s / 60), (unsigned long long)(s % 60));
    else
        snprintf(buf, size, "%lluh%02llum", (unsigned long long)(s / 3600), (unsigned long long)(s % 3600 / 60));
}

static void print_ps_json(const struct ps *ps) {
    printf("[");
    for (size_t i = 0; i < ps->n; i++) {
        const struct ps_row *r = &ps->rows[i];
        printf("%s\n  {\"id\": ", i ? "," : "");
        json_string(r->name);
        printf(", \"kind\": \"%s\", \"pid\": %u, \"state\": ", r->service ? "service" : "app", r->pid);
        json_string(r->state);
        printf(", \"class\": ");
        json_string(r->class_);
        printf(", \"frozen\": %s, \"memory\": %llu, \"budget\": %llu, \"uptime_ms\": %llu, \"restarts\": %u, "
               "\"status\": ",
               r->frozen ? "true" : "false", (unsigned long long)r->memory, (unsigned long long)r->budget,
               (unsigned long long)r->uptime_ms, r->restarts);
        json_string(r->status);
        printf("}");
    }
    printf("%s]\n", ps->n ? "\n" : "");
}

static void print_ps_table(const struct ps *ps) {
    printf("%-32s %-11s %-11s %7s %8s %7s %8s  %s\n", "ID", "STATE", "CLASS", "PID", "MEMORY", "BUDGET", "UPTIME",
           "LAST EXIT");
    for (size_t i = 0; i < ps->n; i++) {
        const struct ps_row *r = &ps->rows[i];
        char pid[16], mem[32], budget[32], up[32], state[48];
        snprintf(pid, sizeof pid, r->pid ? "%u" : "-", r->pid);
        snprintf(mem, sizeof mem, r->pid ? "%.1fM" : "-", (double)r->memory / (1 << 20));
        snprintf(budget, sizeof budget, "%lluM", (unsigned long long)(r->budget >> 20));
        snprintf(state, sizeof state, "%s%s", r->state, r->frozen ? "*" : "");
        format_uptime(r->uptime_ms, up, sizeof up);
        printf("%-32s %-11s %-11s %7s %8s %7s %8s  %s\n", r->name, state, r->class_, pid, mem, budget, up, r->status);
    }
}

/* Every unit slated knows, into *ps; an error reply becomes a failure with its text in e. */
static int fetch_ps(struct session *s, struct ps *ps, struct err *e) {
    uint8_t buf[64];
    struct ipc_msg m;
    struct ipc_view v;
    int r;
    ipc_msg_init(&m, buf, sizeof buf, MSG_PS, ipc_serial_next(&s->serial), 0);
    if ((r = ipc_send(s->fd, &m, e)) < 0 || (r = receive_reply(s, ipc_msg_serial(&m), collect_row, ps, &v, e)) < 0)
        return r;
    if (v.flags & IPC_FLAG_ERROR) {
        const char *text = "failed";
        int64_t code = -EIO;
        ipc_msg_get_i64(&v, IPC_FIELD_ERROR_CODE, &code, NULL);
        ipc_msg_get_string(&v, IPC_FIELD_ERROR_TEXT, &text, NULL, NULL);
        r = err_set(e, (int)code, "ps: %s", text);
    }
    ipc_view_finish(&v);
    return r;
}

int verb_ps(struct cli *c) {
    bool json = c->argc == 2 && strcmp(c->argv[1], "--json") == 0;
    struct session s;
    struct ps ps = {0};
    struct err e = {0};
    int status = 0;

    if (c->argc > 2 || (c->argc == 2 && !json))
        return cli_usage(c, "only --json may follow");
    if (session_open(c, &s, &e) < 0 || fetch_ps(&s, &ps, &e) < 0)
        status = cli_fail(&e);
    else {
        if (json)
            print_ps_json(&ps);
        else
            print_ps_table(&ps);
        if (fflush(stdout) != 0)
            status = EXIT_SYSTEM;
    }
    free(ps.rows);
    session_close(&s);
    return status;
}

/* ---- logs ---- */

/* A line from an app is text it chose: printed only after slated made it valid UTF-8 without controls. */
static int print_line(void *ud, const struct ipc_view *v) {
    const char *name = "?", *text = "";
    uint32_t pid = 0, stream = 0;
    uint64_t t = 0;
    char when[32];
    (void)ud;
    if (v->type != MSG_LOG_LINE)
        return 0;
    ipc_msg_get_string(v, F_ID, &name, NULL, NULL);
    ipc_msg_get_string(v, F_TEXT, &text, NULL, NULL);
    ipc_msg_get_u32(v, F_PID, &pid, NULL);
    ipc_msg_get_u32(v, F_STREAM, &stream, NULL);
    ipc_msg_get_u64(v, F_TIME_US, &t, NULL);
    log_format_time(t, when, sizeof when);
    /* Plain output goes as it is; everything else says what it is: slated's word, stderr, a priority. */
    if (stream == LOG_STDOUT)
        printf("%s %s[%u]: %s\n", when, name, pid, text);
    else
        printf("%s %s[%u] %s: %s\n", when, name, pid, log_label((uint8_t)stream), text);
    return 0;
}

static volatile sig_atomic_t interrupted;
static void on_interrupt(int sig) {
    (void)sig;
    interrupted = 1;
}

int verb_logs(struct cli *c) {
    const char *id = NULL;
    bool follow = false;
    struct session s;
    struct ipc_view v;
    struct err e = {0};
    uint8_t buf[512];
    struct ipc_msg m;
    int r, status = 0;

    for (int i = 1; i < c->argc; i++) {
        if (strcmp(c->argv[i], "-f") == 0 || strcmp(c->argv[i], "--follow") == 0)
            follow = true;
        else if (!id && c->argv[i][0] != '-')
            id = c->argv[i];
        else
            return cli_usage(c, "unexpected argument");
    }
    if ((r = session_open(c, &s, &e)) == 0) {
        ipc_msg_init(&m, buf, sizeof buf, MSG_LOGS, ipc_serial_next(&s.serial), 0);
        if (id)
            ipc_msg_add_string(&m, F_ID, id);
        if (follow)
            ipc_msg_add_bool(&m, F_FOLLOW, true);
        if (follow) {
            /* Lines arrive until ^C; each is flushed so a pipe sees it at once. */
            struct sigaction sa = {.sa_handler = on_interrupt};
            sigaction(SIGINT, &sa, NULL);
            sigaction(SIGTERM, &sa, NULL);
            setvbuf(stdout, NULL, _IOLBF, 0);
        }
        if ((r = ipc_send(s.fd, &m, &e)) == 0)
            r = receive_reply(&s, ipc_msg_serial(&m), print_line, NULL, &v, &e);
    }
    if (r < 0 && !(follow && (interrupted || r == -EINTR || r == -ECONNRESET)))
        status = cli_fail(&e);
    else if (r == 0) {
        if (v.flags & IPC_FLAG_ERROR)
            status = fail_reply(&v, id);
        ipc_view_finish(&v);
    }
    if (fflush(stdout) != 0)
        status = EXIT_SYSTEM;
    session_close(&s);
    return status;
}

/* Stop one unit on an open session; "not running" is fine. */
static int stop_unit(struct session *s, const char *name) {
    uint8_t buf[512];
    struct ipc_msg m;
    struct ipc_view v;
    struct err e = {0};
    int r;
    ipc_msg_init(&m, buf, sizeof buf, MSG_STOP, ipc_serial_next(&s->serial), 0);
    ipc_msg_add_string(&m, F_ID, name);
    if ((r = ipc_send(s->fd, &m, &e)) < 0 || (r = receive_reply(s, ipc_msg_serial(&m), NULL, NULL, &v, &e)) < 0)
        return cli_fail(&e);
    ipc_view_finish(&v);
    return 0;
}

int daemon_stop_package(struct cli *c, const char *id) {
    struct session s;
    struct ps ps = {0};
    struct err e = {0};
    size_t n = strlen(id);
    int status = 0;

    if (session_open(c, &s, &e) < 0) {
        session_close(&s);
        return e.code == -E_STATE ? 0 : cli_fail(&e); /* no slated: nothing runs */
    }
    if (fetch_ps(&s, &ps, &e) < 0)
        status = cli_fail(&e);
    for (size_t i = 0; status == 0 && i < ps.n; i++)
        if ((ps.rows[i].pid || strcmp(ps.rows[i].state, "backoff") == 0) && strncmp(ps.rows[i].name, id, n) == 0 &&
            (ps.rows[i].name[n] == '\0' || ps.rows[i].name[n] == '@'))
            status = stop_unit(&s, ps.rows[i].name);
    free(ps.rows);
    session_close(&s);
    return status;
}
