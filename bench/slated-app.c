/* slated-app.c: the app bench/slated.sh starts: the first thing main does is read CLOCK_MONOTONIC. */
#include <fcntl.h>
#include <stdio.h>
#include <time.h>
#include <unistd.h>

#include <slate/slate.h>

/*
 * It writes that time, in nanoseconds, to "stamp" in its working folder (/data
 * in a sandbox: the data folder; slated and bwrap both start it there), by a
 * rename so that a reader never sees half a number, and returns. Everything
 * after the clock read is outside the measured time.
 *
 * When the folder holds a file "stay", it runs the SDK's loop instead of
 * returning, until slated stops it: the memory part of the benchmark starts
 * and stops apps that way, so slated goes through a whole lifecycle (channel,
 * hello, start and stop events) for each.
 */
int main(void) {
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);

    char text[32];
    int n = snprintf(text, sizeof text, "%lld\n", (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec);
    int fd = open("stamp.tmp", O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, (size_t)n) != n || close(fd) < 0 || rename("stamp.tmp", "stamp") < 0) {
        perror("slated-app: stamp");
        return 1;
    }
    if (access("stay", F_OK) == 0) {
        struct slate_app_callbacks cb = {.size = sizeof cb};
        return slate_app_run(&cb, NULL);
    }
    return 0;
}
