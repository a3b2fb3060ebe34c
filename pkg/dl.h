/* dl.h: loading a library the first time something needs it, not at every start. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * slate and slated link the C library and little else: SQLite, libsodium,
 * libelf, libzstd, libarchive and libcurl are loaded with dlopen the first time
 * a command or a request needs them, and called through pointers that have the
 * libraries' own prototypes (sym_NAME for NAME; *-dl.h list them). Linked, they
 * cost every start of `slate` twice what the program itself does (their
 * relocations and page faults) and slated megabytes of resident memory, while
 * `slate start` or a calm slated needs none of them. This is how systemd
 * treats its optional libraries.
 *
 * Each library is loaded once (thread-safe), by the soname this build was
 * compiled against. Before a sym_ pointer is called its library's dlopen_*()
 * must have returned 0: code calls it where a path into the library begins
 * (db_open, audit, index, keys_init, reading a package, a transfer). Only SQLite
 * may be unloaded again (dlclose_sqlite), by a daemon that closed every
 * connection and wants its memory back; the others stay.
 */
struct dl_symbol {
    const char *name;
    void **ptr;
};

struct dl_library {
    const char *soname;
    const char *label; /* for messages: "SQLite" */
    const struct dl_symbol *symbols;
    size_t n_symbols;
    int (*after)(void); /* run once loaded (sodium_init); 0 or a negative errno */
    bool unloadable;
    void *handle;       /* while loaded */
    char failure[256];  /* a load that failed stays failed */
};

/* Load lib once; 0, or -ELIBACC with a line naming the library or the symbol it lacks. */
int dl_load(struct dl_library *lib, struct err *e);
/* Unload an unloadable library (its pointers become NULL); a later dl_load loads it again. */
void dl_unload(struct dl_library *lib);

/* The table of a library's symbols, from its X-macro list: DL_SYMBOLS(LIBFOO_SYMBOLS). */
#define DL_SYMBOL_ENTRY(f) {#f, (void **)&sym_##f},
#define DL_DEFINE(f) __typeof__(f) *sym_##f;
#define DL_DECLARE(f) extern __typeof__(f) *sym_##f;
