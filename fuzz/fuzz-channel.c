/* fuzz-channel.c: libFuzzer target for libslate's end of the channel: what slated, or whatever poses as it, sends. */
#include <slate/app.h>
#include <slate/fetch.h>
#include <slate/settings.h>

#include "slated-fuzz.h"

/*
 * lib/channel.c keeps its state in statics, set up once per process: it is
 * built into this target so that each input can start from the same state
 * (no hang-up seen, serials counted from 0, nothing queued).
 */
#include "../lib/channel.c"

/*
 * Each input's datagrams (see slated-fuzz.h) are queued for the SDK as slated
 * would send them. Flags bits 0-2 then pick one SDK call to make, which reads
 * them while it waits for its reply (its request has serial 1, so an input
 * can answer it): 0 none, 1 slate_settings_get, 2 slate_settings_set,
 * 3 slate_settings_remove, 4 slate_fetch_get, 5 slate_fetch_post,
 * 6 slate_service_connect, 7 channel_call with MSG_PLATFORM. An error reply
 * to serial 1 is queued last, so the call never waits for ever. Then
 * channel_next_event runs until nothing is left, acknowledging each event as
 * slate_app_run does and closing each client fd. A hang-up (an empty
 * datagram) is forgotten so that the rest is still read.
 *
 * The HELLO the SDK sends at first use is answered by a reply queued before
 * it (a SOCK_SEQPACKET pair keeps it). Checked: no crash or sanitizer report,
 * what the SDK sends parses, what it hands out is sane, no fd is left open.
 */

#define CALLS_MAX (4 * DATAGRAMS_MAX + QUEUE_MAX + 16)

static int slated_end = -1;

static void setup(void) {
    uint8_t buf[256];
    struct ipc_msg m;
    char num[16];
    int pair[2];

    fuzz_begin();
    fuzz_socketpair(pair);
    slated_end = pair[1];
    snprintf(num, sizeof num, "%d", pair[0]);
    setenv(SLATE_CHANNEL_ENV, num, 1);
    ipc_msg_init(&m, buf, sizeof buf, MSG_HELLO, 1, IPC_FLAG_REPLY);
    ipc_msg_add_u32(&m, F_PROTO_MINOR, PROTO_MINOR);
    ipc_msg_add_string(&m, F_ID, "org.example.fuzz");
    ipc_msg_add_string(&m, F_KIND, "app");
    if (ipc_send(slated_end, &m, NULL) < 0 || channel_fd() != pair[0] || !channel_app_id() ||
        strcmp(channel_app_id(), "org.example.fuzz") != 0)
        fuzz_fail("the SDK did not take the HELLO reply");
    fuzz_drain(slated_end);
}

static const uint16_t call_types[8] = {0,         MSG_SETTING_GET, MSG_SETTING_SET,     MSG_SETTING_DELETE,
                                       MSG_FETCH, MSG_FETCH,       MSG_SERVICE_CONNECT, MSG_PLATFORM};

static void call(unsigned which) {
    char value[64];
    struct slate_response resp;
    int r;

    switch (which) {
    case 1: {
        ssize_t n = slate_settings_get("key", value, sizeof value);
        if (n >= 0 && strlen(value) != ((size_t)n < sizeof value ? (size_t)n : sizeof value - 1))
            fuzz_fail("slate_settings_get: the value's length is not what it returned");
        break;
    }
    case 2: slate_settings_set("key", "value"); break;
    case 3: slate_settings_remove("key"); break;
    case 4:
    case 5:
        r = which == 4 ? slate_fetch_get("http://example.org/", &resp)
                       : slate_fetch_post("http://example.org/", "text/plain", "x", 1, &resp);
        if (r == 0) {
            /* The only body an input can send is the 4-byte memfd. */
            if (resp.status < 0 || resp.status > 999 || strlen(resp.content_type) >= sizeof resp.content_type ||
                (resp.body_len && (resp.body_len != 4 || memcmp(resp.body, "body", 4) != 0)))
                fuzz_fail("slate_fetch: a response that does not hold what was sent");
            slate_response_free(&resp);
        }
        break;
    case 6:
        if ((r = slate_service_connect("org.example.svc", "time")) >= 0)
            close(r);
        break;
    case 7: {
        uint8_t buf[64], *rbuf = malloc(IPC_MSG_MAX);
        struct ipc_msg m;
        struct ipc_view v;
        if (!rbuf)
            break;
        ipc_msg_init(&m, buf, sizeof buf, MSG_PLATFORM, channel_serial(), 0);
        if (channel_call(&m, rbuf, &v) == 0)
            ipc_view_finish(&v);
        free(rbuf);
        break;
    }
    default: break;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static bool ready;
    struct datagrams d;
    bool sent = true;

    if (!ready) {
        setup();
        ready = true;
    }
    datagrams_split(data, size, &d);
    pthread_mutex_lock(&lock);
    hung_up = false;
    serial_counter = 0;
    pthread_mutex_unlock(&lock);
    int fds_before = fuzz_count_fds();

    for (size_t i = 0; i < d.n && sent; i++)
        sent = fuzz_send(slated_end, d.p[i], d.len[i]);
    unsigned which = d.flags & 7;
    if (which && sent) {
        uint8_t buf[128];
        struct ipc_msg m;
        struct ipc_view req = {.type = call_types[which], .serial = 1};
        ipc_msg_init_error(&m, buf, sizeof buf, &req, -ECANCELED, "the input gave no reply");
        if (ipc_send(slated_end, &m, NULL) == 0)
            call(which);
    }

    for (int i = 0;; i++) {
        struct channel_event ev;
        int r = channel_next_event(&ev);
        if (r == 0)
            break;
        if (i == CALLS_MAX)
            fuzz_fail("channel_next_event never says the channel is empty");
        if (r == -ECONNRESET) {
            pthread_mutex_lock(&lock);
            hung_up = false;
            pthread_mutex_unlock(&lock);
        }
        if (r != 1)
            continue;
        if (ev.type == MSG_SERVICE_CLIENT) {
            if (ev.fd < 0 || fcntl(ev.fd, F_GETFD) < 0)
                fuzz_fail("a service client's fd is not open");
            close(ev.fd);
        } else if (ev.fd != -1) {
            fuzz_fail("an event of type %u with fd %d", ev.type, ev.fd);
        } else if (ev.type == MSG_EVENT) {
            channel_event_done(ev.event);
        } else if (ev.type != MSG_DISPLAY && ev.type != MSG_INPUT && ev.type != MSG_FRAME_DONE) {
            fuzz_fail("an event of type %u the channel does not queue", ev.type);
        } else if (ev.type == MSG_INPUT && memchr(ev.key, 0, sizeof ev.key) == NULL) {
            fuzz_fail("an input event whose key name is not terminated");
        }
    }
    if (q_len != 0)
        fuzz_fail("events left in the queue");
    if (fuzz_drain(slated_end) < 0)
        fuzz_fail("the SDK closed the channel");

    int fds_after = fuzz_count_fds();
    if (fds_after != fds_before)
        fuzz_fail("%d fds open before the input, %d after: a leak", fds_before, fds_after);
    return 0;
}
