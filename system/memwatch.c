/*
 * memwatch.c: the memory manager's early word on a machine (memwatch.bpf.c): a line in free pages
 * that the kernel checks at each page batch it hands out, and a ring buffer that wakes slated once
 * it is crossed. Unlike the tripwire (memory.high), crossing it costs the allocating app nothing.
 */
#include "memwatch.h"

#include <bpf/libbpf.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/bpf.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "dl.h"
#include "memwatch-line.h"

extern const unsigned char memwatch_bpf[];
extern const size_t memwatch_bpf_size;

#define BPF_SYMBOLS(X)                                                                                                 \
    X(bpf_link__destroy)                                                                                               \
    X(bpf_link__disconnect)                                                                                            \
    X(bpf_link__fd)                                                                                                    \
    X(bpf_map__fd)                                                                                                     \
    X(bpf_object__close)                                                                                               \
    X(bpf_object__find_map_by_name)                                                                                    \
    X(bpf_object__find_program_by_name)                                                                                \
    X(bpf_object__load)                                                                                                \
    X(bpf_object__open_mem)                                                                                            \
    X(bpf_program__attach)                                                                                             \
    X(libbpf_set_print)
int dlopen_bpf(struct err *e);
DL_LIBRARY(bpf, "libbpf.so.1", "libbpf", BPF_SYMBOLS, NULL, true)

struct memwatch {
    int link_fd, line_fd, wake_fd;
    uint64_t *consumer;       /* the ring buffer's consumer position (mapped read-write) */
    const uint64_t *producer; /* and its producer position (read-only) */
    long page;
};

/* libbpf's last warning, for the one line that says why loading failed. */
static char libbpf_said[256];

static int on_libbpf_print(enum libbpf_print_level level, const char *fmt, va_list ap) {
    if (level <= LIBBPF_WARN) {
        vsnprintf(libbpf_said, sizeof libbpf_said, fmt, ap);
        libbpf_said[strcspn(libbpf_said, "\n")] = '\0';
    }
    return 0;
}

static int dup_cloexec(int fd) {
    return fd < 0 ? -1 : fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

/* Load and attach with libbpf; keep (dup) the link and the maps' fds, so that libbpf can go. */
static int load(struct memwatch *w, struct err *e) {
    struct bpf_object *obj = sym_bpf_object__open_mem(memwatch_bpf, memwatch_bpf_size, NULL);
    if (!obj)
        return err_set(e, -errno, "memory watch: %s", libbpf_said[0] ? libbpf_said : strerror(errno));
    int r = 0;
    struct bpf_link *link = NULL;
    if (sym_bpf_object__load(obj) < 0) {
        r = err_set(e, -errno, "memory watch: %s", libbpf_said[0] ? libbpf_said : strerror(errno));
        goto out;
    }
    struct bpf_program *prog = sym_bpf_object__find_program_by_name(obj, "on_alloc");
    link = prog ? sym_bpf_program__attach(prog) : NULL;
    if (!link) {
        r = err_set(e, -errno, "memory watch: attach: %s", libbpf_said[0] ? libbpf_said : strerror(errno));
        goto out;
    }
    w->link_fd = dup_cloexec(sym_bpf_link__fd(link));
    w->line_fd = dup_cloexec(sym_bpf_map__fd(sym_bpf_object__find_map_by_name(obj, "line")));
    w->wake_fd = dup_cloexec(sym_bpf_map__fd(sym_bpf_object__find_map_by_name(obj, "wake")));
    if (w->link_fd < 0 || w->line_fd < 0 || w->wake_fd < 0)
        r = err_set(e, -errno, "memory watch: %s", strerror(errno));
    sym_bpf_link__disconnect(link); /* its attachment lives on in link_fd */
out:
    if (link)
        sym_bpf_link__destroy(link);
    sym_bpf_object__close(obj);
    return r;
}

int memwatch_open(struct memwatch **ret, struct err *e) {
    struct memwatch *w = calloc(1, sizeof *w);
    if (!w)
        return err_set(e, -ENOMEM, "memory watch: out of memory");
    w->link_fd = w->line_fd = w->wake_fd = -1;
    w->page = sysconf(_SC_PAGESIZE);
    int r = dlopen_bpf(e);
    if (r >= 0) {
        libbpf_said[0] = '\0';
        sym_libbpf_set_print(on_libbpf_print);
        r = load(w, e);
        dl_unload(&bpf_library);
    }
    /* The ring buffer read by hand: its consumer page (ours to write) and its producer page. */
    if (r >= 0) {
        void *c = mmap(NULL, (size_t)w->page, PROT_READ | PROT_WRITE, MAP_SHARED, w->wake_fd, 0);
        void *p = mmap(NULL, (size_t)w->page, PROT_READ, MAP_SHARED, w->wake_fd, w->page);
        if (c != MAP_FAILED)
            w->consumer = c;
        if (p != MAP_FAILED)
            w->producer = p;
        if (!w->consumer || !w->producer)
            r = err_set(e, -errno, "memory watch: ring buffer: %s", strerror(errno));
    }
    if (r < 0) {
        memwatch_close(w);
        return r;
    }
    *ret = w;
    return 0;
}

int memwatch_fd(const struct memwatch *w) {
    return w->wake_fd;
}

void memwatch_consume(struct memwatch *w) {
    __atomic_store_n(w->consumer, __atomic_load_n(w->producer, __ATOMIC_ACQUIRE), __ATOMIC_RELEASE);
}

int memwatch_arm(struct memwatch *w, uint64_t free_b) {
    uint32_t key = 0;
    uint64_t pages = free_b / (uint64_t)w->page;
    struct memwatch_line l = {.pages = pages, .armed = pages > 0};
    union bpf_attr attr;
    memset(&attr, 0, sizeof attr);
    attr.map_fd = (uint32_t)w->line_fd;
    attr.key = (uint64_t)(uintptr_t)&key;
    attr.value = (uint64_t)(uintptr_t)&l;
    attr.flags = BPF_ANY;
    return syscall(SYS_bpf, BPF_MAP_UPDATE_ELEM, &attr, sizeof attr) < 0 ? -errno : 0;
}

void memwatch_close(struct memwatch *w) {
    if (!w)
        return;
    if (w->consumer)
        munmap(w->consumer, (size_t)w->page);
    if (w->producer)
        munmap((void *)w->producer, (size_t)w->page);
    int fds[] = {w->link_fd, w->line_fd, w->wake_fd};
    for (size_t i = 0; i < sizeof fds / sizeof *fds; i++)
        if (fds[i] >= 0)
            close(fds[i]);
    free(w);
}
