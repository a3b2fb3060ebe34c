/* memwatch.h: an early word from the kernel when the machine's free pages fall below a line (eBPF). */
#pragma once

#include <stdint.h>

#include "err.h"

struct memwatch;

/*
 * Load memwatch.bpf.c and attach it to page allocation (needs CAP_BPF and CAP_PERFMON, as root has,
 * and a kernel whose symbols include its data, as distributions build them). libbpf is loaded for
 * that and unloaded after: what stays is the program, its two maps and three fds. Disarmed at first.
 */
int memwatch_open(struct memwatch **ret, struct err *e);
/* Readable (EPOLLIN) once the line was crossed; memwatch_consume() makes it quiet again. */
int memwatch_fd(const struct memwatch *w);
void memwatch_consume(struct memwatch *w);
/* Wake once when the machine's free memory (MemFree) falls below free_b bytes (0: never); each
 * crossing disarms it until the next call. */
int memwatch_arm(struct memwatch *w, uint64_t free_b);
void memwatch_close(struct memwatch *w);
