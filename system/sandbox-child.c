/*
 * sandbox-child.c: a sandbox's own process (the slate-sandbox program): it builds the root every
 * app shares while nobody waits, then takes its app's folders, ids and descriptors, drops every
 * privilege, loads the seccomp filter and execs the app. It makes system calls on data the
 * launcher sent (sandbox-proto.h) and allocates nothing.
 */
#include "sandbox-proto.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "sandbox.h"

#ifndef CLOSE_RANGE_CLOEXEC
#define CLOSE_RANGE_CLOEXEC (1U << 2)
#endif

/*
 * The root every app shares: a tmpfs, made on /tmp (which exists everywhere) and then pivoted
 * to, the host's root kept at /.host until the launch has bound the app's own folders from there.
 */
#define HOST_DIR ".host"

struct bind {
    const char *source, *target; /* target relative to the new root */
    unsigned attrs;              /* MOUNT_ATTR_* */
};

/* What the launcher sent, and where the child is. */
struct child {
    int fd;
    struct bind binds[SANDBOX_BINDS_MAX];
    size_t n_binds, n_procs;
    bool app_ids;
    char tmp_opts[64];
    struct sock_fprog filter;
};

static size_t append(char *buf, size_t at, size_t size, const char *s) {
    while (*s && at + 1 < size)
        buf[at++] = *s++;
    buf[at] = '\0';
    return at;
}

__attribute__((noreturn)) static void fail(const struct child *c, int err, const char *step, const char *path) {
    struct sandbox_report rep = {.err = err};
    size_t at = append(rep.what, 0, sizeof rep.what, step);
    if (path) {
        at = append(rep.what, at, sizeof rep.what, " ");
        append(rep.what, at, sizeof rep.what, path);
    }
    ssize_t n = send(c->fd, &rep, sizeof rep, MSG_NOSIGNAL);
    (void)n;
    _exit(127);
}

/* The next NUL-terminated string of a message's string area, or NULL past its end. */
static const char *next_string(const char **at, const char *end) {
    const char *s = *at, *nul = s < end ? memchr(s, '\0', (size_t)(end - s)) : NULL;
    if (!nul)
        return NULL;
    *at = nul + 1;
    return s;
}

/* One message into buf (and up to 3 descriptors); exits quietly when the launcher closed the socket instead. */
static size_t receive(struct child *c, void *buf, size_t size, int fds[3], size_t *n_fds) {
    char control[CMSG_SPACE(3 * sizeof(int))];
    struct iovec iov = {.iov_base = buf, .iov_len = size};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control, .msg_controllen = sizeof control};
    ssize_t n;
    while ((n = recvmsg(c->fd, &mh, MSG_CMSG_CLOEXEC)) < 0 && errno == EINTR)
        ;
    if (n == 0)
        _exit(0);
    if (n < 0 || (mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)))
        fail(c, n < 0 ? errno : EPROTO, "sandbox", "message");
    *n_fds = 0;
    for (struct cmsghdr *h = CMSG_FIRSTHDR(&mh); h; h = CMSG_NXTHDR(&mh, h))
        if (h->cmsg_level == SOL_SOCKET && h->cmsg_type == SCM_RIGHTS) {
            size_t got = (h->cmsg_len - CMSG_LEN(0)) / sizeof(int);
            *n_fds = got < 3 ? got : 3;
            memcpy(fds, CMSG_DATA(h), *n_fds * sizeof(int));
        }
    return (size_t)n;
}

