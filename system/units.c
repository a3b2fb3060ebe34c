/* units.c: apps and services under slated: starting them in sandboxes, their lifecycle, their ends. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include "db.h"
#include "device.h"
#include "platform.h"
#include "proto.h"
#include "slated.h"
#include "util.h"

#define LOG_DIR "var/log/slate"
#define PIDS_MAX 256
#define RESTART_DELAY_MIN_US 100000ULL
#define RESTART_DELAY_MAX_US 30000000ULL
#define STABLE_RUN_US 10000000ULL /* a service that ran this long starts its backoff afresh */

static const char *const state_names[] = {
    [UNIT_STOPPED] = "stopped",       [UNIT_FOREGROUND] = "foreground", [UNIT_VISIBLE] = "visible",
    [UNIT_BACKGROUND] = "background", [UNIT_CACHED] = "cached",         [UNIT_SERVICE] = "service",
    [UNIT_STOPPING] = "stopping",     [UNIT_EXITED] = "exited",         [UNIT_CRASHED] = "crashed",
    [UNIT_BACKOFF] = "backoff",
};

const char *unit_state_name(const struct unit *u) {
    return state_names[u->state];
}

bool unit_running(const struct unit *u) {
    return u->child != NULL;
}

struct unit *unit_find(struct slated *s, const char *name) {
    for (struct unit *u = s->units; u; u = u->next)
        if (strcmp(u->name, name) == 0)
            return u;
    return NULL;
}

struct unit *unit_new(struct slated *s, const char *id, const char *service) {
    struct unit *u = calloc(1, sizeof *u);
    if (!u)
        return NULL;
    u->s = s;
    snprintf(u->id, sizeof u->id, "%s", id);
    snprintf(u->service, sizeof u->service, "%s", service ? service : "");
    snprintf(u->name, sizeof u->name, "%s%s%s", id, service ? "@" : "", service ? service : "");
    u->chan_fd = u->out_fd = u->err_fd = u->log_fd = -1;
    for (size_t i = 0; i < sizeof u->pending / sizeof *u->pending; i++)
        u->pending[i] = -1;
    /* Appended, so `slate ps` lists units in the order they first started. */
    struct unit **p = &s->units;
    while (*p)
        p = &(*p)->next;
    *p = u;
    return u;
}

/* ---- logging ---- */

static int open_log_file(struct unit *u);

/* Append a line to the unit's ring and file, and tell followers. */
/* Control characters (but tab) become '?': nothing an app prints may drive a terminal reading its log. */
static size_t sanitize(const char *in, size_t len, char *out) {
    for (size_t i = 0; i < len; i++)
        out[i] = ((unsigned char)in[i] < 0x20 && in[i] != '\t') || in[i] == 0x7f ? '?' : in[i];
    return len;
}

static void unit_record(struct unit *u, uint8_t stream, const char *raw, size_t len) {
    char clean[LOG_LINE_MAX];
    const char *text = clean;
    size_t skip;
    if (len > sizeof clean)
        len = sizeof clean;
    sanitize(raw, len, clean);
    int prio = stream == LOG_STDERR ? log_parse_priority(text, len, u->name, &skip) : -1;
    if (prio >= 0) {
        stream = LOG_WITH_PRIORITY(stream, prio);
        text += skip;
        len -= skip;
    }
    struct log_line l = {.time_us = realtime_us(), .pid = (uint32_t)u->pid, .stream = stream, .text = text};
    l.len = (uint16_t)(len < LOG_LINE_MAX ? len : LOG_LINE_MAX);
    logbuf_append(&u->log, &l);
    control_log_line(u->s, u, &l);
    if (u->log_fd >= 0) {
        char when[32], line[LOG_LINE_MAX + 160];
        log_format_time(l.time_us, when, sizeof when);
        int n = snprintf(line, sizeof line, "%s %s[%d] %s: %.*s\n", when, u->name, (int)u->pid, log_label(stream),
                         (int)l.len, text);
        if (n > 0) {
            size_t len = (size_t)n < sizeof line ? (size_t)n : sizeof line - 1;
            if (write(u->log_fd, line, len) > 0)
                u->log_bytes += len;
        }
        /* A chatty app keeps at most two files' worth on disk: this one and NAME.log.1. */
        if (u->log_bytes > LOG_FILE_MAX) {
            close(u->log_fd);
            u->log_fd = open_log_file(u);
        }
    }
}

void unit_log(struct unit *u, const char *fmt, ...) {
    char text[512];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(text, sizeof text, fmt, ap);
    va_end(ap);
    if (n < 0)
        return;
    unit_record(u, LOG_SLATED, text, strlen(text));
    slated_log(u->s, "%s: %s", u->name, text);
}

