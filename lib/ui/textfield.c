/* textfield.c: one line of editable text: a caret, a selection, typing, the arrow keys. */
#include <stdlib.h>
#include <string.h>

#include "text.h"
#include "widget.h"

#define FIELD_MAX 1024 /* bytes */

struct field {
    slate_widget base;
    char text[FIELD_MAX + 1];
    size_t len;
    size_t caret, anchor; /* byte offsets; the selection runs between them */
    char *placeholder;
    slate_text_fn on_change;
    void *userdata;
    int scroll; /* pixels of text left of the box, so the caret stays in view */
};

static int inset(void) {
    return ui_theme()->space[SLATE_SPACE_L];
}

static struct text_layout *lay_out(const struct field *f, bool placeholder) {
    const struct text_style *st = &ui_theme()->text[SLATE_TEXT_BODY];
    const char *s = placeholder ? f->placeholder : f->text;
    return text_layout(s, strlen(s), st, 0, 1, TEXT_START);
}

static struct size field_measure(slate_widget *w, struct constraints c) {
    (void)w;
    return (struct size){c.max_w == UNBOUNDED ? 280 : c.max_w, ui_theme()->touch};
}

static void field_paint(slate_widget *w, struct surface *s, int x, int y) {
    struct field *f = (struct field *)w;
    const struct theme *t = ui_theme();
    bool focused = ui_focused() == w;
    struct rect box = {x, y, w->frame.w, w->frame.h};
    paint_rrect(s, box, 8, t->color[SLATE_COLOR_SURFACE_VARIANT]);
    /* The focused field's underline is the accent. */
    paint_fill(s, (struct rect){x, y + box.h - 2, box.w, 2},
               t->color[focused ? SLATE_COLOR_PRIMARY : SLATE_COLOR_OUTLINE]);
    bool empty = f->len == 0;
    struct text_layout *l = lay_out(f, empty && f->placeholder);
    if (!l)
        return;
    int lw, lh;
    text_layout_size(l, &lw, &lh);
    int tx = x + inset() - f->scroll, ty = y + (box.h - lh) / 2;
    struct rect saved = s->clip;
    s->clip = rect_intersect(s->clip, (struct rect){x + inset() / 2, y, box.w - inset(), box.h});
    if (!empty && focused && f->caret != f->anchor) {
        struct rect a = text_layout_caret(l, f->caret < f->anchor ? f->caret : f->anchor);
        struct rect b = text_layout_caret(l, f->caret < f->anchor ? f->anchor : f->caret);
        int left = a.x < b.x ? a.x : b.x, right = a.x < b.x ? b.x : a.x;
        paint_fill(s, (struct rect){tx + left, ty, right - left, lh}, t->color[SLATE_COLOR_PRIMARY_CONTAINER]);
    }
    text_layout_draw(l, s, tx, ty, t->color[empty ? SLATE_COLOR_ON_SURFACE_VARIANT : SLATE_COLOR_ON_SURFACE]);
    if (focused) {
        struct rect c = empty ? (struct rect){0, 0, 2, lh} : text_layout_caret(l, f->caret);
        paint_fill(s, (struct rect){tx + c.x, ty + c.y, 2, c.h ? c.h : lh}, t->color[SLATE_COLOR_PRIMARY]);
    }
    s->clip = saved;
    text_layout_free(l);
}

/* Keep the caret inside the box: scroll the text under it. */
static void reveal_caret(struct field *f) {
    struct text_layout *l = lay_out(f, false);
    if (!l)
        return;
    int room = f->base.frame.w - 2 * inset(), x = text_layout_caret(l, f->caret).x;
    if (x - f->scroll > room)
        f->scroll = x - room;
    else if (x < f->scroll)
        f->scroll = x;
    text_layout_free(l);
}

static void changed(struct field *f, bool edited) {
    reveal_caret(f);
    widget_damage(&f->base);
    ui_schedule_frame();
    if (edited && f->on_change)
        f->on_change(&f->base, f->text, f->userdata);
}

static size_t offset_at(struct field *f, int x) {
    struct text_layout *l = lay_out(f, false);
    size_t at = l ? text_layout_hit(l, x - inset() + f->scroll, 0) : f->len;
    text_layout_free(l);
    return at > f->len ? f->len : at;
}

static bool field_pointer(slate_widget *w, const struct pointer *p) {
    struct field *f = (struct field *)w;
    if (p->kind == POINTER_DOWN) {
        ui_focus(w);
        f->caret = f->anchor = offset_at(f, p->x);
        changed(f, false);
    } else if (p->kind == POINTER_MOVE) {
        /* Dragging selects. */
        size_t at = offset_at(f, p->x);
        if (at != f->caret) {
            f->caret = at;
            changed(f, false);
        }
    }
    return true;
}

