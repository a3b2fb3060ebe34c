/* test-widgets.c: the toolkit's layout, damage, scrolling and input, and golden pages of every widget, drawn offscreen. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include <slate/ui.h>

#include "golden.h"
#include "png-save.h"
#include "widget.h"
#include "window.h"

#define W 720
#define H 1552 /* the screen below slated's status bar */

static int setup(void **state) {
    (void)state;
    ui_reset();
    assert_int_equal(ui_offscreen(W, H, false), 0);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    ui_reset();
    return 0;
}

/* ---- a widget of known size that counts how often it is measured ---- */

struct probe {
    slate_widget base;
    int w, h;
    int measures;
};

static struct size probe_measure(slate_widget *w, struct constraints c) {
    struct probe *p = (struct probe *)w;
    p->measures++;
    (void)c;
    return (struct size){p->w, p->h};
}

static const struct widget_class probe_class = {.name = "probe", .measure = probe_measure};

static struct probe *probe(int w, int h) {
    struct probe *p = (struct probe *)widget_new(&probe_class, sizeof *p);
    assert_non_null(p);
    p->w = w, p->h = h;
    return p;
}

/* A widget's frame in the page, as x, y, w, h. */
static void assert_frame(const slate_widget *w, int x, int y, int fw, int fh) {
    struct rect r = widget_page_rect(w);
    if (r.x != x || r.y != y || r.w != fw || r.h != fh)
        fail_msg("%s at %d,%d %dx%d, expected %d,%d %dx%d", w->cls->name, r.x, r.y, r.w, r.h, x, y, fw, fh);
}

/* ---- layout ---- */

static void test_column_padding_gap(void **state) {
    (void)state;
    slate_widget *col = slate_column();
    struct probe *a = probe(100, 40), *b = probe(200, 60);
    struct probe *stretched = probe(100, 10);
    slate_widget_set_padding(col, SLATE_SPACE_L, SLATE_SPACE_XL); /* 16 down, 24 across */
    slate_widget_set_gap(col, SLATE_SPACE_S);                     /* 8 */
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_START);
    slate_widget_add(col, &a->base);
    slate_widget_add(col, &b->base);
    slate_ui_push(col, NULL);
    /* By default a column's children fill its width. */
    slate_widget *fill = slate_column();
    slate_widget_add(fill, &stretched->base);
    slate_ui_push(fill, NULL);
    ui_render();
    assert_frame(&stretched->base, 0, 0, W, 10);
    slate_ui_pop();
    ui_render();
    assert_frame(&a->base, 24, 16, 100, 40);
    assert_frame(&b->base, 24, 16 + 40 + 8, 200, 60);
}

static void test_row_flex_shares(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *row = slate_row();
    struct probe *fixed = probe(120, 30), *one = probe(0, 30), *two = probe(0, 30);
    slate_widget_set_flex(&one->base, 1);
    slate_widget_set_flex(&two->base, 2);
    slate_widget_add(row, &fixed->base);
    slate_widget_add(row, &one->base);
    slate_widget_add(row, &two->base);
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_STRETCH);
    slate_widget_add(col, row);
    slate_ui_push(col, NULL);
    ui_render();
    /* 600 px left after the fixed child, shared 1:2; the flexible children are stretched to their share. */
    assert_frame(&fixed->base, 0, 0, 120, 30);
    assert_frame(&one->base, 120, 0, 200, 30);
    assert_frame(&two->base, 320, 0, 400, 30);
}

