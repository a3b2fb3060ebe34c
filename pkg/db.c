/* db.c: installed state in SQLite; every change is one transaction. */
#include "db.h"
#include "sqlite-dl.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define SCHEMA_VERSION 3
#define STRINGIFY_(x) #x
#define STRINGIFY(x) STRINGIFY_(x)

/* The newest index accepted from each signing key: updates never go back from it. (Schema 2.) */
#define REPO_STATE_TABLE                                                                                               \
    "CREATE TABLE IF NOT EXISTS repo_state ("                                                                          \
    "  key_id TEXT PRIMARY KEY,"                                                                                       \
    "  version INTEGER NOT NULL,"                                                                                      \
    "  expires INTEGER NOT NULL,"                                                                                      \
    "  accepted_at INTEGER NOT NULL);"

/* Each app's settings, written by slated for the app (schema 3). */
#define SETTINGS_TABLE                                                                                                 \
    "CREATE TABLE IF NOT EXISTS settings ("                                                                            \
    "  id TEXT NOT NULL,"                                                                                              \
    "  key TEXT NOT NULL,"                                                                                             \
    "  value TEXT NOT NULL,"                                                                                           \
    "  PRIMARY KEY (id, key)) WITHOUT ROWID;"

static const char schema[] =
    "CREATE TABLE IF NOT EXISTS packages ("
    "  id TEXT PRIMARY KEY,"
    "  current TEXT NOT NULL,"
    "  previous TEXT,"
    "  changed_at INTEGER NOT NULL);"
    "CREATE TABLE IF NOT EXISTS versions ("
    "  id TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  api_level INTEGER NOT NULL,"
    "  class TEXT NOT NULL CHECK (class IN ('app', 'system')),"
    "  label TEXT NOT NULL,"
    "  exec TEXT NOT NULL,"
    "  memory INTEGER NOT NULL,"
    "  key_id TEXT NOT NULL,"
    "  size INTEGER NOT NULL,"
    "  installed_at INTEGER NOT NULL,"
    "  manifest BLOB NOT NULL,"
    "  PRIMARY KEY (id, version));"
    "CREATE TABLE IF NOT EXISTS files ("
    "  id TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  path TEXT NOT NULL,"
    "  hash TEXT,"
    "  size INTEGER NOT NULL,"
    "  mode INTEGER NOT NULL,"
    "  target TEXT,"
    "  PRIMARY KEY (id, version, path)) WITHOUT ROWID;"
    "CREATE TABLE IF NOT EXISTS grants ("
    "  id TEXT NOT NULL,"
    "  version TEXT NOT NULL,"
    "  permission TEXT NOT NULL,"
    "  PRIMARY KEY (id, version, permission)) WITHOUT ROWID;"
    REPO_STATE_TABLE SETTINGS_TABLE;

static int db_fail(sqlite3 *db, struct err *e, const char *what) {
    int code = sym_sqlite3_errcode(db);
    return err_set(e, code == SQLITE_FULL ? -ENOSPC : code == SQLITE_BUSY ? -EBUSY : -EIO, "database: %s: %s", what,
                   sym_sqlite3_errmsg(db));
}

static int exec(sqlite3 *db, const char *sql, struct err *e) {
    return sym_sqlite3_exec(db, sql, NULL, NULL, NULL) == SQLITE_OK ? 0 : db_fail(db, e, sql);
}

/* Older databases are brought up to date in one transaction; a newer one is refused rather than misread. */
static int check_schema(sqlite3 *db, const char *path, struct err *e) {
    sqlite3_stmt *st = NULL;
    int version = -1, r = 0;
    if (sym_sqlite3_prepare_v2(db, "PRAGMA user_version", -1, &st, NULL) == SQLITE_OK && sym_sqlite3_step(st) == SQLITE_ROW)
        version = sym_sqlite3_column_int(st, 0);
    sym_sqlite3_finalize(st);
    if (version == 1 || version == 2) {
        r = exec(db,
                 "BEGIN IMMEDIATE; " REPO_STATE_TABLE SETTINGS_TABLE " PRAGMA user_version=" STRINGIFY(SCHEMA_VERSION)
                 "; COMMIT",
                 e);
        if (r < 0 && !sym_sqlite3_get_autocommit(db))
            sym_sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
        return r;
    }
    if (version != SCHEMA_VERSION)
        return err_set(e, -EPROTO, "database %s has schema %d; this slate reads schema %d", path, version,
                       SCHEMA_VERSION);
    return 0;
}

