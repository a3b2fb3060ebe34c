/* launch-driver.c: starts one app through sandbox_spawn and waits for it: what bench/launch.sh times. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "sandbox.h"

/*
 * Usage: launch-driver [--network] [--repeat N] APP_DIR EXEC DATA_DIR LIBSLATE [ARG...]
 * The same spec slated will build: the app's files, its data, libslate beside the
 * host's C library. Exit status: the app's, or 111 when the launch failed.
 * --repeat N launches N times from this one process, as slated does, and prints the
 * mean time from sandbox_spawn to the app's exit, the first launch apart (it compiles
 * the seccomp filter, once per process).
 */
static double now_ms(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e3 + (double)ts.tv_nsec / 1e6;
}

int main(int argc, char **argv) {
    int i = 1, repeat = 0;
    bool network = false;
    const char *helper = NULL;
    for (; i < argc && argv[i][0] == '-' && argv[i][1] == '-'; i++) {
        if (strcmp(argv[i], "--network") == 0)
            network = true;
        else if (strcmp(argv[i], "--helper") == 0 && i + 1 < argc)
            helper = argv[++i];
        else if (strcmp(argv[i], "--repeat") == 0 && i + 1 < argc)
            repeat = atoi(argv[++i]);
        else
            break;
    }
    if (argc - i < 4 || !helper) {
        fprintf(stderr, "usage: %s --helper SLATE-SANDBOX [--network] [--repeat N] APP_DIR EXEC DATA_DIR LIBSLATE [ARG...]\n",
                argv[0]);
        return 100;
    }
    struct err e = {0};
    struct sandbox_bind libs[SANDBOX_LIBC_BINDS + 1];
    int n = sandbox_libc_binds(libs, &e);
    if (n < 0) {
        fprintf(stderr, "launch-driver: %s\n", e.msg);
        return 111;
    }
    static char target[4096];
    snprintf(target, sizeof target, "%s", libs[1].target);
    snprintf(strrchr(target, '/'), sizeof target - (size_t)(strrchr(target, '/') - target), "/libslate.so.1");
    libs[n++] = (struct sandbox_bind){argv[i + 3], target};

    char *app_argv[64] = {argv[i + 1]};
    for (int k = i + 4, a = 1; k < argc && a < 63; k++)
        app_argv[a++] = argv[k];
    char *envp[] = {"HOME=/data", NULL};
    struct sandbox_base base = {.helper = helper, .libs = libs, .n_libs = (size_t)n, .network = network, .cgroup_fd = -1};
    struct sandbox_spec spec = {
        .app_dir = argv[i],
        .exec = argv[i + 1],
        .data_dir = argv[i + 2],
        .argv = app_argv,
        .envp = envp,
        .stdout_fd = 1,
        .stderr_fd = 2,
        .channel_fd = -1,
    };
    double first = 0, total = 0;
    siginfo_t si = {0};
    for (int run = 0; run < (repeat > 0 ? repeat + 1 : 1); run++) {
        double start = now_ms();
        struct sandbox_child child;
        if (sandbox_spawn(&base, &spec, &child, &e) < 0) {
            fprintf(stderr, "launch-driver: %s\n", e.msg);
            return 111;
        }
        if (waitid((idtype_t)P_PIDFD, (id_t)child.pidfd, &si, WEXITED) < 0)
            return 111;
        close(child.pidfd);
        double ms = now_ms() - start;
        if (run == 0)
            first = ms;
        else
            total += ms;
    }
    if (repeat > 0)
        printf("first launch %.3f ms (compiles the filter); next %d launches: mean %.3f ms\n", first, repeat,
               total / repeat);
    return si.si_code == CLD_EXITED ? si.si_status : 128 + si.si_status;
}
