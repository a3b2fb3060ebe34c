/* display-drm.c: the device's own screen through Linux DRM/KMS: dumb buffers and page flips, no library. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <drm.h>
#include <drm_mode.h>

#include "display-input.h"
#include "slated.h"

/*
 * The kernel's KMS interface, with its own ioctls (the uapi headers only; libdrm is a thin wrapper
 * over the same calls): the first connected connector, its preferred mode on a CRTC its encoders
 * can drive, and two dumb buffers (XRGB8888) flipped on damage. The screen is the mode's size,
 * whatever it is (apps lay out to the size they are given; a landscape monitor gets a landscape
 * screen). The DRM fd is one more source in slated's loop: a flip's completion is an event on it.
 *
 * Each buffer remembers what changed on the screen since it was last shown (its stale
 * rectangles): before a flip only those are copied into the back buffer, from slated's screen.
 * While a flip is pending damage only accumulates; the flip's event sends the next frame. A
 * driver without page flips gets one buffer, drawn in place and reported with DIRTYFB.
 *
 * Input comes from evdev (display-input.c); a mouse gets the hardware cursor where the driver
 * has one. The CRTC's previous state (a console's) is put back on close.
 */
#define RECTS 16
#define CURSOR 64

struct buffer {
    uint32_t handle, fb, pitch;
    uint64_t size;
    uint8_t *map;
    struct rect stale[RECTS];
    int n_stale;
};

struct drm {
    struct slated *s;
    int fd;
    char path[64];
    uint32_t crtc, connector;
    struct drm_mode_modeinfo mode;
    struct drm_mode_crtc saved; /* what the CRTC showed before */
    struct buffer buf[2], cursor;
    int front, n_bufs; /* 2 with page flips, 1 without */
    bool flipping, cursor_shown;
    struct loop_source *io, *flush;
    struct evdev *input;
};

static struct drm *M(struct slated *s) {
    return s->display->backend_state;
}

static int xioctl(int fd, unsigned long req, void *arg) {
    int r;
    while ((r = ioctl(fd, req, arg)) < 0 && errno == EINTR)
        ;
    return r < 0 ? -errno : 0;
}

/* ---- buffers ---- */

static int buffer_create(struct drm *m, struct buffer *b, uint32_t w, uint32_t h, bool fb) {
    struct drm_mode_create_dumb create = {.width = w, .height = h, .bpp = 32};
    int r = xioctl(m->fd, DRM_IOCTL_MODE_CREATE_DUMB, &create);
    if (r < 0)
        return r;
    b->handle = create.handle, b->pitch = create.pitch, b->size = create.size;
    struct drm_mode_fb_cmd add = {
        .width = w, .height = h, .pitch = b->pitch, .bpp = 32, .depth = 24, .handle = b->handle};
    struct drm_mode_map_dumb map = {.handle = b->handle};
    if ((fb && (r = xioctl(m->fd, DRM_IOCTL_MODE_ADDFB, &add)) < 0) ||
        (r = xioctl(m->fd, DRM_IOCTL_MODE_MAP_DUMB, &map)) < 0)
        return r;
    b->fb = fb ? add.fb_id : 0;
    void *p = mmap(NULL, b->size, PROT_READ | PROT_WRITE, MAP_SHARED, m->fd, (off_t)map.offset);
    if (p == MAP_FAILED)
        return -errno;
    b->map = p;
    memset(b->map, 0, b->size);
    return 0;
}

static void buffer_destroy(struct drm *m, struct buffer *b) {
    if (b->map)
        munmap(b->map, b->size);
    if (b->fb)
        xioctl(m->fd, DRM_IOCTL_MODE_RMFB, &b->fb);
    if (b->handle) {
        struct drm_mode_destroy_dumb destroy = {.handle = b->handle};
        xioctl(m->fd, DRM_IOCTL_MODE_DESTROY_DUMB, &destroy);
    }
    *b = (struct buffer){0};
}

static void stale_add(struct buffer *b, struct rect r) {
    if (b->n_stale == RECTS) {
        for (int i = 1; i < b->n_stale; i++)
            b->stale[0] = rect_union(b->stale[0], b->stale[i]);
        b->stale[0] = rect_union(b->stale[0], r);
        b->n_stale = 1;
    } else
        b->stale[b->n_stale++] = r;
}

