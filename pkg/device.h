/* device.h: a device root: its descriptor, trust store, database and installed apps. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>

#include "abi.h"
#include "descriptor.h"
#include "err.h"

#define APPS_DIR "var/lib/slate/apps"
#define STAGING_DIR "var/lib/slate/staging"
#define LOCK_FILE "var/lib/slate/lock"

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

/*
 * Start-up recovery: remove stale staging and any version folder that the
 * database does not know (left by a crash between rename and commit).
 * Returns the number of leftovers removed.
 */
int device_recover(struct device *d, struct err *e);

static inline void device_closep(struct device **d) {
    device_close(*d);
}
#define _cleanup_device_ __attribute__((cleanup(device_closep)))
