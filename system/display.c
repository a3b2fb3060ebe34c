/* display.c: composing the foreground app under the status bar, routing input, the backends. */
#include "display.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "slated.h"
#include "text.h"
#include "theme.h"
#include "util.h"

extern const struct display_backend headless_backend, web_backend, sdl_backend, drm_backend, fbdev_backend;

/* Each with how --display names it (what follows the colon is the backend's to read). */
static const struct {
    const struct display_backend *b;
    const char *usage;
} backends[] = {{&headless_backend, "headless"},
                {&web_backend, "web[:PORT]"},
                {&sdl_backend, "sdl[:WxH][,SCALE]"},
                {&drm_backend, "drm[:/dev/dri/cardN]"},
                {&fbdev_backend, "fbdev[:/dev/fbN]"}};

static struct display *D(struct slated *s) {
    return s->display;
}

/* ---- the status bar: slated's own pixels, in the toolkit's theme and fonts ---- */

static void draw_bar(struct slated *s) {
    struct display *d = D(s);
    const struct theme *t = theme_get(d->dark);
    struct surface sf = surface_wrap(d->screen, d->w, STATUS_BAR, d->w);
    struct rect bar = {0, 0, d->w, STATUS_BAR};
    paint_fill(&sf, bar, t->color[SLATE_COLOR_SURFACE_VARIANT]);
    char clock[16];
    time_t now = time(NULL);
    struct tm tm;
    localtime_r(&now, &tm);
    strftime(clock, sizeof clock, "%H:%M", &tm);
    struct text_style st = t->text[SLATE_TEXT_LABEL];
    if (text_init(NULL) == 0) {
        struct text_layout *l = text_layout(clock, strlen(clock), &st, 0, 1, TEXT_START);
        int w = 0, h = 0;
        if (l) {
            text_layout_size(l, &w, &h);
            text_layout_draw(l, &sf, t->space[SLATE_SPACE_L], (STATUS_BAR - h) / 2, t->color[SLATE_COLOR_ON_SURFACE]);
            text_layout_free(l);
        }
        const char *label = d->shown ? unit_label(d->shown) : "";
        /* In the right half of the bar, against its end (ellipsised when longer). */
        int half = d->w / 2;
        l = label[0] ? text_layout(label, strlen(label), &st, half, 1, TEXT_END) : NULL;
        if (l) {
            text_layout_size(l, &w, &h);
            text_layout_draw(l, &sf, d->w - t->space[SLATE_SPACE_L] - half, (STATUS_BAR - h) / 2,
                             t->color[SLATE_COLOR_ON_SURFACE_VARIANT]);
            text_layout_free(l);
        }
    }
    if (d->backend->damage)
        d->backend->damage(s, bar);
}

/* The clock changes on the minute: one wake-up a minute while a screen shows it. */
static int on_clock(struct loop_source *src, void *userdata) {
    struct slated *s = userdata;
    time_t now = time(NULL);
    draw_bar(s);
    loop_timer_set(src, (uint64_t)(60 - now % 60) * 1000000);
    return 0;
}

/* ---- composing ---- */

static void copy_rect(struct display *d, const struct app_surface *a, struct rect r) {
    /* r is in the app's coordinates: inside its buffer and the screen's app area. */
    r = rect_intersect(r, (struct rect){0, 0, a->w < d->w ? a->w : d->w, a->h < d->h - STATUS_BAR ? a->h : d->h - STATUS_BAR});
    for (int y = r.y; y < r.y + r.h; y++)
        memcpy(d->screen + (size_t)(y + STATUS_BAR) * d->w + r.x, a->px + (size_t)y * a->stride + r.x,
               (size_t)r.w * 4);
}

static void show(struct slated *s, struct rect r) {
    struct display *d = D(s);
    if (d->backend->damage && !rect_empty(r))
        d->backend->damage(s, (struct rect){r.x, r.y + STATUS_BAR, r.w, r.h});
}

/* The whole app area again: the app on screen, or the theme's surface until it draws. */
static void show_all(struct slated *s) {
    struct display *d = D(s);
    struct rect area = {0, 0, d->w, d->h - STATUS_BAR};
    struct unit *u = d->shown;
    if (u && u->surface.px)
        copy_rect(d, &u->surface, area);
    else {
        struct surface sf = surface_wrap(d->screen + (size_t)STATUS_BAR * d->w, d->w, d->h - STATUS_BAR, d->w);
        paint_fill(&sf, area, theme_get(d->dark)->color[SLATE_COLOR_SURFACE]);
    }
    show(s, area);
}

void display_foreground(struct slated *s) {
    struct display *d = D(s);
    if (!d || d->shown == s->foreground)
        return;
    d->shown = s->foreground;
    d->edge.active = false;
    draw_bar(s);
    show_all(s);
}

