/* pack.c: building a signed, reproducible .slp from a developer's folder. */
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "descriptor.h"
#include "libarchive-dl.h"
#include "package.h"
#include "sodium-dl.h"
#include "util.h"

#define COPY_BLOCK (256 * 1024)

struct item {
    char *path; /* relative to files/ */
    bool symlink;
    mode_t mode;
    uint64_t size;
    char *target;
    char hash[65];
};

struct tree {
    struct item *items;
    size_t n, cap;
    const char *root; /* dir/files, for messages */
    struct err *e;
    char *buf; /* COPY_BLOCK bytes, for reading files */
};

static void tree_free(struct tree *t) {
    for (size_t i = 0; i < t->n; i++) {
        free(t->items[i].path);
        free(t->items[i].target);
    }
    free(t->items);
    free(t->buf);
}

static int tree_add(struct tree *t, const char *path, int dirfd, const char *name, const struct stat *st) {
    if (t->n == MANIFEST_FILES_MAX)
        return err_set(t->e, -E_MALFORMED, "%s: more than %d files", t->root, MANIFEST_FILES_MAX);
    if (t->n == t->cap) {
        size_t cap = t->cap ? 2 * t->cap : 256;
        struct item *items = reallocarray(t->items, cap, sizeof *items);
        if (!items)
            return err_set(t->e, -ENOMEM, "out of memory");
        t->items = items;
        t->cap = cap;
    }
    struct item it = {.symlink = S_ISLNK(st->st_mode), .size = (uint64_t)st->st_size};
    /* Modes are normalised so that the package does not depend on the packer's umask. */
    it.mode = st->st_mode & 0111 ? 0755 : 0644;
    if (!(it.path = strdup(path)))
        return err_set(t->e, -ENOMEM, "out of memory");
    if (it.symlink) {
        char target[PATH_BYTES_MAX + 2];
        ssize_t n = readlinkat(dirfd, name, target, sizeof target - 1);
        if (n < 0 || n > PATH_BYTES_MAX) {
            free(it.path);
            return err_set(t->e, n < 0 ? -errno : -E_MALFORMED, "%s/%s: cannot read the link", t->root, path);
        }
        target[n] = '\0';
        if (!symlink_stays_inside(path, target)) {
            free(it.path);
            return err_set(t->e, -E_MALFORMED, "%s/%s: symlink to '%s' leaves the package", t->root, path, target);
        }
        it.target = strdup(target);
    }
    t->items[t->n++] = it;
    return 0;
}

static int walk(struct tree *t, int fd, const char *prefix) {
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return err_set(t->e, -errno, "%s/%s: %m", t->root, prefix);
    }
    int r = 0;
    for (struct dirent *de; r == 0 && (errno = 0, de = readdir(d));) {
        char path[PATH_BYTES_MAX + 2];
        struct stat st;
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        if (snprintf(path, sizeof path, "%s%s%s", prefix, *prefix ? "/" : "", de->d_name) >= (int)sizeof path ||
            !path_is_valid(path)) {
            r = err_set(t->e, -E_MALFORMED, "%s/%s%s%s: not a valid package path (use letters, digits and ._-+@,:~%%)",
                        t->root, prefix, *prefix ? "/" : "", de->d_name);
            break;
        }
        if (fstatat(dirfd(d), de->d_name, &st, AT_SYMLINK_NOFOLLOW) < 0) {
            r = err_set(t->e, -errno, "%s/%s: %m", t->root, path);
            break;
        }
        if (S_ISDIR(st.st_mode)) {
            int sub = openat(dirfd(d), de->d_name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
            r = sub < 0 ? err_set(t->e, -errno, "%s/%s: %m", t->root, path) : walk(t, sub, path);
        } else if (S_ISREG(st.st_mode) || S_ISLNK(st.st_mode)) {
            if (st.st_mode & 07000)
                r = err_set(t->e, -E_MALFORMED, "%s/%s: setuid, setgid or sticky bits cannot be packed", t->root, path);
            else
                r = tree_add(t, path, dirfd(d), de->d_name, &st);
        } else
            r = err_set(t->e, -E_MALFORMED, "%s/%s: only files, folders and symlinks can be packed", t->root, path);
    }
    if (r == 0 && errno)
        r = err_set(t->e, -errno, "%s/%s: %m", t->root, prefix);
    closedir(d);
    return r;
}

static int item_cmp(const void *a, const void *b) {
    return strcmp(((const struct item *)a)->path, ((const struct item *)b)->path);
}

