/* widgets.c: the leaves and controls: text, icon, image, button, switch, slider, text field. */
#include <stdlib.h>
#include <string.h>

#include "image-load.h"
#include "text.h"
#include "widget.h"

#define TEXT_MAX 4096 /* bytes of one text widget: a label, a paragraph */

static int space(int token) {
    return ui_theme()->space[token];
}

static enum text_align text_align_of(enum slate_align a) {
    return a == SLATE_ALIGN_CENTER ? TEXT_CENTER : a == SLATE_ALIGN_END ? TEXT_END : TEXT_START;
}

/* ---- text and icons ---- */

struct text_widget {
    slate_widget base;
    char *utf8;
    enum slate_text_style style;
    enum slate_color color;
    unsigned max_lines;
    bool icon;
    struct text_layout *layout; /* at layout_width, for painting */
    int layout_width;
};

static struct text_style style_of(const struct text_widget *t) {
    const struct theme *th = ui_theme();
    if (t->icon)
        return (struct text_style){.size = th->icon, .weight = FONT_REGULAR, .line_height = th->icon, .icon = true};
    return th->text[t->style];
}

static struct text_layout *lay_out(struct text_widget *t, int width) {
    struct text_style st = style_of(t);
    return text_layout(t->utf8, strlen(t->utf8), &st, width, t->max_lines, text_align_of(t->base.main));
}

static struct size text_measure(slate_widget *w, struct constraints c) {
    struct text_widget *t = (struct text_widget *)w;
    int ph = space(w->pad_h), pv = space(w->pad_v);
    /* Unbounded: one line as long as it is. */
    int max = c.max_w == UNBOUNDED ? 0 : c.max_w - 2 * ph > 1 ? c.max_w - 2 * ph : 1;
    struct text_layout *l = lay_out(t, max);
    int lw = 0, lh = 0;
    if (l)
        text_layout_size(l, &lw, &lh);
    text_layout_free(l);
    /* A text that wraps fills the width it wrapped to, so alignment has room to act. */
    if (max && t->base.main != SLATE_ALIGN_START && lw < max)
        lw = max;
    return (struct size){lw + 2 * ph, lh + 2 * pv};
}

static void text_paint(slate_widget *w, struct surface *s, int x, int y) {
    struct text_widget *t = (struct text_widget *)w;
    int ph = space(w->pad_h), pv = space(w->pad_v), width = w->frame.w - 2 * ph;
    if (!t->layout || t->layout_width != width) {
        text_layout_free(t->layout);
        t->layout = lay_out(t, width > 0 ? width : 1);
        t->layout_width = width;
    }
    if (t->layout)
        text_layout_draw(t->layout, s, x + ph, y + pv, ui_theme()->color[t->color]);
}

/* Descenders, marks over tall letters and side bearings reach past the line box: half the size is ample
 * for the fonts the toolkit ships (the widgets test holds every style and script to it). */
static int text_overhang(const slate_widget *w) {
    return style_of((const struct text_widget *)w).size / 2 + 2;
}

static void text_destroy(slate_widget *w) {
    struct text_widget *t = (struct text_widget *)w;
    text_layout_free(t->layout);
    free(t->utf8);
}

const struct widget_class text_class = {
    .name = "text", .measure = text_measure, .paint = text_paint, .overhang = text_overhang, .destroy = text_destroy};

static char *copy_text(const char *utf8) {
    size_t len = utf8 ? strnlen(utf8, TEXT_MAX) : 0;
    char *s = malloc(len + 1);
    if (s) {
        memcpy(s, utf8 ? utf8 : "", len);
        s[len] = '\0';
    }
    return s;
}

static slate_widget *text_new(const char *utf8, enum slate_text_style style, bool icon) {
    struct text_widget *t = (struct text_widget *)widget_new(&text_class, sizeof *t);
    if (!t || !(t->utf8 = copy_text(utf8))) {
        free(t);
        return NULL;
    }
    t->style = (unsigned)style < THEME_TEXT_STYLES ? style : SLATE_TEXT_BODY;
    t->color = SLATE_COLOR_ON_SURFACE;
    t->icon = icon;
    t->base.main = SLATE_ALIGN_START;
    return &t->base;
}

