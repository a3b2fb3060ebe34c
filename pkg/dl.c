/* dl.c: the libraries slate and slated load on first use (dl.h), and the one loader they share. */
#define CURL_DL_DEFINE
#include "dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

#include "curl-dl.h"
#include "elf-dl.h"
#include "libarchive-dl.h"
#include "sodium-dl.h"
#include "sqlite-dl.h"
#include "zstd-dl.h"

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;

static void load(struct dl_library *lib) {
    /* RTLD_NODELETE: what may not be unloaded stays even if some dlclose comes its way. */
    void *h = dlopen(lib->soname, RTLD_NOW | RTLD_LOCAL | (lib->unloadable ? 0 : RTLD_NODELETE));
    if (!h) {
        snprintf(lib->failure, sizeof lib->failure, "cannot load %s: %s", lib->label, dlerror());
        return;
    }
    for (size_t i = 0; i < lib->n_symbols; i++)
        if (!(*lib->symbols[i].ptr = dlsym(h, lib->symbols[i].name))) {
            snprintf(lib->failure, sizeof lib->failure, "%s (%s) lacks %s", lib->label, lib->soname,
                     lib->symbols[i].name);
            dlclose(h);
            return;
        }
    if (lib->after && lib->after() < 0) {
        snprintf(lib->failure, sizeof lib->failure, "%s failed to initialise", lib->label);
        dlclose(h);
        return;
    }
    lib->handle = h;
}

int dl_load(struct dl_library *lib, struct err *e) {
    pthread_mutex_lock(&lock);
    if (!lib->handle && !lib->failure[0])
        load(lib);
    pthread_mutex_unlock(&lock);
    return lib->failure[0] ? err_set(e, -ELIBACC, "%s", lib->failure) : 0;
}

void dl_unload(struct dl_library *lib) {
    pthread_mutex_lock(&lock);
    if (lib->unloadable && lib->handle) {
        for (size_t i = 0; i < lib->n_symbols; i++)
            *lib->symbols[i].ptr = NULL;
        dlclose(lib->handle);
        lib->handle = NULL;
    }
    pthread_mutex_unlock(&lock);
}

/* One library: its pointers, their table, its state, and dlopen_NAME(). */
#define DL_LIBRARY(name, soname, label, symbols, after, unloadable)                                                    \
    symbols(DL_DEFINE)                                                                                                 \
    static const struct dl_symbol name##_symbols[] = {symbols(DL_SYMBOL_ENTRY)};                                       \
    static struct dl_library name##_library = {                                                                        \
        soname, label, name##_symbols, sizeof name##_symbols / sizeof *name##_symbols, after, unloadable, NULL, ""};   \
    int dlopen_##name(struct err *e) {                                                                                 \
        return dl_load(&name##_library, e);                                                                            \
    }

static int init_sodium(void) {
    return sym_sodium_init() < 0 ? -EIO : 0;
}

/* The sonames this build was compiled against. */
DL_LIBRARY(sqlite, "libsqlite3.so.0", "SQLite", SQLITE_SYMBOLS, NULL, true)
DL_LIBRARY(sodium, "libsodium.so.23", "libsodium", SODIUM_SYMBOLS, init_sodium, false)
DL_LIBRARY(libelf, "libelf.so.1", "libelf", LIBELF_SYMBOLS, NULL, false)
DL_LIBRARY(zstd, "libzstd.so.1", "libzstd", ZSTD_SYMBOLS, NULL, false)
DL_LIBRARY(libarchive, "libarchive.so.13", "libarchive", LIBARCHIVE_SYMBOLS, NULL, false)
/* libcurl's TLS libraries keep state (atexit handlers, thread keys) that must outlive any dlclose. */
DL_LIBRARY(libcurl, "libcurl.so.4", "libcurl", LIBCURL_SYMBOLS, NULL, false)

void dlclose_sqlite(void) {
    dl_unload(&sqlite_library);
}
