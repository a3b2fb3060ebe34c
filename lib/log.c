/* log.c: one line per message on standard error, with a syslog priority prefix. */
#include <errno.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slate/log.h>

#define LINE_MAX_BYTES 4096

static atomic_int threshold = -1; /* -1: not read from the environment yet */

static int current_threshold(void) {
    int t = atomic_load_explicit(&threshold, memory_order_relaxed);
    if (t >= 0)
        return t;
    const char *env = getenv("SLATE_LOG_LEVEL");
    t = SLATE_LOG_INFO;
    if (env && env[0] >= '3' && env[0] <= '7' && env[1] == '\0')
        t = env[0] - '0';
    int expected = -1;
    /* A concurrent slate_log_set_threshold() wins over the environment. */
    if (!atomic_compare_exchange_strong(&threshold, &expected, t))
        t = expected;
    return t;
}

bool slate_log_enabled(enum slate_log_level level) {
    return (int)level <= current_threshold();
}

enum slate_log_level slate_log_set_threshold(enum slate_log_level level) {
    int old = current_threshold();
    if (level < SLATE_LOG_ERROR)
        level = SLATE_LOG_ERROR;
    if (level > SLATE_LOG_DEBUG)
        level = SLATE_LOG_DEBUG;
    atomic_store(&threshold, (int)level);
    return (enum slate_log_level)old;
}

void slate_logv(enum slate_log_level level, const char *fmt, va_list ap) {
    if (!slate_log_enabled(level))
        return;
    if (level < SLATE_LOG_ERROR)
        level = SLATE_LOG_ERROR;
    if (level > SLATE_LOG_DEBUG)
        level = SLATE_LOG_DEBUG;

    char line[LINE_MAX_BYTES];
    int saved_errno = errno; /* so %m and the caller's errno both survive */
    int head = snprintf(line, sizeof line, "<%d>%s: ", (int)level, program_invocation_short_name);
    if (head < 0 || (size_t)head >= sizeof line / 2)
        head = snprintf(line, sizeof line, "<%d>app: ", (int)level);
    errno = saved_errno;
    int body = vsnprintf(line + head, sizeof line - (size_t)head - 1, fmt, ap);
    size_t n = (size_t)head + (body < 0 ? 0 : (size_t)body);
    if (n > sizeof line - 2) {
        n = sizeof line - 2;
        memcpy(line + n - 3, "...", 3);
    }
    for (size_t i = (size_t)head; i < n; i++)
        if (line[i] == '\n' || line[i] == '\r')
            line[i] = ' ';
    line[n++] = '\n';
    for (size_t off = 0; off < n;) {
        ssize_t k = write(STDERR_FILENO, line + off, n - off);
        if (k < 0 && errno == EINTR)
            continue;
        if (k <= 0)
            break;
        off += (size_t)k;
    }
    errno = saved_errno;
}

void slate_log(enum slate_log_level level, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    slate_logv(level, fmt, ap);
    va_end(ap);
}
