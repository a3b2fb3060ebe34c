/* display-sdl.c: the screen in an SDL2 window on a desktop, with the mouse and keyboard as input. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <unistd.h>

#include <SDL.h>
#include <SDL_events.h>
#include <SDL_hints.h>
#include <SDL_render.h>
#include <SDL_syswm.h>
#include <SDL_video.h>

#include "dl.h"
#include "png-save.h"
#include "slated.h"
#include "util.h"

/*
 * libSDL2, loaded when this backend starts, runs in slated's one thread and loop. SDL has no
 * event fd of its own, but its X11 and Wayland drivers read one connection: slated watches that
 * fd, and when it is readable pumps SDL's queue dry. Whatever SDL itself reads off the connection
 * meanwhile (a present waits for a reply and queues the events behind it) is pumped right after
 * each present, so nothing waits in SDL's queue while slated sleeps: no polling, no thread, and
 * an idle slated does not wake. The offscreen and dummy drivers (tests, CI) have no input and no
 * fd; any other driver (kmsdrm: use --display drm) is refused, since slated could not wait on it.
 *
 * The screen is a streaming texture: damage marks rectangles (merged past RECTS), and once per
 * loop turn only those are uploaded, the texture drawn scaled to the window (letterboxed, through
 * SDL's logical size, which also hands mouse positions back in screen pixels) and presented.
 * No vsync: a present never blocks the loop.
 *
 * Closing the window does not stop slated (a device's screen cannot be closed; SIGTERM stops it):
 * the window is minimised instead, and comes back from the desktop's task list.
 *
 * SLATE_SDL_DUMP=FILE (tests): after each present, the window's pixels as read back from the
 * renderer are written to FILE as a PNG (replaced atomically).
 */
#define DEFAULT_SCALE 0.5
#define RECTS 16

#define SDL_SYMBOLS(X)                                                                                                 \
    X(SDL_CreateRenderer)                                                                                              \
    X(SDL_CreateTexture)                                                                                               \
    X(SDL_CreateWindow)                                                                                                \
    X(SDL_DestroyRenderer)                                                                                             \
    X(SDL_DestroyTexture)                                                                                              \
    X(SDL_DestroyWindow)                                                                                               \
    X(SDL_GetCurrentVideoDriver)                                                                                       \
    X(SDL_GetDisplayUsableBounds)                                                                                      \
    X(SDL_GetError)                                                                                                    \
    X(SDL_GetRendererInfo)                                                                                             \
    X(SDL_GetRendererOutputSize)                                                                                       \
    X(SDL_GetWindowWMInfo)                                                                                             \
    X(SDL_InitSubSystem)                                                                                               \
    X(SDL_MinimizeWindow)                                                                                              \
    X(SDL_PollEvent)                                                                                                   \
    X(SDL_Quit)                                                                                                        \
    X(SDL_QuitSubSystem)                                                                                               \
    X(SDL_RenderClear)                                                                                                 \
    X(SDL_RenderCopy)                                                                                                  \
    X(SDL_RenderPresent)                                                                                               \
    X(SDL_RenderReadPixels)                                                                                            \
    X(SDL_RenderSetLogicalSize)                                                                                        \
    X(SDL_SetHint)                                                                                                     \
    X(SDL_SetRenderDrawColor)                                                                                          \
    X(SDL_StartTextInput)                                                                                              \
    X(SDL_UpdateTexture)

SDL_SYMBOLS(DL_DECLARE)
int dlopen_sdl(struct err *e);
DL_LIBRARY(sdl, "libSDL2-2.0.so.0", "SDL2", SDL_SYMBOLS, NULL, false)

/* Wayland's connection fd: libwayland-client is SDL's (already loaded when asked). */
struct wl_display;
int wl_display_get_fd(struct wl_display *display);
#define WL_SYMBOLS(X) X(wl_display_get_fd)
WL_SYMBOLS(DL_DECLARE)
int dlopen_wl(struct err *e);
DL_LIBRARY(wl, "libwayland-client.so.0", "libwayland-client", WL_SYMBOLS, NULL, false)

