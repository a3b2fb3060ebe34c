/* outq.h: messages waiting for a peer's socket to drain, so slated never blocks on a slow reader. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "ipc.h"

struct outq_item;

/* Sends in order; while anything waits, new messages queue behind it. */
struct outq {
    struct outq_item *head, *tail;
    size_t bytes; /* queued, fds not counted */
    size_t fds;   /* queued copies of fds */
};

#define OUTQ_MAX (1024 * 1024) /* a peer that lets this much pile up is dropped */
#define OUTQ_FDS_MAX 64         /* ... or this many fds: each queued fd is one of slated's */

/*
 * Send m on fd now, or queue a copy (its fds duplicated) behind what waits.
 * Returns 1 when something is left waiting (watch fd for EPOLLOUT), 0 when all
 * is sent, -ENOBUFS when the queue would pass OUTQ_MAX or OUTQ_FDS_MAX, or another negative
 * errno (-EPIPE: the peer is gone).
 */
int outq_send(struct outq *q, int fd, const struct ipc_msg *m);

/* Send what waits. Returns 1 when some still waits, 0 when the queue is empty, or a negative errno. */
int outq_flush(struct outq *q, int fd);

bool outq_empty(const struct outq *q);
void outq_clear(struct outq *q);
