/* manifest.c: parsing and validating package manifests. */
#include "manifest.h"

#include <stdio.h>
#include <string.h>

#include "keyfile.h"

static const struct {
    const char *name;
    unsigned bit;
} permission_names[] = {
    {"network", PERM_NETWORK},
    {"media", PERM_MEDIA},
};

static const char *const package_keys[] = {"id", "version", "api_level", "class", NULL};
static const char *const app_keys[] = {"exec", "label", "icon", "permissions", "memory", NULL};
static const char *const service_keys[] = {"exec", "start", "idle_exit", "memory", NULL};

bool package_id_valid(const char *id) {
    size_t len = strlen(id), parts = 0;
    if (len == 0 || len > PACKAGE_ID_MAX)
        return false;
    for (const char *c = id, *part = id;; c++) {
        if (*c == '.' || *c == '\0') {
            if (c == part || !(part[0] >= 'a' && part[0] <= 'z') || c[-1] == '-')
                return false;
            parts++;
            if (*c == '\0')
                return parts >= 2;
            part = c + 1;
        } else if (!((*c >= 'a' && *c <= 'z') || (*c >= '0' && *c <= '9') || *c == '-' || *c == '_'))
            return false;
    }
}

static bool in_list(const char *key, const char *const *list) {
    for (; *list; list++)
        if (strcmp(key, *list) == 0)
            return true;
    return false;
}

static int check_keys(const struct keyfile *kf, unsigned flags, struct err *e) {
    for (size_t i = 0; i < kf->n_entries; i++) {
        const struct keyfile_entry *en = &kf->entries[i];
        const char *const *allowed;
        if (strcmp(en->section, "package") == 0)
            allowed = package_keys;
        else if (strcmp(en->section, "app") == 0)
            allowed = app_keys;
        else if (strncmp(en->section, "service ", 8) == 0)
            allowed = service_keys;
        else if (strcmp(en->section, "files") == 0) {
            if (flags & MANIFEST_SOURCE)
                return err_set(e, -E_MALFORMED, "line %u: [files] is written by 'slate pack'; remove it",
                               en->line ? en->line : 1);
            continue;
        } else
            return err_set(e, -E_MALFORMED, "unknown section [%s]", en->section);
        if (en->key && !in_list(en->key, allowed))
            return err_set(e, -E_MALFORMED, "line %u: unknown key '%s' in [%s]", en->line, en->key, en->section);
    }
    return 0;
}

static int parse_permissions(const char *s, unsigned *ret, struct err *e) {
    unsigned perms = 0;
    while (*s) {
        size_t n = strcspn(s, " \t");
        size_t i;
        for (i = 0; i < sizeof permission_names / sizeof *permission_names; i++)
            if (strlen(permission_names[i].name) == n && strncmp(s, permission_names[i].name, n) == 0)
                break;
        if (i == sizeof permission_names / sizeof *permission_names)
            return err_set(e, -E_MALFORMED, "unknown permission '%.*s'", (int)(n > 64 ? 64 : n), s);
        perms |= permission_names[i].bit;
        s += n;
        s += strspn(s, " \t");
    }
    *ret = perms;
    return 0;
}

void permissions_format(unsigned perms, char *buf, size_t size) {
    size_t off = 0;
    buf[0] = '\0';
    for (size_t i = 0; i < sizeof permission_names / sizeof *permission_names; i++)
        if (perms & permission_names[i].bit && off < size)
            off += (size_t)snprintf(buf + off, size - off, "%s%s", off ? " " : "", permission_names[i].name);
}

static int parse_package(struct manifest *m, struct err *e) {
    const struct keyfile *kf = m->kf;
    const char *class = keyfile_get(kf, "package", "class");
    unsigned long level;
    int r;

    m->id = keyfile_get(kf, "package", "id");
    m->version_str = keyfile_get(kf, "package", "version");
    if (!m->id || !m->version_str || !class)
        return err_set(e, -E_MALFORMED, "[package] needs id, version, api_level and class");
    if (!package_id_valid(m->id))
        return err_set(e, -E_MALFORMED, "package id '%.*s' is not reverse-DNS in lower case (like org.example.hello)",
                       PACKAGE_ID_MAX, m->id);
    if (version_parse(m->version_str, &m->version) < 0)
        return err_set(e, -E_MALFORMED, "version '%.40s' is not MAJOR.MINOR.PATCH", m->version_str);
    r = keyfile_get_uint(kf, "package", "api_level", 1, 10000, &level, e);
    if (r == -ENOENT)
        return err_set(e, -E_MALFORMED, "[package] needs id, version, api_level and class");
    if (r < 0)
        return r;
    m->api_level = (unsigned)level;
    if (strcmp(class, "system") != 0 && strcmp(class, "app") != 0)
        return err_set(e, -E_MALFORMED, "class '%.40s' is neither app nor system", class);
    m->system = strcmp(class, "system") == 0;
    return 0;
}

