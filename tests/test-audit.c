/* test-audit.c: the ELF audit against the example app, binaries built to be refused, and damaged copies. */
#include <elf.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "helpers.h"

#include "abi.h"
#include "audit.h"

/* A device: its ABI table and the window of levels it runs. */
struct window {
    const struct abi_table *abi;
    unsigned min, api;
};

static struct abi_table *builtin;

static int setup(void **state) {
    struct err e = {0};
    (void)state;
    if (abi_parse(slate_abi_builtin, strlen(slate_abi_builtin), &builtin, &e) < 0)
        fail_msg("built-in ABI table: %s", e.msg);
    return 0;
}

static int teardown(void **state) {
    (void)state;
    builtin = abi_free(builtin);
    return 0;
}

static struct abi_table *table(const char *text) {
    struct abi_table *t = NULL;
    struct err e = {0};
    if (abi_parse(text, strlen(text), &t, &e) < 0)
        fail_msg("ABI table: %s", e.msg);
    return t;
}

static const char *fixture(const char *name) {
    char *var = test_fmt("FIXTURE_%s", name);
    const char *path = getenv(var);
    if (!path)
        fail_msg("$%s is not set: run through meson test", var);
    free(var);
    return path;
}

static struct audit_policy policy(const struct abi_table *abi, unsigned min, unsigned api, unsigned app_level) {
    return (struct audit_policy){.abi = abi, .device_min = min, .device_api = api, .app_level = app_level};
}

static int audit_path(const char *path, const struct audit_policy *p, struct audit_result *res, struct err *e) {
    *e = (struct err){0};
    return audit_elf_at(AT_FDCWD, path, p, res, e);
}

static void assert_accepted(const char *path, const struct audit_policy *p, unsigned note_level, bool links_slate,
                            bool executable) {
    struct audit_result res = {0};
    struct err e = {0};
    int r = audit_path(path, p, &res, &e);
    if (r < 0)
        fail_msg("%s refused (%d): %s", path, r, e.msg);
    assert_int_equal(res.note_level, note_level);
    assert_int_equal(res.links_slate, links_slate);
    assert_int_equal(res.executable, executable);
}

/* Refused with code, the message naming each of the (up to two) given words. */
static void assert_refused_with(int r, const struct err *e, int code, const char *want1, const char *want2) {
    if (r != code)
        fail_msg("expected code %d, got %d: %s", code, r, e->msg);
    assert_int_equal(e->code, code);
    if (want1 && !strstr(e->msg, want1))
        fail_msg("message does not name '%s': %s", want1, e->msg);
    if (want2 && !strstr(e->msg, want2))
        fail_msg("message does not name '%s': %s", want2, e->msg);
}

static void assert_refused(const char *path, const struct audit_policy *p, int code, const char *want1,
                           const char *want2) {
    struct audit_result res = {0};
    struct err e = {0};
    int r = audit_path(path, p, &res, &e);
    assert_refused_with(r, &e, code, want1, want2);
    /* audit_elf_at names the file. */
    assert_non_null(strstr(e.msg, path));
}

/* ---- the example app ---- */

static void test_hello_accepted(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    assert_accepted(test_hello(1), &p, 1, true, true);
    assert_accepted(test_hello(2), &p, 2, true, true);
    p = policy(builtin, 1, 1, 0);
    assert_accepted(test_hello(1), &p, 1, true, true);
    p = policy(builtin, 2, 2, 0);
    assert_accepted(test_hello(2), &p, 2, true, true);
    /* The manifest agrees with the note. */
    p = policy(builtin, 1, 2, 1);
    assert_accepted(test_hello(1), &p, 1, true, true);
    p = policy(builtin, 1, 2, 2);
    assert_accepted(test_hello(2), &p, 2, true, true);
}

static void test_hello_outside_window(void **state) {
    (void)state;
    /* hello-api2's note says 2; a device running only level 1 cannot take it. */
    struct audit_policy p = policy(builtin, 1, 1, 0);
    assert_refused(test_hello(2), &p, -E_LEVEL, "API level 2", "1 to 1");
    /* A device that keeps no compatibility layer for level 1. */
    p = policy(builtin, 2, 2, 0);
    assert_refused(test_hello(1), &p, -E_LEVEL, "API level 1", "2 to 2");
}

