/* package.c: the .slp format: one streaming pass to verify and unpack, and a reproducible packer. */
#include "package.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "audit.h"
#include "descriptor.h"
#include "libarchive-dl.h"
#include "sink.h"
#include "util.h"

#define READ_BLOCK (128 * 1024)
#define PAYLOAD_PREFIX "files/"

struct package {
    struct archive *a;
    char *signature, *manifest_text;
    size_t signature_len, manifest_len;
    struct manifest *m;
    struct public_key signer;
    int trust; /* TRUST_* of the signer, once authenticated */
};

static int archive_fail(struct archive *a, struct err *e) {
    const char *why = sym_archive_error_string(a);
    return err_set(e, -E_MALFORMED, "truncated or corrupt package (%.200s)", why ? why : "unknown error");
}

static int read_small_entry(struct archive *a, const char *want, size_t max, char **ret, size_t *ret_len,
                            struct err *e) {
    struct archive_entry *ae;
    int r = sym_archive_read_next_header(a, &ae);
    if (r == ARCHIVE_EOF)
        return err_set(e, -E_MALFORMED, "not a Slate package: %s is missing", want);
    if (r != ARCHIVE_OK)
        return archive_fail(a, e);
    const char *name = sym_archive_entry_pathname(ae);
    if (!name || strcmp(name, want) != 0)
        return err_set(e, -E_MALFORMED, "not a Slate package: %s must come %s", want,
                       strcmp(want, "SIGNATURE") == 0 ? "first" : "right after SIGNATURE");
    if (sym_archive_entry_filetype(ae) != AE_IFREG || sym_archive_entry_hardlink(ae))
        return err_set(e, -E_MALFORMED, "%s is not a plain file", want);
    int64_t size = sym_archive_entry_size(ae);
    if (!sym_archive_entry_size_is_set(ae) || size < 0 || (uint64_t)size > max)
        return err_set(e, -E_MALFORMED, "%s is larger than %zu bytes", want, max);
    char *buf = malloc((size_t)size + 1);
    if (!buf)
        return err_set(e, -ENOMEM, "out of memory");
    la_ssize_t n = sym_archive_read_data(a, buf, (size_t)size);
    if (n != (la_ssize_t)size) {
        free(buf);
        return n < 0 ? archive_fail(a, e) : err_set(e, -E_MALFORMED, "%s is truncated", want);
    }
    buf[size] = '\0';
    *ret = buf;
    *ret_len = (size_t)size;
    return 0;
}

int package_open_raw(int fd, struct package **ret, struct err *e) {
    int r = dlopen_libarchive(e);
    if (r < 0)
        return r;
    struct package *p = calloc(1, sizeof *p);
    if (!p || !(p->a = sym_archive_read_new())) {
        free(p);
        return err_set(e, -ENOMEM, "out of memory");
    }
    sym_archive_read_support_filter_zstd(p->a);
    sym_archive_read_support_format_tar(p->a);
    if (sym_archive_read_open_fd(p->a, fd, READ_BLOCK) != ARCHIVE_OK)
        r = archive_fail(p->a, e);
    else
        r = read_small_entry(p->a, "SIGNATURE", SIGNATURE_MAX, &p->signature, &p->signature_len, e);
    if (r == 0 && (sym_archive_filter_count(p->a) != 2 || sym_archive_filter_code(p->a, 0) != ARCHIVE_FILTER_ZSTD))
        r = err_set(e, -E_MALFORMED, "not a Slate package: not zstd-compressed");
    if (r == 0)
        r = read_small_entry(p->a, "manifest", MANIFEST_MAX, &p->manifest_text, &p->manifest_len, e);
    if (r < 0) {
        package_free(p);
        return r;
    }
    *ret = p;
    return 0;
}

int package_parse_unverified(struct package *p, struct err *e) {
    if (p->m)
        return 0;
    return manifest_parse(p->manifest_text, p->manifest_len, 0, &p->m, e);
}

