/*
 * gallery.c: every widget of the toolkit on a few pages, in the system's theme (API level 4).
 * It is the toolkit's visual test too: its pages are the golden images' subjects, and `make run`
 * shows it in the web viewer.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <slate/slate.h>

#define ROWS 1000 /* the list page: only the rows on screen exist */

static slate_widget *status_line;

static slate_widget *section(const char *title) {
    slate_widget *t = slate_text(title, SLATE_TEXT_SUBTITLE);
    slate_text_set_color(t, SLATE_COLOR_PRIMARY);
    return t;
}

static void say(const char *what) {
    slate_text_set(status_line, what);
}

/* ---- controls ---- */

static void on_switch(slate_widget *w, bool on, void *ud) {
    (void)w, (void)ud;
    say(on ? "Wi-Fi on" : "Wi-Fi off");
}

static void on_slider(slate_widget *w, double v, void *ud) {
    char text[64];
    (void)w, (void)ud;
    snprintf(text, sizeof text, "Brightness %d%%", (int)(v * 100 + 0.5));
    say(text);
}

static void on_field(slate_widget *w, const char *text, void *ud) {
    char line[160];
    (void)w, (void)ud;
    snprintf(line, sizeof line, "Name: %s", text);
    say(line);
}

static void on_choice(bool confirmed, void *ud) {
    (void)ud;
    say(confirmed ? "Deleted" : "Kept");
}

static void on_dialog(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    slate_ui_dialog("Delete the photo?", "It goes from this device and cannot come back.", "Delete", "Keep", on_choice,
                    NULL);
}

static void on_toast(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    slate_ui_toast("Saved");
}

/* ---- the list page: a settings-like list of a thousand rows ---- */

static const char *const icons[] = {"wifi", "bluetooth", "battery_full", "notifications", "lock", "language",
                                    "palette", "storage", "info", "apps"};

static slate_widget *list_row(size_t i, void *ud) {
    (void)ud;
    char title[64], detail[96];
    snprintf(title, sizeof title, "Setting %zu", i + 1);
    snprintf(detail, sizeof detail, "What setting %zu does, in one line that may be cut", i + 1);
    slate_widget *row = slate_row(), *icon = slate_icon(icons[i % 10]), *lines = slate_column();
    slate_widget_set_padding(row, SLATE_SPACE_M, SLATE_SPACE_L);
    slate_widget_set_gap(row, SLATE_SPACE_L);
    slate_widget_set_size(icon, 48, 48);
    slate_text_set_color(icon, SLATE_COLOR_PRIMARY);
    slate_widget *t = slate_text(title, SLATE_TEXT_SUBTITLE), *d = slate_text(detail, SLATE_TEXT_CAPTION);
    slate_text_set_max_lines(t, 1);
    slate_text_set_max_lines(d, 1);
    slate_text_set_color(d, SLATE_COLOR_ON_SURFACE_VARIANT);
    slate_widget_add(lines, t);
    slate_widget_add(lines, d);
    slate_widget_set_flex(lines, 1);
    slate_widget_add(row, icon);
    slate_widget_add(row, lines);
    return row;
}

static void open_list(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    slate_ui_push(slate_list(ROWS, list_row, NULL), "A thousand rows");
}

/* ---- the grid page ---- */

/* A card with a little room around it: the grid's items touch, their padding is the gutter. */
static slate_widget *padded(slate_widget *w) {
    slate_widget *outer = slate_column();
    slate_widget_set_padding(outer, SLATE_SPACE_XS, SLATE_SPACE_XS);
    slate_widget_add(outer, w);
    return outer;
}

static slate_widget *grid_cell(size_t i, void *ud) {
    (void)ud;
    char label[16];
    snprintf(label, sizeof label, "%zu", i + 1);
    slate_widget *cell = slate_column(), *t = slate_text(label, SLATE_TEXT_TITLE);
    slate_widget_set_size(cell, 0, 120);
    slate_widget_set_background(cell, SLATE_SHAPE_CARD, i % 3 ? SLATE_COLOR_SURFACE_VARIANT : SLATE_COLOR_PRIMARY_CONTAINER);
    slate_widget_set_align(cell, SLATE_ALIGN_CENTER, SLATE_ALIGN_CENTER);
    slate_widget_add(cell, t);
    return padded(cell);
}

