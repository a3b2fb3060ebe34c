/* display-files.c: what an app's sandbox must hold for the toolkit to draw: its libraries and fonts. */
#include <errno.h>
#include <fcntl.h>
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "display.h"
#include "slated.h"
#include "stack.h"
#include "text.h"

/*
 * libslate loads its graphics stack (FreeType, HarfBuzz and what they need: glib, graphite2,
 * libpng, zlib, brotli, ...) by soname on first use, through the same loader and at the same
 * paths inside a sandbox as on the host. Which files that takes is the loader's business, so
 * slated asks it: a child loads the whole stack as an app would, lists every object mapped
 * (dl_iterate_phdr), and exits. slated itself maps none of it, and nothing here guesses a
 * dependency list that a library update could change.
 */
#define FILES_BYTES 16384

struct listing {
    int fd;
    int err;
};

/* Each object as the loader will look for it in a sandbox: its real folder, the name it was opened by (the soname's link). */
static int list_object(struct dl_phdr_info *info, size_t size, void *userdata) {
    struct listing *l = userdata;
    char dir[PATH_MAX], real[PATH_MAX];
    (void)size;
    const char *name = info->dlpi_name, *slash = name ? strrchr(name, '/') : NULL;
    if (!slash || name[0] != '/' || (size_t)(slash - name) >= sizeof dir)
        return 0; /* the program itself, the vDSO */
    memcpy(dir, name, (size_t)(slash - name));
    dir[slash - name] = '\0';
    if (!realpath(dir[0] ? dir : "/", real))
        return 0;
    char line[PATH_MAX * 2 + 2];
    int n = snprintf(line, sizeof line, "%s/%s", real, slash + 1);
    if (n < 0 || (size_t)n >= PATH_MAX)
        return 0;
    if (write(l->fd, line, (size_t)n + 1) != n + 1)
        l->err = errno ? errno : EIO;
    return l->err;
}

static _Noreturn void child(int fd) {
    struct err e = {0};
    struct listing l = {fd, 0};
    if (ui_stack_load(&e) < 0) {
        /* The reason, marked as such, for the parent's error line. */
        dprintf(fd, "!%s", e.msg);
        _exit(1);
    }
    dl_iterate_phdr(list_object, &l);
    _exit(l.err ? 1 : 0);
}

/* Whether target is bound already (the C library, the loader, libslate). */
static bool bound(const struct slated *s, const char *target) {
    for (size_t i = 0; i < s->n_libs; i++)
        if (strcmp(s->libs[i].target, target) == 0)
            return true;
    return false;
}

static int add(struct slated *s, const char *path, struct err *e) {
    if (bound(s, path))
        return 0;
    if (s->n_libs >= sizeof s->libs / sizeof *s->libs)
        return err_set(e, -E2BIG, "display: the toolkit needs more than %zu files in a sandbox",
                       sizeof s->libs / sizeof *s->libs);
    s->libs[s->n_libs++] = (struct sandbox_bind){path, path};
    return 0;
}

int display_sandbox_files(struct slated *s, struct err *e) {
    int p[2];
    if (pipe2(p, O_CLOEXEC) < 0)
        return err_set(e, -errno, "pipe: %s", strerror(errno));
    pid_t pid = fork();
    if (pid < 0) {
        int r = -errno;
        close(p[0]), close(p[1]);
        return err_set(e, r, "fork: %s", strerror(-r));
    }
    if (pid == 0) {
        close(p[0]);
        child(p[1]);
    }
    close(p[1]);
    char *buf = malloc(FILES_BYTES);
    size_t len = 0;
    ssize_t n = 0;
    while (buf && len < FILES_BYTES && ((n = read(p[0], buf + len, FILES_BYTES - len)) > 0 || (n < 0 && errno == EINTR)))
        len += n > 0 ? (size_t)n : 0;
    close(p[0]);
    int status = 0;
    while (waitpid(pid, &status, 0) < 0 && errno == EINTR)
        ;
    if (!buf)
        return err_set(e, -ENOMEM, "display: out of memory");
    if (len == FILES_BYTES || (len && buf[len - 1] != '\0') || !WIFEXITED(status) || WEXITSTATUS(status) != 0) {
        int r = len > 1 && buf[0] == '!' ? err_set(e, -ELIBACC, "display: %.*s", (int)len - 1, buf + 1)
                                     : err_set(e, -EIO, "display: listing the toolkit's libraries failed");
        free(buf);
        return r;
    }
    free(s->toolkit_files);
    s->toolkit_files = buf;
    int r = 0;
    for (size_t at = 0; r == 0 && at < len; at += strlen(buf + at) + 1)
        r = add(s, buf + at, e);
    /* The fonts and libthai's word list: each one there is bound (text falls back past a missing one). */
    size_t n_files;
    const char *const *files = text_files(&n_files);
    for (size_t i = 0; r == 0 && i < n_files; i++)
        if (access(files[i], R_OK) == 0)
            r = add(s, files[i], e);
    return r;
}
