/* fuzz-manifest.c: libFuzzer target for manifest_parse, as packed and as written by a developer. */
#include "fuzz.h"
#include "manifest.h"

static void parse(const uint8_t *data, size_t size, unsigned flags) {
    struct manifest *m = NULL;
    struct err e = {0};
    int r = manifest_parse((const char *)data, size, flags, &m, &e);
    fuzz_trace(flags & MANIFEST_SOURCE ? "manifest (source)" : "manifest", r, &e);
    if (r == 0) {
        /* Touch what a caller reads, so ASan checks the strings point into live memory. */
        for (size_t i = 0; i < m->n_files; i++)
            if (manifest_find(m, m->files[i].path) != &m->files[i])
                abort();
        char perms[64];
        permissions_format(m->permissions, perms, sizeof perms);
    }
    manifest_free(m);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    parse(data, size, 0);
    parse(data, size, MANIFEST_SOURCE);
    return 0;
}
