/* text.h: text shaped with HarfBuzz, set in lines (bidi, wrapping, ellipsis) and drawn from FreeType glyphs. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "err.h"
#include "paint.h"

/*
 * The system's fonts, one face per script and weight (Noto Sans and its Arabic,
 * Hebrew, Devanagari and Thai faces; Material Icons for icons by ligature name),
 * from Debian's packages at their installed paths; slated binds the same files
 * into every sandbox. Text is itemised into runs by script and direction
 * (FriBidi's paragraph algorithm), shaped per run with HarfBuzz, broken into
 * lines at break opportunities, and reordered for display, so Arabic and Hebrew
 * read right to left, Devanagari conjuncts and Thai marks are where they belong.
 *
 * Glyphs are rasterised once per (face, glyph, size) into 8-bit coverage and
 * kept in a cache; positions are whole pixels, so the same text draws the same
 * bytes everywhere. Layouts are cached by (text, style, width): measuring is the
 * hot path of every layout pass.
 */
enum font_weight {
    FONT_REGULAR,
    FONT_MEDIUM, /* the set has no medium face: Regular's outlines thickened by an em/50, Regular's advances */
    FONT_BOLD,
    FONT_LIGHT, /* the set has no light face: drawn as Regular */
};

enum text_align {
    TEXT_START, /* the paragraph's start: left for LTR, right for RTL */
    TEXT_CENTER,
    TEXT_END,
};

struct text_style {
    int size;            /* pixel size of the em */
    enum font_weight weight;
    int line_height;     /* pixels from one baseline to the next; 0: the font's */
    bool icon;           /* the icon font: the text is an icon's name, drawn as one glyph */
};

/* Loads the fonts and libraries on first use; 0 or a negative errno with one line in e. */
int text_init(struct err *e);

/*
 * Every file text reads, for slated to bind into each sandbox: the fonts (a
 * glyph's face is its index here), then libthai's word list. Static; *ret_n
 * is their number.
 */
const char *const *text_files(size_t *ret_n);

struct text_layout;

/*
 * Lay utf8 out in lines at most max_width pixels wide (0: one line, never
 * wrapped), at most max_lines lines (0: any), the last one cut with an ellipsis
 * when text is left over. Invalid UTF-8 shows as U+FFFD. The layout is the
 * caller's (text_layout_free); NULL when out of memory.
 */
struct text_layout *text_layout(const char *utf8, size_t len, const struct text_style *style, int max_width,
                                unsigned max_lines, enum text_align align);
void text_layout_free(struct text_layout *l);

/* Its size in pixels: the widest line, and the lines' height. */
void text_layout_size(const struct text_layout *l, int *ret_w, int *ret_h);
/* The first line's baseline, from the top. */
int text_layout_baseline(const struct text_layout *l);
/* Whether the paragraph runs right to left (its first strong character). */
bool text_layout_rtl(const struct text_layout *l);
/* Draw it with its top-left corner at x, y, in colour argb. */
void text_layout_draw(const struct text_layout *l, struct surface *s, int x, int y, uint32_t argb);

/*
 * Editing (text fields): the byte offset nearest to point x, y (relative to
 * the layout), and the caret's box at offset (1 pixel wide, a line high).
 * Carets stand between graphemes (a ligature's width is shared among the
 * graphemes it joins); an offset inside one shows at its start. Within a run
 * the caret follows logical order in the run's direction; where runs of
 * opposite direction meet, an offset shows at the character after it, and
 * at a line's end after the line's logically last character.
 */
size_t text_layout_hit(const struct text_layout *l, int x, int y);
struct rect text_layout_caret(const struct text_layout *l, size_t offset);

/* One shaped glyph of a layout, where it is drawn. */
struct text_glyph {
    uint32_t id;     /* in its face */
    uint16_t face;   /* index in text_files() */
    uint16_t line;
    int32_t x, y;    /* its origin on the baseline, from the layout's top-left */
    uint32_t offset; /* byte offset of the first character of its cluster */
};

/* The glyphs, line by line and left to right on each (tests, tools); owned by the layout. */
size_t text_layout_glyphs(const struct text_layout *l, const struct text_glyph **ret);