static void test_alignment(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *center = slate_row(), *end = slate_row(), *between = slate_row();
    struct probe *c = probe(100, 20), *e = probe(100, 20), *b1 = probe(100, 20), *b2 = probe(100, 20),
                 *b3 = probe(100, 20);
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_STRETCH);
    slate_widget_set_align(center, SLATE_ALIGN_CENTER, SLATE_ALIGN_CENTER);
    slate_widget_set_align(end, SLATE_ALIGN_END, SLATE_ALIGN_CENTER);
    slate_widget_set_align(between, SLATE_ALIGN_SPACE_BETWEEN, SLATE_ALIGN_CENTER);
    slate_widget_add(center, &c->base);
    slate_widget_add(end, &e->base);
    slate_widget_add(between, &b1->base);
    slate_widget_add(between, &b2->base);
    slate_widget_add(between, &b3->base);
    slate_widget_add(col, center);
    slate_widget_add(col, end);
    slate_widget_add(col, between);
    slate_ui_push(col, NULL);
    ui_render();
    assert_frame(&c->base, 310, 0, 100, 20);
    assert_frame(&e->base, 620, 20, 100, 20);
    assert_frame(&b1->base, 0, 40, 100, 20);
    assert_frame(&b2->base, 310, 40, 100, 20);
    assert_frame(&b3->base, 620, 40, 100, 20);
}

static void test_stack_layers(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *stack = slate_stack();
    struct probe *big = probe(300, 200), *small = probe(50, 40);
    slate_widget_set_align(stack, SLATE_ALIGN_CENTER, SLATE_ALIGN_END);
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_START);
    slate_widget_add(stack, &big->base);
    slate_widget_add(stack, &small->base);
    slate_widget_add(col, stack);
    slate_ui_push(col, NULL);
    ui_render();
    assert_frame(stack, 0, 0, 300, 200);
    assert_frame(&small->base, 125, 160, 50, 40);
}

static void test_fixed_size_and_visibility(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *box = slate_column();
    struct probe *a = probe(10, 10), *b = probe(10, 10);
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_START);
    slate_widget_set_size(box, 250, 90);
    slate_widget_add(col, box);
    slate_widget_add(col, &a->base);
    slate_widget_add(col, &b->base);
    slate_ui_push(col, NULL);
    ui_render();
    assert_frame(box, 0, 0, 250, 90);
    assert_frame(&b->base, 0, 100, 10, 10);
    /* A set size wins over stretching, not over the room there is. */
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_STRETCH);
    slate_widget_set_size(box, 250, 90);
    ui_render();
    assert_frame(box, 0, 0, 250, 90);
    assert_frame(&a->base, 0, 90, W, 10);
    slate_widget_set_size(box, 5000, 90);
    ui_render();
    assert_frame(box, 0, 0, W, 90);
    /* A hidden child takes no room, and its gap goes with it. */
    slate_widget_set_visible(&a->base, false);
    ui_render();
    assert_frame(&b->base, 0, 90, W, 10);
}

/* A child whose constraints did not change is not measured again; one that changed is, with its ancestors. */
static void test_measure_cache(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *row = slate_row();
    struct probe *still = probe(100, 20), *other = probe(100, 20);
    slate_widget *label = slate_text("short", SLATE_TEXT_BODY);
    slate_widget_add(row, &other->base);
    slate_widget_add(row, label);
    slate_widget_add(col, &still->base);
    slate_widget_add(col, row);
    slate_ui_push(col, NULL);
    ui_render();
    int before = still->measures, other_before = other->measures;
    assert_true(before >= 1);
    slate_text_set(label, "a longer text than it was");
    ui_render();
    assert_int_equal(still->measures, before);       /* a sibling of the changed row: answered from its cache */
    assert_int_equal(other->measures, other_before); /* in the changed row, same constraints: from its cache */
    /* Nothing changed: a frame measures nothing. */
    ui_damage_all();
    ui_render();
    assert_int_equal(still->measures, before);
}

/* ---- damage ---- */

static uint32_t pixel(const struct surface *s, int x, int y) {
    return s->px[(size_t)y * (size_t)s->stride + (size_t)x] & 0xFFFFFFu;
}

