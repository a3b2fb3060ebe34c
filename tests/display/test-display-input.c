/*
 * test-display-input.c: what the device backends make of the kernel's input events (evdev: touchscreens,
 * mice, keyboards) and how fbdev writes pixels in formats other than XRGB; no device needed.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "display-fbdev.h"
#include "display-input.h"

#define W 720
#define H 1600

/* What the decoder emitted, as text: "down 10 20", "key Back", "text a", ... */
struct log {
    char text[2048];
};

static void emit(void *userdata, int kind, int x, int y, const char *key) {
    static const char *const names[] = {"hover", "down", "move", "up", "cancel", "key", "text"};
    struct log *l = userdata;
    size_t at = strlen(l->text);
    if (kind == INPUT_KEY || kind == INPUT_TEXT)
        snprintf(l->text + at, sizeof l->text - at, "%s%s %s", at ? ", " : "", names[kind], key);
    else
        snprintf(l->text + at, sizeof l->text - at, "%s%s %d %d", at ? ", " : "", names[kind], x, y);
}

static void feed(struct evdev_decoder *dec, struct log *l, unsigned type, unsigned code, int value) {
    struct input_event ev = {.type = (uint16_t)type, .code = (uint16_t)code, .value = value};
    evdev_decode(dec, &ev, emit, l);
}

static void syn(struct evdev_decoder *dec, struct log *l) {
    feed(dec, l, EV_SYN, SYN_REPORT, 0);
}

/* A multitouch screen (range 0..4095 both ways): the first finger is followed; a second is ignored. */
static void test_multitouch(void **state) {
    (void)state;
    struct input_absinfo x = {.minimum = 0, .maximum = 4095}, y = {.minimum = 0, .maximum = 4095};
    struct evdev_decoder dec;
    struct log l = {""};
    evdev_decoder_init(&dec, W, H, &x, &y, true, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_SLOT, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_TRACKING_ID, 7);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_X, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_Y, 4095);
    feed(&dec, &l, EV_KEY, BTN_TOUCH, 1);
    feed(&dec, &l, EV_ABS, ABS_X, 0); /* the single-touch emulation: ignored beside the slots */
    syn(&dec, &l);
    /* A second finger comes and goes; the first moves. */
    feed(&dec, &l, EV_ABS, ABS_MT_SLOT, 1);
    feed(&dec, &l, EV_ABS, ABS_MT_TRACKING_ID, 8);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_X, 100);
    syn(&dec, &l);
    feed(&dec, &l, EV_ABS, ABS_MT_SLOT, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_X, 2048);
    syn(&dec, &l);
    feed(&dec, &l, EV_ABS, ABS_MT_SLOT, 1);
    feed(&dec, &l, EV_ABS, ABS_MT_TRACKING_ID, -1);
    syn(&dec, &l);
    feed(&dec, &l, EV_ABS, ABS_MT_SLOT, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_TRACKING_ID, -1);
    feed(&dec, &l, EV_KEY, BTN_TOUCH, 0);
    syn(&dec, &l);
    assert_string_equal(l.text, "down 0 1599, move 359 1599, up 359 1599");
}

/* A single-touch screen with an offset range; a touch outside it lands on the edge. */
static void test_single_touch(void **state) {
    (void)state;
    struct input_absinfo x = {.minimum = 100, .maximum = 900}, y = {.minimum = 50, .maximum = 1650};
    struct evdev_decoder dec;
    struct log l = {""};
    evdev_decoder_init(&dec, W, H, &x, &y, false, 0);
    feed(&dec, &l, EV_ABS, ABS_X, 500);
    feed(&dec, &l, EV_ABS, ABS_Y, 50);
    feed(&dec, &l, EV_KEY, BTN_TOUCH, 1);
    syn(&dec, &l);
    feed(&dec, &l, EV_ABS, ABS_X, 2000);
    syn(&dec, &l);
    feed(&dec, &l, EV_KEY, BTN_TOUCH, 0);
    syn(&dec, &l);
    /* Nothing pressed, nothing new: silence. */
    syn(&dec, &l);
    assert_string_equal(l.text, "down 359 0, move 719 0, up 719 0");
}

