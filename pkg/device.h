/* device.h: a device root: its descriptor, trust store, database and installed apps. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

#include "abi.h"
#include "descriptor.h"
#include "err.h"

#define APPS_DIR "var/lib/slate/apps"
#define STAGING_DIR "var/lib/slate/staging"
#define DATA_DIR "var/lib/slate/data" /* each app's private data, <id>/ (written by the app under slated) */
#define LOCK_FILE "var/lib/slate/lock"
#define INTENT_FILE "var/lib/slate/intent"

struct device {
    char *root;
    int rootfd;
    int lockfd; /* held for writing: one writer at a time */
    struct platform_desc desc;
    sqlite3 *db;
    struct abi_table *abi;
};

enum device_flags {
    DEVICE_WRITE = 1 << 0, /* take the lock and run start-up recovery */
};

/* Create a device root at root (which may exist, but must not be a device yet). */
int device_init(const char *root, unsigned api_level, unsigned min_api_level, const char *release, struct err *e);

int device_open(const char *root, unsigned flags, struct device **ret, struct err *e);
struct device *device_close(struct device *d);

/* Become the device's one writer (waiting for another to finish), then run recovery. Idempotent. */
int device_lock(struct device *d, struct err *e);

/*
 * Start-up recovery, run by every writer: remove stale staging and, for the app
 * a crashed writer had named in its intent, any version folder the database does
 * not know (left by a crash between rename and commit, or before a removal's
 * folders were gone). Returns the number of leftovers removed.
 */
int device_recover(struct device *d, struct err *e);

/* Name the app whose folders are about to change (durably), and forget it once they have. */
int device_intent_begin(struct device *d, const char *id, struct err *e);
void device_intent_end(struct device *d);

static inline void device_closep(struct device **d) {
    device_close(*d);
}
#define _cleanup_device_ __attribute__((cleanup(device_closep)))
