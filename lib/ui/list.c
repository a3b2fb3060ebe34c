/* list.c: scrolling with momentum, and lists and grids whose items exist only while they are on screen. */
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "widget.h"

/*
 * Scrolling moves pixels, not widgets: the window shifts what is on the screen
 * (paint_scroll) and only the strip that comes into view is drawn, so a scroll
 * frame costs a row, not a screen. Children's frames move with the offset
 * without damaging anything.
 *
 * A list's items all have the height of its first item (measured at the list's
 * width), so the items on screen follow from the offset alone: item i is at
 * i * item_h. Items are built by the app's callback as they come into view and
 * freed as they leave; a list of a million entries holds a screenful.
 */
#define FLING_MIN 40.0     /* px/s: slower than this a release just stops */
#define FLING_TAU_US 325000 /* momentum decays by e every 325 ms (Android's scroller) */
#define SAMPLES 4

struct scroller {
    slate_widget base;
    double offset; /* content pixels above the top edge */
    int content;   /* the content's height */
    /* dragging and flinging */
    bool dragging;
    int drag_y;
    double drag_offset;
    struct {
        int y;
        uint64_t t;
    } samples[SAMPLES];
    size_t n_samples;
    double velocity; /* px/s, positive: content moves up */
    uint64_t last_us;
};

static double max_offset(const struct scroller *sc) {
    int m = sc->content - sc->base.frame.h;
    return m > 0 ? m : 0;
}

/* ---- lists and grids ---- */

struct list_widget {
    struct scroller sc;
    size_t count;
    unsigned columns;
    slate_item_fn build;
    void *userdata;
    int item_h;  /* 0: not known yet */
    int item_w;  /* the width item_h was measured at */
    size_t *index; /* of each child (children are the items built) */
    size_t cap_index;
};

static void list_scrolled(struct scroller *sc, int dy);

/* Move the content to offset, moving pixels (not redrawing) and telling the kind. */
static void scroll_to(struct scroller *sc, double offset) {
    double max = max_offset(sc);
    offset = offset < 0 ? 0 : offset > max ? max : offset;
    int dy = (int)lround(offset) - (int)lround(sc->offset);
    sc->offset = offset;
    if (dy)
        list_scrolled(sc, dy);
}

static bool fling(slate_widget *w, uint64_t now) {
    struct scroller *sc = (struct scroller *)w;
    if (sc->dragging)
        return false;
    double dt = (double)(now - sc->last_us) / 1e6;
    sc->last_us = now;
    double decay = exp(-dt * 1e6 / FLING_TAU_US);
    /* Distance is the integral of v * e^(-t/tau) over the step. */
    double dist = sc->velocity * FLING_TAU_US / 1e6 * (1 - decay);
    sc->velocity *= decay;
    double before = sc->offset;
    scroll_to(sc, sc->offset + dist);
    bool moving = fabs(sc->velocity) >= FLING_MIN && sc->offset != before;
    if (!moving)
        sc->velocity = 0;
    return moving;
}

static bool scroller_pointer(slate_widget *w, const struct pointer *p) {
    struct scroller *sc = (struct scroller *)w;
    switch (p->kind) {
    case POINTER_DOWN:
        sc->dragging = true;
        sc->velocity = 0;
        sc->drag_y = p->y;
        sc->drag_offset = sc->offset;
        sc->n_samples = 0;
        /* the first sample */
        __attribute__((fallthrough));
    case POINTER_MOVE:
        if (!sc->dragging)
            return true;
        scroll_to(sc, sc->drag_offset + (sc->drag_y - p->y));
        memmove(&sc->samples[1], &sc->samples[0], (SAMPLES - 1) * sizeof *sc->samples);
        sc->samples[0].y = p->y;
        sc->samples[0].t = p->time_us;
        if (sc->n_samples < SAMPLES)
            sc->n_samples++;
        return true;
    case POINTER_UP:
    case POINTER_CANCEL:
        if (!sc->dragging)
            return true;
        sc->dragging = false;
        /* The release's speed from the last few moves: a flick keeps going. */
        if (p->kind == POINTER_UP && sc->n_samples >= 2) {
            size_t last = sc->n_samples - 1;
            double dt = (double)(sc->samples[0].t - sc->samples[last].t) / 1e6;
            if (dt > 0 && p->time_us - sc->samples[0].t < 100000)
                sc->velocity = (sc->samples[last].y - sc->samples[0].y) / dt;
        }
        if (fabs(sc->velocity) >= FLING_MIN) {
            sc->last_us = ui_now_us();
            ui_animate(w, fling);
        }
        return true;
    }
    return true;
}

static struct list_widget *as_list(slate_widget *w);

