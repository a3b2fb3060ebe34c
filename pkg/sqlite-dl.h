/* sqlite-dl.h: SQLite, loaded when the install database is first opened (dl.h). */
#pragma once

#include <sqlite3.h>

#include "dl.h"

#define SQLITE_SYMBOLS(X) \
    X(sqlite3_bind_blob) \
    X(sqlite3_bind_int) \
    X(sqlite3_bind_int64) \
    X(sqlite3_bind_null) \
    X(sqlite3_bind_text) \
    X(sqlite3_busy_timeout) \
    X(sqlite3_changes) \
    X(sqlite3_close) \
    X(sqlite3_column_blob) \
    X(sqlite3_column_bytes) \
    X(sqlite3_column_int) \
    X(sqlite3_column_int64) \
    X(sqlite3_column_text) \
    X(sqlite3_db_config) \
    X(sqlite3_errcode) \
    X(sqlite3_errmsg) \
    X(sqlite3_exec) \
    X(sqlite3_file_control) \
    X(sqlite3_finalize) \
    X(sqlite3_get_autocommit) \
    X(sqlite3_open_v2) \
    X(sqlite3_prepare_v2) \
    X(sqlite3_reset) \
    X(sqlite3_step) \
    X(sqlite3_total_changes)

SQLITE_SYMBOLS(DL_DECLARE)

int dlopen_sqlite(struct err *e);
/* Unload SQLite once no connection is open (slated, when the database has been idle a while). */
void dlclose_sqlite(void);
