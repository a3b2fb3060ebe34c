/* test-ipc.c: the IPC message codec and its socket I/O over SOCK_SEQPACKET socket pairs. */
#include "helpers.h"

#include <dirent.h>
#include <fcntl.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>

#include "ipc.h"

struct pair {
    int a, b;
};

static struct pair pair_new(void) {
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv), 0);
    return (struct pair){sv[0], sv[1]};
}

static void pair_free(struct pair p) {
    close(p.a);
    close(p.b);
}

static int count_fds(void) {
    DIR *d = opendir("/proc/self/fd");
    assert_non_null(d);
    int n = 0;
    while (readdir(d))
        n++;
    closedir(d);
    return n;
}

static bool fd_open(int fd) {
    return fcntl(fd, F_GETFD) >= 0;
}

static int memfd_with(const char *text) {
    int fd = memfd_create("test-ipc", MFD_CLOEXEC);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, text, strlen(text)), (ssize_t)strlen(text));
    return fd;
}

static void parse_ok(const void *buf, size_t len, struct ipc_view *v) {
    struct err e = {0};
    int r = ipc_msg_parse(buf, len, NULL, 0, v, &e);
    if (r < 0)
        fail_msg("unexpected refusal: %s", e.msg);
}

/* Parse a buffer (no fds) that must be refused with code, saying why. */
static void parse_bad(const void *buf, size_t len, size_t n_fds, int code, const char *why) {
    static const int fake[IPC_FDS_MAX] = {-1, -1, -1, -1};
    struct ipc_view v;
    struct err e = {0};
    int r = ipc_msg_parse(buf, len, fake, n_fds, &v, &e);
    if (r != code)
        fail_msg("expected %d for '%s', got %d (%s)", code, why, r, e.msg);
    if (!strstr(e.msg, why))
        fail_msg("message '%s' does not say '%s'", e.msg, why);
}

/* A raw field appended at the end of m's buffer, bypassing the builder's checks. */
static void raw_field(struct ipc_msg *m, uint16_t id, uint8_t type, const void *value, uint32_t len) {
    uint8_t *p = m->buf + m->len;
    p[0] = (uint8_t)id, p[1] = (uint8_t)(id >> 8), p[2] = type, p[3] = 0;
    memcpy(p + 4, &len, 4); /* the tests run on little-endian machines */
    memcpy(p + 8, value, len);
    m->len += 8 + len;
    uint32_t payload = (uint32_t)(m->len - IPC_HEADER_SIZE);
    memcpy(m->buf + 12, &payload, 4);
}