static void test_manifest_disagrees(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 1);
    assert_refused(test_hello(2), &p, -E_AUDIT, "built for API level 2", "manifest says 1");
    p = policy(builtin, 1, 2, 2);
    assert_refused(test_hello(1), &p, -E_AUDIT, "built for API level 1", "manifest says 2");
}

struct seen {
    char needed[8][64];
    size_t n_needed;
    char imports[32][96];
    size_t n_imports;
};

static void on_needed(void *userdata, const char *soname) {
    struct seen *s = userdata;
    assert_true(s->n_needed < 8);
    snprintf(s->needed[s->n_needed++], sizeof s->needed[0], "%s", soname);
}

static void on_import(void *userdata, const char *symbol, const char *node) {
    struct seen *s = userdata;
    assert_true(s->n_imports < 32);
    snprintf(s->imports[s->n_imports++], sizeof s->imports[0], "%s@%s", symbol, node);
}

static bool seen_in(char (*list)[96], size_t n, const char *what) {
    for (size_t i = 0; i < n; i++)
        if (strcmp(list[i], what) == 0)
            return true;
    return false;
}

static void test_callbacks(void **state) {
    (void)state;
    for (unsigned level = 1; level <= 2; level++) {
        struct seen s = {0};
        struct audit_policy p = policy(builtin, 1, 2, level);
        p.on_needed = on_needed;
        p.on_import = on_import;
        p.userdata = &s;
        assert_accepted(test_hello(level), &p, level, true, true);

        bool slate = false, libc = false;
        for (size_t i = 0; i < s.n_needed; i++) {
            slate |= strcmp(s.needed[i], "libslate.so.1") == 0;
            libc |= strcmp(s.needed[i], "libc.so.6") == 0;
        }
        assert_true(slate && libc);
        assert_true(seen_in(s.imports, s.n_imports, "slate_log@SLATE_1"));
        assert_true(seen_in(s.imports, s.n_imports, "slate_platform_api_level@SLATE_1"));
        assert_true(seen_in(s.imports, s.n_imports, "slate_platform_release@SLATE_1"));
        assert_int_equal(seen_in(s.imports, s.n_imports, "slate_log_enabled@SLATE_2"), level == 2);
        /* Only libslate imports are reported, each with its own node. */
        for (size_t i = 0; i < s.n_imports; i++) {
            assert_int_equal(strncmp(s.imports[i], "slate_", 6), 0);
            assert_non_null(strstr(s.imports[i], "@SLATE_"));
        }
    }
}

/* ---- ABI tables other than the SDK's ---- */

static const char table_eol_removed[] = "latest\t2\n"
                                        "slate_log\tSLATE_1\t1\t0\n"
                                        "slate_logv\tSLATE_1\t1\t0\n"
                                        "slate_platform_api_level\tSLATE_1\t1\t0\n"
                                        "slate_platform_eol\tSLATE_1\t1\t2\n"
                                        "slate_platform_min_api_level\tSLATE_1\t1\t0\n"
                                        "slate_platform_release\tSLATE_1\t1\t0\n"
                                        "slate_log_enabled\tSLATE_2\t2\t0\n"
                                        "slate_log_set_threshold\tSLATE_2\t2\t0\n";

static void test_removed_symbol(void **state) {
    (void)state;
    struct abi_table *t = table(table_eol_removed);
    /* A device at 2..2 keeps nothing that level 2 removed. */
    struct audit_policy p = policy(t, 2, 2, 0);
    assert_refused(test_hello(2), &p, -E_AUDIT, "slate_platform_eol", "does not export");
    /* ... and refuses a level 1 app outright, naming its window. */
    assert_refused(test_hello(1), &p, -E_LEVEL, "API level 1", "2 to 2");
    /* A device at 1..2 still has it, for level 1 apps only. */
    p = policy(t, 1, 2, 0);
    assert_refused(test_hello(2), &p, -E_AUDIT, "slate_platform_eol", "removed in API level 2");
    assert_accepted(test_hello(1), &p, 1, true, true);
    abi_free(t);
}

