/* fuzz-appchan.c: libFuzzer target for slated's end of an app's channel, fed what a hostile app may send. */

#include "proto.h"
#include "slated-fuzz.h"
#include "slated.h"
#include "sqlite-dl.h"

/*
 * Each input (datagrams as slated-fuzz.h says) is sent by the app over a fresh
 * channel, then slated reads it as its loop would (appchan_receive) while the
 * app reads every reply and event, until nothing is left on either side.
 * Flags: bit 0, the channel is a service's (org.example.svc@time) rather than
 * the foreground app's (org.example.fuzz); bit 1, it said hello already;
 * bit 2, the app is in the background, its trim-memory event unanswered.
 *
 * The scratch device root has no package installed, so nothing is ever
 * started: a SERVICE_CONNECT reaches only the service unit set up here (in
 * backoff, or running when it owns the channel). The units have no cgroup and
 * stand-in child watches; no unit has the network permission, so a FETCH is
 * refused before any HTTP. Settings go to the root's database, emptied before
 * an input when the last one wrote to it. Checked after each input: no crash
 * or sanitizer report, every message slated sent parses, no fd is left open.
 */

#define ROUNDS_MAX 10000

static struct slated s;
static struct unit *app, *svc, *prev;
static struct loop_source *app_alive, *svc_alive;
static char root[PATH_MAX];
static int settings_changes;

static int never(struct loop_source *src, void *userdata) {
    (void)src;
    (void)userdata;
    return 0;
}

/* A unit as units.c makes one, listed in s. */
static struct unit *unit_make(const char *id, const char *service) {
    struct unit *u = unit_new(&s, id, service);
    if (!u)
        fuzz_fail("out of memory");
    return u;
}

/* Something unit_running() can see: a timer that never fires (the loop never runs here). */
static struct loop_source *stand_in_child(void) {
    struct loop_source *src;
    if (loop_add_timer(s.loop, 0, never, NULL, &src) < 0 || loop_timer_stop(src) < 0)
        fuzz_fail("loop: cannot add a timer");
    return src;
}

static void setup(void) {
    struct err e = {0};
    sqlite3 *db;
    fuzz_begin();
    fuzz_device_root("appchan", root);
    snprintf(s.root, sizeof s.root, "%s", root);
    s.control_fd = -1;
    s.freeze_delay_us = 10000000;
    s.cache_delay_us = 60000000;
    s.stop_timeout_us = 3000000;
    s.event_timeout_us = 1000000;
    s.default_memory = 256 << 20;
    if ((s.rootfd = open(root, O_PATH | O_DIRECTORY | O_CLOEXEC)) < 0 ||
        platform_desc_load(s.rootfd, &s.platform, &e) < 0 || loop_new(&s.loop) < 0 || slated_db(&s, &db, &e) < 0)
        fuzz_fail("%s: cannot set up slated: %s", root, e.msg[0] ? e.msg : strerror(errno));
    /* Durability is not what is fuzzed: without fsync a SET costs microseconds. */
    sym_sqlite3_exec(db, "PRAGMA synchronous=OFF", NULL, NULL, NULL);
    app = unit_make("org.example.fuzz", NULL);
    svc = unit_make("org.example.svc", "time");
    prev = unit_make("org.example.prev", NULL);
    svc->idle_exit_s = 30;
    app_alive = stand_in_child();
    svc_alive = stand_in_child();
}

static void reset_unit(struct unit *u, enum unit_state state, struct loop_source *child) {
    u->state = state;
    u->child = child;
    u->said_hello = u->frozen = u->stop_requested = false;
    u->awaiting = 0;
    u->restarts = 0;
    for (size_t i = 0; i < u->n_pending; i++)
        close(u->pending[i]);
    u->n_pending = 0;
    free(u->conn_inodes);
    u->conn_inodes = NULL;
    u->n_conn_inodes = 0;
    if (u->timer)
        loop_timer_stop(u->timer);
    u->timer_kind = TIMER_NONE;
}

/* Every input starts from the same state: units, foreground, settings. */
static struct unit *reset(uint8_t flags) {
    bool service = flags & 1;
    reset_unit(app, UNIT_FOREGROUND, app_alive);
    reset_unit(svc, service ? UNIT_SERVICE : UNIT_BACKOFF, service ? svc_alive : NULL);
    reset_unit(prev, UNIT_VISIBLE, NULL);
    s.foreground = app;
    if (!service && (flags & 4)) {
        app->state = UNIT_BACKGROUND;
        app->timer_kind = TIMER_TRIM_WAIT;
        app->awaiting = EVENT_TRIM_MEMORY;
        prev->state = UNIT_FOREGROUND;
        s.foreground = prev;
    }
    struct unit *u = service ? svc : app;
    u->said_hello = flags & 2;
    if (sym_sqlite3_total_changes(s.db) != settings_changes) {
        sym_sqlite3_exec(s.db, "DELETE FROM settings", NULL, NULL, NULL);
        settings_changes = sym_sqlite3_total_changes(s.db);
    }
    return u;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    struct datagrams d;
    int pair[2];

    if (!ready) {
        setup();
        ready = true;
    }
    datagrams_split(data, size, &d);
    struct unit *u = reset(d.flags);
    bool had_timer[3] = {app->timer != NULL, svc->timer != NULL, prev->timer != NULL};
    int fds_before = fuzz_count_fds();

    fuzz_socketpair(pair);
    if (appchan_attach(u, pair[0]) < 0)
        fuzz_fail("appchan_attach failed");
    for (size_t i = 0; i < d.n; i++)
        if (!fuzz_send(pair[1], d.p[i], d.len[i]))
            break;
    /* slated reads (up to a batch per wake), the app reads what slated sent, until both are done. */
    for (int round = 0;; round++) {
        fuzz_drain(pair[1]);
        if (u->chan_fd < 0 || (!fuzz_readable(u->chan_fd) && outq_empty(&u->chan_q)))
            break;
        if (round == ROUNDS_MAX)
            fuzz_fail("the channel never goes quiet");
        appchan_receive(u);
    }
    appchan_detach(u);
    fuzz_drain(pair[1]);
    close(pair[1]);
    reset(d.flags);

    /* A unit's timer, made once and kept, is the only fd an input may add. */
    int timers = (app->timer && !had_timer[0]) + (svc->timer && !had_timer[1]) + (prev->timer && !had_timer[2]);
    int fds_after = fuzz_count_fds();
    if (fds_after != fds_before + timers)
        fuzz_fail("%d fds open before the input, %d after (%d new timers): a leak", fds_before, fds_after, timers);
    return 0;
}