/* A mouse: relative moves from the screen's middle, clamped to it; BTN_LEFT presses; hovering is not input. */
static void test_mouse(void **state) {
    (void)state;
    struct evdev_decoder dec;
    struct log l = {""};
    evdev_decoder_init(&dec, W, H, NULL, NULL, false, 0);
    feed(&dec, &l, EV_REL, REL_X, 10);
    feed(&dec, &l, EV_REL, REL_Y, -20);
    syn(&dec, &l);
    feed(&dec, &l, EV_KEY, BTN_LEFT, 1);
    syn(&dec, &l);
    feed(&dec, &l, EV_REL, REL_X, -5000);
    syn(&dec, &l);
    feed(&dec, &l, EV_KEY, BTN_LEFT, 0);
    syn(&dec, &l);
    feed(&dec, &l, EV_KEY, BTN_RIGHT, 1); /* not a touch */
    feed(&dec, &l, EV_REL, REL_WHEEL, 1);
    syn(&dec, &l);
    assert_string_equal(l.text, "hover 370 780, down 370 780, move 0 780, up 0 780");
}

/* A tablet-like absolute pointer (QEMU's, say): BTN_LEFT is the touch. */
static void test_absolute_pointer(void **state) {
    (void)state;
    struct input_absinfo x = {.minimum = 0, .maximum = 32767}, y = {.minimum = 0, .maximum = 32767};
    struct evdev_decoder dec;
    struct log l = {""};
    evdev_decoder_init(&dec, W, H, &x, &y, false, 0);
    feed(&dec, &l, EV_ABS, ABS_X, 32767);
    feed(&dec, &l, EV_ABS, ABS_Y, 16384);
    syn(&dec, &l);
    feed(&dec, &l, EV_KEY, BTN_LEFT, 1);
    syn(&dec, &l);
    feed(&dec, &l, EV_KEY, BTN_LEFT, 0);
    syn(&dec, &l);
    assert_string_equal(l.text, "hover 719 799, down 719 799, up 719 799");
}

static void press(struct evdev_decoder *dec, struct log *l, unsigned code) {
    feed(dec, l, EV_KEY, code, 1);
    feed(dec, l, EV_KEY, code, 0);
}

/* Named keys as the web viewer names them; text through a US layout with Shift and Caps Lock. */
static void test_keys(void **state) {
    (void)state;
    struct evdev_decoder dec;
    struct log l = {""};
    evdev_decoder_init(&dec, W, H, NULL, NULL, false, 0);
    press(&dec, &l, KEY_ESC);
    press(&dec, &l, KEY_BACK);
    press(&dec, &l, KEY_ENTER);
    press(&dec, &l, KEY_BACKSPACE);
    press(&dec, &l, KEY_DELETE);
    press(&dec, &l, KEY_LEFT);
    press(&dec, &l, KEY_RIGHT);
    press(&dec, &l, KEY_HOME);
    press(&dec, &l, KEY_END);
    feed(&dec, &l, EV_KEY, KEY_LEFTALT, 1);
    press(&dec, &l, KEY_LEFT);
    feed(&dec, &l, EV_KEY, KEY_LEFTALT, 0);
    assert_string_equal(l.text, "key Back, key Back, key Return, key BackSpace, key Delete, key Left, key Right, "
                                "key Home, key End, key Back");
    l.text[0] = '\0';
    press(&dec, &l, KEY_A);
    feed(&dec, &l, EV_KEY, KEY_RIGHTSHIFT, 1);
    press(&dec, &l, KEY_A);
    press(&dec, &l, KEY_1);
    press(&dec, &l, KEY_SLASH);
    feed(&dec, &l, EV_KEY, KEY_RIGHTSHIFT, 0);
    press(&dec, &l, KEY_CAPSLOCK);
    press(&dec, &l, KEY_B);
    press(&dec, &l, KEY_2);
    press(&dec, &l, KEY_CAPSLOCK);
    press(&dec, &l, KEY_SPACE);
    feed(&dec, &l, EV_KEY, KEY_C, 1);
    feed(&dec, &l, EV_KEY, KEY_C, 2); /* held: it repeats */
    feed(&dec, &l, EV_KEY, KEY_C, 0);
    /* Ctrl and Meta type nothing; function keys and the like neither. */
    feed(&dec, &l, EV_KEY, KEY_LEFTCTRL, 1);
    press(&dec, &l, KEY_D);
    feed(&dec, &l, EV_KEY, KEY_LEFTCTRL, 0);
    feed(&dec, &l, EV_KEY, KEY_LEFTMETA, 1);
    press(&dec, &l, KEY_D);
    feed(&dec, &l, EV_KEY, KEY_LEFTMETA, 0);
    press(&dec, &l, KEY_F1);
    press(&dec, &l, KEY_VOLUMEUP);
    press(&dec, &l, KEY_KP7);
    assert_string_equal(l.text, "text a, text A, text !, text ?, text B, text 2, text  , text c, text c, text 7");
}

