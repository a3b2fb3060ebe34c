/*
 * test-screen.c: the screen through the real slated (--display headless) and the real slate: shot, tap,
 * swipe, key, the back gesture and the theme, with the tap test app (tapapp.c) in the foreground.
 *
 * Needs root (slated's sandboxes and cgroups); skips, saying why, where that is missing.
 */
#include <errno.h>
#include <fcntl.h>
#include <png.h>
#include <poll.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "helpers.h"
#include "util.h"

#define SCREEN_W 720
#define SCREEN_H 1600
#define BAR 48

static const char *slated_bin, *tapapp;
static char skip_reason[256];

struct device {
    struct test_device dev;
    pid_t pid;
    char *log;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

/* ---- the device ---- */

static void install_tapapp(struct device *d) {
    char *src = test_fmt("%s/src", d->dev.dir), *bin = test_fmt("%s/files/bin", src);
    const char *manifest = "[package]\nid = org.test.tap\nversion = 1.0.0\napi_level = 4\nclass = app\n\n"
                           "[app]\nexec = bin/tapapp\nlabel = Tap test\nmemory = 64M\n";
    char *mpath = test_fmt("%s/manifest", src), *bpath = test_fmt("%s/tapapp", bin), *slp = test_fmt("%s.slp", src);
    assert_int_equal(mkdir_parents_at(AT_FDCWD, bin), 0);
    test_write(mpath, manifest, strlen(manifest), 0644);
    size_t len;
    char *elf = test_read(tapapp, &len), *err = NULL;
    test_write(bpath, elf, len, 0755);
    if (run_slate(NULL, &err, "pack", src, "--key", d->dev.app_key, "-o", slp, NULL) != 0)
        fail_msg("packing the tap app: %s", err);
    free(err);
    if (run_slate(NULL, &err, "--root", d->dev.root, "install", slp, NULL) != 0)
        fail_msg("installing the tap app: %s", err);
    free(err);
    free(elf);
    free(src);
    free(bin);
    free(mpath);
    free(bpath);
    free(slp);
}

static void daemon_start(struct device *d, const char *display) {
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    if (!d->log)
        d->log = test_fmt("%s/slated.log", d->dev.dir);
    d->pid = fork();
    assert_true(d->pid >= 0);
    if (d->pid == 0) {
        int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(log, 2);
        dup2(ready[1], 3);
        const char *args[] = {"slated", "--root", d->dev.root, "--ready-fd", "3", display ? "--display" : NULL,
                              display, NULL};
        execv(slated_bin, (char *const *)args);
        _exit(127);
    }
    close(ready[1]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    char c = 0;
    if (poll(&p, 1, 10000) != 1 || read(ready[0], &c, 1) != 1 || c != '\n') {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
        fail_msg("slated did not become ready: %s", test_read(d->log, NULL));
    }
    close(ready[0]);
}

static void daemon_stop(struct device *d) {
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    int status;
    for (uint64_t end = now_ms() + 10000; now_ms() < end; usleep(10000))
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
            return;
        }
    kill(d->pid, SIGKILL);
    waitpid(d->pid, NULL, 0);
    d->pid = 0;
    fail_msg("slated did not stop within 10 s");
}

static int setup(void **state) {
    struct device *d = calloc(1, sizeof *d);
    if (!skip_reason[0]) {
        test_device_new(&d->dev, 4, 1);
        chmod(d->dev.dir, 0755); /* apps run as their own uid: the device root must be searchable */
    }
    *state = d;
    return 0;
}

static int teardown(void **state) {
    struct device *d = *state;
    if (d->pid > 0) {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
    }
    if (d->dev.dir)
        test_device_free(&d->dev);
    free(d->log);
    free(d);
    return 0;
}

#define NEED_ROOT()                                                                                                    \
    do {                                                                                                               \
        if (skip_reason[0]) {                                                                                          \
            print_message("skipped: %s\n", skip_reason);                                                               \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

/* ---- the CLI ---- */

static int slate(struct device *d, char **out, char **err, ...) {
    const char *argv[16] = {"--root", d->dev.root};
    size_t n = 2;
    va_list ap;
    va_start(ap, err);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    return run_slatev(out, err, argv);
}

static void slate_ok(struct device *d, ...) {
    const char *argv[16] = {"--root", d->dev.root};
    size_t n = 2;
    va_list ap;
    va_start(ap, d);
    for (const char *a; n < 15 && (a = va_arg(ap, const char *));)
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    char *err = NULL;
    if (run_slatev(NULL, &err, argv) != 0)
        fail_msg("slate %s %s: %s", argv[2], argv[3] ? argv[3] : "", err);
    free(err);
}

/* ---- screenshots ---- */

struct shot {
    uint8_t *rgb; /* SCREEN_W x SCREEN_H, 3 bytes a pixel */
};

static struct shot take(struct device *d) {
    char *path = test_fmt("%s/shot.png", d->dev.dir);
    slate_ok(d, "shot", path, NULL);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    assert_false(setjmp(png_jmpbuf(png)));
    png_init_io(png, f);
    png_read_info(png, info);
    assert_int_equal(png_get_image_width(png, info), SCREEN_W);
    assert_int_equal(png_get_image_height(png, info), SCREEN_H);
    assert_int_equal(png_get_color_type(png, info), PNG_COLOR_TYPE_RGB);
    struct shot s = {malloc((size_t)SCREEN_W * SCREEN_H * 3)};
    assert_non_null(s.rgb);
    for (int y = 0; y < SCREEN_H; y++)
        png_read_row(png, s.rgb + (size_t)y * SCREEN_W * 3, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    free(path);
    return s;
}

/* Whether two shots have the same pixels in rows [y0, y1). */
static bool same_rows(const struct shot *a, const struct shot *b, int y0, int y1) {
    return !memcmp(a->rgb + (size_t)y0 * SCREEN_W * 3, b->rgb + (size_t)y0 * SCREEN_W * 3, (size_t)(y1 - y0) * SCREEN_W * 3);
}

/* The mean brightness of rows [y0, y1) (0-255). */
static unsigned brightness(const struct shot *s, int y0, int y1) {
    uint64_t sum = 0;
    for (size_t i = (size_t)y0 * SCREEN_W * 3; i < (size_t)y1 * SCREEN_W * 3; i++)
        sum += s->rgb[i];
    return (unsigned)(sum / ((uint64_t)(y1 - y0) * SCREEN_W * 3));
}

/* Whether the app's part of the screen shows something other than its background. */
static bool drawn(const struct shot *s) {
    const uint8_t *bg = s->rgb + ((size_t)(SCREEN_H - 1) * SCREEN_W) * 3;
    for (size_t i = (size_t)BAR * SCREEN_W * 3; i < (size_t)SCREEN_W * SCREEN_H * 3; i += 3)
        if (memcmp(s->rgb + i, bg, 3))
            return true;
    return false;
}

/*
 * Take shots until pred holds (frames arrive a little after the input that caused them), then until
 * the app's part stops changing (a page slides in over a few frames): the settled screen.
 */
static struct shot wait_shot(struct device *d, bool (*pred)(const struct shot *s, const void *arg), const void *arg,
                             const char *what) {
    uint64_t end = now_ms() + 5000;
    struct shot s = take(d);
    while (!pred(&s, arg)) {
        free(s.rgb);
        if (now_ms() > end)
            fail_msg("the screen never showed %s", what);
        usleep(50000);
        s = take(d);
    }
    for (;;) {
        usleep(100000);
        struct shot next = take(d);
        bool settled = same_rows(&s, &next, BAR, SCREEN_H);
        free(s.rgb);
        s = next;
        if (settled && pred(&s, arg))
            return s;
        if (now_ms() > end)
            fail_msg("the screen never settled on %s", what);
    }
}

static bool is_drawn(const struct shot *s, const void *arg) {
    (void)arg;
    return drawn(s);
}

/* The app's area differs from the shot given. */
static bool app_changed(const struct shot *s, const void *arg) {
    return !same_rows(s, arg, BAR, SCREEN_H);
}

static bool app_same(const struct shot *s, const void *arg) {
    return same_rows(s, arg, BAR, SCREEN_H);
}

static bool is_dark(const struct shot *s, const void *arg) {
    (void)arg;
    return brightness(s, SCREEN_H - 200, SCREEN_H) < 64;
}

static bool is_light(const struct shot *s, const void *arg) {
    (void)arg;
    return brightness(s, SCREEN_H - 200, SCREEN_H) > 192;
}

static void wait_log(struct device *d, const char *text) {
    for (uint64_t end = now_ms() + 5000;; usleep(50000)) {
        char *out = NULL;
        slate(d, &out, NULL, "logs", "org.test.tap", NULL);
        bool found = out && strstr(out, text);
        free(out);
        if (found)
            return;
        if (now_ms() > end)
            fail_msg("the app never logged \"%s\"", text);
    }
}

/* ---- tests ---- */

/* The app's screen under the status bar; a tap on its button counts; the screen shows the count. */
static void test_shot_and_tap(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    install_tapapp(d);
    daemon_start(d, "headless");
    slate_ok(d, "start", "org.test.tap", NULL);
    struct shot first = wait_shot(d, is_drawn, NULL, "the app's first frame");
    /* The status bar: the clock on the left, the app's label on the right, on a colour of its own. */
    assert_true(brightness(&first, 0, BAR) != brightness(&first, SCREEN_H - 100, SCREEN_H));
    slate_ok(d, "tap", "360", "850", NULL);
    wait_log(d, "tapped 1");
    struct shot second = wait_shot(d, app_changed, &first, "the tap's count");
    /* Only the count changed: the rows below the button are as they were. */
    assert_true(same_rows(&first, &second, 1000, SCREEN_H));
    free(first.rgb);
    free(second.rgb);
    daemon_stop(d);
}

/* A page pushed; a swipe scrolls its list; Back pops it; so does the back gesture from the left edge. */
static void test_swipe_back_and_gesture(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    install_tapapp(d);
    daemon_start(d, "headless");
    slate_ok(d, "start", "org.test.tap", NULL);
    struct shot home = wait_shot(d, is_drawn, NULL, "the app's first frame");
    /* "Open a page" sits under the big button. */
    slate_ok(d, "tap", "360", "1010", NULL);
    wait_log(d, "opened");
    struct shot page = wait_shot(d, app_changed, &home, "the second page");
    slate_ok(d, "swipe", "360", "1200", "360", "500", "300", NULL);
    struct shot scrolled = wait_shot(d, app_changed, &page, "the list scrolled");
    /* The page's top bar stays; the rows under it moved. */
    assert_true(same_rows(&page, &scrolled, BAR, BAR + 40));
    /* The screen shows what the app would draw afresh there: the moved rows reached slated too, not
     * only the ones that came into view. Two theme switches make the app draw every pixel again. */
    slate_ok(d, "theme", "dark", NULL);
    free(wait_shot(d, is_dark, NULL, "the dark theme").rgb);
    slate_ok(d, "theme", "light", NULL);
    struct shot redrawn = wait_shot(d, is_light, NULL, "the light theme again");
    if (!same_rows(&scrolled, &redrawn, BAR, SCREEN_H))
        fail_msg("the scrolled screen is not what the app draws afresh at the same place");
    free(redrawn.rgb);
    free(scrolled.rgb);
    slate_ok(d, "key", "Back", NULL);
    free(wait_shot(d, app_same, &home, "the first page again after Back").rgb);

    slate_ok(d, "tap", "360", "1010", NULL);
    free(wait_shot(d, app_changed, &home, "the second page again").rgb);
    slate_ok(d, "swipe", "4", "800", "400", "800", "200", NULL);
    free(wait_shot(d, app_same, &home, "the first page again after the back gesture").rgb);
    /* A tap near the edge is still a tap: nothing pops, nothing breaks. */
    slate_ok(d, "tap", "4", "800", NULL);
    free(home.rgb);
    free(page.rgb);
    daemon_stop(d);
}

/* The theme switches at run time for the app and the bar, and is kept for the next start. */
static void test_theme(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    char *out = NULL;
    install_tapapp(d);
    daemon_start(d, "headless");
    assert_int_equal(slate(d, &out, NULL, "theme", NULL), 0);
    assert_string_equal(out, "light\n");
    free(out);
    slate_ok(d, "start", "org.test.tap", NULL);
    free(wait_shot(d, is_light, NULL, "the light theme").rgb);
    slate_ok(d, "theme", "dark", NULL);
    struct shot dark = wait_shot(d, is_dark, NULL, "the dark theme");
    assert_true(brightness(&dark, 0, BAR) < 96);
    free(dark.rgb);
    daemon_stop(d);
    daemon_start(d, "headless");
    assert_int_equal(slate(d, &out, NULL, "theme", NULL), 0);
    assert_string_equal(out, "dark\n");
    free(out);
    slate_ok(d, "start", "org.test.tap", NULL);
    free(wait_shot(d, is_dark, NULL, "the dark theme after a restart").rgb);
    daemon_stop(d);
}

/* Bad requests: one line naming the cause, and a refusal. */
static void test_refusals(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    char *err = NULL, *shot = test_fmt("%s/none.png", d->dev.dir);
    install_tapapp(d);
    daemon_start(d, NULL);
    assert_int_equal(slate(d, NULL, &err, "shot", shot, NULL), 1);
    assert_non_null(strstr(err, "slated shows no screen"));
    assert_false(test_exists(shot));
    free(err);
    daemon_stop(d);
    daemon_start(d, "headless");
    assert_int_equal(slate(d, NULL, &err, "tap", "9999", "5", NULL), 100);
    free(err);
    assert_int_equal(slate(d, NULL, &err, "tap", "700", "1700", NULL), 100);
    assert_non_null(strstr(err, "off the screen"));
    free(err);
    assert_int_equal(slate(d, NULL, &err, "theme", "purple", NULL), 100);
    free(err);
    daemon_stop(d);
    free(shot);
}

static void check_environment(void) {
    test_slated_unsupported(skip_reason, sizeof skip_reason);
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test-screen SLATED TAPAPP\n");
        return 2;
    }
    slated_bin = argv[1];
    tapapp = argv[2];
    check_environment();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shot_and_tap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swipe_back_and_gesture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_theme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
