/*
 * test-display.c: the display backends through the real slated and slate, with the tap test app in front:
 * bad --display specs refused; the SDL window (SDL's offscreen driver: what it presented, read back from
 * its renderer, is the screen; under Xvfb: real X input clicks the app's button and Escape is Back, and
 * slated sleeps while nothing changes); a screen of another size; DRM on vkms (modesetting, and the
 * frame read back from the CRTC's framebuffer is the screen) and fbdev, where the kernel has them.
 *
 * Needs root (slated's sandboxes); each part skips, saying why, where what it needs is missing.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <png.h>
#include <poll.h>
#include <sched.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>
#include <linux/fb.h>
#include <linux/uinput.h>

#include <cmocka.h>

#include "display-fbdev.h"
#include "helpers.h"
#include "util.h"

#define BAR 48

static const char *slated_bin, *tapapp;
static char skip_reason[256];
/* $SLATE_TEST_SLOW: waits this many times longer (an emulated guest); $SLATE_TEST_DEVICES_ONLY: no SDL. */
static unsigned slow = 1;
static bool devices_only;

struct device {
    struct test_device dev;
    pid_t pid, xvfb;
    char *log;
};

struct image {
    uint8_t *rgb; /* 3 bytes a pixel */
    int w, h;
};

static uint64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000 + (uint64_t)ts.tv_nsec / 1000000;
}