static struct text_widget *as_text(slate_widget *w) {
    return w && w->cls == &text_class ? (struct text_widget *)w : NULL;
}

slate_widget *slate_text(const char *utf8, enum slate_text_style style) {
    return text_new(utf8, style, false);
}

slate_widget *slate_icon(const char *name) {
    return text_new(name, SLATE_TEXT_BODY, true);
}

void slate_text_set(slate_widget *w, const char *utf8) {
    struct text_widget *t = as_text(w);
    char *s = t ? copy_text(utf8) : NULL;
    if (!s)
        return;
    free(t->utf8);
    t->utf8 = s;
    text_layout_free(t->layout);
    t->layout = NULL;
    widget_relayout(w);
}

void slate_text_set_max_lines(slate_widget *w, unsigned lines) {
    struct text_widget *t = as_text(w);
    if (!t)
        return;
    t->max_lines = lines;
    text_layout_free(t->layout);
    t->layout = NULL;
    widget_relayout(w);
}

void slate_text_set_color(slate_widget *w, enum slate_color color) {
    struct text_widget *t = as_text(w);
    if (!t || (unsigned)color > SLATE_COLOR_ERROR)
        return;
    t->color = color;
    widget_damage(w);
    ui_schedule_frame();
}

void slate_text_set_align(slate_widget *w, enum slate_align align) {
    struct text_widget *t = as_text(w);
    if (!t)
        return;
    t->base.main = align;
    text_layout_free(t->layout);
    t->layout = NULL;
    widget_relayout(w);
}

/* ---- images ---- */

struct image_widget {
    slate_widget base;
    char *path;
    enum slate_image_fit fit;
    struct image *img; /* decoded for loaded_w x loaded_h */
    int loaded_w, loaded_h;
    bool failed;
};

/* Decode for a box of w x h: once per size, at that size (JPEG in the DCT domain). */
static void image_ensure(struct image_widget *iw, int w, int h) {
    if (iw->failed || (iw->img && iw->loaded_w == w && iw->loaded_h == h))
        return;
    struct err e = {0};
    struct image *img = NULL;
    if (image_load(iw->path, w, h, &img, &e) < 0) {
        iw->failed = true; /* a broken file stays an empty box: it is not read again at each frame */
        return;
    }
    image_free(iw->img);
    iw->img = img;
    iw->loaded_w = w;
    iw->loaded_h = h;
}

static struct size image_measure(slate_widget *w, struct constraints c) {
    struct image_widget *iw = (struct image_widget *)w;
    /* A box the app sized, or the room it is given; an image never asks for more than that. */
    int bw = c.max_w == UNBOUNDED ? 0 : c.max_w, bh = c.max_h == UNBOUNDED ? 0 : c.max_h;
    if (bw && bh)
        return (struct size){bw, bh};
    image_ensure(iw, bw, bh);
    if (!iw->img)
        return (struct size){bw, bh};
    /* One side given: the other from the picture's shape. */
    if (bw)
        return (struct size){bw, (int)((long long)bw * iw->img->h / (iw->img->w ? iw->img->w : 1))};
    if (bh)
        return (struct size){(int)((long long)bh * iw->img->w / (iw->img->h ? iw->img->h : 1)), bh};
    return (struct size){iw->img->w, iw->img->h};
}

static void image_paint(slate_widget *w, struct surface *s, int x, int y) {
    struct image_widget *iw = (struct image_widget *)w;
    struct rect box = {x, y, w->frame.w, w->frame.h};
    if (rect_empty(box))
        return;
    image_ensure(iw, box.w, box.h);
    if (!iw->img) {
        paint_fill(s, box, ui_theme()->color[SLATE_COLOR_SURFACE_VARIANT]);
        return;
    }
    struct rect src = {0, 0, iw->img->w, iw->img->h}, dst = box;
    long long iw_h = (long long)iw->img->w * box.h, ih_w = (long long)iw->img->h * box.w;
    if (iw->fit == SLATE_FIT_COVER) {
        /* Crop the picture to the box's shape. */
        if (iw_h > ih_w) {
            src.w = (int)(ih_w / box.h);
            src.x = (iw->img->w - src.w) / 2;
        } else if (ih_w > iw_h) {
            src.h = (int)(iw_h / box.w);
            src.y = (iw->img->h - src.h) / 2;
        }
    } else {
        /* Shrink the box to the picture's shape. */
        if (iw_h > ih_w) {
            dst.h = (int)(ih_w / iw->img->w);
            dst.y += (box.h - dst.h) / 2;
        } else if (ih_w > iw_h) {
            dst.w = (int)(iw_h / iw->img->h);
            dst.x += (box.w - dst.w) / 2;
        }
    }
    int radius = w->shape == SLATE_SHAPE_CARD ? ui_theme()->radius_card : 0;
    paint_image(s, dst, iw->img, src, 0xff, radius);
}

