/* theme.c: the light and the dark palette over one scale of type, space and shape. */
#include "theme.h"

/* Sizes are shared: only colours differ between light and dark. */
#define SIZES                                                                                                          \
    .text =                                                                                                            \
        {                                                                                                              \
            [SLATE_TEXT_BODY] = {.size = 17, .weight = FONT_REGULAR, .line_height = 24},                               \
            [SLATE_TEXT_DISPLAY] = {.size = 40, .weight = FONT_LIGHT, .line_height = 48},                              \
            [SLATE_TEXT_TITLE] = {.size = 22, .weight = FONT_BOLD, .line_height = 28},                                 \
            [SLATE_TEXT_SUBTITLE] = {.size = 17, .weight = FONT_MEDIUM, .line_height = 24},                            \
            [SLATE_TEXT_LABEL] = {.size = 15, .weight = FONT_MEDIUM, .line_height = 20},                               \
            [SLATE_TEXT_CAPTION] = {.size = 14, .weight = FONT_REGULAR, .line_height = 20},                            \
        },                                                                                                             \
    .space = {0, 4, 8, 12, 16, 24, 32}, .radius_card = 12, .radius_control = 20, .touch = 48, .icon = 24, .bar = 56,   \
    .shadow_blur = 8, .shadow_dy = 2, .divider = 1

static const struct theme light = {
    .dark = false,
    .color =
        {
            [SLATE_COLOR_ON_SURFACE] = 0xff1b1c1f,
            [SLATE_COLOR_ON_SURFACE_VARIANT] = 0xff5c6069,
            [SLATE_COLOR_PRIMARY] = 0xff2f5fd0,
            [SLATE_COLOR_ON_PRIMARY] = 0xffffffff,
            [SLATE_COLOR_SURFACE] = 0xfffafafc,
            [SLATE_COLOR_SURFACE_VARIANT] = 0xffeceef3,
            [SLATE_COLOR_PRIMARY_CONTAINER] = 0xffdbe4fb,
            [SLATE_COLOR_OUTLINE] = 0xffd5d8df,
            [SLATE_COLOR_ERROR] = 0xffc62828,
        },
    .scrim = 0x66000000,
    .pressed = 0x1f000000,
    .shadow = 0x33000000,
    SIZES,
};

static const struct theme dark = {
    .dark = true,
    .color =
        {
            [SLATE_COLOR_ON_SURFACE] = 0xffe4e5ea,
            [SLATE_COLOR_ON_SURFACE_VARIANT] = 0xffa4a8b2,
            [SLATE_COLOR_PRIMARY] = 0xff9bb6ff,
            [SLATE_COLOR_ON_PRIMARY] = 0xff0b2a6b,
            [SLATE_COLOR_SURFACE] = 0xff121316,
            [SLATE_COLOR_SURFACE_VARIANT] = 0xff22242a,
            [SLATE_COLOR_PRIMARY_CONTAINER] = 0xff253a6e,
            [SLATE_COLOR_OUTLINE] = 0xff363941,
            [SLATE_COLOR_ERROR] = 0xffff8a80,
        },
    .scrim = 0x99000000,
    .pressed = 0x24ffffff,
    .shadow = 0x66000000,
    SIZES,
};

const struct theme *theme_get(bool is_dark) {
    return is_dark ? &dark : &light;
}
