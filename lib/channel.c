/* channel.c: libslate's connection to slated: one socket, requests with replies, queued events. */
#include "channel.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "keyfile.h"
#include "proto.h"

#define QUEUE_MAX 4096 /* events slated sent while the app was busy; more means slated misbehaves */

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_once_t once = PTHREAD_ONCE_INIT;
static int chan = -ENOTCONN; /* the fd, or why there is none */
static uint32_t serial_counter;
static char app_id[128];
static struct channel_event *queue; /* a ring of q_cap entries, grown as needed */
static size_t q_head, q_len, q_cap;
static bool hung_up;
static int wake = -1; /* slate_app_run's eventfd: told when another thread queued an event */

static void poke(void) {
    uint64_t one = 1;
    if (wake >= 0)
        (void)!write(wake, &one, sizeof one);
}

static bool grow(void) {
    size_t cap = q_cap ? q_cap * 2 : 16;
    if (cap > QUEUE_MAX)
        return false;
    struct channel_event *q = malloc(cap * sizeof *q);
    if (!q)
        return false;
    for (size_t i = 0; i < q_len; i++)
        q[i] = queue[(q_head + i) % q_cap];
    free(queue);
    queue = q;
    q_head = 0;
    q_cap = cap;
    return true;
}

static uint8_t rxbuf[IPC_MSG_MAX]; /* guarded by lock: what the loop drains (a call reads into its own) */

static int wait_readable(int fd) {
    struct pollfd p = {.fd = fd, .events = POLLIN};
    while (poll(&p, 1, -1) < 0)
        if (errno != EINTR)
            return -errno;
    return 0;
}

/* Keep an event for the loop (which a waiting call's thread may not be): the queue grows to QUEUE_MAX. */
static void enqueue(struct ipc_view *v) {
    struct channel_event ev = {.type = v->type, .fd = -1};
    if (v->type == MSG_DISPLAY) {
        if (ipc_msg_get_u32(v, F_WIDTH, &ev.width, NULL) < 0 || ipc_msg_get_u32(v, F_HEIGHT, &ev.height, NULL) < 0)
            return;
        ipc_msg_get_bool(v, F_DARK, &ev.dark, NULL);
    } else if (v->type == MSG_INPUT) {
        int64_t x = 0, y = 0;
        const char *key = NULL;
        size_t len = 0;
        if (ipc_msg_get_u32(v, F_INPUT, &ev.input, NULL) < 0)
            return;
        ipc_msg_get_i64(v, F_X, &x, NULL);
        ipc_msg_get_i64(v, F_Y, &y, NULL);
        ipc_msg_get_u64(v, F_TIME_US, &ev.time_us, NULL);
        ev.x = x < INT32_MIN ? INT32_MIN : x > INT32_MAX ? INT32_MAX : (int32_t)x;
        ev.y = y < INT32_MIN ? INT32_MIN : y > INT32_MAX ? INT32_MAX : (int32_t)y;
        if (ipc_msg_get_string(v, F_KEY_NAME, &key, &len, NULL) == 0 && len < sizeof ev.key)
            memcpy(ev.key, key, len + 1);
    } else if (v->type == MSG_FRAME_DONE) {
        /* nothing more to it */
    } else if (v->type == MSG_EVENT) {
        if (ipc_msg_get_u32(v, F_EVENT, &ev.event, NULL) < 0)
            return;
        if (ipc_msg_get_u32(v, F_LEVEL, &ev.level, NULL) < 0)
            ev.level = 0;
    } else if (v->type == MSG_SERVICE_CLIENT) {
        if (ipc_msg_take_fd(v, F_FD, &ev.fd, NULL) < 0)
            return;
    } else
        return;
    if (q_len == q_cap && !grow()) {
        if (ev.fd >= 0)
            close(ev.fd);
        return;
    }
    queue[(q_head + q_len++) % q_cap] = ev;
    poke();
}

/* One message, not waiting; non-replies are queued. Returns 1 for the reply wanted (left in *v), 0 for
 * another message, -EAGAIN when none waits, or another negative errno. */
static int receive(int fd, uint8_t *buf, uint32_t want_serial, struct ipc_view *v) {
    int r = ipc_recv(fd, buf, IPC_MSG_MAX, v, NULL);
    if (r == -ECONNRESET)
        hung_up = true;
    if (r < 0)
        return r;
    if (want_serial && ipc_view_is_reply_to(v, want_serial))
        return 1;
    if (!(v->flags & IPC_FLAG_REPLY))
        enqueue(v);
    ipc_view_finish(v);
    return 0;
}

