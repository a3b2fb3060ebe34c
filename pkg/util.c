/* util.c: hex, versions, package paths and directory-fd file helpers. */
#include "util.h"

#include <dirent.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "keyfile.h"

void hex_encode(const uint8_t *in, size_t n, char *out) {
    static const char digits[] = "0123456789abcdef";
    for (size_t i = 0; i < n; i++) {
        out[2 * i] = digits[in[i] >> 4];
        out[2 * i + 1] = digits[in[i] & 15];
    }
    out[2 * n] = '\0';
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9')
        return c - '0';
    if (c >= 'a' && c <= 'f')
        return c - 'a' + 10;
    return -1; /* upper case is refused: one spelling per value */
}

int hex_decode(const char *in, uint8_t *out, size_t n) {
    if (strlen(in) != 2 * n)
        return -EINVAL;
    for (size_t i = 0; i < n; i++) {
        int hi = hex_value(in[2 * i]), lo = hex_value(in[2 * i + 1]);
        if (hi < 0 || lo < 0)
            return -EINVAL;
        out[i] = (uint8_t)(hi << 4 | lo);
    }
    return 0;
}

int version_parse(const char *s, struct version *ret) {
    char part[3][12];
    const char *p = s;
    for (int i = 0; i < 3; i++) {
        size_t n = strcspn(p, ".");
        if (n == 0 || n >= sizeof part[i] || (i < 2 && p[n] != '.') || (i == 2 && p[n] != '\0'))
            return -EINVAL;
        memcpy(part[i], p, n);
        part[i][n] = '\0';
        p += n + (i < 2);
    }
    unsigned long v[3];
    for (int i = 0; i < 3; i++)
        if (parse_uint(part[i], 0, INT32_MAX, &v[i]) < 0)
            return -EINVAL;
    *ret = (struct version){(uint32_t)v[0], (uint32_t)v[1], (uint32_t)v[2]};
    return 0;
}

int version_cmp(const struct version *a, const struct version *b) {
    if (a->major != b->major)
        return a->major < b->major ? -1 : 1;
    if (a->minor != b->minor)
        return a->minor < b->minor ? -1 : 1;
    if (a->patch != b->patch)
        return a->patch < b->patch ? -1 : 1;
    return 0;
}

int version_cmp_str(const char *a, const char *b) {
    struct version x = {0}, y = {0};
    (void)version_parse(a, &x);
    (void)version_parse(b, &y);
    return version_cmp(&x, &y);
}

static bool path_char_ok(char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || strchr("._-+@,:~%", c);
}

bool path_is_valid(const char *path) {
    size_t len = strlen(path);
    if (len == 0 || len > PATH_BYTES_MAX)
        return false;
    for (const char *c = path, *comp = path;; c++) {
        if (*c == '/' || *c == '\0') {
            size_t n = (size_t)(c - comp);
            if (n == 0 || (n == 1 && comp[0] == '.') || (n == 2 && comp[0] == '.' && comp[1] == '.'))
                return false;
            if (*c == '\0')
                return true;
            comp = c + 1;
        } else if (!path_char_ok(*c))
            return false;
    }
}

bool symlink_stays_inside(const char *link_path, const char *target) {
    if (!*target || *target == '/' || strlen(target) > PATH_BYTES_MAX)
        return false;
    /* The link's own folder depth is where resolution starts. */
    long depth = 0;
    for (const char *c = link_path; *c; c++)
        depth += *c == '/';
    for (const char *c = target, *comp = target;; c++) {
        if (*c != '/' && *c != '\0')
            continue;
        size_t n = (size_t)(c - comp);
        if (n == 2 && comp[0] == '.' && comp[1] == '.') {
            if (--depth < 0)
                return false;
        } else if (n > 0 && !(n == 1 && comp[0] == '.'))
            depth++;
        if (*c == '\0')
            return true;
        comp = c + 1;
    }
}

