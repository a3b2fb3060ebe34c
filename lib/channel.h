/* channel.h: libslate's connection to slated (internal: nothing here is exported). */
#pragma once

#include <stdbool.h>
#include <stdint.h>

#include "ipc.h"
#include "proto.h"

/*
 * An app started by slated inherits one end of a socketpair at fd
 * $SLATE_CHANNEL. SDK calls send a request and wait for its reply; events that
 * arrive meanwhile (lifecycle, a service's new client) are queued for
 * slate_app_run's loop. One mutex serialises the channel, so any thread may
 * call, one request at a time.
 */

/* A queued message from slated that is not a reply. */
struct channel_event {
    uint16_t type; /* MSG_EVENT, MSG_SERVICE_CLIENT, MSG_DISPLAY, MSG_INPUT or MSG_FRAME_DONE */
    uint32_t event, level;
    int fd; /* MSG_SERVICE_CLIENT: the client's connection, owned; else -1 */
    /* MSG_DISPLAY */
    uint32_t width, height;
    bool dark;
    /* MSG_INPUT */
    uint32_t input;
    int32_t x, y;
    uint64_t time_us;
    char key[INPUT_KEY_MAX];
};

/* The channel's fd, or -ENOTCONN when the app does not run under slated. Connects (HELLO) once. */
int channel_fd(void);

/* Who this app is, as slated said in its HELLO reply; NULL outside slated. */
const char *channel_app_id(void);

/*
 * Send request (built with ipc_msg_init in buf) and wait for its reply, parsed
 * into *reply over rbuf (IPC_MSG_MAX bytes). An error reply becomes its code
 * (the reply is finished then). Returns 0, -ENOTCONN, or a negative errno.
 */
int channel_call(struct ipc_msg *request, uint8_t *rbuf, struct ipc_view *reply);

/* A serial for a new request. */
uint32_t channel_serial(void);

/*
 * Read what slated sent without waiting, queueing events; then pop one.
 * Returns 1 with *ret filled, 0 when none is queued, -EBUSY while another
 * thread's call holds the channel (it pokes the wake fd when done),
 * -ECONNRESET once slated has gone, or another negative errno.
 */
int channel_next_event(struct channel_event *ret);

/* The eventfd slate_app_run polls: poked when a call queued events or gave the channel back; -1: none. */
void channel_set_wake(int fd);

/* Tell slated an event's callback returned. */
int channel_event_done(uint32_t event);

/* Send a message that wants no reply (IPC_FLAG_NO_REPLY); 0 or a negative errno. */
int channel_send(const struct ipc_msg *m);
