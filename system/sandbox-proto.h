/* sandbox-proto.h: what the launcher (sandbox.c) and the sandbox's own process (sandbox-child.c) say. */
#pragma once

#include <stdint.h>

/*
 * A sandbox's process starts as a clone3() child of the launcher, in its new
 * namespaces, and at once execs the small sandbox program (slate-sandbox), so
 * that while it waits for an app it holds none of the launcher's memory (a
 * forked copy would keep every page the launcher changes afterwards alive). It
 * finds, at fixed descriptors:
 */
#define SANDBOX_FD_SOCKET 3 /* its end of a SOCK_SEQPACKET pair with the launcher */
#define SANDBOX_FD_PROCS 4  /* cgroup v1: the cgroup.procs files it moves itself into, from here on */
#define SANDBOX_PROCS_MAX 4

/*
 * The socket then carries, in order:
 *   launcher: SANDBOX_GO, once the ids are mapped: the child becomes root in its
 *             namespace and execs the sandbox program (keeping its capabilities there)
 *   launcher: the plan (struct sandbox_plan)
 *   child:    SANDBOX_READY, once the shared root is made
 *   launcher: the app (struct sandbox_assignment) with its descriptors attached
 *   child:    nothing: the socket closes at execve (success)
 * A report (struct sandbox_report) can come instead of any message of the child's.
 */
#define SANDBOX_GO 'g'
#define SANDBOX_READY 'r'

struct sandbox_report {
    int32_t err;
    char what[500];
};

/*
 * The plan: then the seccomp filter (n_filter struct sock_filter), then per bind its
 * MOUNT_ATTR_* (uint32_t each), then per bind two NUL-terminated strings: source, target.
 */
#define SANDBOX_BINDS_MAX 64
#define SANDBOX_FILTER_MAX 4096
#define SANDBOX_MSG_MAX 65536
struct sandbox_plan {
    uint32_t n_binds;
    uint32_t n_procs;      /* cgroup.procs files at SANDBOX_FD_PROCS... */
    uint32_t app_ids;      /* the SANDBOX_ID_ range is mapped (the launcher is root) */
    uint32_t tmp_size_kib; /* /tmp */
    uint32_t n_filter;
};

/*
 * The app: then NUL-terminated strings in this order: app_dir, data_dir, exec,
 * hostname, argv[0..argc), envp[0..envc).
 */
#define SANDBOX_RLIMITS_MAX 16
#define SANDBOX_ARGS_MAX 256
struct sandbox_assignment {
    uint32_t uid; /* inside; 0: stay root */
    uint32_t argc, envc, n_rlimits;
    uint32_t has_stdout, has_stderr, has_channel; /* which descriptors are attached, in that order */
    struct {
        int32_t resource;
        uint64_t cur, max;
    } rlimits[SANDBOX_RLIMITS_MAX];
};

/* The sandbox program's life, on the socket at fd: returns only by execve or exit. */
__attribute__((noreturn)) void sandbox_child_main(int fd);