int open_parent_at(int dirfd, const char *path, bool create, const char **ret_base) {
    int fd;
    if (path[0] == '/' || dirfd == AT_FDCWD)
        fd = open(path[0] == '/' ? "/" : ".", O_PATH | O_DIRECTORY | O_CLOEXEC);
    else
        fd = fcntl(dirfd, F_DUPFD_CLOEXEC, 3);
    if (fd < 0)
        return -errno;
    const char *comp = path + strspn(path, "/");
    for (const char *slash; (slash = strchr(comp, '/'));) {
        char name[PATH_BYTES_MAX + 1];
        size_t n = (size_t)(slash - comp);
        if (n == 0 || n > PATH_BYTES_MAX) {
            close(fd);
            return -EINVAL;
        }
        memcpy(name, comp, n);
        name[n] = '\0';
        if (create && mkdirat(fd, name, 0755) < 0 && errno != EEXIST) {
            int r = -errno;
            close(fd);
            return r;
        }
        int next = openat(fd, name, O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
        int r = -errno;
        close(fd);
        if (next < 0)
            return r;
        fd = next;
        comp = slash + 1;
    }
    *ret_base = comp;
    return fd;
}

int mkdir_parents_at(int dirfd, const char *path) {
    char buf[PATH_MAX];
    if (snprintf(buf, sizeof buf, "%s/", path) >= (int)sizeof buf)
        return -ENAMETOOLONG;
    const char *base;
    int fd = open_parent_at(dirfd, buf, true, &base);
    if (fd < 0)
        return fd;
    close(fd);
    return 0;
}

static int rm_children(int fd) {
    DIR *d = fdopendir(fd);
    if (!d) {
        close(fd);
        return -errno;
    }
    int r = 0;
    for (struct dirent *de; (errno = 0, de = readdir(d));) {
        if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
            continue;
        int k = rm_rf_at(dirfd(d), de->d_name);
        if (k < 0 && r == 0)
            r = k;
    }
    if (errno && r == 0)
        r = -errno;
    closedir(d);
    return r;
}

int rm_rf_at(int dirfd, const char *name) {
    if (unlinkat(dirfd, name, 0) == 0 || errno == ENOENT)
        return 0;
    if (errno != EISDIR && errno != EPERM)
        return -errno;
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0)
        return errno == ENOENT ? 0 : -errno;
    int r = rm_children(fd);
    if (unlinkat(dirfd, name, AT_REMOVEDIR) < 0 && errno != ENOENT && r == 0)
        r = -errno;
    return r;
}

int write_all(int fd, const void *buf, size_t len) {
    const char *p = buf;
    while (len > 0) {
        ssize_t k = write(fd, p, len);
        if (k < 0 && errno == EINTR)
            continue;
        if (k < 0)
            return -errno;
        p += k;
        len -= (size_t)k;
    }
    return 0;
}

int fsync_dir_at(int dirfd, const char *name) {
    int fd = openat(dirfd, name, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0)
        return -errno;
    int r = fsync(fd) < 0 ? -errno : 0;
    close(fd);
    return r;
}

int write_file_atomic_at(int dirfd, const char *name, const void *data, size_t len, mode_t mode) {
    char tmp[PATH_MAX];
    if (snprintf(tmp, sizeof tmp, "%s.tmp-%d", name, (int)getpid()) >= (int)sizeof tmp)
        return -ENAMETOOLONG;
    int fd = openat(dirfd, tmp, O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, mode);
    if (fd < 0)
        return -errno;
    int r = write_all(fd, data, len);
    if (r == 0 && fchmod(fd, mode) < 0)
        r = -errno;
    if (r == 0 && fsync(fd) < 0)
        r = -errno;
    if (close(fd) < 0 && r == 0)
        r = -errno;
    if (r == 0 && renameat(dirfd, tmp, dirfd, name) < 0)
        r = -errno;
    if (r < 0) {
        unlinkat(dirfd, tmp, 0);
        return r;
    }
    return fsync_dir_at(dirfd, ".");
}

int parse_size(const char *s, uint64_t *ret) {
    char digits[24];
    size_t n = strspn(s, "0123456789");
    uint64_t unit = 1;
    if (n == 0 || n >= sizeof digits)
        return -EINVAL;
    switch (s[n]) {
    case '\0': break;
    case 'K': unit = 1ULL << 10; break;
    case 'M': unit = 1ULL << 20; break;
    case 'G': unit = 1ULL << 30; break;
    default: return -EINVAL;
    }
    if (s[n] && s[n + 1])
        return -EINVAL;
    memcpy(digits, s, n);
    digits[n] = '\0';
    unsigned long v;
    if (parse_uint(digits, 1, (unsigned long)(UINT64_C(1) << 40) / unit, &v) < 0)
        return -EINVAL;
    *ret = (uint64_t)v * unit;
    return 0;
}

size_t utf8_next(const char *s, size_t n, uint32_t *cp) {
    const unsigned char *u = (const unsigned char *)s;
    static const uint32_t min[5] = {0, 0, 0x80, 0x800, 0x10000};
    size_t len = u[0] < 0x80 ? 1 : (u[0] & 0xe0) == 0xc0 ? 2 : (u[0] & 0xf0) == 0xe0 ? 3 : (u[0] & 0xf8) == 0xf0 ? 4 : 0;
    if (len == 0 || len > n)
        return 0;
    uint32_t c = len == 1 ? u[0] : u[0] & (0x7f >> len);
    for (size_t i = 1; i < len; i++) {
        if ((u[i] & 0xc0) != 0x80)
            return 0;
        c = c << 6 | (u[i] & 0x3f);
    }
    if (c < min[len] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff))
        return 0;
    *cp = c;
    return len;
}

bool utf8_printable(const char *s) {
    size_t n = strlen(s);
    for (size_t i = 0; i < n;) {
        uint32_t c;
        size_t k = utf8_next(s + i, n - i, &c);
        if (k == 0 || c < 0x20 || (c >= 0x7f && c < 0xa0))
            return false;
        i += k;
    }
    return true;
}
