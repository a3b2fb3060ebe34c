/* display-input.c: touchscreens, mice and keyboards from /dev/input, for the device's own screen. */
#include "display-input.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/inotify.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include "slated.h"

#define INPUT_DIR "/dev/input"
#define BATCH 64

/* ---- decoding ---- */

/* A plain US layout: what each key types, without and with Shift. */
static const char us_lower[KEY_KPDOT + 1] = {
    [KEY_1] = '1',     [KEY_2] = '2',          [KEY_3] = '3',         [KEY_4] = '4',          [KEY_5] = '5',
    [KEY_6] = '6',     [KEY_7] = '7',          [KEY_8] = '8',         [KEY_9] = '9',          [KEY_0] = '0',
    [KEY_MINUS] = '-', [KEY_EQUAL] = '=',      [KEY_Q] = 'q',         [KEY_W] = 'w',          [KEY_E] = 'e',
    [KEY_R] = 'r',     [KEY_T] = 't',          [KEY_Y] = 'y',         [KEY_U] = 'u',          [KEY_I] = 'i',
    [KEY_O] = 'o',     [KEY_P] = 'p',          [KEY_LEFTBRACE] = '[', [KEY_RIGHTBRACE] = ']', [KEY_A] = 'a',
    [KEY_S] = 's',     [KEY_D] = 'd',          [KEY_F] = 'f',         [KEY_G] = 'g',          [KEY_H] = 'h',
    [KEY_J] = 'j',     [KEY_K] = 'k',          [KEY_L] = 'l',         [KEY_SEMICOLON] = ';',  [KEY_APOSTROPHE] = '\'',
    [KEY_GRAVE] = '`', [KEY_BACKSLASH] = '\\', [KEY_Z] = 'z',         [KEY_X] = 'x',          [KEY_C] = 'c',
    [KEY_V] = 'v',     [KEY_B] = 'b',          [KEY_N] = 'n',         [KEY_M] = 'm',          [KEY_COMMA] = ',',
    [KEY_DOT] = '.',   [KEY_SLASH] = '/',      [KEY_SPACE] = ' ',     [KEY_KPASTERISK] = '*', [KEY_KP7] = '7',
    [KEY_KP8] = '8',   [KEY_KP9] = '9',        [KEY_KPMINUS] = '-',   [KEY_KP4] = '4',        [KEY_KP5] = '5',
    [KEY_KP6] = '6',   [KEY_KPPLUS] = '+',     [KEY_KP1] = '1',       [KEY_KP2] = '2',        [KEY_KP3] = '3',
    [KEY_KP0] = '0',   [KEY_KPDOT] = '.',
};
static const char us_upper[KEY_KPDOT + 1] = {
    [KEY_1] = '!',          [KEY_2] = '@',     [KEY_3] = '#',         [KEY_4] = '$',          [KEY_5] = '%',
    [KEY_6] = '^',          [KEY_7] = '&',     [KEY_8] = '*',         [KEY_9] = '(',          [KEY_0] = ')',
    [KEY_MINUS] = '_',      [KEY_EQUAL] = '+', [KEY_LEFTBRACE] = '{', [KEY_RIGHTBRACE] = '}', [KEY_SEMICOLON] = ':',
    [KEY_APOSTROPHE] = '"', [KEY_GRAVE] = '~', [KEY_BACKSLASH] = '|', [KEY_COMMA] = '<',      [KEY_DOT] = '>',
    [KEY_SLASH] = '?',
};

void evdev_decoder_init(struct evdev_decoder *dec, int w, int h, const struct input_absinfo *x,
                        const struct input_absinfo *y, bool mt, int slot) {
    *dec = (struct evdev_decoder){.w = w, .h = h, .abs = x && y, .mt = mt && x && y, .slot = slot, .primary = -1};
    if (dec->abs) {
        dec->ax.min = x->minimum, dec->ax.max = x->maximum;
        dec->ay.min = y->minimum, dec->ay.max = y->maximum;
    }
    /* A mouse starts in the middle of the screen. */
    dec->px = w / 2, dec->py = h / 2;
}

static int clamp(int v, int lo, int hi) {
    return v < lo ? lo : v > hi ? hi : v;
}

/* A device coordinate onto 0..n-1 (a degenerate range onto 0). */
static int scale(int v, int min, int max, int n) {
    if (max <= min)
        return 0;
    return (int)(((int64_t)clamp(v, min, max) - min) * (n - 1) / ((int64_t)max - min));
}

