/* slate/platform.h: what the device this app runs on provides. */
#pragma once

#include <slate/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The platform descriptor is read once, on first use, from
 * $SLATE_ROOT/etc/slate/platform (or /etc/slate/platform). Results are cached
 * for the life of the process; every call is thread-safe.
 */

/**
 * The newest API level the device provides (its descriptor's api_level).
 * Returns the level (>= 1), or a negative errno when the descriptor cannot be
 * read (-ENOENT: no descriptor; -EBADMSG: malformed).
 */
SLATE_SINCE(1) int slate_platform_api_level(void);

/**
 * The oldest API level the device still runs. Nothing below it runs at all:
 * the platform keeps no compatibility layer. Returns the level or a negative
 * errno, as slate_platform_api_level().
 */
SLATE_SINCE(1) int slate_platform_min_api_level(void);

/**
 * The platform release name (for example "2026.11"). The string is owned by
 * libslate and lives as long as the process. Returns NULL when the descriptor
 * cannot be read.
 */
SLATE_SINCE(1) const char *slate_platform_release(void);

/**
 * Whether the device is end-of-life: 1 when it receives no new feature
 * versions any more, 0 when it does, a negative errno on failure.
 */
SLATE_SINCE(1) int slate_platform_eol(void);

#ifdef __cplusplus
}
#endif
