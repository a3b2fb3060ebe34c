/* audit.c: reading an app binary the way ld.so will, and holding it to the platform's ABI. */
#include "audit.h"

#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "elf-dl.h"
#include "keyfile.h"
#include "util.h"

#if defined(__x86_64__)
#define NATIVE_MACHINE EM_X86_64
#define NATIVE_NAME "x86-64"
#define LOADER_PATH "/lib64/ld-linux-x86-64.so.2"
#define LOADER_SONAME "ld-linux-x86-64.so.2"
#elif defined(__aarch64__)
#define NATIVE_MACHINE EM_AARCH64
#define NATIVE_NAME "aarch64"
#define LOADER_PATH "/lib/ld-linux-aarch64.so.1"
#define LOADER_SONAME "ld-linux-aarch64.so.1"
#else
#error "Slate's audit knows x86-64 and aarch64 so far"
#endif

#define NEEDED_MAX 64
#define VERSIONS_MAX 256
#define NOTE_OWNER "Slate"
#define NOTE_TYPE_API_LEVEL 1

static const char *const c_library[] = {"libc.so.6", "libm.so.6", LOADER_SONAME, NULL};

struct version_need {
    uint16_t index;
    const char *file, *name;
};

struct image {
    const uint8_t *data;
    size_t size;
    uint16_t type;
    GElf_Phdr *ph;
    size_t phnum;
    /* from the dynamic segment */
    const char *strtab;
    uint64_t strsz, symtab, syment, versym;
    struct version_need needs[VERSIONS_MAX];
    size_t n_needs;
};

struct dynamic {
    uint64_t needed[NEEDED_MAX];
    size_t n_needed;
    uint64_t strtab, strsz, symtab, syment, versym, verneed, verneednum;
    uint64_t rela, relasz, relaent, jmprel, pltrelsz, pltrel, rel, relsz, relent;
    uint64_t flags_1;
    const char *refused; /* the first tag that names a library or path: reported once strings can be read */
    uint64_t refused_name;
};

bool is_elf(const void *data, size_t size) {
    return size >= SELFMAG && memcmp(data, ELFMAG, SELFMAG) == 0;
}

/* The bytes at a virtual address, as loaded: inside one PT_LOAD's file-backed part. */
static const void *at_vaddr(const struct image *im, uint64_t vaddr, uint64_t len) {
    for (size_t i = 0; i < im->phnum; i++) {
        const GElf_Phdr *ph = &im->ph[i];
        if (ph->p_type != PT_LOAD || vaddr < ph->p_vaddr)
            continue;
        uint64_t delta = vaddr - ph->p_vaddr;
        if (delta > ph->p_filesz || len > ph->p_filesz - delta)
            continue;
        if (ph->p_offset > im->size || delta > im->size - ph->p_offset || len > im->size - ph->p_offset - delta)
            return NULL;
        return im->data + ph->p_offset + delta;
    }
    return NULL;
}

static const char *string_at(const struct image *im, uint64_t off) {
    if (!im->strtab || off >= im->strsz || !memchr(im->strtab + off, '\0', im->strsz - off))
        return NULL;
    return im->strtab + off;
}

static bool in_list(const char *s, const char *const *list) {
    for (; *list; list++)
        if (strcmp(s, *list) == 0)
            return true;
    return false;
}

static int read_headers(Elf *elf, struct image *im, struct err *e) {
    GElf_Ehdr eh;
    if (sym_elf_kind(elf) != ELF_K_ELF || !sym_gelf_getehdr(elf, &eh))
        return err_set(e, -E_MALFORMED, "not a valid ELF file");
    if (eh.e_ident[EI_CLASS] != ELFCLASS64 || eh.e_ident[EI_DATA] != ELFDATA2LSB)
        return err_set(e, -E_AUDIT, "built for another architecture (%s-bit, %s-endian); this device runs %s",
                       eh.e_ident[EI_CLASS] == ELFCLASS32 ? "32" : "64",
                       eh.e_ident[EI_DATA] == ELFDATA2MSB ? "big" : "little", NATIVE_NAME);
    if (eh.e_machine != NATIVE_MACHINE)
        return err_set(e, -E_AUDIT, "built for another architecture (machine %u); this device runs %s",
                       (unsigned)eh.e_machine, NATIVE_NAME);
    if (eh.e_type != ET_DYN && eh.e_type != ET_EXEC)
        return err_set(e, -E_AUDIT, "neither an executable nor a shared library");
    im->type = eh.e_type;
    /* libelf reads entries of its own size whatever e_phentsize says; the kernel refuses any other. */
    if (eh.e_phentsize != sizeof(Elf64_Phdr) || sym_elf_getphdrnum(elf, &im->phnum) < 0 || im->phnum == 0 ||
        im->phnum > 256)
        return err_set(e, -E_MALFORMED, "malformed program headers");
    if (!(im->ph = calloc(im->phnum, sizeof *im->ph)))
        return err_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < im->phnum; i++)
        if (!sym_gelf_getphdr(elf, (int)i, &im->ph[i]))
            return err_set(e, -E_MALFORMED, "malformed program header %zu", i);
    return 0;
}

