/*
 * run.c: one run of the memory benchmark (bench/memory.sh): a device, a load that runs it out of
 * memory, one way of handling that, and one `result` line with what happened.
 *
 * The load (the same in every run, sized by the caller): HOARDS background apps that each hold
 * HOARD_MIB, started one after the other, then a foreground app that grows by 2 MiB every 25 ms
 * to GROW_MIB. The ways of handling it (--mode):
 *
 *   slated     slated starts the apps (the SDK test app under ids ending in .hoard and .grow,
 *              `slate start`), its memory manager on
 *   kernel     the same with `slated --no-memory-manager`: the kernel's OOM killer alone
 *   earlyoom   the apps as plain processes (load.c under the names bgapp and fgapp), earlyoom
 *              watching the machine
 *
 * The device is a v1 memory cgroup made here with --device-v1 and --limit (on the host: slated and
 * all it starts live in it), a v2 group with --v2-device and --limit (the guest: a device smaller
 * than the machine, on slated's v2 path), or, without either, the whole machine (the 1 GB guest).
 *
 * What it measures, sampling every --sample-ms from the foreground app's start:
 *   onset      the first sample in which the device is short of memory: a memory stall in it
 *              (PSI "some" grew) or less than a fifth of it free (slated's trim line)
 *   relief     from onset to the foreground app's "done" (its allocation completed), or to its death
 *   kills      apps that died while it ran, whoever killed them; manager_kills: those the manager
 *              killed (the rest: the kernel's OOM killer); oom_kills: the kernel's count of processes
 *   fg stall   PSI "full" (and "some") of the foreground app's own cgroup v2 group over the run:
 *              the time it could not run for want of memory. On a cgroup v1 host the apps still
 *              sit in the unified (v2) hierarchy, which keeps per-group PSI without controllers
 *   idle       the manager's context switches (every thread) over --idle-s seconds after the
 *              load, with the apps still there, then again once they are gone; its VmRSS and Pss
 *
 * Output: "app ..." (how each app ended), "log ..." (what the manager said about memory and kills;
 * slated's with t_ms, since the foreground app started), "stall ..." (each time the foreground app's
 * PSI full grew: when, how much), then the "result" line.
 * Built static: the same binary runs on the host and as a child of the guest's init.
 * Fails (exit 1) only when the run cannot be made; an app killed is a result, not a failure.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define MAX_HOARDS 8
#define MAX_ARGS 16

static struct {
    const char *mode, *name;
    int hoards;
    long hoard_mib, grow_mib;
    const char *device_v1; /* a v1 memory cgroup folder to make, or NULL: the whole machine */
    bool v2_device;        /* a v2 group with memory.max --limit, made in this run's group */
    uint64_t limit;
    const char *v2; /* the cgroup2 mount */
    const char *slated, *slate, *root, *libslate, *log;
    const char *earlyoom, *eo_args[MAX_ARGS];
    int n_eo_args;
    const char *fg_exe, *bg_exe;
    int sample_ms, idle_s, timeout_s, freeze_ms, cache_ms;
} o = {.hoards = 3, .hoard_mib = 96, .grow_mib = 320, .v2 = "/sys/fs/cgroup", .sample_ms = 10, .idle_s = 10,
       .timeout_s = 180, .freeze_ms = 1000, .cache_ms = 2000};

static void cleanup(void);

/* A run that cannot be made: say why, and leave nothing behind (processes, cgroups). */
static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "memory-run: ");
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
    cleanup();
    exit(1);
}

static void note(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void note(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    fprintf(stderr, "memory-run[%s]: ", o.name);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputc('\n', stderr);
}

static uint64_t now_us(void) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    return (uint64_t)t.tv_sec * 1000000 + (uint64_t)t.tv_nsec / 1000;
}

static void sleep_ms(long ms) {
    struct timespec t = {ms / 1000, ms % 1000 * 1000000L};
    while (nanosleep(&t, &t) < 0 && errno == EINTR)
        ;
}

/* ---- files ---- */

/* The whole of a small file (kernel files: one read at offset 0), NUL-terminated; -1 on failure. */
static ssize_t read_at(int fd, char *buf, size_t size) {
    ssize_t n = pread(fd, buf, size - 1, 0);
    buf[n > 0 ? n : 0] = '\0';
    return n;
}

static ssize_t read_file(const char *path, char *buf, size_t size) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) {
        buf[0] = '\0';
        return -1;
    }
    ssize_t n = read_at(fd, buf, size);
    close(fd);
    return n;
}

static int write_file(const char *path, const char *text) {
    int fd = open(path, O_WRONLY | O_CLOEXEC | O_CREAT | O_TRUNC, 0644);
    if (fd < 0)
        return -errno;
    ssize_t n = write(fd, text, strlen(text));
    int r = n == (ssize_t)strlen(text) ? 0 : -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    return r;
}

/* The number after "key" (which names its separator too: "oom_kill ", "MemAvailable:") in text. */
static bool key_u64(const char *text, const char *key, uint64_t *ret) {
    for (const char *p = text; (p = strstr(p, key)); p += strlen(key))
        if (p == text || p[-1] == '\n') {
            *ret = strtoull(p + strlen(key), NULL, 10);
            return true;
        }
    return false;
}

static char *fmt(const char *f, ...) __attribute__((format(printf, 1, 2)));
static char *fmt(const char *f, ...) {
    va_list ap;
    char *s;
    va_start(ap, f);
    if (vasprintf(&s, f, ap) < 0)
        die("out of memory");
    va_end(ap);
    return s;
}

/* ---- the device ---- */

