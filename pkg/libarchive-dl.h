/* libarchive-dl.h: libarchive, loaded the first time a package is read or written, not at every start. */
#pragma once

#include <archive.h>
#include <archive_entry.h>

#include "dl.h"

/*
 * libarchive and what it pulls in (libxml2, ICU, libstdc++, ...) cost about a
 * millisecond of dynamic linking at every start of slate, though most commands
 * (list, info, platform, a no-op update) never open a package. Like systemd's
 * optional libraries, it is loaded with dlopen on first use, and called through
 * these pointers, which have the library's own prototypes.
 */
#define LIBARCHIVE_SYMBOLS(X) \
    X(archive_entry_filetype) \
    X(archive_entry_free) \
    X(archive_entry_hardlink) \
    X(archive_entry_mode) \
    X(archive_entry_new) \
    X(archive_entry_pathname) \
    X(archive_entry_set_filetype) \
    X(archive_entry_set_gid) \
    X(archive_entry_set_mtime) \
    X(archive_entry_set_pathname) \
    X(archive_entry_set_perm) \
    X(archive_entry_set_size) \
    X(archive_entry_set_symlink) \
    X(archive_entry_set_uid) \
    X(archive_entry_size) \
    X(archive_entry_size_is_set) \
    X(archive_entry_symlink) \
    X(archive_error_string) \
    X(archive_filter_code) \
    X(archive_filter_count) \
    X(archive_read_data) \
    X(archive_read_data_block) \
    X(archive_read_free) \
    X(archive_read_new) \
    X(archive_read_next_header) \
    X(archive_read_open_fd) \
    X(archive_read_support_filter_zstd) \
    X(archive_read_support_format_tar) \
    X(archive_write_add_filter_zstd) \
    X(archive_write_close) \
    X(archive_write_data) \
    X(archive_write_free) \
    X(archive_write_header) \
    X(archive_write_new) \
    X(archive_write_open_fd) \
    X(archive_write_set_bytes_in_last_block) \
    X(archive_write_set_format_pax_restricted) \

LIBARCHIVE_SYMBOLS(DL_DECLARE)

/* Load libarchive once (dl.h). */
int dlopen_libarchive(struct err *e);
