/* seeds-slated.c: writes the seeds of the targets that talk to slated's sockets, built with the IPC builder. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "ipc.h"
#include "proto.h"

/*
 * usage: seeds-slated OUTDIR
 * Writes OUTDIR/{appchan,control,channel,logbuf}/NAME: inputs in the framing of
 * slated-fuzz.h (a flags byte, a count, then length-prefixed datagrams), and
 * for logbuf the bytes fuzz-logbuf.c reads (chunking seed, flags, output).
 */

static const char *outdir;

/* One seed being built. */
struct seed {
    uint8_t data[65536];
    size_t len;
    size_t count_at; /* where the datagram count goes */
};

static void seed_begin(struct seed *sd, uint8_t flags) {
    sd->data[0] = flags;
    sd->data[1] = 0;
    sd->count_at = 1;
    sd->len = 2;
}

static void seed_add(struct seed *sd, const void *p, size_t len) {
    if (sd->len + 2 + len > sizeof sd->data) {
        fprintf(stderr, "seeds-slated: a seed is too large\n");
        exit(111);
    }
    sd->data[sd->len++] = (uint8_t)len;
    sd->data[sd->len++] = (uint8_t)(len >> 8);
    memcpy(sd->data + sd->len, p, len);
    sd->len += len;
    sd->data[sd->count_at]++;
}

/* Add a built message: its bytes (the fds it names travel as the harness's memfd). */
static void seed_msg(struct seed *sd, const struct ipc_msg *m) {
    if (m->error) {
        fprintf(stderr, "seeds-slated: a message did not build: %s\n", strerror(-m->error));
        exit(111);
    }
    seed_add(sd, m->buf, m->len);
}

static void seed_write(const char *target, const char *name, const void *data, size_t len) {
    char path[4096];
    snprintf(path, sizeof path, "%s/%s", outdir, target);
    if (mkdir(path, 0755) < 0 && errno != EEXIST) {
        fprintf(stderr, "seeds-slated: %s: %s\n", path, strerror(errno));
        exit(111);
    }
    snprintf(path, sizeof path, "%s/%s/%s", outdir, target, name);
    FILE *f = fopen(path, "wb");
    if (!f || fwrite(data, 1, len, f) != len || fclose(f) != 0) {
        fprintf(stderr, "seeds-slated: %s: %s\n", path, strerror(errno));
        exit(111);
    }
}

static void seed_end(struct seed *sd, const char *target, const char *name) {
    seed_write(target, name, sd->data, sd->len);
}

/* Message builders, each into its own static buffer (a seed adds it before the next is built). */
static uint8_t mbuf[IPC_MSG_MAX];
static struct ipc_msg m;

static struct ipc_msg *msg(uint16_t type, uint32_t serial, uint16_t flags) {
    ipc_msg_init(&m, mbuf, sizeof mbuf, type, serial, flags);
    return &m;
}

static struct ipc_msg *hello(uint32_t serial) {
    msg(MSG_HELLO, serial, 0);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    return &m;
}

static struct ipc_msg *with_string(uint16_t type, uint32_t serial, uint16_t id, const char *s) {
    msg(type, serial, 0);
    ipc_msg_add_string(&m, id, s);
    return &m;
}

static struct ipc_msg *setting(uint16_t type, uint32_t serial, const char *key, const char *value) {
    msg(type, serial, 0);
    ipc_msg_add_string(&m, F_KEY, key);
    if (value)
        ipc_msg_add_string(&m, F_VALUE, value);
    return &m;
}

static struct ipc_msg *service_connect(uint32_t serial, const char *id, const char *service) {
    msg(MSG_SERVICE_CONNECT, serial, 0);
    ipc_msg_add_string(&m, F_ID, id);
    ipc_msg_add_string(&m, F_SERVICE, service);
    return &m;
}

static struct ipc_msg *event(uint16_t type, uint32_t ev, uint32_t level) {
    msg(type, 0, IPC_FLAG_NO_REPLY);
    ipc_msg_add_u32(&m, F_EVENT, ev);
    if (level)
        ipc_msg_add_u32(&m, F_LEVEL, level);
    return &m;
}

