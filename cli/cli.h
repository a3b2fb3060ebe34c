/* cli.h: what the slate command's verbs share. */
#pragma once

#include <stdbool.h>

#include "err.h"

/* Exit statuses, as skalibs documents them: 0 ok, 1 refused, 100 usage, 111 system failure. */
enum {
    EXIT_REFUSED = 1,
    EXIT_USAGE = 100,
    EXIT_SYSTEM = 111,
};

struct cli {
    const char *root; /* --root, $SLATE_ROOT or "/" */
    int argc;         /* the verb's own arguments, argv[0] being the verb */
    char **argv;
};

struct verb {
    const char *name;
    const char *usage;
    int (*run)(struct cli *c);
};

/* Print "slate: <message>" once and return the exit status for e's code. */
int cli_fail(const struct err *e);
/* Print a usage line for the verb and return EXIT_USAGE. */
int cli_usage(const struct cli *c, const char *why);
/* Print a JSON string with escapes. */
void json_string(const char *s);

int verb_init(struct cli *c);
int verb_keygen(struct cli *c);
int verb_trust(struct cli *c);
int verb_pack(struct cli *c);
int verb_verify(struct cli *c);
int verb_audit(struct cli *c);
int verb_install(struct cli *c);
int verb_remove(struct cli *c);
int verb_rollback(struct cli *c);
int verb_list(struct cli *c);
int verb_info(struct cli *c);
int verb_platform(struct cli *c);
int verb_repo(struct cli *c);
int verb_update(struct cli *c);
int verb_start(struct cli *c);
int verb_stop(struct cli *c);
int verb_ps(struct cli *c);
int verb_logs(struct cli *c);
int verb_shot(struct cli *c);
int verb_tap(struct cli *c);
int verb_swipe(struct cli *c);
int verb_key(struct cli *c);
int verb_theme(struct cli *c);

const struct verb *verb_find(const char *name);

/* Ask slated, when it runs on c->root, to stop the app id and its services; 0 or an exit status. */
int daemon_stop_package(struct cli *c, const char *id);
