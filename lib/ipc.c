/* ipc.c: building, checking, sending and receiving Slate IPC messages. */
#include "ipc.h"

#include <inttypes.h>
#include <string.h>
#include <sys/pidfd.h>
#include <sys/socket.h>
#include <unistd.h>

#ifndef SO_PEERPIDFD
#define SO_PEERPIDFD 77 /* Linux 6.5; older headers lack it */
#endif
#ifndef SCM_PIDFD
#define SCM_PIDFD 0x04
#endif

#define CONTROL_SIZE CMSG_SPACE(sizeof(int) * IPC_FDS_MAX)

static void put16(uint8_t *p, uint16_t v) {
    p[0] = (uint8_t)v;
    p[1] = (uint8_t)(v >> 8);
}

static void put32(uint8_t *p, uint32_t v) {
    for (int i = 0; i < 4; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static void put64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++)
        p[i] = (uint8_t)(v >> (8 * i));
}

static uint16_t get16(const uint8_t *p) {
    return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t get32(const uint8_t *p) {
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get64(const uint8_t *p) {
    return (uint64_t)get32(p) | (uint64_t)get32(p + 4) << 32;
}

static const char *type_name(uint8_t type) {
    static const char *const names[] = {
        [IPC_T_U32] = "u32",       [IPC_T_U64] = "u64",     [IPC_T_I64] = "i64", [IPC_T_BOOL] = "bool",
        [IPC_T_STRING] = "string", [IPC_T_BYTES] = "bytes", [IPC_T_FD] = "fd",
    };
    return type < sizeof names / sizeof *names && names[type] ? names[type] : "of an unknown type";
}

/* Strict UTF-8: no overlong forms, surrogates or code points past U+10FFFF; no NUL. */
static bool utf8_valid(const uint8_t *s, size_t n) {
    size_t i = 0;
    while (i < n) {
        uint8_t c = s[i];
        if (c < 0x80) {
            if (c == 0)
                return false;
            i++;
            continue;
        }
        size_t k;
        uint32_t cp, min;
        if ((c & 0xe0) == 0xc0)
            k = 1, cp = c & 0x1f, min = 0x80;
        else if ((c & 0xf0) == 0xe0)
            k = 2, cp = c & 0x0f, min = 0x800;
        else if ((c & 0xf8) == 0xf0)
            k = 3, cp = c & 0x07, min = 0x10000;
        else
            return false;
        if (n - i <= k)
            return false;
        for (size_t j = 1; j <= k; j++) {
            if ((s[i + j] & 0xc0) != 0x80)
                return false;
            cp = cp << 6 | (s[i + j] & 0x3f);
        }
        if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
            return false;
        i += k + 1;
    }
    return true;
}

/* Building */

static int msg_fail(struct ipc_msg *m, int r) {
    if (!m->error)
        m->error = r;
    return r;
}

int ipc_msg_init(struct ipc_msg *m, void *buf, size_t cap, uint16_t type, uint32_t serial, uint16_t flags) {
    *m = (struct ipc_msg){.buf = buf, .cap = cap < IPC_MSG_MAX ? cap : IPC_MSG_MAX};
    if (!buf || cap < IPC_HEADER_SIZE || type == 0 || (flags & ~IPC_FLAGS_KNOWN))
        return msg_fail(m, -EINVAL);
    uint8_t *p = m->buf;
    memset(p, 0, IPC_HEADER_SIZE);
    p[0] = 'S';
    p[1] = 'L';
    p[2] = IPC_VERSION_MAJOR;
    p[3] = IPC_VERSION_MINOR;
    put16(p + 4, type);
    put16(p + 6, flags);
    put32(p + 8, serial);
    m->len = IPC_HEADER_SIZE;
    return 0;
}

/* Append one field; the header's payload length follows, so the buffer stays a whole message. */
static int add_field(struct ipc_msg *m, uint16_t id, uint8_t type, const void *value, size_t len) {
    if (m->len < IPC_HEADER_SIZE || id == 0)
        return msg_fail(m, -EINVAL);
    for (size_t i = 0; i < m->n_fields; i++)
        if (m->ids[i] == id)
            return msg_fail(m, -EINVAL);
    if (m->n_fields == IPC_FIELDS_MAX)
        return msg_fail(m, -E2BIG);
    size_t room = m->cap - m->len;
    if (room < IPC_FIELD_HEADER_SIZE || len > room - IPC_FIELD_HEADER_SIZE)
        return msg_fail(m, -EMSGSIZE);

    uint8_t *p = m->buf + m->len;
    put16(p, id);
    p[2] = type;
    p[3] = 0;
    put32(p + 4, (uint32_t)len);
    if (len)
        memcpy(p + IPC_FIELD_HEADER_SIZE, value, len);
    m->len += IPC_FIELD_HEADER_SIZE + len;
    m->ids[m->n_fields++] = id;
    put32(m->buf + 12, (uint32_t)(m->len - IPC_HEADER_SIZE));
    return 0;
}

int ipc_msg_add_u32(struct ipc_msg *m, uint16_t id, uint32_t v) {
    uint8_t b[4];
    put32(b, v);
    return add_field(m, id, IPC_T_U32, b, sizeof b);
}

int ipc_msg_add_u64(struct ipc_msg *m, uint16_t id, uint64_t v) {
    uint8_t b[8];
    put64(b, v);
    return add_field(m, id, IPC_T_U64, b, sizeof b);
}

int ipc_msg_add_i64(struct ipc_msg *m, uint16_t id, int64_t v) {
    uint8_t b[8];
    put64(b, (uint64_t)v);
    return add_field(m, id, IPC_T_I64, b, sizeof b);
}

int ipc_msg_add_bool(struct ipc_msg *m, uint16_t id, bool v) {
    uint8_t b = v;
    return add_field(m, id, IPC_T_BOOL, &b, 1);
}

int ipc_msg_add_string(struct ipc_msg *m, uint16_t id, const char *s) {
    if (!s || !utf8_valid((const uint8_t *)s, strlen(s)))
        return msg_fail(m, -EINVAL);
    return add_field(m, id, IPC_T_STRING, s, strlen(s) + 1);
}

int ipc_msg_add_bytes(struct ipc_msg *m, uint16_t id, const void *p, size_t len) {
    if (!p && len)
        return msg_fail(m, -EINVAL);
    return add_field(m, id, IPC_T_BYTES, p, len);
}

int ipc_msg_add_fd(struct ipc_msg *m, uint16_t id, int fd) {
    if (fd < 0)
        return msg_fail(m, -EINVAL);
    if (m->n_fds == IPC_FDS_MAX)
        return msg_fail(m, -E2BIG);
    uint8_t b[4];
    put32(b, (uint32_t)m->n_fds);
    int r = add_field(m, id, IPC_T_FD, b, sizeof b);
    if (r < 0)
        return r;
    m->fds[m->n_fds++] = fd;
    m->buf[16] = (uint8_t)m->n_fds;
    return 0;
}

uint32_t ipc_serial_next(uint32_t *counter) {
    if (++*counter == 0)
        ++*counter;
    return *counter;
}

int ipc_msg_init_reply(struct ipc_msg *m, void *buf, size_t cap, const struct ipc_view *request) {
    return ipc_msg_init(m, buf, cap, request->type, request->serial, IPC_FLAG_REPLY);
}

int ipc_msg_init_error(struct ipc_msg *m, void *buf, size_t cap, const struct ipc_view *request, int code,
                       const char *text) {
    int r = ipc_msg_init(m, buf, cap, request->type, request->serial, IPC_FLAG_REPLY | IPC_FLAG_ERROR);
    if (r == 0)
        r = ipc_msg_add_i64(m, IPC_FIELD_ERROR_CODE, code);
    if (r == 0 && text) {
        /* The text is for a person: cut it (at a character boundary) rather than lose the reply. */
        size_t room = m->cap - m->len, n = strlen(text);
        if (room < IPC_FIELD_HEADER_SIZE + 1)
            return 0;
        room -= IPC_FIELD_HEADER_SIZE + 1;
        if (n > room) {
            char cut[512];
            n = room < sizeof cut - 1 ? room : sizeof cut - 1;
            while (n > 0 && ((unsigned char)text[n] & 0xc0) == 0x80)
                n--;
            memcpy(cut, text, n);
            cut[n] = '\0';
            return ipc_msg_add_string(m, IPC_FIELD_ERROR_TEXT, cut);
        }
        r = ipc_msg_add_string(m, IPC_FIELD_ERROR_TEXT, text);
    }
    return r;
}

/* Parsing */

static int parse_header(const uint8_t *p, size_t len, size_t n_fds, struct ipc_view *v, struct err *e) {
    if (len < IPC_HEADER_SIZE)
        return err_set(e, -E_MALFORMED, "message of %zu bytes is shorter than the %d-byte header", len,
                       IPC_HEADER_SIZE);
    if (p[0] != 'S' || p[1] != 'L')
        return err_set(e, -E_MALFORMED, "message does not start with the Slate IPC magic");
    if (p[2] != IPC_VERSION_MAJOR)
        return err_set(e, -EPROTONOSUPPORT, "message speaks IPC version %u.%u, this side speaks %d.x", p[2], p[3],
                       IPC_VERSION_MAJOR);
    v->major = p[2];
    v->minor = p[3];
    v->type = get16(p + 4);
    v->flags = get16(p + 6);
    v->serial = get32(p + 8);
    uint32_t payload = get32(p + 12);
    unsigned fds = p[16];
    if (p[17] || p[18] || p[19])
        return err_set(e, -E_MALFORMED, "message header has reserved bytes set");
    if (v->type == 0)
        return err_set(e, -E_MALFORMED, "message has type 0");
    if (v->flags & ~IPC_FLAGS_KNOWN)
        return err_set(e, -E_MALFORMED, "message type %u has unknown flags 0x%x", v->type, v->flags);
    if (len > IPC_MSG_MAX)
        return err_set(e, -E_MALFORMED, "message type %u is %zu bytes, over the limit of %d", v->type, len,
                       IPC_MSG_MAX);
    if (payload != len - IPC_HEADER_SIZE)
        return err_set(e, -E_MALFORMED, "message type %u says %" PRIu32 " payload bytes, %zu came", v->type, payload,
                       len - IPC_HEADER_SIZE);
    if (fds > IPC_FDS_MAX)
        return err_set(e, -E_MALFORMED, "message type %u has %u fds, over the limit of %d", v->type, fds, IPC_FDS_MAX);
    if (fds != n_fds)
        return err_set(e, -E_MALFORMED, "message type %u says %u fds, %zu came", v->type, fds, n_fds);
    v->n_fds = fds;
    return 0;
}

/* Whether a value fits its type; fds_named records which fd indexes fields have named. */
static int check_value(const struct ipc_view *v, const struct ipc_field *f, bool *fds_named, struct err *e) {
    size_t want = 0;
    switch (f->type) {
    case IPC_T_U32:
    case IPC_T_FD: want = 4; break;
    case IPC_T_U64:
    case IPC_T_I64: want = 8; break;
    case IPC_T_BOOL: want = 1; break;
    case IPC_T_STRING:
        if (f->len == 0 || f->value[f->len - 1] != '\0')
            return err_set(e, -E_MALFORMED, "message type %u: string field %u does not end in NUL", v->type, f->id);
        if (memchr(f->value, '\0', f->len - 1))
            return err_set(e, -E_MALFORMED, "message type %u: string field %u has a NUL inside", v->type, f->id);
        if (!utf8_valid(f->value, f->len - 1))
            return err_set(e, -E_MALFORMED, "message type %u: string field %u is not valid UTF-8", v->type, f->id);
        return 0;
    default: return 0; /* bytes, and types of a later minor version */
    }
    if (f->len != want)
        return err_set(e, -E_MALFORMED, "message type %u: %s field %u is %" PRIu32 " bytes, not %zu", v->type,
                       type_name(f->type), f->id, f->len, want);
    if (f->type == IPC_T_BOOL && f->value[0] > 1)
        return err_set(e, -E_MALFORMED, "message type %u: bool field %u is %u", v->type, f->id, f->value[0]);
    if (f->type == IPC_T_FD) {
        uint32_t i = get32(f->value);
        if (i >= v->n_fds)
            return err_set(e, -E_MALFORMED, "message type %u: fd field %u names fd %" PRIu32 " of %zu", v->type, f->id,
                           i, v->n_fds);
        if (fds_named[i])
            return err_set(e, -E_MALFORMED, "message type %u: fd %" PRIu32 " is named twice", v->type, i);
        fds_named[i] = true;
    }
    return 0;
}

static int parse_fields(const uint8_t *p, size_t len, struct ipc_view *v, struct err *e) {
    bool fds_named[IPC_FDS_MAX] = {false};
    size_t off = IPC_HEADER_SIZE;
    v->n_fields = 0;
    while (off < len) {
        if (len - off < IPC_FIELD_HEADER_SIZE)
            return err_set(e, -E_MALFORMED, "message type %u: field header at byte %zu overruns the message", v->type,
                           off);
        if (v->n_fields == IPC_FIELDS_MAX)
            return err_set(e, -E_MALFORMED, "message type %u has more than %d fields", v->type, IPC_FIELDS_MAX);
        struct ipc_field *f = &v->fields[v->n_fields];
        f->id = get16(p + off);
        f->type = p[off + 2];
        f->len = get32(p + off + 4);
        if (p[off + 3])
            return err_set(e, -E_MALFORMED, "message type %u: field %u has reserved bits set", v->type, f->id);
        off += IPC_FIELD_HEADER_SIZE;
        if (f->len > len - off)
            return err_set(e, -E_MALFORMED, "message type %u: field %u of %" PRIu32 " bytes overruns the message",
                           v->type, f->id, f->len);
        f->value = p + off;
        off += f->len;
        if (f->id == 0)
            return err_set(e, -E_MALFORMED, "message type %u has a field with id 0", v->type);
        for (size_t i = 0; i < v->n_fields; i++)
            if (v->fields[i].id == f->id)
                return err_set(e, -E_MALFORMED, "message type %u has field %u twice", v->type, f->id);
        int r = check_value(v, f, fds_named, e);
        if (r < 0)
            return r;
        v->n_fields++;
    }
    for (size_t i = 0; i < v->n_fds; i++)
        if (!fds_named[i])
            return err_set(e, -E_MALFORMED, "message type %u: no field names fd %zu", v->type, i);
    return 0;
}

int ipc_msg_parse(const void *buf, size_t len, const int *fds, size_t n_fds, struct ipc_view *ret, struct err *e) {
    struct ipc_view v;
    int r = parse_header(buf, len, n_fds, &v, e);
    if (r == 0)
        r = parse_fields(buf, len, &v, e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < IPC_FDS_MAX; i++)
        v.fds[i] = i < n_fds ? fds[i] : -1;
    /* Copy only what was filled: the field array is most of the view. */
    memcpy(ret, &v, offsetof(struct ipc_view, fields));
    memcpy(ret->fields, v.fields, v.n_fields * sizeof *v.fields);
    ret->n_fields = v.n_fields;
    memcpy(ret->fds, v.fds, sizeof v.fds);
    ret->n_fds = v.n_fds;
    return 0;
}

void ipc_view_finish(struct ipc_view *v) {
    for (size_t i = 0; i < v->n_fds && i < IPC_FDS_MAX; i++)
        if (v->fds[i] >= 0) {
            close(v->fds[i]);
            v->fds[i] = -1;
        }
    v->n_fds = 0;
}

/* Getting */

static int find(const struct ipc_view *v, uint16_t id, uint8_t type, const struct ipc_field **ret, struct err *e) {
    for (size_t i = 0; i < v->n_fields; i++) {
        const struct ipc_field *f = &v->fields[i];
        if (f->id != id)
            continue;
        if (f->type != type)
            return err_set(e, -E_MALFORMED, "message type %u: field %u is %s, not %s", v->type, id, type_name(f->type),
                           type_name(type));
        *ret = f;
        return 0;
    }
    return err_set(e, -ENOENT, "message type %u has no field %u", v->type, id);
}

int ipc_msg_get_u32(const struct ipc_view *v, uint16_t id, uint32_t *ret, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_U32, &f, e);
    if (r == 0)
        *ret = get32(f->value);
    return r;
}

int ipc_msg_get_u64(const struct ipc_view *v, uint16_t id, uint64_t *ret, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_U64, &f, e);
    if (r == 0)
        *ret = get64(f->value);
    return r;
}