static void test_missing_symbol(void **state) {
    (void)state;
    struct abi_table *t = table("latest\t2\n"
                                "slate_log\tSLATE_1\t1\t0\n"
                                "slate_platform_api_level\tSLATE_1\t1\t0\n"
                                "slate_platform_eol\tSLATE_1\t1\t0\n"
                                "slate_platform_min_api_level\tSLATE_1\t1\t0\n"
                                "slate_log_enabled\tSLATE_2\t2\t0\n");
    struct audit_policy p = policy(t, 1, 2, 0);
    assert_refused(test_hello(1), &p, -E_AUDIT, "slate_platform_release", "does not export");
    abi_free(t);

    /* A device whose libslate stops at level 1 has no SLATE_2 node at all. */
    t = table("latest\t1\n"
              "slate_log\tSLATE_1\t1\t0\n"
              "slate_logv\tSLATE_1\t1\t0\n"
              "slate_platform_api_level\tSLATE_1\t1\t0\n"
              "slate_platform_eol\tSLATE_1\t1\t0\n"
              "slate_platform_min_api_level\tSLATE_1\t1\t0\n"
              "slate_platform_release\tSLATE_1\t1\t0\n");
    p = policy(t, 1, 1, 0);
    assert_accepted(test_hello(1), &p, 1, true, true);
    assert_refused(test_hello(2), &p, -E_LEVEL, "API level 2", NULL);
    p = policy(t, 1, 2, 0); /* a descriptor claiming more than its table: the table wins */
    assert_refused(test_hello(2), &p, -E_AUDIT, "SLATE_2", "does not have");
    abi_free(t);
}

static void test_symbol_under_wrong_node(void **state) {
    (void)state;
    /* The table says slate_log came at level 2: hello's slate_log@SLATE_1 is not what the device exports. */
    struct abi_table *t = table("latest\t2\n"
                                "slate_platform_api_level\tSLATE_1\t1\t0\n"
                                "slate_platform_eol\tSLATE_1\t1\t0\n"
                                "slate_platform_min_api_level\tSLATE_1\t1\t0\n"
                                "slate_platform_release\tSLATE_1\t1\t0\n"
                                "slate_log\tSLATE_2\t2\t0\n"
                                "slate_log_enabled\tSLATE_2\t2\t0\n");
    struct audit_policy p = policy(t, 1, 2, 0);
    assert_refused(test_hello(2), &p, -E_AUDIT, "slate_log@SLATE_1", "slate_log@SLATE_2");
    abi_free(t);
}

/* ---- the fixtures ---- */

static void test_fixtures_refused(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    assert_refused(fixture("FOREIGN"), &p, -E_AUDIT, "libforeign.so", "libslate.so.1");
    assert_refused(fixture("RUNPATH"), &p, -E_AUDIT, "RUNPATH", "$ORIGIN");
    assert_refused(fixture("STATIC"), &p, -E_AUDIT, "statically linked", NULL);
    assert_refused(fixture("STATIC_PIE"), &p, -E_AUDIT, "statically linked", NULL);
    assert_refused(fixture("NO_NOTE"), &p, -E_AUDIT, "libslate", "no API level note");
    assert_refused(fixture("LEVEL_MISMATCH"), &p, -E_AUDIT, "SLATE_2", "API level 1");
    assert_refused(fixture("FAKE_SLATE"), &p, -E_AUDIT, "slate_log", "without a version");
    assert_refused(fixture("INTERP"), &p, -E_AUDIT, "/tmp/evil-ld.so", NULL);
    assert_refused(fixture("MIXED"), &p, -E_AUDIT, "API levels 1 and 2", NULL);
    assert_refused(fixture("DT_AUDIT"), &p, -E_AUDIT, "audit", "libaudit.so");
    assert_refused(fixture("FILTER"), &p, -E_AUDIT, "filter", "libfiltee.so");

    /* The same verdicts when a manifest names the level. */
    p = policy(builtin, 1, 2, 1);
    assert_refused(fixture("NO_NOTE"), &p, -E_AUDIT, "no API level note", NULL);
    assert_refused(fixture("LEVEL_MISMATCH"), &p, -E_AUDIT, "SLATE_2", "API level 1");
    assert_refused(fixture("MIXED"), &p, -E_AUDIT, "API levels 1 and 2", NULL);
    /* A manifest saying 2 makes the level 1 note the lie. */
    p = policy(builtin, 1, 2, 2);
    assert_refused(fixture("LEVEL_MISMATCH"), &p, -E_AUDIT, "built for API level 1", "manifest says 2");
}

