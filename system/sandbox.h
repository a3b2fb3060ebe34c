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

/*
 * When the caller is root, sandboxes map the host ids [SANDBOX_ID_BASE,
 * SANDBOX_ID_BASE + SANDBOX_ID_COUNT) into their user namespace: root inside
 * is the host's SANDBOX_ID_BASE, never the host's root, and an app given a
 * host id runs as (host id - SANDBOX_ID_BASE) inside, with no capability even
 * there. The range lies far above login and subordinate ids (/etc/subuid). A
 * caller that is not root maps its own ids to root inside, and nothing else.
 */
#define SANDBOX_ID_BASE 0x20000000u
#define SANDBOX_ID_COUNT 0x20000000u

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
 * What every sandbox of a kind shares, known before any app is: it is made
 * ahead of time from this. The root holds each of libs (read-only, at its
 * target), /dev with null, zero and urandom, a /proc for the sandbox's own pid
 * namespace and a small /tmp; / itself is read-only. Nothing is borrowed after
 * the call that takes it returns.
 */
struct sandbox_base {
    const char *helper;              /* the sandbox program (slate-sandbox), by its absolute path */
    const struct sandbox_bind *libs; /* libslate, the loader and the C library */
    size_t n_libs;
    bool network;             /* false: a network namespace holding only lo, down */
    unsigned tmp_size_kib;    /* size of /tmp; 0: 16 MiB */
    int cgroup_fd;            /* cgroup v2 folder to start in (CLONE_INTO_CGROUP); -1: the caller's */
    const int *cgroup_procs;  /* cgroup v1: cgroup.procs files the child moves itself into before it
                                 does anything else (the caller's open files: its rights count) */
    size_t n_cgroup_procs;
};

/* The app a sandbox runs: its folders, its command, its descriptors and its identity. */
struct sandbox_spec {
    const char *app_dir;  /* host folder of the app's files, bound read-only at /app */
    const char *exec;     /* what to run: a path under /app */
    const char *data_dir; /* host folder of the app's private data, bound read-write at /data */
    char *const *argv;    /* NULL-terminated; argv[0] is the app's name */
    char *const *envp;    /* NULL-terminated, used as given (set HOME=/data) */
    const struct sandbox_rlimit *rlimits;
    size_t n_rlimits;
    int stdout_fd, stderr_fd; /* given to the app; -1 for /dev/null */
    int channel_fd;           /* given to the app as fd SANDBOX_CHANNEL_FD (slated's channel); -1: none */
    uid_t host_uid;           /* a root caller: the host uid and gid the app runs as, inside the
                                 SANDBOX_ID_ range (its data folder should be theirs); 0: root inside */
    const char *hostname;     /* NULL: "slate" */
};

struct sandbox_child {
    pid_t pid; /* as the caller's pid namespace sees it; the app itself is pid 1 */
    int pidfd; /* owned by the caller: poll it for exit, waitid(P_PIDFD) to reap */
};

/*
 * The host's dynamic loader and the C library beside it (libc.so.6, libm.so.6),
 * ready to use as sandbox_base.libs: the loader at the path the ABI gives it
 * (PT_INTERP), the libraries at their real host path, which the loader searches
 * by default. ret must have room for SANDBOX_LIBC_BINDS entries; the paths
 * point into a static buffer filled once. Returns the number of entries or a
 * negative errno.
 */
#define SANDBOX_LIBC_BINDS 3
int sandbox_libc_binds(struct sandbox_bind *ret, struct err *e);

/*
 * A sandbox made ahead of time, waiting for its app. Making one is most of
 * what a launch costs: one clone3() into new user, mount, pid, ipc, uts and
 * (without base->network) net namespaces, the move into its cgroup (on cgroup
 * v1 a write to cgroup.procs that can wait for an RCU grace period, several
 * milliseconds), and a root of the shared binds. sandbox_prepare starts that
 * and returns at once; the child, which runs base->helper (so that it holds
 * none of the caller's memory while it waits), works on while the caller does
 * other things, and tells it is ready through sandbox_spare_fd. A launch into a
 * ready spare then only binds the app's folders, takes its identity and execs.
 *
 * The spare's cgroup (base->cgroup_fd or ->cgroup_procs) becomes the app's: a
 * caller that names cgroups after apps renames it at launch.
 */
struct sandbox_spare;

/* Start making a spare. 0 with *ret set, or a negative errno with e saying why; nothing is left then. */
int sandbox_prepare(const struct sandbox_base *base, struct sandbox_spare **ret, struct err *e);

/* Readable once the spare is ready or failed: then sandbox_spare_poll says which. */
int sandbox_spare_fd(const struct sandbox_spare *sp);

/* The spare's process (for a caller that reaps orphans: it is not one). */
pid_t sandbox_spare_pid(const struct sandbox_spare *sp);

/* Whether it was made for apps holding the network permission. */
bool sandbox_spare_network(const struct sandbox_spare *sp);

/*
 * 1 when the spare is ready, 0 when it is still being made (wait: block until
 * it is not), or a negative errno with e naming the step that failed
 * ("bind /x/lib.so: No such file or directory"): then free it.
 */
int sandbox_spare_poll(struct sandbox_spare *sp, bool wait, struct err *e);

/*
 * Run spec in the spare (waiting for it to be ready first, when it is not).
 * The spare is used up either way. Returns once the app has reached execve():
 * 0 with ret filled, or a negative errno with one line in e naming the step
 * and the path that failed; nothing is left running then.
 */
int sandbox_launch(struct sandbox_spare *sp, const struct sandbox_spec *spec, struct sandbox_child *ret,
                   struct err *e);

/* Kill and reap an unused spare. Accepts NULL; returns NULL. */
struct sandbox_spare *sandbox_spare_free(struct sandbox_spare *sp);

/*
 * Kill an unused spare without waiting for it to end (a process in its own
 * namespaces takes milliseconds to tear them down): the rest is freed, and its
 * pidfd is returned for the caller to reap; -1 when it had none.
 */
int sandbox_spare_release(struct sandbox_spare *sp);

/*
 * sandbox_prepare, then sandbox_launch at once: a sandbox for one app, made
 * when it is needed. The app is pid 1 of its pid namespace: only SIGKILL stops
 * it unless it handles the signal itself. Needs Linux 5.12 (clone3, pidfd,
 * open_tree, mount_setattr).
 */
int sandbox_spawn(const struct sandbox_base *base, const struct sandbox_spec *spec, struct sandbox_child *ret,
                  struct err *e);

/*
 * The seccomp filter every sandbox gets, written to fd as raw BPF (the format bwrap's
 * --seccomp reads), so that a comparison runs the very same filter. 0 or a negative errno.
 */
int sandbox_export_filter(int fd, struct err *e);
