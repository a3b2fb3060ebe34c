/* cgroup.c: slated's cgroups: probing v2 or v1, the instance folder beneath slated's own, one group per app. */
#include "cgroup.h"

#include <sys/eventfd.h>

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

/* The controllers slated uses; on v2 the freezer is part of the core, not a controller. */
enum {
    CTRL_MEMORY = 1 << 0,
    CTRL_FREEZER = 1 << 1,
    CTRL_PIDS = 1 << 2,
};
static const char *const ctrl_names[] = {"memory", "freezer", "pids"};
#define N_CTRL 3

#define DAEMON_LEAF "daemon" /* v2: where slated sits while it hands controllers to its groups */
#define KILL_WAIT_MS 2000    /* how long the v1 kill waits for a group to empty */
#define GROUP_NAME_MAX 200   /* app ids; NAME_MAX leaves room */
#define INSTANCE_NAME_MAX 64

static inline void closep(int *fd) {
    if (*fd >= 0)
        close(*fd);
}
static inline void freep(void *p) {
    free(*(void **)p);
}
#define _cleanup_close_ __attribute__((cleanup(closep)))
#define _cleanup_free_ __attribute__((cleanup(freep)))

/* ---- bounded parsing of kernel files ---- */

/* A non-owning slice of a buffer: every kernel file is parsed through one, never as a C string. */
struct view {
    const char *p;
    size_t len;
};

static bool view_eq(struct view v, const char *s) {
    size_t n = strlen(s);
    return v.len == n && memcmp(v.p, s, n) == 0;
}

/* The text before the next sep (all of v when there is none); v moves past it and the sep. */
static struct view view_cut(struct view *v, char sep) {
    const char *end = memchr(v->p, sep, v->len);
    size_t n = end ? (size_t)(end - v->p) : v->len;
    size_t skip = end ? n + 1 : n;
    struct view head = {v->p, n};
    v->p += skip;
    v->len -= skip;
    return head;
}

static struct view view_trim(struct view v) {
    while (v.len > 0 && (v.p[v.len - 1] == '\n' || v.p[v.len - 1] == ' '))
        v.len--;
    return v;
}

/* Decimal digits only: no sign, no spaces, no overflow. */
static int view_u64(struct view v, uint64_t *ret) {
    uint64_t n = 0;
    if (v.len == 0 || v.len > 20)
        return -EBADMSG;
    for (size_t i = 0; i < v.len; i++) {
        unsigned d = (unsigned)(unsigned char)v.p[i] - '0';
        if (d > 9)
            return -EBADMSG;
        if (n > (UINT64_MAX - d) / 10)
            return -ERANGE;
        n = n * 10 + d;
    }
    *ret = n;
    return 0;
}

/* Which of our controllers a list names: sep-separated words such as "cpu memory pids" or "rw,memory". */
static unsigned view_controllers(struct view v, char sep) {
    unsigned mask = 0;
    while (v.len > 0) {
        struct view w = view_cut(&v, sep);
        for (unsigned i = 0; i < N_CTRL; i++)
            if (view_eq(w, ctrl_names[i]))
                mask |= 1U << i;
    }
    return mask;
}

/* fn gets each line without its '\n'; it returns 0 to go on, > 0 to stop there, < 0 to fail. */
typedef int (*line_fn)(struct view line, void *userdata);

/*
 * Read fd line by line through a fixed buffer. A line longer than the buffer is
 * skipped whole: no line this file looks for (a mount, a pid, a key) comes near.
 */