static int call_locked(int fd, struct ipc_msg *request, uint8_t *rbuf, struct ipc_view *reply) {
    uint32_t serial = ipc_msg_serial(request);
    int r;

    if ((r = ipc_send(fd, request, NULL)) < 0)
        return r == -EPIPE ? -ECONNRESET : r;
    while ((r = receive(fd, rbuf, serial, reply)) != 1) {
        if (r == -EAGAIN)
            r = wait_readable(fd);
        if (r < 0)
            return r;
    }
    if (reply->flags & IPC_FLAG_ERROR) {
        int64_t code = -EIO;
        ipc_msg_get_i64(reply, IPC_FIELD_ERROR_CODE, &code, NULL);
        ipc_view_finish(reply);
        return code < 0 && code > -4096 ? (int)code : -EIO;
    }
    return 0;
}

static void connect_once(void) {
    const char *s = getenv(SLATE_CHANNEL_ENV);
    unsigned long n;
    uint8_t buf[256], *rbuf;
    struct ipc_msg m;
    struct ipc_view v;

    if (!s || parse_uint(s, 0, 1 << 20, &n) < 0 || fcntl((int)n, F_GETFD) < 0)
        return;
    int fd = (int)n;
    /* Not inherited by anything the app runs; non-blocking, so the loop only reads what is there. */
    if (fcntl(fd, F_SETFD, FD_CLOEXEC) < 0 || fcntl(fd, F_SETFL, fcntl(fd, F_GETFL) | O_NONBLOCK) < 0)
        return;
    if (!(rbuf = malloc(IPC_MSG_MAX)))
        return;
    ipc_msg_init(&m, buf, sizeof buf, MSG_HELLO, ipc_serial_next(&serial_counter), 0);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    if (call_locked(fd, &m, rbuf, &v) == 0) {
        const char *id;
        if (ipc_msg_get_string(&v, F_ID, &id, NULL, NULL) == 0 && strlen(id) < sizeof app_id)
            strcpy(app_id, id);
        ipc_view_finish(&v);
        chan = fd;
    }
    free(rbuf);
}

int channel_fd(void) {
    pthread_mutex_lock(&lock);
    pthread_once(&once, connect_once);
    int r = chan;
    pthread_mutex_unlock(&lock);
    return r;
}

const char *channel_app_id(void) {
    return channel_fd() >= 0 ? app_id : NULL;
}

uint32_t channel_serial(void) {
    pthread_mutex_lock(&lock);
    uint32_t s = ipc_serial_next(&serial_counter);
    pthread_mutex_unlock(&lock);
    return s;
}

int channel_call(struct ipc_msg *request, uint8_t *rbuf, struct ipc_view *reply) {
    int fd = channel_fd(), r;
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&lock);
    r = hung_up ? -ECONNRESET : call_locked(fd, request, rbuf, reply);
    pthread_mutex_unlock(&lock);
    /* The loop left the channel to this call: it may read again. */
    poke();
    return r;
}

void channel_set_wake(int fd) {
    pthread_mutex_lock(&lock);
    wake = fd;
    pthread_mutex_unlock(&lock);
}

int channel_next_event(struct channel_event *ret) {
    int fd = channel_fd(), r = 0;
    struct ipc_view v;
    if (fd < 0)
        return fd;
    /* Another thread waits for a reply and reads the channel meanwhile: it queues events and pokes. */
    if (pthread_mutex_trylock(&lock) != 0)
        return -EBUSY;
    /* Drain what arrived: receive() queues non-replies, and drops replies nobody waits for. */
    while (!hung_up && q_len < QUEUE_MAX && (r = receive(fd, rxbuf, 0, &v)) == 0)
        ;
    if (q_len > 0) {
        *ret = queue[q_head];
        q_head = (q_head + 1) % q_cap;
        q_len--;
        r = 1;
    } else if (hung_up)
        r = -ECONNRESET;
    else if (r == -EAGAIN)
        r = 0;
    pthread_mutex_unlock(&lock);
    return r;
}

int channel_send(const struct ipc_msg *m) {
    int fd = channel_fd(), r;
    if (fd < 0)
        return fd;
    pthread_mutex_lock(&lock);
    r = hung_up ? -ECONNRESET : ipc_send(fd, m, NULL);
    pthread_mutex_unlock(&lock);
    return r;
}

int channel_event_done(uint32_t event) {
    uint8_t buf[64];
    struct ipc_msg m;
    ipc_msg_init(&m, buf, sizeof buf, MSG_EVENT_DONE, channel_serial(), IPC_FLAG_NO_REPLY);
    ipc_msg_add_u32(&m, F_EVENT, event);
    return channel_send(&m);
}