static void test_round_trip(void **state) {
    (void)state;
    static uint8_t buf[IPC_MSG_MAX], rbuf[IPC_MSG_MAX];
    uint8_t blob[1000];
    for (size_t i = 0; i < sizeof blob; i++)
        blob[i] = (uint8_t)i;
    struct pair p = pair_new();
    int mfd = memfd_with("shared pixels");
    struct ipc_msg m;
    struct err e = {0};

    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 7, 42, IPC_FLAG_NO_REPLY), 0);
    assert_int_equal(ipc_msg_add_u32(&m, 1, 0), 0);
    assert_int_equal(ipc_msg_add_u32(&m, 2, UINT32_MAX), 0);
    assert_int_equal(ipc_msg_add_u64(&m, 3, UINT64_MAX - 1), 0);
    assert_int_equal(ipc_msg_add_i64(&m, 4, INT64_MIN), 0);
    assert_int_equal(ipc_msg_add_i64(&m, 5, -2), 0);
    assert_int_equal(ipc_msg_add_bool(&m, 6, true), 0);
    assert_int_equal(ipc_msg_add_bool(&m, 7, false), 0);
    assert_int_equal(ipc_msg_add_string(&m, 8, "org.example.hello ✓ 𝄞"), 0);
    assert_int_equal(ipc_msg_add_string(&m, 9, ""), 0);
    assert_int_equal(ipc_msg_add_bytes(&m, 10, blob, sizeof blob), 0);
    assert_int_equal(ipc_msg_add_bytes(&m, 11, NULL, 0), 0);
    assert_int_equal(ipc_msg_add_fd(&m, 12, mfd), 0);
    assert_int_equal(ipc_send(p.a, &m, &e), 0);
    close(mfd); /* the copy in flight keeps the memfd */

    struct ipc_view v;
    assert_int_equal(ipc_recv(p.b, rbuf, sizeof rbuf, &v, &e), 0);
    assert_int_equal(v.major, IPC_VERSION_MAJOR);
    assert_int_equal(v.type, 7);
    assert_int_equal(v.serial, 42);
    assert_int_equal(v.flags, IPC_FLAG_NO_REPLY);
    assert_int_equal(v.n_fields, 12);
    assert_int_equal(v.n_fds, 1);

    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    bool b;
    const char *s;
    const void *bytes;
    size_t len;
    assert_int_equal(ipc_msg_get_u32(&v, 1, &u32, &e), 0);
    assert_int_equal(u32, 0);
    assert_int_equal(ipc_msg_get_u32(&v, 2, &u32, &e), 0);
    assert_int_equal(u32, UINT32_MAX);
    assert_int_equal(ipc_msg_get_u64(&v, 3, &u64, &e), 0);
    assert_true(u64 == UINT64_MAX - 1);
    assert_int_equal(ipc_msg_get_i64(&v, 4, &i64, &e), 0);
    assert_true(i64 == INT64_MIN);
    assert_int_equal(ipc_msg_get_i64(&v, 5, &i64, &e), 0);
    assert_true(i64 == -2);
    assert_int_equal(ipc_msg_get_bool(&v, 6, &b, &e), 0);
    assert_true(b);
    assert_int_equal(ipc_msg_get_bool(&v, 7, &b, &e), 0);
    assert_false(b);
    assert_int_equal(ipc_msg_get_string(&v, 8, &s, &len, &e), 0);
    assert_string_equal(s, "org.example.hello ✓ 𝄞");
    assert_int_equal(len, strlen(s));
    assert_int_equal(ipc_msg_get_string(&v, 9, &s, NULL, &e), 0);
    assert_string_equal(s, "");
    assert_int_equal(ipc_msg_get_bytes(&v, 10, &bytes, &len, &e), 0);
    assert_int_equal(len, sizeof blob);
    assert_memory_equal(bytes, blob, sizeof blob);
    assert_int_equal(ipc_msg_get_bytes(&v, 11, &bytes, &len, &e), 0);
    assert_int_equal(len, 0);

    /* The fd arrives close-on-exec and reads back what was written. */
    int fd, fd2;
    assert_int_equal(ipc_msg_get_fd(&v, 12, &fd, &e), 0);
    assert_int_equal(fcntl(fd, F_GETFD), FD_CLOEXEC);
    assert_int_equal(ipc_msg_take_fd(&v, 12, &fd2, &e), 0);
    assert_int_equal(fd, fd2);
    assert_int_equal(ipc_msg_take_fd(&v, 12, &fd2, &e), -EBADF);
    assert_int_equal(ipc_msg_get_fd(&v, 12, &fd2, &e), -EBADF);
    char text[32] = {0};
    assert_int_equal(pread(fd, text, sizeof text - 1, 0), 13);
    assert_string_equal(text, "shared pixels");
    ipc_view_finish(&v);
    assert_true(fd_open(fd)); /* taken, so not the view's to close */
    close(fd);
    pair_free(p);
}

static void test_getter_refusals(void **state) {
    (void)state;
    uint8_t buf[256];
    struct ipc_msg m;
    struct ipc_view v;
    struct err e = {0};
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 3, 1, 0), 0);
    assert_int_equal(ipc_msg_add_u32(&m, 1, 5), 0);
    assert_int_equal(ipc_msg_add_string(&m, 2, "x"), 0);
    parse_ok(m.buf, m.len, &v);

    uint64_t u64;
    uint32_t u32;
    const char *s;
    int fd;
    assert_int_equal(ipc_msg_get_u64(&v, 1, &u64, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "field 1 is u32, not u64"));
    assert_int_equal(ipc_msg_get_u32(&v, 2, &u32, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "field 2 is string, not u32"));
    assert_int_equal(ipc_msg_get_string(&v, 1, &s, NULL, &e), -E_MALFORMED);
    assert_int_equal(ipc_msg_get_fd(&v, 2, &fd, &e), -E_MALFORMED);
    assert_int_equal(ipc_msg_get_u32(&v, 9, &u32, &e), -ENOENT);
    assert_non_null(strstr(e.msg, "message type 3 has no field 9"));
    ipc_view_finish(&v);
}