/* The plan: binds, filter, ids, /tmp's size. It lives in a static buffer the binds point into. */
static void receive_plan(struct child *c) {
    static union {
        struct sandbox_plan p;
        char bytes[SANDBOX_MSG_MAX];
    } msg;
    int fds[3];
    size_t n_fds, n = receive(c, &msg, sizeof msg, fds, &n_fds);
    const struct sandbox_plan *p = &msg.p;
    size_t filter_bytes = (size_t)p->n_filter * sizeof(struct sock_filter);
    size_t fixed = sizeof *p + filter_bytes + (size_t)p->n_binds * sizeof(uint32_t);
    if (n < sizeof *p || n_fds || p->n_binds > SANDBOX_BINDS_MAX || p->n_procs > SANDBOX_PROCS_MAX ||
        p->n_filter == 0 || p->n_filter > SANDBOX_FILTER_MAX || fixed > n)
        fail(c, EPROTO, "sandbox", "plan");
    c->filter = (struct sock_fprog){.len = (unsigned short)p->n_filter, .filter = (struct sock_filter *)(p + 1)};
    const uint32_t *attrs = (const uint32_t *)(msg.bytes + sizeof *p + filter_bytes);
    const char *at = msg.bytes + fixed, *end = msg.bytes + n;
    for (size_t i = 0; i < p->n_binds; i++) {
        const char *source = next_string(&at, end), *target = next_string(&at, end);
        /* Targets come absolute; the child mounts them relative to the new root. */
        if (!source || !target || target[0] != '/' || !target[1])
            fail(c, EPROTO, "sandbox", "plan");
        c->binds[i] = (struct bind){source, target + 1, attrs[i]};
    }
    c->n_binds = p->n_binds;
    c->n_procs = p->n_procs;
    c->app_ids = p->app_ids != 0;
    snprintf(c->tmp_opts, sizeof c->tmp_opts, "mode=1777,size=%uk", p->tmp_size_kib ? p->tmp_size_kib : 16384);
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

/* A detached copy of source's mount, with attrs: the fd, or a negative errno. */
static int take_tree(const char *source, unsigned attrs) {
    int fd = (int)open_tree(AT_FDCWD, source, OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_RECURSIVE);
    struct mount_attr attr = {.attr_set = attrs};
    if (fd >= 0 && mount_setattr(fd, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof attr) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd < 0 ? -errno : fd;
}

/* Mount a taken tree at target (relative to the new root, the working directory), making the mount point; closes fd. */
static int place_tree(int fd, const char *target, const char **ret_step) {
    struct stat st;
    int r = 0;
    *ret_step = "mount point";
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if ((r = make_mount_point(target, S_ISDIR(st.st_mode))) == 0 &&
             move_mount(fd, "", AT_FDCWD, target, MOVE_MOUNT_F_EMPTY_PATH) < 0) {
        r = -errno;
        *ret_step = "mount";
    }
    close(fd);
    return r;
}

/* Bind source at target with attrs. */
static int bind_at(const char *source, const char *target, unsigned attrs, const char **ret_step) {
    int fd = take_tree(source, attrs);
    *ret_step = "bind";
    return fd < 0 ? fd : place_tree(fd, target, ret_step);
}

static void build_base(struct child *c) {
    int trees[SANDBOX_BINDS_MAX];
    const char *step;
    int r;

    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0)
        fail(c, errno, "mount", "/ private");
    /* Every source first: the new root, mounted on /tmp, would hide any that lives under it. */
    for (size_t i = 0; i < c->n_binds; i++)
        if ((trees[i] = take_tree(c->binds[i].source, c->binds[i].attrs)) < 0)
            fail(c, -trees[i], "bind", c->binds[i].source);
    if (mount("tmpfs", "/tmp", "tmpfs", MS_NOSUID | MS_NODEV, "mode=0755,size=256k") < 0)
        fail(c, errno, "mount", "/ (tmpfs)");
    if (chdir("/tmp") < 0)
        fail(c, errno, "chdir", "/");
    if (mkdir("dev", 0755) < 0 || mount("tmpfs", "dev", "tmpfs", MS_NOSUID | MS_NOEXEC, "mode=0755,size=64k") < 0)
        fail(c, errno, "mount", "/dev");
    if (mkdir(&SANDBOX_APP_DIR[1], 0755) < 0 || mkdir(&SANDBOX_DATA_DIR[1], 0755) < 0)
        fail(c, errno, "mkdir", SANDBOX_APP_DIR);
    for (size_t i = 0; i < c->n_binds; i++)
        if ((r = place_tree(trees[i], c->binds[i].target, &step)) < 0)
            fail(c, -r, step, c->binds[i].target - 1);
    if (symlink("/proc/self/fd", "dev/fd") < 0 || symlink("/proc/self/fd/0", "dev/stdin") < 0 ||
        symlink("/proc/self/fd/1", "dev/stdout") < 0 || symlink("/proc/self/fd/2", "dev/stderr") < 0)
        fail(c, errno, "symlink", "/dev/fd");
    if (mount(NULL, "dev", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NOEXEC, NULL) < 0)
        fail(c, errno, "remount", "/dev");
    if (mkdir("proc", 0555) < 0 || mount("proc", "proc", "proc", MS_NOSUID | MS_NODEV | MS_NOEXEC, NULL) < 0)
        fail(c, errno, "mount", "/proc");
    if (mkdir("tmp", 01777) < 0 || mount("tmpfs", "tmp", "tmpfs", MS_NOSUID | MS_NODEV, c->tmp_opts) < 0)
        fail(c, errno, "mount", "/tmp");
    if (mkdir(HOST_DIR, 0) < 0 || syscall(SYS_pivot_root, ".", HOST_DIR) < 0 || chdir("/") < 0)
        fail(c, errno, "pivot_root", NULL);
}

/*
 * Nothing to gain at execve: an empty bounding and ambient set. Done while the spare is made:
 * it takes nothing the child holds now (the mounts still to come need CAP_SYS_ADMIN).
 */
static void empty_bounding_set(const struct child *c) {
    for (int cap = 0; cap <= 63; cap++)
        if (prctl(PR_CAPBSET_DROP, cap, 0, 0, 0) < 0) {
            if (errno == EINVAL)
                break; /* past the last capability this kernel knows */
            fail(c, errno, "capabilities", "bounding set");
        }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
}

static void set_stdio(const struct child *c, int out_fd, int err_fd, int chan_fd) {
    int null = open("/dev/null", O_RDWR | O_CLOEXEC);
    if (null < 0)
        fail(c, errno, "open", "/dev/null");
    /* Copies above 3 first, so that an fd that is already 1, 2 or 3 survives the dup2s. */
    int out = fcntl(out_fd >= 0 ? out_fd : null, F_DUPFD_CLOEXEC, 4);
    int errfd = fcntl(err_fd >= 0 ? err_fd : null, F_DUPFD_CLOEXEC, 4);
    int chan = chan_fd >= 0 ? fcntl(chan_fd, F_DUPFD_CLOEXEC, 4) : -1;
    if (out < 0 || errfd < 0 || dup2(null, 0) < 0 || dup2(out, 1) < 0 || dup2(errfd, 2) < 0)
        fail(c, errno, "stdio", NULL);
    /* dup2 clears close-on-exec on the copy: the channel is the one fd above 2 the app inherits. */
    if (chan_fd >= 0 && (chan < 0 || dup2(chan, SANDBOX_CHANNEL_FD) < 0))
        fail(c, errno, "channel", NULL);
}

/* No capability survives: none held, none to gain at execve (the bounding set is empty already). */
static void drop_privileges(const struct child *c, uid_t uid) {
    /* The app's own ids: leaving root clears what capabilities remained. */
    if (uid && (setresgid(uid, uid, uid) < 0 || setresuid(uid, uid, uid) < 0))
        fail(c, errno, "setresuid", NULL);
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2] = {{0}};
    if (syscall(SYS_capset, &hdr, data) < 0)
        fail(c, errno, "capset", NULL);
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
        fail(c, errno, "no_new_privs", NULL);
}