static const char *key_name(const struct evdev_decoder *dec, unsigned code) {
    switch (code) {
    case KEY_ESC:
    case KEY_BACK: return "Back";
    case KEY_LEFT: return dec->alt ? "Back" : "Left";
    case KEY_RIGHT: return "Right";
    case KEY_ENTER:
    case KEY_KPENTER: return "Return";
    case KEY_BACKSPACE: return "BackSpace";
    case KEY_DELETE: return "Delete";
    case KEY_HOME: return "Home";
    case KEY_END: return "End";
    default: return NULL;
    }
}

static void key(struct evdev_decoder *dec, unsigned code, int value, evdev_emit_fn emit, void *userdata) {
    bool pressed = value != 0;
    switch (code) {
    case KEY_LEFTSHIFT:
    case KEY_RIGHTSHIFT: dec->shift = pressed; return;
    case KEY_LEFTCTRL:
    case KEY_RIGHTCTRL: dec->ctrl = pressed; return;
    case KEY_LEFTALT:
    case KEY_RIGHTALT: dec->alt = pressed; return;
    case KEY_LEFTMETA:
    case KEY_RIGHTMETA: dec->meta = pressed; return;
    case KEY_CAPSLOCK:
        if (value == 1)
            dec->caps = !dec->caps;
        return;
    }
    if (!pressed) /* 1 pressed, 2 held (autorepeat): both type */
        return;
    const char *name = key_name(dec, code);
    if (name) {
        emit(userdata, INPUT_KEY, 0, 0, name);
        return;
    }
    if (code >= sizeof us_lower || !us_lower[code] || dec->ctrl || dec->meta)
        return;
    char c = us_lower[code];
    bool letter = c >= 'a' && c <= 'z';
    if (letter && dec->shift != dec->caps)
        c = (char)(c - 'a' + 'A');
    else if (!letter && dec->shift && us_upper[code])
        c = us_upper[code];
    char text[2] = {c, '\0'};
    emit(userdata, INPUT_TEXT, 0, 0, text);
}

/* At SYN_REPORT: what the pointer did since the last one. */
static void report(struct evdev_decoder *dec, evdev_emit_fn emit, void *userdata) {
    int x = dec->abs ? scale(dec->abs_x, dec->ax.min, dec->ax.max, dec->w) : dec->px;
    int y = dec->abs ? scale(dec->abs_y, dec->ay.min, dec->ay.max, dec->h) : dec->py;
    if (dec->down && !dec->was_down)
        emit(userdata, INPUT_DOWN, x, y, NULL);
    else if (dec->down && dec->moved)
        emit(userdata, INPUT_MOVE, x, y, NULL);
    else if (!dec->down && dec->was_down)
        emit(userdata, INPUT_UP, x, y, NULL);
    else if (dec->moved)
        emit(userdata, EVDEV_HOVER, x, y, NULL);
    dec->was_down = dec->down;
    dec->moved = false;
}

static void absolute(struct evdev_decoder *dec, unsigned code, int value) {
    if (dec->mt) {
        switch (code) {
        case ABS_MT_SLOT: dec->slot = value; break;
        case ABS_MT_TRACKING_ID:
            if (value >= 0 && dec->primary < 0) {
                dec->primary = dec->slot;
                dec->down = true;
            } else if (value < 0 && dec->slot == dec->primary) {
                dec->primary = -1;
                dec->down = false;
            }
            break;
        case ABS_MT_POSITION_X:
        case ABS_MT_POSITION_Y:
            if (dec->slot != dec->primary)
                break;
            *(code == ABS_MT_POSITION_X ? &dec->abs_x : &dec->abs_y) = value;
            dec->moved = true;
            break;
        }
    } else if (code == ABS_X || code == ABS_Y) {
        *(code == ABS_X ? &dec->abs_x : &dec->abs_y) = value;
        dec->moved = true;
    }
}

void evdev_decode(struct evdev_decoder *dec, const struct input_event *ev, evdev_emit_fn emit, void *userdata) {
    if (dec->dropped) {
        /* The kernel's buffer overran: everything up to the next report is unreliable. */
        if (ev->type == EV_SYN && ev->code == SYN_REPORT)
            dec->dropped = false;
        return;
    }
    switch (ev->type) {
    case EV_SYN:
        if (ev->code == SYN_REPORT)
            report(dec, emit, userdata);
        else if (ev->code == SYN_DROPPED) {
            /* Whatever was going on is lost: a touch in progress ends as cancelled. */
            if (dec->was_down)
                emit(userdata, INPUT_CANCEL, dec->abs ? scale(dec->abs_x, dec->ax.min, dec->ax.max, dec->w) : dec->px,
                     dec->abs ? scale(dec->abs_y, dec->ay.min, dec->ay.max, dec->h) : dec->py, NULL);
            dec->down = dec->was_down = dec->moved = false;
            dec->primary = -1;
            dec->shift = dec->ctrl = dec->alt = dec->meta = false;
            dec->dropped = true;
        }
        break;
    case EV_ABS:
        if (dec->abs)
            absolute(dec, ev->code, ev->value);
        break;
    case EV_REL:
        if (dec->abs || (ev->code != REL_X && ev->code != REL_Y))
            break;
        if (ev->code == REL_X)
            dec->px = clamp(dec->px + ev->value, 0, dec->w - 1);
        else
            dec->py = clamp(dec->py + ev->value, 0, dec->h - 1);
        dec->moved = true;
        break;
    case EV_KEY:
        if (ev->code == BTN_LEFT || (ev->code == BTN_TOUCH && !dec->mt)) {
            /* A multitouch screen's BTN_TOUCH follows any finger: its slots say which. */
            if (ev->code == BTN_LEFT || dec->abs)
                dec->down = ev->value != 0;
        } else if (ev->code < BTN_MISC)
            key(dec, ev->code, ev->value, emit, userdata);
        break;
    }
}