static int each_line(int fd, line_fn fn, void *userdata) {
    char buf[4096];
    size_t have = 0;
    bool skipping = false;

    for (;;) {
        ssize_t n = read(fd, buf + have, sizeof buf - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        have += (size_t)n;
        size_t start = 0;
        const char *nl;
        while ((nl = memchr(buf + start, '\n', have - start))) {
            size_t len = (size_t)(nl - (buf + start));
            int r = skipping ? 0 : fn((struct view){buf + start, len}, userdata);
            if (r != 0)
                return r;
            skipping = false;
            start += len + 1;
        }
        memmove(buf, buf + start, have - start);
        have -= start;
        if (have == sizeof buf) {
            skipping = true;
            have = 0;
        }
    }
    return have > 0 && !skipping ? fn((struct view){buf, have}, userdata) : 0;
}

static int lines_at(int dirfd, const char *name, line_fn fn, void *userdata) {
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? -errno : each_line(fd, fn, userdata);
}

/* All of a small file (one value, a state, a list of controllers) into buf; -EFBIG when it does not fit. */
static int read_small(int dirfd, const char *name, char *buf, size_t size, struct view *ret) {
    _cleanup_close_ int fd = openat(dirfd, name, O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t have = 0;

    if (fd < 0)
        return -errno;
    for (;;) {
        if (have == size)
            return -EFBIG;
        ssize_t n = read(fd, buf + have, size - have);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0)
            return -errno;
        if (n == 0)
            break;
        have += (size_t)n;
    }
    *ret = view_trim((struct view){buf, have});
    return 0;
}

static int read_u64_at(int dirfd, const char *name, uint64_t *ret) {
    char buf[64];
    struct view v;
    int r = read_small(dirfd, name, buf, sizeof buf, &v);
    return r < 0 ? r : view_u64(v, ret);
}

struct key_search {
    const char *key;
    uint64_t value;
};

static int key_line(struct view line, void *userdata) {
    struct key_search *k = userdata;
    struct view key = view_cut(&line, ' ');
    if (!view_eq(key, k->key))
        return 0;
    int r = view_u64(view_trim(line), &k->value);
    return r < 0 ? r : 1;
}

/* The number after key in a flat-keyed file ("populated 1", "oom_kill 3"); -ENODATA without that key. */
static int read_key_at(int dirfd, const char *name, const char *key, uint64_t *ret) {
    struct key_search k = {.key = key};
    int r = lines_at(dirfd, name, key_line, &k);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENODATA;
    *ret = k.value;
    return 0;
}

static int read_controllers_at(int dirfd, const char *name, unsigned *ret) {
    char buf[1024];
    struct view v;
    int r = read_small(dirfd, name, buf, sizeof buf, &v);
    if (r >= 0)
        *ret = view_controllers(v, ' ');
    return r;
}

/* One write of the whole text: cgroup files take a value per write(). */
static int write_at(int dirfd, const char *name, const char *text) {
    _cleanup_close_ int fd = openat(dirfd, name, O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    size_t len = strlen(text);

    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, len);
    if (n < 0)
        return -errno;
    return (size_t)n == len ? 0 : -EIO;
}

static int write_pid_at(int dirfd, pid_t pid) {
    char text[24];
    snprintf(text, sizeof text, "%d", (int)pid);
    return write_at(dirfd, "cgroup.procs", text);
}

static void sleep_ms(long ms) {
    struct timespec ts = {ms / 1000, (ms % 1000) * 1000000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Instance and group names become folder names next to the kernel's files: a small alphabet keeps them apart. */
static bool valid_name(const char *s, size_t max, bool need_dot) {
    size_t n = strnlen(s, max + 1);
    bool dot = false;

    if (n == 0 || n > max)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');
        if (i == 0 && !alnum)
            return false;
        if (!alnum && !strchr("._@-", ch))
            return false;
        dot |= ch == '.';
    }
    return dot || !need_dot;
}

/* ---- probing: where the hierarchies are mounted and where slated sits in each ---- */

struct mount_found {
    unsigned controllers; /* ours that it carries: co-mounted ones share one hierarchy */
    char point[PATH_MAX];
    char root[PATH_MAX]; /* the part of the hierarchy the mount shows */
    char own[PATH_MAX];  /* slated's cgroup, from /proc/self/cgroup; "" until found */
};

struct probe {
    struct mount_found unified;
    bool has_unified;
    struct mount_found v1[CGROUP_PROCS_MAX];
    size_t n_v1;
};

/* mountinfo writes space, tab, newline and backslash in paths as \ooo. */
static int unescape(struct view v, char *out, size_t size) {
    size_t o = 0;
    for (size_t i = 0; i < v.len; i++) {
        char ch = v.p[i];
        if (ch == '\\' && v.len - i >= 4 && v.p[i + 1] >= '0' && v.p[i + 1] <= '3' && v.p[i + 2] >= '0' &&
            v.p[i + 2] <= '7' && v.p[i + 3] >= '0' && v.p[i + 3] <= '7') {
            ch = (char)((v.p[i + 1] - '0') * 64 + (v.p[i + 2] - '0') * 8 + (v.p[i + 3] - '0'));
            i += 3;
        }
        if (o + 1 >= size)
            return -ENAMETOOLONG;
        out[o++] = ch;
    }
    out[o] = '\0';
    return 0;
}

static int add_mount(struct mount_found *m, unsigned controllers, struct view root, struct view point) {
    m->controllers = controllers;
    int r = unescape(root, m->root, sizeof m->root);
    return r < 0 ? r : unescape(point, m->point, sizeof m->point);
}

/* "36 25 0:32 / /sys/fs/cgroup/memory rw,relatime shared:15 - cgroup cgroup rw,memory" */
static int mountinfo_line(struct view line, void *userdata) {
    struct probe *p = userdata;
    for (int i = 0; i < 3; i++)
        view_cut(&line, ' '); /* mount id, parent id, major:minor */
    struct view root = view_cut(&line, ' ');
    struct view point = view_cut(&line, ' ');
    struct view w;
    do /* the mount options, then optional fields up to "-" */
        w = view_cut(&line, ' ');
    while (w.len > 0 && !view_eq(w, "-"));
    struct view fstype = view_cut(&line, ' ');
    view_cut(&line, ' '); /* source */
    struct view options = view_cut(&line, ' ');

    if (view_eq(fstype, "cgroup2") && !p->has_unified) {
        p->has_unified = true;
        return add_mount(&p->unified, 0, root, point);
    }
    if (!view_eq(fstype, "cgroup"))
        return 0;
    unsigned mask = view_controllers(options, ',');
    for (size_t i = 0; i < p->n_v1; i++)
        if (p->v1[i].controllers & mask)
            return 0; /* a hierarchy mounted twice: the first mount serves */
    if (mask == 0 || p->n_v1 == CGROUP_PROCS_MAX)
        return 0;
    return add_mount(&p->v1[p->n_v1++], mask, root, point);
}

static int set_own(struct mount_found *m, struct view path) {
    return unescape(path, m->own, sizeof m->own) < 0 ? -ENAMETOOLONG : 0;
}

/* "4:memory:/user.slice" for a v1 hierarchy (co-mounted: "2:cpu,cpuacct:/"), "0::/user.slice" for v2. */
static int self_cgroup_line(struct view line, void *userdata) {
    struct probe *p = userdata;
    struct view id = view_cut(&line, ':');
    struct view list = view_cut(&line, ':');
    struct view path = {line.p, line.len}; /* the rest: a path may hold ':' itself */

    path.len = strnlen(path.p, path.len); /* no NUL in the middle of what becomes a C string */
    if (view_eq(id, "0") && list.len == 0)
        return p->has_unified ? set_own(&p->unified, path) : 0;
    unsigned mask = view_controllers(list, ',');
    for (size_t i = 0; i < p->n_v1; i++)
        if (p->v1[i].controllers & mask) {
            int r = set_own(&p->v1[i], path);
            if (r < 0)
                return r;
        }
    return 0;
}

/* Where slated's cgroup shows in the file system: the mount point, then its path below the mount's root. */
static int mount_path(const struct mount_found *m, char *out, size_t size) {
    const char *own = m->own;
    size_t rl = strlen(m->root);

    if (!*own)
        return -ENOENT;
    if (strcmp(m->root, "/") != 0) {
        if (strncmp(own, m->root, rl) != 0 || (own[rl] != '/' && own[rl] != '\0'))
            return -ENOENT; /* slated's cgroup is outside what this mount shows */
        own += rl;
    }
    if (strcmp(own, "/") == 0)
        own = "";
    int n = snprintf(out, size, "%s%s", m->point, own);
    return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : 0;
}

static int probe_run(struct probe *p, struct err *e) {
    _cleanup_close_ int mi = open("/proc/self/mountinfo", O_RDONLY | O_CLOEXEC);
    if (mi < 0)
        return err_set(e, -errno, "cgroup: /proc/self/mountinfo: %s", strerror(errno));
    int r = each_line(mi, mountinfo_line, p);
    if (r < 0)
        return err_set(e, r, "cgroup: /proc/self/mountinfo: %s", strerror(-r));
    _cleanup_close_ int cg = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    if (cg < 0)
        return err_set(e, -errno, "cgroup: /proc/self/cgroup: %s", strerror(errno));
    r = each_line(cg, self_cgroup_line, p);
    if (r < 0)
        return err_set(e, r, "cgroup: /proc/self/cgroup: %s", strerror(-r));
    return 0;
}

/* ---- the instance ---- */

struct hierarchy {
    unsigned controllers; /* ours it carries; on v2 memory, freezer and pids when offered */
    char *own;            /* slated's own cgroup in it */
    char *path;           /* the instance folder: <own>/<instance> */
    int own_fd;           /* O_PATH */
    int dir_fd;           /* O_PATH */
};

struct cgroups {
    int version;
    char *instance;
    struct hierarchy h[CGROUP_PROCS_MAX];
    size_t n_h;
    int daemon_fd;             /* v2: <instance>/daemon */
    int high_fd;               /* v2: <instance>/memory.high, open once it is first set (cgroups_apps_set_high) */
    unsigned v2_controllers;   /* v2: what groups get (memory, and pids when offered) */
    struct cgroups *next_user; /* v2: the process's other open instances */
    char describe[PATH_MAX + 128];
};

/*
 * v2: a process sits in exactly one cgroup, so the instances one process opens
 * share its move out of <own>. The first moves the process into its daemon
 * leaf and enables the controllers in <own>; later ones find <own> here rather
 * than in /proc/self/cgroup (which names the leaf now); closing the instance
 * whose leaf holds the process moves it to another's, and the last one moves
 * it home and disables what the first enabled. A child forked meanwhile
 * inherits this along with its parent's place, which is where it sits too.
 */
static pthread_mutex_t home_lock = PTHREAD_MUTEX_INITIALIZER;
static struct cgroups *home_users;  /* open v2 instances of this process */
static struct cgroups *home_holder; /* whose daemon leaf the process sits in */
static unsigned home_enabled;       /* what the first instance enabled in <own>'s subtree_control */

static int hierarchy_open(struct hierarchy *h, const char *own, const char *instance, struct err *e) {
    h->own = strdup(own);
    if (!h->own || asprintf(&h->path, "%s/%s", own, instance) < 0) {
        h->path = NULL;
        return err_set(e, -ENOMEM, "cgroup: out of memory");
    }
    h->own_fd = open(own, O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (h->own_fd < 0)
        return err_set(e, -errno, "cgroup %s: %s", own, strerror(errno));
    /* A folder left by a slated of this instance name that died is taken over. */
    if (mkdirat(h->own_fd, instance, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "cgroup %s: %s", h->path, strerror(errno));
    h->dir_fd = openat(h->own_fd, instance, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (h->dir_fd < 0)
        return err_set(e, -errno, "cgroup %s: %s", h->path, strerror(errno));
    return 0;
}

static int v1_open(struct cgroups *c, const struct probe *p, struct err *e) {
    char own[PATH_MAX];
    bool memory = false;

    for (size_t i = 0; i < p->n_v1; i++) {
        /* A hierarchy that does not show slated's cgroup is as good as unmounted. */
        if (mount_path(&p->v1[i], own, sizeof own) < 0)
            continue;
        struct hierarchy *h = &c->h[c->n_h++];
        h->controllers = p->v1[i].controllers;
        memory |= h->controllers & CTRL_MEMORY;
        int r = hierarchy_open(h, own, c->instance, e);
        if (r < 0)
            return r;
    }
    if (!memory)
        return err_set(e, -EOPNOTSUPP,
                       "cgroup: no memory controller: cgroup v2 does not offer it and no v1 memory hierarchy "
                       "is mounted where /proc/self/cgroup says slated is");
    return 0;
}

/* "+memory +pids" or "-memory -pids" for the controllers in mask. */
static void control_text(unsigned mask, char sign, char *buf, size_t size) {
    size_t at = 0;
    buf[0] = '\0';
    for (unsigned i = 0; i < N_CTRL; i++)
        if (mask & (1U << i)) {
            int n = snprintf(buf + at, size - at, "%s%c%s", at ? " " : "", sign, ctrl_names[i]);
            if (n > 0 && (size_t)n < size - at)
                at += (size_t)n;
        }
}

/* Enable want in dirfd's cgroup.subtree_control; *ret_added gets what was not there before. */
static int subtree_enable(int dirfd, unsigned want, unsigned *ret_added) {
    unsigned present = 0;
    char text[64];
    int r = read_controllers_at(dirfd, "cgroup.subtree_control", &present);
    if (r < 0)
        return r;
    unsigned add = want & ~present;
    if (add) {
        control_text(add, '+', text, sizeof text);
        r = write_at(dirfd, "cgroup.subtree_control", text);
        if (r < 0)
            return r;
    }
    if (ret_added)
        *ret_added = add;
    return 0;
}

static void subtree_disable(int dirfd, unsigned which) {
    unsigned present = 0;
    char text[64];
    if (read_controllers_at(dirfd, "cgroup.subtree_control", &present) < 0 || !(which & present))
        return;
    control_text(which & present, '-', text, sizeof text);
    (void)write_at(dirfd, "cgroup.subtree_control", text);
}

/* With home_lock held. */
static int v2_leave_home(struct cgroups *c, struct err *e) {
    struct hierarchy *h = &c->h[0];
    int r = write_pid_at(c->daemon_fd, getpid());
    if (r < 0)
        return err_set(e, r, "cgroup %s/" DAEMON_LEAF "/cgroup.procs: %s", h->path, strerror(-r));
    home_holder = c;
    r = subtree_enable(h->own_fd, c->v2_controllers, &home_enabled);
    if (r == -EBUSY)
        return err_set(e, r,
                       "cgroup %s holds other processes: slated needs a cgroup of its own to hand controllers "
                       "to its apps (like systemd's Delegate=yes)",
                       h->own);
    if (r < 0)
        return err_set(e, r, "cgroup %s/cgroup.subtree_control: %s", h->own, strerror(-r));
    return 0;
}

/* With home_lock held. own: slated's own cgroup; offered: what its cgroup.controllers lists. */
static int v2_open(struct cgroups *c, const char *own, unsigned offered, struct err *e) {
    struct hierarchy *h = &c->h[c->n_h++];
    h->controllers = CTRL_MEMORY | CTRL_FREEZER | (offered & CTRL_PIDS);
    c->v2_controllers = CTRL_MEMORY | (offered & CTRL_PIDS);
    int r = hierarchy_open(h, own, c->instance, e);
    if (r < 0)
        return r;
    if (mkdirat(h->dir_fd, DAEMON_LEAF, 0755) < 0 && errno != EEXIST)
        return err_set(e, -errno, "cgroup %s/" DAEMON_LEAF ": %s", h->path, strerror(errno));
    c->daemon_fd = openat(h->dir_fd, DAEMON_LEAF, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (c->daemon_fd < 0)
        return err_set(e, -errno, "cgroup %s/" DAEMON_LEAF ": %s", h->path, strerror(errno));
    if (!home_users && (r = v2_leave_home(c, e)) < 0)
        return r;
    r = subtree_enable(h->dir_fd, c->v2_controllers, NULL);
    if (r < 0)
        return err_set(e, r, "cgroup %s/cgroup.subtree_control: %s", h->path, strerror(-r));
    c->next_user = home_users;
    home_users = c;
    return 0;
}

/* Undo v2_open, as far as it got. */
static void v2_close(struct cgroups *c) {
    struct hierarchy *h = &c->h[0];

    pthread_mutex_lock(&home_lock);
    for (struct cgroups **u = &home_users; *u; u = &(*u)->next_user)
        if (*u == c) {
            *u = c->next_user;
            break;
        }
    /* Children first: <own> cannot drop a controller that the instance still hands on. */
    if (h->dir_fd >= 0)
        subtree_disable(h->dir_fd, c->v2_controllers);
    if (home_holder == c) {
        if (home_users) {
            (void)write_pid_at(home_users->daemon_fd, getpid());
        } else {
            /* <own> takes processes again only once it hands no controller on. */
            subtree_disable(h->own_fd, home_enabled);
            home_enabled = 0;
            (void)write_pid_at(h->own_fd, getpid());
        }
        home_holder = home_users;
    }
    pthread_mutex_unlock(&home_lock);
    if (c->daemon_fd >= 0) {
        close(c->daemon_fd);
        (void)unlinkat(h->dir_fd, DAEMON_LEAF, AT_REMOVEDIR);
    }
}

struct cgroups *cgroups_close(struct cgroups *c) {
    if (!c)
        return NULL;
    if (c->version == 2)
        v2_close(c);
    if (c->high_fd >= 0)
        close(c->high_fd);
    for (size_t i = 0; i < c->n_h; i++) {
        struct hierarchy *h = &c->h[i];
        if (h->dir_fd >= 0)
            close(h->dir_fd);
        if (h->own_fd >= 0) {
            (void)unlinkat(h->own_fd, c->instance, AT_REMOVEDIR);
            close(h->own_fd);
        }
        free(h->own);
        free(h->path);
    }
    free(c->instance);
    free(c);
    return NULL;
}

static void describe(struct cgroups *c) {
    unsigned all = 0;
    char list[64] = "";
    size_t at = 0;

    for (size_t i = 0; i < c->n_h; i++)
        all |= c->h[i].controllers;
    for (unsigned i = 0; i < N_CTRL; i++)
        if (all & (1U << i)) {
            int n = snprintf(list + at, sizeof list - at, "%s%s", at ? ", " : "", ctrl_names[i]);
            if (n > 0 && (size_t)n < sizeof list - at)
                at += (size_t)n;
        }
    /* The memory hierarchy comes first on v1 too: it is the one required. */
    const struct hierarchy *m = &c->h[0];
    for (size_t i = 0; i < c->n_h; i++)
        if (c->h[i].controllers & CTRL_MEMORY)
            m = &c->h[i];
    if (c->version == 2)
        snprintf(c->describe, sizeof c->describe, "cgroup v2: %s under %s (slated itself in " DAEMON_LEAF ")", list,
                 m->path);
    else
        snprintf(c->describe, sizeof c->describe, "cgroup v1: %s under %s", list, m->path);
}

/* What slated's own v2 cgroup offers to its children; 0 when there is no usable v2 there. */
static unsigned v2_offered(const char *own) {
    _cleanup_close_ int fd = open(own, O_PATH | O_DIRECTORY | O_CLOEXEC);
    unsigned mask = 0;
    if (fd < 0 || read_controllers_at(fd, "cgroup.controllers", &mask) < 0)
        return 0;
    return mask;
}

static int open_backend(struct cgroups *c, const struct probe *p, struct err *e) {
    char own[PATH_MAX] = "";
    int r;

    pthread_mutex_lock(&home_lock);
    if (home_users)
        snprintf(own, sizeof own, "%s", home_users->h[0].own);
    else if (p->has_unified)
        (void)mount_path(&p->unified, own, sizeof own);
    unsigned offered = *own ? v2_offered(own) : 0;
    if (offered & CTRL_MEMORY) {
        c->version = 2;
        r = v2_open(c, own, offered, e);
        pthread_mutex_unlock(&home_lock);
        return r;
    }
    pthread_mutex_unlock(&home_lock);
    c->version = 1;
    return v1_open(c, p, e);
}

int cgroups_open(const char *instance, struct cgroups **ret, struct err *e) {
    if (!instance || !valid_name(instance, INSTANCE_NAME_MAX, false))
        return err_set(e, -EINVAL, "cgroup: instance name %s: up to %d of A-Z a-z 0-9 . _ @ -, from a letter or digit",
                       instance ? instance : "(none)", INSTANCE_NAME_MAX);
    _cleanup_free_ struct probe *p = calloc(1, sizeof *p);
    struct cgroups *c = calloc(1, sizeof *c);
    if (!p || !c || !(c->instance = strdup(instance))) {
        free(c);
        return err_set(e, -ENOMEM, "cgroup: out of memory");
    }
    c->daemon_fd = c->high_fd = -1;
    for (size_t i = 0; i < CGROUP_PROCS_MAX; i++)
        c->h[i].own_fd = c->h[i].dir_fd = -1;

    int r = probe_run(p, e);
    if (r >= 0)
        r = open_backend(c, p, e);
    if (r < 0) {
        cgroups_close(c);
        return r;
    }
    describe(c);
    *ret = c;
    return 0;
}

int cgroups_version(const struct cgroups *c) {
    return c->version;
}

const char *cgroups_describe(const struct cgroups *c) {
    return c->describe;
}

/* ---- groups ---- */

struct cgroup {
    struct cgroups *c;
    char *name;
    int dir_fd[CGROUP_PROCS_MAX]; /* the group's folder in c->h[i] (O_PATH), kept for later files (PSI, memory.low) */
};

/* The index of the hierarchy carrying ctrl, or -1. */
static int hier_of(const struct cgroups *c, unsigned ctrl) {
    for (size_t i = 0; i < c->n_h; i++)
        if (c->h[i].controllers & ctrl)
            return (int)i;
    return -1;
}

static const char *ctrl_name(unsigned ctrl) {
    for (unsigned i = 0; i < N_CTRL; i++)
        if (ctrl == 1U << i)
            return ctrl_names[i];
    return "?";
}

static int group_fail(const struct cgroup *g, size_t i, const char *file, int r, struct err *e) {
    return err_set(e, r, "cgroup %s/%s%s%s: %s", g->c->h[i].path, g->name, file ? "/" : "", file ? file : "",
                   strerror(-r));
}

static int no_controller(const struct cgroup *g, unsigned ctrl, struct err *e) {
    return err_set(e, -EOPNOTSUPP, "cgroup %s/%s: no %s controller here", g->c->h[0].path, g->name, ctrl_name(ctrl));
}

static int group_write(const struct cgroup *g, unsigned ctrl, const char *file, const char *text, struct err *e) {
    int i = hier_of(g->c, ctrl);
    if (i < 0)
        return no_controller(g, ctrl, e);
    int r = write_at(g->dir_fd[i], file, text);
    return r < 0 ? group_fail(g, (size_t)i, file, r, e) : 0;
}

const char *cgroup_name(const struct cgroup *g) {
    return g->name;
}

int cgroup_dir_fd(const struct cgroup *g) {
    return g->c->version == 2 ? g->dir_fd[0] : -1;
}

int cgroup_procs_fds(const struct cgroup *g, int *fds, size_t max) {
    if (g->c->version == 2)
        return 0;
    if (max < g->c->n_h)
        return -ENOBUFS;
    for (size_t i = 0; i < g->c->n_h; i++) {
        fds[i] = openat(g->dir_fd[i], "cgroup.procs", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
        if (fds[i] < 0) {
            int r = -errno;
            while (i-- > 0)
                close(fds[i]);
            return r;
        }
    }
    return (int)g->c->n_h;
}

int cgroup_attach(const struct cgroup *g, pid_t pid, struct err *e) {
    for (size_t i = 0; i < g->c->n_h; i++) {
        int r = write_pid_at(g->dir_fd[i], pid);
        if (r < 0)
            return group_fail(g, i, "cgroup.procs", r, e);
    }
    return 0;
}

static bool has_limit(uint64_t v) {
    return v != 0 && v != UINT64_MAX;
}

static void limit_text(uint64_t v, const char *none, char *buf, size_t size) {
    if (has_limit(v))
        snprintf(buf, size, "%" PRIu64, v);
    else
        snprintf(buf, size, "%s", none);
}

static int set_pids(struct cgroup *g, uint64_t pids_max, struct err *e) {
    char text[24];
    if (hier_of(g->c, CTRL_PIDS) < 0)
        return has_limit(pids_max) ? no_controller(g, CTRL_PIDS, e) : 0;
    limit_text(pids_max, "max", text, sizeof text);
    return group_write(g, CTRL_PIDS, "pids.max", text, e);
}

static int v2_set_limits(struct cgroup *g, const struct cgroup_limits *lim, struct err *e) {
    char text[24];
    limit_text(lim->memory_max, "max", text, sizeof text);
    int r = group_write(g, CTRL_MEMORY, "memory.max", text, e);
    if (r < 0)
        return r;
    limit_text(lim->memory_high, "max", text, sizeof text);
    if ((r = group_write(g, CTRL_MEMORY, "memory.high", text, e)) < 0)
        return r;
    /* memory.swap.max exists only with swap accounting; without it there is nothing to cap. */
    r = write_at(g->dir_fd[0], "memory.swap.max", lim->no_swap ? "0" : "max");
    if (r < 0 && r != -ENOENT)
        return group_fail(g, 0, "memory.swap.max", r, e);
    return set_pids(g, lim->pids_max, e);
}

/*
 * v1 keeps memory.memsw.limit_in_bytes (memory + swap) at or above
 * memory.limit_in_bytes: lift it first so that any new limit fits, then cap it
 * at the limit when the group may not swap.
 */
static int v1_set_limits(struct cgroup *g, const struct cgroup_limits *lim, struct err *e) {
    int i = hier_of(g->c, CTRL_MEMORY);
    char text[24];

    int r = write_at(g->dir_fd[i], "memory.memsw.limit_in_bytes", "-1");
    bool memsw = r != -ENOENT;
    if (r < 0 && memsw)
        return group_fail(g, (size_t)i, "memory.memsw.limit_in_bytes", r, e);
    limit_text(lim->memory_max, "-1", text, sizeof text);
    if ((r = group_write(g, CTRL_MEMORY, "memory.limit_in_bytes", text, e)) < 0)
        return r;
    if (memsw && lim->no_swap && has_limit(lim->memory_max) &&
        (r = group_write(g, CTRL_MEMORY, "memory.memsw.limit_in_bytes", text, e)) < 0)
        return r;
    limit_text(lim->memory_high, "-1", text, sizeof text);
    if ((r = group_write(g, CTRL_MEMORY, "memory.soft_limit_in_bytes", text, e)) < 0)
        return r;
    return set_pids(g, lim->pids_max, e);
}

int cgroup_set_limits(struct cgroup *g, const struct cgroup_limits *lim, struct err *e) {
    static const struct cgroup_limits none;
    if (!lim)
        lim = &none;
    return g->c->version == 2 ? v2_set_limits(g, lim, e) : v1_set_limits(g, lim, e);
}

int cgroup_freeze(struct cgroup *g, bool frozen, struct err *e) {
    if (g->c->version == 1)
        return group_write(g, CTRL_FREEZER, "freezer.state", frozen ? "FROZEN" : "THAWED", e);
    int r = write_at(g->dir_fd[0], "cgroup.freeze", frozen ? "1" : "0");
    if (r == -ENOENT)
        return err_set(e, -EOPNOTSUPP, "cgroup %s/%s: no cgroup.freeze (Linux 5.2 has it)", g->c->h[0].path, g->name);
    return r < 0 ? group_fail(g, 0, "cgroup.freeze", r, e) : 0;
}

int cgroup_frozen(const struct cgroup *g) {
    uint64_t v;
    if (g->c->version == 2) {
        int r = read_key_at(g->dir_fd[0], "cgroup.events", "frozen", &v);
        if (r == -ENODATA)
            return -EOPNOTSUPP;
        return r < 0 ? r : v != 0;
    }
    int i = hier_of(g->c, CTRL_FREEZER);
    char buf[32];
    struct view state;
    if (i < 0)
        return -EOPNOTSUPP;
    int r = read_small(g->dir_fd[i], "freezer.state", buf, sizeof buf, &state);
    return r < 0 ? r : view_eq(state, "FROZEN");
}

int cgroup_memory_current(const struct cgroup *g, uint64_t *ret) {
    int i = hier_of(g->c, CTRL_MEMORY);
    return read_u64_at(g->dir_fd[i], g->c->version == 2 ? "memory.current" : "memory.usage_in_bytes", ret);
}

int cgroup_oom_kills(const struct cgroup *g, uint64_t *ret) {
    int i = hier_of(g->c, CTRL_MEMORY);
    int r = g->c->version == 2 ? read_key_at(g->dir_fd[i], "memory.events", "oom_kill", ret)
                               : read_key_at(g->dir_fd[i], "memory.oom_control", "oom_kill", ret);
    return r == -ENODATA ? -EOPNOTSUPP : r;
}

int cgroup_limit_hits(const struct cgroup *g, uint64_t *ret) {
    int i = hier_of(g->c, CTRL_MEMORY);
    if (g->c->version == 2) {
        int r = read_key_at(g->dir_fd[i], "memory.events", "max", ret);
        return r == -ENODATA ? -EOPNOTSUPP : r;
    }
    /* v1 counts no such event where it matters (memory+swap, the cap charges hit first with swap
     * accounting, keeps no failcnt since Linux 6.x): its usage's high-water mark at the cap says it. */
    uint64_t peak = 0, limit = 0;
    int r = read_u64_at(g->dir_fd[i], "memory.max_usage_in_bytes", &peak);
    if (r == 0)
        r = read_u64_at(g->dir_fd[i], "memory.limit_in_bytes", &limit);
    if (r < 0)
        return r;
    *ret = peak + 2 * 4096 >= limit;
    return 0;
}

void cgroup_limit_hits_reset(struct cgroup *g) {
    int i = hier_of(g->c, CTRL_MEMORY);
    if (g->c->version == 1) /* the high-water mark starts again from the usage now */
        (void)write_at(g->dir_fd[i], "memory.max_usage_in_bytes", "0");
}

static int any_line(struct view line, void *userdata) {
    (void)userdata;
    return view_trim(line).len > 0;
}

int cgroup_populated(const struct cgroup *g) {
    uint64_t v;
    if (g->c->version == 2) {
        int r = read_key_at(g->dir_fd[0], "cgroup.events", "populated", &v);
        return r < 0 ? r : v != 0;
    }
    /* v1 has no cgroup.events; cgroup.procs lists live processes only. */
    for (size_t i = 0; i < g->c->n_h; i++) {
        int r = lines_at(g->dir_fd[i], "cgroup.procs", any_line, NULL);
        if (r != 0)
            return r;
    }
    return 0;
}

static int kill_line(struct view line, void *userdata) {
    unsigned *seen = userdata;
    uint64_t pid;
    line = view_trim(line);
    if (line.len == 0)
        return 0;
    int r = view_u64(line, &pid);
    if (r < 0 || pid > INT_MAX)
        return r < 0 ? r : -ERANGE;
    /* 0: a process of a pid namespace this one cannot see, which slated never starts. */
    if (pid != 0 && kill((pid_t)pid, SIGKILL) < 0 && errno != ESRCH)
        return -errno;
    (*seen)++;
    return 0;
}

/* SIGKILL every process listed in the group's cgroup.procs; *ret_seen counts them. */
static int kill_round(struct cgroup *g, unsigned *ret_seen, struct err *e) {
    *ret_seen = 0;
    for (size_t i = 0; i < g->c->n_h; i++) {
        int r = lines_at(g->dir_fd[i], "cgroup.procs", kill_line, ret_seen);
        if (r < 0)
            return group_fail(g, i, "cgroup.procs", r, e);
    }
    return 0;
}

/* Thaw, where there is a freezer. */
static int thaw(struct cgroup *g, struct err *e) {
    int r = cgroup_freeze(g, false, NULL);
    if (r < 0 && r != -EOPNOTSUPP)
        return err_set(e, r, "cgroup %s/%s: thaw: %s", g->c->h[0].path, g->name, strerror(-r));
    return 0;
}

/*
 * Without cgroup.kill: signal what is listed until nothing is. A frozen process
 * dies only once thawed, and a thawed one may fork meanwhile: so the first round
 * signals everyone while they are still frozen, then the group is thawed, and
 * later rounds catch whatever was forked in between.
 */
static int kill_each(struct cgroup *g, struct err *e) {
    int64_t deadline = now_ms() + KILL_WAIT_MS;
    long pause = 1;
    unsigned seen;

    for (int round = 0;; round++) {
        int r = kill_round(g, &seen, e);
        if (r < 0)
            return r;
        if (round == 0 && (r = thaw(g, e)) < 0)
            return r;
        if (seen == 0)
            return 0;
        if (now_ms() > deadline)
            return err_set(e, -ETIMEDOUT, "cgroup %s/%s: %u processes still inside after SIGKILL", g->c->h[0].path,
                           g->name, seen);
        sleep_ms(pause);
        pause = pause < 16 ? pause * 2 : pause;
    }
}

int cgroup_kill(struct cgroup *g, struct err *e) {
    if (g->c->version == 2) {
        int r = write_at(g->dir_fd[0], "cgroup.kill", "1");
        if (r != -ENOENT)
            return r < 0 ? group_fail(g, 0, "cgroup.kill", r, e) : 0;
    }
    return kill_each(g, e);
}

/* Wait until no live process is inside, for up to KILL_WAIT_MS. */
static int wait_empty(const struct cgroup *g, struct err *e) {
    int64_t deadline = now_ms() + KILL_WAIT_MS;
    long pause = 1;
    int r;

    while ((r = cgroup_populated(g)) > 0) {
        if (now_ms() > deadline)
            return err_set(e, -ETIMEDOUT, "cgroup %s/%s: processes still inside after SIGKILL", g->c->h[0].path,
                           g->name);
        sleep_ms(pause);
        pause = pause < 16 ? pause * 2 : pause;
    }
    return r < 0 ? group_fail(g, 0, NULL, r, e) : 0;
}

/* The processes in a leftover group are orphans of a slated that died: they go, the folder stays in use. */
static int empty_leftover(struct cgroup *g, struct err *e) {
    int r = cgroup_kill(g, e);
    if (r < 0)
        return r;
    if ((r = thaw(g, e)) < 0)
        return r;
    return wait_empty(g, e);
}

/* rmdir the group's folders; the fds stay open until every one is gone, so that a retry can find them. */
static int remove_folders(struct cgroup *g, struct err *e) {
    for (size_t i = 0; i < g->c->n_h; i++) {
        if (g->dir_fd[i] < 0)
            continue;
        if (unlinkat(g->c->h[i].dir_fd, g->name, AT_REMOVEDIR) < 0 && errno != ENOENT)
            return group_fail(g, i, NULL, -errno, e);
    }
    return 0;
}

static struct cgroup *group_free(struct cgroup *g) {
    for (size_t i = 0; i < CGROUP_PROCS_MAX; i++)
        if (g->dir_fd[i] >= 0)
            close(g->dir_fd[i]);
    free(g->name);
    free(g);
    return NULL;
}

/* mkdir the group in every hierarchy and open it; *ret_leftover tells whether one was there already. */
static int make_folders(struct cgroup *g, bool *ret_leftover, struct err *e) {
    *ret_leftover = false;
    for (size_t i = 0; i < g->c->n_h; i++) {
        int dirfd = g->c->h[i].dir_fd;
        if (mkdirat(dirfd, g->name, 0755) < 0) {
            if (errno != EEXIST)
                return group_fail(g, i, NULL, -errno, e);
            *ret_leftover = true;
        }
        g->dir_fd[i] = openat(dirfd, g->name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (g->dir_fd[i] < 0 && errno == ENOTDIR)
            return err_set(e, -EEXIST, "cgroup %s/%s: the name of a kernel file", g->c->h[i].path, g->name);
        if (g->dir_fd[i] < 0)
            return group_fail(g, i, NULL, -errno, e);
    }
    return 0;
}

int cgroup_create(struct cgroups *c, const char *name, const struct cgroup_limits *lim, struct cgroup **ret,
                  struct err *e) {
    if (!name || !valid_name(name, GROUP_NAME_MAX, true))
        return err_set(e, -EINVAL, "cgroup: group name %s: an app id (A-Z a-z 0-9 . _ @ -, with a dot) is needed",
                       name ? name : "(none)");
    struct cgroup *g = calloc(1, sizeof *g);
    if (!g || !(g->name = strdup(name))) {
        free(g);
        return err_set(e, -ENOMEM, "cgroup: out of memory");
    }
    g->c = c;
    for (size_t i = 0; i < CGROUP_PROCS_MAX; i++)
        g->dir_fd[i] = -1;

    bool leftover;
    int r = make_folders(g, &leftover, e);
    if (r >= 0 && leftover)
        r = empty_leftover(g, e);
    /* v2: an OOM kill takes the whole app, not one of its processes (memory.oom.group, Linux 4.19). */
    if (r >= 0 && c->version == 2)
        (void)write_at(g->dir_fd[0], "memory.oom.group", "1");
    if (r >= 0)
        r = cgroup_set_limits(g, lim, e);
    if (r < 0) {
        (void)remove_folders(g, NULL);
        group_free(g);
        return r;
    }
    *ret = g;
    return 0;
}

int cgroup_rename(struct cgroup *g, const char *name, struct err *e) {
    if (!name || !valid_name(name, GROUP_NAME_MAX, true))
        return err_set(e, -EINVAL, "cgroup: group name %s: an app id (A-Z a-z 0-9 . _ @ -, with a dot) is needed",
                       name ? name : "(none)");
    char *copy = strdup(name);
    if (!copy)
        return err_set(e, -ENOMEM, "cgroup: out of memory");
    /* The folders stay open across the rename (the fds follow them); one hierarchy failing puts the others back. */
    for (size_t i = 0; i < g->c->n_h; i++) {
        int dirfd = g->c->h[i].dir_fd;
        if (renameat(dirfd, g->name, dirfd, name) < 0) {
            int r = -errno;
            while (i-- > 0)
                (void)renameat(g->c->h[i].dir_fd, name, g->c->h[i].dir_fd, g->name);
            err_set(e, r, "cgroup %s/%s: cannot rename it to %s: %s", g->c->h[0].path, g->name, name, strerror(-r));
            free(copy);
            return r;
        }
    }
    free(g->name);
    g->name = copy;
    return 0;
}

int cgroup_destroy(struct cgroup *g, struct err *e) {
    if (!g)
        return 0;
    int r = cgroup_populated(g);
    if (r > 0)
        return err_set(e, -EBUSY, "cgroup %s/%s: processes are still inside", g->c->h[0].path, g->name);
    /* ENOENT: a folder a failed earlier call already removed. */
    if (r < 0 && r != -ENOENT)
        return group_fail(g, 0, NULL, r, e);
    r = remove_folders(g, e);
    if (r < 0)
        return r;
    group_free(g);
    return 0;
}

/* ---- the device: slated's own cgroup, which confines slated and every app ---- */

/*
 * v2: the lowest memory.max from <own> up to the root (a limit anywhere above confines us too), and
 * into ret_where (may be NULL) the folder that sets it.
 */
static uint64_t v2_effective_max(const struct hierarchy *h, char *ret_where, size_t size) {
    uint64_t limit = UINT64_MAX;
    char path[PATH_MAX];
    snprintf(path, sizeof path, "%s", h->own);
    for (;;) {
        int fd = open(path, O_PATH | O_DIRECTORY | O_CLOEXEC);
        if (fd < 0)
            break;
        struct view v;
        char buf[32];
        uint64_t x;
        int r = read_small(fd, "memory.max", buf, sizeof buf, &v);
        close(fd);
        if (r < 0) /* the root cgroup has no memory.max: the top */
            break;
        if (view_u64(view_trim(v), &x) == 0 && x < limit) {
            limit = x;
            if (ret_where)
                snprintf(ret_where, size, "%s", path);
        }
        char *slash = strrchr(path, '/');
        if (!slash || slash == path)
            break;
        *slash = '\0';
    }
    return limit;
}

int cgroups_device_memory(const struct cgroups *c, uint64_t *ret_limit, uint64_t *ret_used) {
    int i = hier_of(c, CTRL_MEMORY);
    uint64_t used = 0, inactive = 0;
    int r;
    if (i < 0)
        return -EOPNOTSUPP;
    const struct hierarchy *h = &c->h[i];
    if (c->version == 2) {
        *ret_limit = v2_effective_max(h, NULL, 0);
        r = read_u64_at(h->own_fd, "memory.current", &used);
        read_key_at(h->own_fd, "memory.stat", "inactive_file", &inactive);
    } else {
        /* v1 reports the effective (hierarchical) limit itself; a huge one means none. */
        if ((r = read_key_at(h->own_fd, "memory.stat", "hierarchical_memory_limit", ret_limit)) < 0)
            return r;
        if (*ret_limit >= (UINT64_MAX >> 2))
            *ret_limit = UINT64_MAX;
        r = read_u64_at(h->own_fd, "memory.usage_in_bytes", &used);
        read_key_at(h->own_fd, "memory.stat", "total_inactive_file", &inactive);
    }
    if (r < 0)
        return r;
    /* Inactive file pages go first and cheaply under pressure: they are not what fills the device. */
    *ret_used = used > inactive ? used - inactive : 0;
    return 0;
}

int cgroups_usage_eventfd(const struct cgroups *c, const uint64_t *thresholds, size_t n, struct err *e) {
    int i = hier_of(c, CTRL_MEMORY), r = 0;
    char text[64];
    if (i < 0 || c->version != 1)
        return -EOPNOTSUPP;
    const struct hierarchy *h = &c->h[i];
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return err_set(e, -errno, "eventfd: %s", strerror(errno));
    int ufd = openat(h->own_fd, "memory.usage_in_bytes", O_RDONLY | O_CLOEXEC);
    if (ufd < 0) {
        int r = -errno;
        close(efd);
        return err_set(e, r, "%s/memory.usage_in_bytes: %s", h->own, strerror(-r));
    }
    /* One eventfd for every threshold: each registration is the kernel's own. */
    for (size_t k = 0; k < n && r == 0; k++) {
        snprintf(text, sizeof text, "%d %d %" PRIu64, efd, ufd, thresholds[k]);
        r = write_at(h->own_fd, "cgroup.event_control", text);
    }
    close(ufd); /* the registrations hold their own reference */
    if (r < 0) {
        close(efd);
        return err_set(e, r, "%s/cgroup.event_control: %s", h->own, strerror(-r));
    }
    return efd;
}

int cgroups_vmpressure_eventfd(const struct cgroups *c, const char *level, struct err *e) {
    int i = hier_of(c, CTRL_MEMORY);
    char text[96];
    if (i < 0 || c->version != 1)
        return -EOPNOTSUPP;
    const struct hierarchy *h = &c->h[i];
    int efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
    if (efd < 0)
        return err_set(e, -errno, "eventfd: %s", strerror(errno));
    int pfd = openat(h->own_fd, "memory.pressure_level", O_RDONLY | O_CLOEXEC);
    if (pfd < 0) {
        int r = -errno;
        close(efd);
        return err_set(e, r, "%s/memory.pressure_level: %s", h->own, strerror(-r));
    }
    snprintf(text, sizeof text, "%d %d %s", efd, pfd, level);
    int r = write_at(h->own_fd, "cgroup.event_control", text);
    close(pfd); /* the registration holds its own reference */
    if (r < 0) {
        close(efd);
        return err_set(e, r, "%s/cgroup.event_control: %s", h->own, strerror(-r));
    }
    return efd;
}

/* A PSI trigger on the memory.pressure of the group folder dirfd (named where, for messages). */
static int pressure_trigger(int dirfd, const char *where, const char *trigger, struct err *e) {
    int fd = openat(dirfd, "memory.pressure", O_RDWR | O_NONBLOCK | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s/memory.pressure: %s", where, strerror(errno));
    if (write(fd, trigger, strlen(trigger) + 1) < 0) {
        int r = -errno;
        close(fd);
        return err_set(e, r, "%s/memory.pressure: %s", where, strerror(-r));
    }
    return fd;
}

int cgroups_pressure_fd(const struct cgroups *c, const char *trigger, struct err *e) {
    int i = hier_of(c, CTRL_MEMORY);
    if (i < 0 || c->version != 2)
        return -EOPNOTSUPP;
    return pressure_trigger(c->h[i].own_fd, c->h[i].own, trigger, e);
}

int cgroup_pressure_fd(const struct cgroup *g, const char *trigger, struct err *e) {
    if (g->c->version != 2)
        return -EOPNOTSUPP;
    return pressure_trigger(g->dir_fd[0], g->name, trigger, e);
}

int cgroup_set_protection(struct cgroup *g, uint64_t min, struct err *e) {
    char text[24];
    if (g->c->version != 2)
        return -EOPNOTSUPP;
    limit_text(min, "0", text, sizeof text);
    return group_write(g, CTRL_MEMORY, "memory.min", text, e);
}

int cgroups_protect(const struct cgroups *c, uint64_t daemon_min, uint64_t groups_min, struct err *e) {
    char text[24];
    if (c->version != 2)
        return -EOPNOTSUPP;
    const struct hierarchy *h = &c->h[0];
    /* The instance's own claim bounds what its children get; it claims what they claim, no more: with
     * memory_recursiveprot (systemd mounts cgroup2 so) a parent's unclaimed protection spreads to
     * every child, the cached apps too. */
    snprintf(text, sizeof text, "%" PRIu64, daemon_min + groups_min);
    int r = write_at(h->dir_fd, "memory.min", text);
    if (r < 0)
        return err_set(e, r, "cgroup %s/memory.min: %s", h->path, strerror(-r));
    snprintf(text, sizeof text, "%" PRIu64, daemon_min);
    r = write_at(c->daemon_fd, "memory.min", text);
    if (r < 0)
        return err_set(e, r, "cgroup %s/" DAEMON_LEAF "/memory.min: %s", h->path, strerror(-r));
    return 0;
}

int cgroups_apps_current(const struct cgroups *c, uint64_t *ret) {
    if (c->version != 2)
        return -EOPNOTSUPP;
    return read_u64_at(c->h[0].dir_fd, "memory.current", ret);
}

int cgroups_apps_set_high(struct cgroups *c, uint64_t high, struct err *e) {
    char text[24];
    if (c->version != 2)
        return -EOPNOTSUPP;
    /* Kept open: an open allocates a file charged to slated's group, below the tripwire it is lifting,
     * and a charge past it would make slated reclaim first. */
    if (c->high_fd < 0)
        c->high_fd = openat(c->h[0].dir_fd, "memory.high", O_WRONLY | O_CLOEXEC | O_NOFOLLOW);
    if (c->high_fd < 0)
        return err_set(e, -errno, "cgroup %s/memory.high: %s", c->h[0].path, strerror(errno));
    limit_text(high, "max", text, sizeof text);
    ssize_t n = write(c->high_fd, text, strlen(text));
    int r = n < 0 ? -errno : (size_t)n == strlen(text) ? 0 : -EIO;
    return r < 0 ? err_set(e, r, "cgroup %s/memory.high: %s", c->h[0].path, strerror(-r)) : 0;
}

int cgroups_apps_events_fd(const struct cgroups *c, struct err *e) {
    if (c->version != 2)
        return -EOPNOTSUPP;
    /* .local: the instance's own crossings, not every app's of its own budget (memory.events counts those too). */
    int fd = openat(c->h[0].dir_fd, "memory.events.local", O_RDONLY | O_NONBLOCK | O_CLOEXEC | O_NOFOLLOW);
    return fd < 0 ? err_set(e, -errno, "cgroup %s/memory.events.local: %s", c->h[0].path, strerror(errno)) : fd;
}

int cgroups_device_events_fd(const struct cgroups *c, struct err *e) {
    char where[PATH_MAX], path[PATH_MAX + 32];
    if (c->version != 2)
        return -EOPNOTSUPP;
    if (v2_effective_max(&c->h[0], where, sizeof where) == UINT64_MAX)
        return -ENOENT;
    snprintf(path, sizeof path, "%s/memory.events.local", where);
    int fd = open(path, O_RDONLY | O_NONBLOCK | O_CLOEXEC);
    return fd < 0 ? err_set(e, -errno, "%s: %s", path, strerror(errno)) : fd;
}

int cgroups_events_count(int fd, const char *key, uint64_t *ret) {
    struct key_search k = {.key = key};
    if (lseek(fd, 0, SEEK_SET) < 0)
        return -errno;
    int r = each_line(fd, key_line, &k);
    if (r < 0)
        return r;
    if (r == 0)
        return -ENODATA;
    *ret = k.value;
    return 0;
}

int cgroups_device_refaults(const struct cgroups *c, uint64_t *ret) {
    int i = hier_of(c, CTRL_MEMORY);
    if (i < 0)
        return -EOPNOTSUPP;
    return read_key_at(c->h[i].own_fd, "memory.stat",
                       c->version == 2 ? "workingset_refault_file" : "total_workingset_refault_file", ret);
}
