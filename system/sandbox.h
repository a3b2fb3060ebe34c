/* sandbox.h: start one app in its own namespaces, root, seccomp filter and limits. */
#pragma once

#include <limits.h>
#include <stdbool.h>
#include <stddef.h>
#include <sys/resource.h>
#include <sys/types.h>

#include "err.h"

/* Where the spec's folders appear inside the sandbox. */
#define SANDBOX_APP_DIR "/app"
#define SANDBOX_DATA_DIR "/data" /* also the app's $HOME and working directory */
#define SANDBOX_CHANNEL_FD 3     /* where spec.channel_fd appears in the app */

/* One host file or folder bound read-only into the sandbox. */
struct sandbox_bind {
    const char *source; /* host path */
    const char *target; /* absolute path inside the sandbox */
};

struct sandbox_rlimit {
    int resource; /* RLIMIT_* */
    rlim_t cur, max;
};

/*
 * What to start and what it may see. Nothing is borrowed after sandbox_spawn
 * returns. The sandbox root holds only: app_dir at /app (read-only), data_dir
 * at /data (read-write), each of libs (read-only, at its target), /dev with
 * null, zero and urandom, a /proc for the app's own pid namespace and a small
 * /tmp; / itself is read-only.
 */
struct sandbox_spec {
    const char *app_dir;             /* host folder of the app's files */
    const char *exec;                /* what to run: a path under /app */
    const char *data_dir;            /* host folder of the app's private data */
    const struct sandbox_bind *libs; /* libslate, the loader and the C library */
    size_t n_libs;
    char *const *argv; /* NULL-terminated; argv[0] is the app's name */
    char *const *envp; /* NULL-terminated, used as given (set HOME=/data) */
    bool network;      /* false: a network namespace holding only lo, down */
    const struct sandbox_rlimit *rlimits;
    size_t n_rlimits;
    int stdout_fd, stderr_fd; /* given to the app; -1 for /dev/null */
    int cgroup_fd;            /* cgroup v2 folder to start in (CLONE_INTO_CGROUP); -1: the caller's */
    const int *cgroup_procs;  /* cgroup v1: cgroup.procs files the child's pid is written to before it runs */
    size_t n_cgroup_procs;
    int channel_fd;           /* given to the app as fd SANDBOX_CHANNEL_FD (slated's channel); -1: none */
    uid_t host_uid;           /* root inside maps to this host uid and gid (a root caller only); 0: the caller's */
    const char *hostname;     /* NULL: "slate" */
    unsigned tmp_size_kib;    /* size of /tmp; 0: 16 MiB */
};

struct sandbox_child {
    pid_t pid; /* as the caller's pid namespace sees it; the app itself is pid 1 */
    int pidfd; /* owned by the caller: poll it for exit, waitid(P_PIDFD) to reap */
};

/*
 * The host's dynamic loader and the C library beside it (libc.so.6, libm.so.6),
 * ready to use as sandbox_spec.libs: the loader at the path the ABI gives it
 * (PT_INTERP), the libraries at their real host path, which the loader searches
 * by default. ret must have room for SANDBOX_LIBC_BINDS entries; the paths
 * point into a static buffer filled once. Returns the number of entries or a
 * negative errno.
 */
#define SANDBOX_LIBC_BINDS 3
int sandbox_libc_binds(struct sandbox_bind *ret, struct err *e);

/*
 * Start spec->exec in a new sandbox: new user (root inside mapped to the
 * caller's uid and gid), mount, pid, ipc, uts and (without spec->network) net
 * namespaces, created in one clone3() call. Returns once the app has reached
 * execve(): 0 with ret filled, or a negative errno with one line in e naming
 * the step and the path that failed ("bind /x/lib.so: No such file or
 * directory"); nothing is left running then. The app is pid 1 of its pid
 * namespace: only SIGKILL stops it unless it handles the signal itself.
 * Needs Linux 5.12 (clone3, pidfd, open_tree, mount_setattr).
 */
int sandbox_spawn(const struct sandbox_spec *spec, struct sandbox_child *ret, struct err *e);

/*
 * The seccomp filter every sandbox gets, written to fd as raw BPF (the format bwrap's
 * --seccomp reads), so that a comparison runs the very same filter. 0 or a negative errno.
 */
int sandbox_export_filter(int fd, struct err *e);
