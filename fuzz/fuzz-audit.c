/* fuzz-audit.c: libFuzzer target for audit_elf, the check every app binary passes before install. */
#include <string.h>

#include "audit.h"
#include "fuzz.h"

/* Counts what the callbacks receive, so that the strings handed to them are read. */
static void on_needed(void *userdata, const char *soname) {
    *(size_t *)userdata += strlen(soname);
}

static void on_import(void *userdata, const char *symbol, const char *node) {
    *(size_t *)userdata += strlen(symbol) + (node ? strlen(node) : 0);
}

/* The built-in table, parsed once and kept for the life of the process (LeakSanitizer sees it reachable). */
static const struct abi_table *builtin_table(void) {
    static struct abi_table *table;
    struct err e = {0};
    if (!table && abi_parse(slate_abi_builtin, strlen(slate_abi_builtin), &table, &e) < 0)
        abort();
    return table;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    const struct abi_table *t = builtin_table();
    size_t seen = 0;
    struct audit_policy p = {
        .abi = t,
        .device_api = t->latest,
        .device_min = 1,
        .on_needed = on_needed,
        .on_import = on_import,
        .userdata = &seen,
    };
    for (unsigned level = 0; level <= 1; level++) {
        struct audit_result res;
        struct err e = {0};
        p.app_level = level;
        int r = audit_elf(data, size, &p, &res, &e);
        fuzz_trace(level ? "audit (app level 1)" : "audit (level from the note)", r, &e);
    }
    /* And without callbacks: the audit must not depend on them. */
    p.on_needed = NULL;
    p.on_import = NULL;
    struct err e = {0};
    (void)audit_elf(data, size, &p, NULL, &e);
    return 0;
}
