/* window.c: an app's window: the page stack and its transitions, dialogs, toasts, frames, damage and input. */
#include "window.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/timerfd.h>
#include <time.h>
#include <unistd.h>

#include <slate/app.h>

#include "channel.h"
#include "proto.h"
#include "text.h"
#include "widget.h"

#define PAGES_MAX 32
#define DAMAGE_MAX 16      /* past this many rectangles, their union is drawn */
#define SCROLLS_MAX 16     /* pixel moves waiting for the next frame */
#define ANIMS_MAX 16
#define FRAME_US 16667     /* animation ticks: 60 a second */
#define TRANSITION_US 250000
#define TOAST_US 2500000
#define SLOP 8             /* pixels a finger may move and still tap */
#define DEFAULT_W 720
#define DEFAULT_H 1552     /* a 720x1600 screen under a 48-pixel status bar */

struct page {
    slate_widget *frame;   /* a column: the top bar, then the app's content */
    slate_widget *content; /* the app's */
};

struct anim {
    slate_widget *w;
    animate_fn fn;
};

static struct window {
    bool ready;
    int width, height;
    bool dark;
    bool connected; /* to slated's display: frames go there */
    uint32_t *px;   /* the buffer: shared with slated, or the window's own */
    size_t px_size;
    struct surface surface;
    bool waiting;   /* a frame was handed over and slated has not given the buffer back */
    bool wanted;    /* something to draw */
    bool full;      /* all of it */
    struct rect damage[DAMAGE_MAX];
    size_t n_damage;
    struct {
        struct rect area;
        int dy;
    } scrolls[SCROLLS_MAX];
    size_t n_scrolls;

    struct page pages[PAGES_MAX];
    size_t n_pages;
    struct {
        bool active, push;
        uint64_t start;
        struct page leaving; /* a pop: the page going, freed when the slide ends */
    } tr;

    slate_widget *dialog; /* a scrim over the screen holding a card */
    slate_choice_fn on_choice;
    void *choice_userdata;
    slate_widget *toast;
    uint64_t toast_until;

    /* the pointer */
    slate_widget *target;   /* what the finger came down on */
    slate_widget *scroller; /* the scrolling ancestor that takes a drag */
    bool dragging;          /* the scroller has it */
    bool down;
    int down_x, down_y;
    slate_widget *focus;

    struct anim anims[ANIMS_MAX];
    size_t n_anims;
    int timer_fd;
} win = {.timer_fd = -1};

uint64_t ui_now_us(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000 + (uint64_t)ts.tv_nsec / 1000;
}

const struct theme *ui_theme(void) {
    return theme_get(win.dark);
}

/* ---- the buffer ---- */

static void drop_buffer(void) {
    if (win.px && win.connected)
        munmap(win.px, win.px_size);
    else
        free(win.px);
    win.px = NULL;
    win.px_size = 0;
}

/* Memory of our own (tests, or run without slated). */
static int own_buffer(int w, int h) {
    drop_buffer();
    win.connected = false;
    win.px_size = (size_t)w * (size_t)h * 4;
    if (!(win.px = malloc(win.px_size)))
        return -ENOMEM;
    win.width = w;
    win.height = h;
    win.surface = surface_wrap(win.px, w, h, w);
    win.full = true;
    return 0;
}