/* What changed since b was last shown, from the screen into b. */
static void buffer_update(struct drm *m, struct buffer *b) {
    struct display *d = m->s->display;
    for (int i = 0; i < b->n_stale; i++) {
        struct rect r = b->stale[i];
        for (int y = r.y; y < r.y + r.h; y++)
            memcpy(b->map + (size_t)y * b->pitch + (size_t)r.x * 4, d->screen + (size_t)y * d->w + r.x,
                   (size_t)r.w * 4);
    }
}

/* ---- frames ---- */

static int on_flush(struct loop_source *src, void *userdata) {
    struct drm *m = userdata;
    (void)src;
    if (m->flipping)
        return 0; /* the flip's event flushes again */
    if (m->n_bufs == 1) {
        struct buffer *b = &m->buf[0];
        struct drm_clip_rect clips[RECTS];
        if (!b->n_stale)
            return 0;
        buffer_update(m, b);
        for (int i = 0; i < b->n_stale; i++)
            clips[i] = (struct drm_clip_rect){(unsigned short)b->stale[i].x, (unsigned short)b->stale[i].y,
                                              (unsigned short)(b->stale[i].x + b->stale[i].w),
                                              (unsigned short)(b->stale[i].y + b->stale[i].h)};
        struct drm_mode_fb_dirty_cmd dirty = {
            .fb_id = b->fb, .num_clips = (unsigned)b->n_stale, .clips_ptr = (uint64_t)(uintptr_t)clips};
        xioctl(m->fd, DRM_IOCTL_MODE_DIRTYFB, &dirty); /* ENOSYS: a driver that scans out memory as is */
        b->n_stale = 0;
        return 0;
    }
    int back = 1 - m->front;
    struct buffer *b = &m->buf[back];
    if (!b->n_stale)
        return 0;
    buffer_update(m, b);
    struct drm_mode_crtc_page_flip flip = {
        .crtc_id = m->crtc, .fb_id = b->fb, .flags = DRM_MODE_PAGE_FLIP_EVENT, .user_data = (uint64_t)back};
    int r = xioctl(m->fd, DRM_IOCTL_MODE_PAGE_FLIP, &flip);
    if (r == -EBUSY) {
        /* A flip of someone else's (a mode set) is still pending: try again shortly. */
        loop_timer_set(m->flush, 2000);
        return 0;
    }
    if (r < 0) {
        /* No page flips here: one buffer from now on, the one on screen. */
        slated_log(m->s, "drm: %s cannot flip pages (%s): drawing in place", m->path, strerror(-r));
        m->n_bufs = 1;
        m->buf[0].n_stale = 0;
        stale_add(&m->buf[0], (struct rect){0, 0, m->s->display->w, m->s->display->h});
        struct drm_mode_crtc set = {.crtc_id = m->crtc,
                                    .fb_id = m->buf[0].fb,
                                    .mode = m->mode,
                                    .mode_valid = 1,
                                    .set_connectors_ptr = (uint64_t)(uintptr_t)&m->connector,
                                    .count_connectors = 1};
        xioctl(m->fd, DRM_IOCTL_MODE_SETCRTC, &set);
        m->front = 0;
        loop_timer_set(m->flush, 0);
        return 0;
    }
    b->n_stale = 0;
    m->flipping = true;
    return 0;
}

/* The DRM fd: a flip completed; the other buffer is now the one to draw into. */
static int on_event(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct drm *m = userdata;
    uint8_t buf[1024] __attribute__((aligned(8)));
    (void)src, (void)events;
    ssize_t n;
    while ((n = read(fd, buf, sizeof buf)) < 0 && errno == EINTR)
        ;
    for (ssize_t at = 0; n > 0 && at + (ssize_t)sizeof(struct drm_event) <= n;) {
        struct drm_event ev;
        memcpy(&ev, buf + at, sizeof ev);
        if (ev.length < sizeof ev || (size_t)at + ev.length > (size_t)n)
            break;
        if (ev.type == DRM_EVENT_FLIP_COMPLETE && ev.length >= sizeof(struct drm_event_vblank)) {
            struct drm_event_vblank vb;
            memcpy(&vb, buf + at, sizeof vb);
            m->front = (int)(vb.user_data & 1);
            m->flipping = false;
            if (m->buf[1 - m->front].n_stale)
                loop_timer_set(m->flush, 0);
        }
        at += ev.length;
    }
    return 0;
}