/*
 * ld.so maps each PT_LOAD by whole pages, a later one over an earlier one, and
 * the kernel maps what lies past the end of the file as nothing: at_vaddr sees
 * what they will only when the segments are in order, inside the file, and no
 * two share a page (p_align: ld.so refuses one smaller than its page size).
 */
static int check_loads(const struct image *im, struct err *e) {
    uint64_t end = 0;
    size_t loads = 0;
    for (size_t i = 0; i < im->phnum; i++) {
        const GElf_Phdr *ph = &im->ph[i];
        if (ph->p_type != PT_LOAD)
            continue;
        loads++;
        uint64_t align = ph->p_align > 4096 ? ph->p_align : 4096;
        if ((align & (align - 1)) || ((ph->p_vaddr - ph->p_offset) & (align - 1)) || ph->p_filesz > ph->p_memsz ||
            ph->p_memsz > UINT64_MAX - align - ph->p_vaddr)
            return err_set(e, -E_MALFORMED, "malformed loadable segment %zu", i);
        if (ph->p_offset > im->size || ph->p_filesz > im->size - ph->p_offset)
            return err_set(e, -E_MALFORMED, "truncated: loadable segment %zu ends past the end of the file", i);
        if ((ph->p_vaddr & ~(align - 1)) < end)
            return err_set(e, -E_MALFORMED, "loadable segment %zu overlaps the one before it", i);
        end = (ph->p_vaddr + ph->p_memsz + align - 1) & ~(align - 1);
    }
    return loads ? 0 : err_set(e, -E_MALFORMED, "malformed program headers: nothing to load");
}

static int check_interp(const struct image *im, struct audit_result *res, struct err *e) {
    for (size_t i = 0; i < im->phnum; i++) {
        const GElf_Phdr *ph = &im->ph[i];
        if (ph->p_type != PT_INTERP)
            continue;
        if (res->executable)
            return err_set(e, -E_MALFORMED, "two program interpreters");
        /* The kernel reads the interpreter's path at p_offset, not through the mapping. */
        if (ph->p_offset > im->size || ph->p_filesz > im->size - ph->p_offset || ph->p_filesz == 0)
            return err_set(e, -E_MALFORMED, "malformed program interpreter");
        const char *interp = (const char *)im->data + ph->p_offset;
        if (interp[ph->p_filesz - 1] != '\0')
            return err_set(e, -E_MALFORMED, "malformed program interpreter");
        if (strcmp(interp, LOADER_PATH) != 0)
            return err_set(e, -E_AUDIT, "asks for the program interpreter %.100s; only %s runs apps", interp,
                           LOADER_PATH);
        res->executable = true;
    }
    return 0;
}

static const char *refused_tag(int64_t tag) {
    switch (tag) {
    case DT_RPATH: return "sets a library search path (RPATH";
    case DT_RUNPATH: return "sets a library search path (RUNPATH";
    case DT_AUDIT: return "names an audit or filter library (DT_AUDIT";
    case DT_DEPAUDIT: return "names an audit or filter library (DT_DEPAUDIT";
    case DT_AUXILIARY: return "names an audit or filter library (DT_AUXILIARY";
    case DT_FILTER: return "names an audit or filter library (DT_FILTER";
    default: return NULL;
    }
}