/* The file keeps the last LOG_FILE_MAX bytes or so: a larger one moves to NAME.log.1. */
static int open_log_file(struct unit *u) {
    char path[PATH_BYTES_MAX], old[PATH_BYTES_MAX + 8];
    struct stat st;
    int dirfd = u->s->rootfd;
    int r = mkdir_parents_at(dirfd, LOG_DIR);
    if (r < 0)
        return r;
    snprintf(path, sizeof path, LOG_DIR "/%s.log", u->name);
    if (fstatat(dirfd, path, &st, AT_SYMLINK_NOFOLLOW) == 0 && st.st_size > LOG_FILE_MAX) {
        snprintf(old, sizeof old, "%s.1", path);
        renameat(dirfd, path, dirfd, old);
    }
    int fd = openat(dirfd, path, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC | O_NOFOLLOW, 0640);
    if (fd < 0)
        return -errno;
    u->log_bytes = fstat(fd, &st) == 0 ? (uint64_t)st.st_size : 0;
    return fd;
}

struct line_ctx {
    struct unit *u;
    uint8_t stream;
};

static void on_line(void *ud, const char *line, size_t len) {
    struct line_ctx *c = ud;
    unit_record(c->u, c->stream, line, len);
}

static int on_output(struct loop_source *src, int fd, uint32_t events, void *userdata) {
    struct unit *u = userdata;
    bool is_out = fd == u->out_fd;
    struct line_ctx ctx = {u, is_out ? LOG_STDOUT : LOG_STDERR};
    struct line_splitter *ls = is_out ? &u->out_lines : &u->err_lines;
    char buf[4096];
    (void)events;
    /* A bounded amount per wake-up, so one chatty app cannot starve the loop. */
    for (int i = 0; i < 16; i++) {
        ssize_t n = read(fd, buf, sizeof buf);
        if (n > 0) {
            line_split(ls, buf, (size_t)n, on_line, &ctx);
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EINTR))
            return 0;
        /* End of file (or an error): the app closed it; what is left is a last line. */
        line_flush(ls, on_line, &ctx);
        loop_source_remove(src);
        close(fd);
        if (is_out) {
            u->out_src = NULL;
            u->out_fd = -1;
        } else {
            u->err_src = NULL;
            u->err_fd = -1;
        }
        return 0;
    }
    return 0;
}

/* ---- timers ---- */

static int on_timer(struct loop_source *src, void *userdata);

static void timer_set(struct unit *u, enum unit_timer kind, uint64_t usec) {
    u->timer_kind = kind;
    if (u->timer)
        loop_timer_set(u->timer, usec);
    else if (loop_add_timer(u->s->loop, usec, on_timer, u, &u->timer) < 0)
        u->timer_kind = TIMER_NONE; /* out of memory: the state change waits for the next event */
}

static void timer_cancel(struct unit *u) {
    u->timer_kind = TIMER_NONE;
    if (u->timer)
        loop_timer_stop(u->timer);
}

/* ---- freezing ---- */

static void freeze(struct unit *u, bool frozen) {
    struct err e = {0};
    if (!u->cg || u->frozen == frozen)
        return;
    if (cgroup_freeze(u->cg, frozen, &e) < 0) {
        unit_log(u, "cannot %s: %s", frozen ? "freeze" : "thaw", e.msg);
        return;
    }
    u->frozen = frozen;
    unit_log(u, frozen ? "frozen" : "thawed");
}

/* ---- lifecycle ---- */

static void send_event(struct unit *u, uint32_t event, uint32_t level) {
    if (!u->said_hello || !u->child)
        return;
    if (appchan_send_event(u, event, level) == 0)
        u->awaiting = event;
}

static void to_background(struct unit *u) {
    if (u->state != UNIT_VISIBLE && u->state != UNIT_FOREGROUND)
        return;
    u->state = UNIT_BACKGROUND;
    timer_set(u, TIMER_FREEZE, u->s->freeze_delay_us);
    memmgr_rank(u->s);
}

/* u comes to the foreground; the previous foreground app stays visible until u has started or resumed. */
static void to_foreground(struct unit *u, bool fresh) {
    struct slated *s = u->s;
    struct unit *prev = s->foreground;
    if (prev == u && u->state == UNIT_FOREGROUND && !fresh)
        return; /* already in front: nothing to resume */
    timer_cancel(u);
    freeze(u, false);
    if (prev && prev != u && unit_running(prev)) {
        prev->state = UNIT_VISIBLE;
        send_event(prev, EVENT_PAUSE, 0);
        /* Should u never answer, prev still leaves the screen. */
        timer_set(prev, TIMER_FREEZE, s->event_timeout_us + s->freeze_delay_us);
    }
    s->foreground = u;
    u->state = UNIT_FOREGROUND;
    u->foreground_us = now_us();
    memmgr_rank(s);
    display_foreground(s);
    /* A fresh app gets its start event once it says hello (unit_hello); should it never (an app
     * without the SDK), the previous app leaves the screen when its timer runs out. */
    if (!fresh)
        send_event(u, EVENT_RESUME, 0);
    if (!fresh && !u->said_hello)
        unit_event_done(u, EVENT_RESUME);
}

