/* slate/ui.h: the one UI toolkit: a tree of widgets that libslate lays out, themes and draws. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <slate/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * An app builds pages out of widgets and shows one with slate_ui_push(); libslate
 * lays them out (constraints down, sizes up), draws them in the system's one
 * theme, redraws only what changed, and hands each frame to slated, which puts
 * it on the screen under the status bar. Input reaches the page on screen; the
 * system's back gesture or key pops the page stack.
 *
 * The look is the system's: an app picks semantic roles (a text style, a colour
 * role, a spacing step), never a font, a colour or a pixel size, so every app
 * looks the same and follows the light or dark theme the user chose.
 *
 * Widgets are owned by their parent once added; a page is owned by the page
 * stack once pushed. Sizes are in the theme's units (1 unit = 1 pixel at scale
 * 1). Everything here runs on the thread that runs slate_app_run().
 */
typedef struct slate_widget slate_widget;

/* ---- the theme's roles ---- */

enum slate_text_style {
    SLATE_TEXT_BODY,     /* running text (17) */
    SLATE_TEXT_DISPLAY,  /* a big number or a headline on its own (40, light) */
    SLATE_TEXT_TITLE,    /* a page's or a section's title (22, bold) */
    SLATE_TEXT_SUBTITLE, /* a list item's first line (17, medium) */
    SLATE_TEXT_LABEL,    /* buttons and controls (15, medium) */
    SLATE_TEXT_CAPTION,  /* secondary lines, hints (14) */
};

enum slate_color {
    SLATE_COLOR_ON_SURFACE,         /* text and icons on the page (the default) */
    SLATE_COLOR_ON_SURFACE_VARIANT, /* secondary text and icons */
    SLATE_COLOR_PRIMARY,            /* the accent: selected, active, links */
    SLATE_COLOR_ON_PRIMARY,         /* on a primary background */
    SLATE_COLOR_SURFACE,            /* the page */
    SLATE_COLOR_SURFACE_VARIANT,    /* cards, wells, tracks */
    SLATE_COLOR_PRIMARY_CONTAINER,  /* a tinted card */
    SLATE_COLOR_OUTLINE,            /* dividers and borders */
    SLATE_COLOR_ERROR,
};

enum slate_space {
    SLATE_SPACE_NONE, /* 0 */
    SLATE_SPACE_XS,   /* 4 */
    SLATE_SPACE_S,    /* 8 */
    SLATE_SPACE_M,    /* 12 */
    SLATE_SPACE_L,    /* 16 */
    SLATE_SPACE_XL,   /* 24 */
    SLATE_SPACE_XXL,  /* 32 */
};

enum slate_shape {
    SLATE_SHAPE_NONE,  /* no background */
    SLATE_SHAPE_FLAT,  /* a plain rectangle */
    SLATE_SHAPE_CARD,  /* rounded (12), lifted a little */
    SLATE_SHAPE_PILL,  /* fully rounded ends */
};

enum slate_align {
    SLATE_ALIGN_START,
    SLATE_ALIGN_CENTER,
    SLATE_ALIGN_END,
    SLATE_ALIGN_STRETCH,       /* cross axis: fill it */
    SLATE_ALIGN_SPACE_BETWEEN, /* main axis: first at the start, last at the end */
};

enum slate_button_kind {
    SLATE_BUTTON_FILLED, /* the one main action of a page */
    SLATE_BUTTON_TONAL,  /* other actions */
    SLATE_BUTTON_TEXT,   /* the least emphasis */
};

enum slate_image_fit {
    SLATE_FIT_COVER,   /* fill the box, cropping (thumbnails) */
    SLATE_FIT_CONTAIN, /* show all of it, letterboxed (a photo full screen) */
};

/* ---- callbacks ---- */

typedef void (*slate_action_fn)(slate_widget *widget, void *userdata);
typedef void (*slate_toggle_fn)(slate_widget *widget, bool on, void *userdata);
typedef void (*slate_value_fn)(slate_widget *widget, double value, void *userdata);
typedef void (*slate_text_fn)(slate_widget *widget, const char *utf8, void *userdata);
/* A list's or grid's item @index, built when it scrolls into view (and freed when it leaves). */
typedef slate_widget *(*slate_item_fn)(size_t index, void *userdata);
/* A dialog's answer: true for the confirming button, false for cancel or back. */
typedef void (*slate_choice_fn)(bool confirmed, void *userdata);

/* ---- containers: flex layout ---- */

/** Children one under the other; extra height goes to children with a flex weight. */
SLATE_SINCE(4) slate_widget *slate_column(void);
/** Children side by side (in reading order: right to left in RTL languages). */
SLATE_SINCE(4) slate_widget *slate_row(void);
/** Children on top of each other, the first at the bottom. */
SLATE_SINCE(4) slate_widget *slate_stack(void);

/** Append @child (which becomes @parent's). */
SLATE_SINCE(4) void slate_widget_add(slate_widget *parent, slate_widget *child);
/** Take @child out of its parent and free it, with everything it holds. */
SLATE_SINCE(4) void slate_widget_destroy(slate_widget *widget);

