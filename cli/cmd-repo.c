/* cmd-repo.c: slate repo add, slate repo sign and slate update: publishing and receiving updates. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "cli.h"
#include "descriptor.h"
#include "index.h"
#include "keyfile.h"
#include "package.h"
#include "sodium-dl.h"
#include "update.h"
#include "util.h"

#define CATALOG "catalog" /* the publisher's working list: the index body, unsigned */

/* The repository's catalog, or an empty one for a new repository. */
static int load_catalog(int repofd, struct repo_index **ret, struct err *e) {
    _cleanup_free_ char *text = NULL;
    size_t len;
    int r = read_file_at(repofd, CATALOG, INDEX_BODY_MAX, &text, &len);
    if (r == -ENOENT) {
        static const char empty[] = "slate-index-body 1\nversion 0\nexpires 0\n";
        return index_parse_body(empty, sizeof empty - 1, ret, e);
    }
    if (r < 0)
        return err_set(e, r, "%s: %s", CATALOG, strerror(-r));
    r = index_parse_body(text, len, ret, e);
    return r < 0 ? err_prefix(e, r, "%s", CATALOG) : 0;
}

static int save_catalog(int repofd, const struct repo_index *x, struct err *e) {
    size_t len;
    _cleanup_free_ char *body = index_format_body(x, &len);
    if (!body)
        return err_set(e, -ENOMEM, "out of memory");
    int r = write_file_atomic_at(repofd, CATALOG, body, len, 0644);
    return r < 0 ? err_set(e, r, "%s: %s", CATALOG, strerror(-r)) : 0;
}

/* Hash the whole package file and read what the index lists about it. */
static int describe(int fd, const char *path, struct index_entry *en, struct package **ret_pkg, struct err *e) {
    crypto_generichash_state h;
    uint8_t buf[1 << 16];
    uint64_t size = 0;
    ssize_t n;
    if (keys_init(e) < 0)
        return -ELIBACC;
    sym_crypto_generichash_init(&h, NULL, 0, sizeof en->hash);
    while ((n = read(fd, buf, sizeof buf)) > 0) {
        sym_crypto_generichash_update(&h, buf, (size_t)n);
        size += (uint64_t)n;
    }
    if (n < 0)
        return err_set(e, -errno, "%s: %m", path);
    sym_crypto_generichash_final(&h, en->hash, sizeof en->hash);
    en->size = size;
    if (lseek(fd, 0, SEEK_SET) < 0)
        return err_set(e, -errno, "%s: %m", path);
    int r = package_open_raw(fd, ret_pkg, e);
    if (r == 0)
        r = package_parse_unverified(*ret_pkg, e);
    if (r < 0)
        return err_prefix(e, r, "%s", path);
    const struct manifest *m = package_manifest(*ret_pkg);
    en->id = (char *)m->id;
    en->version_str = (char *)m->version_str;
    en->version = m->version;
    en->api_level = m->api_level;
    en->system = m->system;
    return 0;
}

