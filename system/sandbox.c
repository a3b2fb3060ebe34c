/*
 * sandbox.c: the app launcher. A sandbox is made ahead of time (one clone3() into fresh
 * namespaces, where the sandbox program, sandbox-child.c, moves itself into its cgroup and
 * builds a root of the binds every app shares) and given its app at launch (the app's folders,
 * its ids, seccomp, execve), so that starting an app pays only for what is its own. The seccomp
 * filter is compiled here, once, and handed over as BPF.
 */
#include "sandbox.h"
#include "dl.h"
#include "sandbox-proto.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <pthread.h>
#include <sched.h>
#include <seccomp.h>
#include <signal.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/socket.h>
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
static struct err filter_err;
static pthread_once_t filter_once = PTHREAD_ONCE_INIT;

/*
 * libseccomp compiles the filter once, to BPF that slated keeps: it is loaded for that (dl.h) and
 * unloaded after, so that a running slated does not hold its pages.
 */
#define SECCOMP_SYMBOLS(X)                                                                                             \
    X(seccomp_attr_set)                                                                                                \
    X(seccomp_export_bpf)                                                                                              \
    X(seccomp_init)                                                                                                    \
    X(seccomp_release)                                                                                                 \
    X(seccomp_rule_add)                                                                                                \
    X(seccomp_syscall_resolve_name)
int dlopen_seccomp(struct err *e);
DL_LIBRARY(seccomp, "libseccomp.so.2", "libseccomp", SECCOMP_SYMBOLS, NULL, true)

static int add_rules(scmp_filter_ctx ctx, uint32_t action, const char *const *names, size_t n) {
    for (size_t i = 0; i < n; i++) {
        int nr = sym_seccomp_syscall_resolve_name(names[i]);
        if (nr == __NR_SCMP_ERROR)
            continue; /* not a call on this architecture */
        int r = sym_seccomp_rule_add(ctx, action, nr, 0);
        if (r < 0)
            return r;
    }
    return 0;
}

static int build_filter(int fd) {
    scmp_filter_ctx ctx = sym_seccomp_init(SCMP_ACT_ERRNO(EPERM));
    if (!ctx)
        return -ENOMEM;
    /* A binary tree rather than a list: the kernel runs the filter for every syscall number when it
     * attaches it (its per-arch cache), so a short path per call makes each launch faster. */
    sym_seccomp_attr_set(ctx, SCMP_FLTATR_CTL_OPTIMIZE, 2);
    int r = add_rules(ctx, SCMP_ACT_ALLOW, allowed_calls, sizeof allowed_calls / sizeof *allowed_calls);
    if (r >= 0)
        r = add_rules(ctx, SCMP_ACT_KILL_PROCESS, hostile_calls, sizeof hostile_calls / sizeof *hostile_calls);
    /* Threads and fork, never new namespaces. glibc falls back from clone3 to clone on ENOSYS, and clone's
     * flags, unlike clone3's, are an argument the filter can see. */
    if (r >= 0)
        r = sym_seccomp_rule_add(ctx, SCMP_ACT_ALLOW, SCMP_SYS(clone), 1, SCMP_A0(SCMP_CMP_MASKED_EQ, NS_FLAGS, 0));
    if (r >= 0)
        r = sym_seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (r >= 0)
        r = sym_seccomp_export_bpf(ctx, fd);
    sym_seccomp_release(ctx);
    return r < 0 ? r : 0;
}

/* The filter as raw BPF written to fd (seccomp_export_bpf's format, what bwrap --seccomp reads). */
int sandbox_export_filter(int fd, struct err *e) {
    int r = dlopen_seccomp(e);
    if (r < 0)
        return r;
    r = build_filter(fd);
    dl_unload(&seccomp_library);
    return r < 0 ? err_set(e, r, "seccomp filter: %s", strerror(-r)) : 0;
}

static int compile_filter(struct err *e) {
    int fd = memfd_create("seccomp", MFD_CLOEXEC);
    int r = fd < 0 ? err_set(e, -errno, "seccomp filter: memfd: %s", strerror(errno)) : sandbox_export_filter(fd, e);
    if (r >= 0) {
        off_t size = lseek(fd, 0, SEEK_END);
        filter.filter = size > 0 ? malloc((size_t)size) : NULL;
        if (!filter.filter)
            r = err_set(e, size < 0 ? -errno : -ENOMEM, "seccomp filter: %s", strerror(size < 0 ? errno : ENOMEM));
        else if (pread(fd, filter.filter, (size_t)size, 0) != size)
            r = err_set(e, -EIO, "seccomp filter: cannot read it back");
        else
            filter.len = (unsigned short)((size_t)size / sizeof(struct sock_filter));
    }
    if (fd >= 0)
        close(fd);
    return r < 0 ? r : 0;
}