/** Space inside @widget's edges. */
SLATE_SINCE(4) void slate_widget_set_padding(slate_widget *widget, enum slate_space vertical, enum slate_space horizontal);
/** Space between a container's children. */
SLATE_SINCE(4) void slate_widget_set_gap(slate_widget *widget, enum slate_space gap);
/** A container's children: along its axis (main) and across it (cross). */
SLATE_SINCE(4) void slate_widget_set_align(slate_widget *widget, enum slate_align main, enum slate_align cross);
/** How much of its parent's spare room along the parent's axis @widget takes (0: none, its natural size). */
SLATE_SINCE(4) void slate_widget_set_flex(slate_widget *widget, unsigned weight);
/** A fixed size in units; 0 keeps the natural size on that axis. */
SLATE_SINCE(4) void slate_widget_set_size(slate_widget *widget, int width, int height);
/** A background: the shape, in a colour role. */
SLATE_SINCE(4) void slate_widget_set_background(slate_widget *widget, enum slate_shape shape, enum slate_color color);
/** Hidden widgets take no room and get no input. */
SLATE_SINCE(4) void slate_widget_set_visible(slate_widget *widget, bool visible);
/** Call @fn when @widget is tapped (a list item, a card). */
SLATE_SINCE(4) void slate_widget_on_tap(slate_widget *widget, slate_action_fn fn, void *userdata);

/* ---- content ---- */

/** Text in a style; it wraps to its width. */
SLATE_SINCE(4) slate_widget *slate_text(const char *utf8, enum slate_text_style style);
SLATE_SINCE(4) void slate_text_set(slate_widget *text, const char *utf8);
/** At most @lines lines, the last one cut with an ellipsis; 0: as many as it needs. */
SLATE_SINCE(4) void slate_text_set_max_lines(slate_widget *text, unsigned lines);
SLATE_SINCE(4) void slate_text_set_color(slate_widget *text, enum slate_color color);
/** Text or an icon across the width: at the start, centred or at the end. */
SLATE_SINCE(4) void slate_text_set_align(slate_widget *text, enum slate_align align);

/** An image file (PNG, JPEG or WebP), decoded at the size it is shown and scaled with a good filter. */
SLATE_SINCE(4) slate_widget *slate_image(const char *path, enum slate_image_fit fit);
SLATE_SINCE(4) void slate_image_set_path(slate_widget *image, const char *path);

/** A symbol from the system's icon set, by name ("home", "settings", "wb_sunny"). */
SLATE_SINCE(4) slate_widget *slate_icon(const char *name);

/* ---- controls ---- */

SLATE_SINCE(4) slate_widget *slate_button(const char *label, enum slate_button_kind kind, slate_action_fn on_tap,
                                          void *userdata);
SLATE_SINCE(4) slate_widget *slate_switch(bool on, slate_toggle_fn on_change, void *userdata);
SLATE_SINCE(4) bool slate_switch_get(const slate_widget *sw);
SLATE_SINCE(4) void slate_switch_set(slate_widget *sw, bool on);
/** A value from 0 to 1, dragged along a track. */
SLATE_SINCE(4) slate_widget *slate_slider(double value, slate_value_fn on_change, void *userdata);
SLATE_SINCE(4) double slate_slider_get(const slate_widget *slider);
/** One line of editable text: a caret, a selection, the system keyboard's input. */
SLATE_SINCE(4) slate_widget *slate_text_field(const char *placeholder, slate_text_fn on_change, void *userdata);
SLATE_SINCE(4) const char *slate_text_field_get(const slate_widget *field);
SLATE_SINCE(4) void slate_text_field_set(slate_widget *field, const char *utf8);

/* ---- collections: only the items on screen exist ---- */

/** @count items one under the other, each built by @build as it scrolls into view; it scrolls. */
SLATE_SINCE(4) slate_widget *slate_list(size_t count, slate_item_fn build, void *userdata);
/** @count items in @columns columns, built as they scroll into view; it scrolls. */
SLATE_SINCE(4) slate_widget *slate_grid(size_t count, unsigned columns, slate_item_fn build, void *userdata);
/** Another count: every item is built again as it is shown. */
SLATE_SINCE(4) void slate_list_set_count(slate_widget *list, size_t count);
/** Item @index changed: it is built again if it is on screen. */
SLATE_SINCE(4) void slate_list_item_changed(slate_widget *list, size_t index);
/** @child scrolls vertically inside the room its parent gives, with momentum. */
SLATE_SINCE(4) slate_widget *slate_scroll(slate_widget *child);

/* ---- pages, dialogs, toasts ---- */

/** Show @page (which becomes the stack's) over the current one, titled @title (NULL: no top bar). */
SLATE_SINCE(4) void slate_ui_push(slate_widget *page, const char *title);
/** Back to the previous page, freeing the current one; false on the first page (the app then goes to the background). */
SLATE_SINCE(4) bool slate_ui_pop(void);
/** Ask a question; @cancel NULL for a message with one button. */
SLATE_SINCE(4) void slate_ui_dialog(const char *title, const char *text, const char *confirm, const char *cancel,
                                    slate_choice_fn on_choice, void *userdata);
/** A short message at the bottom of the screen that goes away by itself. */
SLATE_SINCE(4) void slate_ui_toast(const char *text);
/** Whether the user chose the dark theme. */
SLATE_SINCE(4) bool slate_ui_dark(void);

#ifdef __cplusplus
}
#endif
