/* test-cgroup.c: the cgroup backend on this machine's real cgroups: limits, OOM, freezer, kill, pids, instances. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "cgroup.h"

#define MIB (1024 * 1024ULL)
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#define WAIT_MS 5000

static char skip_reason[600]; /* why nothing here can run on this machine; "" when it can */
static int version;           /* of this machine's backend */

/* What children report through a MAP_SHARED page. */
struct shared {
    uint64_t counter; /* the spinning child's progress */
    int ready;        /* the child did its setup */
    int forks_ok, forks_eagain, forks_other;
    pid_t grandchild[4];
};

/* What a test made, undone by teardown when an assertion stops the test halfway. */
static struct {
    struct cgroups *c[3];
    struct cgroup *g[4];
    pid_t kids[8];
    size_t n_kids;
    struct shared *sh;
} fx;

#define REQUIRE_CGROUPS()                                                                                              \
    do {                                                                                                               \
        if (*skip_reason) {                                                                                            \
            print_message("skipped: %s\n", skip_reason);                                                               \
            skip();                                                                                                    \
        }                                                                                                              \
    } while (0)

static void instance_name(char *buf, size_t size, const char *tag) {
    snprintf(buf, size, "slated-test.%d.%s", (int)getpid(), tag);
}

static int group_setup(void **state) {
    (void)state;
    char name[64];
    struct err e = {0};
    struct cgroups *c = NULL;

    if (geteuid() != 0) {
        snprintf(skip_reason, sizeof skip_reason, "needs root to make cgroups (CI runs as root)");
        return 0;
    }
    instance_name(name, sizeof name, "probe");
    int r = cgroups_open(name, &c, &e);
    if (r < 0) {
        snprintf(skip_reason, sizeof skip_reason, "no usable cgroup here: %s", e.msg);
        return 0;
    }
    version = cgroups_version(c);
    print_message("%s\n", cgroups_describe(c));
    cgroups_close(c);
    return 0;
}

static int setup(void **state) {
    (void)state;
    memset(&fx, 0, sizeof fx);
    fx.sh = mmap(NULL, sizeof *fx.sh, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_ANONYMOUS, -1, 0);
    return fx.sh == MAP_FAILED ? -1 : 0;
}

static int teardown(void **state) {
    (void)state;
    for (size_t i = 0; i < fx.n_kids; i++)
        if (fx.kids[i] > 0) {
            kill(fx.kids[i], SIGKILL);
            waitpid(fx.kids[i], NULL, 0);
        }
    for (size_t i = 0; i < 4; i++)
        if (fx.g[i]) {
            cgroup_kill(fx.g[i], NULL);
            for (int t = 0; t < 200 && cgroup_populated(fx.g[i]) > 0; t++)
                usleep(10000);
            cgroup_destroy(fx.g[i], NULL);
        }
    for (size_t i = 3; i-- > 0;)
        cgroups_close(fx.c[i]);
    munmap(fx.sh, sizeof *fx.sh);
    memset(&fx, 0, sizeof fx);
    return 0;
}

static struct cgroups *open_instance(size_t slot, const char *tag) {
    char name[64];
    struct err e = {0};
    instance_name(name, sizeof name, tag);
    int r = cgroups_open(name, &fx.c[slot], &e);
    if (r < 0)
        print_message("cgroups_open %s: %s\n", name, e.msg);
    assert_int_equal(r, 0);
    return fx.c[slot];
}

static struct cgroup *create_group(size_t slot, struct cgroups *c, const char *name, const struct cgroup_limits *lim) {
    struct err e = {0};
    int r = cgroup_create(c, name, lim, &fx.g[slot], &e);
    if (r < 0)
        print_message("cgroup_create %s: %s\n", name, e.msg);
    assert_int_equal(r, 0);
    return fx.g[slot];
}

/* ---- children: forked, attached, then told to go, so that all their work happens inside the group ---- */

typedef void (*child_fn)(struct shared *sh);

struct child {
    pid_t pid;
    int go; /* write end of the pipe the child waits on */
};

