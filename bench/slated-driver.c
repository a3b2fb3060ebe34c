/* slated-driver.c: what bench/slated.sh times: app launches through slated and through bwrap, side by side. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <spawn.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/inotify.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "ipc.h"
#include "sandbox.h"
#include "proto.h"
#include "sandbox.h"

/*
 * slated-driver bpf FILE
 *     Write system/sandbox.c's own seccomp filter (sandbox_export_filter) as raw BPF, for
 *     bwrap --seccomp FD: both sides run the very same filter.
 *
 * slated-driver launch --root R --id ID --slate SLATE --app-dir DIR --libslate LIB --bpf FILE
 *                      --bwrap-data DIR --alone-data DIR --ld-path DIR [--runs N] [--warmup N] [--raw FILE]
 *                      [--gap-ms N] [--variants cli,direct,bwrap-seccomp,bwrap,alone,help]
 *     Rounds of launches, each round every variant once (the order rotates from round to
 *     round), after --warmup untimed rounds. Each launch: t0 = CLOCK_MONOTONIC, start the
 *     command (posix_spawn) or send the request, wait for it to return, then for the app's
 *     stamp (its first CLOCK_MONOTONIC read in main). "to main" is stamp - t0. Under slated,
 *     the next launch waits (untimed) until slated has seen the app exit (ps says "exited").
 *     Before each launch the driver sleeps --gap-ms (default 100): a launch then finds the
 *     machine as a user's tap does, not in the wake of the one before. That matters for
 *     cgroup v1: moving a process into a cgroup (a write to cgroup.procs) waits for an RCU
 *     grace period, 5 to 15 ms here, unless another move happened in the last 20 ms or so.
 */

extern char **environ;

/* ---- the seccomp filter: system/sandbox.c's own ---- */

static int export_bpf(const char *path) {
    struct err e = {0};
    int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    int r = fd < 0 ? -errno : sandbox_export_filter(fd, &e);
    if (fd >= 0 && close(fd) < 0 && r >= 0)
        r = -errno;
    return r;
}

/* ---- helpers ---- */

static void die(const char *fmt, ...) __attribute__((noreturn, format(printf, 1, 2)));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fputs("slated-driver: ", stderr);
    vfprintf(stderr, fmt, ap);
    fputc('\n', stderr);
    va_end(ap);
    exit(1);
}

static long long now_ns(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void sleep_us(long us) {
    struct timespec ts = {us / 1000000, (us % 1000000) * 1000};
    while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
        ;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    va_start(ap, f);
    char *s = NULL;
    if (vasprintf(&s, f, ap) < 0)
        die("out of memory");
    va_end(ap);
    return s;
}

/* ---- the control socket ---- */

static uint32_t serial;
static uint8_t rbuf[IPC_MSG_MAX];

static int control_connect(const char *root) {
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    struct err e = {0};
    snprintf(sa.sun_path, sizeof sa.sun_path, "%s/%s", root, PROTO_CONTROL_PATH);
    int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof sa) < 0)
        die("%s: %s", sa.sun_path, strerror(errno));
    uint8_t buf[64];
    struct ipc_msg m;
    struct ipc_view v;
    ipc_msg_init(&m, buf, sizeof buf, MSG_HELLO, ipc_serial_next(&serial), 0);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    if (ipc_send(fd, &m, &e) < 0 || ipc_recv(fd, rbuf, sizeof rbuf, &v, &e) < 0)
        die("hello: %s", e.msg);
    ipc_view_finish(&v);
    return fd;
}

/* Send a request; receive until its reply, handing other messages of its serial to fn. Dies on an error reply. */
static void control_request(int fd, uint16_t type, const char *id, void (*fn)(const struct ipc_view *, void *),
                            void *ud) {
    uint8_t buf[512];
    struct ipc_msg m;
    struct ipc_view v;
    struct err e = {0};
    ipc_msg_init(&m, buf, sizeof buf, type, ipc_serial_next(&serial), 0);
    if (id)
        ipc_msg_add_string(&m, F_ID, id);
    if (ipc_send(fd, &m, &e) < 0)
        die("request: %s", e.msg);
    for (;;) {
        if (ipc_recv(fd, rbuf, sizeof rbuf, &v, &e) < 0)
            die("reply: %s", e.msg);
        if (ipc_view_is_reply_to(&v, ipc_msg_serial(&m))) {
            if (v.flags & IPC_FLAG_ERROR) {
                const char *text = "failed";
                ipc_msg_get_string(&v, IPC_FIELD_ERROR_TEXT, &text, NULL, NULL);
                die("slated refused request %#x: %s", type, text);
            }
            ipc_view_finish(&v);
            return;
        }
        if (v.serial == ipc_msg_serial(&m) && fn)
            fn(&v, ud);
        ipc_view_finish(&v);
    }
}

