/* session.h: a connection to slated's control socket, for the verbs slated answers. */
#pragma once

#include <stdint.h>

#include "cli.h"
#include "ipc.h"

struct session {
    int fd;
    uint32_t serial;
    uint32_t hello; /* HELLO's serial until its reply came; 0 then */
    uint8_t *buf;   /* IPC_MSG_MAX */
};

/* Connect and say hello (its reply is read with the first request's); 0 or a negative code with e set. */
int session_open(struct cli *c, struct session *s, struct err *e);
void session_close(struct session *s);
/* Receive until the reply to serial; other messages of that serial go to fn (a stream of entries). */
int receive_reply(struct session *s, uint32_t serial, int (*fn)(void *ud, const struct ipc_view *v), void *ud,
                  struct ipc_view *ret, struct err *e);
/* An error reply as one line (what: prefix when given); returns the exit status. */
int fail_reply(const struct ipc_view *v, const char *what);