static struct child spawn(child_fn fn) {
    int p[2];
    assert_int_equal(pipe2(p, O_CLOEXEC), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char c;
        close(p[1]);
        if (read(p[0], &c, 1) != 1)
            _exit(100);
        fn(fx.sh);
        _exit(0);
    }
    close(p[0]);
    fx.kids[fx.n_kids++] = pid;
    return (struct child){pid, p[1]};
}

static void attach_and_go(struct cgroup *g, struct child *ch) {
    struct err e = {0};
    int r = cgroup_attach(g, ch->pid, &e);
    if (r < 0)
        print_message("cgroup_attach: %s\n", e.msg);
    assert_int_equal(r, 0);
    assert_int_equal(write(ch->go, "g", 1), 1);
    close(ch->go);
}

/* Reap ch and return its wait status. */
static int reap(struct child *ch) {
    int status;
    assert_int_equal(waitpid(ch->pid, &status, 0), ch->pid);
    for (size_t i = 0; i < fx.n_kids; i++)
        if (fx.kids[i] == ch->pid)
            fx.kids[i] = 0;
    return status;
}

static void touch(size_t bytes) {
    char *p = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS, -1, 0);
    if (p == MAP_FAILED)
        _exit(101);
    for (size_t i = 0; i < bytes; i += 4096)
        p[i] = 1;
}

static void set_ready(struct shared *sh) {
    __atomic_store_n(&sh->ready, 1, __ATOMIC_SEQ_CST);
}

static void child_pause(struct shared *sh) {
    touch(MIB); /* charged to the group: pages a child inherited stay charged to the parent */
    set_ready(sh);
    for (;;)
        pause();
}

static void child_hog(struct shared *sh) {
    (void)sh;
    touch(128 * MIB);
}

static void child_spin(struct shared *sh) {
    for (;;)
        __atomic_add_fetch(&sh->counter, 1, __ATOMIC_RELAXED);
}

static void child_tree(struct shared *sh) {
    for (int i = 0; i < 3; i++) {
        pid_t pid = fork();
        if (pid == 0)
            for (;;)
                pause();
        sh->grandchild[i] = pid;
    }
    child_pause(sh);
}

static void child_fork_bomb(struct shared *sh) {
    for (int i = 0; i < 20; i++) {
        pid_t pid = fork();
        if (pid == 0)
            for (;;)
                pause();
        if (pid > 0)
            sh->forks_ok++;
        else if (errno == EAGAIN)
            sh->forks_eagain++;
        else
            sh->forks_other++;
    }
    set_ready(sh);
    for (;;)
        pause();
}

/* ---- waiting with a deadline ---- */

static int64_t now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void wait_ready(void) {
    int64_t end = now_ms() + WAIT_MS;
    while (!__atomic_load_n(&fx.sh->ready, __ATOMIC_SEQ_CST)) {
        assert_true(now_ms() < end);
        usleep(1000);
    }
}

static void wait_counter_above(uint64_t v) {
    int64_t end = now_ms() + WAIT_MS;
    while (__atomic_load_n(&fx.sh->counter, __ATOMIC_RELAXED) <= v) {
        assert_true(now_ms() < end);
        usleep(1000);
    }
}

static void wait_frozen(struct cgroup *g, int want) {
    int64_t end = now_ms() + WAIT_MS;
    int r;
    while ((r = cgroup_frozen(g)) != want) {
        assert_true(r >= 0);
        assert_true(now_ms() < end);
        usleep(1000);
    }
}

static void wait_empty(struct cgroup *g) {
    int64_t end = now_ms() + WAIT_MS;
    int r;
    while ((r = cgroup_populated(g)) != 0) {
        assert_int_equal(r, 1);
        assert_true(now_ms() < end);
        usleep(1000);
    }
}

/* Gone or a zombie: killed, whoever reaps it. */
static bool process_gone(pid_t pid) {
    char path[64], buf[256];
    snprintf(path, sizeof path, "/proc/%d/stat", (int)pid);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return true;
    ssize_t n = read(fd, buf, sizeof buf - 1);
    close(fd);
    if (n <= 0)
        return true;
    buf[n] = '\0';
    const char *paren = strrchr(buf, ')');
    return paren && (paren[2] == 'Z' || paren[2] == 'X');
}

/* ---- where a process sits, read independently of the module: /proc/<pid>/cgroup and mountinfo ---- */

