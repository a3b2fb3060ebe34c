/* sink.h: payload bytes hashed and written on a second thread while the first decompresses. */
#pragma once

#include <stddef.h>

#include "err.h"
#include "manifest.h"

/*
 * Extraction is two jobs of about equal cost: zstd decompression and tar parsing
 * on one side, BLAKE2b hashing and write(2) on the other. A sink runs the second
 * on its own thread, fed in order through a small ring of copied blocks.
 *
 * The first failure the sink meets (a write error, a hash mismatch) is kept and
 * later blocks are dropped; it is reported by sink_finish, and every call after
 * it returns that failure's code so the reader can stop early.
 */
struct sink;

int sink_new(struct sink **ret, struct err *e);

/* Start a file whose content must hash to f->hash; fd (-1: only check) is the sink's to close. */
int sink_begin(struct sink *s, const struct manifest_file *f, int fd);

/* Copy len bytes of the current file into the ring; waits while it is full. */
int sink_write(struct sink *s, const void *buf, size_t len);

/* The current file is complete: check its hash and close it, on the sink's thread. */
int sink_end(struct sink *s);

/*
 * Wait until everything queued is done. Returns 0, or the sink's first failure
 * with its message in e; call it before trusting any file as written.
 */
int sink_finish(struct sink *s, struct err *e);

/* Stop the thread (finishing what is queued) and free the sink; accepts NULL. */
void sink_free(struct sink *s);