static void test_builder_refusals(void **state) {
    (void)state;
    static uint8_t buf[IPC_MSG_MAX + 100];
    static uint8_t big[IPC_MSG_MAX];
    uint8_t small[IPC_HEADER_SIZE + 10];
    struct ipc_msg m;
    struct err e = {0};

    assert_int_equal(ipc_msg_init(&m, buf, IPC_HEADER_SIZE - 1, 1, 0, 0), -EINVAL);
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 0, 0, 0), -EINVAL);
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 0, 0x80), -EINVAL);
    assert_int_equal(ipc_send(-1, &m, &e), -EINVAL);

    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 0, 0), 0);
    assert_int_equal(ipc_msg_add_u32(&m, 0, 1), -EINVAL);
    assert_int_equal(m.len, IPC_HEADER_SIZE); /* a failed add changes nothing */
    assert_int_equal(ipc_msg_add_u32(&m, 1, 1), 0);
    assert_int_equal(ipc_msg_add_bool(&m, 1, true), -EINVAL);
    assert_int_equal(ipc_msg_add_string(&m, 2, "bad \xc0\xaf utf-8"), -EINVAL);
    assert_int_equal(ipc_msg_add_string(&m, 3, "\xed\xa0\x80"), -EINVAL); /* a surrogate */
    assert_int_equal(ipc_msg_add_fd(&m, 4, -1), -EINVAL);
    assert_int_equal(m.error, -EINVAL); /* the first failure sticks */
    assert_int_equal(ipc_send(-1, &m, &e), -EINVAL);
    assert_non_null(strstr(e.msg, "not built"));

    /* Exactly IPC_MSG_MAX fits (in a larger buffer too); one byte more does not. */
    size_t most = IPC_MSG_MAX - IPC_HEADER_SIZE - IPC_FIELD_HEADER_SIZE;
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 0, 0), 0);
    assert_int_equal(ipc_msg_add_bytes(&m, 1, big, most + 1), -EMSGSIZE);
    assert_int_equal(ipc_msg_add_bytes(&m, 1, big, most), 0);
    assert_int_equal(m.len, IPC_MSG_MAX);
    assert_int_equal(ipc_msg_add_bytes(&m, 2, NULL, 0), -EMSGSIZE);
    assert_int_equal(ipc_msg_init(&m, small, sizeof small, 1, 0, 0), 0);
    assert_int_equal(ipc_msg_add_u64(&m, 1, 1), -EMSGSIZE);
    assert_int_equal(ipc_msg_add_bool(&m, 1, 1), 0);

    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 0, 0), 0);
    for (int i = 1; i <= IPC_FIELDS_MAX; i++)
        assert_int_equal(ipc_msg_add_bool(&m, (uint16_t)i, true), 0);
    assert_int_equal(ipc_msg_add_bool(&m, IPC_FIELDS_MAX + 1, true), -E2BIG);

    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 0, 0), 0);
    for (int i = 1; i <= IPC_FDS_MAX; i++)
        assert_int_equal(ipc_msg_add_fd(&m, (uint16_t)i, 0), 0);
    assert_int_equal(ipc_msg_add_fd(&m, IPC_FDS_MAX + 1, 0), -E2BIG);
}

