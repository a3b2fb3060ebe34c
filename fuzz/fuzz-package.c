/* fuzz-package.c: libFuzzer target for the .slp reader: header, manifest and payload, checked and written out. */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz.h"
#include "package.h"
#include "util.h"

/*
 * Without a signature check the manifest may claim gigabytes that a small zstd
 * frame inflates to; installs only trust a signed size. Past this the input
 * only measures decompression speed, so the payload pass is skipped.
 */
#define PAYLOAD_FUZZ_MAX (1u << 20)
#define STAGE "stage"

static int input_fd = -1; /* a memfd, refilled for each input */
static int root_fd = -1;  /* this process's scratch folder: it holds STAGE while an input is written */
static char root_path[4096];

static void cleanup(void) {
    if (root_fd >= 0) {
        (void)rm_rf_at(root_fd, STAGE);
        close(root_fd);
        rmdir(root_path);
    }
}

static void die(const char *what) {
    fprintf(stderr, "fuzz-package: %s: %m\n", what);
    abort();
}

/* The scratch folder goes under $TMPDIR, which meson test points into the build folder. */
static void setup(void) {
    const char *tmp = getenv("TMPDIR");
    if (snprintf(root_path, sizeof root_path, "%s/slate-fuzz-package-XXXXXX", tmp && *tmp ? tmp : "/tmp") >=
        (int)sizeof root_path)
        die("TMPDIR is too long");
    if (!mkdtemp(root_path))
        die(root_path);
    if ((root_fd = open(root_path, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
        die(root_path);
    if ((input_fd = memfd_create("fuzz-package", MFD_CLOEXEC)) < 0)
        die("memfd_create");
    atexit(cleanup);
}

static void load_input(const uint8_t *data, size_t size) {
    if (ftruncate(input_fd, 0) < 0 || (size && pwrite(input_fd, data, size, 0) != (ssize_t)size) ||
        lseek(input_fd, 0, SEEK_SET) < 0)
        die("memfd");
}

/* Nothing may appear in the scratch folder except STAGE: anything else escaped the staging folder. */
static void check_nothing_escaped(void) {
    int fd = openat(root_fd, ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    DIR *d = fd < 0 ? NULL : fdopendir(fd);
    if (!d)
        die("scratch folder");
    for (struct dirent *de; (de = readdir(d));)
        if (strcmp(de->d_name, ".") != 0 && strcmp(de->d_name, "..") != 0 && strcmp(de->d_name, STAGE) != 0) {
            fprintf(stderr, "fuzz-package: extraction wrote '%s' outside the staging folder\n", de->d_name);
            abort();
        }
    closedir(d);
}

/* One pass over the input; with write, the payload goes to a fresh STAGE folder that is removed after. */
static void one_pass(bool write) {
    struct package *p = NULL;
    struct err e = {0};
    bool *elf = NULL;
    int stage = -1;

    if (lseek(input_fd, 0, SEEK_SET) < 0)
        die("memfd");
    int r = package_open_raw(input_fd, &p, &e);
    if (r == 0)
        r = package_parse_unverified(p, &e);
    if (r == 0 && package_manifest(p)->total_size > PAYLOAD_FUZZ_MAX)
        r = err_set(&e, -EFBIG, "payload larger than the fuzz limit: not extracted");
    if (r < 0) {
        fuzz_trace("package header and manifest", r, &e);
        package_free(p);
        return;
    }
    if (write) {
        if (mkdirat(root_fd, STAGE, 0700) < 0 ||
            (stage = openat(root_fd, STAGE, O_RDONLY | O_DIRECTORY | O_CLOEXEC)) < 0)
            die("staging folder");
    }
    r = package_extract(p, stage, &elf, &e);
    fuzz_trace(write ? "package payload (written)" : "package payload (checked)", r, &e);
    if (r == 0 && !elf)
        abort(); /* success must hand out the ELF bitmap */
    free(elf);
    package_free(p);
    if (write) {
        close(stage);
        check_nothing_escaped();
        if ((r = rm_rf_at(root_fd, STAGE)) < 0) {
            errno = -r;
            die("removing the staging folder");
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (input_fd < 0)
        setup();
    load_input(data, size);
    one_pass(false);
    one_pass(true);
    return 0;
}

#ifdef SLATE_LIBFUZZER
/*
 * make-seeds.sh stores some seeds' tar in one raw zstd block without checksum.
 * After each mutation of such an input, make the block's size and every tar
 * header's checksum right again, so that the mutation reaches the reader's own
 * checks instead of stopping at libarchive's.
 */
#define RAW_BLOCK_MAX (1u << 17)
#define RAW_HEAD 9 /* frame magic, frame header (2 bytes), block header (3 bytes) */
static const uint8_t raw_frame[6] = {0x28, 0xb5, 0x2f, 0xfd, 0x00, 0x40};

static void fix_tar_checksums(uint8_t *tar, size_t len) {
    for (size_t at = 0; at + 512 <= len;) {
        uint8_t *h = tar + at;
        char size_field[13];
        unsigned sum = 0;
        if (memcmp(h + 257, "ustar", 5) != 0)
            break;
        memset(h + 148, ' ', 8);
        for (size_t i = 0; i < 512; i++)
            sum += h[i];
        snprintf((char *)h + 148, 7, "%06o", sum); /* six digits, a NUL, and the space left there */
        memcpy(size_field, h + 124, 12);
        size_field[12] = '\0';
        unsigned long long size = strtoull(size_field, NULL, 8);
        if (size > len)
            break;
        at += 512 + (size_t)((size + 511) & ~511ull);
    }
}

size_t LLVMFuzzerCustomMutator(uint8_t *data, size_t size, size_t max_size, unsigned seed) {
    (void)seed;
    size = LLVMFuzzerMutate(data, size, max_size);
    if (size < RAW_HEAD || size - RAW_HEAD >= RAW_BLOCK_MAX || memcmp(data, raw_frame, sizeof raw_frame) != 0)
        return size;
    uint32_t block = (uint32_t)(size - RAW_HEAD) << 3 | 1; /* the last block, raw */
    data[6] = block & 0xff;
    data[7] = block >> 8 & 0xff;
    data[8] = block >> 16 & 0xff;
    fix_tar_checksums(data + RAW_HEAD, size - RAW_HEAD);
    return size;
}
#endif