static void open_grid(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    slate_widget *g = slate_grid(300, 3, grid_cell, NULL);
    slate_widget_set_padding(g, SLATE_SPACE_S, SLATE_SPACE_S);
    slate_ui_push(g, "Grid");
}

/* ---- pictures: one of each format, cropped into a grid, whole on their own page ---- */

static const char *const pictures[] = {"/app/share/pictures/hills.jpg", "/app/share/pictures/sunset.webp",
                                       "/app/share/pictures/tiles.png"};
#define PICTURES (sizeof pictures / sizeof *pictures)

static void open_picture(slate_widget *w, void *ud) {
    (void)w;
    const char *path = ud;
    slate_widget *image = slate_image(path, SLATE_FIT_CONTAIN);
    slate_widget_set_flex(image, 1);
    slate_ui_push(image, strrchr(path, '/') + 1);
}

/* A stack: the picture, and over its lower corner a pill naming its format. */
static slate_widget *picture_cell(size_t i, void *ud) {
    (void)ud;
    const char *path = pictures[i % PICTURES];
    slate_widget *stack = slate_stack(), *image = slate_image(path, SLATE_FIT_COVER);
    slate_widget *corner = slate_column(), *pill = slate_row();
    slate_widget_set_size(image, 0, 220);
    slate_widget_set_align(stack, SLATE_ALIGN_STRETCH, SLATE_ALIGN_STRETCH);
    slate_widget_set_align(corner, SLATE_ALIGN_END, SLATE_ALIGN_START);
    slate_widget_set_padding(corner, SLATE_SPACE_S, SLATE_SPACE_S);
    slate_widget_set_background(pill, SLATE_SHAPE_PILL, SLATE_COLOR_SURFACE);
    slate_widget_set_padding(pill, SLATE_SPACE_XS, SLATE_SPACE_M);
    slate_widget_add(pill, slate_text(strrchr(path, '.') + 1, SLATE_TEXT_CAPTION));
    slate_widget_add(corner, pill);
    slate_widget_add(stack, image);
    slate_widget_add(stack, corner);
    slate_widget_on_tap(stack, open_picture, (void *)path);
    return padded(stack);
}

static void open_pictures(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    slate_widget *g = slate_grid(PICTURES * 4, 2, picture_cell, NULL);
    slate_widget_set_padding(g, SLATE_SPACE_S, SLATE_SPACE_S);
    slate_ui_push(g, "Pictures");
}

/* ---- scripts: one toolkit shapes them all ---- */

static void open_scripts(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    static const char *const lines[] = {
        "English: The quick brown fox jumps over the lazy dog.",
        "العربية: مرحبا بالعالم، هذا نص من اليمين إلى اليسار.",
        "עברית: שלום עולם, טקסט מימין לשמאל.",
        "हिन्दी: नमस्ते दुनिया, क्षमा कीजिए।",
        "ไทย: สวัสดีครับ ยินดีที่ได้รู้จัก",
    };
    slate_widget *col = slate_column();
    slate_widget_set_padding(col, SLATE_SPACE_L, SLATE_SPACE_L);
    slate_widget_set_gap(col, SLATE_SPACE_L);
    for (size_t i = 0; i < sizeof lines / sizeof *lines; i++)
        slate_widget_add(col, slate_text(lines[i], SLATE_TEXT_BODY));
    slate_ui_push(slate_scroll(col), "Scripts");
}

/* ---- the first page ---- */

static slate_widget *nav_row(const char *icon, const char *label, slate_action_fn fn) {
    slate_widget *row = slate_row(), *i = slate_icon(icon), *t = slate_text(label, SLATE_TEXT_BODY);
    slate_widget_set_padding(row, SLATE_SPACE_M, SLATE_SPACE_L);
    slate_widget_set_gap(row, SLATE_SPACE_L);
    slate_widget_set_flex(t, 1);
    slate_widget_add(row, i);
    slate_widget_add(row, t);
    slate_widget_add(row, slate_icon("chevron_right"));
    slate_widget_on_tap(row, fn, NULL);
    return row;
}

