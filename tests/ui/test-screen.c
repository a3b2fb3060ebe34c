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

#include "golden.h"
#include "helpers.h"
#include "util.h"

#define SCREEN_W 720
#define SCREEN_H 1600
#define BAR 48

static const char *slated_bin, *tapapp, *gallery_bin, *gallery_manifest;
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

/* Pack and install an app: its manifest's text, and each file copied from the build to files/TARGET. */
static void install_app(struct device *d, const char *manifest, const char *const files[][2], size_t n_files) {
    char *src = test_fmt("%s/src", d->dev.dir), *mpath = test_fmt("%s/manifest", src), *slp = test_fmt("%s.slp", src);
    char *err = NULL;
    assert_int_equal(rm_rf_at(AT_FDCWD, src), 0); /* the previous app's source, if any */
    for (size_t i = 0; i < n_files; i++) {
        char *target = test_fmt("%s/files/%s", src, files[i][1]), *dir = strdup(target);
        *strrchr(dir, '/') = '\0';
        assert_int_equal(mkdir_parents_at(AT_FDCWD, dir), 0);
        size_t len;
        char *data = test_read(files[i][0], &len);
        test_write(target, data, len, access(files[i][0], X_OK) == 0 ? 0755 : 0644);
        free(data);
        free(dir);
        free(target);
    }
    test_write(mpath, manifest, strlen(manifest), 0644);
    if (run_slate(NULL, &err, "pack", src, "--key", d->dev.app_key, "-o", slp, NULL) != 0)
        fail_msg("packing %s: %s", src, err);
    free(err);
    err = NULL;
    if (run_slate(NULL, &err, "--root", d->dev.root, "install", slp, NULL) != 0)
        fail_msg("installing %s: %s", slp, err);
    free(err);
    free(src);
    free(mpath);
    free(slp);
}

static void install_tapapp(struct device *d) {
    const char *const files[][2] = {{tapapp, "bin/tapapp"}};
    install_app(d,
                "[package]\nid = org.test.tap\nversion = 1.0.0\napi_level = 4\nclass = app\n\n"
                "[app]\nexec = bin/tapapp\nlabel = Tap test\nmemory = 64M\n",
                files, 1);
}

/* examples/gallery as `make run` packs it: its manifest, its binary, its pictures. */
static void install_gallery(struct device *d) {
    char *manifest = test_read(gallery_manifest, NULL), *dir = strdup(gallery_bin);
    *strrchr(dir, '/') = '\0';
    char *jpg = test_fmt("%s/hills.jpg", dir), *webp = test_fmt("%s/sunset.webp", dir), *png = test_fmt("%s/tiles.png", dir);
    const char *const files[][2] = {{gallery_bin, "bin/gallery"},
                                    {jpg, "share/pictures/hills.jpg"},
                                    {webp, "share/pictures/sunset.webp"},
                                    {png, "share/pictures/tiles.png"}};
    install_app(d, manifest, files, 4);
    free(manifest);
    free(dir);
    free(jpg);
    free(webp);
    free(png);
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

/* ---- the widget gallery: the toolkit's visual test, on the screen slated shows ---- */

/* The app's part of the screen (under the status bar, whose clock moves) against tests/ui/golden/NAME.png. */
static void check_golden(const struct shot *s, const char *name) {
    int h = SCREEN_H - BAR;
    uint32_t *px = malloc((size_t)SCREEN_W * (size_t)h * sizeof *px);
    assert_non_null(px);
    for (size_t i = 0; i < (size_t)SCREEN_W * (size_t)h; i++) {
        const uint8_t *p = s->rgb + ((size_t)BAR * SCREEN_W + i) * 3;
        px[i] = 0xFF000000u | (uint32_t)p[0] << 16 | (uint32_t)p[1] << 8 | p[2];
    }
    struct surface sf = surface_wrap(px, SCREEN_W, h, SCREEN_W);
    golden_check(&sf, name);
    free(px);
}

/*
 * Every page of the gallery as a person reaches it (taps on its rows, Back), the dialog, the controls
 * after use, and the dark theme: each settled screen against its reference. Any change to how the
 * toolkit lays out, shapes or paints shows here as a picture with its difference.
 */
static void test_gallery(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    install_gallery(d);
    daemon_start(d, "headless");
    slate_ok(d, "start", "org.slate.gallery", NULL);
    struct shot home = wait_shot(d, is_drawn, NULL, "the gallery");
    check_golden(&home, "gallery-home");

    /* The rows that open pages, at their places on the first page (screen coordinates). */
    static const struct {
        const char *y, *golden;
    } pages[] = {{"712", "gallery-list"}, {"768", "gallery-grid"}, {"824", "gallery-pictures"}, {"880", "gallery-scripts"}};
    for (size_t i = 0; i < sizeof pages / sizeof *pages; i++) {
        slate_ok(d, "tap", "200", pages[i].y, NULL);
        struct shot page = wait_shot(d, app_changed, &home, pages[i].golden);
        check_golden(&page, pages[i].golden);
        free(page.rgb);
        slate_ok(d, "key", "Back", NULL);
        free(wait_shot(d, app_same, &home, "the first page after Back").rgb);
    }

    /* Delete asks first: a dialog over a scrim; Back closes it (the status line says "Kept"). */
    slate_ok(d, "tap", "62", "374", NULL);
    struct shot dialog = wait_shot(d, app_changed, &home, "the dialog");
    check_golden(&dialog, "gallery-dialog");
    slate_ok(d, "key", "Back", NULL);
    free(wait_shot(d, app_changed, &dialog, "the dialog closed").rgb);

    /* The controls used: the switch off, a name typed (Back takes the focus, and its caret, away). */
    slate_ok(d, "tap", "688", "428", NULL);
    slate_ok(d, "tap", "300", "540", NULL);
    slate_ok(d, "key", "Ada", NULL);
    slate_ok(d, "key", "Back", NULL);
    struct shot used = wait_shot(d, app_changed, &dialog, "the controls used");
    check_golden(&used, "gallery-controls-used");

    slate_ok(d, "theme", "dark", NULL);
    struct shot dark = wait_shot(d, is_dark, NULL, "the dark theme");
    check_golden(&dark, "gallery-home-dark");
    free(home.rgb);
    free(dialog.rgb);
    free(used.rgb);
    free(dark.rgb);
    daemon_stop(d);
}

static void check_environment(void) {
    test_slated_unsupported(skip_reason, sizeof skip_reason);
}

int main(int argc, char **argv) {
    if (argc != 5) {
        fprintf(stderr, "usage: test-screen SLATED TAPAPP GALLERY GALLERY-MANIFEST\n");
        return 2;
    }
    slated_bin = argv[1];
    tapapp = argv[2];
    gallery_bin = argv[3];
    gallery_manifest = argv[4];
    check_environment();
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_shot_and_tap, setup, teardown),
        cmocka_unit_test_setup_teardown(test_swipe_back_and_gesture, setup, teardown),
        cmocka_unit_test_setup_teardown(test_theme, setup, teardown),
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_gallery, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