struct sdl {
    struct slated *s;
    SDL_Window *win;
    SDL_Renderer *ren;
    SDL_Texture *tex;
    struct loop_source *io, *flush;
    struct rect dirty[RECTS];
    int n_dirty;
    bool present;     /* present even with nothing to upload: the window was exposed or resized */
    bool down;        /* the left button is down: a touch in progress */
    int x, y;         /* where it last was, in screen pixels */
    const char *dump; /* SLATE_SDL_DUMP */
};

static struct sdl *S(struct slated *s) {
    return s->display->backend_state;
}

/* ---- the spec: sdl[:WxH][,SCALE] ---- */

/* "WxH": a screen size; anything else a scale. Each at most once. */
static int parse_spec(const char *arg, int *w, int *h, double *scale, struct err *e) {
    char buf[64];
    if (strlen(arg) >= sizeof buf)
        return err_set(e, -EINVAL, "--display sdl:%s: sdl[:WxH][,SCALE], e.g. sdl:1080x2400,0.4", arg);
    strcpy(buf, arg);
    bool sized = false, scaled = false;
    for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
        char *x = strchr(t, 'x'), *end;
        if (x && !sized) {
            unsigned long vw, vh;
            *x = '\0';
            if (parse_uint(t, 1, 8192, &vw) < 0 || parse_uint(x + 1, 1, 8192, &vh) < 0)
                return err_set(e, -EINVAL, "--display sdl:%s: a screen size is WxH, 1 to 8192 pixels a side", arg);
            *w = (int)vw, *h = (int)vh, sized = true;
            continue;
        }
        errno = 0;
        double v = strtod(t, &end);
        if (x || scaled || errno || end == t || *end || !(v >= 0.05 && v <= 4))
            return err_set(e, -EINVAL, "--display sdl:%s: sdl[:WxH][,SCALE], a scale from 0.05 to 4 (e.g. sdl:0.5)",
                           arg);
        *scale = v, scaled = true;
    }
    return 0;
}

/* ---- input: SDL's events as the display's, in screen pixels ---- */

/* The web viewer's names (display-web.c), plus Alt+Left and Android's back key as Back. */
static const char *key_name(const SDL_KeyboardEvent *k) {
    switch (k->keysym.sym) {
    case SDLK_ESCAPE:
    case SDLK_AC_BACK: return "Back";
    case SDLK_LEFT: return k->keysym.mod & KMOD_ALT ? "Back" : "Left";
    case SDLK_RIGHT: return "Right";
    case SDLK_RETURN:
    case SDLK_KP_ENTER: return "Return";
    case SDLK_BACKSPACE: return "BackSpace";
    case SDLK_DELETE: return "Delete";
    case SDLK_HOME: return "Home";
    case SDLK_END: return "End";
    default: return NULL;
    }
}