/* ---- slated's end of an app's channel ---- */

static void appchan_seeds(void) {
    struct seed sd;
    char key[160];

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_end(&sd, "appchan", "hello");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, msg(MSG_PLATFORM, 2, 0));
    seed_end(&sd, "appchan", "platform");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, setting(MSG_SETTING_SET, 2, "colour", "blue"));
    seed_msg(&sd, setting(MSG_SETTING_GET, 3, "colour", NULL));
    seed_msg(&sd, setting(MSG_SETTING_DELETE, 4, "colour", NULL));
    seed_msg(&sd, setting(MSG_SETTING_GET, 5, "colour", NULL));
    seed_msg(&sd, setting(MSG_SETTING_DELETE, 6, "colour", NULL));
    seed_end(&sd, "appchan", "settings");

    /* Keys and values at and past their bounds. */
    seed_begin(&sd, 2);
    memset(key, 'k', sizeof key);
    key[SETTING_KEY_MAX] = '\0';
    seed_msg(&sd, setting(MSG_SETTING_SET, 2, key, "at the bound"));
    key[SETTING_KEY_MAX] = 'k';
    key[SETTING_KEY_MAX + 1] = '\0';
    seed_msg(&sd, setting(MSG_SETTING_SET, 3, key, "past the bound"));
    seed_msg(&sd, setting(MSG_SETTING_SET, 4, "with space", "x"));
    seed_msg(&sd, setting(MSG_SETTING_SET, 5, "", "x"));
    {
        static char value[SETTING_VALUE_MAX + 2];
        memset(value, 'v', SETTING_VALUE_MAX + 1);
        seed_msg(&sd, setting(MSG_SETTING_SET, 6, "big", value));
        value[SETTING_VALUE_MAX] = '\0';
        seed_msg(&sd, setting(MSG_SETTING_SET, 7, "big", value));
        seed_msg(&sd, setting(MSG_SETTING_GET, 8, "big", NULL));
    }
    seed_msg(&sd, msg(MSG_SETTING_GET, 9, 0));
    seed_end(&sd, "appchan", "setting-bounds");

    /* Many keys in one go. */
    seed_begin(&sd, 2);
    for (int i = 0; i < 60; i++) {
        snprintf(key, sizeof key, "key-%d", i);
        seed_msg(&sd, setting(MSG_SETTING_SET, 10 + (uint32_t)i, key, "v"));
    }
    seed_end(&sd, "appchan", "setting-many");

    seed_begin(&sd, 2);
    msg(MSG_FETCH, 2, 0);
    ipc_msg_add_string(&m, F_METHOD, "GET");
    ipc_msg_add_string(&m, F_URL, "http://127.0.0.1:1/");
    seed_msg(&sd, &m);
    msg(MSG_FETCH, 3, 0);
    ipc_msg_add_string(&m, F_METHOD, "POST");
    ipc_msg_add_string(&m, F_URL, "http://127.0.0.1:1/");
    ipc_msg_add_string(&m, F_CONTENT_TYPE, "text/plain");
    ipc_msg_add_fd(&m, F_BODY, 0);
    seed_msg(&sd, &m);
    seed_end(&sd, "appchan", "fetch");

    seed_begin(&sd, 2);
    seed_msg(&sd, service_connect(2, "org.example.svc", "time"));
    seed_msg(&sd, service_connect(3, "org.example.nope", "time"));
    seed_msg(&sd, service_connect(4, "org.example.svc", "nope"));
    seed_msg(&sd, service_connect(5, "Not.An.Id", "time"));
    seed_msg(&sd, with_string(MSG_SERVICE_CONNECT, 6, F_ID, "org.example.svc"));
    seed_end(&sd, "appchan", "service-connect");

    /* Past the connections a service may have waiting. */
    seed_begin(&sd, 2);
    for (int i = 0; i < 20; i++)
        seed_msg(&sd, service_connect(2 + (uint32_t)i, "org.example.svc", "time"));
    seed_end(&sd, "appchan", "service-connect-many");

    /* The service itself: hello hands it its pending clients; it connects to itself. */
    seed_begin(&sd, 1);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, service_connect(2, "org.example.svc", "time"));
    seed_msg(&sd, event(MSG_EVENT_DONE, EVENT_START, 0));
    seed_end(&sd, "appchan", "service-hello");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, event(MSG_EVENT_DONE, EVENT_START, 0));
    seed_msg(&sd, event(MSG_EVENT_DONE, EVENT_RESUME, 0));
    seed_msg(&sd, event(MSG_EVENT_DONE, 99, 0));
    seed_end(&sd, "appchan", "event-done");

    seed_begin(&sd, 4 | 2);
    seed_msg(&sd, event(MSG_EVENT_DONE, EVENT_TRIM_MEMORY, 0));
    seed_end(&sd, "appchan", "trim-done");

    /* Before hello; a reply nobody asked for; an unknown type; an event sent the wrong way. */
    seed_begin(&sd, 0);
    seed_msg(&sd, msg(MSG_PLATFORM, 1, 0));
    seed_msg(&sd, msg(MSG_PLATFORM, 2, IPC_FLAG_NO_REPLY));
    seed_msg(&sd, hello(3));
    seed_msg(&sd, msg(MSG_PLATFORM, 4, IPC_FLAG_REPLY));
    seed_msg(&sd, msg(0x7777, 5, 0));
    seed_msg(&sd, msg(0x7777, 6, IPC_FLAG_NO_REPLY));
    seed_msg(&sd, event(MSG_EVENT, EVENT_STOP, 0));
    seed_msg(&sd, hello(7));
    seed_end(&sd, "appchan", "confused");

    /* A malformed message (kept), an fd nobody asked for, then an empty datagram: the app hangs up. */
    seed_begin(&sd, 2);
    seed_add(&sd, "SL\x01\x00", 4);
    msg(MSG_PLATFORM, 2, 0);
    ipc_msg_add_fd(&m, 99, 0);
    seed_msg(&sd, &m);
    seed_msg(&sd, msg(MSG_PLATFORM, 3, 0));
    seed_add(&sd, "", 0);
    seed_msg(&sd, msg(MSG_PLATFORM, 4, 0));
    seed_end(&sd, "appchan", "hang-up");
}

