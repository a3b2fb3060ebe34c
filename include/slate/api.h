/* slate/api.h: API levels, and the availability mark every SDK declaration carries. */
#pragma once

/*
 * Every public declaration starts with SLATE_SINCE(N) (introduced at level N)
 * or SLATE_SINCE_UNTIL(N, M) (introduced at N, removed at M). An app is built
 * for exactly one level, given as SLATE_TARGET_API: declarations newer than
 * that level, or removed at or before it, are marked unavailable, so using one
 * is a compile error naming the level rather than a crash on the device.
 *
 * The same marks are read by lib/abigen.py to produce libslate's version
 * script (one ELF version node SLATE_N per level) and the ABI table that the
 * installer audits binaries against: the headers are the one source.
 *
 * Put attributes after the parameter list, so that the symbol's name is the
 * first identifier followed by '(' after the mark.
 */

#include <slate/levels.h> /* generated: SLATE_API_LATEST and one guard per level */

#if defined(SLATE_BUILDING_LIBSLATE)
#define SLATE_SINCE(n)
#define SLATE_SINCE_UNTIL(n, m)
#else
#ifndef SLATE_TARGET_API
#error "Define SLATE_TARGET_API to the one API level this app is built for, e.g. -DSLATE_TARGET_API=1."
#endif
#if SLATE_TARGET_API < 1 || SLATE_TARGET_API > SLATE_API_LATEST
#error "SLATE_TARGET_API names a level this SDK does not provide (see SLATE_API_LATEST in slate/levels.h)."
#endif
#define SLATE_SINCE(n) SLATE__SINCE_##n
#define SLATE_SINCE_UNTIL(n, m) SLATE__SINCE_##n SLATE__UNTIL_##m

/*
 * The level is stamped into the app's binary as an ELF note (owner "Slate",
 * type 1, a 32-bit level), so the installer can require that the binary and
 * the manifest name the same level. Every translation unit that includes the
 * SDK contributes one identical note; a binary mixing levels is refused.
 */
#define SLATE__NOTE_TYPE_API_LEVEL 1
static const struct {
    unsigned int namesz, descsz, type;
    char name[8];
    unsigned int level;
} slate__api_level_note __attribute__((section(".note.slate.api"), aligned(4), used)) = {
    6, 4, SLATE__NOTE_TYPE_API_LEVEL, "Slate", SLATE_TARGET_API,
};
#endif

#define SLATE_PRINTF(fmt, args) __attribute__((format(printf, fmt, args)))