/* A sealed memfd slated maps: the app draws, slated reads. */
static int shared_buffer(int w, int h) {
    size_t size = (size_t)w * (size_t)h * 4;
    int fd = memfd_create("slate-window", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    if (ftruncate(fd, (off_t)size) < 0 || fcntl(fd, F_ADD_SEALS, F_SEAL_SHRINK | F_SEAL_GROW | F_SEAL_SEAL) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    uint32_t *px = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
    if (px == MAP_FAILED) {
        int r = -errno;
        close(fd);
        return r;
    }
    uint8_t buf[256], *rbuf = malloc(IPC_MSG_MAX);
    struct ipc_msg m;
    struct ipc_view v;
    int r = rbuf ? 0 : -ENOMEM;
    if (r == 0) {
        ipc_msg_init(&m, buf, sizeof buf, MSG_SURFACE, channel_serial(), 0);
        ipc_msg_add_fd(&m, F_FD, fd);
        ipc_msg_add_u32(&m, F_WIDTH, (uint32_t)w);
        ipc_msg_add_u32(&m, F_HEIGHT, (uint32_t)h);
        ipc_msg_add_u32(&m, F_STRIDE, (uint32_t)w * 4);
        if ((r = channel_call(&m, rbuf, &v)) == 0)
            ipc_view_finish(&v);
    }
    free(rbuf);
    close(fd);
    if (r < 0) {
        munmap(px, size);
        return r;
    }
    drop_buffer();
    win.connected = true;
    win.px = px;
    win.px_size = size;
    win.width = w;
    win.height = h;
    win.surface = surface_wrap(px, w, h, w);
    win.full = true;
    win.waiting = false;
    return 0;
}

static void relayout_all(void);

void ui_display_configure(const struct ui_display *d) {
    bool theme_changed = win.ready && d->dark != win.dark;
    win.dark = d->dark;
    if (d->width > 0 && d->height > 0 && d->width <= 8192 && d->height <= 8192 &&
        (!win.connected || d->width != win.width || d->height != win.height)) {
        if (shared_buffer(d->width, d->height) < 0 && !win.px)
            own_buffer(d->width, d->height); /* still drawn, only nowhere to be seen */
        relayout_all();
    }
    win.ready = true;
    if (theme_changed)
        win.full = true;
    ui_schedule_frame();
}

int ui_offscreen(int w, int h, bool dark) {
    win.dark = dark;
    win.ready = true;
    int r = own_buffer(w, h);
    relayout_all();
    return r;
}

/* The first page pushed without a display yet: the size slated would give, or SLATE_UI_SIZE ("WxH"). */
static void ensure_window(void) {
    if (win.ready)
        return;
    int w = DEFAULT_W, h = DEFAULT_H;
    const char *size = getenv("SLATE_UI_SIZE");
    if (size && sscanf(size, "%dx%d", &w, &h) != 2)
        w = DEFAULT_W, h = DEFAULT_H;
    ui_offscreen(w, h, false);
}

/* ---- damage, scrolling pixels, frames ---- */

void ui_schedule_frame(void) {
    win.wanted = true;
}

/* Add r to a list of at most DAMAGE_MAX rectangles, merging where the union wastes little: a few big
 * rectangles beat many small ones. */
static void rects_add(struct rect *list, size_t *n, struct rect r) {
    if (rect_empty(r))
        return;
    for (size_t i = 0; i < *n; i++) {
        struct rect u = rect_union(list[i], r);
        if ((long long)u.w * u.h <= (long long)list[i].w * list[i].h + (long long)r.w * r.h + 4096) {
            list[i] = u;
            return;
        }
    }
    if (*n == DAMAGE_MAX) {
        for (size_t i = 1; i < *n; i++)
            list[0] = rect_union(list[0], list[i]);
        *n = 1;
        list[0] = rect_union(list[0], r);
        return;
    }
    list[(*n)++] = r;
}

static void add_damage(struct rect r) {
    rects_add(win.damage, &win.n_damage, rect_intersect(r, (struct rect){0, 0, win.width, win.height}));
}

/* Where root's coordinates are on the screen, or false when root is not shown. */
static bool root_origin(const slate_widget *root, int *x, int *y) {
    *x = *y = 0;
    if (root == win.dialog || root == win.toast)
        return root != NULL;
    int top = (int)win.n_pages - 1;
    if (top < 0)
        return false;
    uint64_t t = win.tr.active ? ui_now_us() - win.tr.start : TRANSITION_US;
    double k = t >= TRANSITION_US ? 1 : (double)t / TRANSITION_US;
    k = 1 - (1 - k) * (1 - k) * (1 - k); /* ease out */
    if (win.tr.active && !win.tr.push && root == win.tr.leaving.frame) {
        *x = (int)lround(k * win.width);
        return true;
    }
    if (root != win.pages[top].frame)
        return false;
    if (win.tr.active && win.tr.push)
        *x = (int)lround((1 - k) * win.width);
    return true;
}

void ui_damage(slate_widget *root, struct rect r) {
    int x, y;
    if (!root_origin(root, &x, &y))
        return;
    r.x += x;
    r.y += y;
    add_damage(r);
    ui_schedule_frame();
}

slate_widget *ui_root_of(const slate_widget *w) {
    while (w && w->parent)
        w = w->parent;
    return (slate_widget *)w;
}

void ui_scroll_pixels(slate_widget *w, int dy) {
    slate_widget *root = ui_root_of(w);
    int ox, oy;
    if (!dy || !root_origin(root, &ox, &oy) || win.tr.active)
        return;
    /* The box as it shows: cut by every clipping ancestor, and by the screen. */
    struct rect area = widget_page_rect(w);
    for (const slate_widget *p = w->parent; p; p = p->parent)
        if (p->clips)
            area = rect_intersect(area, widget_page_rect(p));
    area.x += ox;
    area.y += oy;
    area = rect_intersect(area, (struct rect){0, 0, win.width, win.height});
    if (rect_empty(area))
        return;
    if (abs(dy) >= area.h || win.n_scrolls == SCROLLS_MAX || win.full) {
        add_damage(area);
        ui_schedule_frame();
        return;
    }
    /* Pixels already due to be drawn move with the rest. */
    for (size_t i = 0; i < win.n_damage; i++) {
        struct rect in = rect_intersect(win.damage[i], area);
        if (rect_empty(in))
            continue;
        in.y -= dy;
        win.damage[i] = rect_union(win.damage[i], rect_intersect(in, area));
    }
    win.scrolls[win.n_scrolls].area = area;
    win.scrolls[win.n_scrolls++].dy = dy;
    /* What comes into view. */
    struct rect strip = dy > 0 ? (struct rect){area.x, area.y + area.h - dy, area.w, dy}
                               : (struct rect){area.x, area.y, area.w, -dy};
    add_damage(strip);
    ui_schedule_frame();
}

/* Lay out every root shown: the pages at the screen's size, overlays where they go. */
static void layout(void) {
    struct constraints screen = constraints_tight(win.width, win.height);
    for (size_t i = 0; i < win.n_pages; i++) {
        slate_widget *f = win.pages[i].frame;
        if (i + 1 < win.n_pages && !(win.tr.active && win.tr.push && i + 2 == win.n_pages))
            continue; /* pages under the top one wait until they show again */
        if (!f->measured) {
            widget_measure(f, screen);
            widget_place(f, (struct rect){0, 0, win.width, win.height});
        }
    }
    if (win.tr.active && !win.tr.push && !win.tr.leaving.frame->measured) {
        widget_measure(win.tr.leaving.frame, screen);
        widget_place(win.tr.leaving.frame, (struct rect){0, 0, win.width, win.height});
    }
    if (win.dialog && !win.dialog->measured) {
        widget_measure(win.dialog, screen);
        widget_place(win.dialog, (struct rect){0, 0, win.width, win.height});
    }
    if (win.toast && !win.toast->measured) {
        struct size s = widget_measure(win.toast, constraints_loose(win.width - 64, win.height));
        widget_place(win.toast, (struct rect){(win.width - s.w) / 2, win.height - s.h - 48, s.w, s.h});
    }
}

static void paint_root(slate_widget *root) {
    int x, y;
    if (root && root_origin(root, &x, &y))
        widget_paint(root, &win.surface, x + root->frame.x, y + root->frame.y);
}

/* Whether the top page, standing still, covers r: its frame fills its box with the surface colour itself. */
static bool page_covers(struct rect r) {
    int x, y;
    if (!win.n_pages || win.tr.active)
        return false;
    slate_widget *f = win.pages[win.n_pages - 1].frame;
    if (!root_origin(f, &x, &y))
        return false;
    struct rect box = {x + f->frame.x, y + f->frame.y, f->frame.w, f->frame.h}, in = rect_intersect(box, r);
    return in.x == r.x && in.y == r.y && in.w == r.w && in.h == r.h;
}

static void draw(struct rect r) {
    struct surface *s = &win.surface;
    s->clip = r;
    if (!page_covers(r))
        paint_fill(s, r, ui_theme()->color[SLATE_COLOR_SURFACE]);
    if (win.n_pages) {
        /* A pop slides the leaving page off the one under it; a push slides the new one over. */
        if (win.tr.active && win.tr.push && win.n_pages > 1)
            paint_root(win.pages[win.n_pages - 2].frame);
        if (win.tr.active && !win.tr.push)
            paint_root(win.pages[win.n_pages - 1].frame);
        paint_root(win.tr.active && !win.tr.push ? win.tr.leaving.frame : win.pages[win.n_pages - 1].frame);
    }
    paint_root(win.dialog);
    paint_root(win.toast);
    s->clip = (struct rect){0, 0, s->w, s->h};
}

/* Tell slated which rectangles changed: those drawn and those whose pixels moved. */
static void hand_over(const struct rect *changed, size_t n) {
    uint8_t buf[64 + DAMAGE_MAX * 16];
    uint32_t rects[DAMAGE_MAX * 4];
    struct ipc_msg m;
    for (size_t i = 0; i < n; i++) {
        rects[4 * i] = (uint32_t)changed[i].x;
        rects[4 * i + 1] = (uint32_t)changed[i].y;
        rects[4 * i + 2] = (uint32_t)changed[i].w;
        rects[4 * i + 3] = (uint32_t)changed[i].h;
    }
    ipc_msg_init(&m, buf, sizeof buf, MSG_FRAME, channel_serial(), IPC_FLAG_NO_REPLY);
    ipc_msg_add_bytes(&m, F_DAMAGE, rects, n * 4 * sizeof *rects);
    if (channel_send(&m) == 0)
        win.waiting = true;
}

const struct surface *ui_render(void) {
    if (!win.px)
        return NULL;
    layout();
    struct rect changed[DAMAGE_MAX];
    size_t n_changed = 0;
    /* A scroll by dy shows content dy rows further on: the pixels move up by dy. */
    for (size_t i = 0; i < win.n_scrolls; i++) {
        paint_scroll(&win.surface, win.scrolls[i].area, -win.scrolls[i].dy);
        rects_add(changed, &n_changed, win.scrolls[i].area);
    }
    win.n_scrolls = 0;
    if (win.full) {
        win.n_damage = 0;
        add_damage((struct rect){0, 0, win.width, win.height});
        win.full = false;
    }
    for (size_t i = 0; i < win.n_damage; i++) {
        draw(win.damage[i]);
        rects_add(changed, &n_changed, win.damage[i]);
    }
    if (win.connected && n_changed)
        hand_over(changed, n_changed);
    win.n_damage = 0;
    win.wanted = false;
    return &win.surface;
}

void ui_damage_all(void) {
    win.full = true;
    ui_schedule_frame();
}

void ui_frame_done(void) {
    win.waiting = false;
}

/* ---- animation ---- */

static void arm_timer(void);

static void on_timer(int fd, void *userdata) {
    uint64_t n;
    (void)userdata;
    (void)!read(fd, &n, sizeof n);
    uint64_t now = ui_now_us();
    for (size_t i = 0; i < win.n_anims;) {
        struct anim a = win.anims[i];
        if (a.fn(a.w, now)) {
            i++;
            continue;
        }
        /* Done: the callback may have added others; find it again by value. */
        for (size_t k = 0; k < win.n_anims; k++)
            if (win.anims[k].w == a.w && win.anims[k].fn == a.fn) {
                win.anims[k] = win.anims[--win.n_anims];
                break;
            }
    }
    if (win.tr.active) {
        win.full = true;
        ui_schedule_frame();
        if (now - win.tr.start >= TRANSITION_US) {
            win.tr.active = false;
            if (win.tr.leaving.frame) {
                widget_free(win.tr.leaving.frame);
                win.tr.leaving = (struct page){0};
            }
        }
    }
    if (win.toast && now >= win.toast_until) {
        add_damage(widget_page_rect(win.toast));
        widget_free(win.toast);
        win.toast = NULL;
        ui_schedule_frame();
    }
    arm_timer();
}

/* Tick at 60 Hz while something moves; otherwise wake only for the toast's end; otherwise never. */
static void arm_timer(void) {
    if (win.timer_fd < 0) {
        win.timer_fd = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK);
        if (win.timer_fd < 0 || slate_app_watch(win.timer_fd, on_timer, NULL) < 0)
            return; /* no animation then: everything still ends where it would */
    }
    struct itimerspec its = {0};
    if (win.n_anims || win.tr.active)
        its.it_value.tv_nsec = FRAME_US * 1000L;
    else if (win.toast) {
        uint64_t now = ui_now_us(), left = win.toast_until > now ? win.toast_until - now : 1;
        its.it_value.tv_sec = (time_t)(left / 1000000);
        its.it_value.tv_nsec = (long)(left % 1000000) * 1000;
    }
    timerfd_settime(win.timer_fd, 0, &its, NULL);
}

void ui_animate(slate_widget *w, animate_fn fn) {
    for (size_t i = 0; i < win.n_anims; i++)
        if (win.anims[i].w == w && win.anims[i].fn == fn)
            return;
    if (win.n_anims == ANIMS_MAX)
        return;
    win.anims[win.n_anims++] = (struct anim){w, fn};
    arm_timer();
}

static bool within(const slate_widget *w, const slate_widget *ancestor) {
    for (; w; w = w->parent)
        if (w == ancestor)
            return true;
    return false;
}

void ui_forget(slate_widget *w) {
    for (size_t i = 0; i < win.n_anims;)
        if (within(win.anims[i].w, w))
            win.anims[i] = win.anims[--win.n_anims];
        else
            i++;
    if (within(win.target, w))
        win.target = NULL;
    if (within(win.scroller, w))
        win.scroller = NULL;
    if (within(win.focus, w))
        win.focus = NULL;
}

/* ---- pages ---- */

static void back_tapped(slate_widget *w, void *userdata) {
    (void)w, (void)userdata;
    slate_ui_pop();
}

static slate_widget *top_bar(const char *title, bool back) {
    slate_widget *bar = slate_row();
    if (!bar)
        return NULL;
    bar->fixed_h = ui_theme()->bar;
    bar->pad_h = SLATE_SPACE_S;
    bar->gap = SLATE_SPACE_S;
    if (back) {
        slate_widget *icon = slate_icon("arrow_back");
        if (icon) {
            icon->pad_v = icon->pad_h = SLATE_SPACE_M;
            slate_widget_on_tap(icon, back_tapped, NULL);
            widget_append(bar, icon);
        }
    } else
        bar->pad_h = SLATE_SPACE_L;
    slate_widget *t = slate_text(title, SLATE_TEXT_TITLE);
    if (t) {
        slate_text_set_max_lines(t, 1);
        t->flex = 1;
        widget_append(bar, t);
    }
    return bar;
}

static void relayout_all(void) {
    for (size_t i = 0; i < win.n_pages; i++)
        widget_relayout(win.pages[i].frame);
    if (win.dialog)
        widget_relayout(win.dialog);
    if (win.toast)
        widget_relayout(win.toast);
    win.full = true;
}

/* The transition ends now: the top page is simply shown. */
static void end_transition(void) {
    if (win.tr.leaving.frame)
        widget_free(win.tr.leaving.frame);
    memset(&win.tr, 0, sizeof win.tr);
    win.full = true;
    ui_schedule_frame();
}

static void start_transition(bool push) {
    /* Under slated, a page slides over another; the first page, or one drawn offscreen (tests), just shows. */
    if (!win.connected || (push && win.n_pages < 2)) {
        end_transition();
        return;
    }
    win.tr.active = true;
    win.tr.push = push;
    win.tr.start = ui_now_us();
    win.full = true;
    arm_timer();
}

/* Text's libraries and fonts load with the first page; a device without them shows no text, and says so once. */
static void need_text(void) {
    static bool told;
    struct err e = {0};
    if (text_init(&e) < 0 && !told) {
        told = true;
        fprintf(stderr, "slate: no text will be drawn: %s\n", e.msg);
    }
}

void slate_ui_push(slate_widget *content, const char *title) {
    if (!content || content->parent || win.n_pages == PAGES_MAX)
        return;
    ensure_window();
    need_text();
    slate_widget *frame = slate_column();
    if (!frame)
        return;
    frame->shape = SLATE_SHAPE_FLAT;
    frame->background = SLATE_COLOR_SURFACE;
    if (title) {
        slate_widget *bar = top_bar(title, win.n_pages > 0);
        if (bar)
            widget_append(frame, bar);
    }
    content->flex = 1;
    widget_append(frame, content);
    win.pages[win.n_pages++] = (struct page){frame, content};
    ui_focus(NULL);
    start_transition(true);
    ui_schedule_frame();
}

bool slate_ui_pop(void) {
    if (win.n_pages <= 1)
        return false;
    struct page p = win.pages[--win.n_pages];
    ui_forget(p.frame);
    if (win.tr.leaving.frame)
        widget_free(win.tr.leaving.frame);
    win.tr.leaving = p;
    start_transition(false);
    widget_relayout(win.pages[win.n_pages - 1].frame);
    ui_schedule_frame();
    return true;
}

/* ---- dialogs and toasts ---- */

static void close_dialog(bool confirmed) {
    slate_choice_fn fn = win.on_choice;
    void *ud = win.choice_userdata;
    ui_forget(win.dialog);
    widget_free(win.dialog);
    win.dialog = NULL;
    win.on_choice = NULL;
    win.full = true;
    ui_schedule_frame();
    if (fn)
        fn(confirmed, ud);
}

static void dialog_confirm(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    close_dialog(true);
}

static void dialog_cancel(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    close_dialog(false);
}

static struct size scrim_measure(slate_widget *w, struct constraints c) {
    for (size_t i = 0; i < w->n_children; i++)
        widget_measure(w->children[i], constraints_loose(c.max_w - 64 < 560 ? c.max_w - 64 : 560, c.max_h - 64));
    return (struct size){c.max_w, c.max_h};
}

static void scrim_place(slate_widget *w) {
    for (size_t i = 0; i < w->n_children; i++) {
        slate_widget *card = w->children[i];
        struct size s = widget_measure(card, constraints_loose(w->frame.w - 64 < 560 ? w->frame.w - 64 : 560,
                                                                w->frame.h - 64));
        widget_place(card, (struct rect){(w->frame.w - s.w) / 2, (w->frame.h - s.h) / 2, s.w, s.h});
    }
}

static void scrim_paint(slate_widget *w, struct surface *s, int x, int y) {
    paint_fill(s, (struct rect){x, y, w->frame.w, w->frame.h}, ui_theme()->scrim);
}

/* The scrim takes every tap (so nothing under it is reached): a tap outside the card does nothing. */
static bool scrim_pointer(slate_widget *w, const struct pointer *p) {
    (void)w, (void)p;
    return true;
}

static const struct widget_class scrim_class = {
    .name = "scrim", .measure = scrim_measure, .place = scrim_place, .paint = scrim_paint, .pointer = scrim_pointer};

void slate_ui_dialog(const char *title, const char *text, const char *confirm, const char *cancel,
                     slate_choice_fn on_choice, void *userdata) {
    ensure_window();
    need_text();
    if (win.dialog)
        close_dialog(false);
    slate_widget *scrim = widget_new(&scrim_class, sizeof(slate_widget)), *card = slate_column(),
                 *buttons = slate_row();
    if (!scrim || !card || !buttons) {
        widget_free(scrim);
        widget_free(card);
        widget_free(buttons);
        return;
    }
    card->shape = SLATE_SHAPE_CARD;
    card->background = SLATE_COLOR_SURFACE;
    card->pad_v = card->pad_h = SLATE_SPACE_XL;
    card->gap = SLATE_SPACE_L;
    if (title)
        widget_append(card, slate_text(title, SLATE_TEXT_TITLE));
    if (text)
        widget_append(card, slate_text(text, SLATE_TEXT_BODY));
    buttons->main = SLATE_ALIGN_END;
    buttons->gap = SLATE_SPACE_S;
    if (cancel)
        widget_append(buttons, slate_button(cancel, SLATE_BUTTON_TEXT, dialog_cancel, NULL));
    widget_append(buttons, slate_button(confirm ? confirm : "OK", SLATE_BUTTON_FILLED, dialog_confirm, NULL));
    widget_append(card, buttons);
    widget_append(scrim, card);
    win.dialog = scrim;
    win.on_choice = on_choice;
    win.choice_userdata = userdata;
    win.full = true;
    ui_schedule_frame();
}

void slate_ui_toast(const char *text) {
    ensure_window();
    need_text();
    if (win.toast) {
        add_damage(widget_page_rect(win.toast));
        widget_free(win.toast);
    }
    slate_widget *t = slate_row(), *label = slate_text(text, SLATE_TEXT_BODY);
    if (!t || !label) {
        widget_free(t);
        widget_free(label);
        win.toast = NULL;
        return;
    }
    t->shape = SLATE_SHAPE_PILL;
    t->background = SLATE_COLOR_ON_SURFACE;
    t->pad_h = SLATE_SPACE_XL;
    t->pad_v = SLATE_SPACE_M;
    slate_text_set_color(label, SLATE_COLOR_SURFACE);
    widget_append(t, label);
    win.toast = t;
    win.toast_until = ui_now_us() + TOAST_US;
    arm_timer();
    ui_schedule_frame();
}

bool slate_ui_dark(void) {
    return win.dark;
}

/* ---- input ---- */

void ui_focus(slate_widget *w) {
    if (win.focus == w)
        return;
    slate_widget *old = win.focus;
    win.focus = w;
    if (old && old->cls->blur)
        old->cls->blur(old);
}

slate_widget *ui_focused(void) {
    return win.focus;
}

/* What the pointer reaches: the dialog when there is one, else the page on top. */
static slate_widget *input_root(void) {
    if (win.dialog)
        return win.dialog;
    return win.n_pages && !win.tr.active ? win.pages[win.n_pages - 1].frame : NULL;
}

static void deliver(slate_widget *w, enum pointer_kind kind, int sx, int sy, uint64_t t) {
    if (!w || !w->cls->pointer)
        return;
    struct rect r = widget_page_rect(w);
    struct pointer p = {kind, sx - r.x, sy - r.y, t};
    w->cls->pointer(w, &p);
}

static void set_pressed(slate_widget *w, bool pressed) {
    if (w && w->on_tap && w->pressed != pressed) {
        w->pressed = pressed;
        widget_damage(w);
    }
}

static void pointer_input(enum ui_input_kind kind, int x, int y, uint64_t t) {
    /* A touch during a transition finishes it: the page that is coming takes the touch. */
    if (kind == UI_INPUT_DOWN && win.tr.active)
        end_transition();
    slate_widget *root = input_root();
    if (!root)
        return;
    switch (kind) {
    case UI_INPUT_DOWN: {
        int lx, ly;
        win.down = true;
        win.dragging = false;
        win.down_x = x;
        win.down_y = y;
        win.target = widget_hit(root, x - root->frame.x, y - root->frame.y, &lx, &ly);
        win.scroller = NULL;
        for (slate_widget *p = win.target; p; p = p->parent)
            if (p->cls->scrolls && p != win.target) {
                win.scroller = p;
                break;
            }
        if (win.target && win.target->cls->scrolls) {
            win.scroller = win.target;
            win.target = NULL;
        }
        if (win.focus && win.target != win.focus)
            ui_focus(NULL);
        set_pressed(win.target, true);
        deliver(win.target, POINTER_DOWN, x, y, t);
        if (!win.target && win.scroller) {
            win.dragging = true;
            deliver(win.scroller, POINTER_DOWN, x, y, t);
        }
        break;
    }
    case UI_INPUT_MOVE:
        if (!win.down)
            return;
        if (win.dragging) {
            deliver(win.scroller, POINTER_MOVE, x, y, t);
            return;
        }
        /* A control that drags (a slider) keeps the finger; anything else gives a drag to its scroller. */
        if (win.scroller && abs(y - win.down_y) > SLOP && !(win.target && win.target->cls->pointer)) {
            set_pressed(win.target, false);
            deliver(win.target, POINTER_CANCEL, x, y, t);
            win.target = NULL;
            win.dragging = true;
            deliver(win.scroller, POINTER_DOWN, win.down_x, win.down_y, t);
            deliver(win.scroller, POINTER_MOVE, x, y, t);
            return;
        }
        if (win.target && win.target->pressed && (abs(x - win.down_x) > SLOP || abs(y - win.down_y) > SLOP))
            set_pressed(win.target, false);
        deliver(win.target, POINTER_MOVE, x, y, t);
        break;
    case UI_INPUT_UP:
    case UI_INPUT_CANCEL: {
        win.down = false;
        if (win.dragging) {
            deliver(win.scroller, kind == UI_INPUT_UP ? POINTER_UP : POINTER_CANCEL, x, y, t);
            win.dragging = false;
            return;
        }
        slate_widget *w = win.target;
        win.target = NULL;
        if (!w)
            return;
        bool tapped = w->pressed && kind == UI_INPUT_UP;
        set_pressed(w, false);
        deliver(w, kind == UI_INPUT_UP ? POINTER_UP : POINTER_CANCEL, x, y, t);
        if (tapped && w->on_tap)
            w->on_tap(w, w->tap_userdata);
        break;
    }
    default:
        break;
    }
}

void ui_input(enum ui_input_kind kind, int x, int y, uint64_t time_us, const char *key) {
    if (kind <= UI_INPUT_CANCEL) {
        pointer_input(kind, x, y, time_us);
    } else if (kind == UI_INPUT_KEY && key && !strcmp(key, "Back")) {
        if (win.dialog)
            close_dialog(false);
        else if (win.focus)
            ui_focus(NULL);
        else
            slate_ui_pop();
    } else if (win.focus && win.focus->cls->key) {
        struct key k = {kind == UI_INPUT_KEY ? key : NULL, kind == UI_INPUT_TEXT ? key : NULL};
        win.focus->cls->key(win.focus, &k);
    }
    ui_schedule_frame();
}

void ui_before_wait(void) {
    if (win.wanted && !win.waiting && win.px && win.n_pages)
        ui_render();
}

void ui_reset(void) {
    if (win.dialog) {
        widget_free(win.dialog);
        win.dialog = NULL;
    }
    if (win.toast) {
        widget_free(win.toast);
        win.toast = NULL;
    }
    while (win.n_pages)
        widget_free(win.pages[--win.n_pages].frame);
    if (win.tr.leaving.frame)
        widget_free(win.tr.leaving.frame);
    memset(&win.tr, 0, sizeof win.tr);
    win.n_anims = 0;
    win.target = win.scroller = win.focus = NULL;
    win.n_damage = win.n_scrolls = 0;
    win.full = true;
}
