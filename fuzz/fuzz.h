/* fuzz.h: what every fuzz target shares: the libFuzzer entry point and an optional trace of results. */
#pragma once

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "err.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#ifdef SLATE_LIBFUZZER /* linked with libFuzzer, not driver.c */
size_t LLVMFuzzerMutate(uint8_t *data, size_t size, size_t max_size);
size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed);
#endif

/*
 * With SLATE_FUZZ_TRACE set, print each parser's verdict: the way to check
 * that the seeds get past the first checks, and to read what a crash input is.
 */
static inline void fuzz_trace(const char *what, int r, const struct err *e) {
    static int on = -1;
    if (on < 0)
        on = getenv("SLATE_FUZZ_TRACE") != NULL;
    if (on)
        fprintf(stderr, "%s: %s\n", what, r < 0 ? (e->msg[0] ? e->msg : "failed") : "ok");
}