/* A change redraws its widget's box and nothing else. */
static void test_damage_is_local(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *top = slate_text("Top", SLATE_TEXT_BODY),
                 *bottom = slate_text("Bottom", SLATE_TEXT_BODY);
    slate_widget_add(col, top);
    slate_widget_add(col, bottom);
    slate_ui_push(col, NULL);
    const struct surface *s = ui_render();
    assert_non_null(s);
    /* Marks outside anything that changes: a redraw of them would paint them over. */
    struct rect b = widget_page_rect(bottom);
    s->px[(size_t)(H - 1) * s->stride + (W - 1)] = 0x123456;
    s->px[(size_t)(b.y + b.h / 2) * s->stride + (W - 2)] = 0x654321;
    slate_text_set(top, "Top, changed");
    s = ui_render();
    assert_int_equal(pixel(s, W - 1, H - 1), 0x123456);
    assert_int_equal(pixel(s, W - 2, b.y + b.h / 2), 0x654321);
    /* The changed text was drawn: its box is not what it was before the change. */
    struct rect t = widget_page_rect(top);
    uint32_t ink = 0;
    for (int y = t.y; y < t.y + t.h; y++)
        for (int x = t.x + 40; x < t.x + t.w; x++)
            ink |= pixel(s, x, y) ^ pixel(s, 0, H - 2);
    assert_true(ink != 0);
    /* A full frame paints the marks over. */
    ui_damage_all();
    s = ui_render();
    assert_int_not_equal(pixel(s, W - 1, H - 1), 0x123456);
}

/* Whatever a text draws stays within its reach, in every style and script: damage and culling trust it. */
static void test_text_ink_within_reach(void **state) {
    (void)state;
    static const char *const samples[] = {
        "Tapped 1 gjpqy", "ÅÉÎ Ǻ ḉ Ţ", "שָׁלוֹם עוֹלָם", "مرحبا بالعالم", "क्षत्रिय हिन्दी", "ที่นี่ ปั้น ญู", "fiffl ŴĴ¸",
    };
    enum { STYLES = SLATE_TEXT_CAPTION + 1 };
    slate_widget *col = slate_column(), *text[STYLES];
    slate_widget_set_padding(col, SLATE_SPACE_XXL, SLATE_SPACE_XXL);
    for (int i = 0; i < STYLES; i++) {
        slate_widget *gap = slate_column();
        slate_widget_set_size(gap, 0, 64);
        slate_widget_add(col, text[i] = slate_text("", (enum slate_text_style)i));
        slate_widget_add(col, gap);
    }
    slate_ui_push(col, NULL);
    for (size_t k = 0; k < sizeof samples / sizeof *samples; k++) {
        for (int i = 0; i < STYLES; i++)
            slate_text_set(text[i], samples[k]);
        ui_damage_all();
        const struct surface *s = ui_render();
        uint32_t bg = pixel(s, 0, 0);
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++) {
                bool inside = false;
                for (int i = 0; i < STYLES && !inside; i++) {
                    struct rect f = widget_page_rect(text[i]);
                    int r = text[i]->reach;
                    inside = x >= f.x - r && x < f.x + f.w + r && y >= f.y - r && y < f.y + f.h + r;
                }
                if (!inside && pixel(s, x, y) != bg)
                    fail_msg("\"%s\" drew at %d,%d, past every text's reach", samples[k], x, y);
            }
    }
}

/* A text that changes redraws all its ink, old and new, and leaves its neighbours' whole: the
 * frame drawn by damage alone is the frame drawn from scratch. */