int ipc_msg_get_i64(const struct ipc_view *v, uint16_t id, int64_t *ret, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_I64, &f, e);
    if (r == 0)
        *ret = (int64_t)get64(f->value);
    return r;
}

int ipc_msg_get_bool(const struct ipc_view *v, uint16_t id, bool *ret, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_BOOL, &f, e);
    if (r == 0)
        *ret = f->value[0];
    return r;
}

int ipc_msg_get_string(const struct ipc_view *v, uint16_t id, const char **ret, size_t *ret_len, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_STRING, &f, e);
    if (r == 0) {
        *ret = (const char *)f->value;
        if (ret_len)
            *ret_len = f->len - 1;
    }
    return r;
}

int ipc_msg_get_bytes(const struct ipc_view *v, uint16_t id, const void **ret, size_t *ret_len, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_BYTES, &f, e);
    if (r == 0) {
        *ret = f->value;
        *ret_len = f->len;
    }
    return r;
}

/* The slot in v->fds that field id names. */
static int fd_slot(const struct ipc_view *v, uint16_t id, size_t *ret, struct err *e) {
    const struct ipc_field *f = NULL;
    int r = find(v, id, IPC_T_FD, &f, e);
    if (r < 0)
        return r;
    size_t i = get32(f->value); /* below n_fds: checked by the parser */
    if (v->fds[i] < 0)
        return err_set(e, -EBADF, "message type %u: the fd of field %u was taken already", v->type, id);
    *ret = i;
    return 0;
}

