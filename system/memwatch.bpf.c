/*
 * memwatch.bpf.c: the kernel's side of memwatch.c. Each time a CPU takes pages from the buddy
 * allocator (a batch for its page lists, or a large block), look at the machine's free pages;
 * below the line slated set, and armed, disarm and wake slated through the ring buffer. No
 * allocation stalls for it and nothing runs while nothing allocates: the early word that PSI
 * (after a stall) and memory.high (a reclaim pass) give only once someone has paid.
 *
 * Built with clang -target bpf into slated (embedded); loaded only where slated manages a whole
 * machine's memory. The license string is the kernel's for GPL-only helpers: the project is MIT.
 */
#include <linux/bpf.h>
#include <bpf/bpf_helpers.h>

#include "memwatch-line.h"

struct {
    __uint(type, BPF_MAP_TYPE_ARRAY);
    __uint(max_entries, 1);
    __type(key, __u32);
    __type(value, struct memwatch_line);
} line SEC(".maps");

struct {
    __uint(type, BPF_MAP_TYPE_RINGBUF);
    __uint(max_entries, 4096);
} wake SEC(".maps");

/* vm_zone_stat[NR_FREE_PAGES], the first of the zone counters: /proc/meminfo's MemFree. */
extern const void vm_zone_stat __ksym;

/* A raw tracepoint: attached by name, with no tracefs mounted (slated may be PID 1). */
SEC("raw_tp/mm_page_alloc_zone_locked")
int on_alloc(void *ctx) {
    __u32 key = 0;
    struct memwatch_line *l = bpf_map_lookup_elem(&line, &key);
    long free = 0;
    (void)ctx;
    if (!l || !l->armed)
        return 0;
    if (bpf_probe_read_kernel(&free, sizeof free, &vm_zone_stat) < 0 || free < 0 || (__u64)free >= l->pages)
        return 0;
    if (!__sync_lock_test_and_set(&l->armed, 0)) /* another CPU got there first */
        return 0;
    __u64 v = (__u64)free;
    bpf_ringbuf_output(&wake, &v, sizeof v, 0);
    return 0;
}

char LICENSE[] SEC("license") = "Dual MIT/GPL";
