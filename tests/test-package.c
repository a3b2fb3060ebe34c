/* test-package.c: packing and reading .slp files in process: round trip, reproducibility, what pack refuses. */
#include "helpers.h"

#include <fcntl.h>
#include <string.h>
#include <sys/stat.h>
#include <utime.h>

#include "package.h"
#include "util.h"

struct fixture {
    struct test_device dev;
    char *src;
    struct secret_key key;
};

static int setup(void **state) {
    struct fixture *f = calloc(1, sizeof *f);
    struct err e = {0};
    test_device_new(&f->dev, 2, 1);
    char *m = test_manifest("org.example.pkg", "1.0.0", 1, "app");
    f->src = test_app_source(f->dev.dir, "src", m, 1);
    free(m);
    char *p = test_fmt("%s/files/share/doc", f->src);
    assert_int_equal(mkdir_parents_at(AT_FDCWD, p), 0);
    free(p);
    p = test_fmt("%s/files/share/doc/readme.txt", f->src);
    test_write(p, "read me\n", 8, 0600);
    free(p);
    p = test_fmt("%s/files/share/readme", f->src);
    assert_int_equal(symlink("doc/readme.txt", p), 0);
    free(p);
    assert_int_equal(keys_init(NULL), 0);
    if (secret_key_load(f->dev.app_key, &f->key, &e) < 0)
        fail_msg("%s", e.msg);
    *state = f;
    return 0;
}

static int teardown(void **state) {
    struct fixture *f = *state;
    test_device_free(&f->dev);
    free(f->src);
    free(f);
    return 0;
}

static char *pack(struct fixture *f, const char *name) {
    struct err e = {0};
    char *out = test_fmt("%s/%s", f->dev.dir, name);
    if (package_pack(f->src, &f->key, out, &e) < 0)
        fail_msg("pack: %s", e.msg);
    return out;
}

static void test_round_trip(void **state) {
    struct fixture *f = *state;
    char *slp = pack(f, "a.slp");
    int fd = open(slp, O_RDONLY), rootfd = open(f->dev.root, O_RDONLY | O_DIRECTORY);
    struct package *p = NULL;
    struct err e = {0};
    if (package_open(fd, rootfd, &p, &e) < 0)
        fail_msg("open: %s", e.msg);
    const struct manifest *m = package_manifest(p);
    assert_string_equal(m->id, "org.example.pkg");
    assert_int_equal(m->n_files, 3);
    /* modes are normalised: 0600 in the source becomes 0644 */
    assert_int_equal(manifest_find(m, "share/doc/readme.txt")->mode, 0644);
    assert_int_equal(manifest_find(m, "bin/hello")->mode, 0755);
    assert_int_equal(manifest_find(m, "share/readme")->type, FILE_SYMLINK);

    char *out = test_tmpdir("extract");
    int outfd = open(out, O_RDONLY | O_DIRECTORY);
    bool *elf = NULL;
    if (package_extract(p, outfd, &elf, &e) < 0)
        fail_msg("extract: %s", e.msg);
    size_t n = (size_t)(manifest_find(m, "bin/hello") - m->files);
    assert_true(elf[n]);
    char *path = test_fmt("%s/share/readme", out);
    char *text = test_read(path, NULL); /* through the symlink */
    assert_string_equal(text, "read me\n");
    struct stat st;
    assert_int_equal(lstat(path, &st), 0);
    assert_true(S_ISLNK(st.st_mode));
    free(text);
    free(path);
    free(elf);
    package_free(p);
    close(outfd);
    close(fd);
    close(rootfd);
    test_rmtree(out);
    free(out);
    free(slp);
}

/* The same input gives the same bytes, whatever the files' times or the packer's umask. */
static void test_reproducible(void **state) {
    struct fixture *f = *state;
    char *a = pack(f, "r1.slp");
    char *doc = test_fmt("%s/files/share/doc/readme.txt", f->src);
    struct utimbuf times = {.actime = 12345, .modtime = 67890};
    assert_int_equal(utime(doc, &times), 0);
    mode_t old = umask(077);
    char *b = pack(f, "r2.slp");
    umask(old);
    size_t la, lb;
    char *da = test_read(a, &la), *db = test_read(b, &lb);
    assert_int_equal(la, lb);
    assert_memory_equal(da, db, la);
    free(da);
    free(db);
    free(doc);
    free(a);
    free(b);
}

static void pack_refused(struct fixture *f, const char *why) {
    struct err e = {0};
    char *out = test_fmt("%s/refused.slp", f->dev.dir);
    assert_true(package_pack(f->src, &f->key, out, &e) < 0);
    if (!strstr(e.msg, why))
        fail_msg("message '%s' does not say '%s'", e.msg, why);
    assert_false(test_exists(out));
    free(out);
}

static void test_pack_refusals(void **state) {
    struct fixture *f = *state;
    char *p = test_fmt("%s/files/evil", f->src);
    assert_int_equal(symlink("../../outside", p), 0);
    pack_refused(f, "leaves the package");
    unlink(p);
    assert_int_equal(mkfifo(p, 0644), 0);
    pack_refused(f, "only files, folders and symlinks");
    unlink(p);
    test_write(p, "x", 1, 04755);
    pack_refused(f, "setuid");
    unlink(p);
    free(p);
    p = test_fmt("%s/files/has space", f->src);
    test_write(p, "x", 1, 0644);
    pack_refused(f, "not a valid package path");
    unlink(p);
    free(p);
    char *manifest = test_fmt("%s/manifest", f->src);
    size_t len;
    char *orig = test_read(manifest, &len);
    char *with_files = test_fmt("%s\n[files]\n", orig);
    test_write(manifest, with_files, strlen(with_files), 0644);
    pack_refused(f, "written by 'slate pack'");
    test_write(manifest, orig, len, 0644);
    free(with_files);
    free(orig);
    free(manifest);
}

static void test_unverified_signature_is_refused(void **state) {
    struct fixture *f = *state;
    char *slp = pack(f, "sig.slp");
    struct test_device other;
    test_device_new(&other, 2, 1); /* trusts different keys */
    int fd = open(slp, O_RDONLY), rootfd = open(other.root, O_RDONLY | O_DIRECTORY);
    struct package *p = NULL;
    struct err e = {0};
    assert_int_equal(package_open(fd, rootfd, &p, &e), -E_UNTRUSTED);
    assert_non_null(strstr(e.msg, "does not trust"));
    assert_null(p);
    close(fd);
    close(rootfd);
    test_device_free(&other);
    free(slp);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_round_trip),
        cmocka_unit_test(test_reproducible),
        cmocka_unit_test(test_pack_refusals),
        cmocka_unit_test(test_unverified_signature_is_refused),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