static void test_serials_and_replies(void **state) {
    (void)state;
    uint8_t buf[2][128], rbuf[IPC_MSG_MAX];
    struct pair p = pair_new();
    struct ipc_msg m;
    struct ipc_view req[2], v;
    struct err e = {0};

    uint32_t counter = UINT32_MAX - 1;
    assert_int_equal(ipc_serial_next(&counter), UINT32_MAX);
    assert_int_equal(ipc_serial_next(&counter), 1); /* 0 is skipped */

    /* Two requests in flight, answered in the other order, each reply matched by serial. */
    uint32_t s1 = ipc_serial_next(&counter), s2 = ipc_serial_next(&counter);
    for (int i = 0; i < 2; i++) {
        assert_int_equal(ipc_msg_init(&m, buf[i], sizeof buf[i], 10, i ? s2 : s1, 0), 0);
        assert_int_equal(ipc_send(p.a, &m, &e), 0);
        assert_int_equal(ipc_recv(p.b, buf[i], sizeof buf[i], &req[i], &e), 0);
    }
    assert_int_equal(ipc_msg_init_reply(&m, rbuf, sizeof rbuf, &req[1]), 0);
    assert_int_equal(ipc_msg_add_u32(&m, 1, 2), 0);
    assert_int_equal(ipc_send(p.b, &m, &e), 0);
    assert_int_equal(ipc_msg_init_error(&m, rbuf, sizeof rbuf, &req[0], -E_STATE, "org.example.hello is not installed"),
                     0);
    assert_int_equal(ipc_send(p.b, &m, &e), 0);

    assert_int_equal(ipc_recv(p.a, rbuf, sizeof rbuf, &v, &e), 0);
    assert_true(ipc_view_is_reply_to(&v, s2));
    assert_false(ipc_view_is_reply_to(&v, s1));
    assert_int_equal(v.flags, IPC_FLAG_REPLY);
    assert_int_equal(v.type, 10);

    assert_int_equal(ipc_recv(p.a, rbuf, sizeof rbuf, &v, &e), 0);
    assert_true(ipc_view_is_reply_to(&v, s1));
    assert_int_equal(v.flags, IPC_FLAG_REPLY | IPC_FLAG_ERROR);
    int64_t code;
    const char *text;
    assert_int_equal(ipc_msg_get_i64(&v, IPC_FIELD_ERROR_CODE, &code, &e), 0);
    assert_true(code == -E_STATE);
    assert_int_equal(ipc_msg_get_string(&v, IPC_FIELD_ERROR_TEXT, &text, NULL, &e), 0);
    assert_string_equal(text, "org.example.hello is not installed");
    pair_free(p);
}

static void test_header_refusals(void **state) {
    (void)state;
    uint8_t buf[256], bad[256];
    struct ipc_msg m;
    struct ipc_view v;
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 5, 9, 0), 0);
    assert_int_equal(ipc_msg_add_u32(&m, 1, 1), 0);
    size_t n = m.len;

    parse_bad(buf, IPC_HEADER_SIZE - 1, 0, -E_MALFORMED, "shorter than the 20-byte header");
    parse_bad(buf, 0, 0, -E_MALFORMED, "shorter than");
#define MUTATE(off, val, code, why)                                                                                    \
    do {                                                                                                               \
        memcpy(bad, buf, n);                                                                                           \
        bad[off] = (val);                                                                                              \
        parse_bad(bad, n, 0, code, why);                                                                               \
    } while (0)
    MUTATE(0, 'X', -E_MALFORMED, "magic");
    MUTATE(2, 2, -EPROTONOSUPPORT, "IPC version 2.0");
    MUTATE(2, 0, -EPROTONOSUPPORT, "IPC version 0.0");
    MUTATE(4, 0, -E_MALFORMED, "type 0");
    MUTATE(7, 0x80, -E_MALFORMED, "unknown flags 0x8000");
    MUTATE(12, (uint8_t)(n - IPC_HEADER_SIZE + 1), -E_MALFORMED, "says 13 payload bytes, 12 came");
    MUTATE(12, (uint8_t)(n - IPC_HEADER_SIZE - 1), -E_MALFORMED, "says 11 payload bytes, 12 came");
    MUTATE(15, 0x80, -E_MALFORMED, "payload bytes");
    MUTATE(16, IPC_FDS_MAX + 1, -E_MALFORMED, "5 fds, over the limit of 4");
    MUTATE(16, 1, -E_MALFORMED, "says 1 fds, 0 came");
    MUTATE(18, 1, -E_MALFORMED, "reserved bytes");

    /* A newer minor version is read: it only adds what this side may skip. */
    memcpy(bad, buf, n);
    bad[3] = 7;
    parse_ok(bad, n, &v);
    assert_int_equal(v.minor, 7);

    /* Fds that came without the header saying so. */
    parse_bad(buf, n, 1, -E_MALFORMED, "says 0 fds, 1 came");

    /* A message longer than the limit, whatever its header says. */
    static uint8_t huge[IPC_MSG_MAX + 1];
    memcpy(huge, buf, IPC_HEADER_SIZE);
    uint32_t payload = IPC_MSG_MAX + 1 - IPC_HEADER_SIZE;
    memcpy(huge + 12, &payload, 4);
    parse_bad(huge, sizeof huge, 0, -E_MALFORMED, "over the limit of 65536");
}

