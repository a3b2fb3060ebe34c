/* platform.h: moving a device's API window forward, as an OS update does. */
#pragma once

#include <stdbool.h>

#include "db.h"
#include "device.h"
#include "err.h"

struct platform_change {
    unsigned api_level, min_api_level;
    const char *release; /* NULL: keep */
    bool eol;            /* end of life from now on (it never ends) */
};

/*
 * Whether a version built for level runs on the device: within the window, or
 * refused with the reason (the same words install uses). Apps left below the
 * window by an upgrade are retired: kept on disk, refused at start, until an
 * update brings a version the platform supports.
 */
int platform_runs(const struct platform_desc *d, const char *id, unsigned level, struct err *e);

/*
 * Upgrade the platform: the new window must not go back (no level returns once
 * dropped), must be provided by this build's libslate, and an end-of-life device
 * takes no more upgrades. Installs this build's ABI table, then the descriptor,
 * each atomically. on_retired, when given, is told of each installed app the new
 * window retires, before anything changes.
 */
int platform_upgrade(struct device *d, const struct platform_change *c,
                     void (*on_retired)(void *userdata, const struct db_version *v), void *userdata, struct err *e);