static void test_payload_library(void **state) {
    (void)state;
    /* A shared library needing only libc: allowed as a file, but it cannot be started. */
    struct audit_policy p = policy(builtin, 1, 2, 0);
    assert_accepted(fixture("PAYLOAD"), &p, 0, false, false);
    p = policy(builtin, 1, 2, 1);
    assert_accepted(fixture("PAYLOAD"), &p, 0, false, false);
}

/* ---- damaged and forged copies ---- */

struct blob {
    uint8_t *data;
    size_t size;
};

static struct blob blob_read(const char *path) {
    struct blob b;
    b.data = (uint8_t *)test_read(path, &b.size);
    return b;
}

static struct blob blob_copy(struct blob b) {
    struct blob c = {malloc(b.size ? b.size : 1), b.size};
    assert_non_null(c.data);
    memcpy(c.data, b.data, b.size);
    return c;
}

static Elf64_Ehdr *ehdr(struct blob b) {
    return (Elf64_Ehdr *)b.data;
}

static Elf64_Phdr *phdr_at(struct blob b, size_t i) {
    return (Elf64_Phdr *)(b.data + ehdr(b)->e_phoff) + i;
}

static Elf64_Phdr *phdr_find(struct blob b, uint32_t type) {
    for (size_t i = 0; i < ehdr(b)->e_phnum; i++)
        if (phdr_at(b, i)->p_type == type)
            return phdr_at(b, i);
    fail_msg("no program header of type %u", type);
    return NULL;
}

static uint8_t *at_vaddr(struct blob b, uint64_t vaddr) {
    for (size_t i = 0; i < ehdr(b)->e_phnum; i++) {
        Elf64_Phdr *ph = phdr_at(b, i);
        if (ph->p_type == PT_LOAD && vaddr >= ph->p_vaddr && vaddr < ph->p_vaddr + ph->p_filesz)
            return b.data + ph->p_offset + (vaddr - ph->p_vaddr);
    }
    fail_msg("address 0x%llx is not in the file", (unsigned long long)vaddr);
    return NULL;
}

static Elf64_Dyn *dynamic(struct blob b, size_t *ret_n) {
    Elf64_Phdr *ph = phdr_find(b, PT_DYNAMIC);
    *ret_n = ph->p_filesz / sizeof(Elf64_Dyn);
    return (Elf64_Dyn *)(b.data + ph->p_offset);
}

static Elf64_Dyn *dyn_find(struct blob b, int64_t tag) {
    size_t n;
    Elf64_Dyn *d = dynamic(b, &n);
    for (size_t i = 0; i < n && d[i].d_tag != DT_NULL; i++)
        if (d[i].d_tag == tag)
            return &d[i];
    fail_msg("no dynamic entry %lld", (long long)tag);
    return NULL;
}

/* The level in the Slate note (hello has exactly one). */
static uint32_t *note_level(struct blob b) {
    static const uint8_t head[] = {6, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0, 0, 'S', 'l', 'a', 't', 'e', 0, 0, 0};
    uint8_t *n = memmem(b.data, b.size, head, sizeof head);
    assert_non_null(n);
    return (uint32_t *)(n + sizeof head);
}

static int audit_blob(struct blob b, const struct audit_policy *p, struct err *e) {
    struct audit_result res;
    *e = (struct err){0};
    int r = audit_elf(b.data, b.size, p, &res, e);
    if (r < 0) {
        /* Every refusal is a refusal, with a line saying why. */
        if (!err_is_refusal(r))
            fail_msg("not a refusal (%d): %s", r, e->msg);
        assert_true(e->msg[0] != '\0');
    }
    return r;
}

static void test_wrong_architecture(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob orig = blob_read(test_hello(1));
    struct err e;

    struct blob b = blob_copy(orig);
    ehdr(b)->e_machine = ehdr(orig)->e_machine == EM_AARCH64 ? EM_X86_64 : EM_AARCH64;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_AUDIT, "another architecture", NULL);
    free(b.data);

    b = blob_copy(orig);
    b.data[EI_CLASS] = ELFCLASS32;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_AUDIT, "another architecture", "32-bit");
    free(b.data);

    b = blob_copy(orig);
    b.data[EI_DATA] = ELFDATA2MSB;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_AUDIT, "another architecture", "big-endian");
    free(b.data);

    b = blob_copy(orig);
    ehdr(b)->e_type = ET_REL;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_AUDIT, "neither an executable nor a shared library", NULL);
    free(b.data);

    char junk[] = "not an ELF file at all";
    assert_refused_with(audit_blob((struct blob){(uint8_t *)junk, sizeof junk}, &p, &e), &e, -E_MALFORMED, NULL, NULL);
    free(orig.data);
}

