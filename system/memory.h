/* memory.h: slated's memory manager: pressure in, trims and kills out, one at a time. */
#pragma once

#include <stdbool.h>
#include <stdint.h>

struct slated;
struct unit;

/*
 * Importance, as Android ranks processes: what the user would miss most comes
 * first. The manager reclaims from the end of the list and never touches the
 * foreground app (or slated, which is not an app).
 */
enum importance {
    IMP_FOREGROUND,  /* the app on screen */
    IMP_VISIBLE,     /* still on screen, paused */
    IMP_PERCEPTIBLE, /* a service the foreground or a visible app is using */
    IMP_SERVICE,     /* another running service */
    IMP_PREVIOUS,    /* the app the user left last: likely to come back */
    IMP_CACHED,      /* every other app in the background */
    IMP_NONE,        /* not running */
};

const char *importance_name(enum importance i);
enum importance unit_importance(const struct unit *u);

/*
 * The manager wakes only for events: PSI triggers on the machine's memory
 * pressure (/proc/pressure/memory; 500 ms windows with CAP_SYS_RESOURCE, 2 s
 * without) and, for the device slated's own cgroup confines, usage thresholds
 * at its trim and kill lines and its reclaim (cgroup v1: cgroup.event_control,
 * memory.pressure_level), or on v2 that cgroup's own PSI trigger and its limit
 * hits. On v2 a tripwire stands in for the thresholds: a memory.high on the
 * apps' common parent at the trim or kill line, lifted as soon as it is crossed
 * (crossing it costs the allocating app a reclaim pass); from then on the
 * manager looks every 50 ms while free memory keeps falling, and sets the
 * tripwire again once it has stopped for half a second. While memory is
 * critical it looks again every 100 ms; short but trimmed and above the kill
 * line, it waits for the next event; a calm device costs no wake-up at all.
 *
 * Below the trim line (free memory under 20% of the device, at least 32 MiB) the
 * background apps get trim-memory; below the kill line (10%, at least 16 MiB),
 * with a full stall, or while the device thrashes (refaults), one app is killed: cached apps least recently used
 * first, then the previous app, services, perceptible services, visible apps;
 * never the foreground app. It waits for the victim's memory to come back
 * (its pidfd, process_mrelease) before deciding again.
 */
struct memmgr_config {
    uint64_t trim_free; /* 0: 20% of the device */
    uint64_t kill_free; /* 0: 10% of the device */
    bool disabled;      /* --no-memory-manager: leave it to the kernel (benchmarks compare) */
};

int memmgr_start(struct slated *s, const struct memmgr_config *cfg);
void memmgr_stop(struct slated *s);
/* slated went idle: give the kernel back the heap it freed (locked pages included). */
void memmgr_trim_self(struct slated *s);
/* A unit ended: if it was the victim, its memory is back; look again. */
void memmgr_unit_ended(struct slated *s, struct unit *u);
/*
 * The importance of units changed (lifecycle): update their OOM scores and, on
 * v2, their protection (memory.min: the foreground app's budget).
 */
void memmgr_rank(struct slated *s);
