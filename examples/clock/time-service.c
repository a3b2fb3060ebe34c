/* time-service.c: the clock's [service time]: answers each message on each connection with the time of day. */
#include <errno.h>
#include <stdio.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <slate/slate.h>

static void on_request(int fd, void *userdata) {
    char buf[64];
    (void)userdata;
    ssize_t n = recv(fd, buf, sizeof buf, MSG_DONTWAIT);
    if (n < 0 && errno == EAGAIN)
        return;
    if (n <= 0) { /* the client went away */
        slate_app_unwatch(fd);
        close(fd);
        return;
    }
    time_t t = time(NULL);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t len = strftime(buf, sizeof buf, "%H:%M:%S UTC", &tm);
    send(fd, buf, len, MSG_NOSIGNAL);
}

static void on_connect(int fd, void *userdata) {
    (void)userdata;
    if (slate_app_watch(fd, on_request, NULL) < 0)
        close(fd);
}

int main(void) {
    struct slate_app_callbacks cb = {.size = sizeof cb, .on_connect = on_connect};
    return slate_app_run(&cb, NULL);
}