/* The app's part: its folders into the shared root, which becomes /, its identity, then execve. */
__attribute__((noreturn)) static void launch(struct child *c) {
    static union {
        struct sandbox_assignment a;
        char bytes[SANDBOX_MSG_MAX];
    } msg;
    int fds[3] = {-1, -1, -1};
    size_t n_fds, n = receive(c, &msg, sizeof msg, fds, &n_fds);
    const struct sandbox_assignment *a = &msg.a;
    if (n < sizeof *a || a->argc == 0 || a->argc > SANDBOX_ARGS_MAX || a->envc > SANDBOX_ARGS_MAX ||
        a->n_rlimits > SANDBOX_RLIMITS_MAX ||
        n_fds != (size_t)(a->has_stdout != 0) + (a->has_stderr != 0) + (a->has_channel != 0))
        fail(c, EPROTO, "sandbox", "message");
    const char *at = msg.bytes + sizeof *a, *end = msg.bytes + n;
    const char *app_dir = next_string(&at, end), *data_dir = next_string(&at, end);
    const char *exec = next_string(&at, end), *hostname = next_string(&at, end);
    char *argv[SANDBOX_ARGS_MAX + 1], *envp[SANDBOX_ARGS_MAX + 1];
    if (!hostname)
        fail(c, EPROTO, "sandbox", "message");
    for (uint32_t i = 0; i < a->argc; i++)
        if (!(argv[i] = (char *)next_string(&at, end)))
            fail(c, EPROTO, "sandbox", "argv");
    for (uint32_t i = 0; i < a->envc; i++)
        if (!(envp[i] = (char *)next_string(&at, end)))
            fail(c, EPROTO, "sandbox", "envp");
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
        fail(c, ENAMETOOLONG, "bind", app_dir);
    if ((r = bind_at(host_path, &SANDBOX_APP_DIR[1], MOUNT_ATTR_RDONLY | MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV,
                     &step)) < 0)
        fail(c, -r, step, app_dir);
    if ((size_t)snprintf(host_path, sizeof host_path, "/" HOST_DIR "%s", data_dir) >= sizeof host_path)
        fail(c, ENAMETOOLONG, "bind", data_dir);
    if ((r = bind_at(host_path, &SANDBOX_DATA_DIR[1], MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV, &step)) < 0)
        fail(c, -r, step, data_dir);
    if (umount2(HOST_DIR, MNT_DETACH) < 0 || rmdir(HOST_DIR) < 0)
        fail(c, errno, "umount", "old root");
    if (mount(NULL, "/", NULL, MS_REMOUNT | MS_BIND | MS_RDONLY | MS_NOSUID | MS_NODEV, NULL) < 0)
        fail(c, errno, "remount", "/");
    if (chdir(SANDBOX_DATA_DIR) < 0)
        fail(c, errno, "chdir", SANDBOX_DATA_DIR);
    if (sethostname(hostname, strlen(hostname)) < 0)
        fail(c, errno, "hostname", hostname);
    set_stdio(c, out_fd, err_fd, chan_fd);
    for (uint32_t i = 0; i < a->n_rlimits; i++) {
        struct rlimit rl = {a->rlimits[i].cur, a->rlimits[i].max};
        if (setrlimit(a->rlimits[i].resource, &rl) < 0)
            fail(c, errno, "setrlimit", NULL);
    }
    /* Every other descriptor closes at execve; the socket with them, which tells the launcher exec worked. */
    if (syscall(SYS_close_range, chan_fd >= 0 ? SANDBOX_CHANNEL_FD + 1U : 3U, ~0U, CLOSE_RANGE_CLOEXEC) < 0)
        fail(c, errno, "close_range", NULL);
    drop_privileges(c, a->uid);
    if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &c->filter, 0, 0) < 0)
        fail(c, errno, "seccomp", NULL);
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, NULL);
    execve(exec, argv, envp);
    fail(c, errno, "exec", exec);
}

