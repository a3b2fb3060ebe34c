/* fuzz-ipc.c: libFuzzer target for IPC messages: the header and field checks, every getter, and a rebuild. */
#include <string.h>

#include "fuzz.h"
#include "ipc.h"

/* Stand-ins for received fds: never real, so nothing is closed or leaked. */
static const int no_fds[IPC_FDS_MAX] = {-1, -1, -1, -1};

/* Every getter on field id; exactly the one of its type may succeed, and what it gives is in bounds. */
static void get_all(struct ipc_view *v, uint16_t id, int want_type, size_t max_len) {
    uint32_t u32;
    uint64_t u64;
    int64_t i64;
    bool b;
    const char *s;
    const void *p;
    size_t len;
    int fd;
    int ok[IPC_T_FD + 1] = {0};
    ok[IPC_T_U32] = ipc_msg_get_u32(v, id, &u32, NULL) == 0;
    ok[IPC_T_U64] = ipc_msg_get_u64(v, id, &u64, NULL) == 0;
    ok[IPC_T_I64] = ipc_msg_get_i64(v, id, &i64, NULL) == 0;
    ok[IPC_T_BOOL] = ipc_msg_get_bool(v, id, &b, NULL) == 0;
    ok[IPC_T_STRING] = ipc_msg_get_string(v, id, &s, &len, NULL) == 0;
    if (ok[IPC_T_STRING] && (strlen(s) != len || len >= max_len))
        abort();
    ok[IPC_T_BYTES] = ipc_msg_get_bytes(v, id, &p, &len, NULL) == 0;
    if (ok[IPC_T_BYTES] && len > max_len)
        abort();
    /* The stand-in fds are -1, which the getters report as taken. */
    if (ipc_msg_get_fd(v, id, &fd, NULL) != (want_type == IPC_T_FD ? -EBADF : want_type ? -E_MALFORMED : -ENOENT))
        abort();
    if (ipc_msg_take_fd(v, id, &fd, NULL) != (want_type == IPC_T_FD ? -EBADF : want_type ? -E_MALFORMED : -ENOENT))
        abort();
    for (int t = IPC_T_U32; t < IPC_T_FD; t++)
        if (ok[t] != (t == want_type))
            abort();
}

/* Build the known fields again; the result must parse to the same fields. */
static void rebuild(const struct ipc_view *v) {
    static uint8_t buf[IPC_MSG_MAX];
    struct ipc_msg m;
    size_t known = 0;
    if (ipc_msg_init(&m, buf, sizeof buf, v->type, v->serial, v->flags) < 0)
        abort();
    for (size_t i = 0; i < v->n_fields; i++) {
        const struct ipc_field *f = &v->fields[i];
        uint64_t x = 0;
        for (uint32_t k = 0; k < f->len && k < 8; k++)
            x |= (uint64_t)f->value[k] << (8 * k);
        int r = 0;
        switch (f->type) {
        case IPC_T_U32: r = ipc_msg_add_u32(&m, f->id, (uint32_t)x); break;
        case IPC_T_U64: r = ipc_msg_add_u64(&m, f->id, x); break;
        case IPC_T_I64: r = ipc_msg_add_i64(&m, f->id, (int64_t)x); break;
        case IPC_T_BOOL: r = ipc_msg_add_bool(&m, f->id, x); break;
        case IPC_T_STRING: r = ipc_msg_add_string(&m, f->id, (const char *)f->value); break;
        case IPC_T_BYTES: r = ipc_msg_add_bytes(&m, f->id, f->value, f->len); break;
        case IPC_T_FD: r = ipc_msg_add_fd(&m, f->id, 100); break;
        default: continue;
        }
        if (r < 0)
            abort();
        known++;
    }
    struct ipc_view again;
    struct err e = {0};
    if (m.error || ipc_msg_parse(m.buf, m.len, no_fds, m.n_fds, &again, &e) < 0 || again.n_fields != known ||
        again.serial != v->serial || again.type != v->type || again.flags != v->flags)
        abort();
    for (size_t i = 0, j = 0; i < v->n_fields; i++) {
        const struct ipc_field *f = &v->fields[i], *g = &again.fields[j];
        if (f->type < IPC_T_U32 || f->type > IPC_T_FD)
            continue;
        if (f->id != g->id || f->type != g->type || f->len != g->len ||
            (f->type != IPC_T_FD && memcmp(f->value, g->value, f->len) != 0))
            abort();
        j++;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    struct ipc_view v;
    struct err e = {0};

    /* As received with the fds its header claims (up to the limit), so the fd checks are reached. */
    size_t n_fds = size > 16 ? data[16] : 0;
    int r = ipc_msg_parse(data, size, no_fds, n_fds <= IPC_FDS_MAX ? n_fds : IPC_FDS_MAX, &v, &e);
    fuzz_trace("ipc message", r, &e);
    if (r < 0) {
        if (r != -E_MALFORMED && r != -EPROTONOSUPPORT)
            abort();
        return 0;
    }
    if (v.n_fields > IPC_FIELDS_MAX || v.n_fds > IPC_FDS_MAX || size > IPC_MSG_MAX)
        abort();
    for (size_t i = 0; i < v.n_fields; i++) {
        const struct ipc_field *f = &v.fields[i];
        if (f->value < data || f->value + f->len > data + size)
            abort();
        get_all(&v, f->id, f->type >= IPC_T_U32 && f->type <= IPC_T_FD ? f->type : -1, size);
    }
    get_all(&v, 0, 0, size); /* id 0 is never present */
    rebuild(&v);
    ipc_view_finish(&v);
    return 0;
}