static int clamp(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

static void handle(struct sdl *w, const SDL_Event *ev) {
    struct display *d = w->s->display;
    switch (ev->type) {
    case SDL_MOUSEBUTTONDOWN:
        /* A press in the letterbox, outside the screen, is nobody's. */
        if (ev->button.button != SDL_BUTTON_LEFT || ev->button.x < 0 || ev->button.y < 0 || ev->button.x >= d->w ||
            ev->button.y >= d->h)
            break;
        w->down = true;
        w->x = ev->button.x, w->y = ev->button.y;
        display_input(w->s, INPUT_DOWN, w->x, w->y, NULL);
        break;
    case SDL_MOUSEMOTION:
        /* A drag may leave the screen: it goes on along its edge. */
        if (w->down) {
            w->x = clamp(ev->motion.x, 0, d->w - 1), w->y = clamp(ev->motion.y, 0, d->h - 1);
            display_input(w->s, INPUT_MOVE, w->x, w->y, NULL);
        }
        break;
    case SDL_MOUSEBUTTONUP:
        if (ev->button.button == SDL_BUTTON_LEFT && w->down) {
            w->down = false;
            display_input(w->s, INPUT_UP, clamp(ev->button.x, 0, d->w - 1), clamp(ev->button.y, 0, d->h - 1), NULL);
        }
        break;
    case SDL_KEYDOWN: {
        const char *name = key_name(&ev->key);
        if (name)
            display_input(w->s, INPUT_KEY, 0, 0, name);
        break;
    }
    case SDL_TEXTINPUT: display_input(w->s, INPUT_TEXT, 0, 0, ev->text.text); break;
    case SDL_WINDOWEVENT:
        switch (ev->window.event) {
        case SDL_WINDOWEVENT_CLOSE: sym_SDL_MinimizeWindow(w->win); break;
        case SDL_WINDOWEVENT_FOCUS_LOST:
            if (w->down) {
                w->down = false;
                display_input(w->s, INPUT_CANCEL, w->x, w->y, NULL);
            }
            break;
        case SDL_WINDOWEVENT_EXPOSED:
        case SDL_WINDOWEVENT_SIZE_CHANGED:
        case SDL_WINDOWEVENT_RESTORED:
            w->present = true;
            loop_timer_set(w->flush, 0);
            break;
        }
        break;
    default: break; /* SDL_QUIT (the window closed) included: slated goes on */
    }
}

/* Everything SDL has queued, read or not yet read from its connection. */
static void pump(struct sdl *w) {
    SDL_Event ev;
    while (sym_SDL_PollEvent(&ev))
        handle(w, &ev);
}

static int on_io(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    (void)src, (void)fd, (void)events;
    pump(userdata);
    return 0;
}

/* ---- output ---- */

/* The window's pixels, as presented, into w->dump (a test's witness). */
static void dump(struct sdl *w) {
    struct err e = {0};
    int ow = 0, oh = 0;
    if (sym_SDL_GetRendererOutputSize(w->ren, &ow, &oh) < 0 || ow <= 0 || oh <= 0)
        return;
    uint32_t *px = calloc((size_t)ow * (size_t)oh, 4);
    char tmp[PATH_MAX];
    int fd = -1;
    /* The whole window: without the logical size, the viewport is all of it. */
    sym_SDL_RenderSetLogicalSize(w->ren, 0, 0);
    if (px && sym_SDL_RenderReadPixels(w->ren, NULL, SDL_PIXELFORMAT_XRGB8888, px, ow * 4) == 0 &&
        snprintf(tmp, sizeof tmp, "%s.tmp", w->dump) < (int)sizeof tmp &&
        (fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) >= 0) {
        if (png_save(px, ow, oh, ow, fd, &e) == 0 && close(fd) == 0)
            rename(tmp, w->dump);
        else
            unlink(tmp);
    }
    sym_SDL_RenderSetLogicalSize(w->ren, w->s->display->w, w->s->display->h);
    free(px);
}

/* Once per loop turn: the damaged rectangles into the texture, the texture onto the window. */
static int on_flush(struct loop_source *src, void *userdata) {
    struct sdl *w = userdata;
    struct display *d = w->s->display;
    (void)src;
    if (!w->n_dirty && !w->present)
        return 0;
    for (int i = 0; i < w->n_dirty; i++) {
        struct rect r = w->dirty[i];
        SDL_Rect sr = {r.x, r.y, r.w, r.h};
        sym_SDL_UpdateTexture(w->tex, &sr, d->screen + (size_t)r.y * d->w + r.x, d->w * 4);
    }
    w->n_dirty = 0;
    w->present = false;
    /* The letterbox in the viewer's colour (display-web.c's page). */
    sym_SDL_SetRenderDrawColor(w->ren, 0x20, 0x21, 0x24, 0xff);
    sym_SDL_RenderClear(w->ren);
    sym_SDL_RenderCopy(w->ren, w->tex, NULL, NULL);
    if (w->dump)
        dump(w);
    sym_SDL_RenderPresent(w->ren);
    pump(w);
    return 0;
}

static void sdl_damage(struct slated *s, struct rect r) {
    struct sdl *w = S(s);
    if (w->n_dirty == RECTS) {
        for (int i = 1; i < w->n_dirty; i++)
            w->dirty[0] = rect_union(w->dirty[0], w->dirty[i]);
        w->dirty[0] = rect_union(w->dirty[0], r);
        w->n_dirty = 1;
    } else
        w->dirty[w->n_dirty++] = r;
    loop_timer_set(w->flush, 0);
}

/* ---- open and close ---- */

/* The fd SDL's driver reads its events from; -1 for drivers with no input; -ENOTSUP for others. */
static int event_fd(struct sdl *w, const char *driver, struct err *e) {
    SDL_SysWMinfo info;
    if (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy"))
        return -1;
    SDL_VERSION(&info.version);
    if (!sym_SDL_GetWindowWMInfo(w->win, &info))
        return err_set(e, -ENOTSUP, "--display sdl: SDL's %s driver tells nothing of its connection: %s", driver,
                       sym_SDL_GetError());
    if (info.subsystem == SDL_SYSWM_X11)
        return ConnectionNumber(info.info.x11.display);
    if (info.subsystem == SDL_SYSWM_WAYLAND) {
        int r = dlopen_wl(e);
        return r < 0 ? r : sym_wl_display_get_fd(info.info.wl.display);
    }
    return err_set(e, -ENOTSUP,
                   "--display sdl: SDL's %s driver has no event fd slated could wait on (x11, wayland, offscreen and "
                   "dummy have; on a console, --display drm)",
                   driver);
}

static void sdl_free(struct sdl *w) {
    loop_source_remove(w->io);
    loop_source_remove(w->flush);
    if (w->tex)
        sym_SDL_DestroyTexture(w->tex);
    if (w->ren)
        sym_SDL_DestroyRenderer(w->ren);
    if (w->win)
        sym_SDL_DestroyWindow(w->win);
    sym_SDL_QuitSubSystem(SDL_INIT_VIDEO);
    sym_SDL_Quit();
    free(w);
}

/* The window's size: the screen at scale, or by default at half size, made smaller to fit the desktop. */
static void window_size(const struct display *d, double scale, bool chosen, int *ww, int *wh) {
    SDL_Rect usable;
    if (!chosen && sym_SDL_GetDisplayUsableBounds(0, &usable) == 0 && usable.w > 0 && usable.h > 0) {
        double fit = 0.9 * usable.h / d->h < 0.9 * usable.w / d->w ? 0.9 * usable.h / d->h : 0.9 * usable.w / d->w;
        if (fit < scale)
            scale = fit;
    }
    *ww = (int)(d->w * scale + 0.5) > 0 ? (int)(d->w * scale + 0.5) : 1;
    *wh = (int)(d->h * scale + 0.5) > 0 ? (int)(d->h * scale + 0.5) : 1;
}

static int sdl_open(struct slated *s, const char *arg, struct err *e) {
    struct display *d = s->display;
    double scale = 0;
    int r, w_ = d->w, h_ = d->h;
    if ((r = parse_spec(arg, &w_, &h_, &scale, e)) < 0 || (r = dlopen_sdl(e)) < 0)
        return r;
    d->w = w_, d->h = h_;
    struct sdl *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, -ENOMEM, "out of memory");
    w->s = s;
    const char *dump_path = getenv("SLATE_SDL_DUMP");
    w->dump = dump_path && dump_path[0] ? dump_path : NULL;
    /* slated owns its signals (signalfd); closing the window is not quitting; the desktop may sleep. */
    sym_SDL_SetHint(SDL_HINT_NO_SIGNAL_HANDLERS, "1");
    sym_SDL_SetHint(SDL_HINT_QUIT_ON_LAST_WINDOW_CLOSE, "0");
    sym_SDL_SetHint(SDL_HINT_VIDEO_ALLOW_SCREENSAVER, "1");
    sym_SDL_SetHint(SDL_HINT_MOUSE_FOCUS_CLICKTHROUGH, "1");
    sym_SDL_SetHint(SDL_HINT_RENDER_SCALE_QUALITY, "linear");
    /*
     * SDL's software renderer, straight into the window's own framebuffer (X11: shared memory): a scaled
     * copy of a screen that changes in rectangles needs no GPU, and GL would bring Mesa into a daemon
     * (measured on Xvfb: 28 MB resident and one thread, against 119 MB and six with llvmpipe, and
     * presents 1.5 to 7 ms against 5 to 13 ms). $SDL_RENDER_DRIVER (opengl, say) overrides both.
     */
    sym_SDL_SetHint(SDL_HINT_RENDER_DRIVER, "software");
    sym_SDL_SetHint(SDL_HINT_FRAMEBUFFER_ACCELERATION, "0");
    if (sym_SDL_InitSubSystem(SDL_INIT_VIDEO) < 0) {
        r = err_set(e, -ENODEV, "--display sdl: SDL has no video device: %s (no $DISPLAY or $WAYLAND_DISPLAY?)",
                    sym_SDL_GetError());
        sym_SDL_Quit();
        free(w);
        return r;
    }
    int ww, wh;
    window_size(d, scale > 0 ? scale : DEFAULT_SCALE, scale > 0, &ww, &wh);
    const char *driver = sym_SDL_GetCurrentVideoDriver(), *asked = getenv("SDL_VIDEODRIVER");
    /* SDL falls back to a window nobody sees when there is no desktop: that must be asked for. */
    if (driver && (!strcmp(driver, "offscreen") || !strcmp(driver, "dummy")) && !(asked && strstr(asked, driver))) {
        r = err_set(e, -ENODEV,
                    "--display sdl: no desktop to show a window on (no $DISPLAY or $WAYLAND_DISPLAY; "
                    "SDL_VIDEODRIVER=offscreen for an invisible one)");
        sdl_free(w);
        return r;
    }
    SDL_RendererInfo info = {0};
    int fd = -1;
    if (!(w->win = sym_SDL_CreateWindow("Slate", SDL_WINDOWPOS_CENTERED, SDL_WINDOWPOS_CENTERED, ww, wh,
                                        SDL_WINDOW_RESIZABLE)) ||
        !(w->ren = sym_SDL_CreateRenderer(w->win, -1, 0)) || sym_SDL_RenderSetLogicalSize(w->ren, d->w, d->h) < 0 ||
        !(w->tex = sym_SDL_CreateTexture(w->ren, SDL_PIXELFORMAT_XRGB8888, SDL_TEXTUREACCESS_STREAMING, d->w, d->h)))
        r = err_set(e, -EIO, "--display sdl: a %dx%d window for a %dx%d screen: %s", ww, wh, d->w, d->h,
                    sym_SDL_GetError());
    else if ((fd = event_fd(w, driver ? driver : "?", e)) < -1)
        r = fd;
    else if ((fd >= 0 && (r = loop_add_io(s->loop, fd, EPOLLIN, on_io, w, &w->io)) < 0) ||
             (r = loop_add_timer(s->loop, 0, on_flush, w, &w->flush)) < 0)
        err_set(e, r, "--display sdl: cannot join the event loop: %s", strerror(-r));
    if (r < 0) {
        sdl_free(w);
        return r;
    }
    loop_timer_stop(w->flush);
    sym_SDL_StartTextInput();
    sym_SDL_GetRendererInfo(w->ren, &info);
    s->display->backend_state = w;
    slated_log(s, "SDL window: %dx%d screen at %dx%d (%s driver, %s renderer)", d->w, d->h, ww, wh, driver,
               info.name ? info.name : "?");
    pump(w);
    return 0;
}

static void sdl_close(struct slated *s) {
    struct sdl *w = S(s);
    if (!w)
        return;
    sdl_free(w);
    s->display->backend_state = NULL;
}

const struct display_backend sdl_backend = {.name = "sdl", .open = sdl_open, .damage = sdl_damage, .close = sdl_close};
