/* rows.h: the UI benchmark's screen, one definition for the programs that draw it (slate-list, list-app, qt-list). */
#pragma once

#include <stddef.h>
#include <stdio.h>

/*
 * A settings-like list: 200 rows of 72 px, each a 48 px icon (a tinted circle
 * holding a 24 px Material icon, as settings screens draw theirs) and two
 * lines of text: a 17 px title and a 14 px second line, in Noto Sans. The
 * toolkit's rows are built from its public calls below; qt-list.cpp draws the
 * same geometry and colours (BENCH_* here, which are the theme's light
 * palette) with QPainter, and takes the texts from bench_row_text.
 */
#define BENCH_W 720
#define BENCH_H 1600
#define BENCH_ROWS 200
#define BENCH_ROW_H 72
#define BENCH_PAD_V 12    /* SLATE_SPACE_M: above and below the icon */
#define BENCH_PAD_H 16    /* SLATE_SPACE_L: left and right of the row */
#define BENCH_ICON 48     /* the circle */
#define BENCH_GLYPH 24    /* the icon in it (the theme's icon size) */
#define BENCH_TEXT_X 80   /* pad 16 + icon 48 + gap 16 */
#define BENCH_TITLE_PX 17 /* SLATE_TEXT_SUBTITLE: 17 px on a 24 px line */
#define BENCH_TITLE_LINE 24
#define BENCH_DETAIL_PX 14 /* SLATE_TEXT_CAPTION: 14 px on a 20 px line */
#define BENCH_DETAIL_LINE 20
/* The light theme's colours (lib/ui/theme.c), 0xRRGGBB. */
#define BENCH_SURFACE 0xfafafc            /* the page */
#define BENCH_ON_SURFACE 0x1b1c1f         /* the title */
#define BENCH_ON_SURFACE_VARIANT 0x5c6069 /* the second line */
#define BENCH_PRIMARY 0x2f5fd0            /* the icon */
#define BENCH_PRIMARY_CONTAINER 0xdbe4fb  /* its circle */

static const char *const bench_titles[16] = {
    "Wi-Fi",   "Bluetooth", "Display",  "Sound",    "Notifications", "Battery",  "Storage",     "Apps",
    "Privacy", "Location",  "Security", "Accounts", "Accessibility", "Language", "Date & time", "About phone",
};
static const char *const bench_details[16] = {
    "Connected to Home-5G",
    "On, visible as Slate phone",
    "Brightness, dark theme, font size",
    "Volume, vibration, ringtone",
    "App notifications, do not disturb",
    "82 %, about 1 day left",
    "41 GB used of 64 GB",
    "Default apps, permissions",
    "Permissions, account activity",
    "On, 7 apps have access",
    "Screen lock, fingerprint",
    "Sync, backup, passwords",
    "Screen reader, display, interaction",
    "English (United Kingdom)",
    "Automatic, GMT+00:00",
    "Slate 2026.12, API level 4",
};
/* Material Icons ligature names (fonts-material-design-icons-iconfont). */
static const char *const bench_icons[16] = {
    "wifi",        "bluetooth",   "brightness_6", "volume_up",      "notifications", "battery_full", "storage",  "apps",
    "privacy_tip", "location_on", "security",     "account_circle", "accessibility", "language",     "schedule", "info",
};

/* Row i's icon name and its two lines (every row differs: no two texts are the same layout). */
static inline const char *bench_row_text(size_t i, char *title, size_t title_size, char *detail, size_t detail_size) {
    snprintf(title, title_size, "%s %zu", bench_titles[i % 16], i + 1);
    snprintf(detail, detail_size, "%s · row %zu", bench_details[i % 16], i + 1);
    return bench_icons[i % 16];
}

#ifndef BENCH_ROWS_TEXT_ONLY
#include <slate/ui.h>

/* Row i as the toolkit's widgets (a slate_item_fn); counts the rows built in *(size_t *)userdata when given. */
static inline slate_widget *bench_row(size_t i, void *userdata) {
    char title[64], detail[96];
    const char *name = bench_row_text(i, title, sizeof title, detail, sizeof detail);
    if (userdata)
        ++*(size_t *)userdata;
    slate_widget *row = slate_row(), *icon = slate_icon(name), *lines = slate_column();
    slate_widget *t = slate_text(title, SLATE_TEXT_SUBTITLE), *d = slate_text(detail, SLATE_TEXT_CAPTION);
    slate_widget_set_padding(row, SLATE_SPACE_M, SLATE_SPACE_L);
    slate_widget_set_gap(row, SLATE_SPACE_L);
    slate_widget_set_align(row, SLATE_ALIGN_START, SLATE_ALIGN_CENTER);
    /* 12 + 24 + 12: the glyph centred in its 48 px circle. */
    slate_widget_set_size(icon, BENCH_ICON, BENCH_ICON);
    slate_widget_set_padding(icon, SLATE_SPACE_M, SLATE_SPACE_M);
    slate_widget_set_background(icon, SLATE_SHAPE_PILL, SLATE_COLOR_PRIMARY_CONTAINER);
    slate_text_set_color(icon, SLATE_COLOR_PRIMARY);
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
#endif