static void compile_filter_once(void) {
    filter_status = compile_filter(&filter_err);
}

/* ---- the launcher ---- */

struct sandbox_spare {
    pid_t pid;
    int pidfd;
    int fd; /* the launcher's end of the socket */
    bool ready, network;
    bool app_ids; /* the ids mapped are the SANDBOX_ID_ range */
};

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

/*
 * Root inside: a root caller maps the SANDBOX_ID_ range (root inside is its base), so
 * each app can take its own id at launch, and keeps setgroups allowed so that the child
 * can drop the caller's groups; any other caller maps its own ids, without setgroups.
 */
static int map_ids(pid_t pid, bool app_ids, struct err *e) {
    char line[64];
    int r = app_ids ? 0 : write_file(pid, "setgroups", "deny", e);
    if (r < 0)
        return r;
    if (app_ids)
        snprintf(line, sizeof line, "0 %u %u\n", SANDBOX_ID_BASE, SANDBOX_ID_COUNT);
    else
        snprintf(line, sizeof line, "0 %u 1\n", (unsigned)getuid());
    if ((r = write_file(pid, "uid_map", line, e)) < 0)
        return r;
    if (!app_ids)
        snprintf(line, sizeof line, "0 %u 1\n", (unsigned)getgid());
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

static int check_base(const struct sandbox_base *base, struct err *e) {
    if (!base->helper || base->helper[0] != '/')
        return err_set(e, -EINVAL, "sandbox: the sandbox program is needed, by its absolute path");
    for (size_t i = 0; i < base->n_libs; i++)
        if (!base->libs[i].source || !safe_target(base->libs[i].target))
            return err_set(e, -EINVAL, "bind %s: the target must be an absolute path without ..",
                           base->libs[i].target ? base->libs[i].target : "(none)");
    if (base->n_libs + 3 > SANDBOX_BINDS_MAX || base->n_cgroup_procs > SANDBOX_PROCS_MAX)
        return err_set(e, -EINVAL, "sandbox: at most %d binds and %d cgroup.procs files", SANDBOX_BINDS_MAX - 3,
                       SANDBOX_PROCS_MAX);
    return 0;
}

/* Append len bytes at *at in buf of size; -E2BIG when they do not fit. */
static int put(char *buf, size_t size, size_t *at, const void *p, size_t len) {
    if (len > size - *at)
        return -E2BIG;
    memcpy(buf + *at, p, len);
    *at += len;
    return 0;
}

/* The plan for the sandbox program (sandbox-proto.h); *ret_size its length. */
static int pack_plan(const struct sandbox_base *base, bool app_ids, char *buf, size_t size, size_t *ret_size,
                     struct err *e) {
    /* The binds every sandbox has: the libraries, and three devices. */
    static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
    const unsigned ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    size_t n = base->n_libs + 3, at = 0;
    struct sandbox_plan p = {
        .n_binds = (uint32_t)n,
        .n_procs = (uint32_t)base->n_cgroup_procs,
        .app_ids = app_ids,
        .tmp_size_kib = base->tmp_size_kib,
        .n_filter = filter.len,
    };
    int r = put(buf, size, &at, &p, sizeof p);
    if (r == 0)
        r = put(buf, size, &at, filter.filter, filter.len * sizeof *filter.filter);
    for (size_t i = 0; r == 0 && i < n; i++) {
        uint32_t attrs = i < base->n_libs ? ro : MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC;
        r = put(buf, size, &at, &attrs, sizeof attrs);
    }
    for (size_t i = 0; r == 0 && i < n; i++) {
        const char *source = i < base->n_libs ? base->libs[i].source : devs[i - base->n_libs];
        const char *target = i < base->n_libs ? base->libs[i].target : devs[i - base->n_libs];
        if ((r = put(buf, size, &at, source, strlen(source) + 1)) == 0)
            r = put(buf, size, &at, target, strlen(target) + 1);
    }
    if (r < 0)
        return err_set(e, r, "sandbox: the binds pass %zu bytes", size);
    *ret_size = at;
    return 0;
}

/*
 * In the clone3() child, before execve: a copy of the launcher's memory, used for a few system
 * calls only. The socket and the cgroup.procs files go to their fixed numbers, stdio to
 * /dev/null, everything else closes: not the launcher's sockets, not its stdio, not its lock.
 * Then it waits for its ids to be mapped and becomes root in its namespace, so that execve
 * keeps its capabilities there (an unmapped id would lose them), and runs the sandbox program.
 */
__attribute__((noreturn)) static void exec_helper(const struct sandbox_base *base, int sock, bool app_ids) {
    int from[1 + SANDBOX_PROCS_MAX], n_fds = 0;
    from[n_fds++] = sock;
    for (size_t i = 0; i < base->n_cgroup_procs; i++)
        from[n_fds++] = base->cgroup_procs[i];
    /* Above anything they may land on first, then down to their places. */
    for (int i = 0; i < n_fds; i++)
        if ((from[i] = fcntl(from[i], F_DUPFD_CLOEXEC, 64)) < 0)
            _exit(127);
    for (int i = 0; i < n_fds; i++)
        if (dup2(from[i], SANDBOX_FD_SOCKET + i) < 0)
            _exit(127);
    syscall(SYS_close_range, (unsigned)(SANDBOX_FD_SOCKET + n_fds), ~0U, 0);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        _exit(127);
    struct sandbox_report rep = {0};
    char go;
    ssize_t n;
    while ((n = recv(SANDBOX_FD_SOCKET, &go, 1, 0)) < 0 && errno == EINTR)
        ;
    if (n != 1 || go != SANDBOX_GO)
        _exit(0);
    /* The credentials are still the launcher's host ids until set again. A root launcher let the
     * namespace keep setgroups: its supplementary groups go too. */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || (app_ids && setgroups(0, NULL) < 0)) {
        rep.err = errno;
        snprintf(rep.what, sizeof rep.what, "setresuid");
    } else {
        char *argv[] = {"slate-sandbox", NULL}, *envp[] = {NULL};
        execve(base->helper, argv, envp);
        rep.err = errno;
        snprintf(rep.what, sizeof rep.what, "exec %s", base->helper);
    }
    n = send(SANDBOX_FD_SOCKET, &rep, sizeof rep, MSG_NOSIGNAL);
    _exit(127);
}