/* The kernel's buffer overran: a touch in progress is cancelled, and the rest of that report ignored. */
static void test_dropped(void **state) {
    (void)state;
    struct input_absinfo x = {.minimum = 0, .maximum = 719}, y = {.minimum = 0, .maximum = 1599};
    struct evdev_decoder dec;
    struct log l = {""};
    evdev_decoder_init(&dec, W, H, &x, &y, true, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_TRACKING_ID, 1);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_X, 10);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_Y, 20);
    syn(&dec, &l);
    feed(&dec, &l, EV_SYN, SYN_DROPPED, 0);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_X, 30);
    syn(&dec, &l);
    feed(&dec, &l, EV_ABS, ABS_MT_TRACKING_ID, 2);
    feed(&dec, &l, EV_ABS, ABS_MT_POSITION_X, 40);
    syn(&dec, &l);
    assert_string_equal(l.text, "down 10 20, cancel 10 20, down 40 20");
}

/* fbdev: XRGB as is; RGB565, BGR and 24-bit through the channel layout. */
static void test_fb_formats(void **state) {
    (void)state;
    const uint32_t px[3] = {0x00ff8000, 0x000000ff, 0x00123456};
    uint8_t out[16] = {0};
    struct fb_format xrgb = {.bpp = 32, .red = {16, 8, 0}, .green = {8, 8, 0}, .blue = {0, 8, 0}};
    struct fb_format rgb565 = {.bpp = 16, .red = {11, 5, 0}, .green = {5, 6, 0}, .blue = {0, 5, 0}};
    struct fb_format bgr = {.bpp = 32, .red = {0, 8, 0}, .green = {8, 8, 0}, .blue = {16, 8, 0}};
    struct fb_format rgb24 = {.bpp = 24, .red = {16, 8, 0}, .green = {8, 8, 0}, .blue = {0, 8, 0}};
    struct fb_format bad = {.bpp = 8, .red = {0, 3, 0}, .green = {3, 3, 0}, .blue = {6, 2, 0}};
    struct fb_format wide = {.bpp = 32, .red = {20, 10, 0}, .green = {10, 10, 0}, .blue = {0, 10, 0}};
    assert_true(fb_format_supported(&xrgb) && fb_format_supported(&rgb565) && fb_format_supported(&bgr) &&
                fb_format_supported(&rgb24));
    assert_false(fb_format_supported(&bad));
    assert_false(fb_format_supported(&wide));

    fb_convert_row(&xrgb, out, px, 3);
    assert_memory_equal(out, px, 12);

    fb_convert_row(&rgb565, out, px, 3);
    uint16_t v[3];
    memcpy(v, out, 6);
    assert_int_equal(v[0], 0xfc00); /* red 31, green 32, blue 0 */
    assert_int_equal(v[1], 0x001f);
    assert_int_equal(v[2], (0x12 >> 3) << 11 | (0x34 >> 2) << 5 | 0x56 >> 3);

    fb_convert_row(&bgr, out, px, 1);
    uint32_t b;
    memcpy(&b, out, 4);
    assert_int_equal(b, 0x000080ff);

    memset(out, 0xee, sizeof out);
    fb_convert_row(&rgb24, out, px, 2);
    const uint8_t want24[] = {0x00, 0x80, 0xff, 0xff, 0x00, 0x00, 0xee};
    assert_memory_equal(out, want24, sizeof want24);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_multitouch),       cmocka_unit_test(test_single_touch), cmocka_unit_test(test_mouse),
        cmocka_unit_test(test_absolute_pointer), cmocka_unit_test(test_keys),         cmocka_unit_test(test_dropped),
        cmocka_unit_test(test_fb_formats),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