static int read_dynamic(struct image *im, struct dynamic *d, struct err *e) {
    const GElf_Phdr *dyn = NULL;
    for (size_t i = 0; i < im->phnum; i++)
        if (im->ph[i].p_type == PT_DYNAMIC) {
            if (dyn)
                return err_set(e, -E_MALFORMED, "two dynamic segments");
            dyn = &im->ph[i];
        }
    if (!dyn)
        return err_set(e, -E_AUDIT, "statically linked; apps link libslate and the C library dynamically");
    const uint8_t *entries = at_vaddr(im, dyn->p_vaddr, dyn->p_filesz); /* bytes: need not be aligned */
    if (!entries || dyn->p_filesz % sizeof(Elf64_Dyn))
        return err_set(e, -E_MALFORMED, "malformed dynamic segment");
    size_t n = dyn->p_filesz / sizeof(Elf64_Dyn);
    for (size_t i = 0;; i++) {
        Elf64_Dyn de;
        /* ld.so reads up to DT_NULL whatever p_filesz says: an array that does not end inside would hide the rest. */
        if (i == n)
            return err_set(e, -E_MALFORMED, "malformed dynamic segment: no DT_NULL at its end");
        memcpy(&de, entries + i * sizeof de, sizeof de);
        if (de.d_tag == DT_NULL)
            break;
        uint64_t v = de.d_un.d_val;
        switch (de.d_tag) {
        case DT_NEEDED:
            if (d->n_needed == NEEDED_MAX)
                return err_set(e, -E_AUDIT, "needs more than %d libraries", NEEDED_MAX);
            d->needed[d->n_needed++] = v;
            break;
        case DT_STRTAB: d->strtab = v; break;
        case DT_STRSZ: d->strsz = v; break;
        case DT_SYMTAB: d->symtab = v; break;
        case DT_SYMENT: d->syment = v; break;
        case DT_VERSYM: d->versym = v; break;
        case DT_VERNEED: d->verneed = v; break;
        case DT_VERNEEDNUM: d->verneednum = v; break;
        case DT_RELA: d->rela = v; break;
        case DT_RELASZ: d->relasz = v; break;
        case DT_RELAENT: d->relaent = v; break;
        case DT_REL: d->rel = v; break;
        case DT_RELSZ: d->relsz = v; break;
        case DT_RELENT: d->relent = v; break;
        case DT_JMPREL: d->jmprel = v; break;
        case DT_PLTRELSZ: d->pltrelsz = v; break;
        case DT_PLTREL: d->pltrel = v; break;
        case DT_FLAGS_1: d->flags_1 = v; break;
        default:
            if (!d->refused && (d->refused = refused_tag(de.d_tag)))
                d->refused_name = v;
        }
    }
    if (d->strsz > im->size || !(im->strtab = at_vaddr(im, d->strtab, d->strsz)))
        return err_set(e, -E_MALFORMED, "malformed dynamic string table");
    im->strsz = d->strsz;
    if (d->refused) {
        const char *name = string_at(im, d->refused_name);
        if (!name)
            return err_set(e, -E_MALFORMED, "malformed dynamic string table entry");
        return err_set(e, -E_AUDIT, "%s %.100s); apps load only the platform's libraries", d->refused, name);
    }
    im->symtab = d->symtab;
    im->syment = d->syment ? d->syment : sizeof(Elf64_Sym);
    im->versym = d->versym;
    if (im->syment != sizeof(Elf64_Sym))
        return err_set(e, -E_MALFORMED, "malformed symbol table entry size");
    return 0;
}

static int check_needed(const struct image *im, const struct dynamic *d, const struct audit_policy *p,
                        struct audit_result *res, struct err *e) {
    for (size_t i = 0; i < d->n_needed; i++) {
        const char *name = string_at(im, d->needed[i]);
        if (!name)
            return err_set(e, -E_MALFORMED, "malformed needed-library entry");
        if (strcmp(name, LIBSLATE_SONAME) == 0)
            res->links_slate = true;
        else if (!in_list(name, c_library))
            return err_set(e, -E_AUDIT, "needs %.100s; apps may link only %s and the C library", name,
                           LIBSLATE_SONAME);
        if (p->on_needed)
            p->on_needed(p->userdata, name);
    }
    return 0;
}

/*
 * ld.so follows vn_next and vna_next until they are 0, whatever DT_VERNEEDNUM and
 * vn_cnt say, and a later entry with the same index wins. The audit must see the
 * same table, so counts that disagree with the chain, or an index given twice, are
 * refused rather than read one way here and another way at run time.
 */