static void test_text_change_redraws_ink(void **state) {
    (void)state;
    static const char *const states[] = {"Tapped 1", "Not tapped, going long", "", "gjpqy ÅÉ", "Not tapped"};
    slate_widget *col = slate_column(), *mid = slate_text("Not tapped", SLATE_TEXT_DISPLAY);
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_CENTER);
    slate_widget_add(col, slate_text("gjpqy above", SLATE_TEXT_TITLE));
    slate_widget_add(col, mid);
    slate_widget_add(col, slate_text("ÅÉÎ below", SLATE_TEXT_TITLE));
    slate_ui_push(col, NULL);
    ui_render();
    size_t size = (size_t)H * W * sizeof(uint32_t);
    uint32_t *incremental = malloc(size);
    assert_non_null(incremental);
    for (size_t k = 0; k < sizeof states / sizeof *states; k++) {
        slate_text_set(mid, states[k]);
        const struct surface *s = ui_render();
        for (int y = 0; y < H; y++)
            memcpy(incremental + (size_t)y * W, s->px + (size_t)y * s->stride, W * sizeof(uint32_t));
        ui_damage_all();
        s = ui_render();
        for (int y = 0; y < H; y++)
            for (int x = 0; x < W; x++)
                if ((incremental[(size_t)y * W + x] ^ s->px[(size_t)y * s->stride + x]) & 0xFFFFFFu)
                    fail_msg("after \"%s\": %d,%d differs from a full redraw", states[k], x, y);
    }
    free(incremental);
}

/* ---- scrolling: the blit and the exposed strip give exactly what a full redraw gives ---- */

static const char *const icons[] = {"wifi", "bluetooth", "settings", "battery_full", "storage", "language"};

static slate_widget *row_item(size_t i, void *ud) {
    char title[32], detail[48];
    (void)ud;
    snprintf(title, sizeof title, "Row %zu", i);
    snprintf(detail, sizeof detail, "The second line of row %zu", i);
    slate_widget *r = slate_row(), *lines = slate_column(), *icon = slate_icon(icons[i % 6]);
    slate_widget_set_padding(r, SLATE_SPACE_M, SLATE_SPACE_L);
    slate_widget_set_gap(r, SLATE_SPACE_L);
    slate_widget_set_size(icon, 48, 48);
    slate_widget_add(lines, slate_text(title, SLATE_TEXT_SUBTITLE));
    slate_widget_add(lines, slate_text(detail, SLATE_TEXT_CAPTION));
    slate_widget_add(r, icon);
    slate_widget_add(r, lines);
    return r;
}

static void drag(int x, int y0, int y1, int steps, uint64_t *t) {
    ui_input(UI_INPUT_DOWN, x, y0, *t, NULL);
    for (int i = 1; i <= steps; i++) {
        *t += 100000; /* slow: no fling */
        ui_input(UI_INPUT_MOVE, x, y0 + (y1 - y0) * i / steps, *t, NULL);
        ui_render();
    }
    *t += 100000;
    ui_input(UI_INPUT_UP, x, y1, *t, NULL);
}

static void test_scroll_blit_is_exact(void **state) {
    (void)state;
    slate_widget *list = slate_list(200, row_item, NULL);
    slate_ui_push(list, "Settings");
    const struct surface *s = ui_render();
    size_t bytes = (size_t)s->stride * (size_t)s->h * 4;
    uint32_t *first = malloc(bytes), *scrolled = malloc(bytes);
    assert_non_null(first);
    assert_non_null(scrolled);
    memcpy(first, s->px, bytes);
    uint64_t t = 1000000;
    drag(360, 900, 600, 5, &t); /* up by 300 px, in five frames */
    s = ui_render();
    memcpy(scrolled, s->px, bytes);
    assert_memory_not_equal(first, scrolled, bytes);
    ui_damage_all();
    s = ui_render();
    assert_memory_equal(scrolled, s->px, bytes);
    /* And back down past the top: it stops at the first row, where it began. */
    drag(360, 600, 1400, 4, &t);
    ui_damage_all();
    s = ui_render();
    assert_memory_equal(first, s->px, bytes);
    free(first);
    free(scrolled);
}

/* ---- input ---- */

static int taps;
static void on_tap(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    taps++;
}

static bool switched;
static void on_switch(slate_widget *w, bool on, void *ud) {
    (void)w, (void)ud;
    switched = on;
}