static void grow_index(struct list_widget *l) {
    if (l->sc.base.n_children < l->cap_index)
        return;
    size_t cap = l->cap_index ? 2 * l->cap_index : 32;
    size_t *ix = realloc(l->index, cap * sizeof *ix);
    if (!ix)
        abort();
    l->index = ix;
    l->cap_index = cap;
}

static int column_width(const struct list_widget *l, int width) {
    return width / (int)l->columns;
}

/* The item's frame in the list, the offset applied. */
static struct rect item_frame(const struct list_widget *l, size_t i) {
    int cw = column_width(l, l->sc.base.frame.w);
    size_t row = i / l->columns, col = i % l->columns;
    return (struct rect){(int)col * cw, (int)row * l->item_h - (int)lround(l->sc.offset), cw, l->item_h};
}

static void free_items(struct list_widget *l) {
    slate_widget *w = &l->sc.base;
    while (w->n_children) {
        slate_widget *c = w->children[w->n_children - 1];
        ui_forget(c);
        widget_detach(c);
        widget_free(c);
    }
}

/* Build item i (its frame set, no damage: the caller says what is drawn). */
static slate_widget *build_item(struct list_widget *l, size_t i) {
    slate_widget *c = l->build ? l->build(i, l->userdata) : NULL;
    if (!c)
        c = slate_column(); /* an app that built nothing gets an empty row, not a hole in the list */
    if (!c)
        abort();
    return c;
}

/* Make the children exactly the items that touch the box; new ones are damaged, kept ones moved silently. */
static void sync_items(struct list_widget *l) {
    slate_widget *w = &l->sc.base;
    if (!l->item_h || !w->frame.h) {
        free_items(l);
        return;
    }
    size_t rows = (l->count + l->columns - 1) / l->columns;
    long long top = (long long)lround(l->sc.offset);
    size_t first_row = (size_t)(top / l->item_h), last_row = (size_t)((top + w->frame.h - 1) / l->item_h);
    size_t first = first_row * l->columns, end = (last_row + 1) * l->columns;
    if (end > l->count)
        end = l->count;
    if (first_row >= rows)
        first = end = 0;
    /* Drop what left the box. */
    for (size_t k = w->n_children; k-- > 0;)
        if (l->index[k] < first || l->index[k] >= end) {
            slate_widget *c = w->children[k];
            ui_forget(c);
            widget_detach(c);
            widget_free(c);
            memmove(&l->index[k], &l->index[k + 1], (w->n_children - k) * sizeof *l->index);
        }
    /* Build what came in, keeping children in index order (for painting and hit tests). */
    for (size_t i = first; i < end; i++) {
        size_t k = 0;
        while (k < w->n_children && l->index[k] < i)
            k++;
        struct rect f = item_frame(l, i);
        if (k < w->n_children && l->index[k] == i) {
            slate_widget *c = w->children[k];
            c->frame.x = f.x;
            c->frame.y = f.y; /* moved with the pixels */
            continue;
        }
        slate_widget *c = build_item(l, i);
        grow_index(l);
        widget_append(w, c);
        /* widget_append put it last: move it to its place. */
        memmove(&w->children[k + 1], &w->children[k], (w->n_children - 1 - k) * sizeof *w->children);
        memmove(&l->index[k + 1], &l->index[k], (w->n_children - 1 - k) * sizeof *l->index);
        w->children[k] = c;
        l->index[k] = i;
        widget_measure(c, constraints_tight(f.w, f.h));
        c->frame = (struct rect){0, 0, 0, 0};
        widget_place(c, f); /* damages its box: it is new on screen */
    }
}

static void list_scrolled(struct scroller *sc, int dy) {
    struct list_widget *l = as_list(&sc->base);
    if (l) {
        ui_scroll_pixels(&sc->base, dy);
        sync_items(l);
        return;
    }
    /* A scroll view: its one child moves up. */
    ui_scroll_pixels(&sc->base, dy);
    if (sc->base.n_children)
        sc->base.children[0]->frame.y -= dy;
}

/* The items' height, from item 0 at this width (built for the purpose if it is not on screen). */
static void measure_items(struct list_widget *l, int width) {
    int cw = column_width(l, width);
    if (l->item_h && l->item_w == cw)
        return;
    l->item_w = cw;
    l->item_h = 0;
    if (!l->count || cw <= 0)
        return;
    slate_widget *probe = build_item(l, 0);
    struct size s = widget_measure(probe, (struct constraints){cw, cw, 0, UNBOUNDED});
    widget_free(probe);
    l->item_h = s.h > 0 ? s.h : 1;
}