void unit_event_done(struct unit *u, uint32_t event) {
    struct slated *s = u->s;
    if (u->awaiting == event)
        u->awaiting = 0;
    switch (event) {
    case EVENT_START:
    case EVENT_RESUME:
        if (s->foreground == u)
            for (struct unit *v = s->units; v; v = v->next)
                if (v != u && v->state == UNIT_VISIBLE)
                    to_background(v);
        break;
    case EVENT_TRIM_MEMORY:
        if (u->timer_kind == TIMER_TRIM_WAIT) {
            freeze(u, true);
            timer_set(u, TIMER_CACHE, s->cache_delay_us);
        }
        break;
    default:
        break;
    }
}

/* ---- services ---- */

static void close_pending(struct unit *u) {
    for (size_t i = 0; i < u->n_pending; i++)
        close(u->pending[i]);
    u->n_pending = 0;
}

static int cmp_u64(const void *a, const void *b) {
    uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/*
 * Whether the service still holds one of the connections slated handed it (/proc/PID/fd:
 * socket:[INODE]). The list keeps only those it still holds, so it never outgrows the
 * service's open connections.
 */
static bool service_busy(struct unit *u) {
    char path[64], link[64];
    size_t kept = 0;
    snprintf(path, sizeof path, "/proc/%d/fd", (int)u->pid);
    DIR *d = opendir(path);
    if (!d)
        return false;
    qsort(u->conn_inodes, u->n_conn_inodes, sizeof *u->conn_inodes, cmp_u64);
    bool *held = calloc(u->n_conn_inodes ? u->n_conn_inodes : 1, sizeof *held);
    for (struct dirent *de; held && (de = readdir(d));) {
        unsigned long long ino;
        ssize_t n = readlinkat(dirfd(d), de->d_name, link, sizeof link - 1);
        if (n <= 0)
            continue;
        link[n] = '\0';
        uint64_t key;
        if (sscanf(link, "socket:[%llu]", &ino) != 1)
            continue;
        key = ino;
        uint64_t *hit = bsearch(&key, u->conn_inodes, u->n_conn_inodes, sizeof key, cmp_u64);
        if (hit)
            held[hit - u->conn_inodes] = true;
    }
    closedir(d);
    if (!held)
        return true; /* out of memory: assume busy, ask again later */
    for (size_t i = 0; i < u->n_conn_inodes; i++)
        if (held[i])
            u->conn_inodes[kept++] = u->conn_inodes[i];
    u->n_conn_inodes = kept;
    free(held);
    return kept > 0;
}

/*
 * When to look again at whether a service is idle. No event says that a connection slated handed
 * over has closed (slated holds neither end, or it would never close), so slated looks: idle_exit_s
 * after the last client came or went, then, while a client stays connected, twice as long each
 * time, up to an hour. A client's exit (the usual way a connection ends) restarts the clock, so a
 * calm device is not woken every few seconds to look at a connection that nobody uses.
 */
#define IDLE_LOOK_MAX_US (3600ULL * 1000000ULL)

static void idle_clock_restart(struct unit *u) {
    u->idle_checks = 0;
    timer_set(u, TIMER_IDLE, u->idle_exit_s * 1000000ULL);
}

static uint64_t idle_look_again_us(struct unit *u) {
    uint64_t us = u->idle_exit_s * 1000000ULL, cap = us > IDLE_LOOK_MAX_US ? us : IDLE_LOOK_MAX_US;
    for (unsigned i = 0; i < u->idle_checks && us < cap; i++)
        us = us * 2 < cap ? us * 2 : cap;
    u->idle_checks++;
    return us;
}

/* An app ended: the services it may have been connected to look at their clients idle_exit_s from now. */
static void services_client_gone(struct slated *s, const struct unit *gone) {
    if (gone->service[0])
        return;
    for (struct unit *v = s->units; v; v = v->next)
        if (v->state == UNIT_SERVICE && v->idle_exit_s && v->timer_kind == TIMER_IDLE)
            idle_clock_restart(v);
}

static void hand_over(struct unit *u, int server_fd) {
    uint8_t buf[64];
    struct ipc_msg m;
    struct stat st;
    if (fstat(server_fd, &st) == 0) {
        uint64_t *v = realloc(u->conn_inodes, (u->n_conn_inodes + 1) * sizeof *v);
        if (v) {
            v[u->n_conn_inodes++] = st.st_ino;
            u->conn_inodes = v;
        }
    }
    ipc_msg_init(&m, buf, sizeof buf, MSG_SERVICE_CLIENT, 0, IPC_FLAG_NO_REPLY);
    ipc_msg_add_fd(&m, F_FD, server_fd);
    appchan_send(u, &m);
    close(server_fd);
    /* A new client restarts the idle clock; a stop under way keeps its kill timer. */
    if (u->idle_exit_s && u->state == UNIT_SERVICE)
        idle_clock_restart(u);
}

/* The service said hello: it gets the connections made while it was starting. */
static void service_ready(struct unit *u) {
    for (size_t i = 0; i < u->n_pending; i++)
        hand_over(u, u->pending[i]);
    u->n_pending = 0;
    if (u->idle_exit_s && u->timer_kind == TIMER_NONE)
        idle_clock_restart(u);
}

/* ---- what an app is, from the database ---- */

struct launch {
    char app_dir[PATH_MAX + 512];
    char exec[PATH_BYTES_MAX + 8];
    uint64_t memory;
    bool network;
    unsigned idle_exit_s;
    bool at_boot;
};

static int load_launch(struct slated *s, const char *id, const char *service, struct launch *ret, struct err *e) {
    const struct catalog_app *a;
    int r;

    if ((r = catalog_find(s, id, &a, e)) < 0 || (r = platform_runs(&s->platform, id, a->api_level, e)) < 0)
        return r;
    snprintf(ret->app_dir, sizeof ret->app_dir, "%s/" APPS_DIR "/%s/%s", s->root, id, a->version);
    ret->memory = a->memory;
    ret->network = a->network;
    if (!service) {
        snprintf(ret->exec, sizeof ret->exec, SANDBOX_APP_DIR "/%s", a->exec);
        return 0;
    }
    _cleanup_manifest_ struct manifest *m = NULL;
    if ((r = manifest_parse(a->manifest, a->manifest_len, 0, &m, e)) < 0)
        return r;
    const struct manifest_service *svc = manifest_service(m, service);
    if (!svc)
        return err_set(e, -ENOENT, "%s has no service '%s'", id, service);
    snprintf(ret->exec, sizeof ret->exec, SANDBOX_APP_DIR "/%s", svc->exec);
    if (svc->memory)
        ret->memory = svc->memory;
    ret->idle_exit_s = svc->idle_exit_s;
    ret->at_boot = svc->start == SERVICE_AT_BOOT;
    return 0;
}

/* ---- starting ---- */

static int on_child(struct loop_source *src, const siginfo_t *si, void *userdata);

void units_limits(uint64_t budget, struct cgroup_limits *ret) {
    /* The budget is the soft limit (memory.high: past it the app is throttled and reclaimed), a
     * quarter more the hard cap (memory.max: the OOM killer, inside the group only). Swap counts
     * too: an app may not page its way past either. */
    *ret = (struct cgroup_limits){
        .memory_high = budget, .memory_max = budget + budget / 4, .pids_max = PIDS_MAX, .no_swap = true};
}

/* A sandbox for the unit: the spare made ahead of time when one is ready, else one made now, in its own cgroup. */
static int make_sandbox(struct unit *u, bool network, struct sandbox_spare **ret, struct err *e) {
    struct slated *s = u->s;
    struct cgroup_limits lim;
    int procs[CGROUP_PROCS_MAX], n_procs, r;

    units_limits(u->budget, &lim);
    if ((*ret = spares_take(s, network, u->name, &lim, &u->cg)))
        return 0;
    if (u->cg) {
        r = cgroup_freeze(u->cg, false, e);
        r = r < 0 && r != -EOPNOTSUPP ? r : cgroup_set_limits(u->cg, &lim, e);
    } else
        r = cgroup_create(s->cgroups, u->name, &lim, &u->cg, e);
    if (r < 0)
        return err_prefix(e, r, "%s: cgroup", u->name);
    if ((n_procs = cgroup_procs_fds(u->cg, procs, CGROUP_PROCS_MAX)) < 0)
        return err_set(e, n_procs, "%s: cgroup: %s", u->name, strerror(-n_procs));
    struct sandbox_base base = {
        .helper = s->helper,
        .libs = s->libs,
        .n_libs = s->n_libs,
        .network = network,
        .cgroup_fd = cgroup_dir_fd(u->cg),
        .cgroup_procs = procs,
        .n_cgroup_procs = (size_t)n_procs,
    };
    r = sandbox_prepare(&base, ret, e);
    for (int i = 0; i < n_procs; i++)
        close(procs[i]);
    return r;
}

/*
 * Each app's own host uid (and gid), when slated is root: per-user kernel limits (inotify
 * instances, ...) and anything a host service checks by uid then tell apps apart. Derived
 * from the package id (FNV-1a into the sandboxes' id range, root inside excluded), so it is
 * stable across runs without a table; a collision merely shares a uid.
 */
static uid_t app_uid(const char *id) {
    uint64_t h = 0xcbf29ce484222325ULL;
    for (const char *c = id; *c; c++)
        h = (h ^ (unsigned char)*c) * 0x100000001b3ULL;
    return geteuid() == 0 ? (uid_t)(SANDBOX_ID_BASE + 1 + (uint32_t)(h % (SANDBOX_ID_COUNT - 1))) : 0;
}

static int spawn(struct unit *u, const struct launch *l, struct err *e) {
    struct slated *s = u->s;
    char data[PATH_MAX + 256], env_channel[32], env_id[PACKAGE_ID_MAX + 16];
    int out[2] = {-1, -1}, errp[2] = {-1, -1}, chan[2] = {-1, -1}, r;
    struct sandbox_child child;
    struct sandbox_spare *sp = NULL;

    u->budget = l->memory ? l->memory : s->default_memory;
    u->network = l->network;
    snprintf(data, sizeof data, DATA_DIR "/%s", u->id);
    /* Private to the app: only its own uid (its root inside) may enter. */
    uid_t uid = app_uid(u->id);
    struct stat st;
    bool ready = fstatat(s->rootfd, data, &st, AT_SYMLINK_NOFOLLOW) == 0 && S_ISDIR(st.st_mode) &&
                 (st.st_mode & 07777) == 0700 && (!uid || (st.st_uid == uid && st.st_gid == uid));
    if (!ready &&
        ((r = mkdir_parents_at(s->rootfd, data)) < 0 || (r = fchmodat(s->rootfd, data, 0700, 0) < 0 ? -errno : 0) < 0 ||
         (uid && (r = fchownat(s->rootfd, data, uid, uid, AT_SYMLINK_NOFOLLOW) < 0 ? -errno : 0) < 0)))
        return err_set(e, r, "%s/%s: %s", s->root, data, strerror(-r));
    snprintf(data, sizeof data, "%s/" DATA_DIR "/%s", s->root, u->id);
    if ((r = make_sandbox(u, l->network, &sp, e)) < 0)
        return r;

    if (pipe2(out, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0 ||
        socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, chan) < 0) {
        r = err_set(e, -errno, "%s: %s", u->name, strerror(errno));
        goto fail;
    }
    snprintf(env_channel, sizeof env_channel, SLATE_CHANNEL_ENV "=%d", SANDBOX_CHANNEL_FD);
    snprintf(env_id, sizeof env_id, "SLATE_APP_ID=%s", u->id);
    /* With a sanitizer runtime preloaded (tests of a sanitized libslate only), faults still reach the
     * app as signals, so a crash looks as it would on a device. */
    char *envp[] = {"HOME=" SANDBOX_DATA_DIR, "PATH=" SANDBOX_APP_DIR "/bin", env_channel, env_id,
                    s->preload_env[0] ? s->preload_env : NULL,
                    s->preload_env[0] ? "ASAN_OPTIONS=detect_leaks=0:handle_segv=0:handle_abort=0" : NULL, NULL};
    char *argv[] = {u->name, NULL};
    struct sandbox_rlimit rlimits[] = {
        {RLIMIT_NOFILE, 1024, 1024},
        {RLIMIT_CORE, 0, 0},
    };
    struct sandbox_spec spec = {
        .app_dir = l->app_dir,
        .exec = l->exec,
        .data_dir = data,
        .argv = argv,
        .envp = envp,
        .rlimits = rlimits,
        .n_rlimits = sizeof rlimits / sizeof *rlimits,
        .stdout_fd = out[1],
        .stderr_fd = errp[1],
        .channel_fd = chan[1],
        .host_uid = uid,
    };
    uint64_t oom_before = 0, hits_before = 0;
    cgroup_oom_kills(u->cg, &oom_before);
    cgroup_limit_hits_reset(u->cg);
    cgroup_limit_hits(u->cg, &hits_before);
    r = sandbox_launch(sp, &spec, &child, e);
    sp = NULL;
    if (r < 0) {
        err_prefix(e, r, "%s", u->name);
        goto fail;
    }
    u->oom_kills = oom_before;
    u->limit_hits = hits_before;
    close(out[1]);
    close(errp[1]);
    close(chan[1]);
    out[1] = errp[1] = chan[1] = -1;
    u->pid = child.pid;
    u->out_fd = out[0];
    u->err_fd = errp[0];
    fcntl(u->out_fd, F_SETFL, O_NONBLOCK);
    fcntl(u->err_fd, F_SETFL, O_NONBLOCK);
    /* Without a watch slated would never learn of its end: then it is killed (loop_add_child closed the pidfd). */
    if ((r = loop_add_child(s->loop, child.pidfd, on_child, u, &u->child)) < 0) {
        cgroup_kill(u->cg, NULL);
        waitpid(child.pid, NULL, 0);
        u->pid = 0;
        u->out_fd = u->err_fd = -1;
        r = err_set(e, r, "%s: cannot watch it: %s", u->name, strerror(-r));
        goto fail;
    }
    u->log_fd = open_log_file(u);
    if (u->log_fd < 0)
        slated_log(s, "%s: its log file: %s", u->name, strerror(-u->log_fd));
    /* Unread pipes would block the app for ever: failing to watch them is failing to start it. */
    if ((r = loop_add_io(s->loop, u->out_fd, EPOLLIN, on_output, u, &u->out_src)) < 0 ||
        (r = loop_add_io(s->loop, u->err_fd, EPOLLIN, on_output, u, &u->err_src)) < 0 ||
        (r = appchan_attach(u, chan[0])) < 0) {
        chan[0] = -1;
        cgroup_kill(u->cg, NULL);
        slated_log(s, "%s: cannot watch its output or channel: %s", u->name, strerror(-r));
    }
    chan[0] = -1;
    u->started_us = now_us();
    u->said_hello = false;
    u->stop_requested = false;
    u->frozen = false;
    u->status[0] = '\0';
    unit_log(u, "started (pid %d, budget %llu MiB%s)", (int)u->pid, (unsigned long long)(u->budget >> 20),
             u->network ? ", network" : "");
    return 0;

fail:
    for (int i = 0; i < 2; i++) {
        if (out[i] >= 0)
            close(out[i]);
        if (errp[i] >= 0)
            close(errp[i]);
        if (chan[i] >= 0)
            close(chan[i]);
    }
    sandbox_spare_free(sp);
    return r;
}

int unit_start_app(struct slated *s, const char *id, struct unit **ret, struct err *e) {
    struct unit *u = unit_find(s, id);
    struct launch l;
    int r;

    if (s->shutting_down)
        return err_set(e, -E_STATE, "slated is shutting down");
    if (u && unit_running(u)) {
        if (u->state == UNIT_STOPPING)
            return err_set(e, -E_STATE, "%s is stopping", id);
        to_foreground(u, false);
        *ret = u;
        return 0;
    }
    if ((r = load_launch(s, id, NULL, &l, e)) < 0)
        return r;
    if (!u && !(u = unit_new(s, id, NULL)))
        return err_set(e, -ENOMEM, "out of memory");
    if ((r = spawn(u, &l, e)) < 0) {
        u->state = UNIT_CRASHED;
        snprintf(u->status, sizeof u->status, "failed to start");
        unit_log(u, "failed to start: %s", e->msg);
        return r;
    }
    to_foreground(u, true);
    *ret = u;
    return 0;
}

static int start_service(struct unit *u, struct err *e) {
    struct launch l;
    int r;
    if ((r = load_launch(u->s, u->id, u->service, &l, e)) < 0 || (r = spawn(u, &l, e)) < 0) {
        close_pending(u);
        return r;
    }
    u->idle_exit_s = l.idle_exit_s;
    u->at_boot = l.at_boot;
    u->state = UNIT_SERVICE;
    free(u->conn_inodes);
    u->conn_inodes = NULL;
    u->n_conn_inodes = 0;
    return 0;
}

int unit_service(struct slated *s, const char *id, const char *service, struct unit **ret, struct err *e) {
    char name[sizeof ((struct unit *)0)->name];
    struct launch l;
    int r;

    snprintf(name, sizeof name, "%s@%s", id, service);
    struct unit *u = unit_find(s, name);
    if (!u) {
        /* Check it exists before a unit is made for it. */
        if ((r = load_launch(s, id, service, &l, e)) < 0)
            return r;
        if (!(u = unit_new(s, id, service)))
            return err_set(e, -ENOMEM, "out of memory");
        u->idle_exit_s = l.idle_exit_s;
        u->at_boot = l.at_boot;
    }
    *ret = u;
    if (unit_running(u) || u->state == UNIT_BACKOFF)
        return 0;
    if (s->shutting_down)
        return err_set(e, -E_STATE, "slated is shutting down");
    return start_service(u, e);
}

int unit_service_connect(struct unit *u, int *ret_client_fd, struct err *e) {
    int pair[2];
    if (u->state == UNIT_STOPPING)
        return err_set(e, -EAGAIN, "%s is stopping", u->name);
    if (u->n_pending == sizeof u->pending / sizeof *u->pending)
        return err_set(e, -EAGAIN, "%s: too many connections waiting for it to start", u->name);
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, pair) < 0)
        return err_set(e, -errno, "%s: %s", u->name, strerror(errno));
    if (unit_running(u) && u->said_hello)
        hand_over(u, pair[1]);
    else
        u->pending[u->n_pending++] = pair[1];
    *ret_client_fd = pair[0];
    return 0;
}