static void drm_damage(struct slated *s, struct rect r) {
    struct drm *m = M(s);
    for (int i = 0; i < m->n_bufs; i++)
        stale_add(&m->buf[i], r);
    if (!m->flipping)
        loop_timer_set(m->flush, 0);
}

/* A mouse moved: the hardware cursor follows, shown from its first move (touch never shows it). */
static void on_hover(struct slated *s, int x, int y) {
    struct drm *m = M(s);
    if (!m->cursor.handle)
        return;
    struct drm_mode_cursor c = {.flags = DRM_MODE_CURSOR_MOVE, .crtc_id = m->crtc, .x = x, .y = y};
    if (!m->cursor_shown) {
        c.flags |= DRM_MODE_CURSOR_BO;
        c.handle = m->cursor.handle, c.width = CURSOR, c.height = CURSOR;
        m->cursor_shown = true;
    }
    if (xioctl(m->fd, DRM_IOCTL_MODE_CURSOR, &c) < 0)
        buffer_destroy(m, &m->cursor); /* no cursor plane: none */
}

/* An arrow, black with a white edge, its tip at (0, 0). */
static void draw_cursor(struct buffer *b) {
    for (int y = 0; y < 20; y++)
        for (int x = 0; x <= y * 2 / 3 && x < CURSOR; x++) {
            bool edge = x == 0 || x == y * 2 / 3 || y == 19;
            ((uint32_t *)(void *)(b->map + (size_t)y * b->pitch))[x] = edge ? 0xffffffff : 0xff000000;
        }
}

/* ---- finding a screen ---- */

/* An array the kernel fills: count elements of size, zeroed (NULL for none). */
static void *array(uint32_t count, size_t size) {
    return calloc(count ? count : 1, size);
}

/* The connector's modes and encoders, read until their counts hold still (a probe may change them). */
static int get_connector(int fd, uint32_t id, struct drm_mode_get_connector *c, struct drm_mode_modeinfo **modes,
                         uint32_t **encoders) {
    for (int tries = 0; tries < 4; tries++) {
        *c = (struct drm_mode_get_connector){.connector_id = id};
        int r = xioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, c);
        if (r < 0)
            return r;
        uint32_t nm = c->count_modes, ne = c->count_encoders;
        *modes = array(nm, sizeof **modes);
        *encoders = array(ne, sizeof **encoders);
        if (!*modes || !*encoders)
            return -ENOMEM;
        *c = (struct drm_mode_get_connector){.connector_id = id,
                                             .count_modes = nm,
                                             .count_encoders = ne,
                                             .modes_ptr = (uint64_t)(uintptr_t)*modes,
                                             .encoders_ptr = (uint64_t)(uintptr_t)*encoders};
        if ((r = xioctl(fd, DRM_IOCTL_MODE_GETCONNECTOR, c)) < 0)
            return r;
        if (c->count_modes <= nm && c->count_encoders <= ne)
            return 0;
        free(*modes), free(*encoders);
        *modes = NULL, *encoders = NULL;
    }
    return -EAGAIN;
}

/* A CRTC one of the connector's encoders can drive: the one it drives now, else the first free to. */
static uint32_t pick_crtc(int fd, const struct drm_mode_card_res *res, const uint32_t *crtcs, uint32_t current_encoder,
                          const uint32_t *encoders, uint32_t n_encoders) {
    for (int pass = 0; pass < 2; pass++)
        for (uint32_t i = 0; i < n_encoders; i++) {
            struct drm_mode_get_encoder enc = {.encoder_id = encoders[i]};
            if ((pass == 0) != (encoders[i] == current_encoder) || xioctl(fd, DRM_IOCTL_MODE_GETENCODER, &enc) < 0)
                continue;
            if (pass == 0 && enc.crtc_id)
                return enc.crtc_id;
            for (uint32_t k = 0; k < res->count_crtcs && k < 32; k++)
                if (enc.possible_crtcs & (1u << k))
                    return crtcs[k];
        }
    return 0;
}

