/* cmd-pack.c: slate pack, verify and audit: working with package files. */
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>

#include "audit.h"
#include "cli.h"
#include "device.h"
#include "install.h"
#include "package.h"
#include "sodium-dl.h"
#include "util.h"

int verb_pack(struct cli *c) {
    static const struct option opts[] = {
        {"key", required_argument, NULL, 'k'},
        {"output", required_argument, NULL, 'o'},
        {0},
    };
    const char *key_path = NULL, *out = NULL;
    struct secret_key key;
    struct err e = {0};
    int o;

    optind = 0;
    while ((o = getopt_long(c->argc, c->argv, "k:o:", opts, NULL)) != -1) {
        if (o == 'k')
            key_path = optarg;
        else if (o == 'o')
            out = optarg;
        else
            return cli_usage(c, "unknown option");
    }
    if (optind + 1 != c->argc || !key_path || !out)
        return cli_usage(c, "a folder, --key and -o are needed");
    if (secret_key_load(key_path, &key, &e) < 0)
        return cli_fail(&e);
    int r = package_pack(c->argv[optind], &key, out, &e);
    struct public_key signer = key.pub;
    sym_sodium_memzero(&key, sizeof key);
    if (r < 0)
        return cli_fail(&e);
    printf("packed %s, signed with key %s (%s)\n", out, signer.id, signer.name);
    return 0;
}

int verb_verify(struct cli *c) {
    _cleanup_device_ struct device *d = NULL;
    _cleanup_package_ struct package *p = NULL;
    _cleanup_close_ int fd = -1;
    struct err e = {0};
    int class;

    if (c->argc != 2)
        return cli_usage(c, "one package file expected");
    const char *path = c->argv[1];
    if (device_open(c->root, 0, &d, &e) < 0)
        return cli_fail(&e);
    if ((fd = open(path, O_RDONLY | O_CLOEXEC)) < 0) {
        err_set(&e, -errno, "%s: %m", path);
        return cli_fail(&e);
    }
    if (package_open_raw(fd, &p, &e) < 0 || (class = package_authenticate(p, d->rootfd, &e)) < 0 ||
        package_extract(p, -1, NULL, &e) < 0) {
        err_prefix(&e, e.code, "%s", path);
        return cli_fail(&e);
    }
    const struct manifest *m = package_manifest(p);
    printf("%s: good signature by key %s (%s, trusted for %s); %s %s, API level %u, %zu files, %llu bytes verified\n",
           path, package_signer(p)->id, package_signer(p)->name, class == TRUST_SYSTEM ? "system packages" : "apps",
           m->id, m->version_str, m->api_level, m->n_files, (unsigned long long)m->total_size);
    return 0;
}

/* Audit ------------------------------------------------------------------------------------- */

static void print_needed(void *ud, const char *soname) {
    (void)ud;
    printf("  needs   %s\n", soname);
}

static void print_import(void *ud, const char *symbol, const char *node) {
    (void)ud;
    printf("  imports %s@%s\n", symbol, node);
}

/* Against the device at root, or, with no device there, against this SDK's own table. */
static int audit_target(struct cli *c, struct device **ret_dev, struct abi_table **ret_abi, struct platform_desc *desc,
                        struct err *e) {
    struct device *d = NULL;
    if (device_open(c->root, 0, &d, e) == 0) {
        *ret_dev = d;
        *ret_abi = d->abi;
        *desc = d->desc;
        return 0;
    }
    if (e->code != -ENOENT)
        return e->code;
    int r = abi_parse(slate_abi_builtin, strlen(slate_abi_builtin), ret_abi, e);
    if (r < 0)
        return r;
    *ret_dev = NULL;
    *desc = (struct platform_desc){.api_level = (*ret_abi)->latest, .min_api_level = 1};
    printf("(no device at %s: checking against this SDK, API levels 1 to %u)\n", c->root, desc->api_level);
    return 0;
}