/* With the section headers gone, every verdict stays what it was: the audit reads only what ld.so reads. */
static void test_no_section_headers(void **state) {
    (void)state;
    const char *paths[] = {test_hello(1),         test_hello(2),         fixture("FOREIGN"), fixture("RUNPATH"),
                           fixture("STATIC"),     fixture("STATIC_PIE"), fixture("NO_NOTE"), fixture("LEVEL_MISMATCH"),
                           fixture("FAKE_SLATE"), fixture("INTERP"),     fixture("MIXED"),   fixture("PAYLOAD"),
                           fixture("DT_AUDIT"),   fixture("FILTER")};
    struct audit_policy p = policy(builtin, 1, 2, 0);
    for (size_t i = 0; i < sizeof paths / sizeof *paths; i++) {
        struct blob orig = blob_read(paths[i]);
        struct blob b = blob_copy(orig);
        ehdr(b)->e_shoff = 0;
        ehdr(b)->e_shnum = 0;
        ehdr(b)->e_shstrndx = 0;
        struct err e1, e2;
        int r1 = audit_blob(orig, &p, &e1);
        int r2 = audit_blob(b, &p, &e2);
        if (r1 != r2 || strcmp(e1.msg, e2.msg) != 0)
            fail_msg("%s: %d '%s' with section headers, %d '%s' without", paths[i], r1, e1.msg, r2, e2.msg);
        /* Garbage where the section headers point must not matter either. */
        ehdr(b)->e_shoff = b.size - 1;
        ehdr(b)->e_shnum = 0xffff;
        ehdr(b)->e_shstrndx = 0xfffe;
        int r3 = audit_blob(b, &p, &e2);
        assert_true(r3 == r1 || r3 == -E_MALFORMED);
        free(b.data);
        free(orig.data);
    }
}

static void test_forged_needed(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob orig = blob_read(test_hello(1));
    uint64_t strsz = dyn_find(orig, DT_STRSZ)->d_un.d_val;
    const uint64_t offsets[] = {strsz, strsz + 1, 0x7fffffff, UINT64_MAX, UINT64_MAX - 7};
    struct err e;

    for (size_t i = 0; i < sizeof offsets / sizeof *offsets; i++) {
        struct blob b = blob_copy(orig);
        dyn_find(b, DT_NEEDED)->d_un.d_val = offsets[i];
        assert_refused_with(audit_blob(b, &p, &e), &e, -E_MALFORMED, "needed", NULL);
        free(b.data);
    }

    /* A string table that runs past its segment, or past the file. */
    const uint64_t sizes[] = {orig.size, orig.size + 1, UINT64_MAX};
    for (size_t i = 0; i < sizeof sizes / sizeof *sizes; i++) {
        struct blob b = blob_copy(orig);
        dyn_find(b, DT_STRSZ)->d_un.d_val = sizes[i];
        assert_refused_with(audit_blob(b, &p, &e), &e, -E_MALFORMED, "string table", NULL);
        free(b.data);
    }

    /* The last string, cut off from its NUL by a shorter DT_STRSZ. */
    struct blob b = blob_copy(orig);
    dyn_find(b, DT_STRSZ)->d_un.d_val = 1;
    assert_int_equal(audit_blob(b, &p, &e), -E_MALFORMED);
    free(b.data);
    free(orig.data);
}

/*
 * ld.so reads the dynamic array up to DT_NULL, whatever PT_DYNAMIC's size says.
 * Move RUNPATH to the end and shrink the segment to leave it (and DT_NULL) out:
 * the loader still sees it, so the audit must not take the shorter array.
 */
