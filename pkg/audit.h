/* audit.h: checking an app binary against what the device's platform provides. */
#pragma once

#include <stdbool.h>
#include <stddef.h>

#include "abi.h"
#include "err.h"

#define LIBSLATE_SONAME "libslate.so.1"

struct audit_policy {
    const struct abi_table *abi; /* what the device's libslate exports */
    unsigned device_api, device_min;
    unsigned app_level; /* the level the package is built for; 0: take it from the binary's note */
    /* Optional: told of each library the binary needs and each libslate symbol it imports. */
    void (*on_needed)(void *userdata, const char *soname);
    void (*on_import)(void *userdata, const char *symbol, const char *node);
    void *userdata;
};

struct audit_result {
    unsigned note_level; /* the API level stamped in the binary, 0 when it has none */
    bool links_slate;    /* needs libslate */
    bool executable;     /* has a program interpreter: can be started */
};

/*
 * Audit an ELF image as the dynamic loader will see it: program headers, the
 * dynamic segment and the relocations' symbols, never the section headers
 * (which the loader ignores and an attacker can forge). Refused, with the
 * library, symbol or level named: another architecture; static linking; a
 * foreign interpreter; any needed library but libslate and the C library; a
 * library search path or audit library; an unversioned libslate import (weak
 * linking); a libslate symbol or version node the device does not export or
 * that is outside the app's level; ELF level notes that disagree.
 */
int audit_elf(const void *data, size_t size, const struct audit_policy *p, struct audit_result *ret, struct err *e);

/* Audit dirfd/path (mapped read-only), never following a symlink: for unpacked packages. */
int audit_elf_at(int dirfd, const char *path, const struct audit_policy *p, struct audit_result *ret, struct err *e);

/* Audit an open file; name is for messages. */
int audit_elf_fd(int fd, const char *name, const struct audit_policy *p, struct audit_result *ret, struct err *e);

/* Whether data starts with the ELF magic. */
bool is_elf(const void *data, size_t size);
