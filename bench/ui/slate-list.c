/*
 * slate-list.c: the toolkit drawing the UI benchmark's screen (rows.h) offscreen at 720x1600, timed: a full
 * frame, a one-row scroll frame, and the floors (a memset and a one-row memmove of the frame).
 *
 * It calls the toolkit's internals (lib/ui/window.h) as its tests do, with the same code an app runs: the
 * page is a slate_list of 200 rows built by bench_row as they come into view. A full frame is
 * ui_damage_all() then ui_render(): every pixel drawn again. A scroll frame is what a slow drag does: one
 * pointer move of 72 px (one row) delivered with ui_input, then ui_render(): the list moves the pixels on
 * screen (paint_scroll), builds the row that comes into view, and draws only that strip. The drag runs down
 * the list and back, so every frame scrolls by exactly one row.
 *
 * Prints "result NAME N MEAN MEDIAN P90 MIN" lines (ms) and "info KEY VALUE" lines for bench/ui.sh, and
 * writes the last frame (after the scroll frames) to OUT.png. It also checks the scrolled frame against a
 * full redraw of the same position: a scroll path that drew less than it should would show there.
 *
 * usage: slate-list FRAMES WARMUP OUT.png [full|scroll]
 * With full or scroll, only that part runs (for a profiler: perf record -g slate-list 3000 30 x.png full).
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "png-save.h"
#include "window.h"

#include "rows.h"

#define MAX_OFFSET (BENCH_ROWS * BENCH_ROW_H - BENCH_H)

static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

static int cmp_double(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

static void report(const char *name, double *v, int n) {
    double sum = 0;
    for (int i = 0; i < n; i++)
        sum += v[i];
    qsort(v, (size_t)n, sizeof *v, cmp_double);
    double median = n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
    printf("result %s %d %.4f %.4f %.4f %.4f\n", name, n, sum / n, median, v[(n * 9 + 9) / 10 - 1], v[0]);
}

/* A finger dragging the list one row per frame: up the screen (the content moves up) to the end, then back. */
static struct finger {
    bool down;
    int y, dir; /* dir 1: the finger moves up, the list shows rows further on */
    int offset; /* the list's offset, followed here: each move is one whole row */
    uint64_t t;
} finger = {.dir = 1};

/* Untimed: the finger lifted and put down again where it has a row of room to move, or the direction turned. */
static void finger_ready(void) {
    if (finger.offset + finger.dir * BENCH_ROW_H > MAX_OFFSET || finger.offset + finger.dir * BENCH_ROW_H < 0) {
        finger.dir = -finger.dir;
        if (finger.down) {
            ui_input(UI_INPUT_UP, BENCH_W / 2, finger.y, finger.t += 500000, NULL);
            finger.down = false;
        }
    }
    int next = finger.y - finger.dir * BENCH_ROW_H;
    if (finger.down && next >= 4 && next < BENCH_H - 4)
        return;
    if (finger.down)
        ui_input(UI_INPUT_UP, BENCH_W / 2, finger.y, finger.t += 500000, NULL);
    /* Events 0.5 s apart: a drag this slow never flings when the finger lifts. */
    finger.y = finger.dir > 0 ? BENCH_H - 4 : 4;
    ui_input(UI_INPUT_DOWN, BENCH_W / 2, finger.y, finger.t += 500000, NULL);
    finger.down = true;
    ui_render();
}

/* Timed: one move of one row, and the frame it makes. */
static void finger_move(void) {
    finger.y -= finger.dir * BENCH_ROW_H;
    finger.offset += finger.dir * BENCH_ROW_H;
    ui_input(UI_INPUT_MOVE, BENCH_W / 2, finger.y, finger.t += 500000, NULL);
    ui_render();
}

static int write_png(const struct surface *s, const char *path) {
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0)
        return -1;
    int r = png_save(s->px, s->w, s->h, s->stride, fd, NULL);
    return close(fd) < 0 || r < 0 ? -1 : 0;
}

int main(int argc, char **argv) {
    if (argc < 4 || argc > 5 || atoi(argv[1]) < 1 || atoi(argv[2]) < 0 ||
        (argc == 5 && strcmp(argv[4], "full") && strcmp(argv[4], "scroll"))) {
        fprintf(stderr, "usage: slate-list FRAMES WARMUP OUT.png [full|scroll]\n");
        return 100;
    }
    int frames = atoi(argv[1]), warmup = atoi(argv[2]);
    const char *only = argc == 5 ? argv[4] : NULL;
    double *v = calloc((size_t)frames, sizeof *v);
    size_t built = 0;
    if (!v)
        return 111;

    double t0 = now_ms();
    if (ui_offscreen(BENCH_W, BENCH_H, false) < 0)
        return 111;
    slate_ui_push(slate_list(BENCH_ROWS, bench_row, &built), NULL);
    const struct surface *s = ui_render();
    if (!s)
        return 111;
    printf("info first_frame_ms %.2f\n", now_ms() - t0); /* fonts and libraries loaded, every row laid out */
    printf("info rows_on_screen %zu\n", built);

    if (!only || !strcmp(only, "full")) {
        for (int i = 0; i < warmup + frames; i++) {
            ui_damage_all();
            double t = now_ms();
            ui_render();
            if (i >= warmup)
                v[i - warmup] = now_ms() - t;
        }
        report("full", v, frames);
        if (only)
            return 0;
    }

    size_t built_before = 0;
    for (int i = 0; i < warmup + frames; i++) {
        finger_ready();
        if (i == warmup)
            built_before = built;
        double t = now_ms();
        finger_move();
        if (i >= warmup)
            v[i - warmup] = now_ms() - t;
    }
    report("scroll", v, frames);
    printf("info rows_built_per_scroll_frame %.2f\n", (double)(built - built_before) / frames);
    printf("info final_offset %d\n", finger.offset);
    if (only)
        return 0;

    /* The scrolled frame against a full redraw of the same position. */
    size_t n_px = (size_t)s->stride * (size_t)s->h;
    uint32_t *scrolled = malloc(n_px * sizeof *scrolled);
    if (!scrolled)
        return 111;
    memcpy(scrolled, s->px, n_px * sizeof *scrolled);
    if (write_png(s, argv[3]) < 0) {
        fprintf(stderr, "slate-list: cannot write %s\n", argv[3]);
        return 111;
    }
    ui_damage_all();
    ui_render();
    size_t differ = 0;
    for (size_t i = 0; i < n_px; i++)
        differ += scrolled[i] != s->px[i];
    printf("info scroll_vs_full_redraw_pixels_differing %zu\n", differ);

    /* The floors: every pixel written once (memset), and a scroll's blit alone (one memmove of the frame by a row). */
    for (int i = 0; i < warmup + frames; i++) {
        double t = now_ms();
        memset(s->px, 0xfa + i % 2, n_px * sizeof *s->px);
        __asm__ volatile("" : : "r"(s->px) : "memory"); /* the stores happen: nothing reads them here */
        if (i >= warmup)
            v[i - warmup] = now_ms() - t;
    }
    report("memset", v, frames);
    for (int i = 0; i < warmup + frames; i++) {
        double t = now_ms();
        memmove(s->px, s->px + (size_t)s->stride * BENCH_ROW_H,
                (n_px - (size_t)s->stride * BENCH_ROW_H) * sizeof *s->px);
        __asm__ volatile("" : : "r"(s->px) : "memory");
        if (i >= warmup)
            v[i - warmup] = now_ms() - t;
    }
    report("memmove", v, frames);

    free(scrolled);
    free(v);
    return 0;
}
