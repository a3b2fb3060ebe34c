/* sandbox.c: the app launcher: one clone3() into fresh namespaces, a root of binds, seccomp, execve. */
#include "sandbox.h"

#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#ifndef CLONE_PIDFD
#define CLONE_PIDFD 0x00001000
#endif
#ifndef CLONE_INTO_CGROUP
#define CLONE_INTO_CGROUP 0x200000000ULL
#endif
#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/* struct clone_args up to CLONE_ARGS_SIZE_VER2, spelled out so that <linux/sched.h> and <sched.h> need not meet. */
struct clone_args_v2 {
    uint64_t flags, pidfd, child_tid, parent_tid, exit_signal, stack, stack_size, tls, set_tid, set_tid_size, cgroup;
};

/* What a child that failed before execve() tells the parent, in one write below PIPE_BUF. */
struct report {
    int err;
    char what[500];
};

/* ---- the seccomp filter, compiled once in the parent: the child only hands it to the kernel ---- */

/* What a C program on libc and libslate uses; anything else gets EPERM. */
/* clang-format off */
static const char *const allowed_calls[] = {
    "read", "write", "readv", "writev", "pread64", "pwrite64", "preadv", "pwritev", "preadv2", "pwritev2",
    "open", "openat", "close", "close_range", "lseek", "_llseek", "stat", "fstat", "lstat", "newfstatat",
    "fstatat64", "statx", "statfs", "fstatfs", "access", "faccessat", "faccessat2", "readlink", "readlinkat",
    "getdents64", "getcwd", "chdir", "fchdir", "mkdir", "mkdirat", "rmdir", "unlink", "unlinkat", "rename",
    "renameat", "renameat2", "link", "linkat", "symlink", "symlinkat", "chmod", "fchmod", "fchmodat", "truncate",
    "ftruncate", "fsync", "fdatasync", "fallocate", "flock", "fcntl", "ioctl", "dup", "dup2", "dup3", "pipe",
    "pipe2", "umask", "utimensat", "sendfile", "copy_file_range", "splice", "inotify_init1",
    "inotify_add_watch", "inotify_rm_watch",
    "mmap", "mprotect", "munmap", "mremap", "madvise", "brk", "msync", "mincore", "membarrier", "memfd_create",
    "exit", "exit_group", "futex", "futex_waitv", "set_robust_list", "get_robust_list", "rseq", "set_tid_address",
    "arch_prctl", "prctl", "restart_syscall",
    "clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep", "gettimeofday", "time",
    "getpid", "getppid", "gettid", "getuid", "geteuid", "getgid", "getegid", "getgroups", "getresuid",
    "getresgid", "getpgid", "getpgrp", "getsid", "setsid", "setpgid", "getrlimit", "prlimit64", "getrusage",
    "sysinfo", "uname", "sched_yield", "sched_getaffinity", "getpriority", "getrandom", "capget",
    "rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "rt_sigsuspend", "rt_sigtimedwait", "rt_sigpending",
    "sigaltstack", "kill", "tgkill", "tkill",
    "fork", "vfork", "execve", "execveat", "wait4", "waitid",
    "poll", "ppoll", "select", "pselect6", "epoll_create", "epoll_create1", "epoll_ctl", "epoll_wait",
    "epoll_pwait", "epoll_pwait2", "eventfd", "eventfd2", "timerfd_create", "timerfd_settime", "timerfd_gettime",
    "signalfd", "signalfd4",
    "socket", "socketpair", "connect", "bind", "listen", "accept", "accept4", "sendto", "recvfrom", "sendmsg",
    "recvmsg", "sendmmsg", "recvmmsg", "shutdown", "getsockname", "getpeername", "setsockopt", "getsockopt",
};

