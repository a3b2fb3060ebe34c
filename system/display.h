/* display.h: the screen slated owns: the foreground app's frames under the status bar, onto a backend. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "paint.h"
#include "proto.h"

struct slated;
struct unit;
struct loop_source;

/*
 * Apps draw into shared memory of their own (a sealed memfd each hands over
 * with MSG_SURFACE) and say which rectangles changed (MSG_FRAME). slated copies
 * those rectangles of the foreground app into the screen, below the status bar
 * it draws itself (the clock and the app's label, with the toolkit's own text
 * and theme), tells the backend what changed, and gives the app its buffer
 * back (MSG_FRAME_DONE): an app never waits for the screen, and never draws
 * into what slated is reading. Only the foreground app is shown; input reaches
 * only it (pointers in its coordinates, below the bar); the back key goes to it.
 *
 * Backends (chosen at start, `slated --display NAME`): headless (the screen in
 * memory, for `slate shot` and tests), web[:PORT] (a page on 127.0.0.1 that
 * shows the screen and sends input back), sdl (a window on a desktop), drm and
 * fbdev (a device's own screen).
 */
#define DISPLAY_WIDTH 720
#define DISPLAY_HEIGHT 1600
#define STATUS_BAR 48

struct display_backend {
    const char *name;
    /*
     * Start on the display (arg: what came after "NAME:"); 0 or a negative errno with one line in e.
     * It may set the screen's size (s->display->w, h: a device's mode) before the screen is made;
     * it must not touch s->display->screen, which does not exist yet. close undoes a successful open.
     */
    int (*open)(struct slated *s, const char *arg, struct err *e);
    /* The screen changed inside r. */
    void (*damage)(struct slated *s, struct rect r);
    void (*close)(struct slated *s);
};

/* What an app drew into: mapped read-only from its memfd. */
struct app_surface {
    const uint32_t *px;
    size_t size;
    int w, h, stride; /* stride in pixels */
};

struct display {
    const struct display_backend *backend;
    void *backend_state;
    uint32_t *screen; /* XRGB, w x h (DISPLAY_WIDTH x DISPLAY_HEIGHT unless the backend's device says otherwise) */
    int w, h;
    bool dark;
    struct unit *shown; /* the app whose frames are on the screen */
    struct loop_source *clock;
    struct {
        bool active; /* a touch went down on the left edge: the back gesture, maybe */
        int x, y;    /* where */
    } edge;
};

/* Add what the toolkit loads and reads (libraries, fonts) to what every sandbox binds (s->libs). */
int display_sandbox_files(struct slated *s, struct err *e);

/* Open the display named by spec ("headless", "web", "web:8080", ...); 0 or a negative errno. */
int display_open(struct slated *s, const char *spec, struct err *e);
void display_close(struct slated *s);

/* An app's channel said hello: it learns the display's size and theme. */
void display_hello(struct unit *u);
/* MSG_SURFACE and MSG_FRAME from an app. */
int display_attach(struct unit *u, int memfd, int w, int h, int stride_bytes, struct err *e);
void display_frame(struct unit *u, const uint8_t *rects, size_t len);
/* The app ended: its buffer goes. */
void display_detach(struct unit *u);
/* The foreground app changed (or went): show it. */
void display_foreground(struct slated *s);

/*
 * The device's own settings (the theme) live beside the apps' in the settings
 * table, under an id no app can have.
 */
#define DEVICE_SETTINGS_ID "@device"
/* The theme the user last chose (slate theme): dark or not; light until chosen. */
bool display_saved_dark(struct slated *s);

/* The user's theme changed: every app is told (MSG_DISPLAY), the status bar is drawn again. */
void display_set_theme(struct slated *s, bool dark);

/*
 * A line of input from the web viewer's page: "down|move|up|cancel X Y" (screen pixels, may be
 * off the screen), "key NAME" or "text TEXT" (printable UTF-8, shorter than INPUT_KEY_MAX).
 * line is cut in place (key points into it); 0 or -EINVAL.
 */
struct web_input {
    enum proto_input kind;
    int x, y;
    const char *key;
};
int web_parse_input(char *line, struct web_input *ret);

/* Input in screen coordinates (backends, slate tap/swipe/key): to the app on screen. */
void display_input(struct slated *s, enum proto_input kind, int x, int y, const char *key);