static void send_frame_done(struct unit *u) {
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init(&m, buf, sizeof buf, MSG_FRAME_DONE, 0, IPC_FLAG_NO_REPLY);
    appchan_send(u, &m);
}

void display_frame(struct unit *u, const uint8_t *rects, size_t len) {
    struct display *d = D(u->s);
    if (d && d->shown == u && u->surface.px) {
        /* Up to 16 rectangles: what the window sends; more would be a confused app, bounded anyway. */
        for (size_t i = 0; i + 16 <= len && i < 16 * 16; i += 16) {
            uint32_t v[4];
            memcpy(v, rects + i, sizeof v);
            struct rect r = {(int)(v[0] & 0xffff), (int)(v[1] & 0xffff), (int)(v[2] & 0xffff), (int)(v[3] & 0xffff)};
            r = rect_intersect(r, (struct rect){0, 0, u->surface.w, u->surface.h});
            if (rect_empty(r))
                continue;
            copy_rect(d, &u->surface, r);
            show(u->s, r);
        }
    }
    /* Whether shown or not, the buffer is the app's again: it never waits on the screen. */
    send_frame_done(u);
}

int display_attach(struct unit *u, int memfd, int w, int h, int stride_bytes, struct err *e) {
    struct display *d = D(u->s);
    struct stat st;
    if (!d)
        return err_set(e, -ENODEV, "this device has no display");
    if (w <= 0 || h <= 0 || w > 8192 || h > 8192 || stride_bytes < w * 4 || stride_bytes % 4)
        return err_set(e, -EINVAL, "a surface is 1 to 8192 pixels a side, its stride at least 4 bytes a pixel");
    size_t size = (size_t)stride_bytes * (size_t)h;
    /* The app may not shrink it under slated's feet: sealed, and as big as it says. */
    int seals = fcntl(memfd, F_GET_SEALS);
    if (seals < 0 || !(seals & F_SEAL_SHRINK) || fstat(memfd, &st) < 0 || (size_t)st.st_size < size)
        return err_set(e, -EINVAL, "a surface is a memfd sealed against shrinking, as big as its size says");
    void *px = mmap(NULL, size, PROT_READ, MAP_SHARED, memfd, 0);
    if (px == MAP_FAILED)
        return err_set(e, -errno, "cannot map the surface: %s", strerror(errno));
    display_detach(u);
    u->surface = (struct app_surface){px, size, w, h, stride_bytes / 4};
    if (d->shown == u)
        show_all(u->s);
    return 0;
}

void display_detach(struct unit *u) {
    if (u->surface.px)
        munmap((void *)u->surface.px, u->surface.size);
    u->surface = (struct app_surface){0};
}

void display_hello(struct unit *u) {
    struct display *d = D(u->s);
    if (!d || u->service[0])
        return;
    uint8_t buf[128];
    struct ipc_msg m;
    ipc_msg_init(&m, buf, sizeof buf, MSG_DISPLAY, 0, IPC_FLAG_NO_REPLY);
    ipc_msg_add_u32(&m, F_WIDTH, (uint32_t)d->w);
    ipc_msg_add_u32(&m, F_HEIGHT, (uint32_t)(d->h - STATUS_BAR));
    ipc_msg_add_bool(&m, F_DARK, d->dark);
    appchan_send(u, &m);
}

bool display_saved_dark(struct slated *s) {
    sqlite3 *db;
    char *v = NULL;
    struct err e = {0};
    bool dark = slated_db(s, &db, &e) == 0 && db_setting_get(db, DEVICE_SETTINGS_ID, "theme", &v, &e) == 0 &&
                !strcmp(v, "dark");
    free(v);
    return dark;
}

void display_set_theme(struct slated *s, bool dark) {
    struct display *d = D(s);
    if (!d || d->dark == dark)
        return;
    d->dark = dark;
    for (struct unit *u = s->units; u; u = u->next)
        if (unit_running(u) && u->chan_fd >= 0)
            display_hello(u);
    draw_bar(s);
    show_all(s);
}

/* To the app on the screen, in its own coordinates (below the bar). */
static void send_input(struct unit *u, enum proto_input kind, int x, int y, const char *key) {
    uint8_t buf[256];
    struct ipc_msg m;
    ipc_msg_init(&m, buf, sizeof buf, MSG_INPUT, 0, IPC_FLAG_NO_REPLY);
    ipc_msg_add_u32(&m, F_INPUT, kind);
    ipc_msg_add_i64(&m, F_X, x);
    ipc_msg_add_i64(&m, F_Y, y - STATUS_BAR);
    ipc_msg_add_u64(&m, F_TIME_US, now_us());
    if (key && strlen(key) < INPUT_KEY_MAX)
        ipc_msg_add_string(&m, F_KEY_NAME, key);
    appchan_send(u, &m);
}

