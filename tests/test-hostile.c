/* test-hostile.c: an attacker with a signed package and a hex editor: every bad input is refused cleanly. */
#include "helpers.h"

#include <archive.h>
#include <archive_entry.h>
#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#define ID "org.example.hostile"
#define LEVEL 2

/*
 * One device for the whole program: refusals change nothing, and the few tests that install
 * something remove it again. Crafted packages live in a folder of their own, outside the
 * device's folder, so that the snapshot of the device's folder sees anything that escapes
 * the root by a few "..".
 */
static struct {
    struct test_device d;
    char *pkgs;      /* crafted packages */
    char *outside;   /* an empty folder outside the device that symlink attacks aim at */
    char *rogue_key; /* a key the device does not trust */
    char *escape;    /* a file name that no attack may create anywhere */
    char *hello;     /* the example app for LEVEL */
    size_t hello_len;
    char *hello1; /* the example app for level 1 */
    size_t hello1_len;
    char *good; /* a package made by slate pack */
} T;

/* Snapshots ---------------------------------------------------------------------------------- */

static bool ignored(const char *rel) {
    static const char *const names[] = {"root/var/lib/slate/lock", "root/var/lib/slate/slate.db-wal",
                                        "root/var/lib/slate/slate.db-shm"};
    for (size_t i = 0; i < sizeof names / sizeof *names; i++)
        if (strcmp(rel, names[i]) == 0)
            return true;
    return false;
}

static int name_cmp(const void *a, const void *b) {
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* One line per entry: path, type, permissions, size and content hash or link target. Times are left out. */
static void walk(FILE *m, const char *base, const char *rel) {
    char *dir = *rel ? test_fmt("%s/%s", base, rel) : strdup(base);
    DIR *d = opendir(dir);
    if (!d)
        fail_msg("opendir %s: %m", dir);
    char **names = NULL;
    size_t n = 0;
    for (struct dirent *de; (de = readdir(d));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        names = realloc(names, (n + 1) * sizeof *names);
        names[n++] = strdup(de->d_name);
    }
    closedir(d);
    if (n)
        qsort(names, n, sizeof *names, name_cmp);
    for (size_t i = 0; i < n; i++) {
        char *r = *rel ? test_fmt("%s/%s", rel, names[i]) : strdup(names[i]);
        char *full = test_fmt("%s/%s", base, r);
        struct stat st;
        if (lstat(full, &st) < 0)
            fail_msg("lstat %s: %m", full);
        if (!ignored(r)) {
            fprintf(m, "%s %o", r, (unsigned)st.st_mode);
            if (S_ISREG(st.st_mode)) {
                size_t len;
                char *data = test_read(full, &len), hash[65];
                test_hash(data, len, hash);
                fprintf(m, " %zu %s", len, hash);
                free(data);
            } else if (S_ISLNK(st.st_mode)) {
                char target[4096];
                ssize_t k = readlink(full, target, sizeof target - 1);
                target[k < 0 ? 0 : k] = '\0';
                fprintf(m, " -> %s", target);
            }
            fputc('\n', m);
            if (S_ISDIR(st.st_mode))
                walk(m, base, r);
        }
        free(full);
        free(r);
        free(names[i]);
    }
    free(names);
    free(dir);
}

struct state {
    char *tree, *list;
};

static char *list_json(void) {
    char *out = NULL, *err = NULL;
    int rc = run_slate(&out, &err, "--root", T.d.root, "list", "--json", NULL);
    if (rc != 0)
        fail_msg("slate list --json failed (%d): %s", rc, err);
    free(err);
    return out;
}

static struct state snapshot(void) {
    struct state s;
    size_t len;
    FILE *m = open_memstream(&s.tree, &len);
    walk(m, T.d.dir, "");
    fclose(m);
    s.list = list_json();
    return s;
}

static void state_free(struct state *s) {
    free(s->tree);
    free(s->list);
    *s = (struct state){0};
}

/* Fails naming the first line that differs. */
static void same_text(const char *what, const char *case_name, const char *a, const char *b) {
    if (strcmp(a, b) == 0)
        return;
    size_t i = 0, line = 0;
    for (; a[i] && a[i] == b[i]; i++)
        if (a[i] == '\n')
            line = i + 1;
    fail_msg("%s: %s changed; before: '%.*s' after: '%.*s'", case_name, what, (int)strcspn(a + line, "\n"), a + line,
             (int)strcspn(b + line, "\n"), b + line);
}

static void staging_empty(const char *case_name) {
    char *path = test_fmt("%s/var/lib/slate/staging", T.d.root);
    DIR *d = opendir(path);
    if (!d)
        fail_msg("%s: opendir %s: %m", case_name, path);
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            fail_msg("%s: staging is not empty: %s", case_name, de->d_name);
    closedir(d);
    free(path);
}

/* The places an escaping path could reach: none may hold the attack's file name. */
static void nothing_escaped(const char *case_name) {
    char *parent = strdup(T.d.dir);
    *strrchr(parent, '/') = '\0';
    const char *bases[] = {"/tmp", "/", "/etc", T.d.dir, parent, T.pkgs};
    for (size_t i = 0; i < sizeof bases / sizeof *bases; i++) {
        char *p = test_fmt("%s/%s", bases[i], T.escape);
        if (test_exists(p))
            fail_msg("%s: %s was created outside the device root", case_name, p);
        free(p);
    }
    free(parent);
    DIR *d = opendir(T.outside);
    if (!d)
        fail_msg("opendir %s: %m", T.outside);
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0)
            fail_msg("%s: %s/%s was created through a link", case_name, T.outside, de->d_name);
    closedir(d);
}

/* Running slate ------------------------------------------------------------------------------- */

static bool one_line(const char *err, const char *phrase) {
    size_t n = strlen(err);
    return n > 7 && err[n - 1] == '\n' && !memchr(err, '\n', n - 1) && strncmp(err, "slate: ", 7) == 0 &&
           strstr(err, phrase);
}

static void check_refusal(const char *case_name, const char *verb, int rc, const char *out, const char *err,
                          const char *phrase) {
    if (rc != 1 || !one_line(err, phrase) || *out)
        fail_msg("%s: slate %s: expected exit 1 and one line with '%s'; got exit %d, stderr '%s', stdout '%s'",
                 case_name, verb, phrase, rc, err, out);
}

/*
 * slate install must refuse the package with exit 1 and one line naming the cause, and leave
 * everything as it was; slate verify too, unless the cause is found only by the audit.
 */
static void refused_as(const char *case_name, const char *slp, const char *phrase, bool by_verify) {
    struct state before = snapshot(), after;
    char *out, *err;
    int rc = run_slate(&out, &err, "--root", T.d.root, "install", slp, NULL);
    check_refusal(case_name, "install", rc, out, err, phrase);
    if (getenv("HOSTILE_VERBOSE"))
        print_message("%s: %s", case_name, err);
    free(out);
    free(err);
    if (by_verify) {
        rc = run_slate(&out, &err, "--root", T.d.root, "verify", slp, NULL);
        check_refusal(case_name, "verify", rc, out, err, phrase);
        free(out);
        free(err);
    }
    after = snapshot();
    same_text("the device folder", case_name, before.tree, after.tree);
    same_text("slate list --json", case_name, before.list, after.list);
    staging_empty(case_name);
    nothing_escaped(case_name);
    state_free(&before);
    state_free(&after);
}

#define REFUSED(slp, phrase) refused_as(#slp, slp, phrase, true)
#define REFUSED_BY_AUDIT(slp, phrase) refused_as(#slp, slp, phrase, false)

/* The installed copy of id 1.0.0 holds exactly bin/hello with these bytes; then it is removed again. */
static void installed_then_remove(const char *case_name, const char *id, const void *hello, size_t len) {
    char *dir = test_fmt("%s/var/lib/slate/apps/%s/1.0.0", T.d.root, id);
    char *bin = test_fmt("%s/bin/hello", dir);
    struct stat st;
    size_t n;
    if (lstat(bin, &st) < 0 || !S_ISREG(st.st_mode) || (st.st_mode & 07777) != 0755)
        fail_msg("%s: %s is not an 0755 file", case_name, bin);
    char *data = test_read(bin, &n);
    if (n != len || memcmp(data, hello, len) != 0)
        fail_msg("%s: %s differs from what was packed", case_name, bin);
    free(data);
    struct state s = snapshot();
    char *want = test_fmt("\"id\": \"%s\", \"version\": \"1.0.0\"", id);
    if (!strstr(s.list, want))
        fail_msg("%s: slate list does not show %s 1.0.0: %s", case_name, id, s.list);
    char *prefix = test_fmt("root/var/lib/slate/apps/%s/1.0.0/", id);
    for (const char *line = s.tree; *line; line += strcspn(line, "\n") + 1)
        if (strncmp(line, prefix, strlen(prefix)) == 0 && strncmp(line + strlen(prefix), "bin ", 4) != 0 &&
            strncmp(line + strlen(prefix), "bin/hello ", 10) != 0)
            fail_msg("%s: unexpected installed file: %.*s", case_name, (int)strcspn(line, "\n"), line);
    staging_empty(case_name);
    char *err = NULL;
    int rc = run_slate(NULL, &err, "--root", T.d.root, "remove", id, NULL);
    if (rc != 0)
        fail_msg("%s: slate remove %s failed (%d): %s", case_name, id, rc, err);
    free(err);
    free(want);
    free(prefix);
    state_free(&s);
    free(bin);
    free(dir);
}

