/* keyfile.c: a strict, bounded reader for Slate's INI-style files. */
#include "keyfile.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

struct parser {
    struct keyfile *kf;
    size_t cap;
    const char **sections;
    size_t n_sections, cap_sections;
    const char *section;
    unsigned line;
    struct err *e;
};

static char *trim(char *s, char *end) {
    while (s < end && (*s == ' ' || *s == '\t'))
        s++;
    while (end > s && (end[-1] == ' ' || end[-1] == '\t'))
        end--;
    *end = '\0';
    return s;
}

static bool is_name_char(char c) {
    return isalnum((unsigned char)c) || c == '_' || c == '-' || c == '.';
}

static int grow(void **array, size_t *cap, size_t need, size_t size) {
    if (need <= *cap)
        return 0;
    size_t n = *cap ? *cap * 2 : 16;
    void *p = reallocarray(*array, n, size);
    if (!p)
        return -ENOMEM;
    *array = p;
    *cap = n;
    return 0;
}

static int parse_section(struct parser *p, char *s, char *end) {
    /* s points at '[' and end at the line's end, trailing blanks already cut */
    if (end[-1] != ']' || end - s < 3)
        return err_set(p->e, -E_MALFORMED, "line %u: malformed section header", p->line);
    char *name = s + 1;
    end[-1] = '\0';
    char *space = strchr(name, ' ');
    for (char *c = name; *c; c++)
        if (c != space && !is_name_char(*c))
            return err_set(p->e, -E_MALFORMED, "line %u: section name has a character that is not allowed", p->line);
    if (space == name || (space && space[1] == '\0'))
        return err_set(p->e, -E_MALFORMED, "line %u: malformed section header", p->line);
    /* Few sections are ever needed; the cap also keeps this check's cost bounded. */
    if (p->n_sections == KEYFILE_SECTIONS_MAX)
        return err_set(p->e, -E_MALFORMED, "line %u: more than %d sections", p->line, KEYFILE_SECTIONS_MAX);
    for (size_t i = 0; i < p->n_sections; i++)
        if (strcmp(p->sections[i], name) == 0)
            return err_set(p->e, -E_MALFORMED, "line %u: section [%s] appears twice", p->line, name);
    if (grow((void **)&p->sections, &p->cap_sections, p->n_sections + 1, sizeof *p->sections) < 0)
        return err_set(p->e, -ENOMEM, "out of memory");
    p->sections[p->n_sections++] = name;
    p->section = name;
    return 0;
}

static int parse_pair(struct parser *p, char *s, char *end) {
    char *eq = memchr(s, '=', (size_t)(end - s));
    if (!eq)
        return err_set(p->e, -E_MALFORMED, "line %u: expected 'key = value'", p->line);
    if (!p->section)
        return err_set(p->e, -E_MALFORMED, "line %u: key outside any section", p->line);
    char *key = trim(s, eq);
    if (!*key)
        return err_set(p->e, -E_MALFORMED, "line %u: empty key", p->line);
    for (char *c = key; *c; c++)
        if (*c == ' ' || *c == '\t' || *c == '[' || *c == ']')
            return err_set(p->e, -E_MALFORMED, "line %u: key has a character that is not allowed", p->line);
    /* An inline comment starts at a '#' that follows a blank. */
    char *v = eq + 1, *vend = end;
    for (char *c = v; c < end; c++)
        if (*c == '#' && c > v && (c[-1] == ' ' || c[-1] == '\t')) {
            vend = c;
            break;
        }
    char *value = trim(v, vend);
    if (grow((void **)&p->kf->entries, &p->cap, p->kf->n_entries + 1, sizeof *p->kf->entries) < 0)
        return err_set(p->e, -ENOMEM, "out of memory");
    p->kf->entries[p->kf->n_entries++] = (struct keyfile_entry){p->section, key, value, p->line};
    return 0;
}

static int parse_line(struct parser *p, char *s, char *end) {
    for (char *c = s; c < end; c++)
        if ((unsigned char)*c < 0x20 && *c != '\t')
            return err_set(p->e, -E_MALFORMED, "line %u: control character in text", p->line);
    if ((size_t)(end - s) > KEYFILE_LINE_MAX)
        return err_set(p->e, -E_MALFORMED, "line %u: longer than %d bytes", p->line, KEYFILE_LINE_MAX);
    char *t = trim(s, end);
    end = t + strlen(t);
    if (*t == '\0' || *t == '#' || *t == ';')
        return 0;
    if (*t == '[')
        return parse_section(p, t, end);
    return parse_pair(p, t, end);
}

