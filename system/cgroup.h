/* cgroup.h: slated's cgroups: one folder per app, beneath slated's own, on cgroup v2 or the v1 hierarchies. */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/*
 * slated runs every app in its own cgroup: a memory budget, a process cap, a
 * freezer for background apps, one kill for the whole app, and its memory use.
 * cgroups_open() picks the backend once: cgroup v2 when the unified hierarchy
 * offers the memory controller at slated's own cgroup, the v1 hierarchies
 * (memory required; freezer and pids when mounted) otherwise.
 *
 * Everything lives beneath slated's own cgroup, so that a limit put on slated
 * bounds every app too, in a folder per instance that the caller names
 * ("slated.1234"), so that instances can run side by side:
 *
 *   v1: <hierarchy>/<slated's path in it>/<instance>/<group>, in each hierarchy used
 *   v2: <own>/<instance>/<group>, with slated itself moved into <own>/<instance>/daemon
 *
 * On v2 a cgroup that hands controllers to its children may hold no process,
 * so slated leaves <own> for the daemon leaf and enables memory (and pids) in
 * <own> and <instance>. That needs <own> to hold no other process: slated needs
 * a cgroup of its own (what systemd's Delegate=yes gives a service). Instances
 * opened by one process share that move; the last one closed moves the process
 * back. Instances in different processes sharing one <own> are not supported
 * on v2: opening one refuses while another process still sits in <own>.
 *
 * Nothing here prints and nothing is thread-safe per object; functions that
 * can fail return 0 (or a count) or a negative errno, with one line naming the
 * cgroup file in e when e is not NULL.
 */
struct cgroups;
struct cgroup;

/* The most hierarchies a group spans (v1: memory, freezer, pids). */
#define CGROUP_PROCS_MAX 3

/*
 * Find the cgroup setup of this machine and make instance's folder(s) beneath
 * slated's own cgroup (a leftover folder of the same name is reused). Needs
 * the right to write there (root, or a delegated cgroup). instance: 1 to 64 of
 * [A-Za-z0-9._@-], starting with a letter or digit. Returns 0 with *ret set, or
 * a negative errno: -EOPNOTSUPP when no memory controller can be had, -EBUSY
 * on v2 when slated's own cgroup holds other processes.
 */
int cgroups_open(const char *instance, struct cgroups **ret, struct err *e);

/*
 * Remove the instance folder(s) and, on v2, put slated back where it was.
 * Destroy every group first: a folder that still holds a group stays. Accepts
 * NULL; returns NULL.
 */
struct cgroups *cgroups_close(struct cgroups *c);

/* 1 or 2. */
int cgroups_version(const struct cgroups *c);

/* One line for slated's log: "cgroup v1: memory, freezer, pids under /sys/fs/cgroup/memory/x/slated.1". */
const char *cgroups_describe(const struct cgroups *c);

/* 0 in a field means no limit; so does UINT64_MAX. */
struct cgroup_limits {
    uint64_t memory_max;  /* hard cap in bytes: past it the kernel's OOM killer acts inside the group */
    uint64_t memory_high; /* soft cap in bytes: v2 throttles and reclaims past it; v1 uses it as
                             memory.soft_limit_in_bytes, reclaimed first under global pressure */
    uint64_t pids_max;    /* processes and threads */
    bool no_swap;         /* the group may not swap (v2 memory.swap.max 0; v1 memory+swap capped at
                             memory_max); needs swap accounting, ignored without it */
};

/*
 * Make the group name (an app id such as "org.example.hello" or
 * "org.example.clock@sync": [A-Za-z0-9._@-], starting with a letter or digit,
 * with at least one '.', at most 200 bytes) in every hierarchy, with lim
 * applied (NULL: none). A leftover folder of that name, from a slated of the
 * same instance name that died, is thawed, emptied (SIGKILL) and reused.
 * Returns 0 with *ret set (the caller destroys it), or a negative errno
 * (-EINVAL for a bad name); nothing is left made on failure.
 */
int cgroup_create(struct cgroups *c, const char *name, const struct cgroup_limits *lim, struct cgroup **ret,
                  struct err *e);