void units_start_boot_services(struct slated *s) {
    const struct catalog_app *apps;
    size_t n = catalog_apps(s, &apps);
    struct err e = {0};

    /* Copies of the ids: starting a service may reread the catalog. */
    for (size_t i = 0; i < n; i++) {
        _cleanup_manifest_ struct manifest *m = NULL;
        if (manifest_parse(apps[i].manifest, apps[i].manifest_len, 0, &m, &e) < 0)
            continue;
        char id[PACKAGE_ID_MAX + 1];
        snprintf(id, sizeof id, "%s", apps[i].id);
        for (size_t k = 0; k < m->n_services; k++) {
            struct unit *u;
            if (m->services[k].start != SERVICE_AT_BOOT)
                continue;
            if (unit_service(s, id, m->services[k].name, &u, &e) < 0)
                slated_log(s, "%s@%s: cannot start at boot: %s", id, m->services[k].name, e.msg);
        }
        n = catalog_apps(s, &apps);
    }
}

/* ---- stopping and ending ---- */

int unit_stop(struct unit *u, struct err *e) {
    if (!unit_running(u)) {
        if (u->state == UNIT_BACKOFF) {
            timer_cancel(u);
            u->state = UNIT_STOPPED;
            close_pending(u);
            return 1; /* nothing runs: stopped already */
        }
        return err_set(e, -E_STATE, "%s is not running", u->name);
    }
    if (u->state == UNIT_STOPPING)
        return 0;
    u->stop_requested = true;
    u->state = UNIT_STOPPING;
    if (u->s->foreground == u) {
        u->s->foreground = NULL;
        u->was_foreground = true;
    }
    freeze(u, false);
    if (u->said_hello) {
        send_event(u, EVENT_STOP, 0);
        timer_set(u, TIMER_KILL, u->s->stop_timeout_us);
    } else {
        /* Without the SDK nothing can ask it to stop: the app is pid 1 of its namespace, so SIGKILL it is. */
        cgroup_kill(u->cg, NULL);
        timer_set(u, TIMER_KILL, u->s->stop_timeout_us);
    }
    return 0;
}