/* The mount point of the cgroup file system carrying controller (NULL: the cgroup2 mount). */
static bool mount_point(const char *controller, char *out, size_t size) {
    FILE *f = fopen("/proc/self/mountinfo", "re");
    char line[4096];
    bool found = false;
    assert_non_null(f);
    while (!found && fgets(line, sizeof line, f)) {
        char point[PATH_MAX], type[64], opts[1024];
        const char *dash = strstr(line, " - ");
        if (!dash || sscanf(line, "%*s %*s %*s %*s %4095s", point) != 1 ||
            sscanf(dash, " - %63s %*s %1023s", type, opts) != 2)
            continue;
        if (!controller) {
            found = strcmp(type, "cgroup2") == 0;
        } else if (strcmp(type, "cgroup") == 0) {
            for (char *save = NULL, *w = strtok_r(opts, ",", &save); w && !found; w = strtok_r(NULL, ",", &save))
                found = strcmp(w, controller) == 0;
        }
        if (found)
            snprintf(out, size, "%s", point);
    }
    fclose(f);
    return found;
}

/* pid's cgroup folder for controller (NULL: v2); false when that hierarchy is not there. */
static bool folder_of(pid_t pid, const char *controller, char *out, size_t size) {
    char path[64], line[4096], mount[PATH_MAX];
    bool found = false;
    if (!mount_point(controller, mount, sizeof mount))
        return false;
    snprintf(path, sizeof path, "/proc/%d/cgroup", (int)pid);
    FILE *f = fopen(path, "re");
    assert_non_null(f);
    while (!found && fgets(line, sizeof line, f)) {
        line[strcspn(line, "\n")] = '\0';
        char *list = strchr(line, ':'), *cg = list ? strchr(list + 1, ':') : NULL;
        if (!cg)
            continue;
        *list++ = '\0';
        *cg++ = '\0';
        if (!controller) {
            found = strcmp(line, "0") == 0 && *list == '\0';
        } else {
            for (char *save = NULL, *w = strtok_r(list, ",", &save); w && !found; w = strtok_r(NULL, ",", &save))
                found = strcmp(w, controller) == 0;
        }
        if (found)
            snprintf(out, size, "%s%s", mount, strcmp(cg, "/") == 0 ? "" : cg);
    }
    fclose(f);
    return found;
}

/* The folders holding pid in the hierarchies slated uses; each must end in /<instance>/<group>. */
static size_t folders_of(pid_t pid, const char *instance_tag, const char *group, char out[][PATH_MAX]) {
    static const char *const v1[] = {"memory", "freezer", "pids"};
    char tail[256], inst[64];
    size_t n = 0;
    instance_name(inst, sizeof inst, instance_tag);
    snprintf(tail, sizeof tail, "/%s/%s", inst, group);
    for (size_t i = 0; i < (version == 2 ? 1 : 3); i++) {
        if (!folder_of(pid, version == 2 ? NULL : v1[i], out[n], PATH_MAX))
            continue;
        size_t len = strlen(out[n]);
        if (len < strlen(tail) || strcmp(out[n] + len - strlen(tail), tail) != 0)
            fail_msg("pid %d sits in %s, not under %s", (int)pid, out[n], tail);
        n++;
    }
    assert_true(n >= 1);
    return n;
}

static bool exists(const char *path) {
    struct stat st;
    return stat(path, &st) == 0;
}

/* The folder and its parent (the instance) are gone. */
static void assert_gone(char folders[][PATH_MAX], size_t n) {
    for (size_t i = 0; i < n; i++) {
        if (exists(folders[i]))
            fail_msg("%s is left behind", folders[i]);
        *strrchr(folders[i], '/') = '\0';
        if (exists(folders[i]))
            fail_msg("%s is left behind", folders[i]);
    }
}

static void read_self_cgroup(char *buf, size_t size) {
    int fd = open("/proc/self/cgroup", O_RDONLY | O_CLOEXEC);
    assert_true(fd >= 0);
    ssize_t n = read(fd, buf, size - 1);
    assert_true(n > 0);
    buf[n] = '\0';
    close(fd);
}