int db_open(const char *root_path, bool create, sqlite3 **ret, struct err *e) {
    char path[4096];
    sqlite3 *db = NULL;
    int r;
    snprintf(path, sizeof path, "%s/%s", root_path, DB_PATH);
    int flags = SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOFOLLOW | (create ? SQLITE_OPEN_CREATE : 0);
    if ((r = dlopen_sqlite(e)) < 0)
        return r;
    if (sym_sqlite3_open_v2(path, &db, flags, NULL) != SQLITE_OK) {
        r = err_set(e, -EIO, "database %s: %s", path, db ? sym_sqlite3_errmsg(db) : "out of memory");
        sym_sqlite3_close(db);
        return r;
    }
    sym_sqlite3_busy_timeout(db, 5000);
    if ((r = exec(db, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON;", e)) < 0 ||
        (create && (r = exec(db, schema, e)) < 0) ||
        (create && (r = exec(db, "PRAGMA user_version=" STRINGIFY(SCHEMA_VERSION), e)) < 0) ||
        (r = check_schema(db, path, e)) < 0) {
        sym_sqlite3_close(db);
        return r;
    }
    *ret = db;
    return 0;
}

void db_close(sqlite3 *db) {
    sym_sqlite3_close(db);
}

static sqlite3_stmt *prepare(sqlite3 *db, const char *sql, struct err *e) {
    sqlite3_stmt *st = NULL;
    if (sym_sqlite3_prepare_v2(db, sql, -1, &st, NULL) != SQLITE_OK)
        db_fail(db, e, sql);
    return st;
}

static void copy_text(char *dst, size_t size, sqlite3_stmt *st, int col) {
    const unsigned char *s = sym_sqlite3_column_text(st, col);
    snprintf(dst, size, "%s", s ? (const char *)s : "");
}

int db_get_package(sqlite3 *db, const char *id, struct db_package *ret, struct err *e) {
    sqlite3_stmt *st = prepare(db, "SELECT id, current, previous FROM packages WHERE id = ?", e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    int k = sym_sqlite3_step(st), r = 0;
    if (k == SQLITE_ROW) {
        copy_text(ret->id, sizeof ret->id, st, 0);
        copy_text(ret->current, sizeof ret->current, st, 1);
        copy_text(ret->previous, sizeof ret->previous, st, 2);
    } else
        r = k == SQLITE_DONE ? err_set(e, -ENOENT, "%s is not installed", id) : db_fail(db, e, "reading packages");
    sym_sqlite3_finalize(st);
    return r;
}

static void read_version(sqlite3_stmt *st, int col, struct db_version *v) {
    copy_text(v->id, sizeof v->id, st, col);
    copy_text(v->version, sizeof v->version, st, col + 1);
    v->api_level = (unsigned)sym_sqlite3_column_int(st, col + 2);
    v->system = strcmp((const char *)sym_sqlite3_column_text(st, col + 3), "system") == 0;
    copy_text(v->label, sizeof v->label, st, col + 4);
    copy_text(v->exec, sizeof v->exec, st, col + 5);
    v->memory = (uint64_t)sym_sqlite3_column_int64(st, col + 6);
    copy_text(v->key_id, sizeof v->key_id, st, col + 7);
    v->size = (uint64_t)sym_sqlite3_column_int64(st, col + 8);
    v->installed_at = sym_sqlite3_column_int64(st, col + 9);
    copy_text(v->permissions, sizeof v->permissions, st, col + 10);
    v->files = (uint64_t)sym_sqlite3_column_int64(st, col + 11);
}

/* One statement carries everything a version row shows, its grants and file count included. */
#define VERSION_COLUMNS                                                                                                \
    "v.id, v.version, v.api_level, v.class, v.label, v.exec, v.memory, v.key_id, v.size, v.installed_at, "            \
    "(SELECT group_concat(permission, ' ') FROM (SELECT permission FROM grants g WHERE g.id = v.id AND "               \
    "g.version = v.version ORDER BY permission)), "                                                                    \
    "(SELECT count(*) FROM files f WHERE f.id = v.id AND f.version = v.version)"

int db_get_version(sqlite3 *db, const char *id, const char *version, struct db_version *ret, struct err *e) {
    sqlite3_stmt *st = prepare(db, "SELECT " VERSION_COLUMNS " FROM versions v WHERE id = ? AND version = ?", e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    int k = sym_sqlite3_step(st), r = 0;
    if (k == SQLITE_ROW)
        read_version(st, 0, ret);
    else
        r = k == SQLITE_DONE ? err_set(e, -ENOENT, "%s %s is not installed", id, version)
                             : db_fail(db, e, "reading versions");
    sym_sqlite3_finalize(st);
    return r;
}

bool db_has_version(sqlite3 *db, const char *id, const char *version) {
    struct db_version v;
    return db_get_version(db, id, version, &v, NULL) == 0;
}

static int insert_version(sqlite3 *db, const struct manifest *m, const char *key_id, const char *text, size_t len,
                          struct err *e) {
    sqlite3_stmt *st = prepare(db,
                               "INSERT OR REPLACE INTO versions (id, version, api_level, class, label, exec, memory, "
                               "key_id, size, installed_at, manifest) VALUES (?,?,?,?,?,?,?,?,?,?,?)",
                               e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, m->version_str, -1, SQLITE_STATIC);
    sym_sqlite3_bind_int(st, 3, (int)m->api_level);
    sym_sqlite3_bind_text(st, 4, m->system ? "system" : "app", -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 5, m->label, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 6, m->exec, -1, SQLITE_STATIC);
    sym_sqlite3_bind_int64(st, 7, (sqlite3_int64)m->memory);
    sym_sqlite3_bind_text(st, 8, key_id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_int64(st, 9, (sqlite3_int64)m->total_size);
    sym_sqlite3_bind_int64(st, 10, (sqlite3_int64)time(NULL));
    sym_sqlite3_bind_blob(st, 11, text, (int)len, SQLITE_STATIC);
    int r = sym_sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, e, "recording the version");
    sym_sqlite3_finalize(st);
    return r;
}

static int insert_files(sqlite3 *db, const struct manifest *m, struct err *e) {
    sqlite3_stmt *st = prepare(db, "INSERT INTO files (id, version, path, hash, size, mode, target) VALUES (?,?,?,?,?,?,?)", e);
    if (!st)
        return -EIO;
    int r = 0;
    for (size_t i = 0; r == 0 && i < m->n_files; i++) {
        const struct manifest_file *f = &m->files[i];
        char hash[65];
        sym_sqlite3_reset(st);
        sym_sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        sym_sqlite3_bind_text(st, 2, m->version_str, -1, SQLITE_STATIC);
        sym_sqlite3_bind_text(st, 3, f->path, -1, SQLITE_STATIC);
        if (f->type == FILE_REGULAR) {
            hex_encode(f->hash, sizeof f->hash, hash);
            sym_sqlite3_bind_text(st, 4, hash, -1, SQLITE_TRANSIENT);
            sym_sqlite3_bind_null(st, 7);
        } else {
            sym_sqlite3_bind_null(st, 4);
            sym_sqlite3_bind_text(st, 7, f->target, -1, SQLITE_STATIC);
        }
        sym_sqlite3_bind_int64(st, 5, (sqlite3_int64)f->size);
        sym_sqlite3_bind_int(st, 6, (int)f->mode);
        if (sym_sqlite3_step(st) != SQLITE_DONE)
            r = db_fail(db, e, "recording files");
    }
    sym_sqlite3_finalize(st);
    return r;
}

static int insert_grants(sqlite3 *db, const struct manifest *m, struct err *e) {
    char perms[128];
    permissions_format(m->permissions, perms, sizeof perms);
    sqlite3_stmt *st = prepare(db, "INSERT INTO grants (id, version, permission) VALUES (?,?,?)", e);
    if (!st)
        return -EIO;
    int r = 0;
    for (char *save = NULL, *p = strtok_r(perms, " ", &save); r == 0 && p; p = strtok_r(NULL, " ", &save)) {
        sym_sqlite3_reset(st);
        sym_sqlite3_bind_text(st, 1, m->id, -1, SQLITE_STATIC);
        sym_sqlite3_bind_text(st, 2, m->version_str, -1, SQLITE_STATIC);
        sym_sqlite3_bind_text(st, 3, p, -1, SQLITE_STATIC);
        if (sym_sqlite3_step(st) != SQLITE_DONE)
            r = db_fail(db, e, "recording grants");
    }
    sym_sqlite3_finalize(st);
    return r;
}

static int delete_version(sqlite3 *db, const char *id, const char *version, struct err *e) {
    static const char *const tables[] = {"files", "grants", "versions"};
    for (size_t i = 0; i < 3; i++) {
        char sql[96];
        snprintf(sql, sizeof sql, "DELETE FROM %s WHERE id = ?1 AND version = ?2", tables[i]);
        sqlite3_stmt *st = prepare(db, sql, e);
        if (!st)
            return -EIO;
        sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sym_sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
        int k = sym_sqlite3_step(st);
        sym_sqlite3_finalize(st);
        if (k != SQLITE_DONE)
            return db_fail(db, e, "forgetting a version");
    }
    return 0;
}

static int set_package(sqlite3 *db, const char *id, const char *current, const char *previous, struct err *e) {
    sqlite3_stmt *st = prepare(db, "INSERT OR REPLACE INTO packages (id, current, previous, changed_at) VALUES (?,?,?,?)", e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, current, -1, SQLITE_STATIC);
    if (previous && *previous)
        sym_sqlite3_bind_text(st, 3, previous, -1, SQLITE_STATIC);
    else
        sym_sqlite3_bind_null(st, 3);
    sym_sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    int r = sym_sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, e, "recording the package");
    sym_sqlite3_finalize(st);
    return r;
}

/* Versions of id that are neither keep1 nor keep2. */
static int list_others(sqlite3 *db, const char *id, const char *keep1, const char *keep2, char (**ret)[VERSION_MAX],
                       size_t *n, struct err *e) {
    sqlite3_stmt *st = prepare(db, "SELECT version FROM versions WHERE id = ?1 AND version != ?2 AND version != ?3", e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, keep1, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 3, keep2, -1, SQLITE_STATIC);
    int r = 0, k;
    while (r == 0 && (k = sym_sqlite3_step(st)) == SQLITE_ROW) {
        char(*grown)[VERSION_MAX] = reallocarray(*ret, *n + 1, sizeof **ret);
        if (!grown)
            r = err_set(e, -ENOMEM, "out of memory");
        else {
            *ret = grown;
            copy_text(grown[(*n)++], VERSION_MAX, st, 0);
        }
    }
    if (r == 0 && k != SQLITE_DONE)
        r = db_fail(db, e, "listing versions");
    sym_sqlite3_finalize(st);
    return r;
}

static int transaction_end(sqlite3 *db, int r, struct err *e) {
    if (r == 0)
        r = exec(db, "COMMIT", e);
    /* A failed COMMIT leaves the transaction open: end it, or every later write fails. */
    if (r < 0 && !sym_sqlite3_get_autocommit(db))
        sym_sqlite3_exec(db, "ROLLBACK", NULL, NULL, NULL);
    return r;
}

int db_record_install(sqlite3 *db, const struct manifest *m, const char *key_id, const char *text, size_t len,
                      char (**dropped)[VERSION_MAX], size_t *n_dropped, struct err *e) {
    struct db_package old = {0};
    int r = exec(db, "BEGIN IMMEDIATE", e);
    if (r < 0)
        return r;
    r = db_get_package(db, m->id, &old, NULL);
    if (r == -ENOENT)
        r = 0;
    else if (r < 0)
        r = db_fail(db, e, "reading packages");
    /* Reinstalling a kept version replaces its record. */
    if (r == 0)
        r = delete_version(db, m->id, m->version_str, e);
    if (r == 0)
        r = insert_version(db, m, key_id, text, len, e);
    if (r == 0)
        r = insert_files(db, m, e);
    if (r == 0)
        r = insert_grants(db, m, e);
    if (r == 0)
        r = set_package(db, m->id, m->version_str, old.current, e);
    if (r == 0)
        r = list_others(db, m->id, m->version_str, old.current, dropped, n_dropped, e);
    for (size_t i = 0; r == 0 && i < *n_dropped; i++)
        r = delete_version(db, m->id, (*dropped)[i], e);
    return transaction_end(db, r, e);
}

int db_forget_version(sqlite3 *db, const char *id, const char *version, struct err *e) {
    int r = exec(db, "BEGIN IMMEDIATE", e);
    if (r < 0)
        return r;
    sqlite3_stmt *st = prepare(db, "UPDATE packages SET previous = NULL WHERE id = ?1 AND previous = ?2", e);
    if (!st)
        r = -EIO;
    else {
        sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        sym_sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
        if (sym_sqlite3_step(st) != SQLITE_DONE)
            r = db_fail(db, e, "forgetting a version");
        sym_sqlite3_finalize(st);
    }
    if (r == 0)
        r = delete_version(db, id, version, e);
    return transaction_end(db, r, e);
}

int db_rollback(sqlite3 *db, const char *id, struct db_package *ret, struct err *e) {
    struct db_package p;
    int r = exec(db, "BEGIN IMMEDIATE", e);
    if (r < 0)
        return r;
    r = db_get_package(db, id, &p, e);
    if (r == 0 && !*p.previous)
        r = err_set(e, -E_STATE, "%s has no previous version to roll back to", id);
    if (r == 0)
        r = set_package(db, id, p.previous, p.current, e);
    r = transaction_end(db, r, e);
    if (r == 0) {
        *ret = p;
        snprintf(ret->current, sizeof ret->current, "%s", p.previous);
        snprintf(ret->previous, sizeof ret->previous, "%s", p.current);
    }
    return r;
}

int db_remove(sqlite3 *db, const char *id, struct err *e) {
    static const char *const sql[] = {
        "DELETE FROM files WHERE id = ?1",
        "DELETE FROM grants WHERE id = ?1",
        "DELETE FROM settings WHERE id = ?1",
        "DELETE FROM versions WHERE id = ?1",
        "DELETE FROM packages WHERE id = ?1",
    };
    int r = exec(db, "BEGIN IMMEDIATE", e);
    if (r < 0)
        return r;
    struct db_package p;
    r = db_get_package(db, id, &p, e);
    for (size_t i = 0; r == 0 && i < sizeof sql / sizeof *sql; i++) {
        sqlite3_stmt *st = prepare(db, sql[i], e);
        if (!st) {
            r = -EIO;
            break;
        }
        sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
        if (sym_sqlite3_step(st) != SQLITE_DONE)
            r = db_fail(db, e, "removing");
        sym_sqlite3_finalize(st);
    }
    return transaction_end(db, r, e);
}

int db_for_each(sqlite3 *db, int (*fn)(void *ud, const struct db_package *p, const struct db_version *v), void *ud,
                struct err *e) {
    sqlite3_stmt *st = prepare(db,
                               "SELECT p.id, p.current, p.previous, " VERSION_COLUMNS
                               " FROM packages p JOIN versions v ON v.id = p.id AND v.version = p.current ORDER BY p.id",
                               e);
    if (!st)
        return -EIO;
    int r = 0, k;
    while (r == 0 && (k = sym_sqlite3_step(st)) == SQLITE_ROW) {
        struct db_package p;
        struct db_version v;
        copy_text(p.id, sizeof p.id, st, 0);
        copy_text(p.current, sizeof p.current, st, 1);
        copy_text(p.previous, sizeof p.previous, st, 2);
        read_version(st, 3, &v);
        r = fn(ud, &p, &v);
    }
    if (r == 0 && k != SQLITE_DONE)
        r = db_fail(db, e, "listing packages");
    sym_sqlite3_finalize(st);
    return r;
}

int db_repo_state(sqlite3 *db, const char *key_id, uint64_t *ret_version, struct err *e) {
    sqlite3_stmt *st = prepare(db, "SELECT version FROM repo_state WHERE key_id = ?", e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    int k = sym_sqlite3_step(st), r = 0;
    if (k == SQLITE_ROW)
        *ret_version = (uint64_t)sym_sqlite3_column_int64(st, 0);
    else
        r = k == SQLITE_DONE ? -ENOENT : db_fail(db, e, "reading the repository state");
    sym_sqlite3_finalize(st);
    return r;
}

int db_accept_index(sqlite3 *db, const char *key_id, uint64_t version, int64_t expires, struct err *e) {
    sqlite3_stmt *st = prepare(db,
                               "INSERT INTO repo_state (key_id, version, expires, accepted_at) VALUES (?1, ?2, ?3, ?4) "
                               "ON CONFLICT (key_id) DO UPDATE SET version = ?2, expires = ?3, accepted_at = ?4 "
                               "WHERE version <= ?2",
                               e);
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, key_id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_int64(st, 2, (sqlite3_int64)version);
    sym_sqlite3_bind_int64(st, 3, expires);
    sym_sqlite3_bind_int64(st, 4, (sqlite3_int64)time(NULL));
    int r = sym_sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, e, "recording the repository state");
    sym_sqlite3_finalize(st);
    return r;
}

int db_list_current(sqlite3 *db, struct db_current **ret, size_t *ret_n, struct err *e) {
    sqlite3_stmt *st = prepare(db,
                               "SELECT p.id, p.current, v.api_level, v.class FROM packages p "
                               "JOIN versions v ON v.id = p.id AND v.version = p.current ORDER BY p.id",
                               e);
    if (!st)
        return -EIO;
    struct db_current *items = NULL;
    size_t n = 0;
    int r = 0, k;
    while (r == 0 && (k = sym_sqlite3_step(st)) == SQLITE_ROW) {
        struct db_current *grown = reallocarray(items, n + 1, sizeof *grown);
        if (!grown) {
            r = err_set(e, -ENOMEM, "out of memory");
            break;
        }
        items = grown;
        copy_text(items[n].id, sizeof items[n].id, st, 0);
        copy_text(items[n].version, sizeof items[n].version, st, 1);
        items[n].api_level = (unsigned)sym_sqlite3_column_int(st, 2);
        items[n].system = strcmp((const char *)sym_sqlite3_column_text(st, 3), "system") == 0;
        n++;
    }
    if (r == 0 && k != SQLITE_DONE)
        r = db_fail(db, e, "listing packages");
    sym_sqlite3_finalize(st);
    if (r < 0) {
        free(items);
        return r;
    }
    *ret = items;
    *ret_n = n;
    return 0;
}

int db_get_manifest(sqlite3 *db, const char *id, const char *version, char **ret, size_t *ret_len, struct err *e) {
    sqlite3_stmt *st = prepare(db, "SELECT manifest FROM versions WHERE id = ? AND version = ?", e);
    int r;
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, version, -1, SQLITE_STATIC);
    if ((r = sym_sqlite3_step(st)) == SQLITE_ROW) {
        size_t n = (size_t)sym_sqlite3_column_bytes(st, 0);
        char *text = malloc(n + 1);
        if (text) {
            memcpy(text, sym_sqlite3_column_blob(st, 0), n);
            text[n] = '\0';
            *ret = text;
            *ret_len = n;
            r = 0;
        } else
            r = err_set(e, -ENOMEM, "out of memory");
    } else
        r = r == SQLITE_DONE ? err_set(e, -ENOENT, "%s %s is not installed", id, version)
                             : db_fail(db, e, "reading a manifest");
    sym_sqlite3_finalize(st);
    return r;
}

int db_setting_get(sqlite3 *db, const char *id, const char *key, char **ret, struct err *e) {
    sqlite3_stmt *st = prepare(db, "SELECT value FROM settings WHERE id = ? AND key = ?", e);
    int r;
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    if ((r = sym_sqlite3_step(st)) == SQLITE_ROW) {
        const char *v = (const char *)sym_sqlite3_column_text(st, 0);
        r = (*ret = strdup(v ? v : "")) ? 0 : err_set(e, -ENOMEM, "out of memory");
    } else
        r = r == SQLITE_DONE ? -ENOENT : db_fail(db, e, "reading a setting");
    sym_sqlite3_finalize(st);
    return r;
}

int db_setting_set(sqlite3 *db, const char *id, const char *key, const char *value, unsigned max_keys,
                   struct err *e) {
    /* The count and the write in one statement: an app at its limit may still change a key it has. */
    sqlite3_stmt *st = prepare(db,
                               "INSERT INTO settings (id, key, value) SELECT ?1, ?2, ?3 WHERE "
                               "EXISTS (SELECT 1 FROM settings WHERE id = ?1 AND key = ?2) OR "
                               "(SELECT count(*) FROM settings WHERE id = ?1) < ?4 "
                               "ON CONFLICT (id, key) DO UPDATE SET value = excluded.value",
                               e);
    int r;
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 3, value, -1, SQLITE_STATIC);
    sym_sqlite3_bind_int(st, 4, (int)max_keys);
    r = sym_sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, e, "writing a setting");
    if (r == 0 && sym_sqlite3_changes(db) == 0)
        r = err_set(e, -ENOSPC, "%s keeps %u settings already", id, max_keys);
    sym_sqlite3_finalize(st);
    return r;
}

int db_setting_delete(sqlite3 *db, const char *id, const char *key, struct err *e) {
    sqlite3_stmt *st = prepare(db, "DELETE FROM settings WHERE id = ? AND key = ?", e);
    int r;
    if (!st)
        return -EIO;
    sym_sqlite3_bind_text(st, 1, id, -1, SQLITE_STATIC);
    sym_sqlite3_bind_text(st, 2, key, -1, SQLITE_STATIC);
    r = sym_sqlite3_step(st) == SQLITE_DONE ? 0 : db_fail(db, e, "removing a setting");
    if (r == 0 && sym_sqlite3_changes(db) == 0)
        r = -ENOENT;
    sym_sqlite3_finalize(st);
    return r;
}
