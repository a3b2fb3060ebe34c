/* dl.c: the libraries slate and slated load on first use (dl.h), and the one loader they share. */
#define CURL_DL_DEFINE
#include "dl.h"

#include <dlfcn.h>
#include <stdio.h>

#include "curl-dl.h"
#include "elf-dl.h"
#include "libarchive-dl.h"
#include "sodium-dl.h"
#include "sqlite-dl.h"
#include "zstd-dl.h"

static struct dl_library *loading; /* the library load() works on, under its pthread_once */

static void load(void) {
    struct dl_library *lib = loading;
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | RTLD_NODELETE);
    if (!h) {
        snprintf(lib->failure, sizeof lib->failure, "cannot load %s: %s", lib->label, dlerror());
        return;
    }
    for (size_t i = 0; i < lib->n_symbols; i++)
        if (!(*lib->symbols[i].ptr = dlsym(h, lib->symbols[i].name))) {
            snprintf(lib->failure, sizeof lib->failure, "%s (%s) lacks %s", lib->label, lib->soname,
                     lib->symbols[i].name);
            return;
        }
    if (lib->after && lib->after() < 0)
        snprintf(lib->failure, sizeof lib->failure, "%s failed to initialise", lib->label);
}

int dl_load(struct dl_library *lib, struct err *e) {
    /* pthread_once takes no argument: loads are serialised, so one static names the library. */
    static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
    pthread_mutex_lock(&lock);
    loading = lib;
    pthread_once(&lib->once, load);
    pthread_mutex_unlock(&lock);
    return lib->failure[0] ? err_set(e, -ELIBACC, "%s", lib->failure) : 0;
}

/* One library: its pointers, their table, and dlopen_NAME(). */
#define DL_LIBRARY(name, soname, label, symbols, after)                                                                \
    symbols(DL_DEFINE)                                                                                                 \
    static const struct dl_symbol name##_symbols[] = {symbols(DL_SYMBOL_ENTRY)};                                       \
    int dlopen_##name(struct err *e) {                                                                                 \
        static struct dl_library lib = {soname, label, name##_symbols,                                                 \
                                        sizeof name##_symbols / sizeof *name##_symbols, after, PTHREAD_ONCE_INIT, ""}; \
        return dl_load(&lib, e);                                                                                       \
    }

static int init_sodium(void) {
    return sym_sodium_init() < 0 ? -EIO : 0;
}

/* The sonames this build was compiled against. */
DL_LIBRARY(sqlite, "libsqlite3.so.0", "SQLite", SQLITE_SYMBOLS, NULL)
DL_LIBRARY(sodium, "libsodium.so.23", "libsodium", SODIUM_SYMBOLS, init_sodium)
DL_LIBRARY(libelf, "libelf.so.1", "libelf", LIBELF_SYMBOLS, NULL)
DL_LIBRARY(zstd, "libzstd.so.1", "libzstd", ZSTD_SYMBOLS, NULL)
DL_LIBRARY(libarchive, "libarchive.so.13", "libarchive", LIBARCHIVE_SYMBOLS, NULL)
DL_LIBRARY(libcurl, "libcurl.so.4", "libcurl", LIBCURL_SYMBOLS, NULL)