static int parse_app(struct manifest *m, struct err *e) {
    const struct keyfile *kf = m->kf;
    const char *perms = keyfile_get(kf, "app", "permissions"), *memory = keyfile_get(kf, "app", "memory");
    int r;

    m->exec = keyfile_get(kf, "app", "exec");
    m->label = keyfile_get(kf, "app", "label");
    m->icon = keyfile_get(kf, "app", "icon");
    if (!m->exec || !m->label)
        return err_set(e, -E_MALFORMED, "[app] needs exec and label");
    if (!path_is_valid(m->exec))
        return err_set(e, -E_MALFORMED, "exec '%.100s' is not a relative path inside files/", m->exec);
    if (m->icon && !path_is_valid(m->icon))
        return err_set(e, -E_MALFORMED, "icon '%.100s' is not a relative path inside files/", m->icon);
    if (!*m->label || strlen(m->label) > 64 || !utf8_printable(m->label))
        return err_set(e, -E_MALFORMED, "label must be 1 to 64 bytes of printable UTF-8");
    if (perms && (r = parse_permissions(perms, &m->permissions, e)) < 0)
        return r;
    if (memory && parse_size(memory, &m->memory) < 0)
        return err_set(e, -E_MALFORMED, "memory = '%.40s' is not a size like 64M", memory);
    return 0;
}

static bool service_name_valid(const char *s) {
    size_t n = strlen(s);
    return n > 0 && n <= SERVICE_NAME_MAX && strspn(s, "abcdefghijklmnopqrstuvwxyz0123456789-") == n;
}

/* "30s", "5m" or "0": whole seconds up to a day. */
static int parse_duration(const char *s, unsigned *ret) {
    unsigned long v;
    size_t n = strlen(s);
    unsigned unit = 1;
    char digits[16];
    if (n == 0 || n >= sizeof digits)
        return -1;
    memcpy(digits, s, n + 1);
    if (digits[n - 1] == 's' || digits[n - 1] == 'm') {
        unit = digits[n - 1] == 'm' ? 60 : 1;
        digits[--n] = '\0';
    }
    if (parse_uint(digits, 0, 86400 / unit, &v) < 0)
        return -1;
    *ret = (unsigned)v * unit;
    return 0;
}

static int parse_service(struct manifest *m, const char *section, struct err *e) {
    const struct keyfile *kf = m->kf;
    struct manifest_service *svc = &m->services[m->n_services];
    const char *start = keyfile_get(kf, section, "start"), *idle = keyfile_get(kf, section, "idle_exit"),
               *memory = keyfile_get(kf, section, "memory");

    if (m->n_services == MANIFEST_SERVICES_MAX)
        return err_set(e, -E_MALFORMED, "more than %d services", MANIFEST_SERVICES_MAX);
    svc->name = section + 8;
    if (!service_name_valid(svc->name))
        return err_set(e, -E_MALFORMED, "[%.60s]: a service name is 1 to %d of a-z, 0-9 and -", section,
                       SERVICE_NAME_MAX);
    if (!(svc->exec = keyfile_get(kf, section, "exec")))
        return err_set(e, -E_MALFORMED, "[%s] needs exec", section);
    if (!path_is_valid(svc->exec))
        return err_set(e, -E_MALFORMED, "[%s]: exec '%.100s' is not a relative path inside files/", section, svc->exec);
    if (!start || strcmp(start, "demand") == 0)
        svc->start = SERVICE_ON_DEMAND;
    else if (strcmp(start, "boot") == 0)
        svc->start = SERVICE_AT_BOOT;
    else
        return err_set(e, -E_MALFORMED, "[%s]: start = '%.40s' is neither demand nor boot", section, start);
    svc->idle_exit_s = 30;
    if (idle && parse_duration(idle, &svc->idle_exit_s) < 0)
        return err_set(e, -E_MALFORMED, "[%s]: idle_exit = '%.40s' is not a duration like 30s or 5m", section, idle);
    if (memory && parse_size(memory, &svc->memory) < 0)
        return err_set(e, -E_MALFORMED, "[%s]: memory = '%.40s' is not a size like 64M", section, memory);
    m->n_services++;
    return 0;
}

/* Sections come in file order; each [service NAME] once (the keyfile refuses a section given twice). */
static int parse_services(struct manifest *m, struct err *e) {
    const char *last = NULL;
    for (size_t i = 0; i < m->kf->n_entries; i++) {
        const char *section = m->kf->entries[i].section;
        if (strncmp(section, "service ", 8) != 0 || (last && strcmp(section, last) == 0))
            continue;
        int r = parse_service(m, section, e);
        if (r < 0)
            return r;
        last = section;
    }
    return 0;
}