static int read_verneed(struct image *im, const struct dynamic *d, struct err *e) {
    uint64_t at = d->verneed, files = 0;
    if (!d->verneed)
        return 0;
    for (;;) {
        Elf64_Verneed vn;
        const void *raw = at_vaddr(im, at, sizeof vn);
        if (!raw || ++files > VERSIONS_MAX)
            return err_set(e, -E_MALFORMED, "malformed version needs");
        memcpy(&vn, raw, sizeof vn);
        const char *file = string_at(im, vn.vn_file);
        if (vn.vn_version != 1 || !file)
            return err_set(e, -E_MALFORMED, "malformed version needs");
        uint64_t aux_at = at + vn.vn_aux, versions = 0;
        for (;;) {
            Elf64_Vernaux va;
            if (!(raw = at_vaddr(im, aux_at, sizeof va)))
                return err_set(e, -E_MALFORMED, "malformed version needs");
            memcpy(&va, raw, sizeof va);
            const char *name = string_at(im, va.vna_name);
            if (!name || im->n_needs == VERSIONS_MAX)
                return err_set(e, -E_MALFORMED, "malformed version needs");
            uint16_t index = va.vna_other & 0x7fff;
            for (size_t i = 0; i < im->n_needs; i++)
                if (im->needs[i].index == index)
                    return err_set(e, -E_MALFORMED, "malformed version needs: index %u is given twice", index);
            im->needs[im->n_needs++] = (struct version_need){index, file, name};
            versions++;
            if (va.vna_next == 0)
                break;
            aux_at += va.vna_next;
        }
        if (versions != vn.vn_cnt)
            return err_set(e, -E_MALFORMED, "malformed version needs: %s lists %u versions but chains %llu", file,
                           (unsigned)vn.vn_cnt, (unsigned long long)versions);
        if (vn.vn_next == 0)
            break;
        at += vn.vn_next;
    }
    if (files != d->verneednum)
        return err_set(e, -E_MALFORMED, "malformed version needs: %llu files chained, %llu declared",
                       (unsigned long long)files, (unsigned long long)d->verneednum);
    return 0;
}

static unsigned node_level(const char *node) {
    unsigned long n;
    return strncmp(node, "SLATE_", 6) == 0 && parse_uint(node + 6, 1, 10000, &n) == 0 ? (unsigned)n : 0;
}

/* A libslate version node the binary requires must exist on the device and at the app's level. */
static int check_slate_node(const char *node, unsigned level, const struct audit_policy *p, struct err *e) {
    unsigned n = node_level(node);
    if (n == 0 || n > p->abi->latest)
        return err_set(e, -E_AUDIT, "requires libslate version %.40s, which this device's libslate does not have",
                       node);
    if (level && n > level)
        return err_set(e, -E_AUDIT, "requires libslate version %s (API level %u); the package is built for API level %u",
                       node, n, level);
    return 0;
}

static int check_nodes(const struct image *im, unsigned level, const struct audit_policy *p, struct err *e) {
    for (size_t i = 0; i < im->n_needs; i++) {
        int r;
        bool from_slate = strcmp(im->needs[i].file, LIBSLATE_SONAME) == 0;
        /* ld.so binds a symbol by name and version wherever it is found; the file named is not checked. */
        if (!from_slate && strncmp(im->needs[i].name, "SLATE_", 6) == 0)
            return err_set(e, -E_AUDIT, "requires libslate version %.40s from %.100s; it comes only from %s",
                           im->needs[i].name, im->needs[i].file, LIBSLATE_SONAME);
        if (from_slate && (r = check_slate_node(im->needs[i].name, level, p, e)) < 0)
            return r;
    }
    return 0;
}

static const struct version_need *find_need(const struct image *im, uint16_t index) {
    for (size_t i = 0; i < im->n_needs; i++)
        if (im->needs[i].index == index)
            return &im->needs[i];
    return NULL;
}

static int check_slate_symbol(const char *name, const char *node, unsigned level, const struct audit_policy *p,
                              struct err *e) {
    const struct abi_symbol *s = abi_find(p->abi, name);
    if (!s || s->since > p->device_api || (s->removed && s->removed <= p->device_min))
        return err_set(e, -E_AUDIT, "imports %.100s, which this device's libslate does not export", name);
    if (strcmp(s->node, node) != 0)
        return err_set(e, -E_AUDIT, "imports %s@%.40s, but libslate exports it as %s@%s", name, node, name, s->node);
    if (level && s->since > level)
        return err_set(e, -E_AUDIT, "imports %s, introduced in API level %u; the package is built for API level %u",
                       name, s->since, level);
    if (level && s->removed && s->removed <= level)
        return err_set(e, -E_AUDIT, "imports %s, removed in API level %u; the package is built for API level %u", name,
                       s->removed, level);
    if (p->on_import)
        p->on_import(p->userdata, name, node);
    return 0;
}

