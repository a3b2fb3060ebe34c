/* install.h: installing, removing and rolling back packages atomically. */
#pragma once

#include "db.h"
#include "device.h"
#include "err.h"

struct install_result {
    char id[PACKAGE_ID_MAX + 1];
    char version[VERSION_MAX];
    char replaced[VERSION_MAX]; /* the version that was current before, or "" */
};

/*
 * Check a package's API level against the device's window: above api_level is
 * "too new", below min_api_level is refused because the platform keeps no
 * compatibility layer. Returns 0 or -E_LEVEL with both levels named.
 */
int gate_api_level(const struct platform_desc *d, const char *id, unsigned level, struct err *e);

/*
 * verify -> stage -> audit -> sync -> rename -> one transaction. The old
 * version stays for rollback. A crash at any point leaves the old version
 * current; start-up recovery removes what the crash left behind.
 */
int install_package(struct device *d, const char *path, struct install_result *ret, struct err *e);

int remove_package(struct device *d, const char *id, struct err *e);

int rollback_package(struct device *d, const char *id, struct install_result *ret, struct err *e);

/* Refuse, before anything is written beneath fd's file system, a package that cannot fit there. */
int check_space_at(int fd, const struct manifest *m, struct err *e);

/* Audit every ELF file of an unpacked package (files beneath dirfd) against the device. */
int audit_tree(struct device *d, int dirfd, const struct manifest *m, const bool *elf, struct err *e);
