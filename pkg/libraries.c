/* libraries.c: the libraries the package system loads on first use (lib/dl.h). */
#define CURL_DL_DEFINE
#include "dl.h"

#include "curl-dl.h"
#include "elf-dl.h"
#include "libarchive-dl.h"
#include "sodium-dl.h"
#include "sqlite-dl.h"
#include "zstd-dl.h"

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
