/* services.c: the SDK calls slated answers: settings, fetch, service connections. */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <slate/app.h>
#include <slate/fetch.h>
#include <slate/settings.h>

#include "channel.h"
#include "proto.h"

/* Requests are small: a key and a value, or a URL. The reply needs a whole message. */
#define REQUEST_MAX (SETTING_VALUE_MAX + 1024)

struct call {
    uint8_t req[REQUEST_MAX];
    uint8_t *rbuf;
    struct ipc_msg m;
    struct ipc_view reply;
};

static int call_begin(struct call *c, uint16_t type) {
    if (!(c->rbuf = malloc(IPC_MSG_MAX)))
        return -ENOMEM;
    return ipc_msg_init(&c->m, c->req, sizeof c->req, type, channel_serial(), 0);
}

static int call_send(struct call *c) {
    if (c->m.error) /* a field did not fit or was invalid (a string that is not UTF-8, say) */
        return c->m.error == -EMSGSIZE || c->m.error == -E2BIG ? -EINVAL : c->m.error;
    return channel_call(&c->m, c->rbuf, &c->reply);
}

static void call_end(struct call *c) {
    free(c->rbuf);
}

ssize_t slate_settings_get(const char *key, char *buf, size_t size) {
    struct call c;
    const char *value;
    size_t len;
    ssize_t r;

    if (!key || (!buf && size))
        return -EINVAL;
    if ((r = channel_fd()) < 0)
        return r;
    if ((r = call_begin(&c, MSG_SETTING_GET)) == 0) {
        ipc_msg_add_string(&c.m, F_KEY, key);
        if ((r = call_send(&c)) == 0) {
            r = ipc_msg_get_string(&c.reply, F_VALUE, &value, &len, NULL);
            if (r == 0) {
                if (size) {
                    size_t n = len < size ? len : size - 1;
                    memcpy(buf, value, n);
                    buf[n] = '\0';
                }
                r = (ssize_t)len;
            } else
                r = -EBADMSG;
            ipc_view_finish(&c.reply);
        }
    }
    call_end(&c);
    return r;
}

static int setting_call(uint16_t type, const char *key, const char *value) {
    struct call c;
    int r;
    if (!key || (type == MSG_SETTING_SET && !value))
        return -EINVAL;
    if ((r = channel_fd()) < 0)
        return r;
    if ((r = call_begin(&c, type)) == 0) {
        ipc_msg_add_string(&c.m, F_KEY, key);
        if (value)
            ipc_msg_add_string(&c.m, F_VALUE, value);
        if ((r = call_send(&c)) == 0)
            ipc_view_finish(&c.reply);
    }
    call_end(&c);
    return r;
}

int slate_settings_set(const char *key, const char *value) {
    return setting_call(MSG_SETTING_SET, key, value);
}

int slate_settings_remove(const char *key) {
    return setting_call(MSG_SETTING_DELETE, key, NULL);
}

/* The POST body travels as a sealed memfd, so it may be larger than a message. */
static int body_memfd(const void *body, size_t len) {
    int fd = memfd_create("slate-body", MFD_CLOEXEC | MFD_ALLOW_SEALING);
    if (fd < 0)
        return -errno;
    for (size_t off = 0; off < len;) {
        ssize_t n = write(fd, (const char *)body + off, len - off);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0) {
            int r = n < 0 ? -errno : -EIO;
            close(fd);
            return r;
        }
        off += (size_t)n;
    }
    if (fcntl(fd, F_ADD_SEALS, F_SEAL_WRITE | F_SEAL_GROW | F_SEAL_SHRINK | F_SEAL_SEAL) < 0) {
        int r = -errno;
        close(fd);
        return r;
    }
    return fd;
}

/* Map the reply body read-only; a body fd whose size is not the length announced is refused. */
static int map_body(struct ipc_view *v, struct slate_response *ret) {
    uint64_t len;
    int fd, r;
    struct stat st;

    if (ipc_msg_get_u64(v, F_LENGTH, &len, NULL) < 0 || ipc_msg_take_fd(v, F_BODY, &fd, NULL) < 0)
        return -EBADMSG;
    if (fstat(fd, &st) < 0 || (uint64_t)st.st_size != len || len > SIZE_MAX) {
        close(fd);
        return -EBADMSG;
    }
    r = 0;
    ret->body = NULL;
    ret->body_len = (size_t)len;
    if (len > 0) {
        void *p = mmap(NULL, (size_t)len, PROT_READ, MAP_PRIVATE, fd, 0);
        if (p == MAP_FAILED)
            r = -errno;
        else
            ret->body = p;
    }
    close(fd);
    return r;
}

static int fetch(const char *method, const char *url, const char *content_type, const void *body, size_t body_len,
                 struct slate_response *ret) {
    struct call c;
    uint32_t status;
    const char *ct;
    int r, bodyfd = -1;

    if (!url || !ret || (body_len && !body))
        return -EINVAL;
    memset(ret, 0, sizeof *ret);
    if ((r = channel_fd()) < 0)
        return r;
    if (body_len && (bodyfd = body_memfd(body, body_len)) < 0)
        return bodyfd;
    if ((r = call_begin(&c, MSG_FETCH)) == 0) {
        ipc_msg_add_string(&c.m, F_METHOD, method);
        ipc_msg_add_string(&c.m, F_URL, url);
        if (content_type)
            ipc_msg_add_string(&c.m, F_CONTENT_TYPE, content_type);
        if (bodyfd >= 0)
            ipc_msg_add_fd(&c.m, F_BODY, bodyfd);
        if ((r = call_send(&c)) == 0) {
            if (ipc_msg_get_u32(&c.reply, F_STATUS, &status, NULL) < 0 || status > 999)
                r = -EBADMSG;
            else if ((r = map_body(&c.reply, ret)) == 0) {
                ret->status = (int)status;
                if (ipc_msg_get_string(&c.reply, F_CONTENT_TYPE, &ct, NULL, NULL) == 0)
                    snprintf(ret->content_type, sizeof ret->content_type, "%s", ct);
            }
            ipc_view_finish(&c.reply);
        }
    }
    call_end(&c);
    if (bodyfd >= 0)
        close(bodyfd);
    return r;
}

int slate_fetch_get(const char *url, struct slate_response *ret) {
    return fetch("GET", url, NULL, NULL, 0, ret);
}

int slate_fetch_post(const char *url, const char *content_type, const void *body, size_t body_len,
                     struct slate_response *ret) {
    return fetch("POST", url, content_type, body, body_len, ret);
}

void slate_response_free(struct slate_response *r) {
    if (!r)
        return;
    if (r->body)
        munmap((void *)r->body, r->body_len);
    r->body = NULL;
    r->body_len = 0;
}

int slate_service_connect(const char *package, const char *service) {
    struct call c;
    int r, fd = -1;

    if (!package || !service)
        return -EINVAL;
    if ((r = channel_fd()) < 0)
        return r;
    if ((r = call_begin(&c, MSG_SERVICE_CONNECT)) == 0) {
        ipc_msg_add_string(&c.m, F_ID, package);
        ipc_msg_add_string(&c.m, F_SERVICE, service);
        if ((r = call_send(&c)) == 0) {
            r = ipc_msg_take_fd(&c.reply, F_FD, &fd, NULL) < 0 ? -EBADMSG : fd;
            ipc_view_finish(&c.reply);
        }
    }
    call_end(&c);
    return r;
}
