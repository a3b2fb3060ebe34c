/* dl.c: loading a library on first use (dl.h). */
#include "dl.h"

#include <dlfcn.h>
#include <pthread.h>
#include <stdio.h>

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