static void test_field_refusals(void **state) {
    (void)state;
    uint8_t buf[8192];
    struct ipc_msg m;
    struct ipc_view v;
    const uint32_t zero = 0, one = 1;
#define FRESH() assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 6, 1, 0), 0)

    FRESH();
    assert_int_equal(ipc_msg_add_u32(&m, 1, 1), 0);
    parse_bad(buf, m.len - 1, 0, -E_MALFORMED, "payload bytes"); /* cut, header unchanged */
    buf[12] -= 1;
    parse_bad(buf, m.len - 1, 0, -E_MALFORMED, "field 1 of 4 bytes overruns");
    buf[12] -= 4;
    parse_bad(buf, m.len - 5, 0, -E_MALFORMED, "field header at byte 20 overruns");

    FRESH();
    raw_field(&m, 1, IPC_T_U32, "abc", 3);
    parse_bad(buf, m.len, 0, -E_MALFORMED, "u32 field 1 is 3 bytes, not 4");
    FRESH();
    raw_field(&m, 1, IPC_T_I64, "abcd", 4);
    parse_bad(buf, m.len, 0, -E_MALFORMED, "i64 field 1 is 4 bytes, not 8");
    FRESH();
    raw_field(&m, 1, IPC_T_BOOL, "\x02", 1);
    parse_bad(buf, m.len, 0, -E_MALFORMED, "bool field 1 is 2");
    FRESH();
    raw_field(&m, 0, IPC_T_BOOL, "\x01", 1);
    parse_bad(buf, m.len, 0, -E_MALFORMED, "field with id 0");
    FRESH();
    raw_field(&m, 1, IPC_T_BOOL, "\x01", 1);
    buf[m.len - 1 - 8 + 3] = 1;
    parse_bad(buf, m.len, 0, -E_MALFORMED, "reserved bits");

    /* Duplicate ids, whatever the types. */
    FRESH();
    raw_field(&m, 4, IPC_T_BOOL, "\x01", 1);
    raw_field(&m, 4, IPC_T_U32, "abcd", 4);
    parse_bad(buf, m.len, 0, -E_MALFORMED, "field 4 twice");

    /* Strings: NUL-terminated, no NUL inside, valid UTF-8. */
    static const struct {
        const char *value;
        uint32_t len;
        const char *why;
    } strings[] = {
        {"", 0, "does not end in NUL"},
        {"abc", 3, "does not end in NUL"},
        {"a\0b", 4, "has a NUL inside"},
        {"\xc0\xaf", 3, "not valid UTF-8"},         /* overlong '/' */
        {"\xe0\x80\xaf", 4, "not valid UTF-8"},     /* overlong, three bytes */
        {"\xed\xa0\x80", 4, "not valid UTF-8"},     /* surrogate */
        {"\xf4\x90\x80\x80", 5, "not valid UTF-8"}, /* past U+10FFFF */
        {"\xe2\x82", 3, "not valid UTF-8"},         /* cut short */
        {"\x80", 2, "not valid UTF-8"},             /* a lone continuation */
        {"\xff", 2, "not valid UTF-8"},
    };
    for (size_t i = 0; i < sizeof strings / sizeof *strings; i++) {
        FRESH();
        raw_field(&m, 2, IPC_T_STRING, strings[i].value, strings[i].len);
        parse_bad(buf, m.len, 0, -E_MALFORMED, strings[i].why);
    }
    FRESH();
    raw_field(&m, 2, IPC_T_STRING, "\xf0\x9d\x84\x9e", 5); /* U+1D11E, four bytes, valid */
    parse_ok(buf, m.len, &v);

    /* Fd indexes: in range, each named once, none left unnamed. */
    FRESH();
    raw_field(&m, 1, IPC_T_FD, &one, 4);
    buf[16] = 1;
    parse_bad(buf, m.len, 1, -E_MALFORMED, "names fd 1 of 1");
    FRESH();
    raw_field(&m, 1, IPC_T_FD, &zero, 4);
    raw_field(&m, 2, IPC_T_FD, &zero, 4);
    buf[16] = 2;
    parse_bad(buf, m.len, 2, -E_MALFORMED, "fd 0 is named twice");
    FRESH();
    raw_field(&m, 1, IPC_T_FD, &one, 4);
    buf[16] = 2;
    parse_bad(buf, m.len, 2, -E_MALFORMED, "no field names fd 0");
    FRESH();
    raw_field(&m, 1, IPC_T_FD, "ab", 2);
    buf[16] = 1;
    parse_bad(buf, m.len, 1, -E_MALFORMED, "fd field 1 is 2 bytes");

    /* Too many fields, even small ones. */
    FRESH();
    for (int i = 1; i <= IPC_FIELDS_MAX + 1; i++)
        raw_field(&m, (uint16_t)i, IPC_T_BYTES, "", 0);
    parse_bad(buf, m.len, 0, -E_MALFORMED, "more than 64 fields");

    /* Unknown types and unknown ids are carried, not refused; getters say what they are. */
    FRESH();
    assert_int_equal(ipc_msg_add_u32(&m, 1, 77), 0);
    raw_field(&m, 500, 99, "future", 6);
    assert_int_equal(ipc_msg_add_u32(&m, 2, 78), 0);
    parse_ok(buf, m.len, &v);
    uint32_t u32;
    struct err e = {0};
    assert_int_equal(ipc_msg_get_u32(&v, 2, &u32, &e), 0);
    assert_int_equal(u32, 78);
    assert_int_equal(ipc_msg_get_u32(&v, 500, &u32, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "of an unknown type"));
}

