/* dl.h: loading a library the first time something needs it, not at every start. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "err.h"

/*
 * Programs of Slate link the C library and little else: what only some paths
 * need is loaded with dlopen the first time one of them runs, and called through
 * pointers that have the library's own prototypes (sym_NAME for NAME). Linked,
 * libraries cost every start their relocations and page faults, and a daemon
 * their resident pages, whether they are used or not: `slate start` needs no
 * SQLite, a calm slated no libcurl, an app that draws nothing no FreeType. This
 * is how systemd treats its optional libraries. pkg/libraries.c has the package
 * system's (SQLite, libsodium, libelf, libzstd, libarchive, libcurl; *-dl.h list
 * what each is called for); lib/ui has the graphics stack libslate's toolkit uses.
 *
 * Each library is loaded once (thread-safe), by the soname this build was
 * compiled against. Before a sym_ pointer is called its library's dlopen_*()
 * must have returned 0: code calls it where a path into the library begins.
 * An unloadable library (SQLite: a daemon that closed every connection wants
 * its memory back) can be unloaded again; the others stay.
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

/* A library's symbols come as an X-macro list (FOO_SYMBOLS(X)); its header declares the pointers. */
#define DL_SYMBOL_ENTRY(f) {#f, (void **)&sym_##f},
#define DL_DEFINE(f) __typeof__(f) *sym_##f;
#define DL_DECLARE(f) extern __typeof__(f) *sym_##f;

/* One library, in one .c file: its pointers, their table, its state, and int dlopen_NAME(struct err *). */
#define DL_LIBRARY(name, soname, label, symbols, after, unloadable)                                                    \
    symbols(DL_DEFINE)                                                                                                 \
    static const struct dl_symbol name##_symbols[] = {symbols(DL_SYMBOL_ENTRY)};                                       \
    static struct dl_library name##_library = {                                                                        \
        soname, label, name##_symbols, sizeof name##_symbols / sizeof *name##_symbols, after, unloadable, NULL, ""};   \
    int dlopen_##name(struct err *e) {                                                                                 \
        return dl_load(&name##_library, e);                                                                            \
    }