static void test_dynamic_without_end(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob b = blob_read(fixture("RUNPATH"));
    size_t n, used = 0, runpath = SIZE_MAX;
    Elf64_Dyn *d = dynamic(b, &n);
    while (used < n && d[used].d_tag != DT_NULL) {
        if (d[used].d_tag == DT_RUNPATH || d[used].d_tag == DT_RPATH)
            runpath = used;
        used++;
    }
    assert_true(runpath < used && used < n);
    Elf64_Dyn moved = d[runpath];
    memmove(&d[runpath], &d[runpath + 1], (used - runpath - 1) * sizeof *d);
    d[used - 1] = moved;
    phdr_find(b, PT_DYNAMIC)->p_filesz = (used - 1) * sizeof *d;
    struct err e;
    assert_int_equal(audit_blob(b, &p, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "DT_NULL"));
    free(b.data);
}

/*
 * The kernel takes the interpreter's path at PT_INTERP's file offset. A copy
 * whose p_offset names /tmp/evil-ld.so while p_vaddr points at the system
 * loader's path elsewhere in the mapping must be refused for the former.
 */
static void test_interp_by_offset(void **state) {
    (void)state;
    static const char evil[] = "/tmp/evil-ld.so";
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob b = blob_read(test_hello(1));
    Elf64_Phdr *interp = phdr_find(b, PT_INTERP), *first = NULL, *next = NULL;
    for (size_t i = 0; i < ehdr(b)->e_phnum; i++) {
        Elf64_Phdr *ph = phdr_at(b, i);
        if (ph->p_type == PT_LOAD && !first)
            first = ph;
        else if (ph->p_type == PT_LOAD && !next)
            next = ph;
    }
    assert_non_null(first);
    assert_non_null(next);
    uint64_t slot = (first->p_offset + first->p_filesz + 15) & ~15ull;
    if (first->p_offset != 0 || first->p_vaddr != 0 || slot + interp->p_filesz > next->p_offset ||
        slot + interp->p_filesz > 4096)
        skip(); /* the linker left no room in the first page */
    memcpy(b.data + slot, b.data + interp->p_offset, interp->p_filesz);
    memset(b.data + interp->p_offset, 0, interp->p_filesz);
    memcpy(b.data + interp->p_offset, evil, sizeof evil);
    interp->p_vaddr = interp->p_paddr = slot;
    first->p_filesz = first->p_memsz = slot + interp->p_filesz;
    struct err e;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_AUDIT, evil, NULL);
    free(b.data);
}

/* ld.so maps a later PT_LOAD's pages over an earlier one's: the audit would read the wrong bytes. */
static void test_overlapping_loads(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob b = blob_read(test_hello(1));
    Elf64_Phdr *loads[2] = {NULL, NULL};
    for (size_t i = 0, k = 0; i < ehdr(b)->e_phnum && k < 2; i++)
        if (phdr_at(b, i)->p_type == PT_LOAD)
            loads[k++] = phdr_at(b, i);
    assert_non_null(loads[1]);
    /* The second segment, moved down onto the first one's page (keeping offset and address congruent). */
    loads[1]->p_vaddr = loads[1]->p_paddr =
        loads[1]->p_offset - loads[1]->p_offset / 4096 * 4096 + (loads[0]->p_vaddr & ~4095ull);
    struct err e;
    assert_int_equal(audit_blob(b, &p, &e), -E_MALFORMED);
    assert_non_null(strstr(e.msg, "overlaps"));
    free(b.data);
}

/*
 * ld.so binds name@version wherever it finds it and never checks the file a
 * version need names (a weak need for a missing version is not even an
 * error). A level 2 import dressed up as coming from libc must still be held
 * to the app's level.
 */
static void test_slate_node_from_other_file(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob b = blob_read(test_hello(2));
    *note_level(b) = 1;
    uint8_t *vn = at_vaddr(b, dyn_find(b, DT_VERNEED)->d_un.d_val);
    const char *strtab = (const char *)at_vaddr(b, dyn_find(b, DT_STRTAB)->d_un.d_val);
    Elf64_Verneed *slate = NULL, *libc = NULL;
    for (;;) {
        Elf64_Verneed *cur = (Elf64_Verneed *)vn;
        if (strcmp(strtab + cur->vn_file, "libslate.so.1") == 0)
            slate = cur;
        else if (strcmp(strtab + cur->vn_file, "libc.so.6") == 0)
            libc = cur;
        if (!cur->vn_next)
            break;
        vn += cur->vn_next;
    }
    assert_non_null(slate);
    assert_non_null(libc);
    slate->vn_file = libc->vn_file;
    Elf64_Vernaux *aux = (Elf64_Vernaux *)((uint8_t *)slate + slate->vn_aux);
    for (unsigned i = 0; i < slate->vn_cnt; i++, aux = (Elf64_Vernaux *)((uint8_t *)aux + aux->vna_next))
        aux->vna_flags |= VER_FLG_WEAK;
    struct err e;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_AUDIT, "SLATE_", "libc.so.6");
    free(b.data);
}

