/* text.c: text set in lines: decoded, itemised by direction and script, shaped, broken, reordered, drawn. */
#include "text.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "text-dl.h"

/*
 * Bounds that hold whatever a caller passes: text past TEXT_MAX_BYTES is not
 * laid out (a label or a paragraph is far shorter, a text field holds 1 KiB),
 * sizes are clamped, and both caches stay under a budget, oldest out first.
 */
#define TEXT_MAX_BYTES (64 * 1024)
#define TEXT_MAX_SIZE 256
#define TEXT_MAX_LINE_HEIGHT (4 * TEXT_MAX_SIZE)
#define TEXT_MAX_LINES UINT16_MAX /* a glyph's line is 16 bits */
#define LAYOUT_CACHE_ENTRIES 512
#define LAYOUT_CACHE_BYTES (512 * 1024)
#define LAYOUT_BUCKETS 1024
#define GLYPH_CACHE_BYTES (1024 * 1024)
#define GLYPH_BUCKETS 1024

#define ELLIPSIS 0x2026

/* ---- the files ---- */

enum family { LATIN, ARABIC, HEBREW, DEVANAGARI, THAI };

#define NOTO "/usr/share/fonts/truetype/noto/"
/* The one list of what text reads (slated binds it into sandboxes). A script's face is family * 2 + bold. */
static const char *const files[] = {
    NOTO "NotoSans-Regular.ttf",
    NOTO "NotoSans-Bold.ttf",
    NOTO "NotoSansArabic-Regular.ttf",
    NOTO "NotoSansArabic-Bold.ttf",
    NOTO "NotoSansHebrew-Regular.ttf",
    NOTO "NotoSansHebrew-Bold.ttf",
    NOTO "NotoSansDevanagari-Regular.ttf",
    NOTO "NotoSansDevanagari-Bold.ttf",
    NOTO "NotoSansThai-Regular.ttf",
    NOTO "NotoSansThai-Bold.ttf",
    "/usr/share/fonts/truetype/material-design-icons-iconfont/MaterialIcons-Regular.ttf",
    "/usr/share/libthai/thbrk.tri",
};
enum { N_SCRIPT_FACES = 10, FACE_ICONS = N_SCRIPT_FACES, N_FACES, THAI_WORDS = N_FACES };
_Static_assert(sizeof files / sizeof *files == N_FACES + 1, "the fonts, then libthai's word list");

const char *const *text_files(size_t *ret_n) {
    *ret_n = sizeof files / sizeof *files;
    return files;
}

/* A fixed language per script: shaping must not depend on the process's locale. The last is the default. */
static const struct {
    hb_script_t script;
    const char *tag;
} languages[] = {
    {HB_SCRIPT_ARABIC, "ar"}, {HB_SCRIPT_HEBREW, "he"},   {HB_SCRIPT_DEVANAGARI, "hi"}, {HB_SCRIPT_THAI, "th"},
    {HB_SCRIPT_GREEK, "el"},  {HB_SCRIPT_CYRILLIC, "ru"}, {HB_SCRIPT_LATIN, "en"},
};
#define N_LANGUAGES (sizeof languages / sizeof *languages)

/* ---- state ---- */

struct face {
    hb_font_t *hb;
    FT_Face ft;
    int hb_size, ft_size; /* the pixel size each is set to now */
};

/* A rasterised glyph: 8-bit coverage, w bytes a row, its origin left, top from the bitmap's corner. */
struct glyph {
    uint64_t key;
    struct glyph *next, *older, *newer;
    int left, top, w, h;
    uint8_t px[];
};

struct text_layout {
    /* The cache's key: the (capped) text and how it was asked to be set. */
    char *text;
    size_t len;
    struct text_style style;
    int max_width;
    unsigned max_lines;
    enum text_align align;
    uint64_t hash;

    unsigned refs; /* the cache holds one while the layout is in it */
    size_t bytes;  /* what it holds, for the cache's budget */
    struct text_layout *next, *older, *newer;

    int w, h, line_height, baseline;
    bool rtl, synthetic_bold;
    struct line *lines;
    struct text_glyph *glyphs;
    struct box *boxes;
    size_t n_lines, n_glyphs, n_boxes;
};

struct line {
    int x, w, top;
    bool rtl;
    uint32_t start, end; /* bytes: from its first character to the next line's */
    size_t glyph0, n_glyphs, box0, n_boxes;
};

/* One grapheme on screen (a ligature is split evenly among those it joins): where a caret can stand. */
struct box {
    uint32_t b0, b1; /* its bytes */
    int x0, x1;
    uint16_t line;
    bool rtl;
};

static struct {
    pthread_mutex_t lock;
    bool ready;
    struct err failure; /* a load that failed stays failed: fonts do not appear later */
    FT_Library ft;
    struct face faces[N_FACES];
    hb_buffer_t *buf;
    hb_unicode_funcs_t *ucd;
    hb_language_t languages[N_LANGUAGES];
    ThBrk *thai;
    bool thai_tried;
    struct text_layout *layout_buckets[LAYOUT_BUCKETS];
    struct text_layout *layout_oldest, *layout_newest;
    size_t n_layouts, layout_bytes;
    struct glyph *glyph_buckets[GLYPH_BUCKETS];
    struct glyph *glyph_oldest, *glyph_newest;
    size_t glyph_bytes;
} T = {.lock = PTHREAD_MUTEX_INITIALIZER};

/* ---- loading ---- */

static int load_face(unsigned i, struct err *e) {
    if (access(files[i], R_OK) < 0)
        return err_set(e, -errno, "cannot read font %s: %m", files[i]);
    hb_blob_t *blob = sym_hb_blob_create_from_file_or_fail(files[i]);
    if (!blob)
        return err_set(e, -ENOMEM, "cannot map font %s", files[i]);
    unsigned len;
    const char *data = sym_hb_blob_get_data(blob, &len);
    /* FreeType reads the bytes HarfBuzz mapped: one mapping per file, never freed. */
    FT_Error r = sym_FT_New_Memory_Face(T.ft, (const FT_Byte *)data, (FT_Long)len, 0, &T.faces[i].ft);
    if (r)
        return err_set(e, -EINVAL, "FreeType cannot read font %s (error %d)", files[i], r);
    T.faces[i].hb = sym_hb_font_create(sym_hb_face_create(blob, 0));
    return 0;
}

static int load(struct err *e) {
    int r;
    if ((r = dlopen_freetype(e)) < 0 || (r = dlopen_harfbuzz(e)) < 0 || (r = dlopen_fribidi(e)) < 0 ||
        (r = dlopen_unibreak(e)) < 0 || (r = dlopen_libthai(e)) < 0)
        return r;
    if (sym_FT_Init_FreeType(&T.ft))
        return err_set(e, -ENOMEM, "FreeType failed to initialise");
    for (unsigned i = 0; i < N_FACES; i++)
        if ((r = load_face(i, e)) < 0)
            return r;
    /* The word list is read when Thai first wraps (1.5 MB of heap); here it only has to be there. */
    if (access(files[THAI_WORDS], R_OK) < 0)
        return err_set(e, -errno, "cannot read libthai's word list %s: %m", files[THAI_WORDS]);
    T.buf = sym_hb_buffer_create();
    if (!sym_hb_buffer_allocation_successful(T.buf))
        return err_set(e, -ENOMEM, "out of memory for HarfBuzz's buffer");
    T.ucd = sym_hb_unicode_funcs_get_default();
    for (size_t i = 0; i < N_LANGUAGES; i++)
        T.languages[i] = sym_hb_language_from_string(languages[i].tag, -1);
    return 0;
}