/* Copy the package to packages/HASH.slp: immutable, so any CDN may cache it forever. */
static int store(int repofd, int fd, const struct index_entry *en, char out_name[static 96], struct err *e) {
    char hash[65], tmp[128];
    hex_encode(en->hash, sizeof en->hash, hash);
    snprintf(out_name, 96, "packages/%s.slp", hash);
    if (faccessat(repofd, out_name, F_OK, AT_SYMLINK_NOFOLLOW) == 0)
        return 0; /* named by its hash: the same bytes are already there */
    snprintf(tmp, sizeof tmp, "packages/.%s.tmp-%d", hash, (int)getpid());
    _cleanup_close_ int out = openat(repofd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (out < 0)
        return err_set(e, -errno, "%s: %m", tmp);
    loff_t in_off = 0;
    int r = 0;
    while (r == 0 && (uint64_t)in_off < en->size) {
        ssize_t n = copy_file_range(fd, &in_off, out, NULL, en->size - (uint64_t)in_off, 0);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            r = n < 0 ? -errno : -EIO; /* the file shrank while it was being added */
    }
    if (r == 0 && fsync(out) < 0)
        r = -errno;
    if (r == 0 && renameat(repofd, tmp, repofd, out_name) < 0)
        r = -errno;
    if (r == 0)
        r = fsync_dir_at(repofd, "packages");
    if (r < 0) {
        unlinkat(repofd, tmp, 0);
        return err_set(e, r, "%s: %s", out_name, strerror(-r));
    }
    return 0;
}

/* The repository folder, made with its packages/ folder when new. */
static int open_repo(const char *dir, struct err *e) {
    char packages[4096];
    snprintf(packages, sizeof packages, "%s/packages", dir);
    int r = mkdir_parents_at(AT_FDCWD, packages);
    if (r < 0)
        return err_set(e, r, "%s: %s", packages, strerror(-r));
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    return fd < 0 ? err_set(e, -errno, "%s: %m", dir) : fd;
}

static int repo_add(struct cli *c) {
    static const struct option opts[] = {{"security", no_argument, NULL, 's'}, {0}};
    _cleanup_index_ struct repo_index *x = NULL;
    _cleanup_close_ int repofd = -1;
    struct err e = {0};
    bool security = false;
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc - 1, c->argv + 1, "", opts, NULL)) != -1) {
        if (o != 's')
            return cli_usage(c, "unknown option");
        security = true;
    }
    int first = optind + 2; /* past "repo", "add" and REPO_DIR, once getopt has moved the options first */
    if (first >= c->argc)
        return cli_usage(c, "a repository folder and at least one package are needed");
    const char *dir = c->argv[optind + 1];
    if ((repofd = open_repo(dir, &e)) < 0 || load_catalog(repofd, &x, &e) < 0)
        return cli_fail(&e);
    for (int i = first; i < c->argc; i++) {
        _cleanup_package_ struct package *p = NULL;
        _cleanup_close_ int fd = open(c->argv[i], O_RDONLY | O_CLOEXEC);
        struct index_entry en = {.security = security};
        char name[96];
        if (fd < 0) {
            err_set(&e, -errno, "%s: %m", c->argv[i]);
            return cli_fail(&e);
        }
        /* Listed first: a version already published with other bytes leaves no file behind. */
        if (describe(fd, c->argv[i], &en, &p, &e) < 0 || index_add(x, &en, &e) < 0 ||
            store(repofd, fd, &en, name, &e) < 0)
            return cli_fail(&e);
        printf("added %s %s (API level %u%s, %llu bytes) as %s\n", en.id, en.version_str, en.api_level,
               security ? ", security fix" : "", (unsigned long long)en.size, name);
    }
    return save_catalog(repofd, x, &e) < 0 ? cli_fail(&e) : 0;
}

static int repo_sign(struct cli *c) {
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"expires", required_argument, NULL, 'x'},
        {0},
    };
    _cleanup_index_ struct repo_index *x = NULL;
    _cleanup_close_ int repofd = -1;
    _cleanup_free_ char *body = NULL, *sealed = NULL;
    const char *key_path = NULL;
    unsigned long days = 0;
    struct secret_key key;
    struct err e = {0};
    size_t body_len, sealed_len;
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc - 1, c->argv + 1, "", opts, NULL)) != -1) {
        if (o == 'k')
            key_path = optarg;
        else if (o == 'x' && parse_uint(optarg, 1, 3650, &days) == 0)
            ;
        else
            return cli_usage(c, o == 'x' ? "--expires takes a number of days from 1 to 3650" : "unknown option");
    }
    if (optind + 2 != c->argc || !key_path || !days)
        return cli_usage(c, "a repository folder, --key and --expires are needed");
    const char *dir = c->argv[optind + 1];
    if ((repofd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0) {
        err_set(&e, -errno, "%s: %m", dir);
        return cli_fail(&e);
    }
    if (load_catalog(repofd, &x, &e) < 0 || secret_key_load(key_path, &key, &e) < 0)
        return cli_fail(&e);
    x->version++;
    x->expires = (int64_t)time(NULL) + (int64_t)days * 86400;
    int r = (body = index_format_body(x, &body_len)) ? index_seal(body, body_len, &key, &sealed, &sealed_len, &e)
                                                     : err_set(&e, -ENOMEM, "out of memory");
    struct public_key signer = key.pub;
    sym_sodium_memzero(&key, sizeof key);
    if (r < 0)
        return cli_fail(&e);
    /* The catalog remembers the version first: a crash in between never signs one number twice. */
    if (save_catalog(repofd, x, &e) < 0)
        return cli_fail(&e);
    if ((r = write_file_atomic_at(repofd, "index", sealed, sealed_len, 0644)) < 0) {
        err_set(&e, r, "%s/index: %s", dir, strerror(-r));
        return cli_fail(&e);
    }
    char when[64];
    time_t t = (time_t)x->expires;
    strftime(when, sizeof when, "%Y-%m-%d %H:%M UTC", gmtime(&t));
    printf("signed %s/index version %llu with key %s (%s): %zu versions, %zu bytes (%.1f per version), expires %s\n",
           dir, (unsigned long long)x->version, signer.id, signer.name, x->n_entries, sealed_len,
           x->n_entries ? (double)sealed_len / (double)x->n_entries : 0.0, when);
    return 0;
}

