/* descriptor.c: reading and writing the platform descriptor. */
#include "descriptor.h"

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "keyfile.h"

int read_file_at(int dirfd, const char *path, size_t max, char **ret, size_t *ret_len) {
    int fd = openat(dirfd, path, O_RDONLY | O_CLOEXEC | O_NOFOLLOW | O_NOCTTY);
    if (fd < 0)
        return -errno;
    struct stat st;
    char *buf = NULL;
    size_t n = 0, cap = 0;
    int r = 0;
    if (fstat(fd, &st) < 0)
        r = -errno;
    else if (!S_ISREG(st.st_mode))
        r = -EBADFD;
    else if ((size_t)st.st_size > max)
        r = -EFBIG;
    else
        cap = (size_t)st.st_size + 1; /* one more byte shows whether it grew meanwhile */
    for (size_t allocated = 0; r == 0;) {
        if (n == cap) { /* it grew since fstat: read on, up to max */
            if (cap > max) {
                r = -EFBIG;
                break;
            }
            cap = cap * 2 > max + 1 ? max + 1 : cap * 2;
        }
        if (cap + 1 > allocated) {
            char *p = realloc(buf, cap + 1);
            if (!p) {
                r = -ENOMEM;
                break;
            }
            buf = p;
            allocated = cap + 1;
        }
        ssize_t k = read(fd, buf + n, cap - n);
        if (k < 0 && errno != EINTR)
            r = -errno;
        else if (k == 0)
            break;
        else if (k > 0)
            n += (size_t)k;
    }
    close(fd);
    if (r < 0) {
        free(buf);
        return r;
    }
    buf[n] = '\0';
    *ret = buf;
    *ret_len = n;
    return 0;
}

int platform_desc_parse(const char *data, size_t len, struct platform_desc *ret, struct err *e) {
    _cleanup_keyfile_ struct keyfile *kf = NULL;
    struct platform_desc d = {0};
    unsigned long api, min;
    int r = keyfile_parse(data, len, &kf, e);
    if (r < 0)
        return r;
    for (size_t i = 0; i < kf->n_entries; i++) {
        const struct keyfile_entry *en = &kf->entries[i];
        if (strcmp(en->section, "platform") != 0)
            return err_set(e, -E_MALFORMED, "unknown section [%s]", en->section);
        if (en->key && strcmp(en->key, "api_level") && strcmp(en->key, "min_api_level") &&
            strcmp(en->key, "release") && strcmp(en->key, "eol"))
            return err_set(e, -E_MALFORMED, "line %u: unknown key '%s'", en->line, en->key);
    }
    if ((r = keyfile_get_uint(kf, "platform", "api_level", 1, API_LEVEL_MAX, &api, e)) < 0 ||
        (r = keyfile_get_uint(kf, "platform", "min_api_level", 1, API_LEVEL_MAX, &min, e)) < 0)
        return r == -ENOENT ? err_set(e, -E_MALFORMED, "api_level and min_api_level are required") : r;
    if (min > api)
        return err_set(e, -E_MALFORMED, "min_api_level %lu is above api_level %lu", min, api);
    const char *release = keyfile_get(kf, "platform", "release");
    const char *eol = keyfile_get(kf, "platform", "eol");
    if (release && strlen(release) >= sizeof d.release)
        return err_set(e, -E_MALFORMED, "release is longer than %zu bytes", sizeof d.release - 1);
    if (release && strchr(release, '#')) /* as 'slate init' says: written back, '#' would start a comment */
        return err_set(e, -E_MALFORMED, "release '%s' has a '#'", release);
    if (eol && strcmp(eol, "true") && strcmp(eol, "false"))
        return err_set(e, -E_MALFORMED, "eol = '%s' is neither true nor false", eol);
    d.api_level = (unsigned)api;
    d.min_api_level = (unsigned)min;
    d.eol = eol && strcmp(eol, "true") == 0;
    snprintf(d.release, sizeof d.release, "%s", release ? release : "");
    *ret = d;
    return 0;
}

int platform_desc_load(int rootfd, struct platform_desc *ret, struct err *e) {
    char *data;
    size_t len;
    int r = read_file_at(rootfd, PLATFORM_DESCRIPTOR, PLATFORM_DESCRIPTOR_MAX, &data, &len);
    if (r == -ENOENT)
        return err_set(e, r, "no platform descriptor (%s): is this a device root? Create one with 'slate init'",
                       PLATFORM_DESCRIPTOR);
    if (r < 0)
        return err_set(e, r, "%s: %s", PLATFORM_DESCRIPTOR, strerror(-r));
    r = platform_desc_parse(data, len, ret, e);
    free(data);
    return r < 0 ? err_prefix(e, r, "%s", PLATFORM_DESCRIPTOR) : 0;
}

int platform_desc_format(const struct platform_desc *d, char *buf, size_t size) {
    int n = snprintf(buf, size,
                     "# Slate platform descriptor: what this device provides.\n"
                     "[platform]\n"
                     "api_level = %u\n"
                     "min_api_level = %u\n"
                     "release = %s\n"
                     "eol = %s\n",
                     d->api_level, d->min_api_level, d->release, d->eol ? "true" : "false");
    return n < 0 || (size_t)n >= size ? -ENOSPC : n;
}