static int init_locked(struct err *e) {
    if (T.ready)
        return 0;
    if (!T.failure.code && load(&T.failure) == 0) {
        T.ready = true;
        return 0;
    }
    return err_set(e, T.failure.code, "%s", T.failure.msg);
}

int text_init(struct err *e) {
    pthread_mutex_lock(&T.lock);
    int r = init_locked(e);
    pthread_mutex_unlock(&T.lock);
    return r;
}

static hb_font_t *hb_at(unsigned face, int size) {
    struct face *f = &T.faces[face];
    if (f->hb_size != size) {
        /* 26.6 fixed point: HarfBuzz's positions come out in FreeType's units. */
        sym_hb_font_set_scale(f->hb, size * 64, size * 64);
        f->hb_size = size;
    }
    return f->hb;
}

static bool face_has(unsigned face, uint32_t cp) {
    hb_codepoint_t g;
    return sym_hb_font_get_nominal_glyph(T.faces[face].hb, cp, &g);
}

/* ---- characters ---- */

/*
 * One code point from s[0..n), n > 0. An invalid sequence (overlong,
 * surrogate, past U+10FFFF, cut short) gives one U+FFFD for its longest
 * valid-looking prefix, at least one byte, as Unicode recommends.
 */
static uint32_t utf8_next(const uint8_t *s, size_t n, size_t *ret_len) {
    uint8_t c = s[0], lo = 0x80, hi = 0xBF;
    size_t need;
    uint32_t cp;
    if (c < 0x80) {
        *ret_len = 1;
        return c;
    }
    if (c >= 0xC2 && c <= 0xDF)
        need = 1, cp = c & 0x1F;
    else if (c >= 0xE0 && c <= 0xEF)
        need = 2, cp = c & 0x0F, lo = c == 0xE0 ? 0xA0 : 0x80, hi = c == 0xED ? 0x9F : 0xBF;
    else if (c >= 0xF0 && c <= 0xF4)
        need = 3, cp = c & 0x07, lo = c == 0xF0 ? 0x90 : 0x80, hi = c == 0xF4 ? 0x8F : 0xBF;
    else {
        *ret_len = 1;
        return 0xFFFD;
    }
    for (size_t i = 1; i <= need; i++, lo = 0x80, hi = 0xBF) {
        if (i >= n || s[i] < lo || s[i] > hi) {
            *ret_len = i;
            return 0xFFFD;
        }
        cp = cp << 6 | (s[i] & 0x3F);
    }
    *ret_len = need + 1;
    return cp;
}

/* The text's length up to the cap, cut before a character that would straddle it. */
static size_t capped(const char *s, size_t len) {
    if (len <= TEXT_MAX_BYTES)
        return len;
    size_t n = TEXT_MAX_BYTES;
    for (int k = 0; k < 3 && n > 0 && ((uint8_t)s[n] & 0xC0) == 0x80; k++)
        n--;
    return n;
}

/* Characters that end a line whatever the width (UAX #14's mandatory breaks); each starts a paragraph. */
static bool is_separator(uint32_t cp) {
    return cp == '\n' || cp == '\r' || cp == '\v' || cp == '\f' || cp == 0x85 || cp == 0x2028 || cp == 0x2029;
}

/* Invisible format characters (joiners, direction marks, variation selectors): they stay in their neighbour's run. */
static bool is_ignorable(uint32_t cp) {
    return cp == 0xAD || cp == 0x34F || cp == 0x61C || (cp >= 0x180B && cp <= 0x180F) ||
           (cp >= 0x200B && cp <= 0x200F) || (cp >= 0x202A && cp <= 0x202E) || (cp >= 0x2060 && cp <= 0x206F) ||
           (cp >= 0xFE00 && cp <= 0xFE0F) || cp == 0xFEFF || (cp >= 0xE0000 && cp <= 0xE0FFF);
}

static bool is_mark(hb_unicode_general_category_t gc) {
    return gc == HB_UNICODE_GENERAL_CATEGORY_NON_SPACING_MARK || gc == HB_UNICODE_GENERAL_CATEGORY_SPACING_MARK ||
           gc == HB_UNICODE_GENERAL_CATEGORY_ENCLOSING_MARK;
}

/*
 * Whether cp continues the grapheme prev began: UAX #29's extended clusters
 * as far as these scripts need them (a base and its marks, Thai's SARA AM,
 * Devanagari conjuncts joined by the virama, sequences joined by ZWJ, emoji
 * modifiers, CR LF).
 */
static bool continues_grapheme(uint32_t prev, uint32_t cp, hb_unicode_general_category_t gc) {
    bool conjunct = prev == 0x094D && ((cp >= 0x0915 && cp <= 0x0939) || (cp >= 0x0958 && cp <= 0x095F) ||
                                       (cp >= 0x0978 && cp <= 0x097F));
    return is_mark(gc) || conjunct || cp == 0x200D || prev == 0x200D || cp == 0x0E33 || cp == 0x0EB3 ||
           (cp >= 0x1F3FB && cp <= 0x1F3FF) || (prev == '\r' && cp == '\n');
}

/* Spaces that hang past a wrapped line's end (not the no-break ones, which never end a line). */
static bool is_space(uint32_t cp, hb_unicode_general_category_t gc) {
    return gc == HB_UNICODE_GENERAL_CATEGORY_SPACE_SEPARATOR && cp != 0xA0 && cp != 0x2007 && cp != 0x202F;
}

static enum family family_of(hb_script_t s) {
    switch (s) {
    case HB_SCRIPT_ARABIC: return ARABIC;
    case HB_SCRIPT_HEBREW: return HEBREW;
    case HB_SCRIPT_DEVANAGARI: return DEVANAGARI;
    case HB_SCRIPT_THAI: return THAI;
    default: return LATIN;
    }
}

static hb_language_t language_of(hb_script_t s) {
    size_t i = 0;
    while (i + 1 < N_LANGUAGES && languages[i].script != s)
        i++;
    return T.languages[i];
}

/* ---- building a layout ---- */

/* What the analysis knows of each code point. */
enum {
    CP_GRAPHEME = 1 << 0, /* a grapheme starts here */
    CP_CLUSTER = 1 << 1,  /* a shaping cluster starts here */
    CP_BREAK = 1 << 2,    /* a line may end after it */
    CP_SPACE = 1 << 3,    /* it hangs at the end of a wrapped line */
};

