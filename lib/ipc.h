/* ipc.h: the message format apps and slated speak over SOCK_SEQPACKET Unix sockets (see docs/ipc.md). */
#pragma once

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "err.h"

/*
 * One message is one datagram: a 20-byte header, then typed fields. All
 * integers are little-endian; nothing is aligned.
 *
 *   header   0  u8[2] magic "SL"        12  u32 payload length (bytes after the header)
 *            2  u8    major version     16  u8  number of fds passed with SCM_RIGHTS
 *            3  u8    minor version     17  u8[3] reserved, zero
 *            4  u16   message type (not 0)
 *            6  u16   flags (IPC_FLAG_*)
 *            8  u32   serial
 *   field    0  u16   id (not 0)         3  u8  reserved, zero
 *            2  u8    type (IPC_T_*)     4  u32 value length, then the value
 *
 * A reader refuses, before anything is used: a header shorter than 20 bytes,
 * a bad magic, another major version (-EPROTONOSUPPORT), reserved bits or
 * unknown flags set, type 0, a payload length that differs from what was
 * received or passes IPC_MSG_MAX, more than IPC_FDS_MAX fds or a count that
 * differs from the fds received, a field that overruns the payload, more than
 * IPC_FIELDS_MAX fields, field id 0 or an id given twice, a value whose length
 * or content does not fit its type (see enum ipc_type), an fd index out of
 * range or given twice, and an fd that no field names. Fields of an unknown
 * type are kept but need no getter: a newer minor version may add types.
 */
#define IPC_VERSION_MAJOR 1
#define IPC_VERSION_MINOR 0

#define IPC_HEADER_SIZE 20
#define IPC_FIELD_HEADER_SIZE 8
#define IPC_MSG_MAX 65536 /* header included; a receive buffer of this size never truncates a valid message */
#define IPC_FIELDS_MAX 64
#define IPC_FDS_MAX 4

enum ipc_type {
    IPC_T_U32 = 1,    /* 4 bytes */
    IPC_T_U64 = 2,    /* 8 bytes */
    IPC_T_I64 = 3,    /* 8 bytes, two's complement */
    IPC_T_BOOL = 4,   /* 1 byte, 0 or 1 */
    IPC_T_STRING = 5, /* valid UTF-8 with no NUL, then one NUL: the reader hands out a C string in place */
    IPC_T_BYTES = 6,  /* anything, any length the message allows */
    IPC_T_FD = 7,     /* u32 index into the fds passed with the message */
};

enum {
    IPC_FLAG_REPLY = 1 << 0,    /* answers the request whose serial it carries */
    IPC_FLAG_ERROR = 1 << 1,    /* with REPLY: the request failed; see IPC_FIELD_ERROR_* */
    IPC_FLAG_NO_REPLY = 1 << 2, /* the sender wants no reply */
    IPC_FLAGS_KNOWN = IPC_FLAG_REPLY | IPC_FLAG_ERROR | IPC_FLAG_NO_REPLY,
};

/* Field ids from 0xff00 up belong to the protocol, not to one message type. */
enum {
    IPC_FIELD_ERROR_CODE = 0xff00, /* i64: a negative errno or project code (err.h) */
    IPC_FIELD_ERROR_TEXT = 0xff01, /* string: one line for a person */
};

/*
 * A message being built in a caller's buffer. The buffer always holds a
 * complete, valid message, so it can be sent (or saved) after any add. The
 * fds are borrowed: the caller keeps owning them; sending passes copies.
 * A failed add leaves the message as it was and records the first failure,
 * which ipc_send then refuses, so callers may check once, at the send.
 */
struct ipc_msg {
    uint8_t *buf;
    size_t cap, len;
    int fds[IPC_FDS_MAX];
    size_t n_fds;
    uint16_t ids[IPC_FIELDS_MAX];
    size_t n_fields;
    int error;
};

/*
 * Start a message of the given type (not 0) in buf, of cap bytes (at least
 * IPC_HEADER_SIZE; more than IPC_MSG_MAX is not used). Returns 0 or -EINVAL.
 */
int ipc_msg_init(struct ipc_msg *m, void *buf, size_t cap, uint16_t type, uint32_t serial, uint16_t flags);

/*
 * Each add returns 0, -EINVAL (id 0, an id already added, an invalid string,
 * a negative fd), -E2BIG (IPC_FIELDS_MAX or IPC_FDS_MAX reached) or
 * -EMSGSIZE (the buffer or IPC_MSG_MAX is full).
 */
int ipc_msg_add_u32(struct ipc_msg *m, uint16_t id, uint32_t v);
int ipc_msg_add_u64(struct ipc_msg *m, uint16_t id, uint64_t v);
int ipc_msg_add_i64(struct ipc_msg *m, uint16_t id, int64_t v);
int ipc_msg_add_bool(struct ipc_msg *m, uint16_t id, bool v);
int ipc_msg_add_string(struct ipc_msg *m, uint16_t id, const char *s); /* NUL-terminated */
int ipc_msg_add_bytes(struct ipc_msg *m, uint16_t id, const void *p, size_t len);
int ipc_msg_add_fd(struct ipc_msg *m, uint16_t id, int fd); /* borrowed until sent */

/* One field of a parsed message; value points into the received buffer. */
struct ipc_field {
    const uint8_t *value;
    uint32_t len;
    uint16_t id;
    uint8_t type;
};

