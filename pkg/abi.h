/* abi.h: the ABI table: which libslate symbol, under which version node, at which levels. */
#pragma once

#include <stddef.h>

#include "err.h"

#define ABI_TABLE_PATH "usr/share/slate/abi"
#define ABI_TABLE_MAX (1u << 20)

struct abi_symbol {
    const char *name;
    const char *node; /* SLATE_N */
    unsigned since;   /* introduced at this level */
    unsigned removed; /* gone from this level on; 0: never */
};

struct abi_table {
    char *text;
    struct abi_symbol *symbols; /* sorted by name */
    size_t n_symbols;
    unsigned latest; /* the newest level the library provides */
};

/* The table built into this program (generated with libslate). */
extern const char slate_abi_builtin[];

int abi_parse(const char *text, size_t len, struct abi_table **ret, struct err *e);
/* The device's table (<root>/usr/share/slate/abi). */
int abi_load(int rootfd, struct abi_table **ret, struct err *e);
struct abi_table *abi_free(struct abi_table *t);
const struct abi_symbol *abi_find(const struct abi_table *t, const char *name);

static inline void abi_freep(struct abi_table **t) {
    abi_free(*t);
}
#define _cleanup_abi_ __attribute__((cleanup(abi_freep)))
