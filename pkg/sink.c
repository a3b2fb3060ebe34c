/* sink.c: the hashing and writing half of extraction, on its own thread. */
#include "sink.h"

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keys.h"
#include "sodium-dl.h"
#include "util.h"

#define SLOTS 16
#define SLOT_BYTES (128 * 1024)

enum op { OP_BEGIN, OP_DATA, OP_END, OP_QUIT };

struct slot {
    enum op op;
    const struct manifest_file *f; /* OP_BEGIN */
    int fd;                        /* OP_BEGIN */
    size_t len;                    /* OP_DATA */
    uint8_t data[SLOT_BYTES];
};

struct sink {
    pthread_t thread;
    pthread_mutex_t lock;
    pthread_cond_t changed; /* a slot was filled or emptied */
    struct slot *slots;
    size_t head, count; /* the next slot to take is slots[head]; count are full */
    size_t pending;     /* queued or being processed */
    atomic_int failed;  /* the first failure's code, 0 while none */
    struct err e;

    /* the worker's own state */
    const struct manifest_file *f;
    int fd;
    crypto_generichash_state hash;
};

static void fail(struct sink *s, int code, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void fail(struct sink *s, int code, const char *fmt, ...) {
    if (atomic_load(&s->failed))
        return;
    va_list ap;
    va_start(ap, fmt);
    err_setv(&s->e, code, fmt, ap);
    va_end(ap);
    atomic_store(&s->failed, s->e.code);
}

static void close_file(struct sink *s) {
    if (s->fd >= 0 && close(s->fd) < 0 && s->f)
        fail(s, -errno, "%s: %m", s->f->path);
    s->fd = -1;
}

static void process(struct sink *s, struct slot *slot) {
    uint8_t digest[32];
    switch (slot->op) {
    case OP_BEGIN:
        close_file(s);
        s->f = slot->f;
        s->fd = slot->fd;
        sym_crypto_generichash_init(&s->hash, NULL, 0, sizeof digest);
        break;
    case OP_DATA:
        if (atomic_load(&s->failed))
            break;
        sym_crypto_generichash_update(&s->hash, slot->data, slot->len);
        int r = s->fd >= 0 ? write_all(s->fd, slot->data, slot->len) : 0;
        if (r < 0)
            fail(s, r, "%s: %s", s->f->path, strerror(-r));
        break;
    case OP_END:
        close_file(s);
        sym_crypto_generichash_final(&s->hash, digest, sizeof digest);
        if (sym_sodium_memcmp(digest, s->f->hash, sizeof digest) != 0)
            fail(s, -E_MALFORMED, "%s: content does not match the manifest's hash", s->f->path);
        break;
    case OP_QUIT: break;
    }
}

static void *worker(void *userdata) {
    struct sink *s = userdata;
    pthread_mutex_lock(&s->lock);
    for (;;) {
        while (s->count == 0)
            pthread_cond_wait(&s->changed, &s->lock);
        struct slot *slot = &s->slots[s->head];
        pthread_mutex_unlock(&s->lock);
        process(s, slot); /* the producer never touches a full slot */
        bool quit = slot->op == OP_QUIT;
        pthread_mutex_lock(&s->lock);
        s->head = (s->head + 1) % SLOTS;
        s->count--;
        s->pending--;
        pthread_cond_broadcast(&s->changed);
        if (quit)
            break;
    }
    pthread_mutex_unlock(&s->lock);
    close_file(s);
    return NULL;
}

int sink_new(struct sink **ret, struct err *e) {
    /* The writer thread hashes: libsodium is there before it starts. */
    if (keys_init(e) < 0)
        return -ELIBACC;
    struct sink *s = calloc(1, sizeof *s);
    if (!s || !(s->slots = malloc(SLOTS * sizeof *s->slots))) {
        free(s);
        return err_set(e, -ENOMEM, "out of memory");
    }
    s->fd = -1;
    pthread_mutex_init(&s->lock, NULL);
    pthread_cond_init(&s->changed, NULL);
    int r = pthread_create(&s->thread, NULL, worker, s);
    if (r != 0) {
        pthread_cond_destroy(&s->changed);
        pthread_mutex_destroy(&s->lock);
        free(s->slots);
        free(s);
        return err_set(e, -r, "cannot start the extraction thread: %s", strerror(r));
    }
    *ret = s;
    return 0;
}

/* The next free slot, once the worker has emptied one. */
static struct slot *claim(struct sink *s) {
    pthread_mutex_lock(&s->lock);
    while (s->count == SLOTS)
        pthread_cond_wait(&s->changed, &s->lock);
    struct slot *slot = &s->slots[(s->head + s->count) % SLOTS];
    pthread_mutex_unlock(&s->lock);
    return slot;
}

static void publish(struct sink *s) {
    pthread_mutex_lock(&s->lock);
    s->count++;
    s->pending++;
    pthread_cond_broadcast(&s->changed);
    pthread_mutex_unlock(&s->lock);
}

static int queue(struct sink *s, enum op op, const struct manifest_file *f, int fd) {
    struct slot *slot = claim(s);
    slot->op = op;
    slot->f = f;
    slot->fd = fd;
    publish(s);
    return atomic_load(&s->failed);
}

int sink_begin(struct sink *s, const struct manifest_file *f, int fd) {
    return queue(s, OP_BEGIN, f, fd);
}

int sink_end(struct sink *s) {
    return queue(s, OP_END, NULL, -1);
}

int sink_write(struct sink *s, const void *buf, size_t len) {
    while (len > 0) {
        int r = atomic_load(&s->failed);
        if (r < 0)
            return r;
        size_t n = len < SLOT_BYTES ? len : SLOT_BYTES;
        struct slot *slot = claim(s);
        slot->op = OP_DATA;
        slot->len = n;
        memcpy(slot->data, buf, n);
        publish(s);
        buf = (const uint8_t *)buf + n;
        len -= n;
    }
    return atomic_load(&s->failed);
}

int sink_finish(struct sink *s, struct err *e) {
    pthread_mutex_lock(&s->lock);
    while (s->pending > 0)
        pthread_cond_wait(&s->changed, &s->lock);
    pthread_mutex_unlock(&s->lock);
    int r = atomic_load(&s->failed);
    if (r < 0 && e)
        *e = s->e;
    return r;
}

void sink_free(struct sink *s) {
    if (!s)
        return;
    queue(s, OP_QUIT, NULL, -1);
    pthread_join(s->thread, NULL);
    pthread_cond_destroy(&s->changed);
    pthread_mutex_destroy(&s->lock);
    free(s->slots);
    free(s);
}
