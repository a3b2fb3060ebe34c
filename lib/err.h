/* err.h: how internal code reports a failure to the program that decides what to print. */
#pragma once

#include <errno.h>
#include <stdarg.h>

/*
 * Functions that can fail return 0 or a negative code: a negative errno for a
 * system failure, or a negative refusal below when the input or the policy
 * says no. When the caller passes a struct err, it also receives one line for
 * a person, naming the file, package, symbol or level involved. Libraries
 * never print; the CLI and the daemon print that line once.
 */
enum {
    E_MALFORMED = 1000, /* data is not what it claims: package, manifest, key, ELF */
    E_UNTRUSTED,        /* missing or bad signature, unknown key, key not allowed */
    E_LEVEL,            /* API level outside the device's window */
    E_AUDIT,            /* a binary needs what the platform does not provide */
    E_STATE,            /* the device's state does not allow it (not installed, older, ...) */
};

struct err {
    int code;
    char msg[512];
};

/* Record code and message (when e is not NULL) and return code, negative. */
int err_set(struct err *e, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
int err_setv(struct err *e, int code, const char *fmt, va_list ap) __attribute__((format(printf, 3, 0)));

/* Put "what: " in front of the message already recorded for r; returns r. */
int err_prefix(struct err *e, int r, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* A refusal (bad input, policy) as opposed to a system failure. */
static inline int err_is_refusal(int code) {
    return -code >= E_MALFORMED && -code <= E_STATE;
}
