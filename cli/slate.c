/* slate.c: the slate command: global options, then one verb from the table. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "keys.h"
#include "util.h"

static const struct verb verbs[] = {
    {"init", "init --api-level N --min-api-level M [--release NAME]", verb_init},
    {"keygen", "keygen NAME", verb_keygen},
    {"trust", "trust KEY.pub [--system]", verb_trust},
    {"pack", "pack DIR --key KEY -o FILE.slp", verb_pack},
    {"verify", "verify FILE.slp", verb_verify},
    {"audit", "audit FILE.slp|ELF", verb_audit},
    {"install", "install FILE.slp", verb_install},
    {"remove", "remove ID", verb_remove},
    {"rollback", "rollback ID", verb_rollback},
    {"list", "list [--json]", verb_list},
    {"info", "info ID", verb_info},
    {"platform", "platform [upgrade --api-level N --min-api-level M [--release NAME] [--eol]]", verb_platform},
    {"repo", "repo add REPO_DIR [--security] FILE.slp... | repo sign REPO_DIR --key KEY --expires DAYS", verb_repo},
    {"update", "update [--repo URL|DIR] [--dry-run]", verb_update},
    {"start", "start ID", verb_start},
    {"stop", "stop ID", verb_stop},
    {"ps", "ps [--json]", verb_ps},
    {"logs", "logs [ID] [-f]", verb_logs},
    {"shot", "shot FILE.png", verb_shot},
    {"tap", "tap X Y", verb_tap},
    {"swipe", "swipe X1 Y1 X2 Y2 [MS]", verb_swipe},
    {"key", "key NAME|TEXT", verb_key},
    {"theme", "theme [light|dark]", verb_theme},
};

const struct verb *verb_find(const char *name) {
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        if (strcmp(verbs[i].name, name) == 0)
            return &verbs[i];
    return NULL;
}

static int help(FILE *f) {
    fprintf(f, "usage: slate [--root DIR] COMMAND [ARGS]\n\ncommands:\n");
    for (size_t i = 0; i < sizeof verbs / sizeof *verbs; i++)
        fprintf(f, "  slate %s\n", verbs[i].usage);
    fprintf(f, "\n--root DIR (or $SLATE_ROOT) names the device root; it defaults to /.\n"
               "Exit status: 0 done, 1 refused, 100 usage error, 111 system failure.\n");
    return f == stdout ? 0 : EXIT_USAGE;
}

/* Messages quote names from packages: nothing in them may drive the terminal. */
static void print_safe(FILE *f, const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = utf8_next(s + i, n - i, &c);
        if (k == 0 || c < 0x20 || (c >= 0x7f && c < 0xa0)) {
            fputc('?', f);
            i += k ? k : 1;
        } else {
            fwrite(s + i, 1, k, f);
            i += k;
        }
    }
}

int cli_fail(const struct err *e) {
    fputs("slate: ", stderr);
    print_safe(stderr, e->msg[0] ? e->msg : "failed");
    fputc('\n', stderr);
    return err_is_refusal(e->code) ? EXIT_REFUSED : e->code == -EINVAL ? EXIT_USAGE : EXIT_SYSTEM;
}

int cli_usage(const struct cli *c, const char *why) {
    const struct verb *v = verb_find(c->argv[0]);
    fprintf(stderr, "slate: %s; usage: slate %s\n", why, v ? v->usage : c->argv[0]);
    return EXIT_USAGE;
}

void json_string(const char *s) {
    putchar('"');
    for (; *s; s++) {
        unsigned char ch = (unsigned char)*s;
        if (ch == '"' || ch == '\\')
            printf("\\%c", ch);
        else if (ch < 0x20)
            printf("\\u%04x", ch);
        else
            putchar(ch);
    }
    putchar('"');
}

/* --root may come anywhere before "--"; it is taken out so verbs see only their own arguments. */
static int take_root(int *argc, char **argv, const char **root) {
    int out = 1;
    for (int i = 1; i < *argc; i++) {
        if (strcmp(argv[i], "--") == 0) {
            while (i < *argc)
                argv[out++] = argv[i++];
            break;
        }
        if (strcmp(argv[i], "--root") == 0) {
            if (i + 1 >= *argc) {
                fprintf(stderr, "slate: --root needs a folder\n");
                return -1;
            }
            *root = argv[++i];
        } else if (strncmp(argv[i], "--root=", 7) == 0)
            *root = argv[i] + 7;
        else
            argv[out++] = argv[i];
    }
    *argc = out;
    argv[out] = NULL;
    return 0;
}

int main(int argc, char **argv) {
    const char *root = getenv("SLATE_ROOT");
    if (!root || !*root)
        root = "/";
    if (take_root(&argc, argv, &root) < 0)
        return EXIT_USAGE;
    if (argc < 2)
        return help(stderr);
    if (strcmp(argv[1], "--help") == 0 || strcmp(argv[1], "help") == 0 || strcmp(argv[1], "-h") == 0)
        return help(stdout);
    const struct verb *v = verb_find(argv[1]);
    if (!v) {
        fprintf(stderr, "slate: unknown command '%s'; 'slate --help' lists them\n", argv[1]);
        return EXIT_USAGE;
    }
    struct cli c = {.root = root, .argc = argc - 1, .argv = argv + 1};
    int r = v->run(&c);
    if (fflush(stdout) != 0 && r == 0) {
        perror("slate: standard output");
        return EXIT_SYSTEM;
    }
    return r;
}
