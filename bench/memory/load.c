/*
 * load.c: the memory benchmark's apps as plain processes (bench/memory.sh), for the runs that
 * have no slated to start SDK apps: the guest under earlyoom. It does what the SDK test app
 * (tests/slated/testapp.c) does under the ids ...hoard and ...grow, with the same pattern:
 *
 *   load hoard MIB   touches MIB MiB at once, says "hoarding=MIB", then waits: a cached app
 *   load grow MIB    touches 2 MiB every 25 ms up to MIB MiB, says "done", then waits: the
 *                    foreground app that puts the device under pressure
 *
 * Built static, so the guest needs no library for it. The guest installs it under two names
 * (fgapp, bgapp): a process's name is what earlyoom's --avoid and --prefer match.
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#define STEP_MIB 2
#define STEP_NS 25000000L /* testapp.c's timerfd period */

/* Kept where the compiler cannot prove nobody reads it, or malloc and memset would be elided. */
static char *volatile held[4096];
static size_t n_held;

static void touch_mib(long mib) {
    char *p = malloc((size_t)mib << 20);
    if (!p) {
        printf("malloc failed\n");
        return;
    }
    memset(p, 0x5a, (size_t)mib << 20);
    held[n_held++ % 4096] = p;
}

static long long ns_of(const struct timespec *t) {
    return t->tv_sec * 1000000000LL + t->tv_nsec;
}

/*
 * One step per period on a fixed grid, as testapp.c's periodic timerfd fires: a step that comes
 * late runs at once, and the periods it missed count as one (a timerfd read returns them
 * together), so a slow device is not made to catch up.
 */
static void grow(long goal) {
    struct timespec t;
    clock_gettime(CLOCK_MONOTONIC, &t);
    long long next = ns_of(&t);
    printf("growing\n");
    for (long grown = 0; grown < goal;) {
        next += STEP_NS;
        clock_gettime(CLOCK_MONOTONIC, &t);
        if (ns_of(&t) >= next) {
            while (next + STEP_NS <= ns_of(&t))
                next += STEP_NS;
        } else {
            struct timespec at = {.tv_sec = next / 1000000000LL, .tv_nsec = next % 1000000000LL};
            while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &at, NULL) != 0)
                ;
        }
        touch_mib(STEP_MIB);
        grown += STEP_MIB;
        if (grown % 16 == 0)
            printf("grown=%ld\n", grown);
    }
    printf("done\n");
}

int main(int argc, char **argv) {
    long mib = argc == 3 ? atol(argv[2]) : 0;
    if (mib <= 0 || (strcmp(argv[1], "hoard") != 0 && strcmp(argv[1], "grow") != 0)) {
        fprintf(stderr, "usage: load hoard|grow MIB\n");
        return 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    if (strcmp(argv[1], "hoard") == 0) {
        touch_mib(mib);
        printf("hoarding=%ld\n", mib);
    } else
        grow(mib);
    for (;;)
        pause();
}
