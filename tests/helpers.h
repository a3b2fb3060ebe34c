/* helpers.h: what the test programs share: temporary roots, running slate, crafting packages. */
#pragma once

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <sys/types.h>

#include <cmocka.h>

#include "keys.h"

/* A fresh folder under $TMPDIR (or /tmp); removed by test_rmtree. Never NULL (fails the test). */
char *test_tmpdir(const char *tag);
void test_rmtree(const char *path);

/* Write or read a whole file; both fail the test on error. read returns a NUL-terminated copy. */
void test_write(const char *path, const void *data, size_t len, unsigned mode);
char *test_read(const char *path, size_t *ret_len);
bool test_exists(const char *path);

/* All of a stream, NUL-terminated; the length in *ret_len when given. */
char *test_slurp(FILE *f, size_t *ret_len);

/* printf into a new string. */
char *test_fmt(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/*
 * Run the real slate binary ($SLATE_BIN) with the given arguments (a NULL-terminated
 * list), capturing both outputs (NUL-terminated, caller frees, pass NULL to ignore).
 * Returns the exit status, or 128+signal.
 */
int run_slate(char **out, char **err, const char *arg, ...) __attribute__((sentinel));
int run_slatev(char **out, char **err, const char *const *argv);

/* Run slate with the arguments; fail unless it exits 1 with exactly one stderr line containing phrase. */
void test_expect_refused(const char *phrase, const char *arg, ...) __attribute__((sentinel));
/* The same for another exit status (111: a system failure, such as a network that fails). */
void test_expect_exit(int status, const char *phrase, const char *arg, ...) __attribute__((sentinel));

/* A device root at dir/root with levels [min, api], and a trusted app key dir/app (.key/.pub) and system key dir/sys. */
struct test_device {
    char *dir, *root;
    char *app_key, *app_pub, *sys_key, *sys_pub;
};
void test_device_new(struct test_device *d, unsigned api, unsigned min);
void test_device_free(struct test_device *d);

/* Path of the example app binary built for level N ($HELLO_API<N>). */
const char *test_hello(unsigned level);

/*
 * A source folder for 'slate pack': dir/manifest (the given [package]/[app] text)
 * and dir/files/bin/hello (the example app for that level), plus extra files.
 */
char *test_app_source(const char *parent, const char *name, const char *manifest_text, unsigned hello_level);

/* A manifest's [package] and [app] text for id/version/level, class app, exec bin/hello. */
char *test_manifest(const char *id, const char *version, unsigned level, const char *class_);

/*
 * Crafting raw packages, entry by entry, to test what the reader refuses.
 * craft_new opens a zstd tar (or an uncompressed one with zstd=false).
 */
struct craft;
struct craft *craft_new(const char *path, bool zstd);
void craft_file(struct craft *c, const char *name, const void *data, size_t len, unsigned mode);
/* Any entry: type is an AE_IF* value; size is what the header claims; data (len bytes) is what follows. */
void craft_entry(struct craft *c, const char *name, unsigned type, unsigned mode, int64_t size, const void *data,
                 size_t len, const char *link);
void craft_close(struct craft *c);

/* SIGNATURE text for manifest text, signed with the secret key file at key_path. */
char *craft_signature(const char *key_path, const char *manifest, size_t len);

/*
 * tests/http-fault-server.py serving dir on 127.0.0.1 (logging requests to log), started with
 * no proxy in the way; url is "http://127.0.0.1:PORT". Fault modes are URL prefixes: ok, stall,
 * reset, endless, drop-once, ignore-range, status/CODE, redirect, ... (see the script).
 */
struct test_server {
    pid_t pid;
    int stdin_fd; /* the server exits when this closes, even if the test crashes */
    char *url;
};
void test_server_start(struct test_server *s, const char *dir, const char *log);
/* Any such server script under tests/ (NULL-ended arguments, at most two), e.g. "http/echo-server.py". */
void test_script_server_start(struct test_server *s, const char *script_name, const char *arg1, const char *arg2);
void test_server_stop(struct test_server *s);

/* BLAKE2b-256 of data, in hex (65 bytes). */
void test_hash(const void *data, size_t len, char out[65]);

/* Why slated cannot run here (not root; a kernel refusing user namespaces), into why; false when it can. */
bool test_slated_unsupported(char *why, size_t size);