int package_authenticate(struct package *p, int rootfd, struct err *e) {
    char key_id[KEY_ID_HEX];
    uint8_t sig[crypto_sign_BYTES];
    int r = signature_parse(p->signature, p->signature_len, key_id, sig, e);
    if (r < 0)
        return r;
    int class = trust_lookup(rootfd, key_id, &p->signer, e);
    if (class < 0)
        return class;
    if (!signature_check(&p->signer, sig, p->manifest_text, p->manifest_len))
        return err_set(e, -E_UNTRUSTED, "bad signature: the manifest was changed after key %s signed it", key_id);
    /* Only a signed manifest is ever parsed. */
    if ((r = package_parse_unverified(p, e)) < 0)
        return r;
    if (p->m->system && class != TRUST_SYSTEM)
        return err_set(e, -E_UNTRUSTED, "%s is a system package, but key %s (%s) is trusted for apps only", p->m->id,
                       key_id, p->signer.name);
    p->trust = class;
    return class;
}

int package_open(int fd, int rootfd, struct package **ret, struct err *e) {
    _cleanup_package_ struct package *p = NULL;
    int r = package_open_raw(fd, &p, e);
    if (r < 0 || (r = package_authenticate(p, rootfd, e)) < 0)
        return r;
    *ret = TAKE_PTR(p);
    return 0;
}

const struct manifest *package_manifest(const struct package *p) {
    return p->m;
}

const char *package_manifest_text(const struct package *p, size_t *ret_len) {
    *ret_len = p->manifest_len;
    return p->manifest_text;
}

const struct public_key *package_signer(const struct package *p) {
    return &p->signer;
}

int package_trust(const struct package *p) {
    return p->trust;
}

struct package *package_free(struct package *p) {
    if (p) {
        if (p->a)
            sym_archive_read_free(p->a);
        free(p->signature);
        free(p->manifest_text);
        manifest_free(p->m);
        free(p);
    }
    return NULL;
}

/* Extraction ---------------------------------------------------------------------------------- */

#define FOLDERS_MAX (PATH_BYTES_MAX / 2 + 1) /* the most folders a valid path can nest */

struct extract {
    struct package *p;
    int dirfd;
    /*
     * The folders of the previous entry, each open beneath the one before: payloads
     * are sorted, so the next entry usually shares most of them. folder[0] is dirfd
     * (not owned); end[i] is where folder i's path ends in the previous entry's path.
     */
    char parent[PATH_BYTES_MAX + 1];
    int folder[FOLDERS_MAX + 1];
    size_t end[FOLDERS_MAX + 1], depth;
    bool *seen, *elf;
    size_t next; /* entries must come in manifest order */
    struct sink *sink;
    struct err *e;
};

static const char *type_name(mode_t type) {
    switch (type) {
    case AE_IFDIR: return "a folder";
    case AE_IFCHR:
    case AE_IFBLK: return "a device node";
    case AE_IFIFO: return "a fifo";
    case AE_IFSOCK: return "a socket";
    default: return "of an unknown type";
    }
}

/* The folder that will hold path, beneath dirfd, made as needed without following a symlink; *base is the last name. */
static int parent_of(struct extract *x, const char *path, const char **base) {
    const char *slash = strrchr(path, '/');
    size_t n = slash ? (size_t)(slash - path) : 0;
    *base = slash ? slash + 1 : path;

    /* Keep the open folders this path shares with the previous one. */
    while (x->depth > 0 && !(x->end[x->depth] <= n && memcmp(x->parent, path, x->end[x->depth]) == 0 &&
                             (x->end[x->depth] == n || path[x->end[x->depth]] == '/')))
        close(x->folder[x->depth--]);
    for (size_t at = x->end[x->depth]; at < n;) {
        char name[PATH_BYTES_MAX + 1];
        at += x->depth > 0; /* the '/' after the previous folder */
        size_t k = strcspn(path + at, "/");
        if (k > n - at)
            k = n - at;
        memcpy(name, path + at, k);
        name[k] = '\0';
        int top = x->folder[x->depth];
        int fd = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 && errno == ENOENT && mkdirat(top, name, 0755) == 0)
            fd = openat(top, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        if (fd < 0 || x->depth == FOLDERS_MAX) {
            int r = fd < 0 ? -errno : -ENAMETOOLONG;
            if (fd >= 0)
                close(fd);
            return err_set(x->e, r, "%s: cannot create its folder: %s", path, strerror(-r));
        }
        at += k;
        x->folder[++x->depth] = fd;
        x->end[x->depth] = at;
    }
    memcpy(x->parent, path, n);
    x->parent[n] = '\0';
    return x->folder[x->depth];
}