static int entry_cmp(const void *a, const void *b) {
    const struct keyfile_entry *x = *(const struct keyfile_entry *const *)a;
    const struct keyfile_entry *y = *(const struct keyfile_entry *const *)b;
    int r = strcmp(x->section, y->section);
    if (r == 0)
        r = strcmp(x->key, y->key);
    if (r == 0)
        r = x->line < y->line ? -1 : x->line > y->line;
    return r;
}

/* Sorting pointers finds repeated keys in O(n log n): manifests list thousands of files. */
static int check_duplicates(const struct keyfile *kf, struct err *e) {
    if (kf->n_entries < 2)
        return 0;
    const struct keyfile_entry **v = calloc(kf->n_entries, sizeof *v);
    if (!v)
        return err_set(e, -ENOMEM, "out of memory");
    for (size_t i = 0; i < kf->n_entries; i++)
        v[i] = &kf->entries[i];
    qsort(v, kf->n_entries, sizeof *v, entry_cmp);
    int r = 0;
    for (size_t i = 1; i < kf->n_entries && r == 0; i++)
        if (strcmp(v[i - 1]->section, v[i]->section) == 0 && strcmp(v[i - 1]->key, v[i]->key) == 0)
            r = err_set(e, -E_MALFORMED, "line %u: key '%s' repeats line %u", v[i]->line, v[i]->key, v[i - 1]->line);
    free(v);
    return r;
}

int keyfile_parse(const char *data, size_t len, struct keyfile **ret, struct err *e) {
    struct keyfile *kf = calloc(1, sizeof *kf);
    if (!kf || !(kf->text = malloc(len + 1))) {
        free(kf);
        return err_set(e, -ENOMEM, "out of memory");
    }
    memcpy(kf->text, data, len);
    kf->text[len] = '\0';

    struct parser p = {.kf = kf, .e = e};
    int r = 0;
    if (memchr(data, '\0', len))
        r = err_set(e, -E_MALFORMED, "NUL byte in text");
    for (char *s = kf->text, *end = kf->text + len; r == 0 && s < end;) {
        char *nl = memchr(s, '\n', (size_t)(end - s));
        char *stop = nl ? nl : end;
        p.line++;
        r = parse_line(&p, s, stop);
        s = stop + 1;
    }
    if (r == 0)
        r = check_duplicates(kf, e);
    if (r < 0) {
        free(p.sections);
        keyfile_free(kf);
        return r;
    }
    /* Empty sections are remembered as entries with a NULL key. */
    for (size_t i = 0; i < p.n_sections && r == 0; i++)
        if (!keyfile_has_section(kf, p.sections[i])) {
            if (grow((void **)&kf->entries, &p.cap, kf->n_entries + 1, sizeof *kf->entries) < 0)
                r = err_set(e, -ENOMEM, "out of memory");
            else
                kf->entries[kf->n_entries++] = (struct keyfile_entry){p.sections[i], NULL, NULL, 0};
        }
    free(p.sections);
    if (r < 0) {
        keyfile_free(kf);
        return r;
    }
    *ret = kf;
    return 0;
}

struct keyfile *keyfile_free(struct keyfile *kf) {
    if (kf) {
        free(kf->entries);
        free(kf->text);
        free(kf);
    }
    return NULL;
}

const char *keyfile_get(const struct keyfile *kf, const char *section, const char *key) {
    for (size_t i = 0; i < kf->n_entries; i++) {
        const struct keyfile_entry *en = &kf->entries[i];
        if (en->key && strcmp(en->key, key) == 0 && strcmp(en->section, section) == 0)
            return en->value;
    }
    return NULL;
}

int keyfile_has_section(const struct keyfile *kf, const char *section) {
    for (size_t i = 0; i < kf->n_entries; i++)
        if (strcmp(kf->entries[i].section, section) == 0)
            return 1;
    return 0;
}

int parse_uint(const char *s, unsigned long min, unsigned long max, unsigned long *ret) {
    unsigned long v = 0;
    if (!*s || (s[0] == '0' && s[1]))
        return -EINVAL;
    for (; *s; s++) {
        if (*s < '0' || *s > '9' || v > (max - (unsigned long)(*s - '0')) / 10)
            return -EINVAL;
        v = v * 10 + (unsigned long)(*s - '0');
    }
    if (v < min)
        return -EINVAL;
    *ret = v;
    return 0;
}

int keyfile_get_uint(const struct keyfile *kf, const char *section, const char *key, unsigned long min,
                     unsigned long max, unsigned long *ret, struct err *e) {
    const char *v = keyfile_get(kf, section, key);
    if (!v)
        return -ENOENT;
    if (parse_uint(v, min, max, ret) < 0)
        return err_set(e, -E_MALFORMED, "[%s] %s = '%s' is not a number from %lu to %lu", section, key, v, min, max);
    return 0;
}
