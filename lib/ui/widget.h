/* widget.h: the toolkit's retained tree: what every widget has, and what each kind does. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <slate/ui.h>

#include "paint.h"
#include "theme.h"

/*
 * Layout is Flutter's: constraints go down, sizes come up, the parent places
 * its children. A widget keeps the constraints it was last measured under and
 * the size it answered: asked again with the same constraints and not marked
 * changed since, it answers from that without looking at its children. A
 * change (new text, a child added) marks the widget and its ancestors, and the
 * next frame measures only along that path and where sizes actually moved.
 *
 * Painting is retained too: a change damages the widget's rectangle on the
 * screen; a frame redraws only damaged rectangles (every widget that touches
 * one paints itself clipped to it). Frames are relative to the parent's
 * top-left corner; scrolling containers move their children's frames.
 */
#define UNBOUNDED INT_MAX

struct size {
    int w, h;
};

struct constraints {
    int min_w, max_w, min_h, max_h; /* max UNBOUNDED: as much as the widget wants */
};

enum pointer_kind { POINTER_DOWN, POINTER_MOVE, POINTER_UP, POINTER_CANCEL };

struct pointer {
    enum pointer_kind kind;
    int x, y; /* relative to the widget's top-left corner */
    uint64_t time_us;
};

struct key {
    const char *name; /* "BackSpace", "Left", "Return", ...; NULL for text */
    const char *text; /* UTF-8 the key typed; NULL for a named key */
};

struct widget_class {
    const char *name;
    /* The widget's size under c (padding included; the generic code clamps it into c). */
    struct size (*measure)(slate_widget *w, struct constraints c);
    /* Place the children in a widget whose frame is set (containers; NULL: no children to place). */
    void (*place)(slate_widget *w);
    /* Draw the widget's own content (its background is drawn already) with its top-left corner at x, y. */
    void (*paint)(slate_widget *w, struct surface *s, int x, int y);
    /* A pointer event the widget takes (a control): true when it handled it. */
    bool (*pointer)(slate_widget *w, const struct pointer *p);
    /* A key, when the widget has the focus (text fields). */
    bool (*key)(slate_widget *w, const struct key *k);
    /* The focus went away (a text field stops blinking). */
    void (*blur)(slate_widget *w);
    /* Release what the kind holds (not the children: the generic code frees them). */
    void (*destroy)(slate_widget *w);
    /* How far the kind's own pixels may reach past its box on every side (a glyph's descender or
     * mark past the line box); NULL: none. */
    int (*overhang)(const slate_widget *w);
    /* A drag that starts on a child moves this widget's content (lists, scroll views): see window.c. */
    bool scrolls;
};

struct slate_widget {
    const struct widget_class *cls;
    slate_widget *parent;
    slate_widget **children;
    size_t n_children, cap_children;

    /* what the app set */
    int pad_v, pad_h, gap;
    enum slate_align main, cross;
    unsigned flex;
    int fixed_w, fixed_h; /* 0: natural */
    bool visible;
    bool clips; /* children are cut to its box (scrolling) */
    enum slate_shape shape;
    enum slate_color background;
    slate_action_fn on_tap;
    void *tap_userdata;
    bool pressed; /* a tap in progress: drawn with the pressed veil */

    /* layout */
    bool measured;
    struct constraints last_c;
    struct size last_size;
    struct rect frame; /* relative to the parent */
    int reach;         /* how far its pixels, and its children's, may reach past the frame: damaged and drawn with it */
};

/* A widget of cls with the defaults (visible, column-like alignment); size is the kind's struct, which starts with struct slate_widget. */
slate_widget *widget_new(const struct widget_class *cls, size_t size);

/* Measure w under c: from its cache when c is what it was last and nothing changed. */
struct size widget_measure(slate_widget *w, struct constraints c);
/* Put w at frame (relative to its parent), damaging the screen where it was and where it goes if that moved. */
void widget_place(slate_widget *w, struct rect frame);

/* w's content changed size: it and its ancestors measure again at the next frame (which is asked for). */
void widget_relayout(slate_widget *w);
/* w looks different but keeps its size: its box is drawn again at the next frame. */
void widget_damage(slate_widget *w);
/* Part r (relative to w) of w drawn again. */
void widget_damage_rect(slate_widget *w, struct rect r);

/* Where w is on the page: its frame in the page's coordinates (scrolling included). */
struct rect widget_page_rect(const slate_widget *w);

/* Add or remove children by hand (kinds that build their children: lists, pages). */
void widget_append(slate_widget *parent, slate_widget *child);
void widget_detach(slate_widget *child);
void widget_free(slate_widget *w);

/* Paint w and its children that touch the surface's clip, with w's top-left at x, y. */
void widget_paint(slate_widget *w, struct surface *s, int x, int y);
/* The innermost visible widget at x, y (relative to w) that takes pointers or taps, and x, y relative to it. */
slate_widget *widget_hit(slate_widget *w, int x, int y, int *ret_x, int *ret_y);

/* Constraints helpers. */
static inline struct constraints constraints_tight(int w, int h) {
    return (struct constraints){w, w, h, h};
}
static inline struct constraints constraints_loose(int max_w, int max_h) {
    return (struct constraints){0, max_w, 0, max_h};
}
int clamp_int(int v, int lo, int hi);

/* Part r of root's area (a page, a dialog) is to be drawn again at the next frame (window.c). */
void ui_damage(slate_widget *root, struct rect r);
/* The current theme (window.c: the one the user chose). */
const struct theme *ui_theme(void);
/* A frame is due (window.c). */
void ui_schedule_frame(void);
/* The page w is on, and the page's offset on the screen; NULL when w is on no page. */
slate_widget *ui_root_of(const slate_widget *w);

/* ---- frames and animation (window.c) ---- */

/* Called once per frame (about 60 a second) while it returns true: momentum, transitions. */
typedef bool (*animate_fn)(slate_widget *w, uint64_t now_us);
void ui_animate(slate_widget *w, animate_fn fn);
/* w is going away: no more animation callbacks, and the pointer lets go of it. */
void ui_forget(slate_widget *w);
/*
 * The pixels of w's visible box move by dy rows (scrolling): the window moves
 * what is on the screen and damages only what comes into view. The caller
 * moves its children's frames without damaging them.
 */
void ui_scroll_pixels(slate_widget *w, int dy);
/* The widget keys go to (a text field), or NULL. */
void ui_focus(slate_widget *w);
slate_widget *ui_focused(void);
uint64_t ui_now_us(void);

/* ---- containers (layout.c) ---- */
extern const struct widget_class column_class, row_class, stack_class;

/* ---- leaves (widgets.c) ---- */
extern const struct widget_class text_class;
