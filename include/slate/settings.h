/* slate/settings.h: an app's own settings, kept by slated in the device's database. */
#pragma once

#include <stddef.h>
#include <sys/types.h>
#include <slate/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Each app sees only its own settings; they survive restarts, updates and
 * rollbacks, and go when the app is removed. Keys are 1 to 128 bytes of
 * printable ASCII; values are UTF-8 text of at most 4096 bytes; an app may keep
 * 1024 keys. These calls need slated: outside it they return -ENOTCONN.
 */

/**
 * Copy the value of @key, NUL-terminated, into @buf of @size bytes. Returns its
 * length (without the NUL; when it is >= @size the value was cut), or a
 * negative errno: -ENOENT when the key is unset.
 */
SLATE_SINCE(3) ssize_t slate_settings_get(const char *key, char *buf, size_t size);

/** Set @key to @value, durably. Returns 0 or a negative errno (-EINVAL: bad key or value). */
SLATE_SINCE(3) int slate_settings_set(const char *key, const char *value);

/** Forget @key. Returns 0 or a negative errno (-ENOENT: it was unset). */
SLATE_SINCE(3) int slate_settings_remove(const char *key);

#ifdef __cplusplus
}
#endif