/* UTF-8: the start of the character before or after offset. */
static size_t prev_char(const struct field *f, size_t at) {
    while (at > 0 && ((unsigned char)f->text[--at] & 0xc0) == 0x80)
        ;
    return at;
}

static size_t next_char(const struct field *f, size_t at) {
    if (at < f->len)
        at++;
    while (at < f->len && ((unsigned char)f->text[at] & 0xc0) == 0x80)
        at++;
    return at;
}

static void delete_range(struct field *f, size_t from, size_t to) {
    memmove(f->text + from, f->text + to, f->len - to + 1);
    f->len -= to - from;
    f->caret = f->anchor = from;
}

/* Typed text replaces the selection; what does not fit is dropped whole characters at a time. */
static void insert(struct field *f, const char *s) {
    size_t lo = f->caret < f->anchor ? f->caret : f->anchor, hi = f->caret < f->anchor ? f->anchor : f->caret;
    delete_range(f, lo, hi);
    size_t n = strlen(s);
    while (n && f->len + n > FIELD_MAX)
        while (n && ((unsigned char)s[--n] & 0xc0) == 0x80)
            ;
    /* Control characters (a pasted newline) are not part of one line. */
    for (size_t i = 0; i < n; i++)
        if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
            return;
    memmove(f->text + lo + n, f->text + lo, f->len - lo + 1);
    memcpy(f->text + lo, s, n);
    f->len += n;
    f->caret = f->anchor = lo + n;
}

static bool field_key(slate_widget *w, const struct key *k) {
    struct field *f = (struct field *)w;
    bool selected = f->caret != f->anchor, edited = false;
    if (k->text) {
        insert(f, k->text);
        edited = true;
    } else if (!k->name) {
        return false;
    } else if (!strcmp(k->name, "BackSpace") || !strcmp(k->name, "Delete")) {
        size_t lo = f->caret < f->anchor ? f->caret : f->anchor, hi = f->caret < f->anchor ? f->anchor : f->caret;
        if (!selected)
            (k->name[0] == 'B' ? (lo = prev_char(f, lo)) : (hi = next_char(f, hi)));
        edited = lo != hi;
        delete_range(f, lo, hi);
    } else if (!strcmp(k->name, "Left"))
        f->caret = f->anchor = selected ? (f->caret < f->anchor ? f->caret : f->anchor) : prev_char(f, f->caret);
    else if (!strcmp(k->name, "Right"))
        f->caret = f->anchor = selected ? (f->caret > f->anchor ? f->caret : f->anchor) : next_char(f, f->caret);
    else if (!strcmp(k->name, "Home"))
        f->caret = f->anchor = 0;
    else if (!strcmp(k->name, "End"))
        f->caret = f->anchor = f->len;
    else if (!strcmp(k->name, "Return")) {
        ui_focus(NULL);
        return true;
    } else
        return false;
    changed(f, edited);
    return true;
}

static void field_blur(slate_widget *w) {
    struct field *f = (struct field *)w;
    f->anchor = f->caret;
    widget_damage(w);
    ui_schedule_frame();
}

static void field_destroy(slate_widget *w) {
    free(((struct field *)w)->placeholder);
}

static const struct widget_class field_class = {.name = "text field",
                                                .measure = field_measure,
                                                .paint = field_paint,
                                                .pointer = field_pointer,
                                                .key = field_key,
                                                .blur = field_blur,
                                                .destroy = field_destroy};

slate_widget *slate_text_field(const char *placeholder, slate_text_fn on_change, void *userdata) {
    struct field *f = (struct field *)widget_new(&field_class, sizeof *f);
    if (!f || !(f->placeholder = strdup(placeholder ? placeholder : ""))) {
        free(f);
        return NULL;
    }
    f->on_change = on_change;
    f->userdata = userdata;
    return &f->base;
}

const char *slate_text_field_get(const slate_widget *w) {
    return w && w->cls == &field_class ? ((const struct field *)w)->text : NULL;
}

void slate_text_field_set(slate_widget *w, const char *utf8) {
    if (!w || w->cls != &field_class)
        return;
    struct field *f = (struct field *)w;
    f->len = f->caret = f->anchor = 0;
    f->text[0] = '\0';
    insert(f, utf8 ? utf8 : "");
    changed(f, false);
}
