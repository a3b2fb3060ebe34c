/* driver.c: a standalone main() for the fuzz targets: runs every file named on the command line once. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"

#define INPUT_MAX (16u << 20) /* larger inputs are a mistake in the corpus, not something to fuzz */

static int run_file(const char *path) {
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    struct stat st;
    if (fd < 0 || fstat(fd, &st) < 0 || st.st_size > INPUT_MAX) {
        fprintf(stderr, "driver: %s: %s\n", path, fd < 0 ? strerror(errno) : "cannot read or too large");
        if (fd >= 0)
            close(fd);
        return -1;
    }
    /* An exactly sized heap copy, so that ASan sees reads past the end as libFuzzer would. */
    uint8_t *buf = malloc(st.st_size ? (size_t)st.st_size : 1);
    size_t len = 0;
    ssize_t k = 0;
    while (buf && len < (size_t)st.st_size && (k = read(fd, buf + len, (size_t)st.st_size - len)) > 0)
        len += (size_t)k;
    close(fd);
    if (!buf || k < 0) {
        fprintf(stderr, "driver: %s: cannot read\n", path);
        free(buf);
        return -1;
    }
    LLVMFuzzerTestOneInput(buf, len);
    free(buf);
    return 1;
}

/* Every regular file of a folder, in name order so runs are repeatable. */
static int run_dir(const char *path) {
    struct dirent **list;
    int n = scandir(path, &list, NULL, alphasort), count = 0;
    if (n < 0) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    for (int i = 0; i < n; i++) {
        char sub[4096];
        struct stat st;
        if (count >= 0 && list[i]->d_name[0] != '.' &&
            snprintf(sub, sizeof sub, "%s/%s", path, list[i]->d_name) < (int)sizeof sub && stat(sub, &st) == 0 &&
            S_ISREG(st.st_mode)) {
            int k = run_file(sub);
            count = k < 0 ? -1 : count + k;
        }
        free(list[i]);
    }
    free(list);
    return count;
}

/* A file runs once; a folder runs each file in it. Returns how many ran, or -1. */
static int run_arg(const char *path) {
    struct stat st;
    if (stat(path, &st) < 0) {
        fprintf(stderr, "driver: %s: %s\n", path, strerror(errno));
        return -1;
    }
    return S_ISDIR(st.st_mode) ? run_dir(path) : run_file(path);
}

int main(int argc, char **argv) {
    int total = 0;
    for (int i = 1; i < argc; i++) {
        int k = run_arg(argv[i]);
        if (k < 0)
            return 1;
        total += k;
    }
    if (total == 0) {
        fprintf(stderr, "driver: no inputs\n");
        return 1;
    }
    printf("%s: %d inputs ran\n", argv[0], total);
    return 0;
}