int sandbox_prepare(const struct sandbox_base *base, struct sandbox_spare **ret, struct err *e) {
    static char plan[SANDBOX_MSG_MAX];
    size_t plan_size = 0;
    bool app_ids = geteuid() == 0;
    int r = check_base(base, e);
    if (r < 0)
        return r;
    pthread_once(&filter_once, compile_filter_once);
    if (filter_status < 0)
        return err_set(e, filter_status, "%s", filter_err.msg);
    if ((r = pack_plan(base, app_ids, plan, sizeof plan, &plan_size, e)) < 0)
        return r;

    struct sandbox_spare *sp = calloc(1, sizeof *sp);
    int sv[2] = {-1, -1};
    if (!sp)
        return err_set(e, -ENOMEM, "sandbox: out of memory");
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = err_set(e, -errno, "sandbox: socketpair: %s", strerror(errno));
        free(sp);
        return r;
    }
    int pidfd = -1;
    struct clone_args_v2 args = {
        .flags = CLONE_NEWUSER | CLONE_NEWNS | CLONE_NEWPID | CLONE_NEWIPC | CLONE_NEWUTS | CLONE_PIDFD,
        .pidfd = (uint64_t)(uintptr_t)&pidfd,
        .exit_signal = SIGCHLD,
    };
    if (!base->network)
        args.flags |= CLONE_NEWNET;
    if (base->cgroup_fd >= 0) {
        args.flags |= CLONE_INTO_CGROUP;
        args.cgroup = (uint64_t)base->cgroup_fd;
    }
    long pid = syscall(SYS_clone3, &args, sizeof args);
    if (pid == 0)
        exec_helper(base, sv[1], app_ids);
    close(sv[1]);
    if (pid < 0) {
        r = err_set(e, -errno, "clone3 (new user, mount, pid, ipc, uts%s namespaces%s): %s",
                    base->network ? "" : ", net", base->cgroup_fd >= 0 ? ", into the cgroup" : "", strerror(errno));
        close(sv[0]);
        free(sp);
        return r;
    }
    *sp = (struct sandbox_spare){
        .pid = (pid_t)pid, .pidfd = pidfd, .fd = sv[0], .network = base->network, .app_ids = app_ids};
    /* The go-ahead once the ids are mapped, and the plan for the sandbox program right behind it. */
    char go = SANDBOX_GO;
    if ((r = map_ids(sp->pid, app_ids, e)) == 0 &&
        (send(sp->fd, &go, 1, MSG_NOSIGNAL) < 0 || send(sp->fd, plan, plan_size, MSG_NOSIGNAL) < 0))
        r = err_set(e, -errno, "sandbox: cannot reach the sandbox's process: %s", strerror(errno));
    if (r < 0) {
        sandbox_spare_free(sp);
        return r;
    }
    *ret = sp;
    return 0;
}