void sandbox_child_main(int fd) {
    static struct child c;
    c.fd = fd;

    /* The app starts with default signals: what the launcher ignored (SIGPIPE) stays ignored across
     * execve otherwise. The mask stays until the app's execve: as pid 1 of its namespace the child
     * takes no signal it does not handle anyway. */
    struct sigaction dfl = {.sa_handler = SIG_DFL};
    for (int sig = 1; sig < NSIG; sig++)
        if (sig != SIGKILL && sig != SIGSTOP)
            sigaction(sig, &dfl, NULL);
    /* Root in its namespace already (the launcher's code made it so before execve). */
    receive_plan(&c);
    /* cgroup v1: into the cgroup before anything is charged; the wait for the move is the child's. */
    for (size_t i = 0; i < c.n_procs; i++) {
        int procs = SANDBOX_FD_PROCS + (int)i;
        errno = 0;
        if (pwrite(procs, "0", 1, 0) != 1)
            fail(&c, errno ? errno : EIO, "cgroup", "cgroup.procs");
        close(procs);
    }
    build_base(&c);
    empty_bounding_set(&c);
    char ready = SANDBOX_READY;
    if (send(c.fd, &ready, 1, MSG_NOSIGNAL) != 1)
        _exit(0);
    launch(&c);
}
