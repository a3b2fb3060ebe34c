/* slated.h: the daemon's state, shared by its parts (main, units, control socket, app channels). */
#pragma once

#include <limits.h>
#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <sys/epoll.h>

#include "cgroup.h"
#include "display.h"
#include "db.h"
#include "descriptor.h"
#include "keyfile.h"
#include "http.h"
#include "logbuf.h"
#include "loop.h"
#include "manifest.h"
#include "memory.h"
#include "outq.h"
#include "sandbox.h"

/*
 * One unit per app or service slated has started since it came up. Units of
 * apps that ended stay listed (stopped, exited, crashed) so `slate ps` and
 * `slate logs` can say what happened.
 */
enum unit_state {
    UNIT_STOPPED,    /* stopped on request, or never started (a service before its first client) */
    UNIT_FOREGROUND, /* the app the user sees and touches */
    UNIT_VISIBLE,    /* still on screen while the next app comes up; paused */
    UNIT_BACKGROUND, /* left the screen; frozen after the freeze delay */
    UNIT_CACHED,     /* long in the background; frozen; the first to reclaim */
    UNIT_SERVICE,    /* a running service */
    UNIT_STOPPING,   /* asked to stop; killed when the stop timeout passes */
    UNIT_EXITED,     /* ended by itself with status 0 */
    UNIT_CRASHED,    /* ended by a signal or a non-zero status */
    UNIT_BACKOFF,    /* a crashed service waiting to be restarted */
};

enum unit_timer {
    TIMER_NONE,
    TIMER_FREEZE,    /* background: trim, then freeze */
    TIMER_TRIM_WAIT, /* the trim callback had its time: freeze now */
    TIMER_CACHE,     /* background long enough: cached */
    TIMER_KILL,      /* a stop was not obeyed in time */
    TIMER_RESTART,   /* a crashed service's backoff is over */
    TIMER_IDLE,      /* a service had no client for its idle time */
};

struct fetch_req;
struct conn;

struct unit {
    struct unit *next;
    struct slated *s;
    char name[PACKAGE_ID_MAX + SERVICE_NAME_MAX + 2]; /* "org.example.hello" or "org.example.clock@time" */
    char id[PACKAGE_ID_MAX + 1];
    char service[SERVICE_NAME_MAX + 1]; /* "" for an app */
    enum unit_state state;
    bool frozen;
    bool stop_requested;
    bool was_foreground;  /* stopped while in the foreground: the previous app returns when it ends */
    uint64_t foreground_us; /* when it last came to the foreground (CLOCK_MONOTONIC) */
    bool said_hello; /* uses the SDK: gets lifecycle events */

    /* while running */
    pid_t pid;
    struct loop_source *child;
    struct cgroup *cg;
    int chan_fd;
    struct loop_source *chan_src;
    struct outq chan_q;
    int out_fd, err_fd;
    struct loop_source *out_src, *err_src;
    struct line_splitter out_lines, err_lines;
    int log_fd;
    uint64_t log_bytes; /* in the log file, to rotate it */
    uint64_t started_us; /* CLOCK_MONOTONIC */
    uint64_t budget;     /* memory.max in bytes */
    bool network;
    uint64_t oom_kills;  /* the cgroup's count when this run started */
    uint64_t limit_hits; /* likewise, times it reached its hard cap */
    char kill_reason[128]; /* why the memory manager killed it, "" if it did not */
    int oom_adj;           /* the oom_score_adj written for its importance */
    bool oom_adj_set, protected_mem;
    struct loop_source *psi; /* v2: a PSI trigger on its own group (memory.c); its fd is psi_fd */
    int psi_fd;
    uint64_t psi_said_us;    /* when the log last said it stalled */
    struct unit *last_client; /* a service: the app that connected last (its importance lends ours) */
    uint64_t refused;   /* malformed messages from the app */
    uint32_t awaiting; /* the event sent whose EVENT_DONE has not come; 0: none */

    struct loop_source *timer;
    enum unit_timer timer_kind;

    /* services */
    unsigned idle_exit_s;
    unsigned idle_checks; /* looks in a row that found a client connected: the next waits twice as long */
    bool at_boot;
    unsigned restarts; /* crashes in a row; the backoff doubles with each */
    int pending[16];   /* server ends of connections made before the service said hello */
    size_t n_pending;
    uint64_t *conn_inodes; /* the server ends handed to the service: it is busy while it holds one */
    size_t n_conn_inodes;

    struct app_surface surface; /* what it draws into, once it said (MSG_SURFACE) */

    struct fetch_req *fetches; /* in flight for this unit */
    size_t n_fetches;

    char status[160]; /* how the last run ended: "exited with status 0", "killed by SIGSEGV" ... */
    struct logbuf log;
};

struct slated {
    struct loop *loop;
    char root[PATH_MAX];
    int rootfd;
    struct platform_desc platform;
    struct cgroups *cgroups;
    struct http *http;
    sqlite3 *db;
    /* What every sandbox binds: the C library, libslate, in tests a sanitizer runtime, and with a
       display the toolkit's libraries and fonts (their paths in toolkit_files) */
    struct sandbox_bind libs[SANDBOX_LIBC_BINDS + 56];
    char *toolkit_files;
    size_t n_libs;
    char libslate[PATH_MAX], libslate_target[PATH_MAX];
    char helper[PATH_MAX]; /* slate-sandbox */
    char preload_env[PATH_MAX + 16];


    struct unit *units;
    struct unit *foreground;
    struct conn *conns;
    int control_fd;
    struct loop_source *control_src;
    struct loop_source *accept_pause; /* re-enables accepting after running out of fds */
    struct logbuf log; /* slated's own lines */