static void destroy_group(size_t slot) {
    struct err e = {0};
    int r = cgroup_destroy(fx.g[slot], &e);
    if (r < 0)
        print_message("cgroup_destroy: %s\n", e.msg);
    assert_int_equal(r, 0);
    fx.g[slot] = NULL;
}

static void kill_group(struct cgroup *g) {
    struct err e = {0};
    int r = cgroup_kill(g, &e);
    if (r < 0)
        print_message("cgroup_kill: %s\n", e.msg);
    assert_int_equal(r, 0);
    wait_empty(g);
}

/* ---- the tests ---- */

/* Open, a group with a process, then destroy and close: no folder stays, and slated is back where it was. */
static void test_open_close_leaves_nothing(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    char before[4096], after[4096], folders[CGROUP_PROCS_MAX][PATH_MAX];
    read_self_cgroup(before, sizeof before);

    struct cgroups *c = open_instance(0, "plain");
    assert_true(cgroups_version(c) == 1 || cgroups_version(c) == 2);
    assert_memory_equal(cgroups_describe(c), "cgroup v", 8);
    struct cgroup *g = create_group(0, c, "org.example.hello", NULL);
    assert_string_equal(cgroup_name(g), "org.example.hello");

    int fds[CGROUP_PROCS_MAX];
    int n = cgroup_procs_fds(g, fds, CGROUP_PROCS_MAX);
    if (version == 2) {
        assert_int_equal(n, 0);
        assert_true(cgroup_dir_fd(g) >= 0);
    } else {
        assert_true(n >= 1);
        assert_int_equal(cgroup_dir_fd(g), -1);
        assert_int_equal(cgroup_procs_fds(g, fds, 0), -ENOBUFS);
    }

    /* The launcher's way on v1: the child's pid goes through the fds before the child runs. */
    struct child ch = spawn(child_pause);
    char pid[24];
    snprintf(pid, sizeof pid, "%d", (int)ch.pid);
    for (int i = 0; i < n; i++) {
        assert_int_equal(write(fds[i], pid, strlen(pid)), (ssize_t)strlen(pid));
        close(fds[i]);
    }
    attach_and_go(g, &ch); /* again: moving into the group it is in is fine */
    wait_ready();
    size_t nf = folders_of(ch.pid, "plain", "org.example.hello", folders);
    assert_int_equal(cgroup_populated(g), 1);

    kill_group(g);
    assert_true(WIFSIGNALED(reap(&ch)));
    destroy_group(0);
    fx.c[0] = cgroups_close(fx.c[0]);
    assert_gone(folders, nf);
    read_self_cgroup(after, sizeof after);
    assert_string_equal(before, after);
}

/* struct clone_args up to CLONE_ARGS_SIZE_VER2, as the launcher spells it. */
struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* v2: the launcher's way in: clone3() starts the child inside, through the group's O_PATH folder fd. */
static void test_clone_into_cgroup(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    if (version != 2) {
        print_message("skipped: v1 has no CLONE_INTO_CGROUP (the launcher uses cgroup_procs_fds there)\n");
        skip();
    }
    char folders[CGROUP_PROCS_MAX][PATH_MAX];
    struct cgroups *c = open_instance(0, "clone3");
    struct cgroup *g = create_group(0, c, "org.example.clone", NULL);
    struct clone_args_v2 args = {
        .flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD, .cgroup = (uint64_t)cgroup_dir_fd(g)};
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        child_pause(fx.sh);
    assert_true(pid > 0);
    fx.kids[fx.n_kids++] = (pid_t)pid;
    wait_ready();
    folders_of((pid_t)pid, "clone3", "org.example.clone", folders);
    kill_group(g);
    struct child ch = {(pid_t)pid, -1};
    assert_int_equal(WTERMSIG(reap(&ch)), SIGKILL);
    destroy_group(0);
}