/* Send raw bytes with fds, bypassing ipc_send's checks. */
static void send_raw(int sock, const void *data, size_t len, const int *fds, size_t n_fds) {
    struct iovec iov = {.iov_base = (void *)data, .iov_len = len};
    char control[CMSG_SPACE(sizeof(int) * 16)] = {0};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    if (n_fds) {
        mh.msg_control = control;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * n_fds);
        memcpy(CMSG_DATA(c), fds, sizeof(int) * n_fds);
    }
    assert_int_equal(sendmsg(sock, &mh, MSG_NOSIGNAL), (ssize_t)len);
}

/* Receive on p.b, expecting refusal code; no fd may stay open afterwards. */
static void recv_bad(struct pair p, size_t cap, int code, const char *why) {
    static uint8_t rbuf[IPC_MSG_MAX + 8];
    struct ipc_view v;
    struct err e = {0};
    int before = count_fds();
    int r = ipc_recv(p.b, rbuf, cap, &v, &e);
    if (r != code)
        fail_msg("expected %d for '%s', got %d (%s)", code, why, r, e.msg);
    if (!strstr(e.msg, why))
        fail_msg("message '%s' does not say '%s'", e.msg, why);
    assert_int_equal(count_fds(), before);
}

static void test_recv_refusals_close_fds(void **state) {
    (void)state;
    static uint8_t buf[IPC_MSG_MAX + 8];
    struct pair p = pair_new();
    struct ipc_msg m;
    struct err e = {0};
    int fds[5];
    for (int i = 0; i < 5; i++)
        fds[i] = memfd_with("x");

    /* A message the parser refuses: its fds are closed, not leaked. */
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 1, 0), 0);
    assert_int_equal(ipc_msg_add_fd(&m, 1, fds[0]), 0);
    assert_int_equal(ipc_msg_add_fd(&m, 2, fds[1]), 0);
    buf[2] = 9; /* another major version */
    assert_int_equal(ipc_send(p.a, &m, &e), 0);
    recv_bad(p, IPC_MSG_MAX, -EPROTONOSUPPORT, "version 9");

    /* Fds the header does not admit to. */
    buf[2] = IPC_VERSION_MAJOR;
    send_raw(p.a, buf, m.len, fds, 3);
    recv_bad(p, IPC_MSG_MAX, -E_MALFORMED, "says 2 fds, 3 came");

    /* More fds than a message may carry: the kernel truncates the control data. */
    send_raw(p.a, buf, m.len, fds, 5);
    recv_bad(p, IPC_MSG_MAX, -EMSGSIZE, "more than 4 fds");

    /* A datagram past the limit, and one past a small buffer: both truncated. */
    static uint8_t huge[IPC_MSG_MAX + 8];
    memcpy(huge, buf, IPC_HEADER_SIZE);
    send_raw(p.a, huge, sizeof huge, fds, 1);
    recv_bad(p, IPC_MSG_MAX, -EMSGSIZE, "over 65536 bytes");
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 1, 0), 0);
    assert_int_equal(ipc_msg_add_string(&m, 1, "longer than the buffer"), 0);
    assert_int_equal(ipc_send(p.a, &m, &e), 0);
    recv_bad(p, 32, -EMSGSIZE, "over 32 bytes");

    /* Just a header, cut short. */
    send_raw(p.a, buf, 10, fds, 1);
    recv_bad(p, IPC_MSG_MAX, -E_MALFORMED, "shorter than");

    /* The connection still works, message by message. */
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 1, 0), 0);
    assert_int_equal(ipc_msg_add_fd(&m, 1, fds[4]), 0);
    assert_int_equal(ipc_send(p.a, &m, &e), 0);
    struct ipc_view v;
    static uint8_t rbuf[IPC_MSG_MAX];
    assert_int_equal(ipc_recv(p.b, rbuf, sizeof rbuf, &v, &e), 0);
    int fd;
    assert_int_equal(ipc_msg_get_fd(&v, 1, &fd, &e), 0);
    assert_true(fd_open(fd));
    ipc_view_finish(&v); /* not taken: closed here */
    assert_false(fd_open(fd));
    ipc_view_finish(&v);

    for (int i = 0; i < 5; i++)
        close(fds[i]);
    close(p.a);
    recv_bad(p, IPC_MSG_MAX, -ECONNRESET, "closed the connection");
    close(p.b);
}

