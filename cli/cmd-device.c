/* cmd-device.c: slate init, slate platform and slate platform upgrade. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "device.h"
#include "keyfile.h"
#include "platform.h"

static int level_arg(const char *s, unsigned long *ret) {
    return parse_uint(s, 1, API_LEVEL_MAX, ret);
}

/* --api-level, --min-api-level, --release and (when eol is given) --eol, from c's arguments; usage names u's verb. */
static int parse_levels(struct cli *c, const struct cli *u, unsigned long *api, unsigned long *min,
                        const char **release, bool *eol) {
    static const struct option opts[] = {
        {"api-level", required_argument, NULL, 'a'},
        {"min-api-level", required_argument, NULL, 'm'},
        {"release", required_argument, NULL, 'r'},
        {"eol", no_argument, NULL, 'e'},
        {0},
    };
    int o;
    optind = 0;
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 'a' && level_arg(optarg, api) < 0)
            return cli_usage(u, "--api-level takes a level from 1");
        if (o == 'm' && level_arg(optarg, min) < 0)
            return cli_usage(u, "--min-api-level takes a level from 1");
        if (o == 'r')
            *release = optarg;
        if (o == 'e' && eol)
            *eol = true;
        if (o == '?' || (o == 'e' && !eol))
            return cli_usage(u, "unknown option");
    }
    if (optind != c->argc || !*api || !*min)
        return cli_usage(u, "both levels are needed");
    if (*release && (strlen(*release) >= sizeof((struct platform_desc *)0)->release || strpbrk(*release, "#\n")))
        return cli_usage(u, "--release takes a short name without '#'");
    return 0;
}

int verb_init(struct cli *c) {
    unsigned long api = 0, min = 0;
    const char *release = NULL;
    struct err e = {0};
    int r = parse_levels(c, c, &api, &min, &release, NULL);
    if (r != 0)
        return r;
    if (!release)
        release = "dev";
    if (device_init(c->root, (unsigned)api, (unsigned)min, release, &e) < 0)
        return cli_fail(&e);
    printf("initialised device root %s: API levels %lu to %lu, release %s\n", c->root, min, api, release);
    return 0;
}

static void print_retired(void *userdata, const struct db_version *v) {
    size_t *n = userdata;
    if ((*n)++ == 0)
        printf("retired (kept on disk; they do not run until an update brings a supported version):\n");
    printf("  %s %s (API level %u)\n", v->id, v->version, v->api_level);
}

static int platform_upgrade_verb(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    unsigned long api = 0, min = 0;
    struct platform_change change = {0};
    struct err e = {0};
    size_t retired = 0;
    struct cli args = {.root = c->root, .argc = c->argc - 1, .argv = c->argv + 1}; /* past "platform" */
    int r = parse_levels(&args, c, &api, &min, &change.release, &change.eol);
    if (r != 0)
        return r;
    change.api_level = (unsigned)api;
    change.min_api_level = (unsigned)min;
    if (device_open(c->root, DEVICE_WRITE, &d, &e) < 0)
        return cli_fail(&e);
    unsigned old_min = d->desc.min_api_level, old_api = d->desc.api_level;
    if (platform_upgrade(d, &change, print_retired, &retired, &e) < 0)
        return cli_fail(&e);
    printf("platform upgraded: API levels %u to %u -> %u to %u, release %s%s; %zu app%s retired\n", old_min, old_api,
           d->desc.min_api_level, d->desc.api_level, d->desc.release, d->desc.eol ? ", end-of-life" : "", retired,
           retired == 1 ? "" : "s");
    return 0;
}

int verb_platform(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    struct err e = {0};
    if (c->argc >= 2 && strcmp(c->argv[1], "upgrade") == 0)
        return platform_upgrade_verb(c);
    if (c->argc != 1)
        return cli_usage(c, "no arguments expected, or 'upgrade'");
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
