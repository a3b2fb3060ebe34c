/* golden.h: golden-image tests: a surface compared with a reference PNG kept in the repository. */
#pragma once

#include <stddef.h>

#include "paint.h"

/*
 * Compare s (its w x h pixels, the X byte ignored) with tests/ui/golden/NAME.png,
 * exactly: painting gives the same bytes on every run. On a difference (or no
 * reference) write NAME.actual.png and NAME.diff.png (differing pixels red over a
 * dimmed copy) under the build's tests/ui/golden-out/ and fail the running cmocka
 * test with a line naming both. With SLATE_GOLDEN_UPDATE=1 in the environment,
 * (re)write the reference instead and pass.
 */
void golden_check(const struct surface *s, const char *name);

/*
 * The same without failing: 0 when it matches (or was updated), else how many
 * pixels differ (-1: no reference, or another size), with the line
 * golden_check would fail with in msg.
 */
int golden_compare(const struct surface *s, const char *name, char *msg, size_t size);