static struct size list_measure(slate_widget *w, struct constraints c) {
    struct list_widget *l = (struct list_widget *)w;
    int width = c.max_w == UNBOUNDED ? 360 : c.max_w;
    measure_items(l, width);
    size_t rows = (l->count + l->columns - 1) / l->columns;
    long long content = (long long)rows * l->item_h;
    l->sc.content = content > INT_MAX / 2 ? INT_MAX / 2 : (int)content;
    /* A list fills the room it is given; given none, it is as tall as its items. */
    int h = c.max_h == UNBOUNDED ? l->sc.content : c.max_h;
    return (struct size){width, h};
}

static void list_place(slate_widget *w) {
    struct list_widget *l = (struct list_widget *)w;
    measure_items(l, w->frame.w);
    size_t rows = (l->count + l->columns - 1) / l->columns;
    long long content = (long long)rows * l->item_h;
    l->sc.content = content > INT_MAX / 2 ? INT_MAX / 2 : (int)content;
    if (l->sc.offset > max_offset(&l->sc))
        l->sc.offset = max_offset(&l->sc);
    /* Sizes may have changed: every item placed again (each damages itself only if it moved). */
    for (size_t k = 0; k < w->n_children; k++) {
        struct rect f = item_frame(l, l->index[k]);
        widget_measure(w->children[k], constraints_tight(f.w, f.h));
        widget_place(w->children[k], f);
    }
    sync_items(l);
}

static void list_destroy(slate_widget *w) {
    struct list_widget *l = (struct list_widget *)w;
    free(l->index);
}

static const struct widget_class list_class = {.name = "list",
                                               .measure = list_measure,
                                               .place = list_place,
                                               .pointer = scroller_pointer,
                                               .destroy = list_destroy,
                                               .scrolls = true};

static struct list_widget *as_list(slate_widget *w) {
    return w && w->cls == &list_class ? (struct list_widget *)w : NULL;
}

static slate_widget *list_new(size_t count, unsigned columns, slate_item_fn build, void *userdata) {
    struct list_widget *l = (struct list_widget *)widget_new(&list_class, sizeof *l);
    if (!l)
        return NULL;
    l->count = count;
    l->columns = columns ? columns : 1;
    l->build = build;
    l->userdata = userdata;
    l->sc.base.clips = true;
    return &l->sc.base;
}

slate_widget *slate_list(size_t count, slate_item_fn build, void *userdata) {
    return list_new(count, 1, build, userdata);
}

slate_widget *slate_grid(size_t count, unsigned columns, slate_item_fn build, void *userdata) {
    return list_new(count, columns > 64 ? 64 : columns, build, userdata);
}

void slate_list_set_count(slate_widget *w, size_t count) {
    struct list_widget *l = as_list(w);
    if (!l)
        return;
    free_items(l);
    l->count = count;
    l->item_h = 0;
    widget_relayout(w);
}

void slate_list_item_changed(slate_widget *w, size_t index) {
    struct list_widget *l = as_list(w);
    if (!l)
        return;
    for (size_t k = 0; k < w->n_children; k++)
        if (l->index[k] == index) {
            slate_widget *old = w->children[k], *c = build_item(l, index);
            ui_forget(old);
            widget_free(old);
            w->children[k] = c;
            c->parent = w;
            struct rect f = item_frame(l, index);
            widget_measure(c, constraints_tight(f.w, f.h));
            widget_place(c, f);
            widget_damage(c);
            ui_schedule_frame();
        }
}

/* ---- a scroll view of any content ---- */

static struct size scroll_measure(slate_widget *w, struct constraints c) {
    struct scroller *sc = (struct scroller *)w;
    struct size s = {0, 0};
    if (w->n_children)
        s = widget_measure(w->children[0], (struct constraints){c.max_w == UNBOUNDED ? 0 : c.max_w, c.max_w, 0,
                                                                UNBOUNDED});
    sc->content = s.h;
    return (struct size){s.w, c.max_h == UNBOUNDED ? s.h : c.max_h};
}

static void scroll_place(slate_widget *w) {
    struct scroller *sc = (struct scroller *)w;
    if (!w->n_children)
        return;
    slate_widget *c = w->children[0];
    struct size s = widget_measure(c, (struct constraints){w->frame.w, w->frame.w, 0, UNBOUNDED});
    sc->content = s.h;
    if (sc->offset > max_offset(sc))
        sc->offset = max_offset(sc);
    widget_place(c, (struct rect){0, -(int)lround(sc->offset), w->frame.w, s.h});
}

static const struct widget_class scroll_class = {
    .name = "scroll", .measure = scroll_measure, .place = scroll_place, .pointer = scroller_pointer, .scrolls = true};

slate_widget *slate_scroll(slate_widget *child) {
    struct scroller *sc = (struct scroller *)widget_new(&scroll_class, sizeof *sc);
    if (!sc)
        return NULL;
    sc->base.clips = true;
    if (child && !child->parent)
        widget_append(&sc->base, child);
    return &sc->base;
}