static char *v2_run;   /* this run's cgroup v2 group: the device's PSI (host), or the foreground app's parent */
static int dev_psi_fd = -1, fg_psi_fd = -1, glob_psi_fd = -1;
static int v1_usage_fd = -1, v1_stat_fd = -1, meminfo_fd = -1;
static bool v1_made;   /* o.device_v1 is ours to remove */
static char *v2_dev;   /* with --v2-device: the device's v2 group */
static uint64_t device_total;

struct psi {
    uint64_t some, full; /* totals, µs */
};

static bool psi_read(int fd, struct psi *p) {
    char buf[256];
    if (fd < 0 || read_at(fd, buf, sizeof buf) <= 0)
        return false;
    const char *s = strstr(buf, "some "), *f = strstr(buf, "full ");
    if (!s || !f || !strstr(s, "total=") || !strstr(f, "total="))
        return false;
    p->some = strtoull(strstr(s, "total=") + 6, NULL, 10);
    p->full = strtoull(strstr(f, "total=") + 6, NULL, 10);
    return true;
}

/* Free memory of the device, as slated reckons it: the limit less what is used, inactive file cache not counted. */
static uint64_t device_free(void) {
    char buf[4096];
    uint64_t v = 0;
    if (o.device_v1 || o.v2_device) {
        uint64_t used = 0, inactive = 0;
        if (read_at(v1_usage_fd, buf, sizeof buf) > 0)
            used = strtoull(buf, NULL, 10);
        if (read_at(v1_stat_fd, buf, sizeof buf) > 0)
            key_u64(buf, o.v2_device ? "inactive_file " : "total_inactive_file ", &inactive);
        used = used > inactive ? used - inactive : 0;
        return used < device_total ? device_total - used : 0;
    }
    if (read_at(meminfo_fd, buf, sizeof buf) > 0 && key_u64(buf, "MemAvailable:", &v))
        return v * 1024;
    return 0;
}

/*
 * Processes the kernel's OOM killer killed, machine-wide (/proc/vmstat). Not the device's own v1
 * memory.oom_control: on v1 a kill counts only in the victim's own group, never in its parents.
 */
static uint64_t oom_kills(void) {
    char buf[8192];
    uint64_t v = 0;
    read_file("/proc/vmstat", buf, sizeof buf);
    key_u64(buf, "oom_kill ", &v);
    return v;
}

static void join(const char *group, pid_t pid) {
    char *p = fmt("%s/cgroup.procs", group), text[24];
    snprintf(text, sizeof text, "%d", (int)pid);
    int r = write_file(p, text);
    if (r < 0)
        die("%s: %s", p, strerror(-r));
    free(p);
}

static void make_device(void) {
    char buf[4096];
    if (mkdir(o.v2, 0755) < 0 && errno != EEXIST)
        die("%s: %s", o.v2, strerror(errno));
    v2_run = fmt("%s/slate-bench-%d", o.v2, (int)getpid());
    if (mkdir(v2_run, 0755) < 0)
        die("%s: %s", v2_run, strerror(errno));
    glob_psi_fd = open("/proc/pressure/memory", O_RDONLY | O_CLOEXEC);
    if (glob_psi_fd < 0)
        die("/proc/pressure/memory: %s (a kernel without PSI: boot with psi=1)", strerror(errno));
    if (o.device_v1) {
        /* A small device: a v1 memory cgroup with the limit (swap included, where the kernel accounts it). */
        if (mkdir(o.device_v1, 0755) < 0)
            die("%s: %s", o.device_v1, strerror(errno));
        v1_made = true;
        char *p = fmt("%s/memory.limit_in_bytes", o.device_v1), text[32];
        snprintf(text, sizeof text, "%" PRIu64, o.limit);
        if (write_file(p, text) < 0)
            die("%s: %s", p, strerror(errno));
        free(p);
        p = fmt("%s/memory.memsw.limit_in_bytes", o.device_v1);
        if (access(p, F_OK) == 0 && write_file(p, text) < 0)
            die("%s: %s", p, strerror(errno));
        free(p);
        device_total = o.limit;
        p = fmt("%s/memory.usage_in_bytes", o.device_v1);
        v1_usage_fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        p = fmt("%s/memory.stat", o.device_v1);
        v1_stat_fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (v1_usage_fd < 0 || v1_stat_fd < 0)
            die("%s: no memory.usage_in_bytes or memory.stat", o.device_v1);
        /* The device's own PSI: its group in the v2 hierarchy (which every process is in, controllers or not). */
        p = fmt("%s/memory.pressure", v2_run);
        dev_psi_fd = open(p, O_RDONLY | O_CLOEXEC);
        if (dev_psi_fd < 0)
            die("%s: %s", p, strerror(errno));
        free(p);
    } else if (o.v2_device) {
        /* The controllers slated's groups get (memory, pids) handed down to the device: from the root,
         * through this run's group. */
        char *p = fmt("%s/cgroup.subtree_control", o.v2), text[32];
        if (write_file(p, "+memory +pids") < 0)
            die("%s: cannot enable memory and pids", p);
        free(p);
        p = fmt("%s/cgroup.subtree_control", v2_run);
        if (write_file(p, "+memory +pids") < 0)
            die("%s: cannot enable memory and pids", p);
        free(p);
        v2_dev = fmt("%s/device", v2_run);
        if (mkdir(v2_dev, 0755) < 0)
            die("%s: %s", v2_dev, strerror(errno));
        p = fmt("%s/memory.max", v2_dev);
        snprintf(text, sizeof text, "%" PRIu64, o.limit);
        if (write_file(p, text) < 0)
            die("%s: %s", p, strerror(errno));
        free(p);
        device_total = o.limit;
        p = fmt("%s/memory.current", v2_dev);
        v1_usage_fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        p = fmt("%s/memory.stat", v2_dev);
        v1_stat_fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        p = fmt("%s/memory.pressure", v2_dev);
        dev_psi_fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        if (v1_usage_fd < 0 || v1_stat_fd < 0 || dev_psi_fd < 0)
            die("%s: no memory.current, memory.stat or memory.pressure", v2_dev);
    } else {
        uint64_t kb = 0;
        meminfo_fd = open("/proc/meminfo", O_RDONLY | O_CLOEXEC);
        if (meminfo_fd < 0 || read_at(meminfo_fd, buf, sizeof buf) <= 0 || !key_u64(buf, "MemTotal:", &kb))
            die("/proc/meminfo: no MemTotal");
        device_total = kb * 1024;
        dev_psi_fd = dup(glob_psi_fd); /* the whole machine is the device */
    }
}

