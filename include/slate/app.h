/* slate/app.h: an app's life under slated: callbacks, its event loop, services. */
#pragma once

#include <stddef.h>
#include <slate/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The lifecycle slated drives (see docs/lifecycle.md):
 *
 *   on_start          the app was started; set up and show something
 *   on_pause          another app came to the foreground; stop animations, save what the user typed
 *   on_resume         the app is in the foreground again
 *   on_trim_memory    give memory back: drop caches, save state (the app may be frozen next)
 *   on_stop           the app is stopped; save and release; slate_app_run returns afterwards
 *
 * slated waits for each callback to return before it freezes or stops the app
 * (up to a few seconds), so a callback should do its work and return.
 */
enum slate_trim_level {
    SLATE_TRIM_BACKGROUND = 1, /* the app left the screen and is about to be frozen */
    SLATE_TRIM_MODERATE = 2,   /* memory is short; cached apps are being reclaimed */
    SLATE_TRIM_CRITICAL = 3,   /* memory is very short; the app is among the next to go */
};

struct slate_app_callbacks {
    size_t size; /* sizeof(struct slate_app_callbacks): lets later levels add callbacks */
    void (*on_start)(void *userdata);
    void (*on_pause)(void *userdata);
    void (*on_resume)(void *userdata);
    void (*on_stop)(void *userdata);
    void (*on_trim_memory)(enum slate_trim_level level, void *userdata);
    /* A service's new client: fd is a connected SOCK_SEQPACKET socket, now the app's to close. */
    void (*on_connect)(int fd, void *userdata);
};

/**
 * Run the app: deliver lifecycle callbacks and watched file descriptors until
 * on_stop has run or slate_app_quit() is called. Returns the exit code to
 * return from main(): 0, or the code given to slate_app_quit(). Outside slated
 * (run by hand), on_start comes at once and SIGINT or SIGTERM stops the app.
 * A negative errno when @callbacks is unusable.
 */
SLATE_SINCE(3) int slate_app_run(const struct slate_app_callbacks *callbacks, void *userdata);

/** Make slate_app_run return @code once the current callback returns (on_stop is not called). */
SLATE_SINCE(3) void slate_app_quit(int code);

/** Called from slate_app_run's loop when a watched fd is readable (or hung up). */
typedef void (*slate_fd_fn)(int fd, void *userdata);

/**
 * Watch @fd for input from slate_app_run's loop, so one thread serves the
 * lifecycle and the app's own sockets (a service's clients, say). Returns 0
 * or a negative errno (-EEXIST when @fd is watched already).
 */
SLATE_SINCE(3) int slate_app_watch(int fd, slate_fd_fn fn, void *userdata);

/** Stop watching @fd (before closing it). Returns 0 or -ENOENT. */
SLATE_SINCE(3) int slate_app_unwatch(int fd);

/**
 * The package id this app runs as ("org.example.hello"), or NULL outside slated.
 */
SLATE_SINCE(3) const char *slate_app_id(void);

/**
 * Connect to @service of package @package ("org.example.clock", "time"),
 * started by slated on demand. Returns a connected SOCK_SEQPACKET socket
 * (close-on-exec), the caller's to close, or a negative errno: -ENOENT (no
 * such service), -ENOTCONN (not running under slated).
 */
SLATE_SINCE(3) int slate_service_connect(const char *package, const char *service);

#ifdef __cplusplus
}
#endif
