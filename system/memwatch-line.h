/* memwatch-line.h: the line slated sets, as memwatch.bpf.c and memwatch.c both see it. */
#pragma once

#include <linux/types.h>

struct memwatch_line {
    __u64 pages; /* wake slated when the machine's free pages fall below this */
    __u64 armed; /* 1: not yet woken since slated set it (64 bits: BPF's atomic exchange) */
};