static int audit_binary(const char *path, const struct abi_table *abi, const struct platform_desc *desc,
                        struct err *e) {
    struct audit_policy policy = {
        .abi = abi,
        .device_api = desc->api_level,
        .device_min = desc->min_api_level,
        .on_needed = print_needed,
        .on_import = print_import,
    };
    struct audit_result res;
    /* The user names this file: follow a symlink to it, as /usr/bin's often are. */
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %m", path);
    printf("%s:\n", path);
    int r = audit_elf_fd(fd, path, &policy, &res, e);
    if (r < 0)
        return r;
    if (res.note_level)
        printf("%s: built for API level %u; runs on this device (levels %u to %u)\n", path, res.note_level,
               desc->min_api_level, desc->api_level);
    else
        printf("%s: uses no libslate API; runs on this device\n", path);
    return 0;
}

/* A temporary folder under $TMPDIR (or /tmp) to unpack into; ret_path is the caller's to remove. */
static int make_tmpdir(char **ret_path, struct err *e) {
    const char *base = getenv("TMPDIR");
    char *path;
    if (asprintf(&path, "%s/slate-audit.XXXXXX", base && *base ? base : "/tmp") < 0)
        return err_set(e, -ENOMEM, "out of memory");
    if (!mkdtemp(path)) {
        int r = err_set(e, -errno, "%s: %m", path);
        free(path);
        return r;
    }
    int fd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        int r = err_set(e, -errno, "%s: %m", path);
        rmdir(path);
        free(path);
        return r;
    }
    *ret_path = path;
    return fd;
}

/* What install would conclude about the package's binaries, without installing it: signed packages only. */
static int audit_package(const char *path, struct device *d, struct err *e) {
    _cleanup_package_ struct package *p = NULL;
    _cleanup_close_ int fd = open(path, O_RDONLY | O_CLOEXEC), dirfd = -1;
    _cleanup_free_ bool *elf = NULL;
    _cleanup_free_ char *tmp = NULL;
    int r;

    if (fd < 0)
        return err_set(e, -errno, "%s: %m", path);
    if ((r = package_open(fd, d->rootfd, &p, e)) < 0)
        return err_prefix(e, r, "%s", path);
    const struct manifest *m = package_manifest(p);
    if ((r = gate_api_level(&d->desc, m->id, m->api_level, e)) < 0)
        return r;
    if ((dirfd = make_tmpdir(&tmp, e)) < 0)
        return dirfd;
    if ((r = check_space_at(dirfd, m, e)) == 0 && (r = package_extract(p, dirfd, &elf, e)) < 0)
        err_prefix(e, r, "%s", path);
    if (r == 0)
        r = audit_tree(d, dirfd, m, elf, e);
    rm_rf_at(AT_FDCWD, tmp);
    if (r < 0)
        return r;
    printf("%s: %s %s, API level %u, signed by key %s: every binary runs on this device (levels %u to %u)\n", path,
           m->id, m->version_str, m->api_level, package_signer(p)->id, d->desc.min_api_level, d->desc.api_level);
    return 0;
}

static bool file_is_elf(const char *path) {
    unsigned char head[4];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    bool elf = fd >= 0 && read(fd, head, 4) == 4 && is_elf(head, 4);
    if (fd >= 0)
        close(fd);
    return elf;
}

int verb_audit(struct cli *c) {
    struct device *d = NULL;
    struct abi_table *abi = NULL;
    struct platform_desc desc = {0};
    struct err e = {0};
    int r;

    if (c->argc != 2)
        return cli_usage(c, "one package or ELF file expected");
    const char *path = c->argv[1];
    if (file_is_elf(path)) {
        r = audit_target(c, &d, &abi, &desc, &e);
        if (r == 0)
            r = audit_binary(path, abi, &desc, &e);
        if (!d)
            abi_free(abi);
    } else {
        r = device_open(c->root, 0, &d, &e);
        if (r == 0)
            r = audit_package(path, d, &e);
    }
    device_close(d);
    return r < 0 ? cli_fail(&e) : 0;
}