/*
 * A parsed message: a view into the buffer it was parsed from (which must
 * outlive it), plus the fds received with it. The view owns those fds until
 * taken with ipc_msg_take_fd; ipc_view_finish closes the rest.
 */
struct ipc_view {
    uint8_t major, minor;
    uint16_t type, flags;
    uint32_t serial;
    struct ipc_field fields[IPC_FIELDS_MAX];
    size_t n_fields;
    int fds[IPC_FDS_MAX]; /* -1 once taken */
    size_t n_fds;
};

/*
 * Check len bytes of buf as one message, received with the n_fds fds in fds,
 * and on success fill *ret, which then owns the fds. On failure *ret is not
 * touched and the fds stay the caller's. Returns 0, -E_MALFORMED or
 * -EPROTONOSUPPORT (another major version).
 */
int ipc_msg_parse(const void *buf, size_t len, const int *fds, size_t n_fds, struct ipc_view *ret, struct err *e);

/* Close the fds not taken. Accepts a view that was zeroed or already finished. */
void ipc_view_finish(struct ipc_view *v);

/*
 * The value of field id. Returns 0, -ENOENT when the message has no such field
 * (with a message; a caller that needs the field treats it as malformed), or
 * -E_MALFORMED when the field has another type. Strings and bytes point into
 * the view's buffer; *ret_len may be NULL for strings.
 */
int ipc_msg_get_u32(const struct ipc_view *v, uint16_t id, uint32_t *ret, struct err *e);
int ipc_msg_get_u64(const struct ipc_view *v, uint16_t id, uint64_t *ret, struct err *e);
int ipc_msg_get_i64(const struct ipc_view *v, uint16_t id, int64_t *ret, struct err *e);
int ipc_msg_get_bool(const struct ipc_view *v, uint16_t id, bool *ret, struct err *e);
int ipc_msg_get_string(const struct ipc_view *v, uint16_t id, const char **ret, size_t *ret_len, struct err *e);
int ipc_msg_get_bytes(const struct ipc_view *v, uint16_t id, const void **ret, size_t *ret_len, struct err *e);

/*
 * The fd of field id, borrowed (still the view's), or taken (now the caller's,
 * O_CLOEXEC). Both also return -EBADF when it was taken already.
 */
int ipc_msg_get_fd(const struct ipc_view *v, uint16_t id, int *ret, struct err *e);
int ipc_msg_take_fd(struct ipc_view *v, uint16_t id, int *ret, struct err *e);

/* The serial a built message carries (to match its reply). */
static inline uint32_t ipc_msg_serial(const struct ipc_msg *m) {
    return (uint32_t)m->buf[8] | (uint32_t)m->buf[9] << 8 | (uint32_t)m->buf[10] << 16 | (uint32_t)m->buf[11] << 24;
}

/* The next serial from *counter: never 0, so 0 can mean "no request". */
uint32_t ipc_serial_next(uint32_t *counter);

/* Whether v answers the request sent with serial. */
static inline bool ipc_view_is_reply_to(const struct ipc_view *v, uint32_t serial) {
    return (v->flags & IPC_FLAG_REPLY) && v->serial == serial;
}

/* Start the reply to request: the same type and serial, IPC_FLAG_REPLY. */
int ipc_msg_init_reply(struct ipc_msg *m, void *buf, size_t cap, const struct ipc_view *request);

/* A whole error reply to request: code (negative) and a line of text (NULL for none). */
int ipc_msg_init_error(struct ipc_msg *m, void *buf, size_t cap, const struct ipc_view *request, int code,
                       const char *text);

/*
 * Send m as one datagram on a SOCK_SEQPACKET socket, its fds with SCM_RIGHTS.
 * Never raises SIGPIPE. Returns 0, -EINVAL (the message recorded a failure),
 * -EAGAIN (a nonblocking socket is full) or another negative errno (-EPIPE:
 * the peer is gone).
 */
int ipc_send(int fd, const struct ipc_msg *m, struct err *e);

/*
 * Receive one datagram into buf (cap bytes, normally IPC_MSG_MAX) and parse
 * it into *ret, as ipc_msg_parse. Received fds are O_CLOEXEC; when the message
 * is refused they are all closed, and so are fds that came with a truncated
 * message. Returns 0, -EAGAIN (nonblocking, nothing there), -ECONNRESET (the
 * peer closed the connection), -EMSGSIZE (truncated: longer than cap, or more
 * fds than IPC_FDS_MAX), the refusals of ipc_msg_parse, or another negative
 * errno. After a refusal the next message still starts at a boundary; whether
 * to keep talking to such a peer is the caller's decision.
 */
int ipc_recv(int fd, void *buf, size_t cap, struct ipc_view *ret, struct err *e);

/* Who is at the other end of a connected Unix socket. */
struct ipc_peer {
    pid_t pid;
    uid_t uid;
    gid_t gid;
    int pidfd; /* O_CLOEXEC, owned; -1 when the kernel has no pidfds */
};

/*
 * The peer's credentials as of connect (SO_PEERCRED) and a pidfd for it:
 * SO_PEERPIDFD where the kernel has it (6.5 and later), exact; otherwise
 * pidfd_open(pid), which can name another process if the peer died and its
 * pid was reused, so a caller then checks the peer still talks. Returns 0,
 * -ESRCH (the peer process is gone) or another negative errno.
 */
int ipc_peer_get(int fd, struct ipc_peer *ret, struct err *e);

/* Close the pidfd and set it to -1. Accepts a peer already finished. */
void ipc_peer_finish(struct ipc_peer *p);
