/* slate/log.h: logging for apps, one line per message on standard error. */
#pragma once

#include <stdarg.h>
#include <stdbool.h>
#include <slate/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/* Priorities follow syslog's numbering, so the platform can read them back. */
enum slate_log_level {
    SLATE_LOG_ERROR = 3,
    SLATE_LOG_WARNING = 4,
    SLATE_LOG_NOTICE = 5,
    SLATE_LOG_INFO = 6,
    SLATE_LOG_DEBUG = 7,
};

/*
 * Each message becomes one line on standard error: "<P>TAG: MESSAGE", where P
 * is the priority (as sd-daemon(3) prefixes it) and TAG the program name.
 * Newlines inside a message are replaced by spaces, so one call is one line.
 * A message is written with a single write(2), so lines from several threads
 * never interleave. Messages longer than 4000 bytes are cut, ending in "...".
 */

/**
 * Log a printf-style message at @level. Never fails visibly: logging must not
 * be able to break an app.
 */
SLATE_SINCE(1) void slate_log(enum slate_log_level level, const char *fmt, ...) SLATE_PRINTF(2, 3);

/** As slate_log(), with a va_list. */
SLATE_SINCE(1) void slate_logv(enum slate_log_level level, const char *fmt, va_list ap) SLATE_PRINTF(2, 0);

/**
 * Drop messages less important than @level from now on (the default keeps
 * everything up to SLATE_LOG_INFO; $SLATE_LOG_LEVEL, a number 3..7, overrides
 * the default at start). Returns the previous threshold.
 */
SLATE_SINCE(2) enum slate_log_level slate_log_set_threshold(enum slate_log_level level);

/**
 * Whether a message at @level would be written, so an app can skip building
 * an expensive message that would be dropped.
 */
SLATE_SINCE(2) bool slate_log_enabled(enum slate_log_level level);

#ifdef __cplusplus
}
#endif