/* The first connected connector with a mode, its preferred mode, a CRTC for it. */
static int find_output(struct drm *m, struct err *e) {
    struct drm_mode_card_res res = {0};
    uint32_t *crtcs = NULL, *conns = NULL, *encs = NULL;
    int r = xioctl(m->fd, DRM_IOCTL_MODE_GETRESOURCES, &res);
    if (r < 0)
        return err_set(e, r, "--display drm: %s has no modesetting (%s): not a display device?", m->path, strerror(-r));
    uint32_t nc = res.count_crtcs, nk = res.count_connectors, ne = res.count_encoders;
    crtcs = array(nc, 4), conns = array(nk, 4), encs = array(ne, 4);
    res = (struct drm_mode_card_res){.crtc_id_ptr = (uint64_t)(uintptr_t)crtcs,
                                     .count_crtcs = nc,
                                     .connector_id_ptr = (uint64_t)(uintptr_t)conns,
                                     .count_connectors = nk,
                                     .encoder_id_ptr = (uint64_t)(uintptr_t)encs,
                                     .count_encoders = ne};
    if (!crtcs || !conns || !encs)
        r = err_set(e, -ENOMEM, "out of memory");
    else if ((r = xioctl(m->fd, DRM_IOCTL_MODE_GETRESOURCES, &res)) < 0)
        err_set(e, r, "--display drm: %s: %s", m->path, strerror(-r));
    else {
        res.count_crtcs = res.count_crtcs < nc ? res.count_crtcs : nc;
        r = err_set(e, -ENODEV, "--display drm: %s has no connected screen (%u connectors)", m->path,
                    res.count_connectors);
        for (uint32_t i = 0; i < nk && i < res.count_connectors && r < 0; i++) {
            struct drm_mode_get_connector c;
            struct drm_mode_modeinfo *modes = NULL;
            uint32_t *cenc = NULL;
            if (get_connector(m->fd, conns[i], &c, &modes, &cenc) == 0 && c.connection == 1 && c.count_modes > 0) {
                uint32_t best = 0;
                for (uint32_t k = 0; k < c.count_modes; k++)
                    if (modes[k].type & DRM_MODE_TYPE_PREFERRED) {
                        best = k;
                        break;
                    }
                uint32_t crtc = pick_crtc(m->fd, &res, crtcs, c.encoder_id, cenc, c.count_encoders);
                if (crtc) {
                    m->connector = conns[i], m->crtc = crtc, m->mode = modes[best];
                    e->code = 0, e->msg[0] = '\0';
                    r = 0;
                }
            }
            free(modes);
            free(cenc);
        }
    }
    free(crtcs), free(conns), free(encs);
    return r;
}

/* ---- open and close ---- */

static void drm_free(struct drm *m) {
    evdev_close(m->input);
    loop_source_remove(m->io);
    loop_source_remove(m->flush);
    if (m->saved.crtc_id) {
        /* What was there before (a console), as it was; a CRTC that was off goes off. */
        struct drm_mode_crtc set = m->saved;
        set.set_connectors_ptr = (uint64_t)(uintptr_t)&m->connector;
        set.count_connectors = set.fb_id ? 1 : 0;
        if (!set.fb_id)
            set.mode_valid = 0;
        xioctl(m->fd, DRM_IOCTL_MODE_SETCRTC, &set);
    }
    buffer_destroy(m, &m->cursor);
    for (int i = 0; i < 2; i++)
        buffer_destroy(m, &m->buf[i]);
    if (m->fd >= 0) {
        xioctl(m->fd, DRM_IOCTL_DROP_MASTER, NULL);
        close(m->fd);
    }
    free(m);
}