int sandbox_spare_fd(const struct sandbox_spare *sp) {
    return sp->fd;
}

pid_t sandbox_spare_pid(const struct sandbox_spare *sp) {
    return sp->pid;
}

bool sandbox_spare_network(const struct sandbox_spare *sp) {
    return sp->network;
}

/* What the child said: 1 (the expected one-byte message), 0 end of file, or a negative errno with its report in e. */
static int receive_word(struct sandbox_spare *sp, char expected, bool wait, struct err *e) {
    struct sandbox_report rep;
    ssize_t n;
    while ((n = recv(sp->fd, &rep, sizeof rep, wait ? 0 : MSG_DONTWAIT)) < 0 && errno == EINTR)
        ;
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
        return err_set(e, -EAGAIN, "sandbox: not ready");
    if (n < 0)
        return err_set(e, -errno, "sandbox: %s", strerror(errno));
    if (n == 0)
        return 0;
    if (n == 1 && ((char *)&rep)[0] == expected)
        return 1;
    if (n != (ssize_t)sizeof rep)
        return err_set(e, -EPROTO, "sandbox: the sandbox's process said something unexpected");
    rep.what[sizeof rep.what - 1] = '\0';
    return err_set(e, -rep.err, "%s: %s", rep.what, strerror(rep.err));
}