/* A shaped glyph, in 26.6 pixels, its cluster the index of its first code point. */
struct shaped {
    uint32_t id, cluster;
    int32_t adv, dx, dy;
};

/* A run of one direction, face and script; shaped whole, or in part when a line cuts it. */
struct run {
    size_t a, b;
    unsigned face;
    FriBidiLevel level;
    hb_script_t script;
    size_t g0, g1; /* in work.pool */
    bool ellipsis;
};

struct work {
    struct text_layout *l;
    int size;
    int64_t limit; /* the width in 26.6, 0 for none */
    bool bold;
    /* Per code point, all in one block. */
    uint32_t *cp;
    uint32_t *off; /* the byte offset of each, and of the end */
    size_t n;
    FriBidiLevel *level;
    hb_script_t *script;
    uint8_t *face, *flags;
    int32_t *adv; /* a cluster's advance, on its first code point */
    FriBidiCharType *types;
    FriBidiBracketType *brackets;
    char *breaks;
    /* The paragraph's runs, and glyphs: the runs' first, then a line's reshaped parts. */
    struct run *runs, *line_runs;
    size_t n_runs, cap_runs, cap_line_runs;
    struct shaped *pool;
    size_t n_pool, cap_pool;
    int64_t ellipsis_width[N_FACES];
    int baseline; /* from a line's top */
    bool rtl;     /* the last paragraph's direction */
    bool full;    /* max_lines reached */
    size_t cap_lines, cap_glyphs, cap_boxes;
};

