/* cmd-screen.c: the screen slated shows: shot, tap, swipe, key (as adb's screencap and input do). */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>

#include "png-save.h"
#include "proto.h"
#include "keyfile.h"
#include "session.h"
#include "util.h"

#define SWIPE_STEP_MS 16 /* a move every frame, as a finger reports */

/* One request on an open session; its reply left in *ret, or the exit status in *status. */
static int call(struct session *s, struct ipc_msg *m, struct ipc_view *ret, int *status) {
    struct err e = {0};
    int r;
    if ((r = ipc_send(s->fd, m, &e)) < 0 || (r = receive_reply(s, ipc_msg_serial(m), NULL, NULL, ret, &e)) < 0) {
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

int verb_shot(struct cli *c) {
    struct session s;
    struct ipc_view v;
    struct err e = {0};
    uint8_t buf[64];
    struct ipc_msg m;
    int status = 0;

    if (c->argc != 2)
        return cli_usage(c, "one PNG file to write expected");
    if (session_open(c, &s, &e) < 0) {
        session_close(&s);
        return cli_fail(&e);
    }
    ipc_msg_init(&m, buf, sizeof buf, MSG_SHOT, ipc_serial_next(&s.serial), 0);
    if (call(&s, &m, &v, &status) == 0) {
        uint32_t w = 0, h = 0;
        int fd = -1;
        ipc_msg_get_u32(&v, F_WIDTH, &w, NULL);
        ipc_msg_get_u32(&v, F_HEIGHT, &h, NULL);
        size_t size = (size_t)w * h * 4;
        void *px = MAP_FAILED;
        if (ipc_msg_get_fd(&v, F_BODY, &fd, &e) < 0 || !w || !h || w > 8192 || h > 8192 ||
            (px = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, 0)) == MAP_FAILED)
            status = cli_fail(e.msg[0] ? &e : &(struct err){-EPROTO, "slated sent no screen"});
        else {
            /* Written beside the target, then renamed: never half a PNG under its name. */
            char tmp[PATH_MAX];
            snprintf(tmp, sizeof tmp, "%s.tmp", c->argv[1]);
            int out = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
            int r = out < 0 ? err_set(&e, -errno, "%s: %s", tmp, strerror(errno))
                            : png_save(px, (int)w, (int)h, (int)w, out, &e);
            if (out >= 0 && close(out) < 0 && r == 0)
                r = err_set(&e, -errno, "%s: %s", tmp, strerror(errno));
            if (r == 0 && rename(tmp, c->argv[1]) < 0)
                r = err_set(&e, -errno, "%s: %s", c->argv[1], strerror(errno));
            if (r < 0) {
                unlink(tmp);
                status = cli_fail(&e);
            }
            munmap(px, size);
        }
        ipc_view_finish(&v);
    }
    session_close(&s);
    return status;
}

/* Send one input; 0 or the exit status. */
static int inject(struct session *s, enum proto_input kind, long x, long y, const char *key) {
    uint8_t buf[256];
    struct ipc_msg m;
    struct ipc_view v;
    int status = 0;
    ipc_msg_init(&m, buf, sizeof buf, MSG_INJECT, ipc_serial_next(&s->serial), 0);
    ipc_msg_add_u32(&m, F_INPUT, kind);
    ipc_msg_add_i64(&m, F_X, x);
    ipc_msg_add_i64(&m, F_Y, y);
    if (key)
        ipc_msg_add_string(&m, F_KEY_NAME, key);
    if (call(s, &m, &v, &status) == 0)
        ipc_view_finish(&v);
    return status;
}

static int parse_coord(const char *s, long *ret) {
    unsigned long v;
    if (parse_uint(s, 0, 8191, &v) < 0)
        return -1;
    *ret = (long)v;
    return 0;
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

int verb_tap(struct cli *c) {
    struct session s;
    struct err e = {0};
    long x, y;
    if (c->argc != 3 || parse_coord(c->argv[1], &x) < 0 || parse_coord(c->argv[2], &y) < 0)
        return cli_usage(c, "X and Y, pixels from the screen's top-left corner");
    if (session_open(c, &s, &e) < 0) {
        session_close(&s);
        return cli_fail(&e);
    }
    int status = inject(&s, INPUT_DOWN, x, y, NULL);
    if (!status)
        status = inject(&s, INPUT_UP, x, y, NULL);
    session_close(&s);
    return status;
}

int verb_swipe(struct cli *c) {
    struct session s;
    struct err e = {0};
    long p[4], ms = 300;
    unsigned long v;
    if (c->argc != 5 && c->argc != 6)
        return cli_usage(c, "X1 Y1 X2 Y2 [MS]");
    for (int i = 0; i < 4; i++)
        if (parse_coord(c->argv[i + 1], &p[i]) < 0)
            return cli_usage(c, "coordinates are pixels from the screen's top-left corner");
    if (c->argc == 6) {
        if (parse_uint(c->argv[5], 1, 10000, &v) < 0)
            return cli_usage(c, "MS is the swipe's duration, 1 to 10000 milliseconds");
        ms = (long)v;
    }
    if (session_open(c, &s, &e) < 0) {
        session_close(&s);
        return cli_fail(&e);
    }
    /* Down, a move every frame along the line, up: what the screen would report. */
    int status = inject(&s, INPUT_DOWN, p[0], p[1], NULL);
    long steps = ms / SWIPE_STEP_MS > 1 ? ms / SWIPE_STEP_MS : 1;
    for (long i = 1; i <= steps && !status; i++) {
        sleep_ms(ms / steps);
        status = inject(&s, INPUT_MOVE, p[0] + (p[2] - p[0]) * i / steps, p[1] + (p[3] - p[1]) * i / steps, NULL);
    }
    if (!status)
        status = inject(&s, INPUT_UP, p[2], p[3], NULL);
    session_close(&s);
    return status;
}

/* Named keys the toolkit knows; anything else is text to type. */
static const char *const named_keys[] = {"Back", "Return", "BackSpace", "Delete", "Left", "Right", "Home", "End"};

int verb_theme(struct cli *c) {
    struct session s;
    struct ipc_view v;
    struct err e = {0};
    uint8_t buf[64];
    struct ipc_msg m;
    int status = 0;
    bool set = c->argc == 2, dark = set && !strcmp(c->argv[1], "dark");
    if (c->argc > 2 || (set && !dark && strcmp(c->argv[1], "light")))
        return cli_usage(c, "light or dark expected");
    if (session_open(c, &s, &e) < 0) {
        session_close(&s);
        return cli_fail(&e);
    }
    ipc_msg_init(&m, buf, sizeof buf, MSG_THEME, ipc_serial_next(&s.serial), 0);
    if (set)
        ipc_msg_add_bool(&m, F_DARK, dark);
    if (call(&s, &m, &v, &status) == 0) {
        if (ipc_msg_get_bool(&v, F_DARK, &dark, &e) < 0)
            status = cli_fail(&e);
        else
            printf("%s\n", dark ? "dark" : "light");
        ipc_view_finish(&v);
    }
    session_close(&s);
    return status;
}

int verb_key(struct cli *c) {
    struct session s;
    struct err e = {0};
    if (c->argc != 2 || !c->argv[1][0] || strlen(c->argv[1]) >= INPUT_KEY_MAX)
        return cli_usage(c, "a key's name (Back, Return, BackSpace, Delete, Left, Right, Home, End) or text");
    bool named = false;
    for (size_t i = 0; i < sizeof named_keys / sizeof *named_keys; i++)
        named |= !strcmp(c->argv[1], named_keys[i]);
    if (session_open(c, &s, &e) < 0) {
        session_close(&s);
        return cli_fail(&e);
    }
    int status = inject(&s, named ? INPUT_KEY : INPUT_TEXT, 0, 0, c->argv[1]);
    session_close(&s);
    return status;
}