static void tap(int x, int y, uint64_t *t) {
    ui_input(UI_INPUT_DOWN, x, y, *t, NULL);
    *t += 50000;
    ui_input(UI_INPUT_UP, x, y, *t, NULL);
    *t += 50000;
    ui_render();
}

static void test_taps_and_controls(void **state) {
    (void)state;
    slate_widget *col = slate_column(), *button = slate_button("Go", SLATE_BUTTON_FILLED, on_tap, NULL),
                 *sw = slate_switch(false, on_switch, NULL), *field = slate_text_field("Name", NULL, NULL);
    slate_widget_set_gap(col, SLATE_SPACE_L);
    slate_widget_set_align(col, SLATE_ALIGN_START, SLATE_ALIGN_STRETCH);
    slate_widget_add(col, button);
    slate_widget_add(col, sw);
    slate_widget_add(col, field);
    slate_ui_push(col, NULL);
    ui_render();
    uint64_t t = 1000000;
    taps = 0;
    struct rect b = widget_page_rect(button), s = widget_page_rect(sw), f = widget_page_rect(field);
    tap(b.x + b.w / 2, b.y + b.h / 2, &t);
    assert_int_equal(taps, 1);
    /* A press that slides off before it lifts is no tap. */
    ui_input(UI_INPUT_DOWN, b.x + 5, b.y + b.h / 2, t, NULL);
    ui_input(UI_INPUT_MOVE, b.x + 5, b.y + b.h + 200, t + 50000, NULL);
    ui_input(UI_INPUT_UP, b.x + 5, b.y + b.h + 200, t + 100000, NULL);
    t += 200000;
    assert_int_equal(taps, 1);
    tap(s.x + s.w / 2, s.y + s.h / 2, &t);
    assert_true(switched);
    assert_true(slate_switch_get(sw));
    /* Typing reaches the field once it has the focus; BackSpace deletes a character. */
    tap(f.x + f.w / 2, f.y + f.h / 2, &t);
    ui_input(UI_INPUT_TEXT, 0, 0, t, "héllo");
    ui_input(UI_INPUT_KEY, 0, 0, t, "BackSpace");
    assert_string_equal(slate_text_field_get(field), "héll");
    /* A drag across the text selects it; typing replaces the selection. */
    ui_input(UI_INPUT_TEXT, 0, 0, t, " world");
    ui_input(UI_INPUT_DOWN, f.x + 2, f.y + f.h / 2, t, NULL);
    ui_input(UI_INPUT_MOVE, f.x + f.w - 4, f.y + f.h / 2, t + 50000, NULL);
    ui_input(UI_INPUT_UP, f.x + f.w - 4, f.y + f.h / 2, t + 100000, NULL);
    t += 200000;
    ui_render();
    ui_input(UI_INPUT_TEXT, 0, 0, t, "new");
    assert_string_equal(slate_text_field_get(field), "new");
    ui_input(UI_INPUT_KEY, 0, 0, t, "Home");
    ui_input(UI_INPUT_KEY, 0, 0, t, "Delete");
    ui_input(UI_INPUT_TEXT, 0, 0, t, "N");
    assert_string_equal(slate_text_field_get(field), "New");
    /* Control characters are not part of one line. */
    ui_input(UI_INPUT_TEXT, 0, 0, t, "a\nb");
    assert_string_equal(slate_text_field_get(field), "New");
    ui_input(UI_INPUT_KEY, 0, 0, t, "BackSpace");
    ui_input(UI_INPUT_KEY, 0, 0, t, "End");
    ui_input(UI_INPUT_KEY, 0, 0, t, "BackSpace");
    assert_string_equal(slate_text_field_get(field), "e");
    /* Back takes the focus away first; then keys go nowhere. */
    ui_input(UI_INPUT_KEY, 0, 0, t, "Back");
    ui_input(UI_INPUT_TEXT, 0, 0, t, "x");
    assert_string_equal(slate_text_field_get(field), "e");
}