static void accepted(const char *case_name, const char *slp, const char *id, const void *hello, size_t len) {
    char *out, *err;
    int rc = run_slate(&out, &err, "--root", T.d.root, "install", slp, NULL);
    if (rc != 0)
        fail_msg("%s: expected the install to succeed; got exit %d: %s", case_name, rc, err);
    free(out);
    free(err);
    installed_then_remove(case_name, id, hello, len);
}

/* Crafting ------------------------------------------------------------------------------------ */

struct ent {
    const char *name;
    unsigned type, mode;
    int64_t size;
    const void *data;
    size_t len;
    const char *link;
};

#define REG(n, d, l, m)                                                                                                \
    { n, AE_IFREG, m, (int64_t)(l), d, l, NULL }
#define HELLO REG("files/bin/hello", T.hello, T.hello_len, 0755)
#define SYMLINK(n, t)                                                                                                  \
    { n, AE_IFLNK, 0777, 0, NULL, 0, t }
#define N(a) (sizeof a / sizeof *a)

static char *pkg(const char *name) {
    return test_fmt("%s/%s.slp", T.pkgs, name);
}

/* "path = HASH SIZE MODE" */
static char *fline(const char *path, const void *data, size_t len, unsigned mode) {
    char hash[65];
    test_hash(data, len, hash);
    return test_fmt("%s = %s %zu %04o\n", path, hash, len, mode);
}

static char *hello_line(void) {
    return fline("bin/hello", T.hello, T.hello_len, 0755);
}

static char *head(const char *class_) {
    return test_manifest(ID, "1.0.0", LEVEL, class_);
}

/* [package] and [app] of an app, then [files] with the given lines. */
static char *manifest_of(const char *files) {
    char *h = head("app"), *m = test_fmt("%s\n[files]\n%s", h, files);
    free(h);
    return m;
}

/* SIGNATURE by key over manifest, the manifest, then the given entries. */
static void write_pkg(const char *path, const char *key, const char *manifest, const struct ent *e, size_t n) {
    struct craft *c = craft_new(path, true);
    char *sig = craft_signature(key, manifest, strlen(manifest));
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", manifest, strlen(manifest), 0644);
    for (size_t i = 0; i < n; i++)
        craft_entry(c, e[i].name, e[i].type, e[i].mode, e[i].size, e[i].data, e[i].len, e[i].link);
    craft_close(c);
    free(sig);
}

/* A package signed with the trusted app key; the manifest lists files (plus nothing else). */
static char *make(const char *name, const char *files, const struct ent *e, size_t n) {
    char *path = pkg(name), *m = manifest_of(files);
    write_pkg(path, T.d.app_key, m, e, n);
    free(m);
    return path;
}

/* A package of just bin/hello, with its manifest line. */
static char *make_hello(const char *name, const char *key, const char *manifest) {
    char *path = pkg(name);
    struct ent e[] = {HELLO};
    write_pkg(path, key, manifest, e, N(e));
    return path;
}

/* Whole-file helpers for the hex editor ------------------------------------------------------- */

static void write_bytes(const char *path, const void *data, size_t len) {
    test_write(path, data, len, 0644);
}

/* The tar inside a .slp. */
static char *decompress(const char *slp, size_t *ret_len) {
    struct archive *a = archive_read_new();
    struct archive_entry *ae;
    archive_read_support_filter_zstd(a);
    archive_read_support_format_raw(a);
    if (archive_read_open_filename(a, slp, 65536) != ARCHIVE_OK || archive_read_next_header(a, &ae) != ARCHIVE_OK)
        fail_msg("decompress %s: %s", slp, archive_error_string(a));
    char *buf = NULL;
    size_t len = 0;
    FILE *m = open_memstream(&buf, &len);
    char chunk[65536];
    la_ssize_t k;
    while ((k = archive_read_data(a, chunk, sizeof chunk)) > 0)
        fwrite(chunk, 1, (size_t)k, m);
    fclose(m);
    archive_read_free(a);
    *ret_len = len;
    return buf;
}

/* Bytes, zstd-compressed, as a .slp: what an attacker who edits the tar itself produces. */
static void compress_to(const char *path, const void *data, size_t len) {
    struct archive *a = archive_write_new();
    struct archive_entry *ae = archive_entry_new();
    archive_write_add_filter_zstd(a);
    archive_write_set_format_raw(a);
    archive_write_set_bytes_in_last_block(a, 1);
    if (archive_write_open_filename(a, path) != ARCHIVE_OK)
        fail_msg("compress %s: %s", path, archive_error_string(a));
    archive_entry_set_pathname(ae, "tar");
    archive_entry_set_filetype(ae, AE_IFREG);
    archive_entry_set_size(ae, (int64_t)len);
    if (archive_write_header(a, ae) != ARCHIVE_OK || archive_write_data(a, data, len) != (la_ssize_t)len)
        fail_msg("compress %s: %s", path, archive_error_string(a));
    archive_entry_free(ae);
    archive_write_close(a);
    archive_write_free(a);
}

/* A ustar header, by hand, for names that libarchive would not write. */
static void tar_header(uint8_t h[512], const char *name, size_t name_len, char type, unsigned mode, size_t size) {
    memset(h, 0, 512);
    memcpy(h, name, name_len > 100 ? 100 : name_len);
    snprintf((char *)h + 100, 8, "%07o", mode);
    snprintf((char *)h + 108, 8, "%07o", 0);
    snprintf((char *)h + 116, 8, "%07o", 0);
    snprintf((char *)h + 124, 12, "%011zo", size);
    snprintf((char *)h + 136, 12, "%011o", 0);
    h[156] = (uint8_t)type;
    memcpy(h + 257, "ustar", 6);
    memcpy(h + 263, "00", 2);
    memset(h + 148, ' ', 8);
    unsigned sum = 0;
    for (int i = 0; i < 512; i++)
        sum += h[i];
    snprintf((char *)h + 148, 8, "%06o", sum);
    h[155] = ' ';
}

static void tar_put(FILE *m, const char *name, size_t name_len, char type, unsigned mode, const void *data,
                    size_t len) {
    uint8_t h[512] = {0};
    tar_header(h, name, name_len, type, mode, len);
    fwrite(h, 1, 512, m);
    fwrite(data, 1, len, m);
    memset(h, 0, 512);
    fwrite(h, 1, (512 - len % 512) % 512, m);
}

/* Tests: the control ------------------------------------------------------------------------- */

/* The crafting itself is sound: the plain crafted package installs, so each refusal below is the attack's doing. */
static void test_control(void **state) {
    (void)state;
    char *files = hello_line(), *m = manifest_of(files);
    char *p = make_hello("control", T.d.app_key, m);
    accepted("crafted control package", p, ID, T.hello, T.hello_len);
    accepted("slate pack output", T.good, "org.example.good", T.hello, T.hello_len);
    free(files);
    free(m);
    free(p);
}

/* Tests: signatures -------------------------------------------------------------------------- */