static void test_bad_names(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *bad = NULL;
    assert_int_equal(cgroups_open("../up", &bad, NULL), -EINVAL);
    assert_int_equal(cgroups_open("", &bad, NULL), -EINVAL);
    struct cgroups *c = open_instance(0, "names");
    struct cgroup *g = NULL;
    struct err e = {0};
    assert_int_equal(cgroup_create(c, "../org.example", NULL, &g, &e), -EINVAL);
    assert_int_equal(cgroup_create(c, "org/example", NULL, &g, NULL), -EINVAL);
    assert_int_equal(cgroup_create(c, "daemon", NULL, &g, NULL), -EINVAL);
    /* A kernel file's name is refused, not taken for a leftover group. */
    assert_int_equal(cgroup_create(c, "cgroup.procs", NULL, &g, &e), -EEXIST);
    print_message("refused: %s\n", e.msg);
    assert_null(g);
}

/* 32 MiB cap, 128 MiB touched: the OOM killer kills the child inside the group, and the group counts it. */
static void test_memory_max_oom_kills(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *c = open_instance(0, "oom");
    struct cgroup_limits lim = {.memory_max = 32 * MIB, .no_swap = true};
    struct cgroup *g = create_group(0, c, "org.example.hog", &lim);

    struct child ch = spawn(child_hog);
    attach_and_go(g, &ch);
    int status = reap(&ch);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);

    uint64_t kills = 0;
    int r = cgroup_oom_kills(g, &kills);
    if (r == -EOPNOTSUPP) {
        print_message("this kernel does not count OOM kills per cgroup\n");
    } else {
        assert_int_equal(r, 0);
        assert_true(kills >= 1);
    }
    /* It reached its own cap: the kill was its budget's, not the device's. */
    uint64_t hits = 0;
    assert_int_equal(cgroup_limit_hits(g, &hits), 0);
    assert_true(hits >= 1);
    destroy_group(0);
}

/* Limits can change on a live group, and lifting them works too. */
static void test_set_limits(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *c = open_instance(0, "limits");
    struct cgroup_limits lim = {.memory_max = 64 * MIB, .memory_high = 48 * MIB, .pids_max = 16, .no_swap = true};
    struct cgroup *g = create_group(0, c, "org.example.limits", &lim);
    struct err e = {0};
    lim = (struct cgroup_limits){.memory_max = 16 * MIB, .memory_high = 8 * MIB};
    assert_int_equal(cgroup_set_limits(g, &lim, &e), 0);
    lim = (struct cgroup_limits){.memory_max = 256 * MIB, .no_swap = true};
    assert_int_equal(cgroup_set_limits(g, &lim, &e), 0);
    assert_int_equal(cgroup_set_limits(g, NULL, &e), 0);
    destroy_group(0);
}

/* A spinning child stops while frozen (FREEZING first on v1) and goes on once thawed. */
static void test_freeze_thaw(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *c = open_instance(0, "freeze");
    struct cgroup *g = create_group(0, c, "org.example.spin", NULL);
    if (cgroup_frozen(g) == -EOPNOTSUPP) {
        print_message("skipped: no freezer here\n");
        skip();
    }
    struct child ch = spawn(child_spin);
    attach_and_go(g, &ch);
    wait_counter_above(0);
    assert_int_equal(cgroup_frozen(g), 0);

    struct err e = {0};
    assert_int_equal(cgroup_freeze(g, true, &e), 0);
    wait_frozen(g, 1);
    uint64_t frozen_at = __atomic_load_n(&fx.sh->counter, __ATOMIC_RELAXED);
    usleep(200000);
    assert_true(__atomic_load_n(&fx.sh->counter, __ATOMIC_RELAXED) == frozen_at);

    assert_int_equal(cgroup_freeze(g, false, &e), 0);
    wait_frozen(g, 0);
    wait_counter_above(frozen_at);

    kill_group(g);
    assert_int_equal(WTERMSIG(reap(&ch)), SIGKILL);
    destroy_group(0);
}

