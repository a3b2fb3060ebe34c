/* slated-main.c: slated's entry point (the rest of the daemon is a library, so fuzzers and tests can drive its parts). */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "slated.h"

int main(int argc, char **argv) {
    static struct slated s = {.control_fd = -1, .rootfd = -1};
    struct options o;
    struct err e = {0};

    /* Started with a closed 0, 1 or 2 (as PID 1 may be), the first file slated opens would take its
     * place and receive what is printed; /dev/null holds those places instead. */
    int fd;
    while ((fd = open("/dev/null", O_RDWR | O_CLOEXEC)) >= 0 && fd <= 2)
        fcntl(fd, F_SETFD, 0);
    if (fd > 2)
        close(fd);
    if (slated_parse_options(argc, argv, &o) < 0)
        return 100;
    if (!realpath(o.root, s.root)) {
        fprintf(stderr, "slated: %s: %s\n", o.root, strerror(errno));
        return 111;
    }
    s.freeze_delay_us = o.freeze_delay_ms * 1000;
    s.cache_delay_us = o.cache_delay_ms * 1000;
    s.stop_timeout_us = o.stop_timeout_ms * 1000;
    s.event_timeout_us = 2000000;
    s.default_memory = o.memory;
    /* A child's death or a broken pipe is news, never a reason to exit. */
    signal(SIGPIPE, SIG_IGN);
    if (slated_run(&s, &o, &e) < 0) {
        fprintf(stderr, "slated: %s\n", e.msg[0] ? e.msg : "failed");
        return 111;
    }
    return 0;
}