/* The group's name, as given to cgroup_create. */
const char *cgroup_name(const struct cgroup *g);

/*
 * v2: the group's folder (O_PATH), owned by the group, for clone3()'s
 * CLONE_INTO_CGROUP, which starts a child inside before it runs. -1 on v1.
 */
int cgroup_dir_fd(const struct cgroup *g);

/*
 * v1 has no CLONE_INTO_CGROUP: open the group's cgroup.procs in each
 * hierarchy (O_WRONLY | O_CLOEXEC) into fds, so that a launcher can write its
 * child's pid there before letting the child run. The caller owns and closes
 * them. Returns the count (at most CGROUP_PROCS_MAX; -ENOBUFS when max is too
 * small), 0 on v2, or a negative errno.
 */
int cgroup_procs_fds(const struct cgroup *g, int *fds, size_t max);

/* Move process pid (all its threads) into the group, in every hierarchy. */
int cgroup_attach(const struct cgroup *g, pid_t pid, struct err *e);

/* Apply lim (NULL: none) to the group; limits not in lim are lifted. */
int cgroup_set_limits(struct cgroup *g, const struct cgroup_limits *lim, struct err *e);

/*
 * Freeze (v2 cgroup.freeze, v1 freezer.state) or thaw the group. Returns once
 * the kernel took the request; freezing completes later: see cgroup_frozen.
 * -EOPNOTSUPP without a freezer (v1 freezer not mounted, v2 before Linux 5.2).
 */
int cgroup_freeze(struct cgroup *g, bool frozen, struct err *e);

/* 1 when every process inside is frozen now, 0 when not (v1 FREEZING is 0), or -EOPNOTSUPP without a freezer. */
int cgroup_frozen(const struct cgroup *g);

/* Memory charged to the group now, in bytes (v2 memory.current, v1 memory.usage_in_bytes). */
int cgroup_memory_current(const struct cgroup *g, uint64_t *ret);

/*
 * Processes the OOM killer killed inside the group so far (v2 memory.events
 * oom_kill; v1 memory.oom_control oom_kill, -EOPNOTSUPP before Linux 4.13).
 */
int cgroup_oom_kills(const struct cgroup *g, uint64_t *ret);

/*
 * Times the group's memory use reached its hard cap so far (v2 memory.events
 * max), or on v1 1 when its high-water mark since cgroup_limit_hits_reset
 * reached the cap, 0 when not. An OOM kill with no new hit came from above:
 * the device ran out, not the app's budget (v1 counts the kill in the
 * victim's group either way).
 */
int cgroup_limit_hits(const struct cgroup *g, uint64_t *ret);
void cgroup_limit_hits_reset(struct cgroup *g);

/* 1 if a live process is inside (zombies do not count), 0 if none, or a negative errno. */
int cgroup_populated(const struct cgroup *g);

/*
 * SIGKILL everything inside, a thawed or frozen group alike. v2 with
 * cgroup.kill (Linux 5.14) returns at once: wait for cgroup_populated() to
 * become 0 (cgroup.events changes then). Otherwise it thaws the group and
 * signals each process in cgroup.procs until none is left, for up to two
 * seconds (-ETIMEDOUT then, some process stuck in the kernel).
 */
int cgroup_kill(struct cgroup *g, struct err *e);

/*
 * Give the group another name (same rules as cgroup_create) in every
 * hierarchy, processes, limits and charges and all: a group made ahead of time
 * becomes an app's. -EEXIST when a group of that name exists; g keeps its name
 * on any failure.
 */
int cgroup_rename(struct cgroup *g, const char *name, struct err *e);

/*
 * Remove the group's folder in every hierarchy and free g. -EBUSY while a
 * process is inside: g is kept, and so it is on any other failure. Accepts
 * NULL.
 */
int cgroup_destroy(struct cgroup *g, struct err *e);

/* ---- the device: slated's own cgroup, which confines slated and every app ---- */

/*
 * The memory limit that confines slated's own cgroup (the lowest along its
 * ancestors; UINT64_MAX when none), and what that cgroup uses now, inactive
 * file cache not counted. This is how a device simulated by a memory-limited
 * cgroup (or a real one) looks to the memory manager.
 */