static int check_symbol(const struct image *im, uint64_t index, unsigned level, const struct audit_policy *p,
                        struct err *e) {
    Elf64_Sym sym;
    uint16_t vs = 1;
    const void *raw;
    if (index > UINT32_MAX || !(raw = at_vaddr(im, im->symtab + index * sizeof sym, sizeof sym)))
        return err_set(e, -E_MALFORMED, "relocation names a symbol outside the symbol table");
    memcpy(&sym, raw, sizeof sym);
    if (sym.st_shndx != SHN_UNDEF)
        return 0; /* defined here: not an import */
    const char *name = string_at(im, sym.st_name);
    if (!name)
        return err_set(e, -E_MALFORMED, "malformed symbol name");
    if (im->versym) {
        if (!(raw = at_vaddr(im, im->versym + index * 2, 2)))
            return err_set(e, -E_MALFORMED, "malformed symbol versions");
        memcpy(&vs, raw, 2);
        vs &= 0x7fff;
    }
    const struct version_need *need = vs >= 2 ? find_need(im, vs) : NULL;
    if (vs >= 2 && !need)
        return err_set(e, -E_MALFORMED, "symbol %.100s names an unknown version", name);
    if (need && strcmp(need->file, LIBSLATE_SONAME) == 0)
        return check_slate_symbol(name, need->name, level, p, e);
    if (!need && strncmp(name, "slate_", 6) == 0)
        return err_set(e, -E_AUDIT, "imports %.100s without a version node: build against libslate for one API level "
                       "(weak linking is not supported)", name);
    if (!need && ELF64_ST_BIND(sym.st_info) != STB_WEAK)
        return err_set(e, -E_AUDIT, "imports %.100s without a version, from no library the platform provides", name);
    return 0;
}

static int check_relocations(const struct image *im, uint64_t at, uint64_t size, uint64_t ent, bool rela,
                             unsigned level, const struct audit_policy *p, struct err *e) {
    size_t want = rela ? sizeof(Elf64_Rela) : sizeof(Elf64_Rel);
    if (!at || !size)
        return 0;
    if (ent && ent != want)
        return err_set(e, -E_MALFORMED, "malformed relocation entry size");
    const uint8_t *rel = at_vaddr(im, at, size);
    if (!rel || size % want)
        return err_set(e, -E_MALFORMED, "malformed relocations");
    uint64_t last = 0;
    for (uint64_t off = 0; off < size; off += want) {
        uint64_t info;
        memcpy(&info, rel + off + sizeof(Elf64_Addr), sizeof info);
        uint64_t index = ELF64_R_SYM(info);
        if (index == 0 || index == last)
            continue;
        last = index;
        int r = check_symbol(im, index, level, p, e);
        if (r < 0)
            return r;
    }
    return 0;
}

/* Every Slate level note in the binary must name the same level. */
static int read_notes(const struct image *im, struct audit_result *res, struct err *e) {
    for (size_t i = 0; i < im->phnum; i++) {
        const GElf_Phdr *ph = &im->ph[i];
        if (ph->p_type != PT_NOTE)
            continue;
        if (ph->p_offset > im->size || ph->p_filesz > im->size - ph->p_offset)
            return err_set(e, -E_MALFORMED, "malformed note segment");
        const uint8_t *n = im->data + ph->p_offset;
        uint64_t left = ph->p_filesz;
        while (left >= 12) {
            uint32_t namesz, descsz, type;
            memcpy(&namesz, n, 4);
            memcpy(&descsz, n + 4, 4);
            memcpy(&type, n + 8, 4);
            uint64_t name_pad = ((uint64_t)namesz + 3) & ~3ull, desc_pad = ((uint64_t)descsz + 3) & ~3ull;
            if (name_pad + desc_pad > left - 12)
                return err_set(e, -E_MALFORMED, "malformed note");
            if (namesz == sizeof NOTE_OWNER && memcmp(n + 12, NOTE_OWNER, namesz) == 0 &&
                type == NOTE_TYPE_API_LEVEL) {
                uint32_t level;
                if (descsz != 4)
                    return err_set(e, -E_MALFORMED, "malformed API level note");
                memcpy(&level, n + 12 + name_pad, 4);
                if (level == 0)
                    return err_set(e, -E_MALFORMED, "malformed API level note: level 0");
                if (res->note_level && res->note_level != level)
                    return err_set(e, -E_AUDIT, "mixes code built for API levels %u and %u", res->note_level, level);
                res->note_level = level;
            }
            n += 12 + name_pad + desc_pad;
            left -= 12 + name_pad + desc_pad;
        }
    }
    return 0;
}

