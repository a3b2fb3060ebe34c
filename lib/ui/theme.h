/* theme.h: the system's one look: every colour, type size, space and shape the toolkit draws with. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include <slate/ui.h>

#include "text.h"

/*
 * The design tokens, in one place. Widgets never name a colour or a size of
 * their own: they ask the theme for a role. Two palettes (light and dark) over
 * one set of sizes; the user's choice comes from slated with the display and
 * may change while the app runs, so painting always reads the current theme.
 */
#define THEME_COLORS (SLATE_COLOR_ERROR + 1)
#define THEME_TEXT_STYLES (SLATE_TEXT_CAPTION + 1)

struct theme {
    bool dark;
    uint32_t color[THEME_COLORS]; /* 0xAARRGGBB, by enum slate_color */
    uint32_t scrim;               /* behind a dialog */
    uint32_t pressed;             /* the veil over a pressed control */
    struct text_style text[THEME_TEXT_STYLES];
    int space[SLATE_SPACE_XXL + 1]; /* by enum slate_space */
    int radius_card, radius_control;
    int touch;      /* the least height of anything tapped */
    int icon;       /* an icon's size */
    int bar;        /* a page's top bar */
    int shadow_blur, shadow_dy;
    uint32_t shadow; /* the card's shadow colour */
    int divider;     /* a divider's thickness */
};

/* The theme for the user's choice. */
const struct theme *theme_get(bool dark);
