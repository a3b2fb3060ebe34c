/* err.c: recording one readable failure line. */
#include "err.h"

#include <stdio.h>
#include <string.h>

int err_setv(struct err *e, int code, const char *fmt, va_list ap) {
    if (code > 0)
        code = -code;
    if (e) {
        e->code = code;
        vsnprintf(e->msg, sizeof e->msg, fmt, ap);
    }
    return code;
}

int err_set(struct err *e, int code, const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    code = err_setv(e, code, fmt, ap);
    va_end(ap);
    return code;
}

int err_prefix(struct err *e, int r, const char *fmt, ...) {
    char head[256], joined[sizeof head + sizeof e->msg + 2];
    va_list ap;

    if (!e)
        return r;
    va_start(ap, fmt);
    vsnprintf(head, sizeof head, fmt, ap);
    va_end(ap);
    snprintf(joined, sizeof joined, "%s: %s", head, e->msg);
    snprintf(e->msg, sizeof e->msg, "%.*s", (int)sizeof e->msg - 1, joined);
    return r;
}
