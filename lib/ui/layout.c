/* layout.c: the containers: column and row (flex along one axis), stack (layers). */
#include <stdlib.h>

#include "widget.h"

static int space(int token) {
    return ui_theme()->space[token];
}

static int shrink(int max, int by) {
    return max == UNBOUNDED ? UNBOUNDED : max > by ? max - by : 0;
}

/*
 * One flex pass, along the main axis (vertical for a column): children without a
 * flex weight take their natural length; what is left of a bounded main axis is
 * shared among the others by weight. Cross-axis, STRETCH children fill the
 * container's width when it is bounded. Measuring asks the children under these
 * constraints; placing asks again (from their caches) and puts them in a row.
 * Lengths go in lens[] when given.
 */
struct axis {
    bool vertical;
    int inner_main, inner_cross; /* room inside the padding; UNBOUNDED: none given */
};

static struct constraints child_constraints(const slate_widget *w, const struct axis *a, int main_min, int main_max) {
    int cross_min = w->cross == SLATE_ALIGN_STRETCH && a->inner_cross != UNBOUNDED ? a->inner_cross : 0;
    return a->vertical ? (struct constraints){cross_min, a->inner_cross, main_min, main_max}
                       : (struct constraints){main_min, main_max, cross_min, a->inner_cross};
}

static int main_of(const struct axis *a, struct size s) {
    return a->vertical ? s.h : s.w;
}

static int cross_of(const struct axis *a, struct size s) {
    return a->vertical ? s.w : s.h;
}

/* Measure every visible child along a; returns the content's main length (gaps included) and widest cross. */
static void flex(slate_widget *w, const struct axis *a, int *ret_main, int *ret_cross, struct size *sizes) {
    int gap = space(w->gap), total = 0, widest = 0, n = 0;
    unsigned weights = 0;
    for (size_t i = 0; i < w->n_children; i++) {
        slate_widget *c = w->children[i];
        if (!c->visible)
            continue;
        n++;
        if (c->flex && a->inner_main != UNBOUNDED) {
            weights += c->flex;
            continue;
        }
        struct size s = widget_measure(c, child_constraints(w, a, 0, a->inner_main));
        if (sizes)
            sizes[i] = s;
        total += main_of(a, s);
        widest = widest > cross_of(a, s) ? widest : cross_of(a, s);
    }
    int gaps = n > 1 ? gap * (n - 1) : 0;
    if (weights) {
        int left = a->inner_main - total - gaps, given = 0;
        left = left > 0 ? left : 0;
        unsigned seen = 0;
        for (size_t i = 0; i < w->n_children; i++) {
            slate_widget *c = w->children[i];
            if (!c->visible || !c->flex)
                continue;
            seen += c->flex;
            /* Shares by running total, so rounding never loses or adds a pixel. */
            int share = (int)((long long)left * seen / weights) - given;
            given += share;
            struct size s = widget_measure(c, child_constraints(w, a, share, share));
            if (sizes)
                sizes[i] = s;
            total += main_of(a, s);
            widest = widest > cross_of(a, s) ? widest : cross_of(a, s);
        }
    }
    *ret_main = total + gaps;
    *ret_cross = widest;
}

static struct axis inner(const slate_widget *w, bool vertical, int max_w, int max_h);

static struct size flex_measure(slate_widget *w, struct constraints c, bool vertical) {
    int pv = space(w->pad_v), ph = space(w->pad_h);
    struct axis a = inner(w, vertical, c.max_w, c.max_h);
    int content_main, content_cross;
    flex(w, &a, &content_main, &content_cross, NULL);
    bool has_flex = false;
    for (size_t i = 0; i < w->n_children; i++)
        has_flex |= w->children[i]->visible && w->children[i]->flex;
    /* With flexible children the container takes the whole main axis it was given; it fills a
     * bounded cross axis when its children stretch across it. */
    int m = has_flex && a.inner_main != UNBOUNDED ? a.inner_main : content_main;
    int x = w->cross == SLATE_ALIGN_STRETCH && a.inner_cross != UNBOUNDED ? a.inner_cross : content_cross;
    return vertical ? (struct size){x + 2 * ph, m + 2 * pv} : (struct size){m + 2 * ph, x + 2 * pv};
}

/* The room inside w's padding for constraints max_w, max_h. */
static struct axis inner(const slate_widget *w, bool vertical, int max_w, int max_h) {
    int pv = space(w->pad_v), ph = space(w->pad_h);
    struct axis a = {.vertical = vertical};
    a.inner_main = shrink(vertical ? max_h : max_w, vertical ? 2 * pv : 2 * ph);
    a.inner_cross = shrink(vertical ? max_w : max_h, vertical ? 2 * ph : 2 * pv);
    return a;
}