static void describe_end(struct unit *u, const siginfo_t *si) {
    uint64_t ooms = 0;
    if (u->kill_reason[0] && si->si_code != CLD_EXITED) {
        snprintf(u->status, sizeof u->status, "killed by slated: %s", u->kill_reason);
        return;
    }
    if (si->si_code == CLD_EXITED) {
        snprintf(u->status, sizeof u->status, "exited with status %d", si->si_status);
        return;
    }
    const char *name = sigabbrev_np(si->si_status);
    uint64_t hits = 0;
    if (si->si_status == SIGKILL && u->cg && cgroup_oom_kills(u->cg, &ooms) == 0 && ooms > u->oom_kills) {
        /* Its own cap reached: its budget. Else the kernel's OOM killer chose it for the whole device. */
        if (cgroup_limit_hits(u->cg, &hits) < 0 || hits > u->limit_hits)
            snprintf(u->status, sizeof u->status, "killed by SIGKILL: out of memory (budget %llu MiB)",
                     (unsigned long long)(u->budget >> 20));
        else
            snprintf(u->status, sizeof u->status, "killed by SIGKILL: out of memory (the device's)");
    } else
        snprintf(u->status, sizeof u->status, "killed by SIG%s%s", name ? name : "?",
                 si->si_code == CLD_DUMPED ? " (core dumped)" : "");
}

