/* elf-dl.h: libelf, loaded when a binary is first audited (dl.h). */
#pragma once

#include <gelf.h>
#include <libelf.h>

#include "dl.h"

#define LIBELF_SYMBOLS(X) \
    X(elf_end) \
    X(elf_errmsg) \
    X(elf_getphdrnum) \
    X(elf_kind) \
    X(elf_memory) \
    X(elf_version) \
    X(gelf_getehdr) \
    X(gelf_getphdr)

LIBELF_SYMBOLS(DL_DECLARE)

int dlopen_libelf(struct err *e);