static int extract_regular(struct extract *x, const struct manifest_file *f, size_t index) {
    uint8_t head[4];
    uint64_t total = 0;
    int fd = -1, r;

    if (x->dirfd >= 0) {
        const char *base;
        int parent = parent_of(x, f->path, &base);
        if (parent < 0)
            return parent;
        fd = openat(parent, base, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, f->mode);
        if (fd < 0 || fchmod(fd, f->mode) < 0) {
            r = err_set(x->e, -errno, "%s: %m", f->path);
            if (fd >= 0)
                close(fd);
            return r;
        }
    }
    /* From here the sink owns fd, and checks the hash once the last block is in. */
    if ((r = sink_begin(x->sink, f, fd)) < 0)
        return r;
    for (;;) {
        const void *buf;
        size_t len;
        la_int64_t offset;
        int k = sym_archive_read_data_block(x->p->a, &buf, &len, &offset);
        if (k == ARCHIVE_EOF)
            break;
        if (k != ARCHIVE_OK)
            return archive_fail(x->p->a, x->e);
        if (offset < 0 || (uint64_t)offset != total)
            return err_set(x->e, -E_MALFORMED, "%s: sparse entries are not allowed", f->path);
        if (len > f->size - total) /* stop at the signed size: decompression bombs end here */
            return err_set(x->e, -E_MALFORMED, "%s: larger than the manifest says (%llu bytes)", f->path,
                           (unsigned long long)f->size);
        if (total < 4)
            memcpy(head + total, buf, len < 4 - total ? len : 4 - total);
        total += len;
        if ((r = sink_write(x->sink, buf, len)) < 0)
            return r;
    }
    if (total != f->size)
        return err_set(x->e, -E_MALFORMED, "%s: %llu bytes, but the manifest says %llu", f->path,
                       (unsigned long long)total, (unsigned long long)f->size);
    x->elf[index] = is_elf(head, total < 4 ? total : 4);
    return sink_end(x->sink);
}

static int extract_symlink(struct extract *x, const struct manifest_file *f, struct archive_entry *ae) {
    const char *target = sym_archive_entry_symlink(ae);
    if (!target || strcmp(target, f->target) != 0)
        return err_set(x->e, -E_MALFORMED, "%s: link target differs from the manifest", f->path);
    if (x->dirfd < 0)
        return 0;
    const char *base;
    int parent = parent_of(x, f->path, &base);
    if (parent < 0)
        return parent;
    if (symlinkat(f->target, parent, base) < 0)
        return err_set(x->e, -errno, "%s: %m", f->path);
    return 0;
}

/* An entry name as the attacker wrote it, cut short and with control characters as '?': a refusal stays one line. */
static const char *shown(const char *name, char buf[static 201]) {
    size_t i = 0;
    for (; name[i] && i < 200; i++)
        buf[i] = (unsigned char)name[i] < 0x20 || name[i] == 0x7f ? '?' : name[i];
    buf[i] = '\0';
    return buf;
}