/* Calls no app has a reason to make: the process dies on the spot. */
static const char *const hostile_calls[] = {
    "ptrace", "process_vm_readv", "process_vm_writev", "mount", "umount2", "pivot_root", "chroot", "open_tree",
    "move_mount", "fsopen", "fsconfig", "fsmount", "fspick", "mount_setattr", "unshare", "setns", "bpf",
    "kexec_load", "kexec_file_load", "init_module", "finit_module", "delete_module", "keyctl", "add_key",
    "request_key", "perf_event_open", "userfaultfd", "swapon", "swapoff", "reboot",
};
/* clang-format on */

#define NS_FLAGS                                                                                                       \
    (CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_NEWNET | CLONE_NEWCGROUP)

static struct sock_fprog filter;
static int filter_status;
static pthread_once_t filter_once = PTHREAD_ONCE_INIT;

static int add_rules(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int nr = seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a call on this architecture */
        int r = seccomp_rule_add(ctx, action, nr, 0);
        if (r < 0)
            return r;
    }
    return 0;
}

/* The filter as raw BPF written to fd (seccomp_export_bpf's format, what bwrap --seccomp reads). */
static int export_filter(int fd) {
    scmp_filter_ctx ctx = seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx)
        return -ENOMEM;
    /* A binary tree rather than a list: the kernel runs the filter for every syscall number when it
     * attaches it (its per-arch cache), so a short path per call makes each launch faster. */
    seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    int r = add_rules(ctx, SCMP_ACT_ALLOW, allowed_calls, sizeof allowed_calls / sizeof *allowed_calls);
    if (r >= 0)
        r = add_rules(ctx, SCMP_ACT_KILL_PROCESS, hostile_calls, sizeof hostile_calls / sizeof *hostile_calls);
    /* Threads and fork, never new namespaces. glibc falls back from clone3 to clone on ENOSYS, and clone's
     * flags, unlike clone3's, are an argument the filter can see. */
    if (r >= 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0));
    if (r >= 0)
        r = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (r >= 0)
        r = seccomp_export_bpf(ctx, fd);
    seccomp_release(ctx);
    return r < 0 ? r : 0;
}

int sandbox_export_filter(int fd, struct err *e) {
    int r = export_filter(fd);
    return r < 0 ? err_set(e, r, "seccomp filter: %s", strerror(-r)) : 0;
}

static int compile_filter(void) {
    int fd = memfd_create("seccomp", MFD_CLOEXEC);
    int r = fd < 0 ? -errno : export_filter(fd);
    if (r >= 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        filter.filter = size > 0 ? malloc((size_t)size) : NULL;
        if (!filter.filter)
            r = size < 0 ? -errno : -ENOMEM;
        else if (pread(fd, filter.filter, (size_t)size, 0) != size)
            r = -EIO;
        else
            filter.len = (unsigned short)((size_t)size / sizeof(struct sock_filter));
    }
    if (fd >= 0)
        close(fd);
    return r < 0 ? r : 0;
}

static void compile_filter_once(void) {
    filter_status = compile_filter();
}

/* ---- the child: between clone3() and execve() it makes system calls only, on prepared data ---- */

struct child_bind {
    const char *source, *target; /* target relative to the new root */
    unsigned attrs;              /* MOUNT_ATTR_* */
    int fd;
};

struct child_plan {
    const struct sandbox_spec *spec;
    struct child_bind *binds;
    size_t n_binds;
    char tmp_opts[64];
    int sync_fd, report_fd;
};

static size_t append(char *buf, size_t at, size_t size, const char *s) {
    while (*s && at + 1 < size)
        buf[at++] = *s++;
    buf[at] = '\0';
    return at;
}

__attribute__((noreturn)) static void child_fail(const struct child_plan *p, int err, const char *step,
                                                 const char *path) {
    struct report rep = {.err = err};
    size_t at = append(rep.what, 0, sizeof rep.what, step);
    if (path) {
        at = append(rep.what, at, sizeof rep.what, " ");
        append(rep.what, at, sizeof rep.what, path);
    }
    ssize_t n = write(p->report_fd, &rep, sizeof rep);
    (void)n;
    _exit(127);
}

