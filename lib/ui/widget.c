/* widget.c: what every widget has: the tree, measuring with a cache, placing, damage, painting, hit tests. */
#include "widget.h"

#include <stdlib.h>
#include <string.h>

int clamp_int(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

slate_widget *widget_new(const struct widget_class *cls, size_t size) {
    slate_widget *w = calloc(1, size);
    if (!w)
        return NULL;
    w->cls = cls;
    w->visible = true;
    w->main = SLATE_ALIGN_START;
    w->cross = SLATE_ALIGN_STRETCH;
    w->background = SLATE_COLOR_SURFACE;
    return w;
}

/* ---- the tree ---- */

void widget_append(slate_widget *parent, slate_widget *child) {
    if (parent->n_children == parent->cap_children) {
        size_t cap = parent->cap_children ? 2 * parent->cap_children : 4;
        slate_widget **c = realloc(parent->children, cap * sizeof *c);
        if (!c)
            abort(); /* a widget tree that cannot grow by a pointer: nothing sensible is left to do */
        parent->children = c;
        parent->cap_children = cap;
    }
    parent->children[parent->n_children++] = child;
    child->parent = parent;
}

void widget_detach(slate_widget *child) {
    slate_widget *p = child->parent;
    if (!p)
        return;
    for (size_t i = 0; i < p->n_children; i++)
        if (p->children[i] == child) {
            memmove(&p->children[i], &p->children[i + 1], (p->n_children - i - 1) * sizeof *p->children);
            p->n_children--;
            break;
        }
    child->parent = NULL;
}

void widget_free(slate_widget *w) {
    if (!w)
        return;
    for (size_t i = 0; i < w->n_children; i++) {
        w->children[i]->parent = NULL;
        widget_free(w->children[i]);
    }
    free(w->children);
    if (w->cls->destroy)
        w->cls->destroy(w);
    free(w);
}

/* ---- layout ---- */

struct size widget_measure(slate_widget *w, struct constraints c) {
    if (!w->visible)
        return (struct size){0, 0};
    /* A size the app set wins over a parent's stretching (an icon stays 48 px in a stretched column), never over
     * the room there is. */
    if (w->fixed_w)
        c.min_w = c.max_w = w->fixed_w < c.max_w ? w->fixed_w : c.max_w;
    if (w->fixed_h)
        c.min_h = c.max_h = w->fixed_h < c.max_h ? w->fixed_h : c.max_h;
    if (w->measured && !memcmp(&c, &w->last_c, sizeof c))
        return w->last_size;
    struct size s = w->cls->measure(w, c);
    s.w = clamp_int(s.w, c.min_w, c.max_w == UNBOUNDED ? s.w : c.max_w);
    s.h = clamp_int(s.h, c.min_h, c.max_h == UNBOUNDED ? s.h : c.max_h);
    w->last_c = c;
    w->last_size = s;
    w->measured = true;
    return s;
}

/* How far w's own pixels reach past its box: its kind's overhang, a card's shadow. */
static int own_reach(const slate_widget *w) {
    int reach = w->cls->overhang ? w->cls->overhang(w) : 0;
    if (w->shape == SLATE_SHAPE_CARD) {
        const struct theme *t = ui_theme();
        int shadow = t->shadow_blur + abs(t->shadow_dy);
        reach = shadow > reach ? shadow : reach;
    }
    return reach;
}

void widget_place(slate_widget *w, struct rect frame) {
    bool moved = memcmp(&frame, &w->frame, sizeof frame) != 0;
    if (moved) {
        widget_damage(w);
        w->frame = frame;
    }
    if (w->cls->place)
        w->cls->place(w);
    /* What the children draw past their boxes reaches past this one too, unless it clips them. */
    int reach = own_reach(w);
    for (size_t i = 0; i < w->n_children && !w->clips; i++)
        if (w->children[i]->reach > reach)
            reach = w->children[i]->reach;
    if (reach > w->reach)
        w->reach = reach;
    if (moved || reach != w->reach)
        widget_damage(w); /* at the wider of the two: a reach that shrank leaves pixels to clear */
    w->reach = reach;
}

void widget_relayout(slate_widget *w) {
    for (slate_widget *p = w; p; p = p->parent)
        p->measured = false;
    widget_damage(w);
    ui_schedule_frame();
}

struct rect widget_page_rect(const slate_widget *w) {
    struct rect r = {0, 0, w->frame.w, w->frame.h};
    for (const slate_widget *p = w; p; p = p->parent) {
        r.x += p->frame.x;
        r.y += p->frame.y;
    }
    return r;
}

void widget_damage_rect(slate_widget *w, struct rect r) {
    slate_widget *root = ui_root_of(w);
    if (!root || rect_empty(r))
        return;
    /* Cut to every clipping ancestor: what scrolled out of view is not drawn. */
    struct rect page = widget_page_rect(w);
    r.x += page.x;
    r.y += page.y;
    for (const slate_widget *p = w->parent; p && !rect_empty(r); p = p->parent)
        if (p->clips)
            r = rect_intersect(r, widget_page_rect(p));
    ui_damage(root, r);
}

void widget_damage(slate_widget *w) {
    if (w->visible)
        widget_damage_rect(w, (struct rect){-w->reach, -w->reach, w->frame.w + 2 * w->reach, w->frame.h + 2 * w->reach});
}

/* ---- painting ---- */

static void paint_background(slate_widget *w, struct surface *s, struct rect box) {
    const struct theme *t = ui_theme();
    uint32_t color = t->color[w->background];
    switch (w->shape) {
    case SLATE_SHAPE_NONE:
        break;
    case SLATE_SHAPE_FLAT:
        paint_fill(s, box, color);
        break;
    case SLATE_SHAPE_CARD:
        paint_shadow(s, box, t->radius_card, t->shadow_blur, t->shadow_dy, t->shadow);
        paint_rrect(s, box, t->radius_card, color);
        break;
    case SLATE_SHAPE_PILL:
        paint_rrect(s, box, box.h / 2, color);
        break;
    }
}

void widget_paint(slate_widget *w, struct surface *s, int x, int y) {
    if (!w->visible)
        return;
    struct rect box = {x, y, w->frame.w, w->frame.h};
    /* A card's shadow and a descender reach past the box: they count when deciding whether to draw. */
    struct rect outer = {x - w->reach, y - w->reach, box.w + 2 * w->reach, box.h + 2 * w->reach};
    if (rect_empty(rect_intersect(outer, s->clip)))
        return;
    paint_background(w, s, box);
    if (w->pressed) {
        int radius = w->shape == SLATE_SHAPE_CARD ? ui_theme()->radius_card
                     : w->shape == SLATE_SHAPE_PILL ? box.h / 2 : 0;
        paint_rrect(s, box, radius, ui_theme()->pressed);
    }
    if (w->cls->paint)
        w->cls->paint(w, s, x, y);
    struct rect saved = s->clip;
    if (w->clips)
        s->clip = rect_intersect(s->clip, box);
    for (size_t i = 0; i < w->n_children && !rect_empty(s->clip); i++) {
        slate_widget *c = w->children[i];
        widget_paint(c, s, x + c->frame.x, y + c->frame.y);
    }
    s->clip = saved;
}

slate_widget *widget_hit(slate_widget *w, int x, int y, int *ret_x, int *ret_y) {
    if (!w->visible || x < 0 || y < 0 || x >= w->frame.w || y >= w->frame.h)
        return NULL;
    /* The topmost child first: the last painted. */
    for (size_t i = w->n_children; i-- > 0;) {
        slate_widget *c = w->children[i];
        slate_widget *hit = widget_hit(c, x - c->frame.x, y - c->frame.y, ret_x, ret_y);
        if (hit)
            return hit;
    }
    if (!w->cls->pointer && !w->on_tap)
        return NULL;
    *ret_x = x;
    *ret_y = y;
    return w;
}

/* ---- the public calls every widget takes ---- */

void slate_widget_add(slate_widget *parent, slate_widget *child) {
    if (!parent || !child || child->parent)
        return;
    widget_append(parent, child);
    widget_relayout(parent);
}

void slate_widget_destroy(slate_widget *w) {
    if (!w)
        return;
    slate_widget *parent = w->parent;
    widget_damage(w);
    widget_detach(w);
    widget_free(w);
    if (parent)
        widget_relayout(parent);
}

void slate_widget_set_padding(slate_widget *w, enum slate_space vertical, enum slate_space horizontal) {
    if (!w)
        return;
    w->pad_v = clamp_int((int)vertical, SLATE_SPACE_NONE, SLATE_SPACE_XXL);
    w->pad_h = clamp_int((int)horizontal, SLATE_SPACE_NONE, SLATE_SPACE_XXL);
    widget_relayout(w);
}

void slate_widget_set_gap(slate_widget *w, enum slate_space gap) {
    if (!w)
        return;
    w->gap = clamp_int((int)gap, SLATE_SPACE_NONE, SLATE_SPACE_XXL);
    widget_relayout(w);
}

void slate_widget_set_align(slate_widget *w, enum slate_align main, enum slate_align cross) {
    if (!w)
        return;
    w->main = main;
    w->cross = cross;
    widget_relayout(w);
}

void slate_widget_set_flex(slate_widget *w, unsigned weight) {
    if (!w)
        return;
    w->flex = weight > 100 ? 100 : weight;
    widget_relayout(w);
}

void slate_widget_set_size(slate_widget *w, int width, int height) {
    if (!w)
        return;
    w->fixed_w = clamp_int(width, 0, 1 << 16);
    w->fixed_h = clamp_int(height, 0, 1 << 16);
    widget_relayout(w);
}

void slate_widget_set_background(slate_widget *w, enum slate_shape shape, enum slate_color color) {
    if (!w || (unsigned)shape > SLATE_SHAPE_PILL || (unsigned)color > SLATE_COLOR_ERROR)
        return;
    w->shape = shape;
    w->background = color;
    widget_damage(w);
    ui_schedule_frame();
}

void slate_widget_set_visible(slate_widget *w, bool visible) {
    if (!w || w->visible == visible)
        return;
    widget_damage(w);
    w->visible = visible;
    widget_relayout(w);
}

void slate_widget_on_tap(slate_widget *w, slate_action_fn fn, void *userdata) {
    if (!w)
        return;
    w->on_tap = fn;
    w->tap_userdata = userdata;
}
