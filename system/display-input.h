/* display-input.h: a device's own input (evdev: touchscreens, mice, keyboards) for the drm and fbdev screens. */
#pragma once

#include <linux/input.h>
#include <stdbool.h>

#include "err.h"
#include "proto.h"

struct slated;

/*
 * Each /dev/input/event* node that is a touchscreen, a pointer or a keyboard is read
 * non-blocking in slated's loop, and ones plugged in later are found through inotify on
 * /dev/input. Used devices are grabbed (EVIOCGRAB): keys typed into an app do not also reach a
 * console's shell behind the screen. No libinput: a phone's touchscreen, a mouse and a plain US
 * keyboard need a few dozen lines of the kernel's own protocol, not a library.
 */

/* A pointer that moved with nothing pressed: for a cursor, never for apps. */
#define EVDEV_HOVER 0

/* kind: enum proto_input, or EVDEV_HOVER; x, y in screen pixels; key for INPUT_KEY and INPUT_TEXT. */
typedef void (*evdev_emit_fn)(void *userdata, int kind, int x, int y, const char *key);

/*
 * One device's decoding, kept apart from the files so that a test can feed it events. A touch
 * (multitouch slots: the first finger down is followed until it lifts; single touch: ABS_X,
 * ABS_Y and BTN_TOUCH; an absolute pointer such as a tablet: BTN_LEFT) or a mouse (relative
 * motion, BTN_LEFT) becomes down, move and up at each SYN_REPORT, scaled from the device's
 * range to the screen. Keys: Escape, Back and Alt+Left are "Back"; Return, BackSpace, Delete,
 * Left, Right, Home and End by those names (what the web viewer sends); printable keys are text
 * through a US layout (Shift, Caps Lock), none while Ctrl or Meta is held.
 */
struct evdev_decoder {
    int w, h;     /* the screen */
    bool abs, mt; /* absolute axes; multitouch slots */
    struct {
        int min, max;
    } ax, ay;          /* the device's range */
    int slot, primary; /* the slot being reported; the followed finger's slot, -1 for none */
    int abs_x, abs_y;  /* device units */
    int px, py;        /* a relative pointer's position, screen pixels */
    bool down, was_down, moved, dropped;
    bool shift, caps, ctrl, alt, meta;
};

/*
 * A decoder for a screen of w x h. x and y are the device's absolute axes (ABS_MT_POSITION_* when
 * mt, else ABS_X and ABS_Y; both NULL for a relative pointer or a keyboard); slot the current
 * ABS_MT_SLOT.
 */
void evdev_decoder_init(struct evdev_decoder *dec, int w, int h, const struct input_absinfo *x,
                        const struct input_absinfo *y, bool mt, int slot);
void evdev_decode(struct evdev_decoder *dec, const struct input_event *ev, evdev_emit_fn emit, void *userdata);

struct evdev;
/*
 * Start reading every input device into display_input, in screen pixels of s's display; hover
 * (may be NULL) hears a pointer's moves with no button down. No device at all is not a failure
 * (slate tap still works): it is logged once. 0 or a negative errno with one line in e.
 */
int evdev_open(struct slated *s, void (*hover)(struct slated *s, int x, int y), struct evdev **ret, struct err *e);
/* Stop, releasing the devices. Accepts NULL. */
void evdev_close(struct evdev *ev);