const struct manifest_service *manifest_service(const struct manifest *m, const char *name) {
    for (size_t i = 0; i < m->n_services; i++)
        if (strcmp(m->services[i].name, name) == 0)
            return &m->services[i];
    return NULL;
}

static int parse_file(const struct keyfile_entry *en, struct manifest_file *f, struct err *e) {
    char hash[65], mode[5], extra;
    unsigned long long size;
    unsigned perm;

    if (!path_is_valid(en->key))
        return err_set(e, -E_MALFORMED, "line %u: '%.100s' is not a valid package path", en->line, en->key);
    f->path = en->key;
    if (strncmp(en->value, "symlink ", 8) == 0) {
        f->type = FILE_SYMLINK;
        f->target = en->value + 8;
        if (!symlink_stays_inside(f->path, f->target))
            return err_set(e, -E_MALFORMED, "%s: symlink to '%.100s' leaves the package", f->path, f->target);
        return 0;
    }
    f->type = FILE_REGULAR;
    if (sscanf(en->value, "%64s %llu %4s%c", hash, &size, mode, &extra) != 3 || strlen(mode) != 4 ||
        strspn(mode, "01234567") != 4 || hex_decode(hash, f->hash, sizeof f->hash) < 0 || en->value[0] == ' ')
        return err_set(e, -E_MALFORMED, "line %u: %s: expected 'HASH SIZE MODE'", en->line, f->path);
    if (size > FILE_SIZE_MAX)
        return err_set(e, -E_MALFORMED, "%s: %llu bytes is more than one file may hold", f->path, size);
    perm = (unsigned)strtoul(mode, NULL, 8);
    if (perm & 07000)
        return err_set(e, -E_MALFORMED, "%s: mode %s sets a setuid, setgid or sticky bit", f->path, mode);
    if (perm & 0022)
        return err_set(e, -E_MALFORMED, "%s: mode %s lets others write", f->path, mode);
    if (!(perm & 0400))
        return err_set(e, -E_MALFORMED, "%s: mode %s is not readable", f->path, mode);
    f->size = size;
    f->mode = perm;
    return 0;
}

static int file_path_cmp(const void *key, const void *elem) {
    return strcmp(key, ((const struct manifest_file *)elem)->path);
}

const struct manifest_file *manifest_find(const struct manifest *m, const char *path) {
    return bsearch(path, m->files, m->n_files, sizeof *m->files, file_path_cmp);
}

/* No file may also be a folder of another: "a" and "a/b" cannot both be there. */
static int check_parents(const struct manifest *m, struct err *e) {
    char buf[PATH_BYTES_MAX + 1];
    for (size_t i = 0; i < m->n_files; i++) {
        const char *p = m->files[i].path;
        for (const char *slash = strchr(p, '/'); slash; slash = strchr(slash + 1, '/')) {
            memcpy(buf, p, (size_t)(slash - p));
            buf[slash - p] = '\0';
            if (manifest_find(m, buf))
                return err_set(e, -E_MALFORMED, "%s is listed both as a file and as a folder of %s", buf, p);
        }
    }
    return 0;
}

#define LINK_HOPS_MAX 40
#define LINK_PATH_MAX 4096

/* Drop the last name of the path in buf[0..*n). */
static void pop_name(char *buf, size_t *n) {
    while (*n > 0 && buf[*n - 1] != '/')
        (*n)--;
    if (*n > 0)
        (*n)--;
    buf[*n] = '\0';
}

/*
 * Walk target from the folder in buf, following the package's own links as the kernel
 * will: -1 if it climbs out of the package, -2 if it loops or grows too long. *budget
 * bounds the link text followed over the whole manifest, so that links nested in links
 * cannot make checking a signed manifest take long.
 */
static int resolve_inside(const struct manifest *m, char *buf, size_t *n, const char *target, unsigned *hops,
                          size_t *budget) {
    for (const char *c = target; *c; c += *c == '/') {
        size_t k = strcspn(c, "/");
        if (k == 2 && c[0] == '.' && c[1] == '.') {
            if (*n == 0)
                return -1;
            pop_name(buf, n);
        } else if (k > 0 && !(k == 1 && c[0] == '.')) {
            if (*n + 1 + k >= LINK_PATH_MAX)
                return -2;
            if (*n > 0)
                buf[(*n)++] = '/';
            memcpy(buf + *n, c, k);
            *n += k;
            buf[*n] = '\0';
            const struct manifest_file *f = manifest_find(m, buf);
            if (f && f->type == FILE_SYMLINK) {
                int r;
                size_t len = strlen(f->target);
                if (++*hops > LINK_HOPS_MAX || len > *budget)
                    return -2;
                *budget -= len;
                pop_name(buf, n); /* a link's target starts from the link's folder */
                if ((r = resolve_inside(m, buf, n, f->target, hops, budget)) < 0)
                    return r;
            }
        }
        c += k;
    }
    return 0;
}