static void release_run(struct unit *u) {
    struct line_ctx out = {u, LOG_STDOUT}, err = {u, LOG_STDERR};
    /* The pipes may still hold the app's last words. */
    if (u->out_src)
        on_output(u->out_src, u->out_fd, EPOLLIN, u);
    if (u->err_src)
        on_output(u->err_src, u->err_fd, EPOLLIN, u);
    line_flush(&u->out_lines, on_line, &out);
    line_flush(&u->err_lines, on_line, &err);
    loop_source_remove(u->out_src);
    loop_source_remove(u->err_src);
    u->out_src = u->err_src = NULL;
    if (u->out_fd >= 0)
        close(u->out_fd);
    if (u->err_fd >= 0)
        close(u->err_fd);
    u->out_fd = u->err_fd = -1;
    appchan_detach(u);
    fetch_cancel_all(u);
    display_detach(u);
    /* Anything the app started is in its cgroup: nothing outlives it. The group is thawed whatever
     * slated thought (a frozen app killed from outside leaves it frozen), or the next run would
     * start frozen. */
    if (u->cg) {
        cgroup_kill(u->cg, NULL);
        cgroup_freeze(u->cg, false, NULL);
    }
    u->frozen = false;
    u->awaiting = 0;
    u->child = NULL;
    free(u->conn_inodes);
    u->conn_inodes = NULL;
    u->n_conn_inodes = 0;
}