/* Calls fn for each block of the file; used both to hash and to copy into the archive. */
static int for_each_block(const struct tree *t, int filesfd, const struct item *it, uint64_t *ret_size,
                          int (*fn)(void *ud, const void *buf, size_t len), void *ud, struct err *e) {
    char *buf = t->buf;
    int fd = openat(filesfd, it->path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %m", it->path);
    uint64_t total = 0;
    int r = 0;
    for (;;) {
        ssize_t n = read(fd, buf, COPY_BLOCK);
        if (n < 0 && errno == EINTR)
            continue;
        if (n < 0) {
            r = err_set(e, -errno, "%s: %m", it->path);
            break;
        }
        if (n == 0)
            break;
        total += (uint64_t)n;
        if ((r = fn(ud, buf, (size_t)n)) < 0) {
            r = err_set(e, r, "%s: %s", it->path, strerror(-r));
            break;
        }
    }
    close(fd);
    if (r == 0)
        *ret_size = total;
    return r;
}

static int hash_block(void *ud, const void *buf, size_t len) {
    sym_crypto_generichash_update(ud, buf, len);
    return 0;
}

static int hash_items(struct tree *t, int filesfd) {
    for (size_t i = 0; i < t->n; i++) {
        struct item *it = &t->items[i];
        crypto_generichash_state h;
        uint8_t digest[32];
        if (it->symlink)
            continue;
        sym_crypto_generichash_init(&h, NULL, 0, sizeof digest);
        int r = for_each_block(t, filesfd, it, &it->size, hash_block, &h, t->e);
        if (r < 0)
            return r;
        if (it->size > FILE_SIZE_MAX)
            return err_set(t->e, -E_MALFORMED, "%s: larger than a package file may be", it->path);
        sym_crypto_generichash_final(&h, digest, sizeof digest);
        hex_encode(digest, sizeof digest, it->hash);
    }
    return 0;
}

/* The developer's manifest, then the [files] section. */
static char *build_manifest(const char *source, size_t len, const struct tree *t, size_t *ret_len) {
    char *buf = NULL;
    size_t size = 0;
    FILE *f = open_memstream(&buf, &size);
    if (!f)
        return NULL;
    fwrite(source, 1, len, f);
    if (len > 0 && source[len - 1] != '\n')
        fputc('\n', f);
    fputs("\n[files]\n", f);
    for (size_t i = 0; i < t->n; i++) {
        const struct item *it = &t->items[i];
        if (it->symlink)
            fprintf(f, "%s = symlink %s\n", it->path, it->target);
        else
            fprintf(f, "%s = %s %llu %04o\n", it->path, it->hash, (unsigned long long)it->size, (unsigned)it->mode);
    }
    if (fclose(f) != 0) {
        free(buf);
        return NULL;
    }
    *ret_len = size;
    return buf;
}

static struct archive_entry *new_entry(const char *name, mode_t type, mode_t perm, uint64_t size) {
    struct archive_entry *ae = sym_archive_entry_new();
    if (!ae)
        return NULL;
    sym_archive_entry_set_pathname(ae, name);
    sym_archive_entry_set_filetype(ae, type);
    sym_archive_entry_set_perm(ae, perm);
    sym_archive_entry_set_size(ae, (la_int64_t)size);
    sym_archive_entry_set_uid(ae, 0);
    sym_archive_entry_set_gid(ae, 0);
    sym_archive_entry_set_mtime(ae, 0, 0);
    return ae;
}

static int write_blob(struct archive *a, const char *name, const void *data, size_t len, struct err *e) {
    struct archive_entry *ae = new_entry(name, AE_IFREG, 0644, len);
    if (!ae)
        return err_set(e, -ENOMEM, "out of memory");
    int r = sym_archive_write_header(a, ae) == ARCHIVE_OK && sym_archive_write_data(a, data, len) == (la_ssize_t)len
                ? 0
                : err_set(e, -EIO, "writing %s: %s", name, sym_archive_error_string(a));
    sym_archive_entry_free(ae);
    return r;
}

static int copy_block(void *ud, const void *buf, size_t len) {
    return sym_archive_write_data(ud, buf, len) == (la_ssize_t)len ? 0 : -EIO;
}

static int write_items(struct archive *a, int filesfd, const struct tree *t, struct err *e) {
    for (size_t i = 0; i < t->n; i++) {
        const struct item *it = &t->items[i];
        char name[PATH_BYTES_MAX + sizeof "files/"];
        uint64_t size = 0;
        snprintf(name, sizeof name, "files/%s", it->path);
        struct archive_entry *ae = new_entry(name, it->symlink ? AE_IFLNK : AE_IFREG, it->symlink ? 0777 : it->mode,
                                             it->symlink ? 0 : it->size);
        if (!ae)
            return err_set(e, -ENOMEM, "out of memory");
        if (it->symlink)
            sym_archive_entry_set_symlink(ae, it->target);
        int r = sym_archive_write_header(a, ae) == ARCHIVE_OK ? 0 : err_set(e, -EIO, "%s: %s", name, sym_archive_error_string(a));
        sym_archive_entry_free(ae);
        if (r == 0 && !it->symlink)
            r = for_each_block(t, filesfd, it, &size, copy_block, a, e);
        if (r == 0 && !it->symlink && size != it->size)
            r = err_set(e, -EAGAIN, "%s changed while it was being packed", it->path);
        if (r < 0)
            return r;
    }
    return 0;
}

static int write_archive(int fd, const char *sig, size_t sig_len, const char *manifest, size_t manifest_len,
                         int filesfd, const struct tree *t, struct err *e) {
    int r = dlopen_libarchive(e);
    if (r < 0)
        return r;
    struct archive *a = sym_archive_write_new();
    if (!a)
        return err_set(e, -ENOMEM, "out of memory");
    if (sym_archive_write_set_format_pax_restricted(a) != ARCHIVE_OK || sym_archive_write_add_filter_zstd(a) != ARCHIVE_OK ||
        sym_archive_write_set_bytes_in_last_block(a, 1) != ARCHIVE_OK || sym_archive_write_open_fd(a, fd) != ARCHIVE_OK)
        r = err_set(e, -EIO, "cannot write the package: %s", sym_archive_error_string(a));
    if (r == 0)
        r = write_blob(a, "SIGNATURE", sig, sig_len, e);
    if (r == 0)
        r = write_blob(a, "manifest", manifest, manifest_len, e);
    if (r == 0)
        r = write_items(a, filesfd, t, e);
    if (sym_archive_write_close(a) != ARCHIVE_OK && r == 0)
        r = err_set(e, -EIO, "cannot write the package: %s", sym_archive_error_string(a));
    sym_archive_write_free(a);
    return r;
}

static int write_output(const char *out, const char *sig, size_t sig_len, const char *manifest, size_t manifest_len,
                        int filesfd, const struct tree *t, struct err *e) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", out, (int)getpid()) >= (int)sizeof tmp)
        return err_set(e, -ENAMETOOLONG, "%s: path too long", out);
    int fd = open(tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0644);
    if (fd < 0)
        return err_set(e, -errno, "%s: %m", tmp);
    int r = write_archive(fd, sig, sig_len, manifest, manifest_len, filesfd, t, e);
    if (r == 0 && fsync(fd) < 0)
        r = err_set(e, -errno, "%s: %m", tmp);
    if (close(fd) < 0 && r == 0)
        r = err_set(e, -errno, "%s: %m", tmp);
    if (r == 0 && rename(tmp, out) < 0)
        r = err_set(e, -errno, "%s: %m", out);
    if (r < 0)
        unlink(tmp);
    return r;
}