static void test_nonblocking(void **state) {
    (void)state;
    static uint8_t buf[IPC_MSG_MAX], rbuf[IPC_MSG_MAX];
    int sv[2];
    assert_int_equal(socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC | SOCK_NONBLOCK, 0, sv), 0);
    struct ipc_view v;
    struct ipc_msg m;
    struct err e = {0};
    assert_int_equal(ipc_recv(sv[1], rbuf, sizeof rbuf, &v, &e), -EAGAIN);

    /* Fill the socket with large messages until it refuses, then drain it. */
    static uint8_t blob[60000];
    assert_int_equal(ipc_msg_init(&m, buf, sizeof buf, 1, 1, 0), 0);
    assert_int_equal(ipc_msg_add_bytes(&m, 1, blob, sizeof blob), 0);
    int sent = 0, r;
    while ((r = ipc_send(sv[0], &m, &e)) == 0)
        assert_true(++sent < 10000);
    assert_int_equal(r, -EAGAIN);
    assert_true(sent > 0);
    for (int i = 0; i < sent; i++)
        assert_int_equal(ipc_recv(sv[1], rbuf, sizeof rbuf, &v, &e), 0);
    assert_int_equal(ipc_recv(sv[1], rbuf, sizeof rbuf, &v, &e), -EAGAIN);

    /* A peer gone: -EPIPE, and no SIGPIPE. */
    close(sv[1]);
    assert_int_equal(ipc_send(sv[0], &m, &e), -EPIPE);
    close(sv[0]);
}

static void test_peer(void **state) {
    (void)state;
    struct pair p = pair_new();
    struct ipc_peer peer;
    struct err e = {0};
    assert_int_equal(ipc_peer_get(p.a, &peer, &e), 0);
    assert_int_equal(peer.pid, getpid());
    assert_int_equal(peer.uid, getuid());
    assert_int_equal(peer.gid, getgid());
    assert_true(peer.pidfd >= 0); /* the test kernels all have pidfds */
    assert_int_equal(fcntl(peer.pidfd, F_GETFD), FD_CLOEXEC);

    /* The pidfd names this process. */
    char path[64], *info = NULL;
    snprintf(path, sizeof path, "/proc/self/fdinfo/%d", peer.pidfd);
    info = test_read(path, NULL);
    char want[32];
    snprintf(want, sizeof want, "Pid:\t%d\n", (int)getpid());
    if (!strstr(info, want))
        fail_msg("%s does not say %s", info, want);
    free(info);
    ipc_peer_finish(&peer);
    assert_int_equal(peer.pidfd, -1);
    ipc_peer_finish(&peer);

    assert_int_equal(ipc_peer_get(-1, &peer, &e), -EBADF);
    pair_free(p);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_getter_refusals),
        cmocka_unit_test(test_builder_refusals),
        cmocka_unit_test(test_serials_and_replies),
        cmocka_unit_test(test_header_refusals),
        cmocka_unit_test(test_field_refusals),
        cmocka_unit_test(test_recv_refusals_close_fds),
        cmocka_unit_test(test_nonblocking),
        cmocka_unit_test(test_peer),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
