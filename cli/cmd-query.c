/* cmd-query.c: slate list and slate info: reading the installed state. */
#include <getopt.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "db.h"
#include "device.h"
#include "platform.h"

struct listing {
    bool json;
    size_t n;
    const struct platform_desc *desc;
};

static int print_row(void *ud, const struct db_package *p, const struct db_version *v) {
    struct listing *l = ud;
    bool retired = platform_runs(l->desc, v->id, v->api_level, NULL) < 0;
    if (!l->json) {
        if (l->n++ == 0)
            printf("%-32s %-12s %-4s %-7s %-8s %s\n", "ID", "VERSION", "API", "CLASS", "STATE", "LABEL");
        printf("%-32s %-12s %-4u %-7s %-8s %s\n", p->id, p->current, v->api_level, v->system ? "system" : "app",
               retired ? "retired" : "ok", v->label);
        return 0;
    }
    printf("%s\n  {\"id\": ", l->n++ ? "," : "");
    json_string(p->id);
    printf(", \"version\": ");
    json_string(p->current);
    printf(", \"previous\": ");
    if (*p->previous)
        json_string(p->previous);
    else
        printf("null");
    printf(", \"api_level\": %u, \"class\": \"%s\", \"label\": ", v->api_level, v->system ? "system" : "app");
    json_string(v->label);
    printf(", \"retired\": %s, \"size\": %llu, \"files\": %llu}", retired ? "true" : "false",
           (unsigned long long)v->size, (unsigned long long)v->files);
    return 0;
}

int verb_list(struct cli *c) {
    static const struct option opts[] = {{"json", no_argument, NULL, 'j'}, {0}};
    _cleanup_device_ struct device *d = NULL;
    struct listing l = {0};
    struct err e = {0};
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o != 'j')
            return cli_usage(c, "unknown option");
        l.json = true;
    }
    if (optind != c->argc)
        return cli_usage(c, "no arguments expected");
    if (device_open(c->root, 0, &d, &e) < 0)
        return cli_fail(&e);
    l.desc = &d->desc;
    if (l.json)
        printf("[");
    if (db_for_each(d->db, print_row, &l, &e) < 0)
        return cli_fail(&e);
    if (l.json)
        printf("%s]\n", l.n ? "\n" : "");
    else if (l.n == 0)
        printf("no packages installed\n");
    return 0;
}

int verb_info(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    struct db_package p;
    struct db_version v;
    struct err e = {0};
    char when[64];

    if (c->argc != 2)
        return cli_usage(c, "one package id expected");
    if (device_open(c->root, 0, &d, &e) < 0)
        return cli_fail(&e);
    if (db_get_package(d->db, c->argv[1], &p, &e) < 0 || db_get_version(d->db, p.id, p.current, &v, &e) < 0) {
        if (e.code == -ENOENT)
            e.code = -E_STATE;
        return cli_fail(&e);
    }
    time_t t = (time_t)v.installed_at;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M:%S UTC", gmtime(&t));
    printf("id:          %s\n", p.id);
    printf("version:     %s\n", p.current);
    printf("previous:    %s\n", *p.previous ? p.previous : "(none kept)");
    printf("label:       %s\n", v.label);
    printf("class:       %s\n", v.system ? "system" : "app");
    printf("api_level:   %u\n", v.api_level);
    struct err why = {0};
    if (platform_runs(&d->desc, p.id, v.api_level, &why) < 0)
        printf("state:       retired: %s\n", why.msg);
    else
        printf("state:       runs on this platform\n");
    printf("exec:        %s\n", v.exec);
    printf("permissions: %s\n", *v.permissions ? v.permissions : "(none)");
    if (v.memory)
        printf("memory:      %llu MiB\n", (unsigned long long)(v.memory >> 20));
    else
        printf("memory:      platform default\n");
    printf("signed by:   %s\n", v.key_id);
    printf("files:       %llu (%llu bytes)\n", (unsigned long long)v.files, (unsigned long long)v.size);
    printf("installed:   %s\n", when);
    printf("location:    %s/%s/%s/%s\n", strcmp(c->root, "/") ? c->root : "", APPS_DIR, p.id, p.current);
    return 0;
}