static slate_widget *home(void) {
    slate_widget *col = slate_column();
    slate_widget_set_padding(col, SLATE_SPACE_L, SLATE_SPACE_NONE);
    slate_widget_set_gap(col, SLATE_SPACE_S);

    slate_widget *texts = slate_column();
    slate_widget_set_padding(texts, SLATE_SPACE_NONE, SLATE_SPACE_L);
    slate_widget_set_gap(texts, SLATE_SPACE_XS);
    slate_widget_add(texts, section("Text"));
    slate_widget_add(texts, slate_text("21°", SLATE_TEXT_DISPLAY));
    slate_widget_add(texts, slate_text("A title", SLATE_TEXT_TITLE));
    slate_widget *body = slate_text("Body text wraps at the width it is given, and a long paragraph keeps going "
                                    "until it reaches the limit of lines set for it, where an ellipsis cuts it.",
                                    SLATE_TEXT_BODY);
    slate_text_set_max_lines(body, 2);
    slate_widget_add(texts, body);
    slate_widget *caption = slate_text("A caption, quieter", SLATE_TEXT_CAPTION);
    slate_text_set_color(caption, SLATE_COLOR_ON_SURFACE_VARIANT);
    slate_widget_add(texts, caption);
    slate_widget_add(col, texts);

    slate_widget *controls = slate_column();
    slate_widget_set_padding(controls, SLATE_SPACE_S, SLATE_SPACE_L);
    slate_widget_set_gap(controls, SLATE_SPACE_S);
    slate_widget_add(controls, section("Controls"));
    slate_widget *buttons = slate_row();
    slate_widget_set_gap(buttons, SLATE_SPACE_S);
    slate_widget_add(buttons, slate_button("Delete", SLATE_BUTTON_FILLED, on_dialog, NULL));
    slate_widget_add(buttons, slate_button("Save", SLATE_BUTTON_TONAL, on_toast, NULL));
    slate_widget_add(buttons, slate_button("Later", SLATE_BUTTON_TEXT, NULL, NULL));
    slate_widget_add(controls, buttons);
    slate_widget *wifi = slate_row(), *label = slate_text("Wi-Fi", SLATE_TEXT_BODY);
    slate_widget_set_flex(label, 1);
    slate_widget_add(wifi, label);
    slate_widget_add(wifi, slate_switch(true, on_switch, NULL));
    slate_widget_add(controls, wifi);
    slate_widget_add(controls, slate_slider(0.6, on_slider, NULL));
    slate_widget_add(controls, slate_text_field("Your name", on_field, NULL));
    status_line = slate_text("Touch something", SLATE_TEXT_CAPTION);
    slate_text_set_color(status_line, SLATE_COLOR_ON_SURFACE_VARIANT);
    slate_widget_add(controls, status_line);
    slate_widget_add(col, controls);

    slate_widget *card = slate_column();
    slate_widget_set_padding(card, SLATE_SPACE_L, SLATE_SPACE_L);
    slate_widget_set_background(card, SLATE_SHAPE_CARD, SLATE_COLOR_PRIMARY_CONTAINER);
    slate_widget *in_card = slate_text("A card lifts what belongs together.", SLATE_TEXT_BODY);
    slate_widget_add(card, in_card);
    slate_widget *card_pad = slate_column();
    slate_widget_set_padding(card_pad, SLATE_SPACE_S, SLATE_SPACE_L);
    slate_widget_add(card_pad, card);
    slate_widget_add(col, card_pad);

    slate_widget_add(col, nav_row("list", "A list of a thousand rows", open_list));
    slate_widget_add(col, nav_row("grid_view", "A grid", open_grid));
    slate_widget_add(col, nav_row("image", "Pictures: JPEG, WebP, PNG", open_pictures));
    slate_widget_add(col, nav_row("translate", "Scripts of the world", open_scripts));
    return slate_scroll(col);
}

static void on_start(void *ud) {
    (void)ud;
    slate_ui_push(home(), "Widget gallery");
}

int main(void) {
    struct slate_app_callbacks cb = {.size = sizeof cb, .on_start = on_start};
    return slate_app_run(&cb, NULL);
}