/*
 * ld.so follows the version-need chain to its end, whatever the counts say, and a
 * later index wins: counts that disagree with the chain, or an index given twice,
 * would let the audit read one table and the loader another.
 */
static void test_version_needs_as_the_loader_reads_them(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct err e;
    for (int attack = 0; attack < 3; attack++) {
        struct blob b = blob_read(test_hello(2));
        Elf64_Verneed *vn = (Elf64_Verneed *)at_vaddr(b, dyn_find(b, DT_VERNEED)->d_un.d_val);
        Elf64_Vernaux *first = (Elf64_Vernaux *)((uint8_t *)vn + vn->vn_aux);
        switch (attack) {
        case 0:
            vn->vn_cnt++;
            assert_refused_with(audit_blob(b, &p, &e), &e, -E_MALFORMED, "version needs", "chains");
            break;
        case 1:
            dyn_find(b, DT_VERNEEDNUM)->d_un.d_val++;
            assert_refused_with(audit_blob(b, &p, &e), &e, -E_MALFORMED, "version needs", "declared");
            break;
        case 2: {
            Elf64_Vernaux *second = (Elf64_Vernaux *)((uint8_t *)first + first->vna_next);
            assert_true(first->vna_next != 0);
            second->vna_other = first->vna_other;
            assert_refused_with(audit_blob(b, &p, &e), &e, -E_MALFORMED, "given twice", NULL);
            break;
        }
        }
        free(b.data);
    }
}

static void test_note_level_zero(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    struct blob b = blob_read(test_hello(1));
    *note_level(b) = 0;
    struct err e;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_MALFORMED, "level 0", NULL);
    *note_level(b) = 7;
    assert_refused_with(audit_blob(b, &p, &e), &e, -E_LEVEL, "API level 7", "1 to 2");
    free(b.data);
}

/* Every prefix of a good binary: refused or, once all the loader reads is there, the same verdict. */
static void test_truncated(void **state) {
    (void)state;
    struct audit_policy p = policy(builtin, 1, 2, 0);
    const char *paths[] = {test_hello(2), fixture("PAYLOAD")};
    for (size_t k = 0; k < 2; k++) {
        struct blob orig = blob_read(paths[k]);
        uint64_t loaded = 0;
        for (size_t i = 0; i < ehdr(orig)->e_phnum; i++) {
            Elf64_Phdr *ph = phdr_at(orig, i);
            if (ph->p_type == PT_LOAD && ph->p_offset + ph->p_filesz > loaded)
                loaded = ph->p_offset + ph->p_filesz;
        }
        assert_true(loaded <= orig.size);
        for (size_t len = 0; len < orig.size; len += len < 8192 ? 1 : 61) {
            /* A fresh buffer of exactly len bytes, so ASan sees any read past it. */
            struct blob b = {malloc(len ? len : 1), len};
            assert_non_null(b.data);
            memcpy(b.data, orig.data, len);
            struct err e;
            int r = audit_blob(b, &p, &e);
            if (len < loaded && r == 0)
                fail_msg("%s cut to %zu bytes (segments end at %llu): accepted", paths[k], len,
                         (unsigned long long)loaded);
            free(b.data);
        }
        free(orig.data);
    }
}

/* A small deterministic generator, so a failure can be replayed. */
static uint64_t rng_state = 0x9e3779b97f4a7c15ull;
static uint64_t rng(void) {
    rng_state ^= rng_state << 13;
    rng_state ^= rng_state >> 7;
    rng_state ^= rng_state << 17;
    return rng_state;
}