int sandbox_spare_poll(struct sandbox_spare *sp, bool wait, struct err *e) {
    if (sp->ready) {
        /* Ready and waiting says nothing more until it dies: end of file then. */
        char c;
        ssize_t n = recv(sp->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return err_set(e, -ECHILD, "sandbox: its process died while it waited");
        return 1;
    }
    int r = receive_word(sp, SANDBOX_READY, wait, e);
    if (r == -EAGAIN)
        return 0;
    if (r == 0)
        return err_set(e, -ECHILD, "sandbox: its process died while it was being made");
    if (r > 0)
        sp->ready = true;
    return r;
}

/* The app as a message for the sandbox's process (sandbox-proto.h); *ret_size its length. */
static int pack_app(const struct sandbox_spec *spec, char *buf, size_t size, size_t *ret_size, struct err *e) {
    size_t argc = 0, envc = 0, at = 0;
    while (spec->argv[argc])
        argc++;
    while (spec->envp[envc])
        envc++;
    if (argc > SANDBOX_ARGS_MAX || envc > SANDBOX_ARGS_MAX || spec->n_rlimits > SANDBOX_RLIMITS_MAX)
        return err_set(e, -E2BIG, "sandbox: at most %d arguments, %d variables and %d limits", SANDBOX_ARGS_MAX,
                       SANDBOX_ARGS_MAX, SANDBOX_RLIMITS_MAX);
    struct sandbox_assignment a = {
        .uid = spec->host_uid ? spec->host_uid - SANDBOX_ID_BASE : 0,
        .argc = (uint32_t)argc,
        .envc = (uint32_t)envc,
        .n_rlimits = (uint32_t)spec->n_rlimits,
        .has_stdout = spec->stdout_fd >= 0,
        .has_stderr = spec->stderr_fd >= 0,
        .has_channel = spec->channel_fd >= 0,
    };
    for (size_t i = 0; i < spec->n_rlimits; i++) {
        a.rlimits[i].resource = spec->rlimits[i].resource;
        a.rlimits[i].cur = spec->rlimits[i].cur;
        a.rlimits[i].max = spec->rlimits[i].max;
    }
    int r = put(buf, size, &at, &a, sizeof a);
    const char *fixed[] = {spec->app_dir, spec->data_dir, spec->exec, spec->hostname ? spec->hostname : "slate"};
    for (size_t i = 0; r == 0 && i < argc + envc + 4; i++) {
        const char *s = i < 4 ? fixed[i] : i < 4 + argc ? spec->argv[i - 4] : spec->envp[i - 4 - argc];
        r = put(buf, size, &at, s, strlen(s) + 1);
    }
    if (r < 0)
        return err_set(e, r, "sandbox: the app's paths, arguments and environment pass %zu bytes", size);
    *ret_size = at;
    return 0;
}

static int check_spec(const struct sandbox_spec *spec, struct err *e) {
    if (!spec->app_dir || !spec->data_dir || !spec->argv || !spec->argv[0] || !spec->envp)
        return err_set(e, -EINVAL, "sandbox: app folder, data folder, argv and envp are needed");
    if (!safe_target(spec->app_dir) || !safe_target(spec->data_dir))
        return err_set(e, -EINVAL, "sandbox: the app and data folders must be absolute paths without ..");
    if (!spec->exec || strncmp(spec->exec, SANDBOX_APP_DIR "/", strlen(SANDBOX_APP_DIR "/")) != 0)
        return err_set(e, -EINVAL, "exec %s: not a path under " SANDBOX_APP_DIR, spec->exec ? spec->exec : "(none)");
    if (spec->host_uid && (geteuid() != 0 || spec->host_uid <= SANDBOX_ID_BASE ||
                           spec->host_uid - SANDBOX_ID_BASE >= SANDBOX_ID_COUNT))
        return err_set(e, -EINVAL, "sandbox: host uid %u is not in the sandboxes' id range (or the caller is not root)",
                       (unsigned)spec->host_uid);
    return 0;
}

int sandbox_launch(struct sandbox_spare *sp, const struct sandbox_spec *spec, struct sandbox_child *ret,
                   struct err *e) {
    static char msg[SANDBOX_MSG_MAX];
    size_t size = 0;
    int r = check_spec(spec, e);
    if (r == 0)
        r = pack_app(spec, msg, sizeof msg, &size, e);
    if (r == 0 && (r = sandbox_spare_poll(sp, true, e)) > 0) {
        int fds[3], n_fds = 0;
        const int given[3] = {spec->stdout_fd, spec->stderr_fd, spec->channel_fd};
        for (size_t i = 0; i < 3; i++)
            if (given[i] >= 0)
                fds[n_fds++] = given[i];
        char control[CMSG_SPACE(sizeof fds)] = {0};
        struct iovec iov = {.iov_base = msg, .iov_len = size};
        struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
        if (n_fds) {
            mh.msg_control = control;
            mh.msg_controllen = CMSG_SPACE((size_t)n_fds * sizeof(int));
            struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
            c->cmsg_level = SOL_SOCKET;
            c->cmsg_type = SCM_RIGHTS;
            c->cmsg_len = CMSG_LEN((size_t)n_fds * sizeof(int));
            memcpy(CMSG_DATA(c), fds, (size_t)n_fds * sizeof(int));
        }
        if (sendmsg(sp->fd, &mh, MSG_NOSIGNAL) < 0)
            r = err_set(e, -errno, "sandbox: cannot hand the app over: %s", strerror(errno));
        /* End of file: the socket closed at execve. A report: the step that failed. */
        else if ((r = receive_word(sp, 0, true, e)) == 0) {
            *ret = (struct sandbox_child){.pid = sp->pid, .pidfd = sp->pidfd};
            sp->pidfd = -1;
        } else if (r > 0)
            r = err_set(e, -EPROTO, "sandbox: the sandbox's process said something unexpected");
    }
    sandbox_spare_free(sp);
    return r;
}

int sandbox_spare_release(struct sandbox_spare *sp) {
    int pidfd = sp->pidfd;
    if (pidfd >= 0)
        syscall(SYS_pidfd_send_signal, pidfd, SIGKILL, NULL, 0);
    sp->pidfd = -1;
    sandbox_spare_free(sp);
    return pidfd;
}

struct sandbox_spare *sandbox_spare_free(struct sandbox_spare *sp) {
    if (!sp)
        return NULL;
    if (sp->pidfd >= 0)
        kill_and_reap(sp->pidfd);
    if (sp->fd >= 0)
        close(sp->fd);
    free(sp);
    return NULL;
}

int sandbox_spawn(const struct sandbox_base *base, const struct sandbox_spec *spec, struct sandbox_child *ret,
                  struct err *e) {
    struct sandbox_spare *sp;
    int r = check_spec(spec, e);
    if (r == 0)
        r = sandbox_prepare(base, &sp, e);
    return r < 0 ? r : sandbox_launch(sp, spec, ret, e);
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