/* mkdir -p for the folders above target (relative), then the mount point itself. */
static int make_mount_point(const char *target, bool dir) {
    char path[PATH_MAX];
    size_t len = strlen(target);
    if (len >= sizeof path)
        return -ENAMETOOLONG;
    memcpy(path, target, len + 1);
    for (char *slash = strchr(path, '/'); slash; slash = strchr(slash + 1, '/')) {
        *slash = '\0';
        if (mkdir(path, 0755) < 0 && errno != EEXIST)
            return -errno;
        *slash = '/';
    }
    if (dir)
        return mkdir(path, 0755) < 0 && errno != EEXIST ? -errno : 0;
    int fd = open(path, O_WRONLY | O_CREAT | O_CLOEXEC | O_NOFOLLOW, 0644);
    if (fd < 0)
        return -errno;
    close(fd);
    return 0;
}

static void child_stdio(const struct child_plan *p) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        child_fail(p, errno, "open", "/dev/null");
    /* Copies above 2 first, so that stdout_fd == 2 or stderr_fd == 1 survive the dup2s. */
    int out = fcntl(p->spec->stdout_fd >= 0 ? p->spec->stdout_fd : null, F_DUPFD_CLOEXEC, 3);
    int errfd = fcntl(p->spec->stderr_fd >= 0 ? p->spec->stderr_fd : null, F_DUPFD_CLOEXEC, 3);
    int chan = p->spec->channel_fd >= 0 ? fcntl(p->spec->channel_fd, F_DUPFD_CLOEXEC, 3) : -1;
    if (out < 0 || errfd < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
        child_fail(p, errno, "stdio", NULL);
    /* dup2 clears close-on-exec on the copy: the channel is the one fd above 2 the app inherits. */
    if (p->spec->channel_fd >= 0 && (chan < 0 || dup2(chan, SANDBOX_CHANNEL_FD) < 0))
        child_fail(p, errno, "channel", NULL);
}

static void child_drop_privileges(const struct child_plan *p) {
    /* uid 0 keeps no capability across execve once the bounding and inheritable sets are empty. */
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0 && errno == EINVAL)
            break;
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    if (syscall(SYS_capset, &hdr, data) < 0)
        child_fail(p, errno, "capset", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(p, errno, "no_new_privs", NULL);
}

