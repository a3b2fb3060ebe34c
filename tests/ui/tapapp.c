/*
 * tapapp.c: the display tests' app: one big button whose taps it counts (on screen and on stdout), and
 * one that opens a second page holding a long list (for swipes, Back and the back gesture).
 */
#include <stdio.h>

#include <slate/slate.h>

static slate_widget *count;
static int taps;

static void on_tap(slate_widget *w, void *ud) {
    char text[32];
    (void)w, (void)ud;
    snprintf(text, sizeof text, "Tapped %d", ++taps);
    slate_text_set(count, text);
    printf("tapped %d\n", taps);
    fflush(stdout);
}

static slate_widget *row(size_t i, void *ud) {
    char text[32];
    (void)ud;
    snprintf(text, sizeof text, "Row %zu", i);
    slate_widget *r = slate_text(text, SLATE_TEXT_BODY);
    slate_widget_set_padding(r, SLATE_SPACE_L, SLATE_SPACE_L);
    return r;
}

static void on_open(slate_widget *w, void *ud) {
    (void)w, (void)ud;
    slate_ui_push(slate_list(100, row, NULL), "Second page");
    printf("opened\n");
    fflush(stdout);
}

static void on_start(void *ud) {
    (void)ud;
    slate_widget *page = slate_column();
    slate_widget_set_align(page, SLATE_ALIGN_CENTER, SLATE_ALIGN_CENTER);
    slate_widget_set_gap(page, SLATE_SPACE_XL);
    count = slate_text("Not tapped", SLATE_TEXT_DISPLAY);
    slate_widget *button = slate_button("Tap me", SLATE_BUTTON_FILLED, on_tap, NULL);
    slate_widget_set_size(button, 480, 240);
    slate_widget_add(page, count);
    slate_widget_add(page, button);
    slate_widget_add(page, slate_button("Open a page", SLATE_BUTTON_TONAL, on_open, NULL));
    slate_ui_push(page, "Tap test");
}

int main(void) {
    struct slate_app_callbacks cb = {.size = sizeof cb, .on_start = on_start};
    return slate_app_run(&cb, NULL);
}
