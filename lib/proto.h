/* proto.h: the messages slated speaks, on its control socket and on each app's channel (see docs/ipc.md). */
#pragma once

#include <stdint.h>

/*
 * Two kinds of connection carry lib/ipc.h messages:
 *
 * - The control socket, <root>/run/slate/control: the `slate` command's verbs
 *   (start, stop, ps, logs). Only slated's own user (or root) may connect.
 * - An app's channel: one end of a socketpair slated creates for each app or
 *   service it starts, given to the app as fd SLATE_CHANNEL_FD ($SLATE_CHANNEL).
 *   The connection itself says who the app is, so no message can claim to be
 *   another app.
 *
 * Every connection opens with HELLO from the client; the reply carries the
 * server's protocol minor version (and, on an app channel, who the app is).
 * A reply to a request that failed carries IPC_FIELD_ERROR_CODE/TEXT.
 */
#define PROTO_CONTROL_PATH "run/slate/control" /* under the device root */
#define SLATE_CHANNEL_FD 3
#define SLATE_CHANNEL_ENV "SLATE_CHANNEL"

enum proto_type {
    MSG_HELLO = 0x0001, /* -> F_PROTO_MINOR; <- F_PROTO_MINOR (+ F_ID, F_KIND, F_SERVICE on an app channel) */

    /* control socket */
    MSG_START = 0x0101, /* F_ID -> F_PID, F_STATE */
    MSG_STOP = 0x0102,  /* F_ID -> F_STATUS: how it ended */
    MSG_PS = 0x0103,    /* -> one MSG_PS_ENTRY per app, then the reply (F_COUNT) */
    MSG_PS_ENTRY = 0x0104,
    MSG_LOGS = 0x0105, /* [F_ID] [F_FOLLOW] -> MSG_LOG_LINE each, then the reply unless following */
    MSG_LOG_LINE = 0x0106,
    MSG_SHOT = 0x0107,   /* -> F_BODY (a sealed memfd of XRGB pixels), F_WIDTH, F_HEIGHT: the screen */
    MSG_INJECT = 0x0108, /* F_INPUT, F_X, F_Y, [F_KEY_NAME]: input as if from the screen (slate tap, swipe, key) */
    MSG_THEME = 0x0109,  /* [F_DARK]: the device's theme, set when given -> F_DARK (slate theme) */

    /* slated -> app: a lifecycle event; the app answers MSG_EVENT_DONE once its callback returned */
    MSG_EVENT = 0x0201,      /* F_EVENT, [F_LEVEL] */
    MSG_EVENT_DONE = 0x0202, /* F_EVENT */
    MSG_SERVICE_CLIENT = 0x0203, /* slated -> service: F_FD, a new client's connection */

    /* app -> slated requests */
    MSG_PLATFORM = 0x0301,        /* -> F_API_LEVEL, F_MIN_API_LEVEL, F_RELEASE, F_EOL */
    MSG_SETTING_GET = 0x0302,     /* F_KEY -> F_VALUE; -ENOENT when unset */
    MSG_SETTING_SET = 0x0303,     /* F_KEY, F_VALUE */
    MSG_SETTING_DELETE = 0x0304,  /* F_KEY; -ENOENT when unset */
    MSG_FETCH = 0x0305,           /* F_METHOD, F_URL, [F_BODY fd, F_CONTENT_TYPE] -> F_STATUS, F_BODY, F_LENGTH, F_CONTENT_TYPE */
    MSG_SERVICE_CONNECT = 0x0306, /* F_ID (package id), F_SERVICE -> F_FD */

    /* the display: slated -> app */
    MSG_DISPLAY = 0x0401,    /* F_WIDTH, F_HEIGHT (the app's part of the screen), F_DARK: before EVENT_START, and on change */
    MSG_INPUT = 0x0402,      /* F_INPUT, F_X, F_Y, F_TIME_US, [F_KEY_NAME]: for the app on screen only */
    MSG_FRAME_DONE = 0x0403, /* the app's buffer was put on the screen: it may draw again */
    /* the display: app -> slated */
    MSG_SURFACE = 0x0411, /* F_FD (a sealed memfd), F_WIDTH, F_HEIGHT, F_STRIDE (bytes): the buffer it draws into */
    MSG_FRAME = 0x0412,   /* F_DAMAGE: a frame is drawn; no reply, MSG_FRAME_DONE follows */
};

