/* cmd-install.c: slate install, remove and rollback. */
#include <stdio.h>

#include "cli.h"
#include "install.h"

static int open_for_writing(struct cli *c, int args, const char *what, struct device **d, struct err *e) {
    if (c->argc != args + 1)
        return cli_usage(c, what);
    return device_open(c->root, DEVICE_WRITE, d, e) < 0 ? cli_fail(e) : 0;
}

int verb_install(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    struct install_result res;
    struct err e = {0};
    int r = open_for_writing(c, 1, "one package file expected", &d, &e);
    if (r != 0)
        return r;
    if (install_package(d, c->argv[1], &res, &e) < 0)
        return cli_fail(&e);
    if (*res.replaced)
        printf("installed %s %s (was %s; kept for rollback)\n", res.id, res.version, res.replaced);
    else
        printf("installed %s %s\n", res.id, res.version);
    return 0;
}

int verb_remove(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    struct err e = {0};
    int r = open_for_writing(c, 1, "one package id expected", &d, &e);
    if (r != 0)
        return r;
    /* A running app (and its services) stops first: nothing may run from a folder being removed. */
    if ((r = daemon_stop_package(c, c->argv[1])) != 0)
        return r;
    if (remove_package(d, c->argv[1], &e) < 0)
        return cli_fail(&e);
    printf("removed %s\n", c->argv[1]);
    return 0;
}

int verb_rollback(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    struct install_result res;
    struct err e = {0};
    int r = open_for_writing(c, 1, "one package id expected", &d, &e);
    if (r != 0)
        return r;
    if (rollback_package(d, c->argv[1], &res, &e) < 0)
        return cli_fail(&e);
    printf("rolled %s back to %s (from %s)\n", res.id, res.version, res.replaced);
    return 0;
}