static void child_build_root(struct child_plan *p) {
    const struct sandbox_spec *spec = p->spec;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(p, errno, "mount", "/ private");
    /* Take every source before the new root can hide any of them. */
    for (size_t i = 0; i < p->n_binds; i++) {
        struct child_bind *b = &p->binds[i];
        b->fd = (int)open_tree(AT_FDCWD, b->source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
        if (b->fd < 0)
            child_fail(p, errno, "bind", b->source);
        struct mount_attr attr = {.attr_set = b->attrs};
        if (mount_setattr(b->fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0)
            child_fail(p, errno, "bind", b->source);
    }
    /* /tmp exists everywhere; the new root is mounted there only until pivot_root. */
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=256k") < 0)
        child_fail(p, errno, "mount", "/ (tmpfs)");
    if (chdir("/tmp") < 0)
        child_fail(p, errno, "chdir", "/");
    if (mkdir("dev", 0755) < 0 || mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
        child_fail(p, errno, "mount", "/dev");
    for (size_t i = 0; i < p->n_binds; i++) {
        struct child_bind *b = &p->binds[i];
        struct stat st;
        if (fstat(b->fd, &st) < 0)
            child_fail(p, errno, "bind", b->source);
        int r = make_mount_point(b->target, S_ISDIR(st.st_mode));
        if (r < 0)
            child_fail(p, -r, "mount point", b->target - 1);
        if (move_mount(b->fd, "", AT_FDCWD, b->target, MOVE_MOUNT_F_EMPTY_PATH) < 0)
            child_fail(p, errno, "mount", b->target - 1);
        close(b->fd);
    }
    if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("/proc/self/fd/0", "dev/stdin") < 0 ||
        symlink("/proc/self/fd/1", "dev/stdout") < 0 || symlink("/proc/self/fd/2", "dev/stderr") < 0)
        child_fail(p, errno, "symlink", "/dev/fd");
    if (mount(NULL, "dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
        child_fail(p, errno, "remount", "/dev");
    if (mkdir("proc", 0555) < 0 || mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        child_fail(p, errno, "mount", "/proc");
    if (mkdir("tmp", 01777) < 0 || mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, p->tmp_opts) < 0)
        child_fail(p, errno, "mount", "/tmp");

    if (syscall(SYS_pivot_root, ".", ".") < 0)
        child_fail(p, errno, "pivot_root", NULL);
    if (umount2(".", MNT_DETACH) < 0)
        child_fail(p, errno, "umount", "old root");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        child_fail(p, errno, "remount", "/");
    if (chdir(SANDBOX_DATA_DIR) < 0)
        child_fail(p, errno, "chdir", SANDBOX_DATA_DIR);
    (void)spec;
}

__attribute__((noreturn)) static void child_run(struct child_plan *p) {
    const struct sandbox_spec *spec = p->spec;
    char go;

    /* The caller's handlers must not run here, and the app starts with default signals and no mask. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    /* Root inside means nothing until the parent has written uid_map and gid_map. */
    if (read(p->sync_fd, &go, 1) != 1)
        _exit(127);
    /* Become the mapped root: the credentials are still the caller's host ids until set again. */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0)
        child_fail(p, errno, "setresuid", NULL);

    child_build_root(p);
    const char *hostname = spec->hostname ? spec->hostname : "slate";
    if (sethostname(hostname, strlen(hostname)) < 0)
        child_fail(p, errno, "hostname", hostname);
    child_stdio(p);
    for (size_t i = 0; i < spec->n_rlimits; i++) {
        struct rlimit rl = {spec->rlimits[i].cur, spec->rlimits[i].max};
        if (setrlimit(spec->rlimits[i].resource, &rl) < 0)
            child_fail(p, errno, "setrlimit", NULL);
    }
    /* Every other descriptor closes at execve; the report pipe with them, which tells the parent exec worked. */
    if (syscall(SYS_close_range, spec->channel_fd >= 0 ? SANDBOX_CHANNEL_FD + 1U : 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        child_fail(p, errno, "close_range", NULL);
    child_drop_privileges(p);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) < 0)
        child_fail(p, errno, "seccomp", NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(spec->exec, spec->argv, spec->envp);
    child_fail(p, errno, "exec", spec->exec);
}

/* ---- the parent ---- */

static int write_file(pid_t pid, const char *name, const char *text, struct err *e) {
    char path[64];
    snprintf(path, sizeof path, "/proc/%d/%s", (int)pid, name);
    int fd = open(path, O_WRONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %s", path, strerror(errno));
    ssize_t n = write(fd, text, strlen(text));
    int r = n < 0 ? -errno : (size_t)n == strlen(text) ? 0 : -EIO;
    close(fd);
    return r < 0 ? err_set(e, r, "%s: %s", path, strerror(-r)) : 0;
}

static int map_ids(pid_t pid, uid_t host_uid, struct err *e) {
    char line[64];
    int r = write_file(pid, "setgroups", "deny", e);
    if (r < 0)
        return r;
    snprintf(line, sizeof line, "0 %u 1\n", host_uid ? (unsigned)host_uid : (unsigned)getuid());
    if ((r = write_file(pid, "uid_map", line, e)) < 0)
        return r;
    snprintf(line, sizeof line, "0 %u 1\n", host_uid ? (unsigned)host_uid : (unsigned)getgid());
    return write_file(pid, "gid_map", line, e);
}

static void kill_and_reap(int pidfd) {
    siginfo_t si;
    syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    while (waitid((idtype_t)P_PIDFD, (id_t)pidfd, &si, WEXITED) < 0 && errno == EINTR)
        ;
    close(pidfd);
}

/* An absolute path other than "/", without a ".." component. */
static bool safe_target(const char *t) {
    size_t len = t ? strlen(t) : 0;
    return len >= 2 && len < PATH_MAX && t[0] == '/' && !strstr(t, "/../") &&
           (len < 3 || strcmp(t + len - 3, "/..") != 0);
}

/* cgroup v1 has no CLONE_INTO_CGROUP: the child is moved in while it waits for the go-ahead. */
static int join_cgroups(const struct sandbox_spec *spec, pid_t pid, struct err *e) {
    char text[16];
    int n = snprintf(text, sizeof text, "%d", (int)pid);
    for (size_t i = 0; i < spec->n_cgroup_procs; i++) {
        errno = 0;
        if (pwrite(spec->cgroup_procs[i], text, (size_t)n, 0) != n) {
            int r = errno ? -errno : -EIO;
            return err_set(e, r, "sandbox: cannot move the app into its cgroup: %s", strerror(-r));
        }
    }
    return 0;
}

static int check_spec(const struct sandbox_spec *spec, struct err *e) {
    if (!spec->app_dir || !spec->data_dir || !spec->argv || !spec->argv[0] || !spec->envp)
        return err_set(e, -EINVAL, "sandbox: app folder, data folder, argv and envp are needed");
    if (!spec->exec || strncmp(spec->exec, SANDBOX_APP_DIR "/", strlen(SANDBOX_APP_DIR "/")) != 0)
        return err_set(e, -EINVAL, "exec %s: not a path under " SANDBOX_APP_DIR, spec->exec ? spec->exec : "(none)");
    for (size_t i = 0; i < spec->n_libs; i++)
        if (!spec->libs[i].source || !safe_target(spec->libs[i].target))
            return err_set(e, -EINVAL, "bind %s: the target must be an absolute path without ..",
                           spec->libs[i].target ? spec->libs[i].target : "(none)");
    return 0;
}

int sandbox_spawn(const struct sandbox_spec *spec, struct sandbox_child *ret, struct err *e) {
    int r = check_spec(spec, e);
    if (r < 0)
        return r;
    pthread_once(&filter_once, compile_filter_once);
    if (filter_status < 0)
        return err_set(e, filter_status, "seccomp filter: %s", strerror(-filter_status));

    /* Targets are kept with their leading '/': the child mounts at target + 1, relative to the new root. */
    size_t n_binds = spec->n_libs + 5;
    struct child_bind *binds = calloc(n_binds, sizeof *binds);
    if (!binds)
        return err_set(e, -ENOMEM, "sandbox: out of memory");
    const unsigned ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    size_t n = 0;
    binds[n++] = (struct child_bind){spec->app_dir, &SANDBOX_APP_DIR[1], ro, -1};
    binds[n++] = (struct child_bind){spec->data_dir, &SANDBOX_DATA_DIR[1], MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, -1};
    for (size_t i = 0; i < spec->n_libs; i++)
        binds[n++] = (struct child_bind){spec->libs[i].source, spec->libs[i].target + 1, ro, -1};
    static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
    for (size_t i = 0; i < 3; i++)
        binds[n++] = (struct child_bind){devs[i], devs[i] + 1, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, -1};

    struct child_plan plan = {.spec = spec, .binds = binds, .n_binds = n};
    snprintf(plan.tmp_opts, sizeof plan.tmp_opts, "mode=1777,size=%uk",
             spec->tmp_size_kib ? spec->tmp_size_kib : 16384);

    int sync_pipe[2] = {-1, -1}, report_pipe[2] = {-1, -1};
    if (pipe2(sync_pipe, O_CLOEXEC) < 0 || pipe2(report_pipe, O_CLOEXEC) < 0) {
        r = err_set(e, -errno, "sandbox: pipe: %s", strerror(errno));
        goto out;
    }
    plan.sync_fd = sync_pipe[0];
    plan.report_fd = report_pipe[1];

    int pidfd = -1;
    struct clone_args_v2 args = {
        .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = SIGCHLD,
    };
    if (!spec->network)
        args.flags |= CLONE_NEWNET;
    if (spec->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)spec->cgroup_fd;
    }
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid < 0) {
        r = err_set(e, -errno, "clone3 (new user, mount, pid, ipc, uts%s namespaces%s): %s",
                    spec->network ? "" : ", net", spec->cgroup_fd >= 0 ? ", into the cgroup" : "", strerror(errno));
        goto out;
    }
    if (pid == 0) {
        close(sync_pipe[1]);
        close(report_pipe[0]);
        child_run(&plan);
    }

    close(sync_pipe[0]);
    close(report_pipe[1]);
    sync_pipe[0] = report_pipe[1] = -1;
    r = map_ids((pid_t)pid, spec->host_uid, e);
    if (r == 0)
        r = join_cgroups(spec, (pid_t)pid, e);
    if (r < 0) {
        kill_and_reap(pidfd);
        goto out;
    }
    if (write(sync_pipe[1], "g", 1) != 1) {
        r = err_set(e, -errno, "sandbox: cannot wake the child: %s", strerror(errno));
        kill_and_reap(pidfd);
        goto out;
    }

    /* End of file: the pipe closed at execve. A report: the step that failed. */
    struct report rep;
    ssize_t got;
    while ((got = read(report_pipe[0], &rep, sizeof rep)) < 0 && errno == EINTR)
        ;
    if (got != 0) {
        int err = got == (ssize_t)sizeof rep ? rep.err : EIO;
        rep.what[sizeof rep.what - 1] = '\0';
        r = err_set(e, -err, "%s: %s", got == (ssize_t)sizeof rep ? rep.what : "sandbox", strerror(err));
        kill_and_reap(pidfd);
        goto out;
    }
    *ret = (struct sandbox_child){.pid = (pid_t)pid, .pidfd = pidfd};
    r = 0;
out:
    for (int i = 0; i < 2; i++) {
        if (sync_pipe[i] >= 0)
            close(sync_pipe[i]);
        if (report_pipe[i] >= 0)
            close(report_pipe[i]);
    }
    free(binds);
    return r;
}

int sandbox_libc_binds(struct sandbox_bind *ret, struct err *e) {
#if defined(__x86_64__)
    static const char loader[] = "/lib64/ld-linux-x86-64.so.2";
#elif defined(__aarch64__)
    static const char loader[] = "/lib/ld-linux-aarch64.so.1";
#elif defined(__riscv) && __riscv_xlen == 64
    static const char loader[] = "/lib/ld-linux-riscv64-lp64d.so.1";
#elif defined(__arm__)
    static const char loader[] = "/lib/ld-linux-armhf.so.3";
#else
#error "sandbox_libc_binds: name this architecture's dynamic loader"
#endif
    static char libs[2][PATH_MAX];
    char real[PATH_MAX];
    if (!realpath(loader, real))
        return err_set(e, -errno, "%s: %s", loader, strerror(errno));
    char *slash = strrchr(real, '/');
    *slash = '\0';
    static const char *const names[] = {"libc.so.6", "libm.so.6"};
    for (size_t i = 0; i < 2; i++) {
        if ((size_t)snprintf(libs[i], PATH_MAX, "%s/%s", real, names[i]) >= PATH_MAX)
            return err_set(e, -ENAMETOOLONG, "%s/%s: %s", real, names[i], strerror(ENAMETOOLONG));
        if (access(libs[i], R_OK) < 0)
            return err_set(e, -errno, "%s: %s", libs[i], strerror(errno));
    }
    ret[0] = (struct sandbox_bind){loader, loader};
    ret[1] = (struct sandbox_bind){libs[0], libs[0]};
    ret[2] = (struct sandbox_bind){libs[1], libs[1]};
    return SANDBOX_LIBC_BINDS;
}
