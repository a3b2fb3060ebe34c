/* db.h: the device's installed state in SQLite: packages, versions, files, grants. */
#pragma once

#include <sqlite3.h>
#include <stdbool.h>
#include <stdint.h>

#include "err.h"
#include "manifest.h"

#define DB_PATH "var/lib/slate/slate.db"
#define VERSION_MAX 36

struct db_package {
    char id[PACKAGE_ID_MAX + 1];
    char current[VERSION_MAX], previous[VERSION_MAX]; /* previous is "" when none is kept */
};

struct db_version {
    char id[PACKAGE_ID_MAX + 1], version[VERSION_MAX];
    unsigned api_level;
    bool system;
    char label[65], exec[PATH_BYTES_MAX + 1], key_id[17], permissions[64];
    uint64_t memory, size, files;
    int64_t installed_at;
};

/* Open (creating when asked) the database at root_path/DB_PATH, in WAL mode with full sync. */
int db_open(const char *root_path, bool create, sqlite3 **ret, struct err *e);
void db_close(sqlite3 *db);

int db_get_package(sqlite3 *db, const char *id, struct db_package *ret, struct err *e); /* -ENOENT if absent */
int db_get_version(sqlite3 *db, const char *id, const char *version, struct db_version *ret, struct err *e);
bool db_has_version(sqlite3 *db, const char *id, const char *version);

/*
 * In one transaction: record the new version (with its files and grants), make
 * it current and the old current the previous one, and forget every other
 * version. The versions forgotten are appended to *dropped (caller frees).
 */
int db_record_install(sqlite3 *db, const struct manifest *m, const char *key_id, const char *manifest_text,
                      size_t manifest_len, char (**dropped)[VERSION_MAX], size_t *n_dropped, struct err *e);

/* Forget a version that is not current (the kept previous one), in one transaction. */
int db_forget_version(sqlite3 *db, const char *id, const char *version, struct err *e);

/* Swap current and previous. */
int db_rollback(sqlite3 *db, const char *id, struct db_package *ret, struct err *e);

/* Forget a package and all its versions. */
int db_remove(sqlite3 *db, const char *id, struct err *e);

/* The newest index version accepted from key_id; -ENOENT when none was. */
int db_repo_state(sqlite3 *db, const char *key_id, uint64_t *ret_version, struct err *e);

/* Record that index version (never lowering what was recorded), durably, before it is used. */
int db_accept_index(sqlite3 *db, const char *key_id, uint64_t version, int64_t expires, struct err *e);

/* The signed manifest text of a version (NUL-terminated; caller frees); -ENOENT when absent. */
int db_get_manifest(sqlite3 *db, const char *id, const char *version, char **ret, size_t *ret_len, struct err *e);

/* An app's settings (slated writes them for the app). get: -ENOENT when unset; *ret is the caller's. */
int db_setting_get(sqlite3 *db, const char *id, const char *key, char **ret, struct err *e);
/* Set, durably; -ENOSPC when the app keeps max_keys other keys already. */
int db_setting_set(sqlite3 *db, const char *id, const char *key, const char *value, unsigned max_keys,
                   struct err *e);
/* -ENOENT when unset. */
int db_setting_delete(sqlite3 *db, const char *id, const char *key, struct err *e);

struct db_current {
    char id[PACKAGE_ID_MAX + 1], version[VERSION_MAX];
    unsigned api_level;
    bool system;
};

/* Every installed package's current version, sorted by id, in one query: for callers that need no more. */
int db_list_current(sqlite3 *db, struct db_current **ret, size_t *ret_n, struct err *e);

/* Calls fn for each package's current version, sorted by id; stops at fn's first non-zero. */
int db_for_each(sqlite3 *db, int (*fn)(void *ud, const struct db_package *p, const struct db_version *v), void *ud,
                struct err *e);