/*
 * The system's back gesture: a touch that goes down on the screen's left edge and slides right
 * is the Back key, whatever app is shown. Such a touch is held back from the app until it is
 * known which it was; one that lifts without having slid far is given to the app as the tap it was.
 */
#define EDGE_PX 24
#define EDGE_SLIDE_PX 120

void display_input(struct slated *s, enum proto_input kind, int x, int y, const char *key) {
    struct display *d = D(s);
    struct unit *u = d ? d->shown : NULL;
    /* The bar takes no touches. */
    if (!u || u->chan_fd < 0 || ((kind == INPUT_DOWN) && y < STATUS_BAR))
        return;
    /* Keys and text reach apps as printable UTF-8 only, whatever sent them. */
    if ((kind == INPUT_KEY || kind == INPUT_TEXT) && (!key || strlen(key) >= INPUT_KEY_MAX || !utf8_printable(key)))
        return;
    if (kind == INPUT_DOWN && x < EDGE_PX) {
        d->edge.active = true;
        d->edge.x = x, d->edge.y = y;
        return;
    }
    if (d->edge.active && (kind == INPUT_MOVE || kind == INPUT_UP || kind == INPUT_CANCEL)) {
        if (kind == INPUT_MOVE)
            return;
        d->edge.active = false;
        if (kind == INPUT_CANCEL)
            return;
        if (x - d->edge.x >= EDGE_SLIDE_PX)
            send_input(u, INPUT_KEY, 0, STATUS_BAR, "Back");
        else {
            send_input(u, INPUT_DOWN, d->edge.x, d->edge.y, NULL);
            send_input(u, INPUT_UP, d->edge.x, d->edge.y, NULL);
        }
        return;
    }
    send_input(u, kind, x, y, key);
}

/* ---- open and close ---- */

/* What a screen may be: room for an app under the bar; no bigger than an app's surface may be. */
#define SCREEN_MIN_W 160
#define SCREEN_MIN_H (STATUS_BAR + 160)
#define SCREEN_MAX 8192

int display_open(struct slated *s, const char *spec, struct err *e) {
    const char *colon = strchr(spec, ':');
    size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
    const struct display_backend *b = NULL;
    for (size_t i = 0; i < sizeof backends / sizeof *backends; i++)
        if (strlen(backends[i].b->name) == len && !strncmp(backends[i].b->name, spec, len))
            b = backends[i].b;
    if (!b) {
        char names[256] = "";
        for (size_t i = 0, at = 0; i < sizeof backends / sizeof *backends && at < sizeof names; i++)
            at += (size_t)snprintf(names + at, sizeof names - at, "%s%s", i ? ", " : "", backends[i].usage);
        return err_set(e, -EINVAL, "--display %s: none of %s", spec, names);
    }
    struct display *d = calloc(1, sizeof *d);
    if (!d)
        return err_set(e, -ENOMEM, "out of memory");
    /* The default device's size, unless the backend's device has one of its own. */
    d->w = DISPLAY_WIDTH;
    d->h = DISPLAY_HEIGHT;
    d->backend = b;
    s->display = d;
    d->dark = display_saved_dark(s);
    int r = b->open(s, colon ? colon + 1 : "", e);
    bool opened = r == 0;
    if (r == 0 && (d->w < SCREEN_MIN_W || d->h < SCREEN_MIN_H || d->w > SCREEN_MAX || d->h > SCREEN_MAX))
        r = err_set(e, -ERANGE, "--display %s: a %dx%d screen; slated shows %dx%d to %dx%d", spec, d->w, d->h,
                    SCREEN_MIN_W, SCREEN_MIN_H, SCREEN_MAX, SCREEN_MAX);
    else if (r == 0 && !(d->screen = calloc((size_t)d->w * (size_t)d->h, 4)))
        r = err_set(e, -ENOMEM, "out of memory for a %dx%d screen", d->w, d->h);
    if (r < 0) {
        if (opened && b->close)
            b->close(s);
        free(d);
        s->display = NULL;
        return r;
    }
    loop_add_timer(s->loop, 0, on_clock, s, &d->clock);
    show_all(s);
    return 0;
}

void display_close(struct slated *s) {
    struct display *d = D(s);
    if (!d)
        return;
    loop_source_remove(d->clock);
    if (d->backend->close)
        d->backend->close(s);
    free(d->screen);
    free(d);
    s->display = NULL;
}

/* ---- headless: the screen in memory, nothing else ---- */

static int headless_open(struct slated *s, const char *arg, struct err *e) {
    (void)s;
    if (arg[0])
        return err_set(e, -EINVAL, "--display headless takes no argument");
    return 0;
}

const struct display_backend headless_backend = {.name = "headless", .open = headless_open};