struct ps_query {
    const char *id;
    char state[32], status[128];
};

static void on_ps_entry(const struct ipc_view *v, void *ud) {
    struct ps_query *q = ud;
    const char *id = NULL, *state = "?", *status = "";
    if (v->type != MSG_PS_ENTRY || ipc_msg_get_string(v, F_ID, &id, NULL, NULL) < 0 || strcmp(id, q->id) != 0)
        return;
    ipc_msg_get_string(v, F_STATE, &state, NULL, NULL);
    ipc_msg_get_string(v, F_STATUS, &status, NULL, NULL);
    snprintf(q->state, sizeof q->state, "%s", state);
    snprintf(q->status, sizeof q->status, "%s", status);
}

/* Until slated has seen the app end: its next start then spawns it afresh. */
static void wait_exited(int fd, const char *id) {
    long long deadline = now_ns() + 10000000000LL;
    for (;;) {
        struct ps_query q = {.id = id};
        control_request(fd, MSG_PS, NULL, on_ps_entry, &q);
        if (strcmp(q.state, "exited") == 0)
            return;
        if (strcmp(q.state, "crashed") == 0 || strcmp(q.state, "stopped") == 0)
            die("%s ended badly: %s (%s)", id, q.state, q.status);
        if (now_ns() > deadline)
            die("%s still %s after 10 s", id, q.state);
        sleep_us(200);
    }
}

/* ---- stamps ---- */

static int inotify_fd = -1;

static void drain_inotify(void) {
    char buf[4096] __attribute__((aligned(8)));
    while (read(inotify_fd, buf, sizeof buf) > 0)
        ;
}

static void watch_dir(const char *dir) {
    if (inotify_add_watch(inotify_fd, dir, IN_MOVED_TO) < 0)
        die("inotify %s: %s", dir, strerror(errno));
}

/* The app's stamp: nanoseconds of CLOCK_MONOTONIC, once the file is there. */
static long long wait_stamp(const char *path) {
    long long deadline = now_ns() + 10000000000LL;
    for (;;) {
        int fd = open(path, O_RDONLY | O_CLOEXEC);
        if (fd >= 0) {
            char text[40] = "";
            ssize_t n = read(fd, text, sizeof text - 1);
            close(fd);
            if (n <= 0)
                die("%s: empty", path);
            text[n] = '\0';
            return strtoll(text, NULL, 10);
        }
        if (errno != ENOENT)
            die("%s: %s", path, strerror(errno));
        struct pollfd p = {.fd = inotify_fd, .events = POLLIN};
        long long left = (deadline - now_ns()) / 1000000;
        if (left <= 0 || poll(&p, 1, (int)left) == 0)
            die("no stamp at %s after 10 s: the app did not start", path);
        drain_inotify();
    }
}

/* ---- commands ---- */

/* Run argv to its end, stdout to /dev/null; returns the time it returned. */
static long long run_command(char *const *argv, char *const *envp, const char *cwd) {
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_addopen(&fa, 1, "/dev/null", O_WRONLY, 0);
    if (cwd)
        posix_spawn_file_actions_addchdir_np(&fa, cwd);
    pid_t pid;
    int r = posix_spawn(&pid, argv[0], &fa, NULL, argv, envp ? envp : environ);
    posix_spawn_file_actions_destroy(&fa);
    if (r != 0)
        die("%s: %s", argv[0], strerror(r));
    int status;
    while (waitpid(pid, &status, 0) < 0)
        if (errno != EINTR)
            die("waitpid: %s", strerror(errno));
    long long t = now_ns();
    if (!WIFEXITED(status) || WEXITSTATUS(status) != 0)
        die("%s failed (status %#x)", argv[0], status);
    return t;
}

/* ---- statistics ---- */

struct series {
    double *v;
    size_t n;
};

static double root2(double x) { /* sqrt without libm */
    double r = x > 1 ? x : 1;
    for (int i = 0; i < 60; i++)
        r = (r + x / r) / 2;
    return x > 0 ? r : 0;
}

static int by_value(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return x < y ? -1 : x > y;
}

struct summary {
    double mean, median, min, p90, sd;
};