#define SKIP_IF(cond, ...)                                                                                             \
    do {                                                                                                               \
        if (cond) {                                                                                                    \
            print_message("skipped: " __VA_ARGS__);                                                                    \
            print_message("\n");                                                                                       \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

#define NEED_ROOT() SKIP_IF(skip_reason[0], "%s", skip_reason)

/* ---- the device and its daemon ---- */

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

/* slated --display spec in the child, with env ("NAME=VALUE", or "NAME" to unset; NULL-ended). */
static pid_t spawn_slated(struct device *d, const char *spec, const char *const *env, int ready_fd) {
    d->log = d->log ? d->log : test_fmt("%s/slated.log", d->dev.dir);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int log = open(d->log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
        dup2(log, 2);
        if (ready_fd >= 0)
            dup2(ready_fd, 3);
        for (size_t i = 0; env && env[i]; i++) {
            char *eq = strchr(env[i], '=');
            if (eq) {
                char *name = strndup(env[i], (size_t)(eq - env[i]));
                setenv(name, eq + 1, 1);
            } else
                unsetenv(env[i]);
        }
        /* No memory manager: its wake-ups on the machine's pressure are not the display's. */
        const char *args[] = {"slated",
                              "--root",
                              d->dev.root,
                              "--no-memory-manager",
                              "--display",
                              spec,
                              ready_fd >= 0 ? "--ready-fd" : NULL,
                              "3",
                              NULL};
        execv(slated_bin, (char *const *)args);
        _exit(127);
    }
    return pid;
}

static void daemon_start(struct device *d, const char *spec, const char *const *env) {
    int ready[2];
    assert_int_equal(pipe2(ready, O_CLOEXEC), 0);
    d->pid = spawn_slated(d, spec, env, ready[1]);
    close(ready[1]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    char c = 0;
    if (poll(&p, 1, 20000 * (int)slow) != 1 || read(ready[0], &c, 1) != 1 || c != '\n') {
        kill(d->pid, SIGKILL);
        waitpid(d->pid, NULL, 0);
        d->pid = 0;
        fail_msg("slated --display %s did not become ready: %s", spec, test_read(d->log, NULL));
    }
    close(ready[0]);
}

static void daemon_stop(struct device *d) {
    if (d->pid <= 0)
        return;
    kill(d->pid, SIGTERM);
    int status;
    for (uint64_t end = now_ms() + 10000 * slow; now_ms() < end; usleep(10000))
        if (waitpid(d->pid, &status, WNOHANG) == d->pid) {
            d->pid = 0;
            if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
                fail_msg("slated ended with status %d: %s", status, test_read(d->log, NULL));
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
    if (d->xvfb > 0) {
        kill(d->xvfb, SIGTERM);
        waitpid(d->xvfb, NULL, 0);
    }
    if (d->dev.dir)
        test_device_free(&d->dev);
    free(d->log);
    free(d);
    return 0;
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

static void wait_log(struct device *d, const char *text) {
    for (uint64_t end = now_ms() + 10000 * slow;; usleep(50000)) {
        char *out = NULL;
        const char *argv[] = {"--root", d->dev.root, "logs", "org.test.tap", NULL};
        run_slatev(&out, NULL, argv);
        bool found = out && strstr(out, text);
        free(out);
        if (found)
            return;
        if (now_ms() > end)
            fail_msg("the app never logged \"%s\"", text);
    }
}

/* ---- pictures ---- */

/* A PNG as RGB; false when it is not there (yet) or not readable. */
static bool read_png(const char *path, struct image *img) {
    FILE *f = fopen(path, "rb");
    if (!f)
        return false;
    png_structp png = png_create_read_struct(PNG_LIBPNG_VER_STRING, NULL, NULL, NULL);
    png_infop info = png_create_info_struct(png);
    *img = (struct image){0};
    if (setjmp(png_jmpbuf(png))) {
        png_destroy_read_struct(&png, &info, NULL);
        fclose(f);
        free(img->rgb);
        img->rgb = NULL;
        return false;
    }
    png_init_io(png, f);
    png_read_info(png, info);
    if (png_get_color_type(png, info) != PNG_COLOR_TYPE_RGB || png_get_bit_depth(png, info) != 8)
        png_error(png, "not 8-bit RGB");
    img->w = (int)png_get_image_width(png, info);
    img->h = (int)png_get_image_height(png, info);
    img->rgb = malloc((size_t)img->w * img->h * 3);
    for (int y = 0; y < img->h; y++)
        png_read_row(png, img->rgb + (size_t)y * img->w * 3, NULL);
    png_destroy_read_struct(&png, &info, NULL);
    fclose(f);
    return true;
}

static struct image shot(struct device *d) {
    char *path = test_fmt("%s/shot.png", d->dev.dir);
    struct image img;
    slate_ok(d, "shot", path, NULL);
    assert_true(read_png(path, &img));
    free(path);
    return img;
}

/* Whether the app's part of the screen shows something other than its background. */
static bool drawn(const struct image *s) {
    const uint8_t *bg = s->rgb + ((size_t)(s->h - 1) * s->w) * 3;
    for (size_t i = (size_t)BAR * s->w * 3; i < (size_t)s->w * s->h * 3; i += 3)
        if (memcmp(s->rgb + i, bg, 3))
            return true;
    return false;
}

/*
 * How far a picture of the screen scaled down (what a window showed) is from the screen: the mean
 * difference per channel between each of its pixels and the screen's box of pixels under it.
 */
static double scaled_distance(const struct image *small, const struct image *screen) {
    double sum = 0;
    for (int y = 0; y < small->h; y++)
        for (int x = 0; x < small->w; x++) {
            int x0 = x * screen->w / small->w, x1 = (x + 1) * screen->w / small->w;
            int y0 = y * screen->h / small->h, y1 = (y + 1) * screen->h / small->h;
            x1 = x1 > x0 ? x1 : x0 + 1, y1 = y1 > y0 ? y1 : y0 + 1;
            for (int c = 0; c < 3; c++) {
                unsigned acc = 0;
                for (int sy = y0; sy < y1; sy++)
                    for (int sx = x0; sx < x1; sx++)
                        acc += screen->rgb[((size_t)sy * screen->w + sx) * 3 + c];
                double mean = (double)acc / ((x1 - x0) * (y1 - y0));
                double diff = mean - small->rgb[((size_t)y * small->w + x) * 3 + c];
                sum += diff < 0 ? -diff : diff;
            }
        }
    return sum / ((double)small->w * small->h * 3);
}

/*
 * Wait until the backend's picture (read by fetch) shows the screen as `slate shot` has it, the app
 * drawn, differing from `unlike` and with the app's part the same as `like`'s when given: the frame
 * reached the backend. Returns that screen.
 */
static struct image wait_presented_as(struct device *d, bool (*fetch)(struct device *d, struct image *img, void *arg),
                                      void *arg, double (*distance)(const struct image *, const struct image *),
                                      const struct image *unlike, const struct image *like, const char *what) {
    double last = -1;
    struct image prev = {0};
    for (uint64_t end = now_ms() + 15000 * slow;; usleep(100000)) {
        struct image s = shot(d), b;
        size_t app = (size_t)BAR * s.w * 3, size = (size_t)s.w * s.h * 3;
        /* Settled (a page's slide, a button's press are over): the same as 100 ms ago. */
        bool settled = prev.rgb && prev.w == s.w && prev.h == s.h && !memcmp(prev.rgb, s.rgb, size);
        free(prev.rgb);
        prev = s;
        if (settled && drawn(&s) && (!unlike || memcmp(s.rgb, unlike->rgb, size)) &&
            (!like || !memcmp(s.rgb + app, like->rgb + app, size - app)) && fetch(d, &b, arg)) {
            last = distance(&b, &s);
            free(b.rgb);
            if (last >= 0 && last < 2.0)
                return s;
        }
        if (now_ms() > end)
            fail_msg("the backend never showed %s (last distance %.2f)", what, last);
    }
}

static struct image wait_presented(struct device *d, bool (*fetch)(struct device *d, struct image *img, void *arg),
                                   void *arg, double (*distance)(const struct image *, const struct image *),
                                   const struct image *unlike, const char *what) {
    return wait_presented_as(d, fetch, arg, distance, unlike, NULL, what);
}

/* ---- SDL ---- */

struct dump {
    const char *path;
    int w, h; /* the window's size */
};

static bool fetch_dump(struct device *d, struct image *img, void *arg) {
    struct dump *dp = arg;
    (void)d;
    if (!read_png(dp->path, img))
        return false;
    if (img->w != dp->w || img->h != dp->h)
        fail_msg("the window is %dx%d, not %dx%d", img->w, img->h, dp->w, dp->h);
    return true;
}

/*
 * slated's main thread's voluntary context switches so far: how often it went to sleep, so how often it
 * woke. Preemptions (nonvoluntary) are not wake-ups: a busy machine (CI runs tests side by side) gives
 * a waking slated more of them, a sleeping one none.
 */
static unsigned long wakeups(pid_t pid) {
    char path[64], line[128];
    unsigned long n = 0, v;
    snprintf(path, sizeof path, "/proc/%d/status", (int)pid);
    FILE *f = fopen(path, "r");
    assert_non_null(f);
    while (fgets(line, sizeof line, f))
        if (sscanf(line, "voluntary_ctxt_switches: %lu", &v) == 1)
            n += v;
    fclose(f);
    return n;
}

/* With nothing changing, slated sleeps: no polling of SDL or of anything else. */
static void check_idle(struct device *d) {
    usleep(1000000);
    unsigned long before = wakeups(d->pid);
    usleep(3000000);
    unsigned long woke = wakeups(d->pid) - before;
    print_message("slated woke %lu times in 3 s of calm\n", woke);
    /* A minute's clock tick, the database closing after its idle time: a few; a poll would be hundreds. */
    assert_true(woke <= 5);
}

/* Offscreen: the app's frames reach the window (read back from SDL's renderer), a tap changes both. */
static void test_sdl_offscreen(void **state) {
    NEED_ROOT();
    SKIP_IF(devices_only, "SLATE_TEST_DEVICES_ONLY: the device backends only");
    struct device *d = *state;
    char *dump_path = test_fmt("%s/dump.png", d->dev.dir), *dump_env = test_fmt("SLATE_SDL_DUMP=%s", dump_path);
    const char *env[] = {"SDL_VIDEODRIVER=offscreen", dump_env, NULL};
    struct dump dp = {dump_path, 360, 800};
    install_tapapp(d);
    daemon_start(d, "sdl:0.5", env);
    slate_ok(d, "start", "org.test.tap", NULL);
    struct image first = wait_presented(d, fetch_dump, &dp, scaled_distance, NULL, "the app's first frame");
    struct image first_dump;
    assert_true(read_png(dump_path, &first_dump));
    slate_ok(d, "tap", "360", "850", NULL);
    wait_log(d, "tapped 1");
    struct image second = wait_presented(d, fetch_dump, &dp, scaled_distance, &first, "the tap's count");
    struct image second_dump;
    assert_true(read_png(dump_path, &second_dump));
    assert_memory_not_equal(first_dump.rgb, second_dump.rgb, (size_t)dp.w * dp.h * 3);
    check_idle(d);
    free(first.rgb), free(second.rgb), free(first_dump.rgb), free(second_dump.rgb);
    daemon_stop(d);
    free(dump_path);
    free(dump_env);
}

/* sdl:WxH: a screen of another size (landscape here); apps are given it, the window shows it at scale. */
static void test_sdl_size(void **state) {
    NEED_ROOT();
    SKIP_IF(devices_only, "SLATE_TEST_DEVICES_ONLY: the device backends only");
    struct device *d = *state;
    char *dump_path = test_fmt("%s/dump.png", d->dev.dir), *dump_env = test_fmt("SLATE_SDL_DUMP=%s", dump_path);
    const char *env[] = {"SDL_VIDEODRIVER=offscreen", dump_env, NULL};
    struct dump dp = {dump_path, 640, 400};
    install_tapapp(d);
    daemon_start(d, "sdl:1280x800,0.5", env);
    slate_ok(d, "start", "org.test.tap", NULL);
    struct image s = wait_presented(d, fetch_dump, &dp, scaled_distance, NULL, "the app on a 1280x800 screen");
    assert_int_equal(s.w, 1280);
    assert_int_equal(s.h, 800);
    /* The app laid itself out to the width it was given: its button is centred on 1280 pixels. */
    const uint8_t *bg = s.rgb + ((size_t)(s.h - 1) * s.w) * 3;
    int left = s.w, right = 0;
    for (int x = 0; x < s.w; x++)
        if (memcmp(s.rgb + ((size_t)(s.h / 2) * s.w + x) * 3, bg, 3))
            left = x < left ? x : left, right = x;
    print_message("the app's middle row spans %d to %d\n", left, right);
    assert_true(left < right && abs((left + right) / 2 - s.w / 2) <= 4);
    free(s.rgb);
    daemon_stop(d);
    free(dump_path);
    free(dump_env);
}

/* A program on PATH, or NULL. */
static char *which(const char *name) {
    const char *path = getenv("PATH");
    char *copy = strdup(path ? path : "/usr/bin:/bin"), *save = NULL;
    for (char *dir = strtok_r(copy, ":", &save); dir; dir = strtok_r(NULL, ":", &save)) {
        char *p = test_fmt("%s/%s", dir, name);
        if (access(p, X_OK) == 0) {
            free(copy);
            return p;
        }
        free(p);
    }
    free(copy);
    return NULL;
}

/* Run a command (NULL-ended) to its end; its output in *out. Its exit status. */
static int run(char **out, const char *arg, ...) {
    const char *argv[16];
    size_t n = 0;
    va_list ap;
    va_start(ap, arg);
    for (const char *a = arg; a && n < 15; a = va_arg(ap, const char *))
        argv[n++] = a;
    va_end(ap);
    argv[n] = NULL;
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    if (pid == 0) {
        dup2(p[1], 1);
        execvp(argv[0], (char *const *)argv);
        _exit(127);
    }
    close(p[1]);
    FILE *f = fdopen(p[0], "r");
    char *text = test_slurp(f, NULL);
    fclose(f);
    int status;
    waitpid(pid, &status, 0);
    if (out)
        *out = text;
    else
        free(text);
    return WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
}

/*
 * Xvfb on a display of its own; its DISPLAY value. A display number another server holds (its socket
 * may be abstract, in another mount namespace: no lock file says so) fails to answer: the next is tried.
 */
static char *start_xvfb(struct device *d, const char *xvfb, const char *xdotool) {
    char *log = test_fmt("%s/xvfb.log", d->dev.dir);
    for (int attempt = 0; attempt < 8; attempt++) {
        char *display = test_fmt(":%d", 40 + (int)(getpid() % 50) + attempt * 53);
        d->xvfb = fork();
        if (d->xvfb == 0) {
            int fd = open(log, O_WRONLY | O_CREAT | O_TRUNC, 0644);
            dup2(fd, 1), dup2(fd, 2);
            execl(xvfb, "Xvfb", display, "-screen", "0", "1024x900x24", "-nolisten", "tcp", "-noreset", NULL);
            _exit(127);
        }
        setenv("DISPLAY", display, 1);
        for (uint64_t end = now_ms() + 5000; now_ms() < end; usleep(50000)) {
            if (waitpid(d->xvfb, NULL, WNOHANG) == d->xvfb)
                break;
            if (run(NULL, xdotool, "getmouselocation", NULL) == 0) {
                free(log);
                return display;
            }
        }
        print_message("Xvfb on %s does not answer: %s\n", display, test_read(log, NULL));
        kill(d->xvfb, SIGKILL);
        waitpid(d->xvfb, NULL, 0);
        d->xvfb = 0;
        free(display);
    }
    fail_msg("no Xvfb display answered");
    return NULL;
}

/* Under X (Xvfb): real pointer and key events through X reach the app; slated sleeps while nothing changes. */
static void test_sdl_x11(void **state) {
    NEED_ROOT();
    SKIP_IF(devices_only, "SLATE_TEST_DEVICES_ONLY: the device backends only");
    struct device *d = *state;
    char *xvfb = which("Xvfb"), *xdotool = which("xdotool");
    SKIP_IF(!xvfb || !xdotool, "Xvfb and xdotool are not installed (Debian's xvfb and xdotool)");
    char *display = start_xvfb(d, xvfb, xdotool);
    char *dump_path = test_fmt("%s/dump.png", d->dev.dir), *dump_env = test_fmt("SLATE_SDL_DUMP=%s", dump_path);
    char *display_env = test_fmt("DISPLAY=%s", display);
    /* Under sanitizers: what libdbus (SDL's, for input methods) keeps at exit is not slated's leak. */
    const char *src = getenv("SLATE_SOURCE_ROOT");
    char *lsan_env = test_fmt("LSAN_OPTIONS=suppressions=%s/tests/display/lsan.supp", src ? src : ".");
    const char *env[] = {display_env, dump_env, lsan_env, "SDL_VIDEODRIVER", "WAYLAND_DISPLAY", NULL};
    struct dump dp = {dump_path, 360, 800};
    install_tapapp(d);
    daemon_start(d, "sdl:0.5", env);
    slate_ok(d, "start", "org.test.tap", NULL);
    struct image home = wait_presented(d, fetch_dump, &dp, scaled_distance, NULL, "the app's first frame in X");
    char *wid = NULL;
    assert_int_equal(run(&wid, xdotool, "search", "--sync", "--name", "^Slate$", NULL), 0);
    wid[strcspn(wid, "\n")] = '\0';
    /* "Open a page" (at half size: a click in the window is a tap on the screen), then Escape: Back. */
    assert_int_equal(run(NULL, xdotool, "mousemove", "--sync", "--window", wid, "180", "505", "click", "1", NULL), 0);
    wait_log(d, "opened");
    struct image page = wait_presented(d, fetch_dump, &dp, scaled_distance, &home, "the second page");
    assert_int_equal(run(NULL, xdotool, "key", "Escape", NULL), 0);
    struct image back =
        wait_presented_as(d, fetch_dump, &dp, scaled_distance, NULL, &home, "the first page after Escape");
    /* The big button: the app counts the click. */
    assert_int_equal(run(NULL, xdotool, "mousemove", "--sync", "--window", wid, "180", "425", "click", "1", NULL), 0);
    wait_log(d, "tapped 1");
    struct image counted = wait_presented(d, fetch_dump, &dp, scaled_distance, &back, "the click's count");
    check_idle(d);
    free(home.rgb), free(counted.rgb), free(page.rgb), free(back.rgb);
    daemon_stop(d);
    unsetenv("DISPLAY");
    free(wid), free(xvfb), free(xdotool), free(display), free(dump_path), free(dump_env), free(display_env);
    free(lsan_env);
}

/* ---- DRM and fbdev ---- */

/* A DRM card driven by vkms (a virtual screen: never a developer's real one), or $SLATE_TEST_DRM. */
static char *find_vkms(void) {
    const char *forced = getenv("SLATE_TEST_DRM");
    if (forced && forced[0])
        return strdup(forced);
    for (int i = 0; i < 16; i++) {
        char path[32], name[32] = "";
        snprintf(path, sizeof path, "/dev/dri/card%d", i);
        int fd = open(path, O_RDWR | O_CLOEXEC);
        if (fd < 0)
            continue;
        struct drm_version v = {.name = name, .name_len = sizeof name - 1};
        bool vkms = ioctl(fd, DRM_IOCTL_VERSION, &v) == 0 && !strcmp(name, "vkms");
        close(fd);
        if (vkms)
            return strdup(path);
    }
    return NULL;
}

/* vkms, loading the module when it is not there yet (as root; CI's Debian kernels have it). */
static char *vkms_card(char *why, size_t size) {
    char *card = find_vkms();
    if (card)
        return card;
    struct stat st;
    if (access("/sbin/modprobe", X_OK) == 0 && run(NULL, "/sbin/modprobe", "vkms", NULL) == 0) {
        for (int i = 0; i < 20 && !card; i++, usleep(100000))
            card = find_vkms();
        if (card)
            return card;
    }
    char modules[PATH_MAX];
    struct utsname u;
    uname(&u);
    snprintf(modules, sizeof modules, "/lib/modules/%s", u.release);
    char *config = test_fmt("/boot/config-%s", u.release), *text = test_exists(config) ? test_read(config, NULL) : NULL;
    snprintf(why, size, "no vkms DRM device: kernel %s %s", u.release,
             text && strstr(text, "# CONFIG_DRM_VKMS is not set")
                 ? "is built without vkms (CONFIG_DRM_VKMS is not set, as in Debian's kernels; tests/display/guest.sh "
                   "tests DRM in a QEMU guest)"
             : stat(modules, &st) < 0 ? "has no modules here (no /lib/modules for it), so no vkms"
                                      : "did not load vkms (modprobe vkms failed)");
    free(config), free(text);
    return NULL;
}

struct scanout {
    const char *card;
};

/* The framebuffer on the (first active) CRTC of the card, read through a dumb-buffer mapping. */
static bool fetch_crtc(struct device *d, struct image *img, void *arg) {
    struct scanout *so = arg;
    (void)d;
    int fd = open(so->card, O_RDWR | O_CLOEXEC);
    assert_true(fd >= 0);
    uint32_t crtcs[16];
    struct drm_mode_card_res res = {.crtc_id_ptr = (uint64_t)(uintptr_t)crtcs, .count_crtcs = 16};
    bool ok = false;
    assert_int_equal(ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res), 0);
    for (uint32_t i = 0; i < res.count_crtcs && i < 16 && !ok; i++) {
        struct drm_mode_crtc c = {.crtc_id = crtcs[i]};
        if (ioctl(fd, DRM_IOCTL_MODE_GETCRTC, &c) < 0 || !c.fb_id)
            continue;
        struct drm_mode_fb_cmd fb = {.fb_id = c.fb_id};
        assert_int_equal(ioctl(fd, DRM_IOCTL_MODE_GETFB, &fb), 0);
        assert_int_not_equal(fb.handle, 0); /* root may map another's buffer */
        struct drm_mode_map_dumb map = {.handle = fb.handle};
        assert_int_equal(ioctl(fd, DRM_IOCTL_MODE_MAP_DUMB, &map), 0);
        size_t size = (size_t)fb.pitch * fb.height;
        uint8_t *p = mmap(NULL, size, PROT_READ, MAP_SHARED, fd, (off_t)map.offset);
        assert_true(p != MAP_FAILED);
        *img = (struct image){malloc((size_t)fb.width * fb.height * 3), (int)fb.width, (int)fb.height};
        for (uint32_t y = 0; y < fb.height; y++)
            for (uint32_t x = 0; x < fb.width; x++) {
                uint32_t v;
                memcpy(&v, p + (size_t)y * fb.pitch + x * 4, 4);
                uint8_t *o = img->rgb + ((size_t)y * fb.width + x) * 3;
                o[0] = (uint8_t)(v >> 16), o[1] = (uint8_t)(v >> 8), o[2] = (uint8_t)v;
            }
        munmap(p, size);
        struct drm_gem_close close_ = {.handle = fb.handle};
        ioctl(fd, DRM_IOCTL_GEM_CLOSE, &close_);
        ok = true;
    }
    close(fd);
    return ok;
}

/* The framebuffer the card's first active CRTC scans out; 0 for none. */
static uint32_t crtc_fb(const char *card) {
    int fd = open(card, O_RDWR | O_CLOEXEC);
    uint32_t crtcs[16], fb = 0;
    struct drm_mode_card_res res = {.crtc_id_ptr = (uint64_t)(uintptr_t)crtcs, .count_crtcs = 16};
    assert_true(fd >= 0);
    assert_int_equal(ioctl(fd, DRM_IOCTL_MODE_GETRESOURCES, &res), 0);
    for (uint32_t i = 0; i < res.count_crtcs && i < 16 && !fb; i++) {
        struct drm_mode_crtc c = {.crtc_id = crtcs[i]};
        if (ioctl(fd, DRM_IOCTL_MODE_GETCRTC, &c) == 0)
            fb = c.fb_id;
    }
    close(fd);
    return fb;
}

/* Pixel for pixel: 0 when the same, 255 when the sizes differ. */
static double exact_distance(const struct image *a, const struct image *b) {
    if (a->w != b->w || a->h != b->h)
        return 255;
    return memcmp(a->rgb, b->rgb, (size_t)a->w * a->h * 3) ? 100 : 0;
}

/* ---- evdev through uinput ---- */

enum uinput_kind { UINPUT_TOUCH, UINPUT_KEYBOARD, UINPUT_MOUSE };

/* A virtual touchscreen (multitouch, 0..4095 both ways), keyboard or mouse; -1 where the kernel has no uinput. */
static int uinput_device(const char *name, enum uinput_kind kind) {
    bool touch = kind == UINPUT_TOUCH;
    int fd = open("/dev/uinput", O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return -1;
    ioctl(fd, UI_SET_EVBIT, EV_SYN);
    ioctl(fd, UI_SET_EVBIT, EV_KEY);
    if (touch) {
        static const unsigned axes[][2] = {{ABS_X, 4095},
                                           {ABS_Y, 4095},
                                           {ABS_MT_SLOT, 9},
                                           {ABS_MT_TRACKING_ID, 65535},
                                           {ABS_MT_POSITION_X, 4095},
                                           {ABS_MT_POSITION_Y, 4095}};
        ioctl(fd, UI_SET_EVBIT, EV_ABS);
        ioctl(fd, UI_SET_KEYBIT, BTN_TOUCH);
        ioctl(fd, UI_SET_PROPBIT, INPUT_PROP_DIRECT);
        for (size_t i = 0; i < sizeof axes / sizeof *axes; i++) {
            struct uinput_abs_setup a = {.code = (uint16_t)axes[i][0], .absinfo = {.maximum = (int)axes[i][1]}};
            assert_int_equal(ioctl(fd, UI_ABS_SETUP, &a), 0);
        }
    } else if (kind == UINPUT_MOUSE) {
        ioctl(fd, UI_SET_EVBIT, EV_REL);
        ioctl(fd, UI_SET_RELBIT, REL_X);
        ioctl(fd, UI_SET_RELBIT, REL_Y);
        ioctl(fd, UI_SET_KEYBIT, BTN_LEFT);
        ioctl(fd, UI_SET_KEYBIT, BTN_RIGHT);
    } else
        for (int k = KEY_ESC; k <= KEY_KPDOT; k++)
            ioctl(fd, UI_SET_KEYBIT, k);
    struct uinput_setup us = {.id = {.bustype = BUS_VIRTUAL, .vendor = 0x5107, .product = (uint16_t)(1 + kind)}};
    snprintf(us.name, sizeof us.name, "%s", name);
    assert_int_equal(ioctl(fd, UI_DEV_SETUP, &us), 0);
    assert_int_equal(ioctl(fd, UI_DEV_CREATE), 0);
    return fd;
}

static void uemit(int fd, unsigned type, unsigned code, int value) {
    struct input_event ev = {.type = (uint16_t)type, .code = (uint16_t)code, .value = value};
    assert_int_equal(write(fd, &ev, sizeof ev), (ssize_t)sizeof ev);
}

/* A finger down and up at screen pixel (x, y) of a w x h screen. */
static void utap(int fd, int x, int y, int w, int h) {
    static int id;
    uemit(fd, EV_ABS, ABS_MT_SLOT, 0);
    uemit(fd, EV_ABS, ABS_MT_TRACKING_ID, ++id);
    uemit(fd, EV_ABS, ABS_MT_POSITION_X, (x * 4095 + w - 2) / (w - 1));
    uemit(fd, EV_ABS, ABS_MT_POSITION_Y, (y * 4095 + h - 2) / (h - 1));
    uemit(fd, EV_KEY, BTN_TOUCH, 1);
    uemit(fd, EV_SYN, SYN_REPORT, 0);
    usleep(50000);
    uemit(fd, EV_ABS, ABS_MT_TRACKING_ID, -1);
    uemit(fd, EV_KEY, BTN_TOUCH, 0);
    uemit(fd, EV_SYN, SYN_REPORT, 0);
}

static void wait_slated_log(struct device *d, const char *text) {
    for (uint64_t end = now_ms() + 10000 * slow;; usleep(50000)) {
        char *log = test_read(d->log, NULL);
        bool found = strstr(log, text);
        free(log);
        if (found)
            return;
        if (now_ms() > end)
            fail_msg("slated never logged \"%s\": %s", text, test_read(d->log, NULL));
    }
}

/* The lowest thing drawn in the screen's middle column: the tap app's "Open a page" button. */
static int lowest_drawn(const struct image *s) {
    const uint8_t *bg = s->rgb + ((size_t)(s->h - 1) * s->w) * 3;
    for (int y = s->h - 1; y > BAR; y--)
        if (memcmp(s->rgb + ((size_t)y * s->w + s->w / 2) * 3, bg, 3))
            return y;
    return -1;
}

/*
 * A device's own input: a touchscreen there from the start taps the big button; a keyboard plugged in
 * while slated runs (found through inotify) has Escape, which is Back; a mouse plugged in clicks.
 */
static void check_evdev(struct device *d, const struct image *home,
                        bool (*fetch)(struct device *, struct image *, void *), void *arg,
                        double (*distance)(const struct image *, const struct image *), int touch) {
    int w = home->w, h = home->h;
    print_message("evdev: a uinput touchscreen, keyboard and mouse\n");
    utap(touch, w / 2, BAR + (h - BAR) / 2, w, h);
    wait_log(d, "tapped 1");
    struct image counted = wait_presented(d, fetch, arg, distance, home, "the touch's count");
    int kbd = uinput_device("Slate test keyboard", UINPUT_KEYBOARD);
    assert_true(kbd >= 0);
    wait_slated_log(d, "(Slate test keyboard): keyboard");
    int open_y = lowest_drawn(&counted);
    assert_true(open_y > 0);
    utap(touch, w / 2, open_y - 12, w, h);
    wait_log(d, "opened");
    struct image page = wait_presented(d, fetch, arg, distance, &counted, "the second page");
    uemit(kbd, EV_KEY, KEY_ESC, 1);
    uemit(kbd, EV_SYN, SYN_REPORT, 0);
    uemit(kbd, EV_KEY, KEY_ESC, 0);
    uemit(kbd, EV_SYN, SYN_REPORT, 0);
    struct image back = wait_presented(d, fetch, arg, distance, &page, "the first page after Escape");
    assert_int_equal(lowest_drawn(&back), open_y);
    /* A mouse starts in the screen's middle, on the big button: a small move (the cursor, where the
     * driver has one), a click, and the app counts it. */
    int mouse = uinput_device("Slate test mouse", UINPUT_MOUSE);
    assert_true(mouse >= 0);
    wait_slated_log(d, "(Slate test mouse): mouse");
    uemit(mouse, EV_REL, REL_X, 5);
    uemit(mouse, EV_REL, REL_Y, 5);
    uemit(mouse, EV_SYN, SYN_REPORT, 0);
    uemit(mouse, EV_KEY, BTN_LEFT, 1);
    uemit(mouse, EV_SYN, SYN_REPORT, 0);
    uemit(mouse, EV_KEY, BTN_LEFT, 0);
    uemit(mouse, EV_SYN, SYN_REPORT, 0);
    wait_log(d, "tapped 2");
    close(mouse);
    close(kbd);
    free(counted.rgb), free(page.rgb), free(back.rgb);
}

/* DRM on vkms: the mode is the screen's size, the app's frames reach the scanned-out buffer, page flips go on. */
static void test_drm(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    char why[256] = "";
    char *card = vkms_card(why, sizeof why);
    SKIP_IF(!card, "%s", why);
    /* The first card: found by slated itself (drm with no device). */
    char *spec = strcmp(card, "/dev/dri/card0") ? test_fmt("drm:%s", card) : strdup("drm");
    struct scanout so = {card};
    uint32_t before = crtc_fb(card);
    install_tapapp(d);
    int touch = uinput_device("Slate test touchscreen", UINPUT_TOUCH);
    daemon_start(d, spec, NULL);
    slate_ok(d, "start", "org.test.tap", NULL);
    struct image first = wait_presented(d, fetch_crtc, &so, exact_distance, NULL, "the app on the CRTC");
    print_message("the DRM screen is %dx%d\n", first.w, first.h);
    if (touch >= 0) {
        check_evdev(d, &first, fetch_crtc, &so, exact_distance, touch);
        close(touch);
    } else {
        /* No uinput to make devices with: the frames alone, through slate tap. */
        print_message("no /dev/uinput: evdev input not tested here\n");
        char x[16], y[16];
        snprintf(x, sizeof x, "%d", first.w / 2);
        snprintf(y, sizeof y, "%d", BAR + (first.h - BAR) / 2);
        slate_ok(d, "tap", x, y, NULL);
        wait_log(d, "tapped 1");
        free(wait_presented(d, fetch_crtc, &so, exact_distance, &first, "the tap's count on the CRTC").rgb);
    }
    free(first.rgb);
    daemon_stop(d);
    /* The CRTC shows what it showed before (a console's framebuffer, or nothing), not a buffer of slated's. */
    assert_int_equal(crtc_fb(card), before);
    free(spec), free(card);
}

/* An fbdev device that is vkms's emulation (never a real console's), or $SLATE_TEST_FBDEV. */
static char *find_fbdev(void) {
    const char *forced = getenv("SLATE_TEST_FBDEV");
    if (forced && forced[0])
        return strdup(forced);
    for (int i = 0; i < 8; i++) {
        char path[64], name[64] = "";
        snprintf(path, sizeof path, "/sys/class/graphics/fb%d/name", i);
        FILE *f = fopen(path, "r");
        if (!f)
            continue;
        bool vkms = fgets(name, sizeof name, f) && strstr(name, "vkms");
        fclose(f);
        if (vkms)
            return test_fmt("/dev/fb%d", i);
    }
    return NULL;
}

struct fbview {
    const char *path;
};

/* The framebuffer's visible pixels, through its own format, back to RGB. */
static bool fetch_fb(struct device *d, struct image *img, void *arg) {
    struct fbview *fv = arg;
    struct fb_var_screeninfo var;
    struct fb_fix_screeninfo fix;
    (void)d;
    int fd = open(fv->path, O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(ioctl(fd, FBIOGET_VSCREENINFO, &var), 0);
    assert_int_equal(ioctl(fd, FBIOGET_FSCREENINFO, &fix), 0);
    uint8_t *p = mmap(NULL, fix.smem_len, PROT_READ, MAP_SHARED, fd, 0);
    assert_true(p != MAP_FAILED);
    size_t bytes = var.bits_per_pixel / 8, offset = (size_t)var.yoffset * fix.line_length + var.xoffset * bytes;
    *img = (struct image){malloc((size_t)var.xres * var.yres * 3), (int)var.xres, (int)var.yres};
    const struct fb_bitfield *ch[3] = {&var.red, &var.green, &var.blue};
    for (uint32_t y = 0; y < var.yres; y++)
        for (uint32_t x = 0; x < var.xres; x++) {
            uint32_t v = 0;
            memcpy(&v, p + offset + (size_t)y * fix.line_length + x * bytes, bytes);
            for (int c = 0; c < 3; c++) {
                uint32_t f = v >> ch[c]->offset & ((1u << ch[c]->length) - 1);
                /* Back to 8 bits as fb_convert_row narrowed it: the top bits, repeated below. */
                uint32_t v8 = ch[c]->length >= 8 ? f >> (ch[c]->length - 8) : f << (8 - ch[c]->length);
                img->rgb[((size_t)y * var.xres + x) * 3 + c] = (uint8_t)v8;
            }
        }
    munmap(p, fix.smem_len);
    close(fd);
    return true;
}

/* Compare through the framebuffer's depth: the screen's channels cut to as many bits as the fb keeps. */
static unsigned fb_bits = 8;
static double fb_distance(const struct image *fb, const struct image *screen) {
    if (fb->w != screen->w || fb->h != screen->h)
        return 255;
    uint8_t mask = (uint8_t)(0xff << (8 - fb_bits));
    for (size_t i = 0; i < (size_t)fb->w * fb->h * 3; i++)
        if ((fb->rgb[i] & mask) != (screen->rgb[i] & mask))
            return 100;
    return 0;
}

static void test_fbdev(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    char why[256] = "";
    char *card = NULL, *fb = find_fbdev();
    if (!fb && (card = vkms_card(why, sizeof why)))
        fb = find_fbdev();
    SKIP_IF(!fb, "%s", why[0] ? why : "vkms has no fbdev emulation here (no /dev/fbN named vkms...)");
    int fd = open(fb, O_RDONLY | O_CLOEXEC);
    struct fb_var_screeninfo var;
    assert_true(fd >= 0 && ioctl(fd, FBIOGET_VSCREENINFO, &var) == 0);
    close(fd);
    fb_bits = var.green.length < var.red.length ? var.green.length : var.red.length;
    fb_bits = var.blue.length < fb_bits ? var.blue.length : fb_bits;
    char *spec = test_fmt("fbdev:%s", fb);
    struct fbview fv = {fb};
    install_tapapp(d);
    daemon_start(d, spec, NULL);
    slate_ok(d, "start", "org.test.tap", NULL);
    struct image first = wait_presented(d, fetch_fb, &fv, fb_distance, NULL, "the app in the framebuffer");
    print_message("the fbdev screen is %dx%d, %u bits a pixel\n", first.w, first.h, var.bits_per_pixel);
    char x[16], y[16];
    snprintf(x, sizeof x, "%d", first.w / 2);
    snprintf(y, sizeof y, "%d", BAR + (first.h - BAR) / 2);
    slate_ok(d, "tap", x, y, NULL);
    wait_log(d, "tapped 1");
    free(wait_presented(d, fetch_fb, &fv, fb_distance, &first, "the tap's count in the framebuffer").rgb);
    free(first.rgb);
    daemon_stop(d);
    free(spec), free(fb), free(card);
}

/* ---- refusals ---- */

/* A bad --display: slated exits non-zero at once, its last line naming the cause, nothing left running. */
static void test_refusals(void **state) {
    NEED_ROOT();
    struct device *d = *state;
    static const struct {
        const char *spec, *phrase;
        const char *env[4];
    } cases[] = {
        /* Those that load SDL come last: a device-only run (no SDL there) stops before them. */
        {"bogus",
         "--display bogus: none of headless, web[:PORT], sdl[:WxH][,SCALE], drm[:/dev/dri/cardN], fbdev",
         {NULL}},
        {"sdl:0", "--display sdl:0: sdl[:WxH][,SCALE], a scale from 0.05 to 4", {NULL}},
        {"sdl:2x2x2", "a screen size is WxH", {NULL}},
        {"drm:/nonexistent/card0", "--display drm: /nonexistent/card0: No such file or directory", {NULL}},
        {"drm:/dev/null", "--display drm: /dev/null has no dumb buffers", {NULL}},
        {"fbdev:/nonexistent/fb0", "--display fbdev: no /nonexistent/fb0", {NULL}},
        {"fbdev:/dev/null", "--display fbdev: /dev/null is not a framebuffer device", {NULL}},
        {"sdl:10x10",
         "--display sdl:10x10: a 10x10 screen; slated shows 160x208 to 8192x8192",
         {"SDL_VIDEODRIVER=offscreen", NULL}},
        {"sdl", "--display sdl: no desktop", {"DISPLAY", "WAYLAND_DISPLAY", "SDL_VIDEODRIVER", NULL}},
    };
    for (size_t i = 0; i < sizeof cases / sizeof *cases; i++) {
        if (devices_only && !strncmp(cases[i].spec, "sdl:1", 5))
            break;
        pid_t pid = spawn_slated(d, cases[i].spec, cases[i].env, -1);
        int status = 0;
        uint64_t end = now_ms() + 15000 * slow;
        while (waitpid(pid, &status, WNOHANG) == 0 && now_ms() < end)
            usleep(20000);
        if (now_ms() >= end) {
            kill(pid, SIGKILL);
            waitpid(pid, NULL, 0);
            fail_msg("slated --display %s did not refuse", cases[i].spec);
        }
        char *log = test_read(d->log, NULL);
        /* The last line is the one that says why. */
        size_t n = strlen(log);
        while (n && log[n - 1] == '\n')
            log[--n] = '\0';
        const char *last = strrchr(log, '\n') ? strrchr(log, '\n') + 1 : log;
        if (!WIFEXITED(status) || WEXITSTATUS(status) == 0 || !strstr(last, cases[i].phrase))
            fail_msg("slated --display %s: status %d, last line \"%s\" (wanted \"%s\")", cases[i].spec, status, last,
                     cases[i].phrase);
        char *ready = test_fmt("%s/run/slate/ready", d->dev.root);
        assert_false(test_exists(ready));
        free(ready);
        free(log);
    }
}

static void check_environment(void) {
    if (geteuid() != 0) {
        snprintf(skip_reason, sizeof skip_reason, "slated's sandboxes and cgroups need root");
        return;
    }
    pid_t pid = fork();
    if (pid == 0)
        _exit(unshare(CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID) == 0 ? 0 : errno);
    int status;
    waitpid(pid, &status, 0);
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        snprintf(skip_reason, sizeof skip_reason, "this kernel refuses user namespaces (%s)",
                 strerror(WIFEXITED(status) ? WEXITSTATUS(status) : EPERM));
}

int main(int argc, char **argv) {
    if (argc != 3) {
        fprintf(stderr, "usage: test-display SLATED TAPAPP\n");
        return 2;
    }
    slated_bin = argv[1];
    tapapp = argv[2];
    check_environment();
    const char *v = getenv("SLATE_TEST_SLOW");
    slow = v && atoi(v) > 1 ? (unsigned)atoi(v) : 1;
    devices_only = getenv("SLATE_TEST_DEVICES_ONLY") && getenv("SLATE_TEST_DEVICES_ONLY")[0];
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_refusals, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sdl_offscreen, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sdl_size, setup, teardown),
        cmocka_unit_test_setup_teardown(test_sdl_x11, setup, teardown),
        cmocka_unit_test_setup_teardown(test_drm, setup, teardown),
        cmocka_unit_test_setup_teardown(test_fbdev, setup, teardown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