int verb_repo(struct cli *c) {
    if (c->argc >= 2 && strcmp(c->argv[1], "add") == 0)
        return repo_add(c);
    if (c->argc >= 2 && strcmp(c->argv[1], "sign") == 0)
        return repo_sign(c);
    return cli_usage(c, "'repo add' or 'repo sign' expected");
}

/* slate update ------------------------------------------------------------------------------- */

static void show_index(void *userdata, const struct repo_index *x, bool eol) {
    (void)userdata;
    char when[64];
    time_t t = (time_t)x->expires;
    strftime(when, sizeof when, "%Y-%m-%d", gmtime(&t));
    printf("index version %llu, signed by key %s, valid until %s: %zu versions\n", (unsigned long long)x->version,
           x->key_id, when, x->n_entries);
    if (eol)
        printf("this device is end-of-life: it takes security fixes only, no new feature versions\n");
}

struct tally {
    int changed, current;
};

static void show_package(void *userdata, const struct update_event *ev) {
    struct tally *t = userdata;
    switch (ev->outcome) {
    case UPDATE_CURRENT: t->current++; break;
    case UPDATE_STRANDED:
        printf("%s %s: retired, and the index has no version this platform runs\n", ev->id, ev->from);
        break;
    case UPDATE_PLANNED:
        printf("%s: %s -> %s (API level %u%s), would install\n", ev->id, ev->from, ev->to->version_str,
               ev->to->api_level, ev->to->security ? ", security fix" : "");
        break;
    case UPDATE_INSTALLED:
        t->changed++;
        printf("%s: %s -> %s (API level %u%s)\n", ev->id, ev->from, ev->to->version_str, ev->to->api_level,
               ev->to->security ? ", security fix" : "");
        break;
    case UPDATE_FAILED:
        fprintf(stderr, "slate: %s: %s -> %s failed: %s\n", ev->id, ev->from, ev->to->version_str, ev->why->msg);
        break;
    }
}

/* The repository named on the command line, or the device's own ($ROOT/etc/slate/repository). */
static int default_repo(struct device *d, char **ret, struct err *e) {
    size_t len;
    int r = read_file_at(d->rootfd, "etc/slate/repository", 4096, ret, &len);
    if (r == -ENOENT)
        return err_set(e, -EINVAL, "no repository: pass --repo, or write one to %s/etc/slate/repository", d->root);
    if (r < 0)
        return err_set(e, r, "%s/etc/slate/repository: %s", d->root, strerror(-r));
    (*ret)[strcspn(*ret, "\n")] = '\0';
    return 0;
}

int verb_update(struct cli *c) {
    static const struct option opts[] = {
        {"repo", required_argument, NULL, 'r'},
        {"dry-run", no_argument, NULL, 'n'},
        {0},
    };
    _cleanup_device_ struct device *d = NULL;
    _cleanup_free_ char *configured = NULL;
    struct update_options uo = {.fetch = fetch_options_default()};
    struct err e = {0};
    struct tally t = {0};
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc, c->argv, "", opts, NULL)) != -1) {
        if (o == 'r')
            uo.repo = optarg;
        else if (o == 'n')
            uo.dry_run = true;
        else
            return cli_usage(c, "unknown option");
    }
    if (optind != c->argc)
        return cli_usage(c, "no arguments expected");
    /* A check that finds nothing new never waits for, or becomes, the device's writer. */
    if (device_open(c->root, 0, &d, &e) < 0)
        return cli_fail(&e);
    if (!uo.repo && default_repo(d, &configured, &e) < 0)
        return cli_fail(&e);
    if (!uo.repo)
        uo.repo = configured;
    struct update_report rep = {show_index, show_package, &t};
    int r = update_run(d, &uo, &rep, &e);
    if (t.current)
        printf("%d package%s up to date\n", t.current, t.current == 1 ? "" : "s");
    if (r < 0)
        return cli_fail(&e);
    printf("%s\n", uo.dry_run ? "dry run: nothing changed" : t.changed ? "update done" : "nothing to update");
    return 0;
}
