/*
 * sandbox.c: the app launcher. A sandbox is made ahead of time (one clone3() into fresh
 * namespaces, the move into its cgroup, a root of the binds every app shares) and given its
 * app at launch (the app's folders, its ids, seccomp, execve), so that starting an app pays
 * only for what is its own.
 */
#include "sandbox.h"

#include <fcntl.h>
#include <grp.h>
#include <limits.h>
#include <linux/capability.h>
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
#include <sys/prctl.h>
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

#define CGROUP_KEEP_MAX 4 /* cgroup.procs files a child moves itself into (v1: memory, freezer, pids) */

struct child_bind {
    const char *source, *target; /* target relative to the new root */
    unsigned attrs;              /* MOUNT_ATTR_* */
    int fd;
};

/* What the child works from: the caller's memory as it was at clone3(), which the child has a copy of. */
struct child_plan {
    const struct sandbox_base *base;
    struct child_bind *binds;
    size_t n_binds;
    char tmp_opts[64];
    bool app_ids; /* the parent is root: the SANDBOX_ID_ range is mapped, groups may be dropped */
    int fd;       /* the child's end of the spare's socket */
};

/*
 * The spare's socket carries, in order: "go" (parent: the ids are mapped), "ready" (child:
 * the shared root is made), the app (parent: struct assignment, its descriptors attached),
 * and then either end of file (the socket closed at execve: success) or a report (child: the
 * step that failed). A report can come instead of any message of the child's.
 */
#define MSG_GO 'g'
#define MSG_READY 'r'

/* What a child that failed tells the parent, in one message. */
struct report {
    int err;
    char what[500];
};

/* The app, as the parent sends it: the fixed part, then NUL-terminated strings in this order:
 * app_dir, data_dir, exec, hostname, argv[0..argc), envp[0..envc). */