/* Each target was checked on its own; through other links (b -> ".", a -> "b/..") it may still climb out. */
static int check_links(const struct manifest *m, struct err *e) {
    char buf[LINK_PATH_MAX];
    size_t budget = MANIFEST_MAX;
    for (size_t i = 0; i < m->n_files; i++) {
        const struct manifest_file *f = &m->files[i];
        if (f->type != FILE_SYMLINK)
            continue;
        const char *slash = strrchr(f->path, '/');
        size_t n = slash ? (size_t)(slash - f->path) : 0;
        unsigned hops = 0;
        memcpy(buf, f->path, n);
        buf[n] = '\0';
        int r = resolve_inside(m, buf, &n, f->target, &hops, &budget);
        if (r == -1)
            return err_set(e, -E_MALFORMED, "%s: symlink to '%.100s' leaves the package through other symlinks",
                           f->path, f->target);
        if (r < 0)
            return err_set(e, -E_MALFORMED, "%s: symlink to '%.100s' loops or nests too deep", f->path, f->target);
    }
    return 0;
}

static int parse_files(struct manifest *m, struct err *e) {
    size_t n = 0;
    for (size_t i = 0; i < m->kf->n_entries; i++)
        n += strcmp(m->kf->entries[i].section, "files") == 0 && m->kf->entries[i].key;
    if (n > MANIFEST_FILES_MAX)
        return err_set(e, -E_MALFORMED, "[files] lists %zu files, more than %d", n, MANIFEST_FILES_MAX);
    m->files = calloc(n ? n : 1, sizeof *m->files);
    if (!m->files)
        return err_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < m->kf->n_entries; i++) {
        const struct keyfile_entry *en = &m->kf->entries[i];
        if (strcmp(en->section, "files") != 0 || !en->key)
            continue;
        struct manifest_file *f = &m->files[m->n_files];
        int r = parse_file(en, f, e);
        if (r < 0)
            return r;
        if (m->n_files > 0 && strcmp(f[-1].path, f->path) >= 0)
            return err_set(e, -E_MALFORMED, "line %u: [files] is not sorted by path", en->line);
        m->total_size += f->size;
        m->n_files++;
    }
    if (m->total_size > TOTAL_SIZE_MAX)
        return err_set(e, -E_MALFORMED, "the files add up to more than a package may hold");
    int r = check_parents(m, e);
    return r < 0 ? r : check_links(m, e);
}

static int check_entry_points(const struct manifest *m, struct err *e) {
    const struct manifest_file *f = manifest_find(m, m->exec);
    if (!f)
        return err_set(e, -E_MALFORMED, "exec %s is not in the package", m->exec);
    if (f->type != FILE_REGULAR || !(f->mode & 0100))
        return err_set(e, -E_MALFORMED, "exec %s is not an executable file", m->exec);
    if (m->icon && (!(f = manifest_find(m, m->icon)) || f->type != FILE_REGULAR))
        return err_set(e, -E_MALFORMED, "icon %s is not a file in the package", m->icon);
    for (size_t i = 0; i < m->n_services; i++) {
        f = manifest_find(m, m->services[i].exec);
        if (!f || f->type != FILE_REGULAR || !(f->mode & 0100))
            return err_set(e, -E_MALFORMED, "service %s: exec %s is not an executable file in the package",
                           m->services[i].name, m->services[i].exec);
    }
    return 0;
}

int manifest_parse(const char *text, size_t len, unsigned flags, struct manifest **ret, struct err *e) {
    _cleanup_manifest_ struct manifest *m = NULL;
    int r;

    if (len > MANIFEST_MAX)
        return err_set(e, -E_MALFORMED, "manifest: larger than %u bytes", MANIFEST_MAX);
    if (!(m = calloc(1, sizeof *m)))
        return err_set(e, -ENOMEM, "out of memory");
    if ((r = keyfile_parse(text, len, &m->kf, e)) < 0 || (r = check_keys(m->kf, flags, e)) < 0 ||
        (r = parse_package(m, e)) < 0 || (r = parse_app(m, e)) < 0 || (r = parse_services(m, e)) < 0)
        return err_prefix(e, r, "manifest");
    if (!(flags & MANIFEST_SOURCE)) {
        if (!keyfile_has_section(m->kf, "files"))
            return err_set(e, -E_MALFORMED, "manifest: no [files] section");
        if ((r = parse_files(m, e)) < 0 || (r = check_entry_points(m, e)) < 0)
            return err_prefix(e, r, "manifest");
    }
    *ret = TAKE_PTR(m);
    return 0;
}

struct manifest *manifest_free(struct manifest *m) {
    if (m) {
        keyfile_free(m->kf);
        free(m->files);
        free(m);
    }
    return NULL;
}