/* Into the device: both hierarchies on the host; nothing to do when the device is the machine. */
static void join_device(pid_t pid) {
    if (v2_dev)
        join(v2_dev, pid);
    if (!o.device_v1)
        return;
    join(o.device_v1, pid);
    join(v2_run, pid);
}

static void rmdir_retry(const char *path) {
    for (int i = 0; i < 100 && rmdir(path) < 0 && errno == EBUSY; i++)
        sleep_ms(50);
}

static void remove_device(void) {
    if (v2_dev) {
        rmdir_retry(v2_dev);
        free(v2_dev);
        v2_dev = NULL;
    }
    if (v2_run) {
        char *fg = fmt("%s/fg", v2_run);
        rmdir_retry(fg);
        free(fg);
        rmdir_retry(v2_run);
        free(v2_run);
        v2_run = NULL;
    }
    if (v1_made)
        rmdir_retry(o.device_v1);
    v1_made = false;
}

/* ---- processes ---- */

/* argv run to its end, its standard output in out; returns the exit status (or -1). */
static int run_capture(char *const argv[], char *out, size_t size) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        int null = open("/dev/null", O_WRONLY | O_CLOEXEC);
        dup2(p[1], 1);
        if (null >= 0)
            dup2(null, 2); /* the caller looks at the status and the output */
        execv(argv[0], argv);
        _exit(127);
    }
    close(p[1]);
    size_t at = 0;
    ssize_t n;
    while ((n = read(p[0], out + at, size - 1 - at)) > 0 || (n < 0 && errno == EINTR))
        if (n > 0 && (at += (size_t)n) == size - 1)
            break;
    out[at] = '\0';
    close(p[0]);
    int status;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

static int slate(const char *verb, const char *id, char *out, size_t size) {
    char *argv[] = {(char *)o.slate, "--root", (char *)o.root, (char *)verb, (char *)id, NULL};
    char scratch[256];
    return run_capture(argv, out ? out : scratch, out ? size : sizeof scratch);
}

/* Context switches of every thread of pid: each one a time it woke (or was preempted). */
static uint64_t switches(pid_t pid) {
    char *dir = fmt("/proc/%d/task", (int)pid), buf[4096];
    uint64_t sum = 0, v;
    DIR *d = opendir(dir);
    struct dirent *e;
    while (d && (e = readdir(d)))
        if (e->d_name[0] != '.') {
            char *p = fmt("%s/%s/status", dir, e->d_name);
            if (read_file(p, buf, sizeof buf) > 0) {
                if (key_u64(buf, "voluntary_ctxt_switches:", &v))
                    sum += v;
                if (key_u64(buf, "nonvoluntary_ctxt_switches:", &v))
                    sum += v;
            }
            free(p);
        }
    if (d)
        closedir(d);
    free(dir);
    return sum;
}

static void memory_of(pid_t pid, uint64_t *rss_kb, uint64_t *pss_kb) {
    char buf[4096], *p = fmt("/proc/%d/status", (int)pid);
    *rss_kb = *pss_kb = 0;
    if (read_file(p, buf, sizeof buf) > 0)
        key_u64(buf, "VmRSS:", rss_kb);
    free(p);
    p = fmt("/proc/%d/smaps_rollup", (int)pid);
    if (read_file(p, buf, sizeof buf) > 0)
        key_u64(buf, "Pss:", pss_kb);
    free(p);
}

static void stop_pid(pid_t pid, int ms) {
    if (pid <= 0)
        return;
    kill(pid, SIGTERM);
    for (int i = 0; i < ms / 10; i++) {
        if (waitpid(pid, NULL, WNOHANG) == pid)
            return;
        sleep_ms(10);
    }
    kill(pid, SIGKILL);
    waitpid(pid, NULL, 0);
}

/* ---- the apps: either slated's (by id) or plain processes (by pid) ---- */

struct app {
    char id[64];
    pid_t pid;
    int out;          /* plain process: its standard output (nonblocking); slated: its log file */
    char line[512];   /* the part of a line read so far */
    size_t line_len;
    bool dead;
    int signal;       /* plain process: what killed it */
    uint64_t died_us;
};

static struct app hoard[MAX_HOARDS], fg;
static pid_t manager = -1; /* slated or earlyoom */
static bool with_slated;