/* ---- devices ---- */

struct device {
    struct evdev *ev;
    int fd;
    struct loop_source *src;
    struct evdev_decoder dec;
    char node[32];
    struct device *next;
};

struct evdev {
    struct slated *s;
    void (*hover)(struct slated *s, int x, int y);
    int ino;
    struct loop_source *ino_src;
    struct device *devices;
};

#define BITS(n) (((n) + 8 * sizeof(unsigned long) - 1) / (8 * sizeof(unsigned long)))

static bool has(const unsigned long *bits, unsigned bit) {
    return bits[bit / (8 * sizeof(unsigned long))] >> (bit % (8 * sizeof(unsigned long))) & 1;
}

static void emit(void *userdata, int kind, int x, int y, const char *key) {
    struct device *dev = userdata;
    /* A mouse's cursor follows it, pressed or not; a touch has none. */
    if (kind != INPUT_KEY && kind != INPUT_TEXT && !dev->dec.abs && dev->ev->hover)
        dev->ev->hover(dev->ev->s, x, y);
    if (kind == EVDEV_HOVER)
        return;
    display_input(dev->ev->s, (enum proto_input)kind, x, y, key);
}

static void device_free(struct device *dev) {
    struct device **p = &dev->ev->devices;
    while (*p != dev)
        p = &(*p)->next;
    *p = dev->next;
    loop_source_remove(dev->src);
    close(dev->fd);
    free(dev);
}

static int on_device(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct device *dev = userdata;
    struct input_event buf[BATCH];
    (void)src, (void)events;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0 && errno == EAGAIN)
            return 0;
        if (n <= 0) {
            /* Unplugged (ENODEV), or a device that stopped making sense. */
            slated_log(dev->ev->s, "input: %s gone (%s)", dev->node, n < 0 ? strerror(errno) : "end of file");
            device_free(dev);
            return 0;
        }
        for (size_t i = 0; i < (size_t)n / sizeof *buf; i++)
            evdev_decode(&dev->dec, &buf[i], emit, dev);
    }
}

