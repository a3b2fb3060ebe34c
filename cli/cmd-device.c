/* cmd-device.c: slate init and slate platform. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "device.h"
#include "keyfile.h"

static int level_arg(const char *s, unsigned long *ret) {
    return parse_uint(s, 1, API_LEVEL_MAX, ret);
}

int verb_init(struct cli *c) {
    static const struct option opts[] = {
        {"api-level", required_argument, NULL, 'a'},
        {"min-api-level", required_argument, NULL, 'm'},
        {"release", required_argument, NULL, 'r'},
        {0},
    };
    unsigned long api = 0, min = 0;
    const char *release = "dev";
    struct err e = {0};
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 'a' && level_arg(optarg, &api) < 0)
            return cli_usage(c, "--api-level takes a level from 1");
        if (o == 'm' && level_arg(optarg, &min) < 0)
            return cli_usage(c, "--min-api-level takes a level from 1");
        if (o == 'r')
            release = optarg;
        if (o == '?')
            return cli_usage(c, "unknown option");
    }
    if (optind != c->argc || !api || !min)
        return cli_usage(c, "both levels are needed");
    if (strlen(release) >= sizeof((struct platform_desc *)0)->release || strpbrk(release, "#\n"))
        return cli_usage(c, "--release takes a short name without '#'");
    if (device_init(c->root, (unsigned)api, (unsigned)min, release, &e) < 0)
        return cli_fail(&e);
    printf("initialised device root %s: API levels %lu to %lu, release %s\n", c->root, min, api, release);
    return 0;
}

int verb_platform(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    struct err e = {0};
    if (c->argc != 1)
        return cli_usage(c, "no arguments expected");
    if (device_open(c->root, 0, &d, &e) < 0)
        return cli_fail(&e);
    printf("root:          %s\n", c->root);
    printf("release:       %s\n", d->desc.release);
    printf("api_level:     %u\n", d->desc.api_level);
    printf("min_api_level: %u\n", d->desc.min_api_level);
    printf("runs levels:   %u to %u (nothing older: no compatibility layer)\n", d->desc.min_api_level,
           d->desc.api_level);
    printf("eol:           %s\n", d->desc.eol ? "yes: no new feature versions" : "no");
    printf("libslate:      ABI table up to level %u, %zu symbols\n", d->abi->latest, d->abi->n_symbols);
    return 0;
}