static int clamp(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static int px(int64_t v) {
    return (int)((v + 32) >> 6);
}

/* Room for need elements in *p (holding *cap); false when out of memory. */
static bool reserve(void *p, size_t *cap, size_t need, size_t size) {
    if (need <= *cap)
        return true;
    size_t n = *cap ? *cap * 2 : 16;
    while (n < need)
        n *= 2;
    void *q = realloc(*(void **)p, n * size);
    if (!q)
        return false;
    *(void **)p = q;
    *cap = n;
    return true;
}

static bool boundary(const struct work *w, size_t i) {
    return (w->flags[i] & (CP_GRAPHEME | CP_CLUSTER)) == (CP_GRAPHEME | CP_CLUSTER);
}

/* Shape r's cp[a, b) of paragraph [p0, p1) (the rest is context) into the pool; or, given alone, that one character at
 * a. */
static int shape(struct work *w, size_t p0, size_t p1, const struct run *r, const uint32_t *alone) {
    hb_buffer_t *buf = T.buf;
    sym_hb_buffer_clear_contents(buf);
    if (alone)
        sym_hb_buffer_add_utf32(buf, alone, 1, 0, 1);
    else
        sym_hb_buffer_add_utf32(buf, w->cp + p0, (int)(p1 - p0), (unsigned)(r->a - p0), (int)(r->b - r->a));
    sym_hb_buffer_set_direction(buf, r->level & 1 ? HB_DIRECTION_RTL : HB_DIRECTION_LTR);
    sym_hb_buffer_set_script(buf, r->script);
    sym_hb_buffer_set_language(buf, language_of(r->script));
    /* Clusters that never split a grapheme and only grow in logical order: what breaking and carets rely on. */
    sym_hb_buffer_set_cluster_level(buf, HB_BUFFER_CLUSTER_LEVEL_MONOTONE_GRAPHEMES);
    sym_hb_shape(hb_at(r->face, w->size), buf, NULL, 0);
    if (!sym_hb_buffer_allocation_successful(buf))
        return -ENOMEM;
    unsigned n;
    const hb_glyph_info_t *info = sym_hb_buffer_get_glyph_infos(buf, &n);
    const hb_glyph_position_t *pos = sym_hb_buffer_get_glyph_positions(buf, &n);
    if (!reserve(&w->pool, &w->cap_pool, w->n_pool + n, sizeof *w->pool))
        return -ENOMEM;
    for (unsigned i = 0; i < n; i++)
        w->pool[w->n_pool++] = (struct shaped){
            .id = info[i].codepoint,
            .cluster = alone ? (uint32_t)r->a : (uint32_t)(p0 + info[i].cluster),
            .adv = pos[i].x_advance,
            .dx = pos[i].x_offset,
            .dy = pos[i].y_offset,
        };
    return 0;
}

/* Whether c can turn text right to left: the blocks of the RTL scripts and Arabic numbers, the RTL controls. */
static bool maybe_rtl(uint32_t c) {
    return (c >= 0x0590 && c <= 0x08FF) || c == 0x200F || (c >= 0x202A && c <= 0x202E) ||
           (c >= 0x2066 && c <= 0x2069) || (c >= 0xFB1D && c <= 0xFDFF) || (c >= 0xFE70 && c <= 0xFEFE) ||
           (c >= 0x10800 && c <= 0x10FFF) || (c >= 0x1E800 && c <= 0x1EFFF);
}

/* Embedding levels (UAX #9's paragraph algorithm), and whether the paragraph runs right to left. */
static int bidi(struct work *w, size_t p0, size_t p1, bool *ret_rtl) {
    size_t i = p0;
    while (i < p1 && !maybe_rtl(w->cp[i]))
        i++;
    if (i == p1) { /* all left to right at level 0, as most text is: no need to ask FriBidi */
        memset(w->level + p0, 0, p1 - p0);
        *ret_rtl = false;
        return 0;
    }
    FriBidiStrIndex n = (FriBidiStrIndex)(p1 - p0);
    FriBidiParType dir = FRIBIDI_PAR_ON; /* from the first strong character */
    sym_fribidi_get_bidi_types(w->cp + p0, n, w->types);
    sym_fribidi_get_bracket_types(w->cp + p0, n, w->types, w->brackets);
    if (!sym_fribidi_get_par_embedding_levels_ex(w->types, w->brackets, n, &dir, w->level + p0))
        return -ENOMEM;
    *ret_rtl = dir == FRIBIDI_PAR_RTL;
    return 0;
}

/* Scripts, with common and inherited characters (spaces, digits, marks) taking their neighbours'. */
static void scripts(struct work *w, size_t p0, size_t p1) {
    hb_script_t last = HB_SCRIPT_INVALID;
    for (size_t i = p0; i < p1; i++) {
        hb_script_t s = sym_hb_unicode_script(T.ucd, w->cp[i]);
        if (s == HB_SCRIPT_COMMON || s == HB_SCRIPT_INHERITED || s == HB_SCRIPT_UNKNOWN)
            s = last;
        w->script[i] = last = s;
    }
    /* What came before the first real script takes it; text with none is set as Latin. */
    size_t first = p0;
    while (first < p1 && w->script[first] == HB_SCRIPT_INVALID)
        first++;
    hb_script_t s = first < p1 ? w->script[first] : HB_SCRIPT_LATIN;
    for (size_t i = p0; i < first; i++)
        w->script[i] = s;
}

/* The face for cp: its script's, else the first that has it; marks and format characters stay with their base. */
static unsigned face_for(const struct work *w, size_t p0, size_t i, bool mark) {
    uint32_t cp = w->cp[i];
    unsigned bold = w->bold, want = family_of(w->script[i]) * 2 + bold;
    if (i > p0 && (mark || is_ignorable(cp)) && (face_has(w->face[i - 1], cp) || is_ignorable(cp)))
        return w->face[i - 1];
    if (face_has(want, cp))
        return want;
    for (unsigned f = bold; f < N_SCRIPT_FACES; f += 2)
        if (f != want && face_has(f, cp))
            return f;
    return want; /* no face has it: the script's shows its missing-glyph box */
}

static void classify(struct work *w, size_t p0, size_t p1) {
    uint32_t prev = 0;
    for (size_t i = p0; i < p1; i++) {
        uint32_t cp = w->cp[i];
        hb_unicode_general_category_t gc = sym_hb_unicode_general_category(T.ucd, cp);
        w->flags[i] =
            (i == p0 || !continues_grapheme(prev, cp, gc) ? CP_GRAPHEME : 0) | (is_space(cp, gc) ? CP_SPACE : 0);
        w->face[i] = (uint8_t)face_for(w, p0, i, is_mark(gc));
        w->adv[i] = 0;
        prev = cp;
    }
}

static int add_run(struct work *w, size_t a, size_t b) {
    if (!reserve(&w->runs, &w->cap_runs, w->n_runs + 1, sizeof *w->runs))
        return -ENOMEM;
    w->runs[w->n_runs++] =
        (struct run){.a = a, .b = b, .face = w->face[a], .level = w->level[a], .script = w->script[a]};
    return 0;
}

/* Runs of one level, face and script, each shaped whole: the advances that line breaking measures. */
static int itemise(struct work *w, size_t p0, size_t p1) {
    int r;
    w->n_runs = w->n_pool = 0;
    for (size_t a = p0, i = p0 + 1; i <= p1; i++)
        if (i == p1 || w->level[i] != w->level[a] || w->face[i] != w->face[a] || w->script[i] != w->script[a]) {
            if ((r = add_run(w, a, i)) < 0)
                return r;
            a = i;
        }
    for (size_t k = 0; k < w->n_runs; k++) {
        struct run *run = &w->runs[k];
        run->g0 = w->n_pool;
        if ((r = shape(w, p0, p1, run, NULL)) < 0)
            return r;
        run->g1 = w->n_pool;
        for (size_t g = run->g0; g < run->g1; g++) {
            w->flags[w->pool[g].cluster] |= CP_CLUSTER;
            w->adv[w->pool[g].cluster] += w->pool[g].adv;
        }
    }
    return 0;
}

/* Where Thai words end (libthai's dictionary), in Thai text UAX #14 sees as one long word. */
static int thai_breaks(struct work *w, size_t a, size_t b) {
    if (!T.thai_tried) {
        T.thai_tried = true;
        T.thai = sym_th_brk_new(files[THAI_WORDS]);
    }
    if (!T.thai) /* the word list did not load: Thai breaks at spaces only */
        return 0;
    size_t n = b - a;
    thwchar_t *s = malloc((n + 1) * sizeof *s);
    int *pos = malloc(n * sizeof *pos);
    if (!s || !pos) {
        free(s);
        free(pos);
        return -ENOMEM;
    }
    for (size_t i = 0; i < n; i++)
        s[i] = (thwchar_t)w->cp[a + i];
    s[n] = 0;
    int found = sym_th_brk_wc_find_breaks(T.thai, s, pos, n);
    for (int k = 0; k < found; k++)
        if (pos[k] > 0 && (size_t)pos[k] < n)
            w->flags[a + (size_t)pos[k] - 1] |= CP_BREAK;
    free(s);
    free(pos);
    return 0;
}

/* Break opportunities: UAX #14's and Thai words', never inside a grapheme or a shaping cluster. */
static int find_breaks(struct work *w, size_t p0, size_t p1) {
    sym_set_linebreaks_utf32(w->cp + p0, p1 - p0, NULL, w->breaks);
    for (size_t i = p0; i < p1; i++)
        if (w->breaks[i - p0] == LINEBREAK_ALLOWBREAK)
            w->flags[i] |= CP_BREAK;
    for (size_t a = p0; a < p1;) {
        size_t b = a;
        while (b < p1 && w->script[b] == HB_SCRIPT_THAI && !(w->flags[b] & CP_SPACE))
            b++;
        if (b - a > 1) {
            int r = thai_breaks(w, a, b);
            if (r < 0)
                return r;
        }
        a = b > a ? b : a + 1;
    }
    for (size_t i = p0; i + 1 < p1; i++)
        if (!boundary(w, i + 1))
            w->flags[i] &= (uint8_t)~CP_BREAK;
    return 0;
}

/*
 * Where the line starting at a ends: at the last break opportunity before
 * the text overflows (spaces at the end hang and do not count), or, when one
 * word is wider than the line, after the last grapheme that fits; a grapheme
 * wider than the line gets a line of its own.
 */
static size_t line_end(const struct work *w, size_t a, size_t p1) {
    int64_t run = 0;
    size_t brk = 0, fit = 0;
    bool over = false;
    for (size_t i = a; i < p1; i++) {
        if (i > a && boundary(w, i)) {
            if (over)
                return i;
            if (run <= w->limit)
                fit = i;
        }
        run += w->adv[i];
        if (!over && !(w->flags[i] & CP_SPACE) && run > w->limit) {
            if (brk)
                return brk;
            if (fit)
                return fit;
            over = true;
        }
        if (w->flags[i] & CP_BREAK)
            brk = i + 1;
    }
    return p1;
}

/* UAX #9's L2: from the highest level down to 1, reverse each sequence of runs at or above it. */
static void reorder(struct run *r, size_t n) {
    FriBidiLevel hi = 0;
    for (size_t i = 0; i < n; i++)
        hi = r[i].level > hi ? r[i].level : hi;
    for (FriBidiLevel lev = hi; lev > 0; lev--)
        for (size_t i = 0; i < n;) {
            if (r[i].level < lev) {
                i++;
                continue;
            }
            size_t j = i;
            while (j < n && r[j].level >= lev)
                j++;
            for (size_t x = i, y = j - 1; x < y; x++, y--) {
                struct run t = r[x];
                r[x] = r[y];
                r[y] = t;
            }
            i = j;
        }
}

/* The boxes a cluster's graphemes stand in: its width shared among them (a ligature joins several). */
static int add_boxes(struct work *w, size_t c0, size_t c1, int x0, int x1, bool rtl) {
    struct text_layout *l = w->l;
    size_t k = 1;
    for (size_t i = c0 + 1; i < c1; i++)
        k += w->flags[i] & CP_GRAPHEME ? 1 : 0;
    if (!reserve(&l->boxes, &w->cap_boxes, l->n_boxes + k, sizeof *l->boxes))
        return -ENOMEM;
    size_t j = 0;
    for (size_t i = c0; i < c1; j++) {
        size_t e = i + 1;
        while (e < c1 && !(w->flags[e] & CP_GRAPHEME))
            e++;
        int lo = x0 + (int)((int64_t)(x1 - x0) * (int64_t)j / (int64_t)k);
        int hi = x0 + (int)((int64_t)(x1 - x0) * (int64_t)(j + 1) / (int64_t)k);
        l->boxes[l->n_boxes++] = (struct box){.b0 = w->off[i],
                                              .b1 = w->off[e],
                                              .x0 = rtl ? x0 + x1 - hi : lo,
                                              .x1 = rtl ? x0 + x1 - lo : hi,
                                              .line = (uint16_t)l->n_lines,
                                              .rtl = rtl};
        i = e;
    }
    return 0;
}

/* A run's glyphs at pen (26.6, moved past them), and the boxes of its clusters. */
static int place(struct work *w, const struct run *r, int64_t *pen, int baseline) {
    struct text_layout *l = w->l;
    const struct shaped *g = w->pool + r->g0;
    size_t n = r->g1 - r->g0;
    bool rtl = r->level & 1;
    if (!reserve(&l->glyphs, &w->cap_glyphs, l->n_glyphs + n, sizeof *l->glyphs))
        return -ENOMEM;
    for (size_t i = 0; i < n;) {
        int64_t start = *pen;
        size_t j = i;
        for (; j < n && g[j].cluster == g[i].cluster; j++) {
            l->glyphs[l->n_glyphs++] = (struct text_glyph){.id = g[j].id,
                                                           .face = (uint16_t)r->face,
                                                           .line = (uint16_t)l->n_lines,
                                                           .x = px(*pen + g[j].dx),
                                                           .y = baseline - px(g[j].dy),
                                                           .offset = w->off[g[i].cluster]};
            *pen += g[j].adv;
        }
        /* Clusters grow in logical order: the next one is to the right in LTR, to the left in RTL. */
        size_t next = rtl ? (i > 0 ? g[i - 1].cluster : r->b) : (j < n ? g[j].cluster : r->b);
        if (!r->ellipsis && add_boxes(w, g[i].cluster, next, px(start), px(*pen), rtl) < 0)
            return -ENOMEM;
        i = j;
    }
    return 0;
}

static unsigned ellipsis_face(const struct work *w, size_t i) {
    return face_has(w->face[i], ELLIPSIS) ? w->face[i] : w->bold;
}

static int64_t ellipsis_width(struct work *w, size_t p0, size_t p1, unsigned face) {
    if (w->ellipsis_width[face] < 0) {
        size_t mark = w->n_pool;
        struct run r = {.a = p0, .face = face, .level = 0, .script = HB_SCRIPT_COMMON};
        if (shape(w, p0, p1, &r, (const uint32_t[]){ELLIPSIS}) < 0)
            return INT32_MAX;
        int64_t sum = 0;
        for (size_t g = mark; g < w->n_pool; g++)
            sum += w->pool[g].adv;
        w->n_pool = mark;
        w->ellipsis_width[face] = sum;
    }
    return w->ellipsis_width[face];
}

/* How much of [a, p1) fits beside an ellipsis: whole graphemes, the spaces before the cut dropped. */
static size_t ellipsis_cut(struct work *w, size_t p0, size_t p1, size_t a) {
    size_t c = a;
    if (!w->limit)
        c = p1;
    for (int64_t run = 0; w->limit && c < p1;) {
        size_t e = c + 1;
        int64_t grown = run + w->adv[c];
        for (; e < p1 && !boundary(w, e); e++)
            grown += w->adv[e];
        if (grown + ellipsis_width(w, p0, p1, ellipsis_face(w, e - 1)) > w->limit)
            break;
        run = grown;
        c = e;
    }
    while (c > a && w->flags[c - 1] & CP_SPACE)
        c--;
    return c;
}

/* The runs of [a, c) (runs cut by the line shaped again as they are), then the ellipsis when there is one. */
static int line_runs(struct work *w, size_t p0, size_t p1, size_t a, size_t c, bool ellipsis, size_t *ret_n) {
    size_t n = 0;
    if (!reserve(&w->line_runs, &w->cap_line_runs, w->n_runs + 1, sizeof *w->line_runs))
        return -ENOMEM;
    for (size_t k = 0; k < w->n_runs; k++) {
        struct run r = w->runs[k];
        if (r.b <= a || r.a >= c)
            continue;
        if (r.a < a || r.b > c) {
            r.a = r.a < a ? a : r.a;
            r.b = r.b > c ? c : r.b;
            r.g0 = w->n_pool;
            int e = shape(w, p0, p1, &r, NULL);
            if (e < 0)
                return e;
            r.g1 = w->n_pool;
        }
        w->line_runs[n++] = r;
    }
    if (ellipsis) {
        size_t at = c > a ? c - 1 : a;
        struct run r = {.a = c,
                        .b = c,
                        .face = ellipsis_face(w, at),
                        .level = w->rtl ? 1 : 0, /* a neutral at the paragraph's end takes its direction */
                        .script = w->script[at],
                        .g0 = w->n_pool,
                        .ellipsis = true};
        int e = shape(w, p0, p1, &r, (const uint32_t[]){ELLIPSIS});
        if (e < 0)
            return e;
        r.g1 = w->n_pool;
        w->line_runs[n++] = r;
    }
    *ret_n = n;
    return 0;
}

/* Line [a, e) of paragraph [p0, p1), showing [a, c), in display order. */
static int emit_line(struct work *w, size_t p0, size_t p1, size_t a, size_t c, size_t e, bool ellipsis) {
    struct text_layout *l = w->l;
    size_t n = 0, pool_mark = w->n_pool;
    int r;
    if (!reserve(&l->lines, &w->cap_lines, l->n_lines + 1, sizeof *l->lines))
        return -ENOMEM;
    if (c > a || ellipsis)
        if ((r = line_runs(w, p0, p1, a, c, ellipsis, &n)) < 0)
            return r;
    reorder(w->line_runs, n);
    int top = (int)l->n_lines * l->line_height;
    struct line *line = &l->lines[l->n_lines];
    *line = (struct line){
        .top = top, .rtl = w->rtl, .start = w->off[a], .end = w->off[e], .glyph0 = l->n_glyphs, .box0 = l->n_boxes};
    int64_t pen = 0;
    for (size_t k = 0; k < n; k++)
        if ((r = place(w, &w->line_runs[k], &pen, top + w->baseline)) < 0)
            return r;
    line = &l->lines[l->n_lines];
    line->w = px(pen);
    line->n_glyphs = l->n_glyphs - line->glyph0;
    line->n_boxes = l->n_boxes - line->box0;
    l->n_lines++;
    w->n_pool = pool_mark;
    w->full = (w->l->max_lines && l->n_lines >= w->l->max_lines) || l->n_lines >= TEXT_MAX_LINES;
    return 0;
}

/* Whether anything but spaces and line ends is left from i on. */
static bool text_left(const struct work *w, size_t i) {
    for (; i < w->n; i++)
        if (w->cp[i] != ' ' && !is_separator(w->cp[i]))
            return true;
    return false;
}

static int paragraph(struct work *w, size_t p0, size_t p1) {
    int r;
    if (p0 == p1)
        return emit_line(w, p0, p1, p0, p0, p0, false);
    if ((r = bidi(w, p0, p1, &w->rtl)) < 0)
        return r;
    if (w->l->n_lines == 0)
        w->l->rtl = w->rtl;
    scripts(w, p0, p1);
    classify(w, p0, p1);
    if ((r = itemise(w, p0, p1)) < 0)
        return r;
    /* Most paragraphs fit on one line: they need no break opportunities (nor Thai's word list). */
    int64_t width = 0;
    for (size_t i = p0; i < p1; i++)
        width += w->adv[i];
    bool wraps = w->limit && width > w->limit;
    if (wraps && (r = find_breaks(w, p0, p1)) < 0)
        return r;
    for (size_t a = p0; a < p1 && !w->full;) {
        size_t e = wraps ? line_end(w, a, p1) : p1, c = e;
        bool last = w->l->max_lines && w->l->n_lines + 1 == w->l->max_lines;
        if (last && text_left(w, e))
            return emit_line(w, p0, p1, a, ellipsis_cut(w, p0, p1, a), p1, true);
        /* Spaces where a line wraps hang past its end. */
        while (e < p1 && c > a && w->flags[c - 1] & CP_SPACE)
            c--;
        if ((r = emit_line(w, p0, p1, a, c, e, false)) < 0)
            return r;
        a = e;
    }
    return 0;
}

/* The per-code-point arrays in one block: the text has at most len code points. */
static void *alloc_work(struct work *w, size_t len) {
    size_t n = len + 1,
           words = 2 * sizeof *w->cp + sizeof *w->script + sizeof *w->adv + sizeof *w->types + sizeof *w->brackets;
    _Static_assert(sizeof(hb_script_t) == 4 && sizeof(FriBidiCharType) == 4 && sizeof(FriBidiBracketType) == 4,
                   "4-byte arrays first keep every array aligned");
    char *block = malloc(n * (words + sizeof *w->level + 3)), *p = block;
    if (!block)
        return NULL;
#define CARVE(field) (w->field = (void *)p, p += n * sizeof *w->field)
    CARVE(cp), CARVE(off), CARVE(script), CARVE(adv), CARVE(types), CARVE(brackets);
    CARVE(level), CARVE(face), CARVE(flags), CARVE(breaks);
#undef CARVE
    return block;
}

/* The text as code points (invalid UTF-8 as U+FFFD, tabs as spaces) with each one's byte offset. */
static void decode(struct work *w, const char *utf8, size_t len) {
    size_t n = 0;
    for (size_t i = 0, k; i < len; i += k, n++) {
        w->cp[n] = utf8_next((const uint8_t *)utf8 + i, len - i, &k);
        w->cp[n] = w->cp[n] == '\t' ? ' ' : w->cp[n];
        w->off[n] = (uint32_t)i;
    }
    w->off[n] = (uint32_t)len;
    w->n = n;
}

/* The line box: the style's height, or the font's; the baseline centred in it as CSS's half-leading does. */
static void metrics(struct work *w, unsigned face) {
    hb_font_extents_t ext;
    sym_hb_font_get_h_extents(hb_at(face, w->size), &ext);
    int64_t content = (int64_t)ext.ascender - ext.descender;
    struct text_layout *l = w->l;
    if (l->line_height <= 0)
        l->line_height = (int)((content + ext.line_gap + 63) >> 6); /* rounded up */
    w->baseline = px((l->line_height * (int64_t)64 - content) / 2 + ext.ascender);
    l->baseline = w->baseline;
}

/* Each line moved to its place in the box: max_width wide, or the widest line's width. */
static void align(struct text_layout *l) {
    int widest = 0;
    for (size_t i = 0; i < l->n_lines; i++)
        widest = l->lines[i].w > widest ? l->lines[i].w : widest;
    int box = l->max_width > widest ? l->max_width : widest;
    for (size_t i = 0; i < l->n_lines; i++) {
        struct line *line = &l->lines[i];
        int room = box - line->w, dx;
        bool left = l->align == TEXT_START ? !line->rtl : l->align == TEXT_END && line->rtl;
        dx = l->align == TEXT_CENTER ? room / 2 : left ? 0 : room;
        line->x = dx;
        for (size_t g = 0; g < line->n_glyphs; g++)
            l->glyphs[line->glyph0 + g].x += dx;
        for (size_t b = 0; b < line->n_boxes; b++) {
            l->boxes[line->box0 + b].x0 += dx;
            l->boxes[line->box0 + b].x1 += dx;
        }
    }
    l->w = widest;
    l->h = (int)l->n_lines * l->line_height;
}

/* An icon: its name shaped in the icon font, where the ligature makes it one glyph. */
static int icon(struct work *w) {
    struct run r = {.a = 0, .b = w->n, .face = FACE_ICONS, .level = 0, .script = HB_SCRIPT_LATIN};
    if (!reserve(&w->l->lines, &w->cap_lines, 1, sizeof *w->l->lines))
        return -ENOMEM;
    int e = w->n ? shape(w, 0, w->n, &r, NULL) : 0;
    if (e < 0)
        return e;
    r.g1 = w->n_pool;
    struct text_layout *l = w->l;
    l->lines[0] = (struct line){.end = (uint32_t)l->len};
    int64_t pen = 0;
    for (size_t i = 0; i < w->n; i++)
        w->flags[i] = CP_GRAPHEME;
    if ((e = place(w, &r, &pen, w->baseline)) < 0)
        return e;
    l->lines[0].w = px(pen);
    l->lines[0].n_glyphs = l->n_glyphs;
    l->lines[0].n_boxes = l->n_boxes;
    l->n_lines = 1;
    return 0;
}

static int build(struct text_layout *l) {
    struct work w = {.l = l, .size = l->style.size, .bold = l->style.weight == FONT_BOLD};
    void *block = alloc_work(&w, l->len);
    if (!block)
        return -ENOMEM;
    decode(&w, l->text, l->len);
    /* A line fits when its width, rounded to whole pixels as layouts report it, does: a text laid out
       again at its own reported width stays on the lines it had. */
    w.limit = l->style.icon || !l->max_width ? 0 : (int64_t)l->max_width * 64 + 31;
    memset(w.ellipsis_width, -1, sizeof w.ellipsis_width);
    metrics(&w, l->style.icon ? FACE_ICONS : w.bold);
    int r = 0;
    if (l->style.icon)
        r = icon(&w);
    for (size_t p0 = 0; !l->style.icon && !w.full;) {
        size_t p1 = p0;
        while (p1 < w.n && !is_separator(w.cp[p1]))
            p1++;
        if ((r = paragraph(&w, p0, p1)) < 0 || p1 == w.n)
            break;
        p0 = p1 + 1 + (w.cp[p1] == '\r' && p1 + 1 < w.n && w.cp[p1 + 1] == '\n');
    }
    free(block);
    free(w.runs);
    free(w.line_runs);
    free(w.pool);
    if (r == 0)
        align(l);
    return r;
}

/* ---- the layout cache ---- */

static uint64_t hash_key(const char *s, size_t len, const struct text_style *st, int max_width, unsigned max_lines,
                         enum text_align align) {
    uint64_t h = 0xcbf29ce484222325ULL; /* FNV-1a */
    for (size_t i = 0; i < len; i++)
        h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
    uint64_t more[] = {
        (uint64_t)st->size, st->weight, (uint64_t)st->line_height, st->icon, (uint64_t)max_width, max_lines, align,
    };
    for (size_t i = 0; i < sizeof more / sizeof *more; i++)
        h = (h ^ more[i]) * 0x100000001b3ULL;
    return h;
}

static bool same_key(const struct text_layout *l, uint64_t hash, const char *s, size_t len, const struct text_style *st,
                     int max_width, unsigned max_lines, enum text_align align) {
    return l->hash == hash && l->len == len && l->style.size == st->size && l->style.weight == st->weight &&
           l->style.line_height == st->line_height && l->style.icon == st->icon && l->max_width == max_width &&
           l->max_lines == max_lines && l->align == align && memcmp(l->text, s, len) == 0;
}

static void layout_destroy(struct text_layout *l) {
    free(l->text);
    free(l->lines);
    free(l->glyphs);
    free(l->boxes);
    free(l);
}

static void layout_unref(struct text_layout *l) {
    if (--l->refs == 0)
        layout_destroy(l);
}

static void lru_unlink_layout(struct text_layout *l) {
    *(l->older ? &l->older->newer : &T.layout_oldest) = l->newer;
    *(l->newer ? &l->newer->older : &T.layout_newest) = l->older;
    l->older = l->newer = NULL;
}

static void lru_push_layout(struct text_layout *l) {
    l->older = T.layout_newest;
    *(T.layout_newest ? &T.layout_newest->newer : &T.layout_oldest) = l;
    T.layout_newest = l;
}

static void cache_evict_oldest(void) {
    struct text_layout *l = T.layout_oldest, **p = &T.layout_buckets[l->hash % LAYOUT_BUCKETS];
    while (*p != l)
        p = &(*p)->next;
    *p = l->next;
    lru_unlink_layout(l);
    T.n_layouts--;
    T.layout_bytes -= l->bytes;
    layout_unref(l);
}

static void cache_insert(struct text_layout *l) {
    /* One layout that would take a large part of the budget is not kept: it would push out many small ones. */
    if (l->bytes > LAYOUT_CACHE_BYTES / 8)
        return;
    while (T.layout_oldest && (T.n_layouts >= LAYOUT_CACHE_ENTRIES || T.layout_bytes + l->bytes > LAYOUT_CACHE_BYTES))
        cache_evict_oldest();
    struct text_layout **bucket = &T.layout_buckets[l->hash % LAYOUT_BUCKETS];
    l->next = *bucket;
    *bucket = l;
    lru_push_layout(l);
    T.n_layouts++;
    T.layout_bytes += l->bytes;
    l->refs++;
}

static struct text_layout *cache_find(uint64_t hash, const char *s, size_t len, const struct text_style *st,
                                      int max_width, unsigned max_lines, enum text_align align) {
    for (struct text_layout *l = T.layout_buckets[hash % LAYOUT_BUCKETS]; l; l = l->next)
        if (same_key(l, hash, s, len, st, max_width, max_lines, align)) {
            lru_unlink_layout(l);
            lru_push_layout(l);
            return l;
        }
    return NULL;
}

static struct text_layout *layout_new(const char *s, size_t len, const struct text_style *st, int max_width,
                                      unsigned max_lines, enum text_align align, uint64_t hash) {
    struct text_layout *l = calloc(1, sizeof *l);
    char *copy = malloc(len + 1);
    if (!l || !copy) {
        free(l);
        free(copy);
        return NULL;
    }
    memcpy(copy, s, len);
    copy[len] = 0;
    *l = (struct text_layout){.text = copy,
                              .len = len,
                              .style = *st,
                              .max_width = max_width,
                              .max_lines = max_lines,
                              .align = align,
                              .hash = hash,
                              .refs = 1,
                              .line_height = st->line_height,
                              .synthetic_bold = st->weight == FONT_MEDIUM && !st->icon};
    if (build(l) < 0) {
        layout_destroy(l);
        return NULL;
    }
    l->bytes = sizeof *l + len + l->n_lines * sizeof *l->lines + l->n_glyphs * sizeof *l->glyphs +
               l->n_boxes * sizeof *l->boxes;
    return l;
}

struct text_layout *text_layout(const char *utf8, size_t len, const struct text_style *style, int max_width,
                                unsigned max_lines, enum text_align align) {
    len = utf8 ? capped(utf8, len) : 0;
    utf8 = utf8 ? utf8 : "";
    struct text_style st = *style;
    st.size = clamp(st.size, 1, TEXT_MAX_SIZE);
    st.line_height = clamp(st.line_height, 0, TEXT_MAX_LINE_HEIGHT);
    max_width = max_width < 0 ? 0 : max_width;
    uint64_t hash = hash_key(utf8, len, &st, max_width, max_lines, align);

    pthread_mutex_lock(&T.lock);
    struct text_layout *l = NULL;
    if (init_locked(NULL) == 0) {
        l = cache_find(hash, utf8, len, &st, max_width, max_lines, align);
        if (l)
            l->refs++;
        else if ((l = layout_new(utf8, len, &st, max_width, max_lines, align, hash)))
            cache_insert(l);
    }
    pthread_mutex_unlock(&T.lock);
    return l;
}

void text_layout_free(struct text_layout *l) {
    if (!l)
        return;
    pthread_mutex_lock(&T.lock);
    layout_unref(l);
    pthread_mutex_unlock(&T.lock);
}

/* ---- what a layout tells ---- */

void text_layout_size(const struct text_layout *l, int *ret_w, int *ret_h) {
    *ret_w = l->w;
    *ret_h = l->h;
}

int text_layout_baseline(const struct text_layout *l) {
    return l->baseline;
}

bool text_layout_rtl(const struct text_layout *l) {
    return l->rtl;
}

size_t text_layout_glyphs(const struct text_layout *l, const struct text_glyph **ret) {
    *ret = l->glyphs;
    return l->n_glyphs;
}

static const struct line *line_at(const struct text_layout *l, int y) {
    int i = y < 0 ? 0 : y / (l->line_height > 0 ? l->line_height : 1);
    return &l->lines[(size_t)i < l->n_lines ? (size_t)i : l->n_lines - 1];
}

/*
 * The caret model: each grapheme is a box with a leading edge (left in LTR
 * runs, right in RTL runs) for the offset before it and a trailing edge for
 * the offset after it. A point maps to the nearest edge of the box under it;
 * an offset to the leading edge of the grapheme that starts there, or, at a
 * line's end, the trailing edge of its last grapheme in logical order. At a
 * boundary between runs of opposite direction this shows one of the two
 * places the offset has on screen, the one of the character after it.
 */
static int distance(const struct box *b, int x) {
    return x < b->x0 ? b->x0 - x : x >= b->x1 ? x - b->x1 + 1 : 0;
}

size_t text_layout_hit(const struct text_layout *l, int x, int y) {
    const struct line *line = line_at(l, y);
    const struct box *best = NULL;
    for (size_t i = 0; i < line->n_boxes; i++) {
        const struct box *b = &l->boxes[line->box0 + i];
        if (!best || distance(b, x) < distance(best, x))
            best = b;
    }
    if (!best)
        return line->start;
    bool left = x * 2 < best->x0 + best->x1;
    return left != best->rtl ? best->b0 : best->b1;
}

struct rect text_layout_caret(const struct text_layout *l, size_t offset) {
    for (size_t i = 0; i < l->n_boxes; i++) {
        const struct box *b = &l->boxes[i];
        if (b->b0 <= offset && offset < b->b1)
            return (struct rect){b->rtl ? b->x1 : b->x0, l->lines[b->line].top, 1, l->line_height};
    }
    /* At the end of a line (or past the text): after the line's logically last grapheme. */
    const struct line *at = &l->lines[l->n_lines - 1];
    for (size_t i = 0; i < l->n_lines; i++)
        if (offset >= l->lines[i].start && offset <= l->lines[i].end) {
            at = &l->lines[i];
            break;
        }
    const struct box *end = NULL;
    for (size_t k = 0; k < at->n_boxes; k++) {
        const struct box *b = &l->boxes[at->box0 + k];
        if (!end || b->b1 > end->b1)
            end = b;
    }
    int x = end ? (end->rtl ? end->x0 : end->x1) : at->rtl ? at->x + at->w : at->x;
    return (struct rect){x, at->top, 1, l->line_height};
}

/* ---- glyphs and drawing ---- */

static uint64_t glyph_key(unsigned face, uint32_t id, int size, bool bold) {
    return (uint64_t)face << 48 | (uint64_t)bold << 47 | (uint64_t)size << 32 | id;
}

static void glyph_unlink(struct glyph *g) {
    *(g->older ? &g->older->newer : &T.glyph_oldest) = g->newer;
    *(g->newer ? &g->newer->older : &T.glyph_newest) = g->older;
    g->older = g->newer = NULL;
}

static void glyph_push(struct glyph *g) {
    g->older = T.glyph_newest;
    *(T.glyph_newest ? &T.glyph_newest->newer : &T.glyph_oldest) = g;
    T.glyph_newest = g;
}

static size_t glyph_bucket(uint64_t key) {
    return (size_t)((key * 0x9E3779B97F4A7C15ULL) >> 54) % GLYPH_BUCKETS;
}

static void glyph_evict_oldest(void) {
    struct glyph *g = T.glyph_oldest, **p = &T.glyph_buckets[glyph_bucket(g->key)];
    while (*p != g)
        p = &(*p)->next;
    *p = g->next;
    glyph_unlink(g);
    T.glyph_bytes -= sizeof *g + (size_t)g->w * (size_t)g->h;
    free(g);
}

/*
 * FreeType's light hinting (vertical only, so shapes keep the widths HarfBuzz
 * measured) at a whole-pixel origin. Medium is Regular thickened by a fiftieth
 * of the em sideways and half that upwards: about the stems of a real 500
 * weight, with Regular's advances.
 */
static struct glyph *rasterise(unsigned face, uint32_t id, int size, bool bold) {
    struct face *f = &T.faces[face];
    if (f->ft_size != size) {
        if (sym_FT_Set_Pixel_Sizes(f->ft, 0, (FT_UInt)size))
            return NULL;
        f->ft_size = size;
    }
    if (sym_FT_Load_Glyph(f->ft, id, FT_LOAD_TARGET_LIGHT | FT_LOAD_NO_BITMAP))
        return NULL;
    FT_GlyphSlot slot = f->ft->glyph;
    if (bold && slot->format == FT_GLYPH_FORMAT_OUTLINE)
        sym_FT_Outline_EmboldenXY(&slot->outline, size * 64 / 50, size * 64 / 100);
    if (sym_FT_Render_Glyph(slot, FT_RENDER_MODE_LIGHT) || slot->bitmap.pixel_mode != FT_PIXEL_MODE_GRAY)
        return NULL;
    const FT_Bitmap *bm = &slot->bitmap;
    struct glyph *g = malloc(sizeof *g + (size_t)bm->width * bm->rows);
    if (!g)
        return NULL;
    *g = (struct glyph){.left = slot->bitmap_left, .top = slot->bitmap_top, .w = (int)bm->width, .h = (int)bm->rows};
    for (unsigned y = 0; y < bm->rows; y++)
        memcpy(g->px + (size_t)y * bm->width, bm->buffer + (ptrdiff_t)y * bm->pitch, bm->width);
    return g;
}

static const struct glyph *glyph_get(unsigned face, uint32_t id, int size, bool bold) {
    uint64_t key = glyph_key(face, id, size, bold);
    struct glyph **bucket = &T.glyph_buckets[glyph_bucket(key)];
    for (struct glyph *g = *bucket; g; g = g->next)
        if (g->key == key) {
            glyph_unlink(g);
            glyph_push(g);
            return g;
        }
    struct glyph *g = rasterise(face, id, size, bold);
    if (!g)
        return NULL;
    size_t bytes = sizeof *g + (size_t)g->w * (size_t)g->h;
    while (T.glyph_oldest && T.glyph_bytes + bytes > GLYPH_CACHE_BYTES)
        glyph_evict_oldest();
    g->key = key;
    g->next = *bucket;
    *bucket = g;
    glyph_push(g);
    T.glyph_bytes += bytes;
    return g;
}

void text_layout_draw(const struct text_layout *l, struct surface *s, int x, int y, uint32_t argb) {
    bool bold = l->synthetic_bold;
    pthread_mutex_lock(&T.lock);
    for (size_t i = 0; i < l->n_lines; i++) {
        const struct line *line = &l->lines[i];
        /* Marks and tall scripts reach past the line box: a line is skipped only when well clear of the clip. */
        int top = y + line->top - l->line_height, bottom = y + line->top + 2 * l->line_height;
        if (bottom <= s->clip.y || top >= s->clip.y + s->clip.h)
            continue;
        for (size_t k = 0; k < line->n_glyphs; k++) {
            const struct text_glyph *tg = &l->glyphs[line->glyph0 + k];
            const struct glyph *g = glyph_get(tg->face, tg->id, l->style.size, bold);
            if (g && g->w && g->h)
                paint_mask(s, x + tg->x + g->left, y + tg->y - g->top, g->px, g->w, g->h, g->w, argb);
        }
    }
    pthread_mutex_unlock(&T.lock);
}
