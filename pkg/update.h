/* update.h: bringing installed packages to the newest version this platform supports, from a repository. */
#pragma once

#include <stdbool.h>

#include "device.h"
#include "err.h"
#include "fetch.h"
#include "index.h"

struct update_options {
    const char *repo; /* URL or folder */
    bool dry_run;
    struct fetch_options fetch;
};

enum update_outcome {
    UPDATE_CURRENT,   /* nothing newer for this platform */
    UPDATE_PLANNED,   /* dry run: would install */
    UPDATE_INSTALLED, /* installed the newer version */
    UPDATE_FAILED,    /* download or install refused; the installed version stays */
    UPDATE_STRANDED,  /* retired, and nothing in the index runs on this platform */
};

struct update_event {
    enum update_outcome outcome;
    const char *id, *from; /* the installed version */
    const struct index_entry *to;
    const struct err *why; /* UPDATE_FAILED */
};

struct update_report {
    void (*on_index)(void *userdata, const struct repo_index *x, bool eol);
    void (*on_package)(void *userdata, const struct update_event *ev);
    void *userdata;
};

/*
 * Fetch the repository's index, check its signature, expiry and freshness (never
 * older than the newest accepted from its key, which is recorded before anything
 * else happens), then for each installed package install the newest version whose
 * API level this platform runs: on an end-of-life device, security fixes only.
 * Each download is checked against the index (size, BLAKE2b) and installed
 * through the usual atomic path. Returns 0 when every package is current or
 * updated, -E_STATE when some failed (each one reported), or a refusal of the index.
 */
int update_run(struct device *d, const struct update_options *o, const struct update_report *rep, struct err *e);
