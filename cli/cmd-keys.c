/* cmd-keys.c: slate keygen and slate trust. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "device.h"
#include "keys.h"

int verb_keygen(struct cli *c) {
    struct public_key k;
    struct err e = {0};
    if (c->argc != 2)
        return cli_usage(c, "one key name expected");
    /* NAME may be a path prefix (keys/dev); the key's name is its last part. */
    const char *slash = strrchr(c->argv[1], '/');
    if (key_generate(c->argv[1], slash ? slash + 1 : c->argv[1], &k, &e) < 0)
        return cli_fail(&e);
    printf("key %s: secret %s.key (keep it private), public %s.pub\n", k.id, c->argv[1], c->argv[1]);
    return 0;
}

int verb_trust(struct cli *c) {
    static const struct option opts[] = {{"system", no_argument, NULL, 's'}, {0}};
    _cleanup_device_ struct device *d = NULL;
    struct public_key k;
    struct err e = {0};
    bool system = false;
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 's')
            system = true;
        else
            return cli_usage(c, "unknown option");
    }
    if (optind + 1 != c->argc)
        return cli_usage(c, "one public key file expected");
    if (public_key_load(c->argv[optind], &k, &e) < 0 || device_open(c->root, DEVICE_WRITE, &d, &e) < 0 ||
        trust_add(d->rootfd, &k, system, &e) < 0)
        return cli_fail(&e);
    printf("trusted key %s (%s) for %s\n", k.id, k.name, system ? "system packages and apps" : "apps");
    return 0;
}