static int audit_image(struct image *im, const struct audit_policy *p, struct audit_result *res, struct err *e) {
    struct dynamic d = {0};
    int r;
    if ((r = check_loads(im, e)) < 0 || (r = check_interp(im, res, e)) < 0 || (r = read_notes(im, res, e)) < 0 ||
        (r = read_dynamic(im, &d, e)) < 0)
        return r;
    /* A program with no interpreter starts itself: a static PIE carries a dynamic segment for its own relocations. */
    if (!res->executable && (im->type == ET_EXEC || (d.flags_1 & DF_1_PIE)))
        return err_set(e, -E_AUDIT, "statically linked; apps link libslate and the C library dynamically");
    if ((r = check_needed(im, &d, p, res, e)) < 0 || (r = read_verneed(im, &d, e)) < 0)
        return r;

    unsigned level = p->app_level ? p->app_level : res->note_level;
    if (res->links_slate && !res->note_level)
        return err_set(e, -E_AUDIT, "links libslate but carries no API level note: build it with the Slate SDK "
                       "headers and SLATE_TARGET_API");
    if (res->note_level && p->app_level && res->note_level != p->app_level)
        return err_set(e, -E_AUDIT, "built for API level %u, but the manifest says %u", res->note_level,
                       p->app_level);
    if (level && (level > p->device_api || level < p->device_min))
        return err_set(e, -E_LEVEL, "built for API level %u; this device runs levels %u to %u", level,
                       p->device_min, p->device_api);
    if ((r = check_nodes(im, level, p, e)) < 0)
        return r;
    if ((r = check_relocations(im, d.rela, d.relasz, d.relaent, true, level, p, e)) < 0 ||
        (r = check_relocations(im, d.rel, d.relsz, d.relent, false, level, p, e)) < 0)
        return r;
    bool plt_rela = d.pltrel != DT_REL;
    return check_relocations(im, d.jmprel, d.pltrelsz, 0, plt_rela, level, p, e);
}

int audit_elf(const void *data, size_t size, const struct audit_policy *p, struct audit_result *ret, struct err *e) {
    struct image im = {.data = data, .size = size};
    struct audit_result res = {0};
    int r;

    if (!is_elf(data, size))
        return err_set(e, -E_MALFORMED, "not an ELF file");
    if ((r = dlopen_libelf(e)) < 0)
        return r;
    if (sym_elf_version(EV_CURRENT) == EV_NONE)
        return err_set(e, -EIO, "libelf: %s", sym_elf_errmsg(-1));
    Elf *elf = sym_elf_memory((char *)(uintptr_t)data, size);
    if (!elf)
        return err_set(e, -E_MALFORMED, "not a valid ELF file");
    r = read_headers(elf, &im, e);
    if (r == 0)
        r = audit_image(&im, p, &res, e);
    free(im.ph);
    sym_elf_end(elf);
    if (r == 0 && ret)
        *ret = res;
    return r;
}

int audit_elf_fd(int fd, const char *name, const struct audit_policy *p, struct audit_result *ret,
                 struct err *e) {
    struct stat st;
    if (fstat(fd, &st) < 0 || !S_ISREG(st.st_mode) || st.st_size == 0)
        return err_set(e, -E_MALFORMED, "%s: not a valid ELF file", name);
    void *map = mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_PRIVATE, fd, 0);
    if (map == MAP_FAILED)
        return err_set(e, -errno, "%s: %m", name);
    int r = audit_elf(map, (size_t)st.st_size, p, ret, e);
    munmap(map, (size_t)st.st_size);
    return r < 0 ? err_prefix(e, r, "%s", name) : 0;
}

int audit_elf_at(int dirfd, const char *path, const struct audit_policy *p, struct audit_result *ret,
                 struct err *e) {
    int fd = openat(dirfd, path, O_RDONLY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return err_set(e, -errno, "%s: %m", path);
    int r = audit_elf_fd(fd, path, p, ret, e);
    close(fd);
    return r;
}