int cgroups_device_memory(const struct cgroups *c, uint64_t *ret_limit, uint64_t *ret_used);

/* File pages the device read back soon after evicting them (a counter): thrashing shows here before PSI. */
int cgroups_device_refaults(const struct cgroups *c, uint64_t *ret);

/*
 * v1: an eventfd the kernel signals when the device's memory use crosses any
 * of the n thresholds (bytes), either way (memory.usage_in_bytes through
 * cgroup.event_control). Returns the fd (the caller's) or a negative errno;
 * -EOPNOTSUPP on v2.
 */
int cgroups_usage_eventfd(const struct cgroups *c, const uint64_t *thresholds, size_t n, struct err *e);

/*
 * v1: an eventfd the kernel signals when reclaim in the device reaches level
 * ("low": any reclaim; "medium", "critical"), through memory.pressure_level
 * (vmpressure). Reclaim is what a usage threshold cannot show once the device
 * sits above it with page cache: new memory then comes from evicting cache,
 * and usage stays flat. -EOPNOTSUPP on v2.
 */
int cgroups_vmpressure_eventfd(const struct cgroups *c, const char *level, struct err *e);

/*
 * v2: a PSI trigger on the device's memory.pressure ("some 150000 2000000":
 * 150 ms of stall within 2 s); the fd reports EPOLLPRI. -EOPNOTSUPP on v1.
 */
int cgroups_pressure_fd(const struct cgroups *c, const char *trigger, struct err *e);
/* v2: the same on one group's memory.pressure (an app's: its own stalls). -EOPNOTSUPP on v1. */
int cgroup_pressure_fd(const struct cgroup *g, const char *trigger, struct err *e);

/*
 * v2: memory.min of the group: up to min bytes of it are never reclaimed for others (the
 * foreground app's working set). -EOPNOTSUPP on v1, which has no such protection. A group's
 * protection counts only as far as its parent's reaches: see cgroups_protect.
 */
int cgroup_set_protection(struct cgroup *g, uint64_t min, struct err *e);

/*
 * v2: memory.min of slated's daemon leaf (slated protects itself), and of the instance folder: the
 * daemon's plus groups_min, what the groups beneath claim together (their protection reaches no
 * further than their parent's). The instance in turn is protected only as far as slated's own cgroup
 * is (systemd: MemoryMin= on slated's unit; the root cgroup's children need nothing). -EOPNOTSUPP on v1.
 */
int cgroups_protect(const struct cgroups *c, uint64_t daemon_min, uint64_t groups_min, struct err *e);

/*
 * v2: a tripwire for the memory manager. The instance folder is the common parent of every group
 * and of slated itself: cgroups_apps_current reads its memory.current; cgroups_apps_set_high sets
 * its memory.high (UINT64_MAX: max), above what it uses, so that crossing it counts a "high" event
 * in its memory.events.local (its own, not its groups' events), whose fd (cgroups_apps_events_fd, the
 * caller's) reports EPOLLPRI when a count there changes, until it is read again (cgroups_events_count).
 * Crossing it also makes the task that allocated reclaim from the groups beneath, as any memory.high
 * does: lift it at once. -EOPNOTSUPP on v1.
 */
int cgroups_apps_current(const struct cgroups *c, uint64_t *ret);
int cgroups_apps_set_high(struct cgroups *c, uint64_t high, struct err *e);
int cgroups_apps_events_fd(const struct cgroups *c, struct err *e);

/*
 * v2: memory.events.local of the cgroup whose memory.max confines the device (<own> or an ancestor),
 * whose "max" counts each time the device reached its limit (an app's own cap does not count): the
 * kernel reclaims there, and kills next. -ENOENT when nothing confines it, -EOPNOTSUPP on v1.
 */
int cgroups_device_events_fd(const struct cgroups *c, struct err *e);

/* The count of key ("high", "max") in the memory.events(.local) open at fd, read from its start. */
int cgroups_events_count(int fd, const char *key, uint64_t *ret);