enum proto_field {
    F_PROTO_MINOR = 1, /* u32 */
    F_ID = 2,          /* string: package id */
    F_KIND = 3,        /* string: "app" or "service" */
    F_SERVICE = 4,     /* string: service name */
    F_PID = 5,         /* u32, as slated's pid namespace sees it */
    F_STATE = 6,       /* string: lifecycle state */
    F_STATUS = 7,      /* string: how the last run ended; u32 HTTP status in MSG_FETCH's reply */
    F_COUNT = 8,       /* u32 */
    F_MEMORY = 9,      /* u64 bytes */
    F_UPTIME_MS = 10,  /* u64 */
    F_FROZEN = 11,     /* bool */
    F_FOLLOW = 12,     /* bool */
    F_TIME_US = 13,    /* u64, CLOCK_REALTIME */
    F_TEXT = 14,       /* string */
    F_EVENT = 15,      /* u32, enum proto_event */
    F_LEVEL = 16,      /* u32, trim level */
    F_FD = 17,         /* fd */
    F_API_LEVEL = 18,  /* u32 */
    F_MIN_API_LEVEL = 19,
    F_RELEASE = 20, /* string */
    F_EOL = 21,     /* bool */
    F_KEY = 22,     /* string */
    F_VALUE = 23,   /* string */
    F_METHOD = 24,  /* string: GET or POST */
    F_URL = 25,     /* string */
    F_BODY = 26,    /* fd: a sealed memfd */
    F_CONTENT_TYPE = 27, /* string */
    F_LENGTH = 28,       /* u64 */
    F_BUDGET = 29,       /* u64 bytes, 0: none */
    F_RESTARTS = 30,     /* u32 */
    F_CLASS = 32,        /* string: importance (memory.h): foreground, visible, perceptible, service, previous, cached */
    F_STREAM = 31,       /* u32: 1 stdout, 2 stderr, 0 slated; bits 4-7: slate_log's priority + 1 (logbuf.h) */
    F_WIDTH = 33,        /* u32 pixels */
    F_HEIGHT = 34,       /* u32 pixels */
    F_STRIDE = 35,       /* u32 bytes */
    F_DARK = 36,         /* bool: the user chose the dark theme */
    F_INPUT = 37,        /* u32, enum proto_input */
    F_X = 38,            /* i64 pixels, in the app's part of the screen */
    F_Y = 39,            /* i64 */
    F_KEY_NAME = 40,     /* string: a key ("Back", "Return", ...) or the text typed */
    F_DAMAGE = 41,       /* bytes: u32 x, y, w, h per rectangle */
};

/* F_INPUT: what happened (window.h's enum ui_input_kind has the same values). */
enum proto_input {
    INPUT_DOWN = 1,
    INPUT_MOVE = 2,
    INPUT_UP = 3,
    INPUT_CANCEL = 4,
    INPUT_KEY = 5,
    INPUT_TEXT = 6,
};
#define INPUT_KEY_MAX 64 /* bytes of F_KEY_NAME */

#define PROTO_MINOR 0

/* F_LEVEL of EVENT_TRIM_MEMORY: enum slate_trim_level's values. */
enum proto_trim {
    TRIM_BACKGROUND = 1,
    TRIM_MODERATE = 2,
    TRIM_CRITICAL = 3,
};

enum proto_event {
    EVENT_START = 1,
    EVENT_PAUSE = 2,
    EVENT_RESUME = 3,
    EVENT_STOP = 4,
    EVENT_TRIM_MEMORY = 5,
};

/* Bounds slated enforces on settings, per app. */
#define SETTING_KEY_MAX 128
#define SETTING_VALUE_MAX 4096
#define SETTINGS_PER_APP_MAX 1024