/* A child and its three grandchildren, frozen: destroy refuses, kill takes them all, then destroy works. */
static void test_kill_tree(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *c = open_instance(0, "kill");
    struct cgroup *g = create_group(0, c, "org.example.tree", NULL);
    struct child ch = spawn(child_tree);
    attach_and_go(g, &ch);
    wait_ready();

    uint64_t current = 0;
    assert_int_equal(cgroup_memory_current(g, &current), 0);
    assert_true(current >= MIB);
    assert_int_equal(cgroup_populated(g), 1);
    struct err e = {0};
    assert_int_equal(cgroup_destroy(g, &e), -EBUSY);
    print_message("refused: %s\n", e.msg);
    assert_int_equal(cgroup_populated(g), 1); /* kept, and still usable */

    /* Frozen processes die only once thawed on v1: the kill has to see to that. */
    if (cgroup_freeze(g, true, NULL) == 0)
        wait_frozen(g, 1);
    kill_group(g);
    int status = reap(&ch);
    assert_true(WIFSIGNALED(status));
    assert_int_equal(WTERMSIG(status), SIGKILL);
    for (int i = 0; i < 3; i++) {
        assert_true(fx.sh->grandchild[i] > 0);
        assert_true(process_gone(fx.sh->grandchild[i]));
    }
    destroy_group(0);
}

/* pids_max 8: a child's ninth process cannot be forked. */
static void test_pids_max(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *c = open_instance(0, "pids");
    struct cgroup_limits lim = {.pids_max = 8};
    struct cgroup *g = NULL;
    struct err e = {0};
    int r = cgroup_create(c, "org.example.bomb", &lim, &fx.g[0], &e);
    if (r == -EOPNOTSUPP) {
        print_message("skipped: %s\n", e.msg);
        skip();
    }
    assert_int_equal(r, 0);
    g = fx.g[0];
    struct child ch = spawn(child_fork_bomb);
    attach_and_go(g, &ch);
    wait_ready();
    /* The child itself is the first of the 8. */
    assert_true(fx.sh->forks_ok >= 1 && fx.sh->forks_ok <= 7);
    assert_int_equal(fx.sh->forks_eagain, 20 - fx.sh->forks_ok);
    assert_int_equal(fx.sh->forks_other, 0);
    kill_group(g);
    reap(&ch);
    destroy_group(0);
}

/* Two instances side by side, each with a group of the same name: separate folders, separate fates. */
static void test_two_instances(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    char fa[CGROUP_PROCS_MAX][PATH_MAX], fb[CGROUP_PROCS_MAX][PATH_MAX], before[4096], after[4096];
    read_self_cgroup(before, sizeof before);
    struct cgroups *a = open_instance(0, "a");
    struct cgroups *b = open_instance(1, "b");
    struct cgroup *ga = create_group(0, a, "org.example.hello", NULL);
    struct cgroup *gb = create_group(1, b, "org.example.hello", NULL);

    struct child ca = spawn(child_pause);
    attach_and_go(ga, &ca);
    wait_ready();
    fx.sh->ready = 0;
    struct child cb = spawn(child_pause);
    attach_and_go(gb, &cb);
    wait_ready();
    size_t na = folders_of(ca.pid, "a", "org.example.hello", fa);
    size_t nb = folders_of(cb.pid, "b", "org.example.hello", fb);
    assert_int_equal(na, nb);

    kill_group(ga);
    reap(&ca);
    assert_int_equal(cgroup_populated(gb), 1);
    assert_false(process_gone(cb.pid));

    /* Closed in the order opened, not the reverse: each still cleans up after itself. */
    destroy_group(0);
    fx.c[0] = cgroups_close(fx.c[0]);
    assert_gone(fa, na);
    kill_group(gb);
    reap(&cb);
    destroy_group(1);
    fx.c[1] = cgroups_close(fx.c[1]);
    assert_gone(fb, nb);
    read_self_cgroup(after, sizeof after);
    assert_string_equal(before, after);
}