static void flex_place(slate_widget *w, bool vertical) {
    int pv = space(w->pad_v), ph = space(w->pad_h), gap = space(w->gap);
    /* Children are placed in the frame w got, measured as they were when w was: a frame of the size w
     * answered asks them nothing new (their caches answer); a frame stretched or shrunk by the parent does. */
    struct axis a = inner(w, vertical, w->frame.w, w->frame.h);
    bool as_measured = w->measured && w->frame.w == w->last_size.w && w->frame.h == w->last_size.h;
    struct axis m = as_measured ? inner(w, vertical, w->last_c.max_w, w->last_c.max_h) : a;
    struct size small[16], *sizes = w->n_children <= 16 ? small : calloc(w->n_children, sizeof *sizes);
    if (!sizes)
        abort();
    int content, widest, n = 0;
    flex(w, &m, &content, &widest, sizes);
    for (size_t i = 0; i < w->n_children; i++)
        n += w->children[i]->visible;
    int spare = a.inner_main - content, at = 0;
    spare = spare > 0 ? spare : 0;
    if (w->main == SLATE_ALIGN_CENTER)
        at = spare / 2;
    else if (w->main == SLATE_ALIGN_END)
        at = spare;
    else if (w->main == SLATE_ALIGN_SPACE_BETWEEN && n > 1)
        gap += spare / (n - 1);
    for (size_t i = 0; i < w->n_children; i++) {
        slate_widget *c = w->children[i];
        if (!c->visible)
            continue;
        struct size s = sizes[i];
        int cross = cross_of(&a, s), off = 0;
        if (w->cross == SLATE_ALIGN_CENTER)
            off = (a.inner_cross - cross) / 2;
        else if (w->cross == SLATE_ALIGN_END)
            off = a.inner_cross - cross;
        struct rect r = vertical ? (struct rect){ph + off, pv + at, s.w, s.h} : (struct rect){ph + at, pv + off, s.w, s.h};
        widget_place(c, r);
        at += main_of(&a, s) + gap;
    }
    if (sizes != small)
        free(sizes);
}

static struct size column_measure(slate_widget *w, struct constraints c) {
    return flex_measure(w, c, true);
}

static void column_place(slate_widget *w) {
    flex_place(w, true);
}

static struct size row_measure(slate_widget *w, struct constraints c) {
    return flex_measure(w, c, false);
}

static void row_place(slate_widget *w) {
    flex_place(w, false);
}

/* A stack: every child over the same box; main aligns them across, cross down (STRETCH: fill). */
static struct size stack_measure(slate_widget *w, struct constraints c) {
    int pv = space(w->pad_v), ph = space(w->pad_h);
    struct constraints inner = {0, shrink(c.max_w, 2 * ph), 0, shrink(c.max_h, 2 * pv)};
    struct size most = {0, 0};
    for (size_t i = 0; i < w->n_children; i++) {
        struct size s = widget_measure(w->children[i], inner);
        most.w = most.w > s.w ? most.w : s.w;
        most.h = most.h > s.h ? most.h : s.h;
    }
    return (struct size){most.w + 2 * ph, most.h + 2 * pv};
}

static int align_in(enum slate_align a, int room, int len) {
    return a == SLATE_ALIGN_CENTER ? (room - len) / 2 : a == SLATE_ALIGN_END ? room - len : 0;
}

static void stack_place(slate_widget *w) {
    int pv = space(w->pad_v), ph = space(w->pad_h);
    int iw = w->frame.w - 2 * ph, ih = w->frame.h - 2 * pv;
    for (size_t i = 0; i < w->n_children; i++) {
        slate_widget *c = w->children[i];
        struct constraints cc = {w->main == SLATE_ALIGN_STRETCH ? iw : 0, iw, w->cross == SLATE_ALIGN_STRETCH ? ih : 0,
                                 ih};
        struct size s = widget_measure(c, cc);
        widget_place(c, (struct rect){ph + align_in(w->main, iw, s.w), pv + align_in(w->cross, ih, s.h), s.w, s.h});
    }
}

const struct widget_class column_class = {.name = "column", .measure = column_measure, .place = column_place};
const struct widget_class row_class = {.name = "row", .measure = row_measure, .place = row_place};
const struct widget_class stack_class = {.name = "stack", .measure = stack_measure, .place = stack_place};

slate_widget *slate_column(void) {
    return widget_new(&column_class, sizeof(slate_widget));
}

slate_widget *slate_row(void) {
    slate_widget *w = widget_new(&row_class, sizeof(slate_widget));
    if (w)
        w->cross = SLATE_ALIGN_CENTER; /* a row's items sit on one line, centred across it */
    return w;
}

slate_widget *slate_stack(void) {
    slate_widget *w = widget_new(&stack_class, sizeof(slate_widget));
    if (w)
        w->main = w->cross = SLATE_ALIGN_STRETCH;
    return w;
}