#define ASSIGN_RLIMITS_MAX 16
#define ASSIGN_ARGS_MAX 256
#define ASSIGN_SIZE_MAX 65536
struct assignment {
    uint32_t uid; /* inside; 0: stay root */
    uint32_t argc, envc, n_rlimits;
    uint32_t has_stdout, has_stderr, has_channel; /* which descriptors are attached, in that order */
    struct {
        int32_t resource;
        uint64_t cur, max;
    } rlimits[ASSIGN_RLIMITS_MAX];
    char strings[];
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
    ssize_t n = send(p->fd, &rep, sizeof rep, MSG_NOSIGNAL);
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

/* Bind source at target (relative to the new root, the working directory) with attrs; mount points are made. */
static int bind_at(const char *source, const char *target, unsigned attrs, const char **ret_step) {
    int fd = (int)open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    struct mount_attr attr = {.attr_set = attrs};
    struct stat st;
    int r = 0;
    *ret_step = "bind";
    if (fd < 0 || mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0 || fstat(fd, &st) < 0)
        r = -errno;
    else if ((r = make_mount_point(target, S_ISDIR(st.st_mode))) < 0)
        *ret_step = "mount point";
    else if (move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        r = -errno;
        *ret_step = "mount";
    }
    if (fd >= 0)
        close(fd);
    return r;
}

/* Close every descriptor above 2 but the ones in keep (at most 8). */
static void close_all_but(const int *keep, size_t n) {
    int sorted[8];
    memcpy(sorted, keep, n * sizeof *keep);
    for (size_t i = 1; i < n; i++)
        for (size_t j = i; j > 0 && sorted[j - 1] > sorted[j]; j--) {
            int t = sorted[j];
            sorted[j] = sorted[j - 1];
            sorted[j - 1] = t;
        }
    unsigned from = 3;
    for (size_t i = 0; i < n; i++) {
        if ((unsigned)sorted[i] > from)
            syscall(SYS_close_range, from, (unsigned)sorted[i] - 1, 0);
        if ((unsigned)sorted[i] + 1 > from)
            from = (unsigned)sorted[i] + 1;
    }
    syscall(SYS_close_range, from, ~0U, 0);
}

/*
 * The root every app of this kind shares: a tmpfs, made on /tmp (which exists everywhere)
 * and then pivoted to, the host's root kept at /.host until the launch has bound the app's
 * own folders from there.
 */
#define HOST_DIR ".host"
static void child_build_base(struct child_plan *p) {
    const char *step;
    int r;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        child_fail(p, errno, "mount", "/ private");
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=256k") < 0)
        child_fail(p, errno, "mount", "/ (tmpfs)");
    if (chdir("/tmp") < 0)
        child_fail(p, errno, "chdir", "/");
    if (mkdir("dev", 0755) < 0 || mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
        child_fail(p, errno, "mount", "/dev");
    if (mkdir(&SANDBOX_APP_DIR[1], 0755) < 0 || mkdir(&SANDBOX_DATA_DIR[1], 0755) < 0)
        child_fail(p, errno, "mkdir", SANDBOX_APP_DIR);
    for (size_t i = 0; i < p->n_binds; i++) {
        struct child_bind *b = &p->binds[i];
        /* The source as the caller named it; a failed mount point names the target. */
        if ((r = bind_at(b->source, b->target, b->attrs, &step)) < 0)
            child_fail(p, -r, step, strcmp(step, "bind") == 0 ? b->source : b->target - 1);
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
    if (mkdir(HOST_DIR, 0) < 0 || syscall(SYS_pivot_root, ".", HOST_DIR) < 0 || chdir("/") < 0)
        child_fail(p, errno, "pivot_root", NULL);
}

/* The app's message and descriptors; exits quietly when the parent closed the socket instead. */
static size_t child_receive(struct child_plan *p, struct assignment *a, size_t size, int fds[3]) {
    char control[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = {.iov_base = a, .iov_len = size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n;
    while ((n = recvmsg(p->fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        _exit(0);
    if (n < (ssize_t)sizeof *a || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        child_fail(p, EPROTO, "sandbox", "message");
    size_t want = (size_t)(a->has_stdout != 0) + (a->has_stderr != 0) + (a->has_channel != 0), got = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(&mh); c; c = CMSG_NXTHDR(&mh, c))
        if (c->cmsg_level == SOL_SOCKET && c->cmsg_type == SCM_RIGHTS) {
            got = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            memcpy(fds, CMSG_DATA(c), (got < 3 ? got : 3) * sizeof(int));
        }
    if (got != want)
        child_fail(p, EPROTO, "sandbox", "descriptors");
    return (size_t)n;
}

/* The next NUL-terminated string of the message's string area, or NULL past its end. */
static const char *next_string(const char **at, const char *end) {
    const char *s = *at, *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
    if (!nul)
        return NULL;
    *at = nul + 1;
    return s;
}

static void child_stdio(const struct child_plan *p, int out_fd, int err_fd, int chan_fd) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        child_fail(p, errno, "open", "/dev/null");
    /* Copies above 3 first, so that an fd that is already 1, 2 or 3 survives the dup2s. */
    int out = fcntl(out_fd >= 0 ? out_fd : null, F_DUPFD_CLOEXEC, 4);
    int errfd = fcntl(err_fd >= 0 ? err_fd : null, F_DUPFD_CLOEXEC, 4);
    int chan = chan_fd >= 0 ? fcntl(chan_fd, F_DUPFD_CLOEXEC, 4) : -1;
    if (out < 0 || errfd < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
        child_fail(p, errno, "stdio", NULL);
    /* dup2 clears close-on-exec on the copy: the channel is the one fd above 2 the app inherits. */
    if (chan_fd >= 0 && (chan < 0 || dup2(chan, SANDBOX_CHANNEL_FD) < 0))
        child_fail(p, errno, "channel", NULL);
}

/*
 * Nothing to gain at execve: an empty bounding and ambient set. Done while the spare is made:
 * it takes nothing the child holds now (the mounts still to come need CAP_SYS_ADMIN).
 */
static void child_empty_bounding_set(const struct child_plan *p) {
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the last capability this kernel knows */
            child_fail(p, errno, "capabilities", "bounding set");
        }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

/* No capability survives: none held, none to gain at execve (the bounding set is empty already). */
static void child_drop_privileges(const struct child_plan *p, uid_t uid) {
    /* The app's own ids: leaving root clears what capabilities remained. */
    if (uid && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
        child_fail(p, errno, "setresuid", NULL);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    if (syscall(SYS_capset, &hdr, data) < 0)
        child_fail(p, errno, "capset", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        child_fail(p, errno, "no_new_privs", NULL);
}

/* The app's part: its folders into the shared root, which becomes /, its identity, then execve. */
__attribute__((noreturn)) static void child_launch(struct child_plan *p) {
    static union {
        struct assignment a;
        char bytes[ASSIGN_SIZE_MAX];
    } msg;
    int fds[3] = {-1, -1, -1};
    size_t n = child_receive(p, &msg.a, sizeof msg, fds);
    const struct assignment *a = &msg.a;
    const char *at = a->strings, *end = msg.bytes + n;
    const char *app_dir = next_string(&at, end), *data_dir = next_string(&at, end);
    const char *exec = next_string(&at, end), *hostname = next_string(&at, end);
    char *argv[ASSIGN_ARGS_MAX + 1], *envp[ASSIGN_ARGS_MAX + 1];
    if (!hostname || a->argc == 0 || a->argc > ASSIGN_ARGS_MAX || a->envc > ASSIGN_ARGS_MAX ||
        a->n_rlimits > ASSIGN_RLIMITS_MAX)
        child_fail(p, EPROTO, "sandbox", "message");
    for (uint32_t i = 0; i < a->argc; i++)
        if (!(argv[i] = (char *)next_string(&at, end)))
            child_fail(p, EPROTO, "sandbox", "argv");
    for (uint32_t i = 0; i < a->envc; i++)
        if (!(envp[i] = (char *)next_string(&at, end)))
            child_fail(p, EPROTO, "sandbox", "envp");
    argv[a->argc] = envp[a->envc] = NULL;
    size_t k = 0;
    int out_fd = a->has_stdout ? fds[k++] : -1;
    int err_fd = a->has_stderr ? fds[k++] : -1;
    int chan_fd = a->has_channel ? fds[k++] : -1;

    /* The app's folders, found through the host's root, then the host's root goes. */
    const char *step;
    char host_path[PATH_MAX];
    int r;
    if ((size_t)snprintf(host_path, sizeof host_path, "/" HOST_DIR "%s", app_dir) >= sizeof host_path)
        child_fail(p, ENAMETOOLONG, "bind", app_dir);
    if ((r = bind_at(host_path, &SANDBOX_APP_DIR[1], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                     &step)) < 0)
        child_fail(p, -r, step, app_dir);
    if ((size_t)snprintf(host_path, sizeof host_path, "/" HOST_DIR "%s", data_dir) >= sizeof host_path)
        child_fail(p, ENAMETOOLONG, "bind", data_dir);
    if ((r = bind_at(host_path, &SANDBOX_DATA_DIR[1], MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &step)) < 0)
        child_fail(p, -r, step, data_dir);
    if (umount2(HOST_DIR, MNT_DETACH) < 0 || rmdir(HOST_DIR) < 0)
        child_fail(p, errno, "umount", "old root");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        child_fail(p, errno, "remount", "/");
    if (chdir(SANDBOX_DATA_DIR) < 0)
        child_fail(p, errno, "chdir", SANDBOX_DATA_DIR);
    if (sethostname(hostname, strlen(hostname)) < 0)
        child_fail(p, errno, "hostname", hostname);
    child_stdio(p, out_fd, err_fd, chan_fd);
    for (uint32_t i = 0; i < a->n_rlimits; i++) {
        struct rlimit rl = {a->rlimits[i].cur, a->rlimits[i].max};
        if (setrlimit(a->rlimits[i].resource, &rl) < 0)
            child_fail(p, errno, "setrlimit", NULL);
    }
    /* Every other descriptor closes at execve; the spare's socket with them, which tells the parent exec worked. */
    if (syscall(SYS_close_range, chan_fd >= 0 ? SANDBOX_CHANNEL_FD + 1U : 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        child_fail(p, errno, "close_range", NULL);
    child_drop_privileges(p, a->uid);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &filter, 0, 0) < 0)
        child_fail(p, errno, "seccomp", NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(exec, argv, envp);
    child_fail(p, errno, "exec", exec);
}

/* The spare's life: made ready while nobody waits for it, then given its app. */
__attribute__((noreturn)) static void child_main(struct child_plan *p) {
    const struct sandbox_base *base = p->base;
    char go;

    /* The caller's handlers must not run here, and the app starts with default signals (the mask
     * stays until execve: as pid 1 of its namespace the child takes no signal it does not handle). */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    /* Nothing of the caller's stays open: not its sockets, not its stdio, not its lock. */
    int keep[1 + CGROUP_KEEP_MAX];
    size_t n_keep = 0;
    keep[n_keep++] = p->fd;
    for (size_t i = 0; i < base->n_cgroup_procs && i < CGROUP_KEEP_MAX; i++)
        keep[n_keep++] = base->cgroup_procs[i];
    close_all_but(keep, n_keep);
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0 || dup2(null, 0) < 0 || dup2(null, 1) < 0 || dup2(null, 2) < 0)
        child_fail(p, errno, "open", "/dev/null");
    close(null);

    /* Root inside means nothing until the parent has written uid_map and gid_map. */
    ssize_t n;
    while ((n = recv(p->fd, &go, 1, 0)) < 0 && errno == EINTR)
        ;
    if (n != 1 || go != MSG_GO)
        _exit(0);
    /* Become the mapped root: the credentials are still the caller's host ids until set again.
     * A root parent let the namespace keep setgroups: the caller's supplementary groups go too. */
    if (setresgid(0, 0, 0) < 0 || setresuid(0, 0, 0) < 0 || (p->app_ids && setgroups(0, NULL) < 0))
        child_fail(p, errno, "setresuid", NULL);
    /* cgroup v1: into the cgroup before anything is charged; the wait for the move is the child's, not the caller's. */
    for (size_t i = 0; i < base->n_cgroup_procs; i++) {
        errno = 0;
        if (pwrite(base->cgroup_procs[i], "0", 1, 0) != 1)
            child_fail(p, errno ? errno : EIO, "cgroup", "cgroup.procs");
        close(base->cgroup_procs[i]);
    }
    child_build_base(p);
    child_empty_bounding_set(p);
    char ready = MSG_READY;
    if (send(p->fd, &ready, 1, MSG_NOSIGNAL) != 1)
        _exit(0);
    child_launch(p);
}

/* ---- the parent ---- */

struct sandbox_spare {
    pid_t pid;
    int pidfd;
    int fd; /* the parent's end of the socket */
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
    for (size_t i = 0; i < base->n_libs; i++)
        if (!base->libs[i].source || !safe_target(base->libs[i].target))
            return err_set(e, -EINVAL, "bind %s: the target must be an absolute path without ..",
                           base->libs[i].target ? base->libs[i].target : "(none)");
    if (base->n_cgroup_procs > CGROUP_KEEP_MAX)
        return err_set(e, -EINVAL, "sandbox: at most %d cgroup.procs files", CGROUP_KEEP_MAX);
    return 0;
}

int sandbox_prepare(const struct sandbox_base *base, struct sandbox_spare **ret, struct err *e) {
    int r = check_base(base, e);
    if (r < 0)
        return r;
    pthread_once(&filter_once, compile_filter_once);
    if (filter_status < 0)
        return err_set(e, filter_status, "seccomp filter: %s", strerror(-filter_status));

    /* Targets are kept with their leading '/': the child mounts at target + 1, relative to the new root. */
    struct child_bind *binds = calloc(base->n_libs + 3, sizeof *binds);
    struct sandbox_spare *sp = calloc(1, sizeof *sp);
    int sv[2] = {-1, -1};
    if (!binds || !sp) {
        r = err_set(e, -ENOMEM, "sandbox: out of memory");
        goto out;
    }
    const unsigned ro = MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV;
    size_t n = 0;
    for (size_t i = 0; i < base->n_libs; i++)
        binds[n++] = (struct child_bind){base->libs[i].source, base->libs[i].target + 1, ro, -1};
    static const char *const devs[] = {"/dev/null", "/dev/zero", "/dev/urandom"};
    for (size_t i = 0; i < 3; i++)
        binds[n++] = (struct child_bind){devs[i], devs[i] + 1, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, -1};

    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
        r = err_set(e, -errno, "sandbox: socketpair: %s", strerror(errno));
        goto out;
    }
    struct child_plan plan = {.base = base, .binds = binds, .n_binds = n, .app_ids = geteuid() == 0, .fd = sv[1]};
    snprintf(plan.tmp_opts, sizeof plan.tmp_opts, "mode=1777,size=%uk",
             base->tmp_size_kib ? base->tmp_size_kib : 16384);

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
    if (pid < 0) {
        r = err_set(e, -errno, "clone3 (new user, mount, pid, ipc, uts%s namespaces%s): %s",
                    base->network ? "" : ", net", base->cgroup_fd >= 0 ? ", into the cgroup" : "", strerror(errno));
        goto out;
    }
    if (pid == 0)
        child_main(&plan);

    close(sv[1]);
    sv[1] = -1;
    *sp = (struct sandbox_spare){.pid = (pid_t)pid, .pidfd = pidfd, .fd = sv[0], .network = base->network,
                                 .app_ids = plan.app_ids};
    sv[0] = -1;
    char go = MSG_GO;
    if ((r = map_ids(sp->pid, sp->app_ids, e)) == 0 && send(sp->fd, &go, 1, MSG_NOSIGNAL) != 1)
        r = err_set(e, -errno, "sandbox: cannot wake the child: %s", strerror(errno));
    if (r < 0) {
        sp = sandbox_spare_free(sp);
        goto out;
    }
    *ret = sp;
    sp = NULL;
    r = 0;
out:
    for (int i = 0; i < 2; i++)
        if (sv[i] >= 0)
            close(sv[i]);
    free(sp);
    free(binds);
    return r;
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
    struct report rep;
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
        return err_set(e, -EPROTO, "sandbox: the child said something unexpected");
    rep.what[sizeof rep.what - 1] = '\0';
    return err_set(e, -rep.err, "%s: %s", rep.what, strerror(rep.err));
}

int sandbox_spare_poll(struct sandbox_spare *sp, bool wait, struct err *e) {
    if (sp->ready) {
        /* Ready and waiting says nothing more until it dies: end of file then. */
        char c;
        ssize_t n = recv(sp->fd, &c, 1, MSG_PEEK | MSG_DONTWAIT);
        if (n == 0 || (n < 0 && errno != EAGAIN && errno != EWOULDBLOCK && errno != EINTR))
            return err_set(e, -ECHILD, "sandbox: the child died while it waited");
        return 1;
    }
    int r = receive_word(sp, MSG_READY, wait, e);
    if (r == -EAGAIN)
        return 0;
    if (r == 0)
        return err_set(e, -ECHILD, "sandbox: the child died while it was being made");
    if (r > 0)
        sp->ready = true;
    return r;
}

/* The app as a message for the child (see struct assignment); *ret_size its length. */
static int pack(const struct sandbox_spec *spec, struct assignment *a, size_t size,
                size_t *ret_size, struct err *e) {
    size_t argc = 0, envc = 0;
    while (spec->argv[argc])
        argc++;
    while (spec->envp[envc])
        envc++;
    if (argc > ASSIGN_ARGS_MAX || envc > ASSIGN_ARGS_MAX || spec->n_rlimits > ASSIGN_RLIMITS_MAX)
        return err_set(e, -E2BIG, "sandbox: at most %d arguments, %d variables and %d limits", ASSIGN_ARGS_MAX,
                       ASSIGN_ARGS_MAX, ASSIGN_RLIMITS_MAX);
    *a = (struct assignment){
        .uid = spec->host_uid ? spec->host_uid - SANDBOX_ID_BASE : 0,
        .argc = (uint32_t)argc,
        .envc = (uint32_t)envc,
        .n_rlimits = (uint32_t)spec->n_rlimits,
        .has_stdout = spec->stdout_fd >= 0,
        .has_stderr = spec->stderr_fd >= 0,
        .has_channel = spec->channel_fd >= 0,
    };
    for (size_t i = 0; i < spec->n_rlimits; i++) {
        a->rlimits[i].resource = spec->rlimits[i].resource;
        a->rlimits[i].cur = spec->rlimits[i].cur;
        a->rlimits[i].max = spec->rlimits[i].max;
    }
    size_t at = offsetof(struct assignment, strings);
    const char *fixed[] = {spec->app_dir, spec->data_dir, spec->exec, spec->hostname ? spec->hostname : "slate"};
    for (size_t i = 0; i < argc + envc + 4; i++) {
        const char *s = i < 4 ? fixed[i] : i < 4 + argc ? spec->argv[i - 4] : spec->envp[i - 4 - argc];
        size_t len = strlen(s) + 1;
        if (len > size - at)
            return err_set(e, -E2BIG, "sandbox: the app's paths, arguments and environment pass %zu bytes", size);
        memcpy((char *)a + at, s, len);
        at += len;
    }
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
    static union {
        struct assignment a;
        char bytes[ASSIGN_SIZE_MAX];
    } msg;
    size_t size = 0;
    int r = check_spec(spec, e);
    if (r == 0)
        r = pack(spec, &msg.a, sizeof msg, &size, e);
    if (r == 0 && (r = sandbox_spare_poll(sp, true, e)) > 0) {
        int fds[3], n_fds = 0;
        const int given[3] = {spec->stdout_fd, spec->stderr_fd, spec->channel_fd};
        for (size_t i = 0; i < 3; i++)
            if (given[i] >= 0)
                fds[n_fds++] = given[i];
        char control[CMSG_SPACE(sizeof fds)] = {0};
        struct iovec iov = {.iov_base = msg.bytes, .iov_len = size};
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
            r = err_set(e, -EPROTO, "sandbox: the child said something unexpected");
    }
    sandbox_spare_free(sp);
    return r;
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