/* ---- the control socket ---- */

static void control_seeds(void) {
    struct seed sd;

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, msg(MSG_PS, 2, 0));
    seed_end(&sd, "control", "ps");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, msg(MSG_LOGS, 2, 0));
    seed_msg(&sd, with_string(MSG_LOGS, 3, F_ID, "org.example.app"));
    seed_msg(&sd, with_string(MSG_LOGS, 4, F_ID, "slated"));
    seed_msg(&sd, with_string(MSG_LOGS, 5, F_ID, "org.example.svc@time"));
    seed_msg(&sd, with_string(MSG_LOGS, 6, F_ID, "org.example.nope"));
    seed_end(&sd, "control", "logs");

    seed_begin(&sd, 1);
    seed_msg(&sd, hello(1));
    msg(MSG_LOGS, 2, 0);
    ipc_msg_add_bool(&m, F_FOLLOW, true);
    seed_msg(&sd, &m);
    seed_add(&sd, "a line \xff\x01 with bytes an app chose", strlen("a line \xff\x01 with bytes an app chose"));
    seed_end(&sd, "control", "logs-follow");

    seed_begin(&sd, 1);
    seed_msg(&sd, hello(1));
    msg(MSG_LOGS, 2, 0);
    ipc_msg_add_string(&m, F_ID, "org.example.app");
    ipc_msg_add_bool(&m, F_FOLLOW, true);
    seed_msg(&sd, &m);
    seed_end(&sd, "control", "logs-follow-app");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, with_string(MSG_START, 2, F_ID, "org.example.app"));
    seed_msg(&sd, with_string(MSG_START, 3, F_ID, "org.example.nope"));
    seed_msg(&sd, with_string(MSG_START, 4, F_ID, "../etc"));
    seed_msg(&sd, msg(MSG_START, 5, 0));
    seed_end(&sd, "control", "start");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_msg(&sd, with_string(MSG_STOP, 2, F_ID, "org.example.svc@time"));
    seed_msg(&sd, with_string(MSG_STOP, 3, F_ID, "org.example.svc@time"));
    seed_msg(&sd, with_string(MSG_STOP, 4, F_ID, "org.example.app"));
    seed_msg(&sd, with_string(MSG_STOP, 5, F_ID, "org.example.nope"));
    seed_msg(&sd, msg(MSG_PS, 6, 0));
    seed_end(&sd, "control", "stop");

    seed_begin(&sd, 0);
    seed_msg(&sd, msg(MSG_PS, 1, 0));
    seed_msg(&sd, hello(2));
    seed_msg(&sd, msg(MSG_PS, 3, IPC_FLAG_REPLY));
    seed_msg(&sd, msg(0x0999, 4, 0));
    seed_msg(&sd, msg(MSG_PS, 5, 0));
    seed_end(&sd, "control", "confused");

    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    seed_add(&sd, "SL\x01\x00garbage", 11);
    seed_msg(&sd, msg(MSG_PS, 2, 0));
    seed_end(&sd, "control", "garbage");

    /* Many requests whose replies pile up faster than one read drains them. */
    seed_begin(&sd, 0);
    seed_msg(&sd, hello(1));
    for (uint32_t i = 0; i < 60; i++)
        seed_msg(&sd, msg(MSG_LOGS, 2 + i, 0));
    seed_end(&sd, "control", "logs-many");
}

