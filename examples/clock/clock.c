/*
 * clock.c: the example app for slated. Once a second it asks its package's time service for
 * the time and logs it; it keeps its tick count in its settings, pauses its timer when it
 * leaves the screen, and saves when asked to trim. Everything through the SDK (API level 3).
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/timerfd.h>
#include <unistd.h>

#include <slate/slate.h>

struct clock {
    int timer, service;
    long ticks;
};

static void save(struct clock *c) {
    char buf[32];
    snprintf(buf, sizeof buf, "%ld", c->ticks);
    slate_settings_set("ticks", buf);
}

static void arm(struct clock *c, bool on) {
    struct itimerspec its = {0};
    if (on)
        its.it_value.tv_sec = its.it_interval.tv_sec = 1;
    timerfd_settime(c->timer, 0, &its, NULL);
}

static void on_tick(int fd, void *userdata) {
    struct clock *c = userdata;
    uint64_t expirations;
    char now[64] = "?";
    if (read(fd, &expirations, sizeof expirations) != sizeof expirations)
        return;
    if (send(c->service, "time", 4, 0) == 4) {
        ssize_t n = recv(c->service, now, sizeof now - 1, 0);
        now[n > 0 ? n : 0] = '\0';
    }
    c->ticks++;
    printf("tick %ld: %s (from the time service)\n", c->ticks, now);
    fflush(stdout);
}

static void on_start(void *userdata) {
    struct clock *c = userdata;
    char buf[32];
    if (slate_settings_get("ticks", buf, sizeof buf) >= 0)
        c->ticks = strtol(buf, NULL, 10);
    c->service = slate_service_connect("org.example.clock", "time");
    if (c->service < 0) {
        slate_log(SLATE_LOG_ERROR, "no time service: %s", strerror(-c->service));
        slate_app_quit(1);
        return;
    }
    slate_log(SLATE_LOG_INFO, "started on %s after %ld ticks", slate_platform_release(), c->ticks);
    slate_app_watch(c->timer, on_tick, c);
    arm(c, true);
}

static void on_pause(void *userdata) {
    arm(userdata, false); /* nothing to show off screen: no wake-ups */
}

static void on_resume(void *userdata) {
    arm(userdata, true);
}

static void on_trim_memory(enum slate_trim_level level, void *userdata) {
    (void)level;
    save(userdata);
}

static void on_stop(void *userdata) {
    struct clock *c = userdata;
    save(c);
    slate_log(SLATE_LOG_INFO, "stopped after %ld ticks", c->ticks);
}

int main(void) {
    struct clock c = {.service = -1};
    if ((c.timer = timerfd_create(CLOCK_MONOTONIC, TFD_CLOEXEC | TFD_NONBLOCK)) < 0)
        return 1;
    struct slate_app_callbacks cb = {
        .size = sizeof cb,
        .on_start = on_start,
        .on_pause = on_pause,
        .on_resume = on_resume,
        .on_trim_memory = on_trim_memory,
        .on_stop = on_stop,
    };
    return slate_app_run(&cb, &c);
}