static void image_destroy(slate_widget *w) {
    struct image_widget *iw = (struct image_widget *)w;
    image_free(iw->img);
    free(iw->path);
}

static const struct widget_class image_class = {
    .name = "image", .measure = image_measure, .paint = image_paint, .destroy = image_destroy};

slate_widget *slate_image(const char *path, enum slate_image_fit fit) {
    struct image_widget *iw = (struct image_widget *)widget_new(&image_class, sizeof *iw);
    if (!iw || !(iw->path = strdup(path ? path : ""))) {
        free(iw);
        return NULL;
    }
    iw->fit = fit == SLATE_FIT_CONTAIN ? SLATE_FIT_CONTAIN : SLATE_FIT_COVER;
    iw->base.shape = SLATE_SHAPE_NONE;
    return &iw->base;
}

void slate_image_set_path(slate_widget *w, const char *path) {
    struct image_widget *iw = w && w->cls == &image_class ? (struct image_widget *)w : NULL;
    char *p = iw ? strdup(path ? path : "") : NULL;
    if (!p)
        return;
    free(iw->path);
    iw->path = p;
    image_free(iw->img);
    iw->img = NULL;
    iw->failed = false;
    widget_relayout(w);
}

/* ---- buttons: a label on a pill ---- */

slate_widget *slate_button(const char *label, enum slate_button_kind kind, slate_action_fn on_tap, void *userdata) {
    slate_widget *b = slate_row(), *t = slate_text(label, SLATE_TEXT_LABEL);
    if (!b || !t) {
        widget_free(b);
        widget_free(t);
        return NULL;
    }
    static const enum slate_color bg[] = {SLATE_COLOR_PRIMARY, SLATE_COLOR_PRIMARY_CONTAINER, SLATE_COLOR_SURFACE};
    static const enum slate_color fg[] = {SLATE_COLOR_ON_PRIMARY, SLATE_COLOR_ON_SURFACE, SLATE_COLOR_PRIMARY};
    unsigned k = (unsigned)kind <= SLATE_BUTTON_TEXT ? (unsigned)kind : SLATE_BUTTON_FILLED;
    b->shape = k == SLATE_BUTTON_TEXT ? SLATE_SHAPE_NONE : SLATE_SHAPE_PILL;
    b->background = bg[k];
    b->pad_h = SLATE_SPACE_XL;
    b->pad_v = SLATE_SPACE_M;
    b->main = SLATE_ALIGN_CENTER;
    b->cross = SLATE_ALIGN_CENTER;
    ((struct text_widget *)t)->color = fg[k];
    widget_append(b, t);
    b->on_tap = on_tap;
    b->tap_userdata = userdata;
    return b;
}

/* ---- the switch ---- */

struct switch_widget {
    slate_widget base;
    bool on;
    slate_toggle_fn on_change;
    void *userdata;
};

static struct size switch_measure(slate_widget *w, struct constraints c) {
    (void)w, (void)c;
    return (struct size){52, ui_theme()->touch};
}

static void switch_paint(slate_widget *w, struct surface *s, int x, int y) {
    struct switch_widget *sw = (struct switch_widget *)w;
    const struct theme *t = ui_theme();
    struct rect track = {x, y + (w->frame.h - 32) / 2, 52, 32};
    if (sw->on) {
        paint_rrect(s, track, 16, t->color[SLATE_COLOR_PRIMARY]);
        paint_circle(s, track.x + 36, track.y + 16, 12, t->color[SLATE_COLOR_ON_PRIMARY]);
    } else {
        paint_rrect(s, track, 16, t->color[SLATE_COLOR_OUTLINE]);
        paint_rrect(s, (struct rect){track.x + 2, track.y + 2, 48, 28}, 14, t->color[SLATE_COLOR_SURFACE_VARIANT]);
        paint_circle(s, track.x + 16, track.y + 16, 8, t->color[SLATE_COLOR_ON_SURFACE_VARIANT]);
    }
}