int package_pack(const char *dir, const struct secret_key *key, const char *out, struct err *e) {
    char path[PATH_MAX], sig[SIGNATURE_MAX];
    _cleanup_free_ char *source = NULL, *manifest = NULL;
    _cleanup_manifest_ struct manifest *m = NULL;
    _cleanup_close_ int filesfd = -1;
    __attribute__((cleanup(tree_free))) struct tree t = {.root = path, .e = e};
    size_t source_len, manifest_len = 0;
    if (keys_init(e) < 0)
        return -ELIBACC;
    /* On the heap, once: as static thread-local storage, every start of slate zeroed it. */
    if (!(t.buf = malloc(COPY_BLOCK)))
        return err_set(e, -ENOMEM, "out of memory");
    int r;

    snprintf(path, sizeof path, "%s/manifest", dir);
    if ((r = read_file_at(AT_FDCWD, path, MANIFEST_MAX, &source, &source_len)) < 0)
        return err_set(e, r, "%s: %s", path, strerror(-r));
    if ((r = manifest_parse(source, source_len, MANIFEST_SOURCE, &m, e)) < 0)
        return err_prefix(e, r, "%s", path);
    snprintf(path, sizeof path, "%s/files", dir);
    if ((filesfd = open(path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        return err_set(e, -errno, "%s: %m", path);
    if ((r = walk(&t, fcntl(filesfd, F_DUPFD_CLOEXEC, 3), "")) < 0 || (r = hash_items(&t, filesfd)) < 0)
        return r;
    if (t.n)
        qsort(t.items, t.n, sizeof *t.items, item_cmp);
    if (!(manifest = build_manifest(source, source_len, &t, &manifest_len)))
        return err_set(e, -ENOMEM, "out of memory");
    /* The manifest as packed must pass the same checks a device applies. */
    m = manifest_free(m);
    if ((r = manifest_parse(manifest, manifest_len, 0, &m, e)) < 0)
        return err_prefix(e, r, "%s", dir);
    int n = signature_format(key, manifest, manifest_len, sig, sizeof sig);
    if (n < 0)
        return err_set(e, n, "signature too long");
    return write_output(out, sig, (size_t)n, manifest, manifest_len, filesfd, &t, e);
}