int ipc_msg_get_fd(const struct ipc_view *v, uint16_t id, int *ret, struct err *e) {
    size_t i = 0;
    int r = fd_slot(v, id, &i, e);
    if (r == 0)
        *ret = v->fds[i];
    return r;
}

int ipc_msg_take_fd(struct ipc_view *v, uint16_t id, int *ret, struct err *e) {
    size_t i = 0;
    int r = fd_slot(v, id, &i, e);
    if (r == 0) {
        *ret = v->fds[i];
        v->fds[i] = -1;
    }
    return r;
}

/* Sockets */

int ipc_send(int fd, const struct ipc_msg *m, struct err *e) {
    if (m->error)
        return err_set(e, -EINVAL, "message was not built: %s", strerror(-m->error));
    struct iovec iov = {.iov_base = m->buf, .iov_len = m->len};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    union {
        struct cmsghdr align;
        char buf[CONTROL_SIZE];
    } control;
    if (m->n_fds) {
        memset(&control, 0, sizeof control);
        mh.msg_control = control.buf;
        mh.msg_controllen = CMSG_SPACE(sizeof(int) * m->n_fds);
        struct cmsghdr *c = CMSG_FIRSTHDR(&mh);
        c->cmsg_level = SOL_SOCKET;
        c->cmsg_type = SCM_RIGHTS;
        c->cmsg_len = CMSG_LEN(sizeof(int) * m->n_fds);
        memcpy(CMSG_DATA(c), m->fds, sizeof(int) * m->n_fds);
    }
    ssize_t n;
    do
        n = sendmsg(fd, &mh, MSG_NOSIGNAL);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return err_set(e, r, "cannot send message type %u: %s", get16(m->buf + 4), strerror(-r));
    }
    if ((size_t)n != m->len) /* SEQPACKET sends whole datagrams; this would be a kernel surprise */
        return err_set(e, -EIO, "message type %u was sent in part", get16(m->buf + 4));
    return 0;
}