    uint64_t freeze_delay_us, cache_delay_us, stop_timeout_us, event_timeout_us;
    uint64_t default_memory;
    bool shutting_down;
    struct memmgr *mem;
    struct spares *spares;
    struct catalog *catalog;
    struct display *display; /* NULL: no screen (apps then draw for nobody) */
    struct loop_source *db_idle; /* closes the database (and unloads SQLite) once slated stops using it */
    uint64_t db_idle_us;         /* after this long without a query; 0: never */
};

/* units.c */
struct unit *unit_find(struct slated *s, const char *name);
/* A unit not yet started, appended to s's list (service NULL for an app); NULL when out of memory. */
struct unit *unit_new(struct slated *s, const char *id, const char *service);
/* Start an app (or bring it to the foreground). On failure e says why. */
int unit_start_app(struct slated *s, const char *id, struct unit **ret, struct err *e);
/* A service unit, created from its manifest when needed, started when not running. */
int unit_service(struct slated *s, const char *id, const char *service, struct unit **ret, struct err *e);
int unit_stop(struct unit *u, struct err *e);
bool unit_running(const struct unit *u);
const char *unit_state_name(const struct unit *u);
void unit_log(struct unit *u, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void unit_free(struct unit *u);
/* The app's SDK opened the channel: lifecycle events can flow. */
void unit_hello(struct unit *u);
/* At start: services marked start = boot. */
void units_start_boot_services(struct slated *s);
/* A connection for a service's client: returns the client's end. */
int unit_service_connect(struct unit *svc, int *ret_client_fd, struct err *e);

/* catalog.c: the installed apps, as the database says */
struct catalog_app {
    char id[PACKAGE_ID_MAX + 1], version[VERSION_MAX];
    unsigned api_level;
    char exec[PATH_BYTES_MAX + 1];
    uint64_t memory; /* the manifest's budget; 0: none given */
    bool network;
    char label[65];
    char *manifest; /* the signed manifest text ([service] sections) */
    size_t manifest_len;
};
/* Read the installed apps, and watch the database for changes. */
int catalog_start(struct slated *s, struct err *e);
void catalog_stop(struct slated *s);
/* The app's current version; -ENOENT ("ID is not installed") when it is not. Rereads first when stale. */
int catalog_find(struct slated *s, const char *id, const struct catalog_app **ret, struct err *e);
/* What the user calls it: the manifest's label, or its id. */
const char *unit_label(const struct unit *u);
/* Every installed app, sorted by id; valid until the next catalog call. */
size_t catalog_apps(struct slated *s, const struct catalog_app **ret);

/* The cgroup limits of a unit with this memory budget. */
void units_limits(uint64_t budget, struct cgroup_limits *ret);

/* spares.c: sandboxes made ahead of time */
/* Start keeping a spare sandbox ready (the first one is made now). */
int spares_start(struct slated *s, struct err *e);
/* Kill the spares and remove their cgroups. */
void spares_stop(struct slated *s);
/* Memory is short (hold): drop the spares and make none until it is back (!hold). */
void spares_hold(struct slated *s, bool hold);
/* Whether pid is a spare's (the orphan reaper leaves it alone). */
bool spares_own(const struct slated *s, pid_t pid);
/*
 * A ready spare for an app (with the network or without), its cgroup made the
 * app's: named name, limited by lim, in *cg (whose earlier group, when there is
 * one, is destroyed first). NULL when none is ready or it could not be taken
 * (*cg is then as it was, or NULL): the caller makes a sandbox itself. Taking
 * one (or finding none) asks for the next.
 */
struct sandbox_spare *spares_take(struct slated *s, bool network, const char *name, const struct cgroup_limits *lim,
                                  struct cgroup **cg);

/* appchan.c: slated's side of app channels */
int appchan_attach(struct unit *u, int fd);
void appchan_detach(struct unit *u);
/* Read and handle what the app sent, as when the loop finds the channel readable (tests and fuzzers call it). */
void appchan_receive(struct unit *u);
int appchan_send_event(struct unit *u, uint32_t event, uint32_t level);
int appchan_send(struct unit *u, const struct ipc_msg *m);
/* Called when an event's callback returned (or it timed out). */
void unit_event_done(struct unit *u, uint32_t event);
void fetch_cancel_all(struct unit *u);

/* control.c */
int control_open(struct slated *s, struct err *e);
void control_close(struct slated *s);
/* Serve a client on fd (connected, nonblocking, SOCK_SEQPACKET), which becomes the connection's (closed on failure). */
int control_attach(struct slated *s, int fd);
/* Tell each `slate logs -f` that follows u (or everything) about a new line. */
void control_log_line(struct slated *s, const struct unit *u, const struct log_line *l);
/* A STOP request waits for the unit to end. */
void control_unit_ended(struct slated *s, struct unit *u);

/* slated.c */
struct options {
    const char *root;
    int ready_fd;
    uint64_t freeze_delay_ms, cache_delay_ms, stop_timeout_ms, memory;
    const char *libslate;
    const char *display; /* --display: headless, web[:PORT]; NULL: none */
    struct memmgr_config mem;
};
/* Parse the command line; prints the usage and returns -1 when it is wrong. */
int slated_parse_options(int argc, char **argv, struct options *o);
/* Serve s->root until SIGTERM; returns 0, or a negative errno with e saying why. */
int slated_run(struct slated *s, const struct options *o, struct err *e);
void slated_unit_ended(struct slated *s);
int slated_db(struct slated *s, sqlite3 **ret, struct err *e);
void slated_log(struct slated *s, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
uint64_t now_us(void);      /* CLOCK_MONOTONIC */
uint64_t realtime_us(void); /* CLOCK_REALTIME */