/* Random damage to the headers, the dynamic data and the notes: refused or accepted, never a crash. */
static void test_random_flips(void **state) {
    (void)state;
    const char *paths[] = {test_hello(1), test_hello(2), fixture("MIXED"), fixture("PAYLOAD")};
    struct audit_policy p = policy(builtin, 1, 2, 0);
    for (size_t k = 0; k < sizeof paths / sizeof *paths; k++) {
        struct blob orig = blob_read(paths[k]);
        /* The first page holds the ELF and program headers, notes, symbols, strings and version needs. */
        size_t area = orig.size < 4096 ? orig.size : 4096;
        size_t dyn_off = phdr_find(orig, PT_DYNAMIC)->p_offset, dyn_len = phdr_find(orig, PT_DYNAMIC)->p_filesz;
        for (unsigned iter = 0; iter < 3000; iter++) {
            struct blob b = blob_copy(orig);
            unsigned flips = 1 + (unsigned)(rng() % 4);
            for (unsigned f = 0; f < flips; f++) {
                size_t at = iter % 4 == 3 ? dyn_off + rng() % dyn_len : rng() % (iter % 2 ? 64 + 56 * 16 : area);
                b.data[at] ^= (uint8_t)(1u << (rng() % 8));
                if (rng() % 8 == 0)
                    b.data[at] = (uint8_t)rng();
            }
            struct err e;
            audit_blob(b, &p, &e);
            free(b.data);
        }
        free(orig.data);
    }
}

/* ---- through the slate command ---- */

static void test_cli(void **state) {
    (void)state;
    char *dir = test_tmpdir("audit");
    char *out = NULL, *err = NULL;

    int status = run_slate(&out, &err, "--root", dir, "audit", test_hello(1), NULL);
    if (status != 0)
        fail_msg("slate audit %s: exit %d: %s", test_hello(1), status, err);
    assert_non_null(strstr(out, "imports slate_log@SLATE_1"));
    assert_non_null(strstr(out, "built for API level 1"));
    free(out);
    free(err);

    const struct {
        const char *fixture, *cause;
    } refused[] = {
        {"FOREIGN", "libforeign.so"},     {"RUNPATH", "RUNPATH"},        {"STATIC", "statically linked"},
        {"NO_NOTE", "no API level note"}, {"LEVEL_MISMATCH", "SLATE_2"}, {"FAKE_SLATE", "slate_log"},
        {"INTERP", "/tmp/evil-ld.so"},    {"MIXED", "1 and 2"},          {"DT_AUDIT", "libaudit.so"},
    };
    for (size_t i = 0; i < sizeof refused / sizeof *refused; i++) {
        const char *path = fixture(refused[i].fixture);
        status = run_slate(&out, &err, "--root", dir, "audit", path, NULL);
        if (status != 1)
            fail_msg("slate audit %s: exit %d, not 1: %s", path, status, err);
        /* One line, naming the file and the cause. */
        char *nl = strchr(err, '\n');
        if (!nl || nl[1] != '\0' || !strstr(err, path) || !strstr(err, refused[i].cause))
            fail_msg("slate audit %s: stderr does not name '%s' on one line: %s", path, refused[i].cause, err);
        free(out);
        free(err);
    }

    status = run_slate(&out, &err, "--root", dir, "audit", fixture("PAYLOAD"), NULL);
    assert_int_equal(status, 0);
    free(out);
    free(err);
    test_rmtree(dir);
    free(dir);
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hello_accepted),
        cmocka_unit_test(test_hello_outside_window),
        cmocka_unit_test(test_manifest_disagrees),
        cmocka_unit_test(test_callbacks),
        cmocka_unit_test(test_removed_symbol),
        cmocka_unit_test(test_missing_symbol),
        cmocka_unit_test(test_symbol_under_wrong_node),
        cmocka_unit_test(test_fixtures_refused),
        cmocka_unit_test(test_payload_library),
        cmocka_unit_test(test_wrong_architecture),
        cmocka_unit_test(test_no_section_headers),
        cmocka_unit_test(test_forged_needed),
        cmocka_unit_test(test_dynamic_without_end),
        cmocka_unit_test(test_interp_by_offset),
        cmocka_unit_test(test_overlapping_loads),
        cmocka_unit_test(test_slate_node_from_other_file),
        cmocka_unit_test(test_note_level_zero),
        cmocka_unit_test(test_version_needs_as_the_loader_reads_them),
        cmocka_unit_test(test_truncated),
        cmocka_unit_test(test_random_flips),
        cmocka_unit_test(test_cli),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