/* The foreground app went away: the one the user saw before it comes back, as on a phone. */
static void restore_previous(struct slated *s) {
    struct unit *best = NULL;
    if (s->foreground || s->shutting_down)
        return;
    for (struct unit *v = s->units; v; v = v->next)
        if (unit_running(v) && !v->service[0] && v->state != UNIT_STOPPING &&
            (!best || v->foreground_us > best->foreground_us))
            best = v;
    if (best)
        to_foreground(best, false);
}

static int on_child(struct loop_source *src, const siginfo_t *si, void *userdata) {
    struct unit *u = userdata;
    struct slated *s = u->s;
    bool clean = si->si_code == CLD_EXITED && si->si_status == 0;
    (void)src;

    bool was_foreground = s->foreground == u || u->was_foreground;
    describe_end(u, si);
    release_run(u);
    timer_cancel(u);
    u->was_foreground = false;
    if (s->foreground == u)
        s->foreground = NULL;
    if (u->stop_requested) {
        u->state = UNIT_STOPPED;
        unit_log(u, "stopped (%s)", u->status);
    } else {
        u->state = clean ? UNIT_EXITED : UNIT_CRASHED;
        unit_log(u, "%s: %s", clean ? "exited" : "crashed", u->status);
    }
    control_unit_ended(s, u);

    /* A crashed service comes back, later each time it crashes again soon. */
    if (u->service[0] && !clean && !u->stop_requested && !s->shutting_down) {
        if (now_us() - u->started_us > STABLE_RUN_US)
            u->restarts = 0;
        uint64_t delay = RESTART_DELAY_MIN_US << (u->restarts < 20 ? u->restarts : 20);
        if (delay > RESTART_DELAY_MAX_US)
            delay = RESTART_DELAY_MAX_US;
        u->restarts++;
        u->state = UNIT_BACKOFF;
        timer_set(u, TIMER_RESTART, delay);
        unit_log(u, "restarting in %llu ms", (unsigned long long)(delay / 1000));
    } else
        close_pending(u);
    if (u->log_fd >= 0)
        close(u->log_fd);
    u->log_fd = -1;
    u->pid = 0;
    if (was_foreground)
        restore_previous(s);
    display_foreground(s); /* the app that came back, or an empty screen */
    u->kill_reason[0] = '\0';
    u->oom_adj_set = u->protected_mem = false;
    services_client_gone(s, u);
    memmgr_unit_ended(s, u);
    slated_unit_ended(s);
    return 0;
}