/* ---- libslate's end ---- */

static struct ipc_msg *reply(uint16_t type, uint32_t serial) {
    return msg(type, serial, IPC_FLAG_REPLY);
}

static void channel_seeds(void) {
    struct seed sd;

    seed_begin(&sd, 0);
    seed_msg(&sd, event(MSG_EVENT, EVENT_START, 0));
    seed_msg(&sd, event(MSG_EVENT, EVENT_PAUSE, 0));
    seed_msg(&sd, event(MSG_EVENT, EVENT_TRIM_MEMORY, 2));
    seed_msg(&sd, event(MSG_EVENT, EVENT_RESUME, 0));
    seed_msg(&sd, event(MSG_EVENT, 42, 0));
    msg(MSG_SERVICE_CLIENT, 0, IPC_FLAG_NO_REPLY);
    ipc_msg_add_fd(&m, F_FD, 0);
    seed_msg(&sd, &m);
    seed_msg(&sd, msg(MSG_SERVICE_CLIENT, 0, IPC_FLAG_NO_REPLY));
    seed_msg(&sd, event(MSG_EVENT, EVENT_STOP, 0));
    seed_end(&sd, "channel", "events");

    /* More events than the queue holds. */
    seed_begin(&sd, 0);
    for (int i = 0; i < 40; i++) {
        msg(MSG_SERVICE_CLIENT, 0, IPC_FLAG_NO_REPLY);
        ipc_msg_add_fd(&m, F_FD, 0);
        seed_msg(&sd, &m);
    }
    seed_end(&sd, "channel", "events-many");

    seed_begin(&sd, 1);
    seed_msg(&sd, event(MSG_EVENT, EVENT_START, 0));
    seed_msg(&sd, reply(MSG_SETTING_GET, 7));
    reply(MSG_SETTING_GET, 1);
    ipc_msg_add_string(&m, F_VALUE, "blue");
    seed_msg(&sd, &m);
    seed_end(&sd, "channel", "settings-get");

    seed_begin(&sd, 1);
    seed_msg(&sd, reply(MSG_SETTING_GET, 1));
    seed_end(&sd, "channel", "settings-get-no-value");

    seed_begin(&sd, 2);
    seed_msg(&sd, reply(MSG_SETTING_SET, 1));
    seed_end(&sd, "channel", "settings-set");

    seed_begin(&sd, 3);
    {
        struct ipc_view req = {.type = MSG_SETTING_DELETE, .serial = 1};
        ipc_msg_init_error(&m, mbuf, sizeof mbuf, &req, -ENOENT, "no such setting");
        seed_msg(&sd, &m);
    }
    seed_end(&sd, "channel", "settings-remove-error");

    for (unsigned which = 4; which <= 5; which++) {
        seed_begin(&sd, (uint8_t)which);
        seed_msg(&sd, event(MSG_EVENT, EVENT_PAUSE, 0));
        reply(MSG_FETCH, 1);
        ipc_msg_add_u32(&m, F_STATUS, 200);
        ipc_msg_add_u64(&m, F_LENGTH, 4);
        ipc_msg_add_fd(&m, F_BODY, 0);
        ipc_msg_add_string(&m, F_CONTENT_TYPE, "text/plain");
        seed_msg(&sd, &m);
        seed_end(&sd, "channel", which == 4 ? "fetch-get" : "fetch-post");
    }

    seed_begin(&sd, 4);
    reply(MSG_FETCH, 1);
    ipc_msg_add_u32(&m, F_STATUS, 404);
    ipc_msg_add_u64(&m, F_LENGTH, 0);
    ipc_msg_add_fd(&m, F_BODY, 0);
    seed_msg(&sd, &m);
    seed_end(&sd, "channel", "fetch-length-mismatch");

    seed_begin(&sd, 6);
    reply(MSG_SERVICE_CONNECT, 1);
    ipc_msg_add_fd(&m, F_FD, 0);
    seed_msg(&sd, &m);
    seed_end(&sd, "channel", "service-connect");

    seed_begin(&sd, 7);
    reply(MSG_PLATFORM, 1);
    ipc_msg_add_u32(&m, F_API_LEVEL, 3);
    ipc_msg_add_u32(&m, F_MIN_API_LEVEL, 1);
    ipc_msg_add_string(&m, F_RELEASE, "fuzz");
    ipc_msg_add_bool(&m, F_EOL, false);
    seed_msg(&sd, &m);
    seed_end(&sd, "channel", "platform");

    /* slated hangs up in the middle. */
    seed_begin(&sd, 0);
    seed_msg(&sd, event(MSG_EVENT, EVENT_START, 0));
    seed_add(&sd, "", 0);
    seed_msg(&sd, event(MSG_EVENT, EVENT_STOP, 0));
    seed_end(&sd, "channel", "hang-up");

    seed_begin(&sd, 1);
    seed_add(&sd, "", 0);
    reply(MSG_SETTING_GET, 1);
    ipc_msg_add_string(&m, F_VALUE, "late");
    seed_msg(&sd, &m);
    seed_end(&sd, "channel", "hang-up-call");
}

