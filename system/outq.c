/* outq.c: a queue of whole messages (with their fds) for a nonblocking SOCK_SEQPACKET peer. */
#include "outq.h"

#include <errno.h>
#include <fcntl.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

struct outq_item {
    struct outq_item *next;
    struct ipc_msg m; /* buf points at data; fds are the item's own copies */
    uint8_t data[];
};

static void item_free(struct outq *q, struct outq_item *it) {
    q->fds -= it->m.n_fds;
    for (size_t i = 0; i < it->m.n_fds; i++)
        close(it->m.fds[i]);
    free(it);
}

static int enqueue(struct outq *q, const struct ipc_msg *m) {
    if (q->bytes + m->len > OUTQ_MAX || q->fds + m->n_fds > OUTQ_FDS_MAX)
        return -ENOBUFS;
    struct outq_item *it = malloc(sizeof *it + m->len);
    if (!it)
        return -ENOMEM;
    it->next = NULL;
    it->m = *m;
    it->m.buf = it->data;
    it->m.cap = m->len;
    memcpy(it->data, m->buf, m->len);
    q->fds += m->n_fds;
    for (size_t i = 0; i < m->n_fds; i++)
        if ((it->m.fds[i] = fcntl(m->fds[i], F_DUPFD_CLOEXEC, 3)) < 0) {
            int r = -errno;
            q->fds -= m->n_fds - i;
            it->m.n_fds = i;
            item_free(q, it);
            return r;
        }
    if (q->tail)
        q->tail->next = it;
    else
        q->head = it;
    q->tail = it;
    q->bytes += m->len;
    return 1;
}

int outq_flush(struct outq *q, int fd) {
    while (q->head) {
        struct outq_item *it = q->head;
        int r = ipc_send(fd, &it->m, NULL);
        if (r == -EAGAIN)
            return 1;
        if (r < 0)
            return r;
        q->head = it->next;
        if (!q->head)
            q->tail = NULL;
        q->bytes -= it->m.len;
        item_free(q, it);
    }
    return 0;
}

int outq_send(struct outq *q, int fd, const struct ipc_msg *m) {
    if (m->error)
        return -EINVAL;
    if (!q->head) {
        int r = ipc_send(fd, m, NULL);
        if (r != -EAGAIN)
            return r;
    }
    return enqueue(q, m);
}

bool outq_empty(const struct outq *q) {
    return !q->head;
}

void outq_clear(struct outq *q) {
    while (q->head) {
        struct outq_item *it = q->head;
        q->head = it->next;
        item_free(q, it);
    }
    q->tail = NULL;
    q->bytes = 0;
    q->fds = 0;
}