static void test_signature(void **state) {
    (void)state;
    char *files = hello_line(), *m = manifest_of(files);
    char *sig = craft_signature(T.d.app_key, m, strlen(m));
    struct craft *c;

    /* No SIGNATURE at all: the manifest comes first. */
    char *no_sig = pkg("no-sig");
    c = craft_new(no_sig, true);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(no_sig, "SIGNATURE must come first");

    /* A SIGNATURE with nothing in it, and one of binary noise. */
    char *empty_sig = pkg("empty-sig");
    c = craft_new(empty_sig, true);
    craft_file(c, "SIGNATURE", "", 0, 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(empty_sig, "not an ed25519 signature");

    char noise[200];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)(i * 97 + 13);
    char *noise_sig = pkg("noise-sig");
    c = craft_new(noise_sig, true);
    craft_file(c, "SIGNATURE", noise, sizeof noise, 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(noise_sig, "SIGNATURE");

    /* Hex edits of the SIGNATURE text. */
    struct {
        const char *name, *find, *replace, *phrase;
    } edits[] = {
        {"sig-value-flipped", "value = ", NULL, "bad signature"},
        {"sig-value-upper", "value = ", "", "malformed signature value"},
        {"sig-algorithm", "ed25519", "ed25518", "not an ed25519 signature"},
        {"sig-key-upper", "key = ", "", "malformed key id"},
        {"sig-key-unknown", "key = ", "0123456789abcdef", "does not trust"},
    };
    for (size_t i = 0; i < N(edits); i++) {
        char *s = strdup(sig), *at = strstr(s, edits[i].find) + strlen(edits[i].find);
        if (strcmp(edits[i].find, "value = ") == 0 && !edits[i].replace)
            at[10] = at[10] == '0' ? '1' : '0';
        else if (edits[i].replace && *edits[i].replace)
            memcpy(strcmp(edits[i].find, "ed25519") == 0 ? at - strlen(edits[i].find) : at, edits[i].replace,
                   strlen(edits[i].replace));
        else
            for (char *x = at; *x != '\n'; x++)
                if (*x >= 'a' && *x <= 'f')
                    *x = (char)(*x - 'a' + 'A');
        char *p = pkg(edits[i].name);
        c = craft_new(p, true);
        craft_file(c, "SIGNATURE", s, strlen(s), 0644);
        craft_file(c, "manifest", m, strlen(m), 0644);
        craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
        craft_close(c);
        refused_as(edits[i].name, p, edits[i].phrase, true);
        free(p);
        free(s);
    }

    /* Signed by a key the device has never heard of. */
    char *rogue = make_hello("rogue", T.rogue_key, m);
    REFUSED(rogue, "does not trust");

    /* A good signature by a trusted key, but over another manifest (replayed from another package). */
    char *m2 = test_fmt("%s# another package\n", m), *sig2 = craft_signature(T.d.app_key, m2, strlen(m2));
    char *replay = pkg("replay");
    c = craft_new(replay, true);
    craft_file(c, "SIGNATURE", sig2, strlen(sig2), 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(replay, "bad signature");

    /* The manifest edited after signing: a version bump, and an extra permission. */
    char *bumped = strdup(m);
    strstr(bumped, "1.0.0")[0] = '9';
    char *edited = pkg("edited");
    c = craft_new(edited, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", bumped, strlen(bumped), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(edited, "bad signature");

    /* SIGNATURE that is a symlink, a hard link, or far larger than any signature. */
    char *sig_link = pkg("sig-symlink");
    c = craft_new(sig_link, true);
    craft_entry(c, "SIGNATURE", AE_IFLNK, 0777, 0, NULL, 0, "/etc/passwd");
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(sig_link, "SIGNATURE is not a plain file");

    size_t big_len = 1 << 20;
    char *big = calloc(1, big_len);
    memcpy(big, sig, strlen(sig));
    char *sig_big = pkg("sig-big");
    c = craft_new(sig_big, true);
    craft_file(c, "SIGNATURE", big, big_len, 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(sig_big, "SIGNATURE is larger than");

    /* Class system needs a system key: the app key is refused, the system key accepted. */
    char *hs = head("system"), *ms = test_fmt("%s\n[files]\n%s", hs, files);
    char *sys_by_app = make_hello("system-by-app", T.d.app_key, ms);
    REFUSED(sys_by_app, "trusted for apps only");
    char *sys_by_rogue = make_hello("system-by-rogue", T.rogue_key, ms);
    REFUSED(sys_by_rogue, "does not trust");
    char *sys_by_sys = make_hello("system-by-sys", T.d.sys_key, ms);
    accepted("class=system signed with the system key", sys_by_sys, ID, T.hello, T.hello_len);

    free(files), free(m), free(sig), free(no_sig), free(empty_sig), free(noise_sig), free(rogue), free(m2);
    free(sig2), free(replay), free(bumped), free(edited), free(sig_link), free(big), free(sig_big), free(hs);
    free(ms), free(sys_by_app), free(sys_by_rogue), free(sys_by_sys);
}

/* Tests: the archive's shape ----------------------------------------------------------------- */

static void test_layout(void **state) {
    (void)state;
    char *files = hello_line(), *m = manifest_of(files);
    char *sig = craft_signature(T.d.app_key, m, strlen(m));
    struct craft *c;

    /* manifest after the payload, and no manifest at all. */
    char *late = pkg("manifest-late");
    c = craft_new(late, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_close(c);
    REFUSED(late, "manifest must come right after SIGNATURE");

    char *two_sigs = pkg("two-signatures");
    c = craft_new(two_sigs, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(two_sigs, "manifest must come right after SIGNATURE");

    char *two_manifests = pkg("two-manifests");
    c = craft_new(two_manifests, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(two_manifests, "unexpected entry 'manifest' outside files/");

    char *only_sig = pkg("only-sig");
    c = craft_new(only_sig, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_close(c);
    REFUSED(only_sig, "manifest is missing");

    /* An archive with no entries, an empty file, and bytes that are no archive at all. */
    char *empty_tar = pkg("empty-archive");
    c = craft_new(empty_tar, true);
    craft_close(c);
    REFUSED(empty_tar, "SIGNATURE is missing");

    char *zero = pkg("zero-bytes");
    write_bytes(zero, "", 0);
    REFUSED(zero, "truncated or corrupt");

    char *junk = pkg("junk"), noise[4096];
    for (size_t i = 0; i < sizeof noise; i++)
        noise[i] = (char)((i * 2654435761u) >> 13);
    write_bytes(junk, noise, sizeof noise);
    REFUSED(junk, "truncated or corrupt");

    /* A plain tar that is otherwise perfect. */
    char *plain = pkg("uncompressed");
    c = craft_new(plain, false);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", m, strlen(m), 0644);
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(plain, "not zstd-compressed");

    /* The manifest as a link, and a manifest far larger than allowed. */
    char *m_link = pkg("manifest-hardlink");
    c = craft_new(m_link, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_entry(c, "manifest", AE_IFREG, 0644, 0, NULL, 0, "SIGNATURE");
    craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
    craft_close(c);
    REFUSED(m_link, "manifest is not a plain file");

    size_t big_len = (16u << 20) + 1;
    char *big = calloc(1, big_len);
    char *m_big = pkg("manifest-big");
    c = craft_new(m_big, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", big, big_len, 0644);
    craft_close(c);
    REFUSED(m_big, "manifest is larger than");

    free(files), free(m), free(sig), free(late), free(two_sigs), free(two_manifests), free(only_sig), free(empty_tar),
        free(zero), free(junk);
    free(plain), free(m_link), free(big), free(m_big);
}

/* Tests: payload entries against the manifest ----------------------------------------------- */

static void test_entries(void **state) {
    (void)state;
    const char data[] = "some data\n";
    char *h = hello_line(), *d = fline("data", data, sizeof data - 1, 0644);
    char *both = test_fmt("%s%s", h, d);
    char *p;

    {
        struct ent e[] = {HELLO, REG("files/extra", data, sizeof data - 1, 0644)};
        p = make("extra-at-end", h, e, N(e));
        REFUSED(p, "extra is not in the manifest");
        free(p);
    }
    {
        struct ent e[] = {REG("files/a-extra", data, sizeof data - 1, 0644), HELLO};
        p = make("extra-first", h, e, N(e));
        REFUSED(p, "a-extra is not in the manifest");
        free(p);
    }
    {
        struct ent e[] = {HELLO, REG("etc/passwd", data, sizeof data - 1, 0644)};
        p = make("outside-files", h, e, N(e));
        REFUSED(p, "outside files/");
        free(p);
    }
    {
        char *sig = craft_signature(T.d.app_key, "x", 1);
        struct ent e[] = {HELLO, REG("SIGNATURE", sig, strlen(sig), 0644)};
        p = make("second-signature", h, e, N(e));
        REFUSED(p, "outside files/");
        free(p);
        free(sig);
    }
    {
        struct ent e[] = {HELLO};
        p = make("missing", both, e, N(e));
        REFUSED(p, "data is missing from the package");
        free(p);
    }
    {
        struct ent e[] = {HELLO, HELLO};
        p = make("duplicate", h, e, N(e));
        REFUSED(p, "bin/hello appears twice");
        free(p);
    }
    {
        struct ent e[] = {REG("files/data", data, sizeof data - 1, 0644), HELLO};
        p = make("out-of-order", both, e, N(e));
        REFUSED(p, "bin/hello is out of order");
        free(p);
    }
    {
        /* Same size, one byte changed: the signature still holds, the hash does not. */
        char *swapped = malloc(T.hello_len);
        memcpy(swapped, T.hello, T.hello_len);
        swapped[T.hello_len / 2] ^= 0x55;
        struct ent e[] = {REG("files/bin/hello", swapped, T.hello_len, 0755)};
        p = make("payload-swapped", h, e, N(e));
        REFUSED(p, "bin/hello: content does not match the manifest's hash");
        free(p);
        free(swapped);
    }
    {
        /* Another binary of another size in its place. */
        struct ent e[] = {REG("files/bin/hello", T.hello1, T.hello1_len, 0755)};
        p = make("payload-other-size", h, e, N(e));
        REFUSED(p, "bin/hello: size differs from the manifest");
        free(p);
    }
    {
        struct ent e[] = {REG("files/bin/hello", T.hello, T.hello_len - 1, 0755)};
        p = make("payload-short", h, e, N(e));
        REFUSED(p, "bin/hello: size differs from the manifest");
        free(p);
    }
    {
        struct ent e[] = {REG("files/bin/hello", T.hello, T.hello_len, 0700)};
        p = make("mode-differs", h, e, N(e));
        REFUSED(p, "differs from the manifest's 0755");
        free(p);
    }
    {
        struct ent e[] = {HELLO, SYMLINK("files/data", "bin/hello")};
        p = make("type-differs", both, e, N(e));
        REFUSED(p, "data: type differs from the manifest");
        free(p);
    }
    free(h), free(d), free(both);
}

/* Tests: paths ------------------------------------------------------------------------------- */

static void test_paths(void **state) {
    (void)state;
    const char data[] = "pwned\n";
    char *h = hello_line(), *p;
    char *abs = test_fmt("/tmp/%s", T.escape), *up = test_fmt("../../../../../../%s", T.escape);
    char *up_far = test_fmt("../../../../../../../../../../../../../../tmp/%s", T.escape);

    /* In the tar only: absolute and climbing entry names. */
    const char *names[] = {abs, NULL, NULL, NULL, NULL};
    names[1] = test_fmt("files/%s", abs);
    names[2] = test_fmt("files/%s", up);
    names[3] = test_fmt("files/bin/%s", up_far);
    names[4] = test_fmt("files/./%s", T.escape);
    const char *phrases[] = {"outside files/", "not in the manifest", "not in the manifest", "not in the manifest",
                             "not in the manifest"};
    for (size_t i = 0; i < N(names); i++) {
        struct ent e[] = {HELLO, REG(names[i], data, sizeof data - 1, 0644)};
        char *name = test_fmt("tar-path-%zu", i);
        p = make(name, h, e, N(e));
        refused_as(names[i], p, phrases[i], true);
        free(p);
        free(name);
    }

    /* In the signed manifest: the same paths, signed and matching the tar. */
    const char *mpaths[] = {abs, up, up_far, "bin/../../x", "./bin/x", "bin//x", "bin/x/", "bin/."};
    for (size_t i = 0; i < N(mpaths); i++) {
        char *line = fline(mpaths[i], data, sizeof data - 1, 0644), *files = test_fmt("%s%s", line, h);
        char *entry = test_fmt("files/%s", mpaths[i]);
        struct ent e[] = {REG(entry, data, sizeof data - 1, 0644), HELLO};
        char *name = test_fmt("manifest-path-%zu", i);
        p = make(name, files, e, N(e));
        refused_as(mpaths[i], p, "is not a valid package path", true);
        free(p), free(name), free(entry), free(files), free(line);
    }

    /* Blanks and control characters in names. */
    {
        struct ent e[] = {HELLO, REG("files/bin/hel lo", data, sizeof data - 1, 0644)};
        p = make("tar-space", h, e, N(e));
        REFUSED(p, "not in the manifest");
        free(p);
    }
    {
        struct ent e[] = {HELLO, REG("files/evil\nslate: installed org.example.evil", data, sizeof data - 1, 0644)};
        p = make("tar-newline", h, e, N(e));
        REFUSED(p, "not in the manifest");
        free(p);
    }
    {
        struct ent e[] = {HELLO, REG("files/evil\tx\r\033[2J", data, sizeof data - 1, 0644)};
        p = make("tar-control", h, e, N(e));
        REFUSED(p, "not in the manifest");
        free(p);
    }
    {
        char *line = fline("bin/hel lo", data, sizeof data - 1, 0644), *files = test_fmt("%s%s", h, line);
        struct ent e[] = {HELLO, REG("files/bin/hel lo", data, sizeof data - 1, 0644)};
        p = make("manifest-space", files, e, N(e));
        REFUSED(p, "key has a character that is not allowed");
        free(p), free(files), free(line);
    }
    {
        char *line = fline("bin/x\ty", data, sizeof data - 1, 0644), *files = test_fmt("%s%s", h, line);
        struct ent e[] = {HELLO, REG("files/bin/x\ty", data, sizeof data - 1, 0644)};
        p = make("manifest-tab", files, e, N(e));
        REFUSED(p, "manifest");
        free(p), free(files), free(line);
    }
    {
        /* A NUL inside the name field of a hand-written tar header: readers stop at the NUL. */
        char *m = manifest_of(h), *sig = craft_signature(T.d.app_key, m, strlen(m));
        char *name = test_fmt("files/evil%c/../../../../../../%s", '\0', T.escape);
        size_t name_len = strlen("files/evil") + 1 + strlen(name + strlen("files/evil") + 1);
        char *tar = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&tar, &len);
        tar_put(f, "SIGNATURE", 9, '0', 0644, sig, strlen(sig));
        tar_put(f, "manifest", 8, '0', 0644, m, strlen(m));
        tar_put(f, "files/bin/hello", 15, '0', 0755, T.hello, T.hello_len);
        tar_put(f, name, name_len, '0', 0644, data, sizeof data - 1);
        static const uint8_t end[1024];
        fwrite(end, 1, sizeof end, f);
        fclose(f);
        p = pkg("tar-nul");
        compress_to(p, tar, len);
        REFUSED(p, "evil is not in the manifest");
        free(p), free(tar), free(name), free(sig), free(m);
    }
    free(h), free(abs), free(up), free(up_far);
    for (size_t i = 1; i < N(names); i++)
        free((char *)names[i]);
}

/* Tests: links and special files ------------------------------------------------------------- */

static void test_links(void **state) {
    (void)state;
    const char data[] = "pwned\n";
    char *h = hello_line(), *p;

    /* Signed symlinks that leave the package: refused before any byte is written. */
    const char *targets[][2] = {
        {"link", "/etc"},        {"link", ".."},
        {"link", "../../../.."}, {"share/link", "../../x"},
        {"link", "bin/../.."},   {"share/a/link", "../../../etc/passwd"},
        {"link", "/"},           {"link", ""},
    };
    for (size_t i = 0; i < N(targets); i++) {
        char *line = test_fmt("%s = symlink %s\n", targets[i][0], targets[i][1]);
        char *files = test_fmt("%s%s", h, line), *entry = test_fmt("files/%s", targets[i][0]);
        struct ent e[] = {HELLO, SYMLINK(entry, targets[i][1])};
        char *name = test_fmt("symlink-%zu", i);
        p = make(name, files, e, N(e));
        refused_as(line, p, *targets[i][1] ? "leaves the package" : "expected 'HASH SIZE MODE'", true);
        free(p), free(name), free(entry), free(files), free(line);
    }

    /*
     * Links through links: each target stays inside when read on its own, but b -> "." makes
     * every "b/" in another target a step down that is no step down, so its ".." climb out.
     */
    {
        char *up = strdup(""), *down = strdup("");
        for (int i = 0; i < 16; i++) {
            char *u = test_fmt("%sb/", up), *d = test_fmt("%s../", down);
            free(up), free(down);
            up = u, down = d;
        }
        const char *chains[][2] = {{"a", "b/.."}, {"ab", NULL}};
        char *deep = test_fmt("%s%setc", up, down);
        chains[1][1] = deep;
        for (size_t i = 0; i < N(chains); i++) {
            char *files = test_fmt("%s = symlink %s\nb = symlink .\n%s", chains[i][0], chains[i][1], h);
            char *entry = test_fmt("files/%s", chains[i][0]);
            struct ent e[] = {SYMLINK(entry, chains[i][1]), SYMLINK("files/b", "."), HELLO};
            char *name = test_fmt("symlink-chain-%zu", i);
            p = make(name, files, e, N(e));
            char *out = NULL, *err = NULL;
            if (run_slate(&out, &err, "--root", T.d.root, "install", p, NULL) == 0) {
                char *link = test_fmt("%s/var/lib/slate/apps/%s/1.0.0/%s", T.d.root, ID, chains[i][0]);
                char *real = realpath(link, NULL);
                run_slate(NULL, NULL, "--root", T.d.root, "remove", ID, NULL);
                fail_msg("%s -> %s (with b -> .) was installed; %s resolves to %s, outside the package", chains[i][0],
                         chains[i][1], link, real ? real : "?");
            }
            free(out), free(err);
            refused_as(name, p, "leaves the package", true);
            free(p), free(name), free(entry), free(files);
        }
        free(up), free(down), free(deep);

        /* A link that names itself loops; the kernel would give up, and so does the installer. */
        {
            char *files = test_fmt("a = symlink b/a\nb = symlink .\n%s", h);
            struct ent e[] = {SYMLINK("files/a", "b/a"), SYMLINK("files/b", "."), HELLO};
            p = make("symlink-loop", files, e, N(e));
            REFUSED(p, "loops");
            free(p), free(files);
        }

        /* Links through links that stay inside are fine: a "current" folder link, as packages use. */
        const char v2[] = "version two\n";
        char *line = fline("share/v2/data", v2, sizeof v2 - 1, 0644);
        char *files = test_fmt("%sshare/cur = symlink v2\nshare/lib = symlink cur/../cur/data\n%s", h, line);
        struct ent e[] = {HELLO, SYMLINK("files/share/cur", "v2"), SYMLINK("files/share/lib", "cur/../cur/data"),
                          REG("files/share/v2/data", v2, sizeof v2 - 1, 0644)};
        p = make("symlink-chain-inside", files, e, N(e));
        char *err = NULL;
        if (run_slate(NULL, &err, "--root", T.d.root, "install", p, NULL) != 0)
            fail_msg("links through links that stay inside: refused: %s", err);
        char *lib = test_fmt("%s/var/lib/slate/apps/%s/1.0.0/share/lib", T.d.root, ID);
        size_t len;
        char *got = test_read(lib, &len);
        assert_int_equal(len, sizeof v2 - 1);
        assert_memory_equal(got, v2, len);
        free(err), free(got), free(lib), free(p), free(files), free(line);
        err = NULL;
        if (run_slate(NULL, &err, "--root", T.d.root, "remove", ID, NULL) != 0)
            fail_msg("remove: %s", err);
        free(err);
    }

    /* The manifest says one target, the tar another. */
    {
        char *files = test_fmt("%slink = symlink bin/hello\n", h);
        struct ent e[] = {HELLO, SYMLINK("files/link", T.outside)};
        p = make("symlink-target-differs", files, e, N(e));
        REFUSED(p, "link: link target differs from the manifest");
        free(p), free(files);
    }

    /* Symlink, then write through it. */
    {
        char *line = fline("a/x", data, sizeof data - 1, 0644);
        char *files = test_fmt("a = symlink ../..\n%s%s", line, h);
        char *target = test_fmt("%s", T.outside);
        struct ent e[] = {SYMLINK("files/a", "../.."), REG("files/a/x", data, sizeof data - 1, 0644), HELLO};
        p = make("write-through-signed-escape", files, e, N(e));
        REFUSED(p, "leaves the package");
        free(p), free(files);

        /* The link stays inside, but a file beneath it would make it a folder. */
        files = test_fmt("a = symlink bin\n%s%s", line, h);
        struct ent e2[] = {SYMLINK("files/a", "bin"), REG("files/a/x", data, sizeof data - 1, 0644), HELLO};
        p = make("write-through-signed-inside", files, e2, N(e2));
        REFUSED(p, "listed both as a file and as a folder");
        free(p), free(files);

        /* Only a/x is signed; the tar slips in a link a -> outside before it. */
        files = test_fmt("%s%s", line, h);
        struct ent e3[] = {SYMLINK("files/a", target), REG("files/a/x", data, sizeof data - 1, 0644), HELLO};
        p = make("write-through-unsigned-link", files, e3, N(e3));
        REFUSED(p, "a is not in the manifest");
        free(p);
        struct ent e4[] = {SYMLINK("files/a", "/etc"), REG("files/a/x", data, sizeof data - 1, 0644), HELLO};
        p = make("write-through-unsigned-etc", files, e4, N(e4));
        REFUSED(p, "a is not in the manifest");
        free(p);

        /* A folder entry for a, then a signed a/x: the folder is not in the manifest. */
        struct ent e5[] = {
            {"files/a", AE_IFDIR, 0755, 0, NULL, 0, NULL}, REG("files/a/x", data, sizeof data - 1, 0644), HELLO};
        p = make("folder-entry-unsigned", files, e5, N(e5));
        REFUSED(p, "not in the manifest");
        free(p), free(files), free(target), free(line);
    }

    /* Special files listed in the manifest as plain files, but something else in the tar. */
    struct {
        const char *name;
        unsigned type, mode;
        const char *link, *phrase;
    } specials[] = {
        {"char-device", AE_IFCHR, 0644, NULL, "device node"},
        {"block-device", AE_IFBLK, 0644, NULL, "device node"},
        {"fifo", AE_IFIFO, 0644, NULL, "fifo"},
        {"folder", AE_IFDIR, 0755, NULL, "data/ is not in the manifest"}, /* libarchive writes "data/" */
        {"hardlink", AE_IFREG, 0644, "files/bin/hello", "hard link"},
        {"hardlink-etc", AE_IFREG, 0644, "/etc/passwd", "hard link"},
        {"setuid", AE_IFREG, 04644, NULL, "setuid"},
        {"setgid", AE_IFREG, 02644, NULL, "setuid"},
        {"sticky", AE_IFREG, 01644, NULL, "setuid"},
    };
    for (size_t i = 0; i < N(specials); i++) {
        char *line = fline("data", "", 0, specials[i].mode & 0777), *files = test_fmt("%s%s", h, line);
        struct ent e[] = {HELLO, {"files/data", specials[i].type, specials[i].mode, 0, NULL, 0, specials[i].link}};
        p = make(specials[i].name, files, e, N(e));
        refused_as(specials[i].name, p, specials[i].phrase, true);
        free(p), free(files), free(line);
    }

    /* A folder entry written by hand, without the trailing slash, under a name the manifest lists. */
    {
        char *line = fline("data", "", 0, 0755), *files = test_fmt("%s%s", h, line);
        char *m = manifest_of(files), *sig = craft_signature(T.d.app_key, m, strlen(m)), *tar = NULL;
        size_t len = 0;
        FILE *f = open_memstream(&tar, &len);
        tar_put(f, "SIGNATURE", 9, '0', 0644, sig, strlen(sig));
        tar_put(f, "manifest", 8, '0', 0644, m, strlen(m));
        tar_put(f, "files/bin/hello", 15, '0', 0755, T.hello, T.hello_len);
        tar_put(f, "files/data", 10, '5', 0755, "", 0);
        static const uint8_t end[1024];
        fwrite(end, 1, sizeof end, f);
        fclose(f);
        p = pkg("folder-raw");
        compress_to(p, tar, len);
        REFUSED(p, "data is a folder");
        free(p), free(tar), free(sig), free(m), free(files), free(line);
    }

    /* A setuid exec, in the tar only and in the signed manifest too. */
    {
        struct ent e[] = {REG("files/bin/hello", T.hello, T.hello_len, 04755)};
        p = make("setuid-exec-tar", h, e, N(e));
        REFUSED(p, "setuid");
        free(p);
        char *line = fline("bin/hello", T.hello, T.hello_len, 04755);
        p = make("setuid-exec-manifest", line, e, N(e));
        REFUSED(p, "setuid");
        free(p), free(line);
    }
    free(h);
}

/* Tests: manifests --------------------------------------------------------------------------- */

static void test_manifests(void **state) {
    (void)state;
    char *h = hello_line();
    const char *pkg_ok = "[package]\nid = " ID "\nversion = 1.0.0\napi_level = 2\nclass = app\n";
    const char *app_ok = "[app]\nexec = bin/hello\nlabel = Hello\n";
    char *big_line = test_fmt("big = %064d 4294967297 0644\n", 0);
    char *files5 = strdup("");
    for (int i = 0; i < 5; i++) {
        char *next = test_fmt("%sf%d = %064d 4294967296 0644\n", files5, i, 0);
        free(files5);
        files5 = next;
    }
    struct {
        const char *name, *package, *app, *files, *phrase;
    } cases[] = {
        {"no-files-section", NULL, NULL, "", "no [files] section"},
        {"no-id", "[package]\nversion = 1.0.0\napi_level = 2\nclass = app\n", NULL, NULL, "needs id"},
        {"bad-id", "[package]\nid = Org.Example\nversion = 1.0.0\napi_level = 2\nclass = app\n", NULL, NULL,
         "reverse-DNS"},
        {"bad-version", "[package]\nid = " ID "\nversion = 1.0\napi_level = 2\nclass = app\n", NULL, NULL,
         "MAJOR.MINOR.PATCH"},
        {"bad-level", "[package]\nid = " ID "\nversion = 1.0.0\napi_level = -1\nclass = app\n", NULL, NULL,
         "api_level"},
        {"bad-class", "[package]\nid = " ID "\nversion = 1.0.0\napi_level = 2\nclass = root\n", NULL, NULL,
         "neither app nor system"},
        {"level-too-new", "[package]\nid = " ID "\nversion = 1.0.0\napi_level = 3\nclass = app\n", NULL, NULL,
         "API level 3"},
        {"repeated-key",
         "[package]\nid = " ID "\nid = org.example.other\nversion = 1.0.0\napi_level = 2\nclass = app\n", NULL, NULL,
         "repeats line"},
        {"unknown-section", NULL, "[app]\nexec = bin/hello\nlabel = Hello\n[evil]\nx = y\n", NULL, "unknown section"},
        {"unknown-key", NULL, "[app]\nexec = bin/hello\nlabel = Hello\nsetuid = yes\n", NULL, "unknown key"},
        {"no-exec", NULL, "[app]\nlabel = Hello\n", NULL, "needs exec and label"},
        {"exec-missing", NULL, "[app]\nexec = bin/missing\nlabel = Hello\n", NULL,
         "exec bin/missing is not in the package"},
        {"exec-absolute", NULL, "[app]\nexec = /bin/sh\nlabel = Hello\n", NULL, "not a relative path"},
        {"exec-climbs", NULL, "[app]\nexec = ../../../../bin/sh\nlabel = Hello\n", NULL, "not a relative path"},
        {"exec-symlink", NULL, "[app]\nexec = run\nlabel = Hello\n", "run = symlink bin/hello\n",
         "exec run is not an executable file"},
        {"icon-missing", NULL, "[app]\nexec = bin/hello\nlabel = Hello\nicon = icon.png\n", NULL, "icon"},
        {"bad-permission", NULL, "[app]\nexec = bin/hello\nlabel = Hello\npermissions = network root\n", NULL,
         "unknown permission"},
        {"bad-memory", NULL, "[app]\nexec = bin/hello\nlabel = Hello\nmemory = lots\n", NULL, "memory"},
        {"bad-label", NULL, "[app]\nexec = bin/hello\nlabel = \n", NULL, "label"},
        {"unsorted", NULL, NULL, "zz = symlink bin/hello\n", "not sorted"},
        {"bad-hash", NULL, NULL, "zz = ABCDEF 12 0644\n", "expected 'HASH SIZE MODE'"},
        {"bad-mode", NULL, NULL, "zz = 0000000000000000000000000000000000000000000000000000000000000000 1 9999\n",
         "expected 'HASH SIZE MODE'"},
        {"extra-field", NULL, NULL, "zz = 0000000000000000000000000000000000000000000000000000000000000000 1 0644 x\n",
         "expected 'HASH SIZE MODE'"},
        {"world-writable", NULL, NULL, "zz = 0000000000000000000000000000000000000000000000000000000000000000 1 0666\n",
         "lets others write"},
        {"unreadable", NULL, NULL, "zz = 0000000000000000000000000000000000000000000000000000000000000000 1 0200\n",
         "not readable"},
        {"too-large", NULL, NULL, big_line, "more than one file may hold"},
        {"total-too-large", NULL, NULL, files5, "add up to more than"},
    };
    for (size_t i = 0; i < N(cases); i++) {
        char *files;
        if (strcmp(cases[i].name, "unsorted") == 0)
            files = test_fmt("%s%s", cases[i].files, h);
        else
            files = test_fmt("%s%s", h, cases[i].files ? cases[i].files : "");
        char *m = strcmp(cases[i].name, "no-files-section") == 0
                      ? test_fmt("%s\n%s", pkg_ok, app_ok)
                      : test_fmt("%s\n%s\n[files]\n%s", cases[i].package ? cases[i].package : pkg_ok,
                                 cases[i].app ? cases[i].app : app_ok, files);
        char *p = make_hello(cases[i].name, T.d.app_key, m);
        refused_as(cases[i].name, p, cases[i].phrase, strcmp(cases[i].name, "level-too-new") != 0);
        free(p), free(m), free(files);
    }

    /* Bytes no text editor would leave: NUL, control characters, a stray \r. */
    const char *raw[][2] = {
        {"nul", "NUL byte"},
        {"escape", "control character"},
        {"cr", "control character"},
    };
    for (size_t i = 0; i < N(raw); i++) {
        char *m = test_fmt("%s\n%s\n[files]\n%s", pkg_ok, app_ok, h);
        size_t len = strlen(m);
        char *at = strstr(m, "label = Hello") + 8;
        *at = i == 0 ? '\0' : i == 1 ? '\033' : '\r';
        char *sig = craft_signature(T.d.app_key, m, len);
        char *p = pkg(raw[i][0]);
        struct craft *c = craft_new(p, true);
        craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
        craft_file(c, "manifest", m, len, 0644);
        craft_file(c, "files/bin/hello", T.hello, T.hello_len, 0755);
        craft_close(c);
        refused_as(raw[i][0], p, raw[i][1], true);
        free(p), free(sig), free(m);
    }
    free(h), free(big_line), free(files5);
}

/* Tests: ELF --------------------------------------------------------------------------------- */

static char *elf_case(const char *name, const void *data, size_t len) {
    char *line = fline("bin/hello", data, len, 0755), *p;
    struct ent e[] = {REG("files/bin/hello", data, len, 0755)};
    p = make(name, line, e, N(e));
    free(line);
    return p;
}

static void put64(uint8_t *at, uint64_t v) {
    memcpy(at, &v, 8);
}

static void put16(uint8_t *at, uint16_t v) {
    memcpy(at, &v, 2);
}

static void test_elf(void **state) {
    (void)state;
    const char script[] = "#!/bin/sh\nexec /bin/sh -c 'id > /tmp/pwned'\n";
    char *p = elf_case("exec-script", script, sizeof script - 1);
    REFUSED_BY_AUDIT(p, "exec bin/hello is not an ELF binary");
    free(p);

    /* A signed, hash-correct exec whose ELF headers are garbage, in the ways a parser trips on. */
    uint64_t phoff;
    memcpy(&phoff, T.hello + 32, 8);
    uint16_t phentsize, phnum;
    memcpy(&phentsize, T.hello + 54, 2);
    memcpy(&phnum, T.hello + 56, 2);
    struct {
        const char *name;
        int what;
    } cases[] = {
        {"elf-magic-only", 0},       {"elf-header-only", 1},    {"elf-phoff-past-end", 2}, {"elf-phnum-huge", 3},
        {"elf-phdrs-garbage", 4},    {"elf-phentsize-bad", 5},  {"elf-class-bad", 6},      {"elf-truncated-half", 7},
        {"elf-dynamic-past-end", 8}, {"elf-phoff-overflow", 9},
    };
    for (size_t i = 0; i < N(cases); i++) {
        size_t len = T.hello_len;
        uint8_t *b = malloc(len);
        memcpy(b, T.hello, len);
        switch (cases[i].what) {
        case 0: len = 4; break;
        case 1: len = 64; break;
        case 2: put64(b + 32, len + 4096); break;
        case 3: put16(b + 56, 0xffff); break;
        case 4:
            for (size_t k = 0; k < (size_t)phentsize * phnum; k++)
                b[phoff + k] = (uint8_t)(k * 151 + 7);
            break;
        case 5: put16(b + 54, 7); break;
        case 6: b[4] = 9; break;
        case 7: len /= 2; break;
        case 8:
            for (size_t k = 0; k < phnum; k++) {
                uint8_t *ph = b + phoff + k * phentsize;
                uint32_t type;
                memcpy(&type, ph, 4);
                if (type == 2 /* PT_DYNAMIC */ || type == 3 /* PT_INTERP */ || type == 1 /* PT_LOAD */) {
                    put64(ph + 8, UINT64_MAX - 16);  /* p_offset */
                    put64(ph + 32, UINT64_MAX - 16); /* p_filesz */
                }
            }
            break;
        case 9: put64(b + 32, UINT64_MAX - 8); break;
        }
        p = elf_case(cases[i].name, b, len);
        refused_as(cases[i].name, p, "bin/hello", false);
        free(p);
        free(b);
    }

    /* A data file that starts like ELF but is not: it is audited too. */
    {
        const char fake[] = "\177ELF this is not really an ELF file";
        char *exec_line = fline("bin/hello", T.hello, T.hello_len, 0755), *lib_line = fline("lib", fake, sizeof fake - 1, 0644);
        char *files = test_fmt("%s%s", exec_line, lib_line);
        free(exec_line), free(lib_line);
        struct ent e[] = {HELLO, REG("files/lib", fake, sizeof fake - 1, 0644)};
        p = make("elf-fake-data", files, e, N(e));
        REFUSED_BY_AUDIT(p, "lib");
        free(p), free(files);
    }

    /* A genuine ELF built for another level than the manifest says. */
    p = elf_case("elf-level-mismatch", T.hello1, T.hello1_len);
    REFUSED_BY_AUDIT(p, "built for API level 1, but the manifest says 2");
    free(p);
}

/* Tests: decompression bombs ----------------------------------------------------------------- */

/*
 * A pax sparse entry: the header claims the signed size, but the data comes as pieces at
 * offsets with holes between them. craft_entry cannot write one, so this writes the package.
 */
static void test_sparse(void **state) {
    (void)state;
    char data[4096];
    memset(data, 0, sizeof data);
    memcpy(data, "head", 4);
    memcpy(data + 4000, "tail", 4);
    char *h = hello_line(), *line = fline("data", data, sizeof data, 0644), *files = test_fmt("%s%s", h, line);
    char *m = manifest_of(files), *sig = craft_signature(T.d.app_key, m, strlen(m)), *p = pkg("sparse");
    struct archive *a = archive_write_new();
    archive_write_set_format_pax(a);
    archive_write_add_filter_zstd(a);
    if (archive_write_open_filename(a, p) != ARCHIVE_OK)
        fail_msg("sparse: %s", archive_error_string(a));
    const struct {
        const char *name;
        const void *data;
        size_t len;
        unsigned mode;
    } plain[] = {{"SIGNATURE", sig, strlen(sig), 0644},
                 {"manifest", m, strlen(m), 0644},
                 {"files/bin/hello", T.hello, T.hello_len, 0755}};
    for (size_t i = 0; i < N(plain) + 1; i++) {
        struct archive_entry *ae = archive_entry_new();
        bool sparse = i == N(plain);
        archive_entry_set_pathname(ae, sparse ? "files/data" : plain[i].name);
        archive_entry_set_filetype(ae, AE_IFREG);
        archive_entry_set_perm(ae, sparse ? 0644 : plain[i].mode);
        archive_entry_set_size(ae, sparse ? (int64_t)sizeof data : (int64_t)plain[i].len);
        if (sparse) {
            archive_entry_sparse_add_entry(ae, 0, 512);
            archive_entry_sparse_add_entry(ae, 3584, 512);
        }
        if (archive_write_header(a, ae) != ARCHIVE_OK)
            fail_msg("sparse: %s", archive_error_string(a));
        if (sparse) {
            archive_write_data(a, data, 512);
            archive_write_data(a, data + 3584, 512);
        } else
            archive_write_data(a, plain[i].data, plain[i].len);
        archive_entry_free(ae);
    }
    archive_write_close(a);
    archive_write_free(a);
    REFUSED(p, "data: sparse entries are not allowed");
    free(h), free(line), free(files), free(m), free(sig), free(p);
}

/* While it runs, no file slate writes may grow past limit bytes: past it, the kernel kills slate. */
static void refused_within(const char *case_name, const char *slp, const char *phrase, rlim_t limit) {
    struct rlimit old, lim;
    getrlimit(RLIMIT_FSIZE, &old);
    lim = old;
    lim.rlim_cur = limit;
    setrlimit(RLIMIT_FSIZE, &lim);
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    char *out, *err;
    int rc = run_slate(&out, &err, "--root", T.d.root, "install", slp, NULL);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    setrlimit(RLIMIT_FSIZE, &old);
    check_refusal(case_name, "install", rc, out, err, phrase);
    double secs = (double)(t1.tv_sec - t0.tv_sec) + (double)(t1.tv_nsec - t0.tv_nsec) / 1e9;
    if (secs > 5)
        fail_msg("%s: took %.1f s to refuse", case_name, secs);
    free(out);
    free(err);
    refused_as(case_name, slp, phrase, true); /* and again, checking the device */
}

static void test_bombs(void **state) {
    (void)state;
    size_t huge = 200u << 20, small = 4096;
    char *zeros = calloc(1, huge), *p;
    char *h = hello_line(), *line = fline("data", zeros, small, 0644), *files = test_fmt("%s%s", h, line);
    struct stat st;

    /* The manifest signs 4 KiB of zeros; the tar entry holds 200 MiB of them. */
    struct ent e[] = {HELLO, REG("files/data", zeros, huge, 0644)};
    p = make("bomb-payload", files, e, N(e));
    if (stat(p, &st) < 0 || st.st_size > (off_t)(4u << 20))
        fail_msg("the bomb is not small: %lld bytes", (long long)st.st_size);
    refused_within("bomb in the payload", p, "data: size differs from the manifest", 1u << 20);
    free(p);

    /* The same, as the exec itself, and as an entry the manifest never mentions. */
    struct ent e2[] = {REG("files/bin/hello", zeros, huge, 0755)};
    p = make("bomb-exec", h, e2, N(e2));
    refused_within("bomb as the exec", p, "bin/hello: size differs from the manifest", 1u << 20);
    free(p);
    struct ent e3[] = {HELLO, REG("files/zzz", zeros, huge, 0644)};
    p = make("bomb-unlisted", h, e3, N(e3));
    refused_within("bomb not in the manifest", p, "zzz is not in the manifest", 1u << 20);
    free(p);

    /* A 200 MiB manifest and a 200 MiB SIGNATURE. */
    char *m = manifest_of(h), *sig = craft_signature(T.d.app_key, m, strlen(m));
    p = pkg("bomb-manifest");
    struct craft *c = craft_new(p, true);
    craft_file(c, "SIGNATURE", sig, strlen(sig), 0644);
    craft_file(c, "manifest", zeros, huge, 0644);
    craft_close(c);
    refused_within("bomb as the manifest", p, "manifest is larger than", 1u << 20);
    free(p);
    p = pkg("bomb-signature");
    c = craft_new(p, true);
    craft_file(c, "SIGNATURE", zeros, huge, 0644);
    craft_close(c);
    refused_within("bomb as the SIGNATURE", p, "SIGNATURE is larger than", 1u << 20);
    free(p);

    free(zeros), free(h), free(line), free(files), free(m), free(sig);
}

/* Tests: the hex editor ---------------------------------------------------------------------- */

static void refused_or_identical(const char *case_name, const char *slp, const struct state *base, bool *installed) {
    char *out, *err;
    int rc = run_slate(&out, &err, "--root", T.d.root, "install", slp, NULL);
    *installed = false;
    if (rc == 0) {
        if (getenv("HOSTILE_VERBOSE"))
            print_message("%s: installed identically\n", case_name);
        installed_then_remove(case_name, "org.example.good", T.hello, T.hello_len);
        *installed = true;
    } else {
        if (rc != 1 || !one_line(err, "") || *out)
            fail_msg("%s: expected exit 1 and one line; got exit %d, stderr '%s', stdout '%s'", case_name, rc, err,
                     out);
        if (getenv("HOSTILE_VERBOSE"))
            print_message("%s: %s", case_name, err);
        struct state after = snapshot();
        same_text("the device folder", case_name, base->tree, after.tree);
        same_text("slate list --json", case_name, base->list, after.list);
        staging_empty(case_name);
        state_free(&after);
    }
    free(out);
    free(err);
}

/* Cuts of the .slp itself: each must be refused. */
static void test_truncated(void **state) {
    (void)state;
    size_t len;
    char *data = test_read(T.good, &len), *p = pkg("cut");
    struct state base = snapshot();
    size_t cuts[48], n = 0;
    for (size_t i = 0; i < 40; i++)
        cuts[n++] = len * i / 40;
    cuts[n++] = len - 1;
    cuts[n++] = len - 2;
    cuts[n++] = len - 3;
    cuts[n++] = len - 4;
    cuts[n++] = len - 8;
    for (size_t i = 0; i < n; i++) {
        char *name = test_fmt("cut at %zu of %zu", cuts[i], len);
        write_bytes(p, data, cuts[i]);
        char *out, *err;
        int rc = run_slate(&out, &err, "--root", T.d.root, "install", p, NULL);
        if (rc != 1 || !one_line(err, "") || *out)
            fail_msg("%s: expected exit 1 and one line; got exit %d, stderr '%s'", name, rc, err);
        if (getenv("HOSTILE_VERBOSE"))
            print_message("%s: %s", name, err);
        struct state after = snapshot();
        same_text("the device folder", name, base.tree, after.tree);
        same_text("slate list --json", name, base.list, after.list);
        staging_empty(name);
        state_free(&after);
        free(out), free(err), free(name);
    }

    /* Cuts of the tar inside, compressed again: only a cut that keeps every entry whole may install. */
    size_t tar_len;
    char *tar = decompress(T.good, &tar_len);
    for (size_t i = 0; i < 40; i++) {
        size_t cut = tar_len * i / 40;
        char *name = test_fmt("tar cut at %zu of %zu", cut, tar_len);
        compress_to(p, tar, cut);
        bool installed;
        refused_or_identical(name, p, &base, &installed);
        if (installed && cut < tar_len - 1024)
            fail_msg("%s: installed without the end of the archive", name);
        free(name);
    }
    state_free(&base);
    free(tar), free(data), free(p);
}

static void flip_all(const char *what, const uint8_t *data, size_t len, const size_t *offsets, size_t n, bool tar,
                     size_t *ret_installed) {
    char *p = pkg("flip");
    uint8_t *b = malloc(len);
    struct state base = snapshot();
    static const uint8_t masks[] = {0x01, 0x20, 0xff, 0x80, 0x10};
    *ret_installed = 0;
    for (size_t i = 0; i < n; i++) {
        memcpy(b, data, len);
        uint8_t mask = masks[i % sizeof masks];
        b[offsets[i]] ^= mask;
        if (tar)
            compress_to(p, b, len);
        else
            write_bytes(p, b, len);
        char *name = test_fmt("%s: byte %zu ^ 0x%02x", what, offsets[i], mask);
        bool installed;
        refused_or_identical(name, p, &base, &installed);
        if (installed) {
            (*ret_installed)++;
            state_free(&base);
            base = snapshot();
        }
        free(name);
    }
    state_free(&base);
    free(b), free(p);
}

static void test_flipped(void **state) {
    (void)state;
    size_t len, n = 0, installed;
    uint8_t *data = (uint8_t *)test_read(T.good, &len);
    size_t *offsets = calloc(len + 64, sizeof *offsets);
    for (size_t i = 0; i < 24 && i < len; i++) /* the zstd frame header */
        offsets[n++] = i;
    for (size_t i = 24; i < len; i += len / 120 + 1)
        offsets[n++] = i;
    for (size_t i = len > 16 ? len - 16 : 0; i < len; i++) /* the last block and checksum */
        offsets[n++] = i;
    flip_all("slp", data, len, offsets, n, false, &installed);
    print_message("flipped %zu bytes of the .slp: %zu installed identically, the rest refused\n", n, installed);
    free(offsets);
    free(data);

    /* In the tar: every header's fields, and a sweep through the data and padding. */
    size_t tar_len;
    uint8_t *tar = (uint8_t *)decompress(T.good, &tar_len);
    offsets = calloc(tar_len, sizeof *offsets);
    n = 0;
    static const size_t fields[] = {0,   5,   99,  100, 104, 108, 124, 130, 135, 136, 148, 150, 154,
                                    155, 156, 157, 257, 262, 263, 265, 297, 329, 345, 500, 511};
    for (size_t blk = 0; blk + 512 <= tar_len; blk += 512) {
        bool header = blk == 0;
        /* A header block holds "ustar" at 257. */
        header = memcmp(tar + blk + 257, "ustar", 5) == 0;
        if (header)
            for (size_t f = 0; f < sizeof fields / sizeof *fields; f++)
                offsets[n++] = blk + fields[f];
    }
    for (size_t i = 0; i < tar_len; i += tar_len / 100 + 1)
        offsets[n++] = i;
    for (size_t i = tar_len - 1024; i < tar_len; i += 128) /* the end-of-archive blocks */
        offsets[n++] = i;
    flip_all("tar", tar, tar_len, offsets, n, true, &installed);
    print_message("flipped %zu bytes of the tar: %zu installed identically, the rest refused\n", n, installed);
    free(offsets);
    free(tar);
}

/* Trailing bytes after a valid package: refused, or ignored and never installed. */
static void test_trailing(void **state) {
    (void)state;
    size_t len, tar_len;
    char *data = test_read(T.good, &len), *p = pkg("trailing");
    struct state base = snapshot();
    bool installed;
    char *more = malloc(len + 4096);
    memcpy(more, data, len);
    memset(more + len, 0x5a, 4096);
    write_bytes(p, more, len + 4096);
    refused_or_identical("junk after the zstd frame", p, &base, &installed);
    print_message("junk after the zstd frame: %s\n", installed ? "ignored" : "refused");

    /* A second tar entry after the end-of-archive marker, in the same frame. */
    char *tar = decompress(T.good, &tar_len);
    const char data2[] = "pwned\n";
    char *buf = NULL;
    size_t blen = 0;
    FILE *f = open_memstream(&buf, &blen);
    fwrite(tar, 1, tar_len, f);
    tar_put(f, "files/zzz", 9, '0', 0644, data2, sizeof data2 - 1);
    fclose(f);
    compress_to(p, buf, blen);
    state_free(&base);
    base = snapshot();
    refused_or_identical("an entry after the end of the archive", p, &base, &installed);
    print_message("an entry after the end of the archive: %s\n", installed ? "ignored" : "refused");
    state_free(&base);
    free(buf), free(tar), free(more), free(data), free(p);
}

/* Setup -------------------------------------------------------------------------------------- */

/* After a failed test, what it may have left installed must not fail the next one. */
static int cleanup(void **state) {
    (void)state;
    const char *ids[] = {ID, "org.example.good"};
    for (size_t i = 0; i < N(ids); i++)
        run_slate(NULL, NULL, "--root", T.d.root, "remove", ids[i], NULL);
    return 0;
}

static int setup(void **state) {
    (void)state;
    test_device_new(&T.d, LEVEL, 1);
    T.pkgs = test_tmpdir("hostile-pkgs");
    T.outside = test_tmpdir("hostile-outside");
    T.escape = test_fmt("slate-hostile-escape-%d", (int)getpid());
    T.rogue_key = test_fmt("%s/rogue.key", T.pkgs);
    char *rogue = test_fmt("%s/rogue", T.pkgs), *err = NULL;
    if (run_slate(NULL, &err, "keygen", rogue, NULL) != 0)
        fail_msg("keygen: %s", err);
    free(err);
    T.hello = test_read(test_hello(LEVEL), &T.hello_len);
    T.hello1 = test_read(test_hello(1), &T.hello1_len);
    if (T.hello_len == T.hello1_len)
        fail_msg("the two example binaries have the same size");

    char *m = test_manifest("org.example.good", "1.0.0", LEVEL, "app");
    char *src = test_app_source(T.pkgs, "good-src", m, LEVEL);
    T.good = pkg("good");
    err = NULL;
    if (run_slate(NULL, &err, "pack", src, "--key", T.d.app_key, "-o", T.good, NULL) != 0)
        fail_msg("pack: %s", err);
    free(err), free(src), free(m), free(rogue);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    test_device_free(&T.d);
    test_rmtree(T.pkgs);
    test_rmtree(T.outside);
    free(T.pkgs), free(T.outside), free(T.escape), free(T.rogue_key), free(T.hello), free(T.hello1), free(T.good);
    return 0;
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_control, cleanup),   cmocka_unit_test_teardown(test_signature, cleanup),
        cmocka_unit_test_teardown(test_layout, cleanup),    cmocka_unit_test_teardown(test_entries, cleanup),
        cmocka_unit_test_teardown(test_paths, cleanup),     cmocka_unit_test_teardown(test_links, cleanup),
        cmocka_unit_test_teardown(test_manifests, cleanup), cmocka_unit_test_teardown(test_elf, cleanup),
        cmocka_unit_test_teardown(test_bombs, cleanup),     cmocka_unit_test_teardown(test_sparse, cleanup),
        cmocka_unit_test_teardown(test_truncated, cleanup), cmocka_unit_test_teardown(test_flipped, cleanup),
        cmocka_unit_test_teardown(test_trailing, cleanup),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