static void test_pages_back(void **state) {
    (void)state;
    slate_widget *first = slate_text("first", SLATE_TEXT_BODY), *second = slate_text("second", SLATE_TEXT_BODY);
    slate_ui_push(first, "One");
    slate_ui_push(second, "Two");
    ui_render();
    assert_non_null(ui_root_of(second));
    ui_input(UI_INPUT_KEY, 0, 0, 1, "Back");
    ui_render();
    assert_non_null(ui_root_of(first));
    /* The first page stays: Back has nothing to pop there. */
    assert_false(slate_ui_pop());
    assert_non_null(ui_root_of(first));
}

/* ---- golden pages ---- */

static void check(const char *name) {
    const struct surface *s = ui_render();
    assert_non_null(s);
    golden_check(s, name);
}

static slate_widget *controls_page(void) {
    slate_widget *page = slate_column(), *buttons = slate_row(), *wifi = slate_row(),
                 *label = slate_text("Wi-Fi", SLATE_TEXT_BODY), *card = slate_column();
    slate_widget_set_padding(page, SLATE_SPACE_L, SLATE_SPACE_L);
    slate_widget_set_gap(page, SLATE_SPACE_M);
    slate_widget_set_align(page, SLATE_ALIGN_START, SLATE_ALIGN_STRETCH);
    slate_widget_add(page, slate_text("21°", SLATE_TEXT_DISPLAY));
    slate_widget_add(page, slate_text("A title", SLATE_TEXT_TITLE));
    slate_widget *para = slate_text("Body text wraps at the width it is given, and a long paragraph keeps going "
                                    "until it reaches the limit of lines set for it, where an ellipsis cuts it.",
                                    SLATE_TEXT_BODY);
    slate_text_set_max_lines(para, 2);
    slate_widget_add(page, para);
    slate_widget *caption = slate_text("A caption, quieter", SLATE_TEXT_CAPTION);
    slate_text_set_color(caption, SLATE_COLOR_ON_SURFACE_VARIANT);
    slate_widget_add(page, caption);
    slate_widget_set_gap(buttons, SLATE_SPACE_S);
    slate_widget_add(buttons, slate_button("Delete", SLATE_BUTTON_FILLED, NULL, NULL));
    slate_widget_add(buttons, slate_button("Save", SLATE_BUTTON_TONAL, NULL, NULL));
    slate_widget_add(buttons, slate_button("Later", SLATE_BUTTON_TEXT, NULL, NULL));
    slate_widget_add(page, buttons);
    slate_widget_set_flex(label, 1);
    slate_widget_add(wifi, slate_icon("wifi"));
    slate_widget_add(wifi, label);
    slate_widget_add(wifi, slate_switch(true, NULL, NULL));
    slate_widget_add(page, wifi);
    slate_widget_add(page, slate_slider(0.6, NULL, NULL));
    slate_widget_add(page, slate_text_field("Your name", NULL, NULL));
    slate_widget_set_background(card, SLATE_SHAPE_CARD, SLATE_COLOR_PRIMARY_CONTAINER);
    slate_widget_set_padding(card, SLATE_SPACE_L, SLATE_SPACE_L);
    slate_widget_add(card, slate_text("A card lifts what belongs together.", SLATE_TEXT_BODY));
    slate_widget_add(page, card);
    return page;
}

static void test_golden_controls(void **state) {
    (void)state;
    slate_ui_push(controls_page(), "Controls");
    check("widgets-controls");
}

static void test_golden_controls_dark(void **state) {
    (void)state;
    assert_int_equal(ui_offscreen(W, H, true), 0);
    slate_ui_push(controls_page(), "Controls");
    check("widgets-controls-dark");
}