static bool switch_pointer(slate_widget *w, const struct pointer *p) {
    struct switch_widget *sw = (struct switch_widget *)w;
    if (p->kind != POINTER_UP || p->x < 0 || p->y < 0 || p->x >= w->frame.w || p->y >= w->frame.h)
        return true;
    sw->on = !sw->on;
    widget_damage(w);
    ui_schedule_frame();
    if (sw->on_change)
        sw->on_change(w, sw->on, sw->userdata);
    return true;
}

static const struct widget_class switch_class = {
    .name = "switch", .measure = switch_measure, .paint = switch_paint, .pointer = switch_pointer};

slate_widget *slate_switch(bool on, slate_toggle_fn on_change, void *userdata) {
    struct switch_widget *sw = (struct switch_widget *)widget_new(&switch_class, sizeof *sw);
    if (!sw)
        return NULL;
    sw->on = on;
    sw->on_change = on_change;
    sw->userdata = userdata;
    return &sw->base;
}

bool slate_switch_get(const slate_widget *w) {
    return w && w->cls == &switch_class && ((const struct switch_widget *)w)->on;
}

void slate_switch_set(slate_widget *w, bool on) {
    if (!w || w->cls != &switch_class || ((struct switch_widget *)w)->on == on)
        return;
    ((struct switch_widget *)w)->on = on;
    widget_damage(w);
    ui_schedule_frame();
}

/* ---- the slider ---- */

struct slider_widget {
    slate_widget base;
    double value; /* 0 to 1 */
    slate_value_fn on_change;
    void *userdata;
};

#define KNOB 10

static struct size slider_measure(slate_widget *w, struct constraints c) {
    (void)w;
    return (struct size){c.max_w == UNBOUNDED ? 200 : c.max_w, ui_theme()->touch};
}

static void slider_paint(slate_widget *w, struct surface *s, int x, int y) {
    struct slider_widget *sl = (struct slider_widget *)w;
    const struct theme *t = ui_theme();
    int len = w->frame.w - 2 * KNOB, cy = y + w->frame.h / 2;
    int at = x + KNOB + (int)(sl->value * len + 0.5);
    paint_rrect(s, (struct rect){x + KNOB, cy - 2, len, 4}, 2, t->color[SLATE_COLOR_SURFACE_VARIANT]);
    paint_rrect(s, (struct rect){x + KNOB, cy - 2, at - x - KNOB, 4}, 2, t->color[SLATE_COLOR_PRIMARY]);
    paint_circle(s, at, cy, KNOB, t->color[SLATE_COLOR_PRIMARY]);
}

static bool slider_pointer(slate_widget *w, const struct pointer *p) {
    struct slider_widget *sl = (struct slider_widget *)w;
    int len = w->frame.w - 2 * KNOB;
    if (p->kind == POINTER_CANCEL || len <= 0)
        return true;
    double v = (double)(p->x - KNOB) / len;
    v = v < 0 ? 0 : v > 1 ? 1 : v;
    if (v != sl->value) {
        sl->value = v;
        widget_damage(w);
        ui_schedule_frame();
        if (sl->on_change)
            sl->on_change(w, v, sl->userdata);
    }
    return true;
}

static const struct widget_class slider_class = {
    .name = "slider", .measure = slider_measure, .paint = slider_paint, .pointer = slider_pointer};

slate_widget *slate_slider(double value, slate_value_fn on_change, void *userdata) {
    struct slider_widget *sl = (struct slider_widget *)widget_new(&slider_class, sizeof *sl);
    if (!sl)
        return NULL;
    sl->value = value < 0 ? 0 : value > 1 ? 1 : value;
    sl->on_change = on_change;
    sl->userdata = userdata;
    return &sl->base;
}

double slate_slider_get(const slate_widget *w) {
    return w && w->cls == &slider_class ? ((const struct slider_widget *)w)->value : 0;
}
