/* slated-fuzz.h: what the targets that talk to slated's sockets share: the input's datagrams, a scratch device root. */
#pragma once

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdarg.h>
#include <stdbool.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "device.h"
#include "fuzz.h"
#include "ipc.h"
#include "util.h"

/*
 * An input is one byte of flags (each target says what they mean), one byte
 * n, then the datagrams a peer sends: n == 0 makes the rest one datagram;
 * otherwise n times a little-endian u16 length and that many bytes (the last
 * takes what is left when the input ends early). At most DATAGRAMS_MAX are
 * sent. A datagram whose header counts 1 to IPC_FDS_MAX fds (byte 16) goes
 * with that many: copies of a memfd holding "body" (4 bytes), since bytes
 * alone cannot carry an fd.
 */
#define DATAGRAMS_MAX 64

struct datagrams {
    uint8_t flags;
    size_t n;
    const uint8_t *p[DATAGRAMS_MAX];
    size_t len[DATAGRAMS_MAX];
};

static inline void datagrams_split(const uint8_t *data, size_t size, struct datagrams *ret) {
    *ret = (struct datagrams){.flags = size > 0 ? data[0] : 0};
    if (size < 2)
        return;
    unsigned n = data[1];
    data += 2;
    size -= 2;
    if (n == 0) {
        ret->p[0] = data;
        ret->len[0] = size;
        ret->n = 1;
        return;
    }
    while (ret->n < n && ret->n < DATAGRAMS_MAX && size >= 2) {
        size_t len = (size_t)data[0] | (size_t)data[1] << 8;
        data += 2;
        size -= 2;
        if (len > size)
            len = size;
        ret->p[ret->n] = data;
        ret->len[ret->n++] = len;
        data += len;
        size -= len;
    }
}

static FILE *fuzz_stderr;

static inline void __attribute__((noreturn, format(printf, 1, 2))) fuzz_fail(const char *fmt, ...) {
    va_list ap;
    va_start(ap, fmt);
    vfprintf(fuzz_stderr ? fuzz_stderr : stderr, fmt, ap);
    va_end(ap);
    fputc('\n', fuzz_stderr ? fuzz_stderr : stderr);
    abort();
}

/* The memfd that travels as each fd a datagram's header asks for. */
static inline int fuzz_body_fd(void) {
    static int fd = -1;
    if (fd < 0) {
        fd = memfd_create("fuzz-body", MFD_CLOEXEC);
        if (fd < 0 || write(fd, "body", 4) != 4)
            fuzz_fail("memfd: %s", strerror(errno));
    }
    return fd;
}

/*
 * What a target's set-up does first. slated says a line on stderr for each
 * message it refuses, millions in a run: unless SLATE_FUZZ_TRACE is set,
 * stdio's stderr goes to /dev/null, while libFuzzer and the sanitizers keep
 * the real one (fd 2), and so does fuzz_fail. The fds kept for the whole run
 * are opened here, before any input counts them.
 */
static inline void fuzz_begin(void) {
    fuzz_stderr = stderr;
    fuzz_body_fd();
    if (getenv("SLATE_FUZZ_TRACE"))
        return;
    FILE *null = fopen("/dev/null", "w");
    if (null)
        stderr = null;
}

/* Send one datagram (with the fds its header counts); false when the socket is full or gone. */
static inline bool fuzz_send(int fd, const uint8_t *p, size_t len) {
    union {
        struct cmsghdr h;
        char buf[CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)];
    } control;
    struct iovec iov = {.iov_base = (void *)p, .iov_len = len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    size_t k = len >= IPC_HEADER_SIZE && p[16] >= 1 && p[16] <= IPC_FDS_MAX ? p[16] : 0;
    if (k > 0) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * k);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * k);
        int body = fuzz_body_fd();
        for (size_t i = 0; i < k; i++)
            memcpy(CMSG_DATA(c) + i * sizeof(int), &body, sizeof(int));
    }
    return sendmsg(fd, &mh, MSG_NOSIGNAL | MSG_DONTWAIT) >= 0;
}

/* A nonblocking SOCK_SEQPACKET pair; [1] has a send buffer for a whole input of small datagrams. */
static inline void fuzz_socketpair(int pair[2]) {
    int size = 1 << 20;
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, pair) < 0)
        fuzz_fail("socketpair: %s", strerror(errno));
    setsockopt(pair[1], SOL_SOCKET, SO_SNDBUF, &size, sizeof size);
}

static inline bool fuzz_readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    return poll(&p, 1, 0) > 0 && (p.revents & POLLIN);
}

/*
 * Read and drop what slated sent on fd, closing any fds; whatever slated
 * sends must parse. Returns how many messages were read, or -1 once slated
 * has closed its end.
 */
static inline int fuzz_drain(int fd) {
    static uint8_t buf[IPC_MSG_MAX];
    int n = 0;
    for (;;) {
        struct ipc_view v;
        struct err e = {0};
        int r = ipc_recv(fd, buf, sizeof buf, &v, &e);
        if (r == -EAGAIN)
            return n;
        if (r == -ECONNRESET)
            return -1;
        if (r < 0)
            fuzz_fail("slated sent a message that does not parse: %s", e.msg);
        ipc_view_finish(&v);
        n++;
    }
}

/* The open fds: one kept after an input is a leak. */
static inline int fuzz_count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    struct dirent *de;
    int n = 0;
    if (!d)
        fuzz_fail("/proc/self/fd: %s", strerror(errno));
    while ((de = readdir(d)))
        n += de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d);
    closedir(d);
    return n;
}

/* ---- a scratch device root, removed at exit ---- */

static char fuzz_tmp[PATH_MAX];

static inline void fuzz_remove_tmp(void) {
    if (fuzz_tmp[0])
        rm_rf_at(AT_FDCWD, fuzz_tmp);
}

/* A new device root (descriptor and empty database, no package) at ret (PATH_MAX bytes). */
static inline void fuzz_device_root(const char *tag, char *ret) {
    const char *tmpdir = getenv("TMPDIR");
    struct err e = {0};
    snprintf(fuzz_tmp, sizeof fuzz_tmp, "%s/fuzz-%s.XXXXXX", tmpdir && *tmpdir ? tmpdir : "/tmp", tag);
    if (!mkdtemp(fuzz_tmp))
        fuzz_fail("%s: %s", fuzz_tmp, strerror(errno));
    atexit(fuzz_remove_tmp);
    if (snprintf(ret, PATH_MAX, "%s/root", fuzz_tmp) >= PATH_MAX)
        fuzz_fail("%s: the path is too long", fuzz_tmp);
    if (device_init(ret, 1, 1, "fuzz", &e) < 0)
        fuzz_fail("device_init: %s", e.msg);
}