/* New output of the app, line by line: true once a line starts with prefix (after slated's "... stdout: "). */
static bool saw_line(struct app *a, const char *prefix) {
    char buf[4096];
    ssize_t n;
    bool seen = false;
    while ((n = read(a->out, buf, sizeof buf)) > 0)
        for (ssize_t i = 0; i < n; i++) {
            if (buf[i] != '\n') {
                if (a->line_len < sizeof a->line - 1)
                    a->line[a->line_len++] = buf[i];
                continue;
            }
            a->line[a->line_len] = '\0';
            a->line_len = 0;
            const char *text = a->line, *tag = strstr(a->line, " stdout: ");
            if (with_slated && !tag)
                continue; /* slated's own words about the app */
            if (tag)
                text = tag + 9;
            if (strncmp(text, prefix, strlen(prefix)) == 0)
                seen = true;
        }
    return seen;
}

static void wait_line(struct app *a, const char *prefix, int timeout_s) {
    for (uint64_t end = now_us() + (uint64_t)timeout_s * 1000000; !saw_line(a, prefix);) {
        if (now_us() > end)
            die("%s did not say %s within %d s", a->id, prefix, timeout_s);
        sleep_ms(10);
    }
}

/* slated's app: the app's data folder gets the size it reads at start. */
static void slated_prepare(struct app *a, const char *file, long mib) {
    char *parent = fmt("%s/var/lib/slate/data", o.root), *dir = fmt("%s/%s", parent, a->id), text[32];
    mkdir(parent, 0755);
    free(parent);
    if (mkdir(dir, 0755) < 0 && errno != EEXIST)
        die("%s: %s", dir, strerror(errno));
    char *p = fmt("%s/%s", dir, file);
    snprintf(text, sizeof text, "%ld\n", mib);
    if (write_file(p, text) < 0)
        die("%s: %s", p, strerror(errno));
    free(p);
    free(dir);
}

/* One ps line (one app per line in `slate ps --json`): the string or number after "key": . */
static bool json_field(const char *line, const char *key, char *out, size_t size) {
    char pat[64];
    snprintf(pat, sizeof pat, "\"%s\": ", key);
    const char *p = strstr(line, pat);
    if (!p)
        return false;
    p += strlen(pat);
    size_t n = 0;
    if (*p == '"') {
        for (p++; *p && *p != '"' && n < size - 1; p++) {
            if (*p == '\\' && p[1])
                p++;
            out[n++] = *p;
        }
    } else
        while (*p && *p != ',' && *p != '}' && n < size - 1)
            out[n++] = *p++;
    out[n] = '\0';
    return true;
}

/* The ps line of one app, copied into line. */
static bool ps_line(const char *ps, const char *id, char *line, size_t size) {
    char pat[96];
    snprintf(pat, sizeof pat, "{\"id\": \"%.63s\"", id);
    const char *p = strstr(ps, pat), *end;
    if (!p)
        return false;
    end = strchr(p, '\n');
    size_t n = end ? (size_t)(end - p) : strlen(p);
    snprintf(line, size, "%.*s", (int)(n < size ? n : size - 1), p);
    return true;
}

/* What slated says of its apps and itself, on stderr: why a run went wrong. */
static void show_slated(void) {
    static char out[16384];
    char *ps[] = {(char *)o.slate, "--root", (char *)o.root, "ps", NULL};
    char *logs[] = {(char *)o.slate, "--root", (char *)o.root, "logs", NULL};
    run_capture(ps, out, sizeof out);
    fprintf(stderr, "memory-run: slate ps:\n%s", out);
    run_capture(logs, out, sizeof out);
    fprintf(stderr, "memory-run: slate logs:\n%s", out);
}