static void test_golden_list(void **state) {
    (void)state;
    slate_ui_push(slate_list(200, row_item, NULL), "Settings");
    check("widgets-list");
}

static slate_widget *cell(size_t i, void *ud) {
    char n[16];
    (void)ud;
    snprintf(n, sizeof n, "%zu", i + 1);
    slate_widget *c = slate_column(), *t = slate_text(n, SLATE_TEXT_TITLE);
    slate_widget_set_background(c, SLATE_SHAPE_CARD, i % 3 ? SLATE_COLOR_SURFACE_VARIANT : SLATE_COLOR_PRIMARY_CONTAINER);
    slate_widget_set_size(c, 0, 120);
    slate_widget_set_align(c, SLATE_ALIGN_CENTER, SLATE_ALIGN_CENTER);
    slate_widget_add(c, t);
    return c;
}

static void test_golden_grid(void **state) {
    (void)state;
    slate_ui_push(slate_grid(60, 3, cell, NULL), "Grid");
    check("widgets-grid");
}

static void test_golden_dialog(void **state) {
    (void)state;
    slate_ui_push(controls_page(), "Controls");
    slate_ui_dialog("Delete the photo?", "It is removed from this device.", "Delete", "Cancel", NULL, NULL);
    check("widgets-dialog");
}

static void test_golden_toast(void **state) {
    (void)state;
    slate_ui_push(controls_page(), "Controls");
    slate_ui_toast("Saved");
    check("widgets-toast");
}

/* A picture the test paints and saves (a gradient with a disc), shown scaled into a cover and a contain box. */
static void test_golden_images(void **state) {
    (void)state;
    enum { PW = 400, PH = 300 };
    static uint32_t px[PW * PH];
    for (int y = 0; y < PH; y++)
        for (int x = 0; x < PW; x++) {
            int dx = x - 200, dy = y - 150;
            bool disc = dx * dx + dy * dy < 90 * 90;
            px[y * PW + x] = disc ? 0xFFF0C020u : 0xFF000000u | (uint32_t)(x * 255 / PW) << 16 | (uint32_t)(y * 255 / PH) << 8 | 0x60;
        }
    char path[] = "/tmp/slate-widgets-XXXXXX.png";
    int fd = mkstemps(path, 4);
    assert_true(fd >= 0);
    struct err e = {0};
    assert_int_equal(png_save(px, PW, PH, PW, fd, &e), 0);
    close(fd);
    slate_widget *page = slate_column(), *cover = slate_image(path, SLATE_FIT_COVER),
                 *contain = slate_image(path, SLATE_FIT_CONTAIN);
    slate_widget_set_gap(page, SLATE_SPACE_L);
    slate_widget_set_padding(page, SLATE_SPACE_L, SLATE_SPACE_L);
    slate_widget_set_size(cover, 200, 200);
    slate_widget_set_size(contain, 600, 200);
    slate_widget_add(page, cover);
    slate_widget_add(page, contain);
    slate_ui_push(page, "Pictures");
    check("widgets-images");
    unlink(path);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_column_padding_gap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_row_flex_shares, setup, teardown),
        cmocka_unit_test_setup_teardown(test_alignment, setup, teardown),
        cmocka_unit_test_setup_teardown(test_stack_layers, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fixed_size_and_visibility, setup, teardown),
        cmocka_unit_test_setup_teardown(test_measure_cache, setup, teardown),
        cmocka_unit_test_setup_teardown(test_damage_is_local, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_ink_within_reach, setup, teardown),
        cmocka_unit_test_setup_teardown(test_text_change_redraws_ink, setup, teardown),
        cmocka_unit_test_setup_teardown(test_scroll_blit_is_exact, setup, teardown),
        cmocka_unit_test_setup_teardown(test_taps_and_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pages_back, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_controls, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_controls_dark, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_list, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_grid, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_dialog, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_toast, setup, teardown),
        cmocka_unit_test_setup_teardown(test_golden_images, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