static struct summary summarize(const struct series *s) {
    struct summary r = {0};
    if (s->n == 0)
        return r;
    double *v = malloc(s->n * sizeof *v);
    if (!v)
        die("out of memory");
    memcpy(v, s->v, s->n * sizeof *v);
    qsort(v, s->n, sizeof *v, by_value);
    double sum = 0, sq = 0;
    for (size_t i = 0; i < s->n; i++)
        sum += v[i];
    r.mean = sum / (double)s->n;
    for (size_t i = 0; i < s->n; i++)
        sq += (v[i] - r.mean) * (v[i] - r.mean);
    r.sd = s->n > 1 ? root2(sq / (double)(s->n - 1)) : 0;
    r.median = s->n % 2 ? v[s->n / 2] : (v[s->n / 2 - 1] + v[s->n / 2]) / 2;
    r.min = v[0];
    r.p90 = v[(size_t)((double)(s->n - 1) * 0.9)];
    free(v);
    return r;
}

/* ---- launch ---- */

enum variant { V_CLI, V_DIRECT, V_BWRAP_SECCOMP, V_BWRAP, V_ALONE, V_HELP, N_VARIANTS };

static const char *const keys[N_VARIANTS] = {
    [V_CLI] = "cli", [V_DIRECT] = "direct", [V_BWRAP_SECCOMP] = "bwrap-seccomp",
    [V_BWRAP] = "bwrap", [V_ALONE] = "alone", [V_HELP] = "help",
};

static const char *const names[N_VARIANTS] = {
    [V_CLI] = "slated: `slate start` (CLI)",
    [V_DIRECT] = "slated: MSG_START on the socket",
    [V_BWRAP_SECCOMP] = "bwrap + seccomp filter",
    [V_BWRAP] = "bwrap, no seccomp",
    [V_ALONE] = "binary alone (no sandbox)",
    [V_HELP] = "`slate --help` (the CLI alone)",
};

struct opts {
    const char *root, *id, *slate, *app_dir, *libslate, *bpf, *bwrap_data, *alone_data, *ld_path, *raw, *variants;
    int runs, warmup, gap_ms;
};