static void slated_start_app(struct app *a) {
    char out[512], ps[16384], line[1024], pid[24];
    int r = slate("start", a->id, out, sizeof out);
    if (r != 0)
        die("slate start %s: exit %d: %s", a->id, r, out);
    if (slate("ps", "--json", ps, sizeof ps) != 0 || !ps_line(ps, a->id, line, sizeof line) ||
        !json_field(line, "pid", pid, sizeof pid) || atoi(pid) <= 0) {
        show_slated();
        die("slate ps: no pid for %s", a->id);
    }
    a->pid = atoi(pid);
    /* Its output, as slated writes it to the app's log file (there by now, or very soon). */
    char *p = fmt("%s/var/log/slate/%s.log", o.root, a->id);
    for (int i = 0; a->out < 0; i++) {
        a->out = open(p, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
        if (a->out < 0 && i == 500)
            die("%s: %s", p, strerror(errno));
        if (a->out < 0)
            sleep_ms(10);
    }
    free(p);
}

/* A plain process: in its own session (earlyoom -g never takes two), its output to a pipe. */
static void spawn_app(struct app *a, const char *exe, const char *verb, long mib, const char *group) {
    int p[2];
    char arg[24];
    snprintf(arg, sizeof arg, "%ld", mib);
    if (pipe2(p, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0)
        die("fork: %s", strerror(errno));
    if (pid == 0) {
        setsid();
        if (group)
            join(group, 0);
        dup2(p[1], 1);
        execl(exe, exe, verb, arg, (char *)NULL);
        _exit(127);
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    a->pid = pid;
    a->out = p[0];
}

static void start_slated(void) {
    int ready[2];
    if (pipe2(ready, O_CLOEXEC) < 0)
        die("pipe: %s", strerror(errno));
    manager = fork();
    if (manager < 0)
        die("fork: %s", strerror(errno));
    if (manager == 0) {
        char fd[8], freeze[16], cache[16];
        const char *argv[16];
        int n = 0;
        join_device(0);
        int log = open(o.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log >= 0)
            dup2(log, 2);
        dup2(ready[1], 3);
        snprintf(fd, sizeof fd, "3");
        snprintf(freeze, sizeof freeze, "%d", o.freeze_ms);
        snprintf(cache, sizeof cache, "%d", o.cache_ms);
        argv[n++] = o.slated;
        argv[n++] = "--root";
        argv[n++] = o.root;
        argv[n++] = "--ready-fd";
        argv[n++] = fd;
        argv[n++] = "--freeze-delay";
        argv[n++] = freeze;
        argv[n++] = "--cache-delay";
        argv[n++] = cache;
        if (o.libslate) {
            argv[n++] = "--libslate";
            argv[n++] = o.libslate;
        }
        if (strcmp(o.mode, "kernel") == 0)
            argv[n++] = "--no-memory-manager";
        argv[n] = NULL;
        execv(o.slated, (char **)argv);
        _exit(127);
    }
    close(ready[1]);
    struct pollfd p = {.fd = ready[0], .events = POLLIN};
    char c = 0;
    if (poll(&p, 1, 30000) != 1 || read(ready[0], &c, 1) != 1) {
        char log[2048];
        read_file(o.log, log, sizeof log);
        die("slated did not become ready: %s", log);
    }
    close(ready[0]);
}

static void start_earlyoom(void) {
    const char *argv[MAX_ARGS + 2];
    int n = 0;
    argv[n++] = o.earlyoom;
    for (int i = 0; i < o.n_eo_args; i++)
        argv[n++] = o.eo_args[i];
    argv[n] = NULL;
    manager = fork();
    if (manager < 0)
        die("fork: %s", strerror(errno));
    if (manager == 0) {
        int log = open(o.log, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
        if (log >= 0) {
            dup2(log, 1);
            dup2(log, 2);
        }
        execv(o.earlyoom, (char **)argv);
        _exit(127);
    }
    /* earlyoom says what it watches first thing; it is ready once it has. */
    for (int i = 0; i < 500; i++) {
        char log[1024];
        if (read_file(o.log, log, sizeof log) > 0 && strstr(log, "mem total"))
            return;
        if (waitpid(manager, NULL, WNOHANG) == manager)
            die("earlyoom exited at start: %s", log);
        sleep_ms(10);
    }
    die("earlyoom did not start");
}

/* Plain processes: reap what died, noting when and by which signal. */
static void reap(void) {
    int status;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) {
        struct app *all[MAX_HOARDS + 1];
        for (int i = 0; i < o.hoards; i++)
            all[i] = &hoard[i];
        all[o.hoards] = &fg;
        for (int i = 0; i <= o.hoards; i++)
            if (all[i]->pid == pid && !all[i]->dead) {
                all[i]->dead = true;
                all[i]->died_us = now_us();
                all[i]->signal = WIFSIGNALED(status) ? WTERMSIG(status) : 0;
            }
    }
}

/* ---- measuring ---- */

static int open_fg_psi(void) {
    char buf[512];
    if (o.device_v1 || !with_slated) {
        /* The host's foreground app shares the device's v2 group: it gets one of its own inside it
         * (a plain process joined its own before exec). */
        char *g = fmt("%s/fg", v2_run);
        if (with_slated)
            join(g, fg.pid);
        char *p = fmt("%s/memory.pressure", g);
        int fd = open(p, O_RDONLY | O_CLOEXEC);
        free(p);
        free(g);
        return fd;
    }
    /* On v2 slated made the app a group of its own: its line "0::/path" in /proc/PID/cgroup. */
    char *p = fmt("/proc/%d/cgroup", (int)fg.pid);
    read_file(p, buf, sizeof buf);
    free(p);
    char *path = strstr(buf, "0::");
    if (!path)
        return -1;
    path[strcspn(path, "\n")] = '\0';
    p = fmt("%s%s/memory.pressure", o.v2, path + 3);
    int fd = open(p, O_RDONLY | O_CLOEXEC);
    free(p);
    return fd;
}

static bool fg_alive(void) {
    if (!with_slated) {
        reap();
        return !fg.dead;
    }
    if (kill(fg.pid, 0) < 0 && errno == ESRCH)
        return false;
    /* A zombie still answers kill(): look at its state. */
    char buf[512], *p = fmt("/proc/%d/stat", (int)fg.pid);
    ssize_t n = read_file(p, buf, sizeof buf);
    free(p);
    char *paren = n > 0 ? strrchr(buf, ')') : NULL;
    return paren && paren[1] == ' ' && paren[2] != 'Z' && paren[2] != 'X';
}

#define MAX_STALLS 64

struct measure {
    uint64_t t0_real; /* CLOCK_REALTIME at t0, for slated's log times */
    uint64_t t0, onset, done, died, stall_last;
    uint64_t stall_at[MAX_STALLS], stall_us[MAX_STALLS]; /* when the foreground app stalled, and how long */
    int n_stalls;
    uint64_t min_free;
    struct psi dev0, dev, glob0, glob, fg0, fg;
    bool have_fg0;
    uint64_t oom0, oom;
};

static void sample(struct measure *m) {
    uint64_t t = now_us(), free_b = device_free();
    struct psi dev, glob, f;
    if (free_b < m->min_free)
        m->min_free = free_b;
    if (psi_read(dev_psi_fd, &dev)) {
        if (dev.some > m->dev.some)
            m->stall_last = t;
        if (!m->onset && (dev.some > m->dev0.some || free_b < device_total / 5))
            m->onset = t;
        m->dev = dev;
    } else if (!m->onset && free_b < device_total / 5)
        m->onset = t;
    if (psi_read(glob_psi_fd, &glob))
        m->glob = glob;
    if (psi_read(fg_psi_fd, &f)) { /* gone with the app's group: the last figure stays */
        if (!m->have_fg0) {
            m->fg0 = m->fg = f;
            m->have_fg0 = true;
        } else if (f.full > m->fg.full && m->n_stalls < MAX_STALLS) {
            m->stall_at[m->n_stalls] = t;
            m->stall_us[m->n_stalls++] = f.full - m->fg.full;
        }
        m->fg = f;
    }
}

static void run_load(struct measure *m) {
    /* The background apps, one after the other, each holding its memory before the next comes. */
    for (int i = 0; i < o.hoards; i++) {
        if (with_slated)
            slated_start_app(&hoard[i]);
        else
            spawn_app(&hoard[i], o.bg_exe, "hoard", o.hoard_mib, NULL);
        wait_line(&hoard[i], "hoarding=", o.timeout_s);
    }
    if (with_slated) {
        /* As on a device used for a while: the older apps frozen and cached, the last one still in front. */
        for (uint64_t end = now_us() + (uint64_t)o.timeout_s * 1000000;;) {
            char ps[16384], line[1024], state[32], frozen[8];
            int cached = 0;
            if (slate("ps", "--json", ps, sizeof ps) == 0)
                for (int i = 0; i < o.hoards - 1; i++)
                    if (ps_line(ps, hoard[i].id, line, sizeof line) && json_field(line, "state", state, sizeof state) &&
                        json_field(line, "frozen", frozen, sizeof frozen) && strcmp(state, "cached") == 0 &&
                        strcmp(frozen, "true") == 0)
                        cached++;
            if (cached == o.hoards - 1)
                break;
            if (now_us() > end) {
                show_slated();
                die("the background apps did not become cached within %d s", o.timeout_s);
            }
            sleep_ms(50);
        }
    } else
        sleep_ms(o.freeze_ms + o.cache_ms); /* the same time in the background as under slated */

    m->min_free = UINT64_MAX;
    m->oom0 = oom_kills();
    psi_read(dev_psi_fd, &m->dev0);
    psi_read(glob_psi_fd, &m->glob0);
    m->dev = m->dev0;
    m->glob = m->glob0;
    note("the background apps hold their memory (%" PRIu64 " MiB of %" PRIu64 " MiB free); the foreground app starts",
         device_free() >> 20, device_total >> 20);

    /* The foreground app, and the device watched until it is done or dead. */
    struct timespec real;
    clock_gettime(CLOCK_REALTIME, &real);
    m->t0_real = (uint64_t)real.tv_sec * 1000000 + (uint64_t)real.tv_nsec / 1000;
    m->t0 = now_us();
    if (with_slated)
        slated_start_app(&fg);
    else {
        char *g = fmt("%s/fg", v2_run);
        spawn_app(&fg, o.fg_exe, "grow", o.grow_mib, g);
        free(g);
    }
    fg_psi_fd = open_fg_psi();
    if (fg_psi_fd < 0)
        note("no PSI for the foreground app's group: its stall is not measured");
    uint64_t end = m->t0 + (uint64_t)o.timeout_s * 1000000, settle = 0;
    for (;;) {
        sample(m);
        if (!m->done && !m->died) {
            if (saw_line(&fg, "done"))
                m->done = now_us();
            else if (!fg_alive())
                m->died = now_us();
            else if (now_us() > end) {
                note("the foreground app neither finished nor died within %d s", o.timeout_s);
                break;
            }
            if (m->done || m->died)
                settle = now_us() + 1000000; /* a second more: the kills and stalls that follow */
        } else if (now_us() >= settle)
            break;
        if (!with_slated)
            reap();
        sleep_ms(o.sample_ms);
    }
    m->oom = oom_kills();
}

/* ---- results ---- */

static double ms(uint64_t us) {
    return (double)us / 1000.0;
}

/* earlyoom's log names each process it signals: "sending SIGTERM to process 82 uid 0 ...". */
static bool earlyoom_signalled(pid_t pid) {
    FILE *f = fopen(o.log, "re");
    char line[1024];
    bool found = false;
    while (f && !found && fgets(line, sizeof line, f)) {
        const char *p = strstr(line, " to process ");
        found = strstr(line, "sending SIG") && p && atoi(p + 12) == pid;
    }
    if (f)
        fclose(f);
    return found;
}

/* The apps that died, each line saying how; *by_manager gets those the manager killed. */
static int count_kills(int *by_manager) {
    int kills = 0;
    *by_manager = 0;
    if (!with_slated) {
        reap();
        for (int i = 0; i <= o.hoards; i++) {
            struct app *a = i < o.hoards ? &hoard[i] : &fg;
            if (!a->dead || !a->signal)
                continue;
            bool eo = earlyoom_signalled(a->pid);
            printf("app %s pid=%d killed by signal %d (%s)\n", a->id, (int)a->pid, a->signal,
                   eo ? "earlyoom" : "not earlyoom");
            kills++;
            *by_manager += eo;
        }
        return kills;
    }
    char ps[16384];
    if (slate("ps", "--json", ps, sizeof ps) != 0)
        die("slate ps failed");
    for (int i = 0; i <= o.hoards; i++) {
        struct app *a = i < o.hoards ? &hoard[i] : &fg;
        char line[1024], state[32] = "?", cls[32] = "?", status[256] = "";
        if (ps_line(ps, a->id, line, sizeof line)) {
            json_field(line, "state", state, sizeof state);
            json_field(line, "class", cls, sizeof cls);
            json_field(line, "status", status, sizeof status);
        }
        printf("app %s state=%s class=%s status=\"%s\"\n", a->id, state, cls, status);
        if (strncmp(status, "killed by", 9) == 0)
            kills++;
        if (strncmp(status, "killed by slated", 16) == 0)
            (*by_manager)++;
    }
    return kills;
}

/* The manager's wake-ups over idle_s seconds. */
static uint64_t idle_switches(void) {
    if (manager <= 0 || o.idle_s <= 0)
        return 0;
    uint64_t before = switches(manager);
    sleep_ms(o.idle_s * 1000L);
    return switches(manager) - before;
}

static const char *const log_words[] = {"memory", "killing", "sending SIG", "escalating", "low memory", NULL};

static bool log_worthy(const char *line) {
    for (int i = 0; log_words[i]; i++)
        if (strstr(line, log_words[i]))
            return true;
    return false;
}

/* A `slate logs` line's time (2026-12-03T07:57:00.123Z) in µs since the epoch, *ret_rest what follows; 0 if none. */
static uint64_t log_time_us(const char *line, const char **ret_rest) {
    struct tm tm = {0};
    unsigned msec;
    int n = 0;
    if (sscanf(line, "%4d-%2d-%2dT%2d:%2d:%2d.%3uZ %n", &tm.tm_year, &tm.tm_mon, &tm.tm_mday, &tm.tm_hour, &tm.tm_min,
               &tm.tm_sec, &msec, &n) != 7 ||
        n == 0)
        return 0;
    tm.tm_year -= 1900;
    tm.tm_mon -= 1;
    *ret_rest = line + n;
    return (uint64_t)timegm(&tm) * 1000000 + msec * 1000ULL;
}

/*
 * What the manager said about memory and kills, for the record (lines starting "log "): slated's, from
 * `slate logs`, with the time since the foreground app started (t0, CLOCK_REALTIME µs); earlyoom's log as it is.
 */
static void show_log(uint64_t t0) {
    if (with_slated) {
        size_t size = 1 << 20;
        char *all = malloc(size);
        char *argv[] = {(char *)o.slate, "--root", (char *)o.root, "logs", NULL};
        if (!all)
            die("out of memory");
        run_capture(argv, all, size);
        for (char *save = NULL, *line = strtok_r(all, "\n", &save); line; line = strtok_r(NULL, "\n", &save)) {
            const char *rest;
            uint64_t t = log_time_us(line, &rest);
            if (t && log_worthy(rest))
                printf("log t_ms=%.0f %s\n", ((double)t - (double)t0) / 1000.0, rest);
        }
        free(all);
        return;
    }
    FILE *f = fopen(o.log, "re");
    char line[1024];
    while (f && fgets(line, sizeof line, f))
        if (log_worthy(line)) {
            printf("log %s", line);
            if (!strchr(line, '\n'))
                putchar('\n');
        }
    if (f)
        fclose(f);
}

static void stop_apps(void) {
    for (int i = 0; i <= o.hoards; i++) {
        struct app *a = i < o.hoards ? &hoard[i] : &fg;
        if (with_slated)
            slate("stop", a->id, NULL, 0); /* an app already gone: an error nobody needs */
        else if (!a->dead) {
            kill(a->pid, SIGKILL);
            waitpid(a->pid, NULL, 0);
            a->dead = true;
        }
    }
}

/* Everything this run started, stopped; its cgroups removed. Safe to call twice, and from a child (does nothing). */
static pid_t main_pid;
static void cleanup(void) {
    if (getpid() != main_pid)
        return;
    for (int i = 0; i <= o.hoards && !with_slated; i++) {
        struct app *a = i < o.hoards ? &hoard[i] : &fg;
        if (a->pid > 0 && !a->dead) {
            kill(a->pid, SIGKILL);
            waitpid(a->pid, NULL, 0);
            a->dead = true;
        }
    }
    if (manager > 0) {
        stop_pid(manager, with_slated ? 15000 : 2000);
        manager = -1;
    }
    if (fg_psi_fd >= 0) {
        close(fg_psi_fd);
        fg_psi_fd = -1;
    }
    remove_device();
}

static void usage(void) {
    fputs("usage: memory-run --mode slated|kernel|earlyoom --name NAME [--hoards N] [--hoard-mib N] [--grow-mib N]\n"
          "         [--device-v1 DIR --limit BYTES | --v2-device yes --limit BYTES] [--v2 CGROUP2-MOUNT]\n"
          "         [--sample-ms N] [--idle-s N] [--timeout-s N]\n"
          "         [--freeze-ms N] [--cache-ms N] --log FILE\n"
          "  slated, kernel: --slated PATH --slate PATH --root DIR [--libslate PATH]\n"
          "  earlyoom: --earlyoom PATH [--earlyoom-arg ARG]... --fg-exe PATH --bg-exe PATH\n",
          stderr);
    exit(2);
}

int main(int argc, char **argv) {
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        if (!v)
            usage();
        i++;
        if (strcmp(a, "--mode") == 0)
            o.mode = v;
        else if (strcmp(a, "--name") == 0)
            o.name = v;
        else if (strcmp(a, "--hoards") == 0)
            o.hoards = atoi(v);
        else if (strcmp(a, "--hoard-mib") == 0)
            o.hoard_mib = atol(v);
        else if (strcmp(a, "--grow-mib") == 0)
            o.grow_mib = atol(v);
        else if (strcmp(a, "--device-v1") == 0)
            o.device_v1 = v;
        else if (strcmp(a, "--v2-device") == 0)
            o.v2_device = strcmp(v, "yes") == 0;
        else if (strcmp(a, "--limit") == 0)
            o.limit = strtoull(v, NULL, 10);
        else if (strcmp(a, "--v2") == 0)
            o.v2 = v;
        else if (strcmp(a, "--slated") == 0)
            o.slated = v;
        else if (strcmp(a, "--slate") == 0)
            o.slate = v;
        else if (strcmp(a, "--root") == 0)
            o.root = v;
        else if (strcmp(a, "--libslate") == 0)
            o.libslate = v;
        else if (strcmp(a, "--log") == 0)
            o.log = v;
        else if (strcmp(a, "--earlyoom") == 0)
            o.earlyoom = v;
        else if (strcmp(a, "--earlyoom-arg") == 0 && o.n_eo_args < MAX_ARGS)
            o.eo_args[o.n_eo_args++] = v;
        else if (strcmp(a, "--fg-exe") == 0)
            o.fg_exe = v;
        else if (strcmp(a, "--bg-exe") == 0)
            o.bg_exe = v;
        else if (strcmp(a, "--sample-ms") == 0)
            o.sample_ms = atoi(v);
        else if (strcmp(a, "--idle-s") == 0)
            o.idle_s = atoi(v);
        else if (strcmp(a, "--timeout-s") == 0)
            o.timeout_s = atoi(v);
        else if (strcmp(a, "--freeze-ms") == 0)
            o.freeze_ms = atoi(v);
        else if (strcmp(a, "--cache-ms") == 0)
            o.cache_ms = atoi(v);
        else
            usage();
    }
    if (!o.mode || !o.name || !o.log || o.hoards < 1 || o.hoards > MAX_HOARDS || o.hoard_mib < 1 || o.grow_mib < 2 ||
        o.sample_ms < 1 || ((o.device_v1 || o.v2_device) && !o.limit) || (o.device_v1 && o.v2_device))
        usage();
    with_slated = strcmp(o.mode, "slated") == 0 || strcmp(o.mode, "kernel") == 0;
    if (with_slated ? !o.slated || !o.slate || !o.root : strcmp(o.mode, "earlyoom") != 0 || !o.earlyoom || !o.fg_exe || !o.bg_exe)
        usage();
    setvbuf(stdout, NULL, _IOLBF, 0);
    signal(SIGPIPE, SIG_IGN);
    main_pid = getpid();

    /* Names: the ids slated's test app reads its role from, or the plain processes' labels. */
    for (int i = 0; i < o.hoards; i++) {
        snprintf(hoard[i].id, sizeof hoard[i].id, "org.app%d.hoard", i + 1);
        hoard[i].out = -1;
    }
    snprintf(fg.id, sizeof fg.id, "org.front.grow");
    fg.out = -1;

    make_device();
    char *fg_group = fmt("%s/fg", v2_run);
    if (mkdir(fg_group, 0755) < 0)
        die("%s: %s", fg_group, strerror(errno));
    free(fg_group);
    if (with_slated) {
        for (int i = 0; i < o.hoards; i++)
            slated_prepare(&hoard[i], "hoard-mb", o.hoard_mib);
        slated_prepare(&fg, "grow-mb", o.grow_mib);
        start_slated();
    } else
        start_earlyoom();

    struct measure m = {0};
    run_load(&m);
    int manager_kills, kills = count_kills(&manager_kills);
    show_log(m.t0_real);
    for (int i = 0; i < m.n_stalls; i++) /* the foreground app's stalls, in time since it started */
        printf("stall t_ms=%.0f full_ms=%.1f\n", ms(m.stall_at[i] - m.t0), ms(m.stall_us[i]));
    bool survived = m.done && fg_alive();
    uint64_t rss_load, pss_load, rss, pss;
    memory_of(manager, &rss_load, &pss_load);
    note("idle for %d s with the apps in memory", o.idle_s);
    uint64_t idle_loaded = idle_switches();
    stop_apps();
    sleep_ms(1000);
    note("idle for %d s without them", o.idle_s);
    uint64_t idle_empty = idle_switches();
    memory_of(manager, &rss, &pss);

    uint64_t onset = m.onset ? m.onset : 0, end = m.done ? m.done : m.died;
    printf("result name=%s mode=%s device_mib=%" PRIu64 " hoards=%d hoard_mib=%ld grow_mib=%ld"
           " onset_ms=%.0f relief_ms=%.0f grow_ms=%.0f stall_end_ms=%.0f kills=%d manager_kills=%d oom_kills=%" PRIu64
           " fg=%s fg_full_ms=%.1f fg_some_ms=%.1f device_full_ms=%.1f device_some_ms=%.1f global_full_ms=%.1f"
           " min_free_mib=%" PRIu64 " idle_s=%d idle_wakeups=%" PRIu64 " idle_wakeups_empty=%" PRIu64
           " rss_kb=%" PRIu64 " pss_kb=%" PRIu64 " rss_after_load_kb=%" PRIu64 " pss_after_load_kb=%" PRIu64 "\n",
           o.name, o.mode, device_total >> 20, o.hoards, o.hoard_mib, o.grow_mib, onset ? ms(onset - m.t0) : -1.0,
           onset && end > onset ? ms(end - onset) : (onset ? 0.0 : -1.0), end ? ms(end - m.t0) : -1.0,
           onset && m.stall_last > onset ? ms(m.stall_last - onset) : 0.0, kills, manager_kills, m.oom - m.oom0,
           survived ? "survived" : (m.died ? "killed" : "stuck"), m.have_fg0 ? ms(m.fg.full - m.fg0.full) : -1.0,
           m.have_fg0 ? ms(m.fg.some - m.fg0.some) : -1.0, ms(m.dev.full - m.dev0.full), ms(m.dev.some - m.dev0.some),
           ms(m.glob.full - m.glob0.full), m.min_free == UINT64_MAX ? 0 : m.min_free >> 20, o.idle_s, idle_loaded,
           idle_empty, rss, pss, rss_load, pss_load);

    cleanup();
    return 0;
}