/* A slated that dies leaves its groups: one of the same instance name empties and reuses them. */
static void test_leftover_group_reused(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    char inst[64], folders[CGROUP_PROCS_MAX][PATH_MAX], before[4096], after[4096];
    read_self_cgroup(before, sizeof before);
    /* On v2 slated leaves its own cgroup for a leaf; the one that dies must be the only process to leave it. */
    open_instance(0, "holder");
    instance_name(inst, sizeof inst, "crashed");

    pid_t crasher = fork();
    assert_true(crasher >= 0);
    if (crasher == 0) {
        struct cgroups *c = NULL;
        struct cgroup *g = NULL;
        if (cgroups_open(inst, &c, NULL) < 0 || cgroup_create(c, "org.example.orphan", NULL, &g, NULL) < 0)
            _exit(1);
        pid_t orphan = fork();
        if (orphan == 0)
            for (;;)
                pause();
        if (orphan < 0 || cgroup_attach(g, orphan, NULL) < 0)
            _exit(2);
        fx.sh->grandchild[0] = orphan;
        _exit(0); /* no destroy, no close: a crash */
    }
    int status;
    assert_int_equal(waitpid(crasher, &status, 0), crasher);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    pid_t orphan = fx.sh->grandchild[0];
    assert_true(orphan > 0);
    assert_false(process_gone(orphan));

    struct cgroups *c = open_instance(1, "crashed");
    struct cgroup *g = create_group(0, c, "org.example.orphan", NULL);
    assert_int_equal(cgroup_populated(g), 0);
    int64_t end = now_ms() + WAIT_MS;
    while (!process_gone(orphan))
        assert_true(now_ms() < end);

    struct child ch = spawn(child_pause);
    attach_and_go(g, &ch);
    wait_ready();
    size_t n = folders_of(ch.pid, "crashed", "org.example.orphan", folders);
    kill_group(g);
    reap(&ch);
    destroy_group(0);
    fx.c[1] = cgroups_close(fx.c[1]);
    assert_gone(folders, n);
    fx.c[0] = cgroups_close(fx.c[0]);
    read_self_cgroup(after, sizeof after);
    assert_string_equal(before, after);
}

/* A group made ahead of time becomes an app's by a rename (v1), its process, limits and charges with it. */
static void test_rename(void **state) {
    (void)state;
    REQUIRE_CGROUPS();
    struct cgroups *c = open_instance(0, "rename");
    struct cgroup *g = create_group(0, c, "Spare.isolated", NULL);
    struct child ch = spawn(child_tree);
    attach_and_go(g, &ch);
    wait_ready();
    struct err e = {0};
    int r = cgroup_rename(g, "org.example.renamed", &e);
    if (cgroups_version(c) == 2) {
        /* v2 cannot rename a cgroup: slated moves the spare's process instead. */
        assert_true(r < 0);
        assert_string_equal(cgroup_name(g), "Spare.isolated");
    } else {
        if (r < 0)
            print_message("cgroup_rename: %s\n", e.msg);
        assert_int_equal(r, 0);
        assert_string_equal(cgroup_name(g), "org.example.renamed");
        assert_int_equal(cgroup_populated(g), 1);
        uint64_t current = 0;
        assert_int_equal(cgroup_memory_current(g, &current), 0);
        assert_true(current >= MIB); /* the charges came along */
        struct cgroup_limits lim = {.memory_max = 256 * MIB, .pids_max = 64};
        assert_int_equal(cgroup_set_limits(g, &lim, &e), 0);
        /* A name an existing group has is refused, and the group keeps its own. */
        struct cgroup *other = create_group(1, c, "org.example.other", NULL);
        assert_true(cgroup_rename(g, cgroup_name(other), &e) < 0);
        assert_string_equal(cgroup_name(g), "org.example.renamed");
        destroy_group(1);
    }
    assert_true(cgroup_rename(g, "no-dot", &e) == -EINVAL);
    kill_group(g);
    reap(&ch);
    destroy_group(0);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_setup_teardown(test_open_close_leaves_nothing, setup, teardown),
        cmocka_unit_test_setup_teardown(test_clone_into_cgroup, setup, teardown),
        cmocka_unit_test_setup_teardown(test_bad_names, setup, teardown),
        cmocka_unit_test_setup_teardown(test_memory_max_oom_kills, setup, teardown),
        cmocka_unit_test_setup_teardown(test_set_limits, setup, teardown),
        cmocka_unit_test_setup_teardown(test_freeze_thaw, setup, teardown),
        cmocka_unit_test_setup_teardown(test_kill_tree, setup, teardown),
        cmocka_unit_test_setup_teardown(test_rename, setup, teardown),
        cmocka_unit_test_setup_teardown(test_pids_max, setup, teardown),
        cmocka_unit_test_setup_teardown(test_two_instances, setup, teardown),
        cmocka_unit_test_setup_teardown(test_leftover_group_reused, setup, teardown),
    };
    return cmocka_run_group_tests(tests, group_setup, NULL);
}