int main(int argc, char **argv) {
    if (argc == 3 && strcmp(argv[1], "bpf") == 0) {
        int r = export_bpf(argv[2]);
        if (r < 0)
            die("seccomp filter: %s", strerror(-r));
        return 0;
    }
    if (argc < 2 || strcmp(argv[1], "launch") != 0)
        die("usage: slated-driver bpf FILE | launch --root R --id ID ... (see the source)");

    struct opts o = {.runs = 200, .warmup = 20, .gap_ms = 100};
    for (int i = 2; i < argc; i += 2) {
        if (i + 1 >= argc)
            die("%s: a value is missing", argv[i]);
        const char *a = argv[i], *v = argv[i + 1];
        const char **slot = strcmp(a, "--root") == 0         ? &o.root
                            : strcmp(a, "--id") == 0         ? &o.id
                            : strcmp(a, "--slate") == 0      ? &o.slate
                            : strcmp(a, "--app-dir") == 0    ? &o.app_dir
                            : strcmp(a, "--libslate") == 0   ? &o.libslate
                            : strcmp(a, "--bpf") == 0        ? &o.bpf
                            : strcmp(a, "--bwrap-data") == 0 ? &o.bwrap_data
                            : strcmp(a, "--alone-data") == 0 ? &o.alone_data
                            : strcmp(a, "--ld-path") == 0    ? &o.ld_path
                            : strcmp(a, "--raw") == 0        ? &o.raw
                            : strcmp(a, "--variants") == 0   ? &o.variants
                                                             : NULL;
        if (slot)
            *slot = v;
        else if (strcmp(a, "--runs") == 0)
            o.runs = atoi(v);
        else if (strcmp(a, "--warmup") == 0)
            o.warmup = atoi(v);
        else if (strcmp(a, "--gap-ms") == 0)
            o.gap_ms = atoi(v);
        else
            die("%s: unknown option", a);
    }
    if (!o.root || !o.id || !o.slate || !o.app_dir || !o.libslate || !o.bpf || !o.bwrap_data || !o.alone_data ||
        !o.ld_path || o.runs < 1 || o.warmup < 0 || o.gap_ms < 0)
        die("launch: --root --id --slate --app-dir --libslate --bpf --bwrap-data --alone-data --ld-path are needed");

    /* The same binds slated makes: the loader, libc and libm at their host paths, libslate beside libc. */
    struct err e = {0};
    struct sandbox_bind libs[SANDBOX_LIBC_BINDS];
    if (sandbox_libc_binds(libs, &e) < 0)
        die("%s", e.msg);
    char libslate_target[PATH_MAX];
    snprintf(libslate_target, sizeof libslate_target, "%s", libs[1].target);
    snprintf(strrchr(libslate_target, '/'), sizeof libslate_target - (size_t)(strrchr(libslate_target, '/') - libslate_target),
             "/libslate.so.1");

    int bpf_fd = open(o.bpf, O_RDONLY); /* inherited by bwrap, which reads it to its end */
    if (bpf_fd < 0)
        die("%s: %s", o.bpf, strerror(errno));
    char *bpf_fd_text = fmt("%d", bpf_fd);
    char *bwrap[64];
    int nb = 0, seccomp_at;
    const char *fixed[] = {"/usr/bin/bwrap", "--unshare-user", "--unshare-pid", "--unshare-ipc", "--unshare-uts",
                           "--unshare-net", "--hostname", "slate", "--cap-drop", "ALL", "--clearenv", "--setenv",
                           "HOME", "/data", "--setenv", "PATH", "/app/bin", "--ro-bind", o.app_dir, "/app"};
    for (size_t i = 0; i < sizeof fixed / sizeof *fixed; i++)
        bwrap[nb++] = (char *)fixed[i];
    for (int i = 0; i < SANDBOX_LIBC_BINDS; i++) {
        bwrap[nb++] = "--ro-bind";
        bwrap[nb++] = (char *)libs[i].source;
        bwrap[nb++] = (char *)libs[i].target;
    }
    const char *rest[] = {"--ro-bind", o.libslate, libslate_target, "--bind", o.bwrap_data, "/data", "--chdir",
                          "/data", "--proc", "/proc", "--dev", "/dev", "--tmpfs", "/tmp"};
    for (size_t i = 0; i < sizeof rest / sizeof *rest; i++)
        bwrap[nb++] = (char *)rest[i];
    seccomp_at = nb;
    bwrap[nb++] = "--seccomp";
    bwrap[nb++] = bpf_fd_text;
    bwrap[nb++] = "/app/bin/app";
    bwrap[nb] = NULL;
    /* Without seccomp: the same line with "--seccomp FD" taken out. */
    char *bwrap_plain[64];
    int np = 0;
    for (int i = 0; i < nb; i++)
        if (i != seccomp_at && i != seccomp_at + 1)
            bwrap_plain[np++] = bwrap[i];
    bwrap_plain[np] = NULL;
    fprintf(stderr, "== bwrap command:");
    for (int i = 0; i < nb; i++)
        fprintf(stderr, " %s", bwrap[i]);
    fprintf(stderr, "\n");

    char *cli[] = {(char *)o.slate, "--root", (char *)o.root, "start", (char *)o.id, NULL};
    char *help[] = {(char *)o.slate, "--help", NULL};
    char *alone_bin = fmt("%s/bin/app", o.app_dir);
    char *alone[] = {alone_bin, NULL};
    char *alone_env[] = {fmt("HOME=%s", o.alone_data), fmt("LD_LIBRARY_PATH=%s", o.ld_path), NULL};

    char *slated_data = fmt("%s/var/lib/slate/data/%s", o.root, o.id);
    const char *stamp_dir[N_VARIANTS] = {[V_CLI] = slated_data, [V_DIRECT] = slated_data,
                                         [V_BWRAP_SECCOMP] = o.bwrap_data, [V_BWRAP] = o.bwrap_data,
                                         [V_ALONE] = o.alone_data, [V_HELP] = NULL};
    if ((inotify_fd = inotify_init1(IN_NONBLOCK | IN_CLOEXEC)) < 0)
        die("inotify: %s", strerror(errno));
    watch_dir(slated_data);
    watch_dir(o.bwrap_data);
    watch_dir(o.alone_data);

    bool on[N_VARIANTS];
    for (int k = 0; k < N_VARIANTS; k++)
        on[k] = !o.variants;
    if (o.variants) {
        char *list = strdup(o.variants);
        for (char *save = NULL, *t = strtok_r(list, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
            int k = 0;
            while (k < N_VARIANTS && strcmp(keys[k], t) != 0)
                k++;
            if (k == N_VARIANTS)
                die("--variants: %s is none of cli, direct, bwrap-seccomp, bwrap, alone, help", t);
            on[k] = true;
        }
        free(list);
    }

    int ctl = control_connect(o.root);
    struct series to_main[N_VARIANTS] = {0}, returned[N_VARIANTS] = {0};
    for (int k = 0; k < N_VARIANTS; k++) {
        to_main[k].v = calloc((size_t)o.runs, sizeof(double));
        returned[k].v = calloc((size_t)o.runs, sizeof(double));
        if (!to_main[k].v || !returned[k].v)
            die("out of memory");
    }
    FILE *raw = o.raw ? fopen(o.raw, "we") : NULL;
    if (o.raw && !raw)
        die("%s: %s", o.raw, strerror(errno));
    if (raw)
        fprintf(raw, "round\tvariant\tto_main_ms\treturned_ms\n");

    for (int round = 0; round < o.warmup + o.runs; round++) {
        for (int j = 0; j < N_VARIANTS; j++) {
            enum variant k = (enum variant)((round + j) % N_VARIANTS);
            if (!on[k])
                continue;
            char *stamp = stamp_dir[k] ? fmt("%s/stamp", stamp_dir[k]) : NULL;
            if (stamp && unlink(stamp) < 0 && errno != ENOENT)
                die("%s: %s", stamp, strerror(errno));
            drain_inotify();
            lseek(bpf_fd, 0, SEEK_SET);
            if (o.gap_ms)
                sleep_us(o.gap_ms * 1000L);

            long long t0 = now_ns(), t1 = 0, t2 = 0;
            switch (k) {
            case V_CLI:
                t1 = run_command(cli, NULL, NULL);
                break;
            case V_DIRECT:
                control_request(ctl, MSG_START, o.id, NULL, NULL);
                t1 = now_ns();
                break;
            case V_BWRAP_SECCOMP:
                t1 = run_command(bwrap, NULL, NULL);
                break;
            case V_BWRAP:
                t1 = run_command(bwrap_plain, NULL, NULL);
                break;
            case V_ALONE:
                t1 = run_command(alone, alone_env, o.alone_data);
                break;
            case V_HELP:
                t1 = run_command(help, NULL, NULL);
                break;
            case N_VARIANTS:
                break;
            }
            if (stamp)
                t2 = wait_stamp(stamp);
            if (k == V_CLI || k == V_DIRECT)
                wait_exited(ctl, o.id);
            free(stamp);
            if (round < o.warmup)
                continue;
            double m = t2 ? (double)(t2 - t0) / 1e6 : 0, r = (double)(t1 - t0) / 1e6;
            to_main[k].v[to_main[k].n++] = m;
            returned[k].v[returned[k].n++] = r;
            if (raw)
                fprintf(raw, "%d\t%s\t%.4f\t%.4f\n", round - o.warmup, names[k], m, r);
        }
    }
    if (raw)
        fclose(raw);
    close(ctl);

    struct summary sm[N_VARIANTS], sr[N_VARIANTS];
    for (int k = 0; k < N_VARIANTS; k++) {
        sm[k] = summarize(&to_main[k]);
        sr[k] = summarize(&returned[k]);
    }
    printf("%d launches of each after %d warm-up rounds, interleaved, %d ms apart; times in ms from t0 (just "
           "before the command or request)\n\n",
           o.runs, o.warmup, o.gap_ms);
    printf("| launch | to main: mean | median | min | p90 | stddev | command returned (mean) |\n");
    printf("|---|---|---|---|---|---|---|\n");
    for (int k = 0; k < N_VARIANTS; k++) {
        if (!on[k])
            continue;
        if (k == V_HELP)
            printf("| %s | | | | | | %.3f |\n", names[k], sr[k].mean);
        else
            printf("| %s | %.3f | %.3f | %.3f | %.3f | %.3f | %.3f |\n", names[k], sm[k].mean, sm[k].median,
                   sm[k].min, sm[k].p90, sm[k].sd, sr[k].mean);
    }
    const enum variant num[] = {V_CLI, V_DIRECT}, den[] = {V_BWRAP_SECCOMP, V_BWRAP};
    bool header = false;
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 2; b++) {
            if (!on[num[a]] || !on[den[b]])
                continue;
            if (!header)
                printf("\n| ratio (to main) | by mean | by median |\n|---|---|---|\n");
            header = true;
            printf("| %s / %s | %.2f | %.2f |\n", names[num[a]], names[den[b]], sm[num[a]].mean / sm[den[b]].mean,
                   sm[num[a]].median / sm[den[b]].median);
        }
    if (header)
        printf("\n");
    for (size_t a = 0; a < 2; a++)
        for (size_t b = 0; b < 2; b++)
            if (on[num[a]] && on[den[b]])
                printf("goal %s: %s at most half of %s (mean %.3f vs %.3f ms)\n",
                       sm[num[a]].mean <= sm[den[b]].mean / 2 ? "met" : "missed", names[num[a]], names[den[b]],
                       sm[num[a]].mean, sm[den[b]].mean);
    return 0;
}