/* The device at path as the screen: 0, or a negative errno with one line in e. */
static int setup(struct drm *m, struct err *e) {
    struct display *d = m->s->display;
    struct drm_get_cap cap = {.capability = DRM_CAP_DUMB_BUFFER};
    int r;
    if ((m->fd = open(m->path, O_RDWR | O_CLOEXEC | O_NONBLOCK | O_NOCTTY)) < 0)
        return err_set(e, -errno, "--display drm: %s: %s", m->path, strerror(errno));
    if (xioctl(m->fd, DRM_IOCTL_GET_CAP, &cap) < 0 || !cap.value)
        return err_set(e, -ENOTSUP, "--display drm: %s has no dumb buffers (not a KMS display device?)", m->path);
    /* The first to open a card is its master; anyone else showing on it (a desktop) keeps it. */
    if ((r = xioctl(m->fd, DRM_IOCTL_SET_MASTER, NULL)) < 0)
        return err_set(e, r, "--display drm: %s is driven by another program (a desktop?): %s", m->path, strerror(-r));
    if ((r = find_output(m, e)) < 0)
        return r;
    uint32_t w = m->mode.hdisplay, h = m->mode.vdisplay;
    m->saved.crtc_id = m->crtc;
    if (xioctl(m->fd, DRM_IOCTL_MODE_GETCRTC, &m->saved) < 0)
        m->saved.crtc_id = 0;
    m->n_bufs = 2;
    for (int i = 0; i < 2; i++)
        if ((r = buffer_create(m, &m->buf[i], w, h, true)) < 0)
            return err_set(e, r, "--display drm: %s: two %ux%u buffers: %s", m->path, w, h, strerror(-r));
    struct drm_mode_crtc set = {.crtc_id = m->crtc,
                                .fb_id = m->buf[0].fb,
                                .mode = m->mode,
                                .mode_valid = 1,
                                .set_connectors_ptr = (uint64_t)(uintptr_t)&m->connector,
                                .count_connectors = 1};
    if ((r = xioctl(m->fd, DRM_IOCTL_MODE_SETCRTC, &set)) < 0) {
        m->saved.crtc_id = 0;
        return err_set(e, r, "--display drm: %s: setting %s (%ux%u): %s", m->path, m->mode.name, w, h, strerror(-r));
    }
    if (buffer_create(m, &m->cursor, CURSOR, CURSOR, false) == 0)
        draw_cursor(&m->cursor);
    else
        buffer_destroy(m, &m->cursor);
    d->w = (int)w, d->h = (int)h;
    return 0;
}

static int drm_open(struct slated *s, const char *arg, struct err *e) {
    int r = -ENODEV;
    struct drm *m = NULL;
    if (arg[0] && strlen(arg) >= sizeof m->path)
        return err_set(e, -ENAMETOOLONG, "--display drm:%s: a device such as /dev/dri/card0", arg);
    /* Given a card, that one; otherwise the first card with a connected screen. */
    for (int i = 0; i < (arg[0] ? 1 : 16); i++) {
        char path[64];
        snprintf(path, sizeof path, "/dev/dri/card%d", i);
        if (!arg[0] && access(path, F_OK) < 0)
            continue;
        if (!(m = calloc(1, sizeof *m)))
            return err_set(e, -ENOMEM, "out of memory");
        *m = (struct drm){.s = s, .fd = -1};
        snprintf(m->path, sizeof m->path, "%s", arg[0] ? arg : path);
        if ((r = setup(m, e)) == 0)
            break;
        drm_free(m);
        m = NULL;
    }
    if (!m && r == -ENODEV && !e->msg[0])
        return err_set(e, r,
                       "--display drm: no /dev/dri/card*: this kernel has no DRM driver for a screen "
                       "(modprobe vkms for a virtual one, or --display fbdev)");
    if (!m)
        return r;
    s->display->backend_state = m;
    if ((r = loop_add_io(s->loop, m->fd, EPOLLIN, on_event, m, &m->io)) < 0 ||
        (r = loop_add_timer(s->loop, 0, on_flush, m, &m->flush)) < 0) {
        err_set(e, r, "--display drm: cannot join the event loop: %s", strerror(-r));
    } else if ((r = evdev_open(s, on_hover, &m->input, e)) == 0) {
        loop_timer_stop(m->flush);
        slated_log(s, "drm: %s, %s %ux%u@%u on CRTC %u", m->path, m->mode.name, m->mode.hdisplay, m->mode.vdisplay,
                   m->mode.vrefresh, m->crtc);
        return 0;
    }
    drm_free(m);
    s->display->backend_state = NULL;
    return r;
}

static void drm_close(struct slated *s) {
    struct drm *m = M(s);
    if (!m)
        return;
    drm_free(m);
    s->display->backend_state = NULL;
}

const struct display_backend drm_backend = {.name = "drm", .open = drm_open, .damage = drm_damage, .close = drm_close};