static int on_timer(struct loop_source *src, void *userdata) {
    struct unit *u = userdata;
    struct err e = {0};
    enum unit_timer kind = u->timer_kind;
    (void)src;

    u->timer_kind = TIMER_NONE;
    switch (kind) {
    case TIMER_FREEZE:
        if (u->state == UNIT_VISIBLE)
            u->state = UNIT_BACKGROUND; /* the next app never said it was up */
        if (u->state != UNIT_BACKGROUND || !unit_running(u))
            break;
        /* Give the app its chance to save and shrink, then freeze it. */
        if (u->said_hello) {
            unit_log(u, "trim-memory (level 1): in the background, to be frozen");
            send_event(u, EVENT_TRIM_MEMORY, 1);
            timer_set(u, TIMER_TRIM_WAIT, u->s->event_timeout_us);
        } else {
            freeze(u, true);
            timer_set(u, TIMER_CACHE, u->s->cache_delay_us);
        }
        break;
    case TIMER_TRIM_WAIT:
        unit_log(u, "did not return from trim-memory in time");
        freeze(u, true);
        timer_set(u, TIMER_CACHE, u->s->cache_delay_us);
        break;
    case TIMER_CACHE:
        if (u->state == UNIT_BACKGROUND)
            u->state = UNIT_CACHED;
        memmgr_rank(u->s);
        break;
    case TIMER_KILL:
        if (unit_running(u)) {
            unit_log(u, "did not stop in time: killing it");
            if (cgroup_kill(u->cg, &e) < 0) {
                unit_log(u, "cannot kill it: %s; trying again", e.msg);
                timer_set(u, TIMER_KILL, u->s->stop_timeout_us);
            }
        }
        break;
    case TIMER_RESTART:
        if (u->state == UNIT_BACKOFF && u->s->shutting_down) {
            u->state = UNIT_STOPPED;
            close_pending(u);
            slated_unit_ended(u->s);
        } else if (u->state == UNIT_BACKOFF && start_service(u, &e) < 0) {
            u->state = UNIT_CRASHED;
            unit_log(u, "cannot restart: %s", e.msg);
        }
        break;
    case TIMER_IDLE:
        if (!unit_running(u) || u->state != UNIT_SERVICE)
            break;
        if (u->n_pending > 0 || service_busy(u)) {
            timer_set(u, TIMER_IDLE, idle_look_again_us(u));
            break;
        }
        unit_log(u, "idle for %u s: stopping it", u->idle_exit_s);
        unit_stop(u, &e);
        break;
    case TIMER_NONE:
        break;
    }
    return 0;
}

void unit_hello(struct unit *u) {
    u->said_hello = true;
    if (u->service[0]) {
        send_event(u, EVENT_START, 0);
        service_ready(u);
        return;
    }
    /* An app reaches the SDK after slated made it the foreground: its start event goes now. */
    if (u->state == UNIT_FOREGROUND || u->state == UNIT_VISIBLE || u->state == UNIT_BACKGROUND ||
        u->state == UNIT_CACHED)
        send_event(u, EVENT_START, 0);
    /* Another app came to the front before this one reached the SDK: it starts paused. */
    if (u->state != UNIT_FOREGROUND && u->state != UNIT_STOPPING)
        send_event(u, EVENT_PAUSE, 0);
}

void unit_free(struct unit *u) {
    if (u->timer)
        loop_source_remove(u->timer);
    close_pending(u);
    free(u->conn_inodes);
    logbuf_free(&u->log);
    if (u->cg) {
        struct err e = {0};
        cgroup_kill(u->cg, NULL);
        cgroup_destroy(u->cg, &e);
    }
    free(u);
}
