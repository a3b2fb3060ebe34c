/* window.h: an app's one window: pages, overlays, frames into the display's buffer, input (internal). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "paint.h"

/*
 * Under slated the window draws into a shared-memory buffer slated gave the
 * size of (MSG_DISPLAY) and hands over each frame's damage (MSG_FRAME); it
 * draws again only once slated says the buffer is free (MSG_FRAME_DONE). Run
 * by hand, or in a test, it draws into memory of its own (ui_offscreen).
 */

/* What slated says about the display, and what input it routes here (lib/channel.c queues them). */
struct ui_display {
    int width, height; /* the app's part of the screen, in pixels */
    bool dark;
};
void ui_display_configure(const struct ui_display *d);
void ui_frame_done(void);

enum ui_input_kind {
    UI_INPUT_DOWN = 1,
    UI_INPUT_MOVE = 2,
    UI_INPUT_UP = 3,
    UI_INPUT_CANCEL = 4,
    UI_INPUT_KEY = 5,  /* a named key: "Back", "BackSpace", "Return", "Left", ... */
    UI_INPUT_TEXT = 6, /* text typed */
};
void ui_input(enum ui_input_kind kind, int x, int y, uint64_t time_us, const char *key);

/* slate_app_run's loop, before it waits: draw a frame if one is due and the buffer is free. */
void ui_before_wait(void);

/* Tests and standalone runs: draw into memory of w x h, in the light or dark theme. */
int ui_offscreen(int w, int h, bool dark);
/* Lay out and draw what is due now (tests); the window's pixels. */
const struct surface *ui_render(void);
/* Draw every pixel again at the next frame (benchmarks: a full frame). */
void ui_damage_all(void);
/* Drop every page, dialog and toast (tests). */
void ui_reset(void);