static void close_all(const int *fds, size_t n) {
    for (size_t i = 0; i < n; i++)
        close(fds[i]);
}

/* The fds of every SCM_RIGHTS (and SCM_PIDFD) message: up to IPC_FDS_MAX kept, the rest closed at once. */
static size_t collect_fds(struct msghdr *mh, int *fds, bool *ret_extra) {
    size_t n = 0;
    for (struct cmsghdr *c = CMSG_FIRSTHDR(mh); c; c = CMSG_NXTHDR(mh, c)) {
        if (c->cmsg_level != SOL_SOCKET || (c->cmsg_type != SCM_RIGHTS && c->cmsg_type != SCM_PIDFD) ||
            c->cmsg_len < CMSG_LEN(0))
            continue;
        size_t k = (c->cmsg_len - CMSG_LEN(0)) / sizeof(int);
        for (size_t i = 0; i < k; i++) {
            int x;
            memcpy(&x, CMSG_DATA(c) + i * sizeof(int), sizeof x);
            if (c->cmsg_type == SCM_RIGHTS && n < IPC_FDS_MAX)
                fds[n++] = x;
            else {
                close(x);
                *ret_extra = true;
            }
        }
    }
    return n;
}

int ipc_recv(int fd, void *buf, size_t cap, struct ipc_view *ret, struct err *e) {
    union {
        struct cmsghdr align;
        char buf[CONTROL_SIZE];
    } control;
    struct iovec iov = {.iov_base = buf, .iov_len = cap};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1, .msg_control = control.buf, .msg_controllen = sizeof control};
    ssize_t n;
    do
        n = recvmsg(fd, &mh, MSG_CMSG_CLOEXEC);
    while (n < 0 && errno == EINTR);
    if (n < 0) {
        int r = errno == EWOULDBLOCK ? -EAGAIN : -errno;
        return err_set(e, r, "cannot receive a message: %s", strerror(-r));
    }

    int fds[IPC_FDS_MAX];
    bool extra = false;
    size_t n_fds = collect_fds(&mh, fds, &extra);
    int r;
    if (n == 0) /* an empty datagram is no message either */
        r = err_set(e, -ECONNRESET, "the peer closed the connection");
    else if ((mh.msg_flags & (MSG_TRUNC | MSG_CTRUNC)) || extra)
        r = err_set(e, -EMSGSIZE, "message refused: over %zu bytes or more than %d fds", cap, IPC_FDS_MAX);
    else
        r = ipc_msg_parse(buf, (size_t)n, fds, n_fds, ret, e);
    if (r < 0)
        close_all(fds, n_fds);
    return r;
}

int ipc_peer_get(int fd, struct ipc_peer *ret, struct err *e) {
    struct ucred uc;
    socklen_t len = sizeof uc;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &uc, &len) < 0)
        return err_set(e, -errno, "cannot read the peer's credentials: %m");

    int pidfd = -1;
    len = sizeof pidfd;
    if (getsockopt(fd, SOL_SOCKET, SO_PEERPIDFD, &pidfd, &len) < 0) {
        if (errno != ENOPROTOOPT)
            return err_set(e, -errno, "cannot get a pidfd for peer %d: %m", (int)uc.pid);
        pidfd = uc.pid > 0 ? pidfd_open(uc.pid, 0) : -1;
        if (pidfd < 0 && (uc.pid <= 0 || errno != ENOSYS))
            return err_set(e, uc.pid > 0 ? -errno : -ESRCH, "cannot get a pidfd for peer %d: %m", (int)uc.pid);
    }
    *ret = (struct ipc_peer){.pid = uc.pid, .uid = uc.uid, .gid = uc.gid, .pidfd = pidfd};
    return 0;
}

void ipc_peer_finish(struct ipc_peer *p) {
    if (p->pidfd >= 0)
        close(p->pidfd);
    p->pidfd = -1;
}