/* ---- an app's output ---- */

static void logbuf_seed(const char *name, uint16_t chunking, uint8_t flags, const char *text, size_t len) {
    static uint8_t buf[8192];
    buf[0] = (uint8_t)chunking;
    buf[1] = (uint8_t)(chunking >> 8);
    buf[2] = flags;
    memcpy(buf + 3, text, len);
    seed_write("logbuf", name, buf, len + 3);
}

static void logbuf_seeds(void) {
    static char text[4096];
    logbuf_seed("lines", 1, 7, "hello\nworld\n\nlast without newline", 33);
    logbuf_seed("crlf", 2, 1, "one\r\ntwo\r\n\r\n", 12);
    logbuf_seed("priority", 3, 1, "<3>org.example.app: failed\n<6>other: info\n<9>no\n<", 49);
    memset(text, 'a', sizeof text);
    text[1024] = '\n';
    text[1025] = '\n';
    logbuf_seed("cut-newline", 4, 2, text, 1100);
    text[1024] = 'a';
    text[2500] = '\n';
    logbuf_seed("long-line", 5, 6, text, sizeof text);
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)(i * 7 % 13 == 0 ? '\n' : 'a' + i % 26);
    logbuf_seed("many-lines", 6, 0, text, sizeof text);
}

int main(int argc, char **argv) {
    if (argc != 2) {
        fprintf(stderr, "usage: seeds-slated OUTDIR\n");
        return 100;
    }
    outdir = argv[1];
    appchan_seeds();
    control_seeds();
    channel_seeds();
    logbuf_seeds();
    return 0;
}