/* Open /dev/input/NAME when it is a touchscreen, a pointer or a keyboard; quietly skip anything else. */
static void device_add(struct evdev *ev, const char *name) {
    struct display *d = ev->s->display;
    char path[64], label[128] = "";
    unsigned long evbits[BITS(EV_MAX + 1)] = {0}, keys[BITS(KEY_MAX + 1)] = {0}, abs[BITS(ABS_MAX + 1)] = {0},
                                       rel[BITS(REL_MAX + 1)] = {0};
    if (strncmp(name, "event", 5) != 0 || snprintf(path, sizeof path, INPUT_DIR "/%s", name) >= (int)sizeof path)
        return;
    for (struct device *dev = ev->devices; dev; dev = dev->next)
        if (!strcmp(dev->node, name))
            return;
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd < 0)
        return;
    if (ioctl(fd, EVIOCGBIT(0, sizeof evbits), evbits) < 0 || ioctl(fd, EVIOCGBIT(EV_KEY, sizeof keys), keys) < 0 ||
        ioctl(fd, EVIOCGBIT(EV_ABS, sizeof abs), abs) < 0 || ioctl(fd, EVIOCGBIT(EV_REL, sizeof rel), rel) < 0) {
        close(fd);
        return;
    }
    ioctl(fd, EVIOCGNAME(sizeof label - 1), label);
    bool mt = has(evbits, EV_ABS) && has(abs, ABS_MT_POSITION_X) && has(abs, ABS_MT_POSITION_Y) &&
              has(abs, ABS_MT_TRACKING_ID);
    bool absolute = mt || (has(evbits, EV_ABS) && has(abs, ABS_X) && has(abs, ABS_Y) &&
                           (has(keys, BTN_TOUCH) || has(keys, BTN_LEFT)));
    bool mouse = !absolute && has(evbits, EV_REL) && has(rel, REL_X) && has(rel, REL_Y) && has(keys, BTN_LEFT);
    bool keyboard = has(evbits, EV_KEY) && has(keys, KEY_A) && has(keys, KEY_ENTER);
    bool back = has(evbits, EV_KEY) && (has(keys, KEY_BACK) || has(keys, KEY_ESC));
    struct device *dev = NULL;
    struct input_absinfo ax, ay, slot = {0};
    if (absolute && (ioctl(fd, EVIOCGABS(mt ? ABS_MT_POSITION_X : ABS_X), &ax) < 0 ||
                     ioctl(fd, EVIOCGABS(mt ? ABS_MT_POSITION_Y : ABS_Y), &ay) < 0))
        absolute = mt = false;
    if (mt)
        ioctl(fd, EVIOCGABS(ABS_MT_SLOT), &slot);
    if (!absolute && !mouse && !keyboard && !back) {
        close(fd);
        return;
    }
    /* Only slated hears it: typing into an app must not type into a console behind the screen too. */
    if (ioctl(fd, EVIOCGRAB, 1) < 0) {
        slated_log(ev->s, "input: %s (%s) is held by another program (%s); not used", name, label, strerror(errno));
        close(fd);
        return;
    }
    if (!(dev = calloc(1, sizeof *dev)) || loop_add_io(ev->s->loop, fd, EPOLLIN, on_device, dev, &dev->src) < 0) {
        free(dev);
        close(fd);
        return;
    }
    dev->ev = ev;
    dev->fd = fd;
    snprintf(dev->node, sizeof dev->node, "%s", name);
    evdev_decoder_init(&dev->dec, d->w, d->h, absolute ? &ax : NULL, absolute ? &ay : NULL, mt, slot.value);
    dev->next = ev->devices;
    ev->devices = dev;
    slated_log(ev->s, "input: %s (%s): %s%s%s", name, label,
               mt         ? "touchscreen"
               : absolute ? "absolute pointer"
               : mouse    ? "mouse"
                          : "",
               (absolute || mouse) && (keyboard || back) ? ", " : "",
               keyboard ? "keyboard"
               : back   ? "keys"
                        : "");
}

static int on_inotify(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct evdev *ev = userdata;
    char buf[4096] __attribute__((aligned(__alignof__(struct inotify_event))));
    (void)src, (void)events;
    for (;;) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n <= 0)
            return 0;
        for (char *p = buf; p < buf + n;) {
            const struct inotify_event *ie = (const struct inotify_event *)p;
            if (ie->len)
                device_add(ev, ie->name);
            p += sizeof *ie + ie->len;
        }
    }
}

int evdev_open(struct slated *s, void (*hover)(struct slated *s, int x, int y), struct evdev **ret, struct err *e) {
    struct evdev *ev = calloc(1, sizeof *ev);
    int r;
    if (!ev)
        return err_set(e, -ENOMEM, "out of memory");
    ev->s = s;
    ev->hover = hover;
    /* Devices plugged in later: a node appears (and udev then sets its permissions). */
    ev->ino = inotify_init1(IN_NONBLOCK | IN_CLOEXEC);
    if (ev->ino < 0) {
        r = err_set(e, -errno, "input: inotify: %s", strerror(errno));
        free(ev);
        return r;
    }
    if (inotify_add_watch(ev->ino, INPUT_DIR, IN_CREATE | IN_ATTRIB | IN_MOVED_TO) < 0) {
        close(ev->ino);
        ev->ino = -1;
    } else if ((r = loop_add_io(s->loop, ev->ino, EPOLLIN, on_inotify, ev, &ev->ino_src)) < 0) {
        close(ev->ino);
        free(ev);
        return err_set(e, r, "input: cannot join the event loop: %s", strerror(-r));
    }
    DIR *dir = opendir(INPUT_DIR);
    for (struct dirent *de; dir && (de = readdir(dir));)
        device_add(ev, de->d_name);
    if (dir)
        closedir(dir);
    if (!ev->devices)
        slated_log(s, "input: no touchscreen, pointer or keyboard under " INPUT_DIR "%s",
                   ev->ino < 0 ? " (and no such folder to watch)" : " yet");
    *ret = ev;
    return 0;
}

void evdev_close(struct evdev *ev) {
    if (!ev)
        return;
    while (ev->devices)
        device_free(ev->devices);
    loop_source_remove(ev->ino_src);
    if (ev->ino >= 0)
        close(ev->ino);
    free(ev);
}