static int extract_entry(struct extract *x, struct archive_entry *ae) {
    const struct manifest *m = x->p->m;
    const char *name = sym_archive_entry_pathname(ae);
    char buf[201];
    if (!name || strncmp(name, PAYLOAD_PREFIX, strlen(PAYLOAD_PREFIX)) != 0)
        return err_set(x->e, -E_MALFORMED, "unexpected entry '%s' outside files/", shown(name ? name : "", buf));
    const char *path = name + strlen(PAYLOAD_PREFIX);
    const struct manifest_file *f = manifest_find(m, path);
    if (!f)
        return err_set(x->e, -E_MALFORMED, "%s is not in the manifest", shown(path, buf));
    size_t index = (size_t)(f - m->files);
    if (x->seen[index])
        return err_set(x->e, -E_MALFORMED, "%s appears twice", path);
    if (index < x->next)
        return err_set(x->e, -E_MALFORMED, "%s is out of order", path);
    x->seen[index] = true;
    x->next = index + 1;

    mode_t type = sym_archive_entry_filetype(ae), mode = sym_archive_entry_mode(ae) & 07777;
    if (sym_archive_entry_hardlink(ae))
        return err_set(x->e, -E_MALFORMED, "%s is a hard link; packages hold only files and symlinks", path);
    if (type != AE_IFREG && type != AE_IFLNK)
        return err_set(x->e, -E_MALFORMED, "%s is %s; packages hold only files and symlinks", path, type_name(type));
    if (mode & 07000)
        return err_set(x->e, -E_MALFORMED, "%s has a setuid, setgid or sticky bit", path);
    if ((type == AE_IFLNK) != (f->type == FILE_SYMLINK))
        return err_set(x->e, -E_MALFORMED, "%s: type differs from the manifest", path);
    if (type == AE_IFLNK)
        return extract_symlink(x, f, ae);
    if ((mode & 0777) != f->mode)
        return err_set(x->e, -E_MALFORMED, "%s: mode %04o differs from the manifest's %04o", path, (unsigned)mode,
                       (unsigned)f->mode);
    if (!sym_archive_entry_size_is_set(ae) || sym_archive_entry_size(ae) < 0 || (uint64_t)sym_archive_entry_size(ae) != f->size)
        return err_set(x->e, -E_MALFORMED, "%s: size differs from the manifest", path);
    return extract_regular(x, f, index);
}

int package_extract(struct package *p, int dirfd, bool **ret_elf, struct err *e) {
    const struct manifest *m = p->m;
    struct extract x = {.p = p, .dirfd = dirfd, .folder = {dirfd}, .e = e};
    int r = 0;

    if (!m)
        return err_set(e, -EINVAL, "package manifest not parsed");
    x.seen = calloc(m->n_files + 1, sizeof *x.seen);
    x.elf = calloc(m->n_files + 1, sizeof *x.elf);
    if (!x.seen || !x.elf)
        r = err_set(e, -ENOMEM, "out of memory");
    if (r == 0)
        r = sink_new(&x.sink, e);
    while (r == 0) {
        struct archive_entry *ae;
        int k = sym_archive_read_next_header(p->a, &ae);
        if (k == ARCHIVE_EOF)
            break;
        r = k == ARCHIVE_OK ? extract_entry(&x, ae) : archive_fail(p->a, e);
    }
    for (size_t i = 0; r == 0 && i < m->n_files; i++)
        if (!x.seen[i])
            r = err_set(e, -E_MALFORMED, "%s is missing from the package", m->files[i].path);
    /* The sink's verdict covers entries before the reader's: it is the first failure in the stream. */
    struct err sink_err;
    if (x.sink && sink_finish(x.sink, &sink_err) < 0) {
        if (e)
            *e = sink_err;
        r = sink_err.code;
    }
    sink_free(x.sink);
    while (x.depth > 0)
        close(x.folder[x.depth--]);
    free(x.seen);
    if (r < 0 || !ret_elf)
        free(x.elf);
    else
        *ret_elf = x.elf;
    return r;
}
