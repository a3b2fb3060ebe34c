/* platform.c: platform upgrades that retire API levels, and end of life. */
#include "platform.h"

#include <fcntl.h>
#include <stdio.h>
#include <string.h>

#include "install.h"
#include "util.h"

int platform_runs(const struct platform_desc *d, const char *id, unsigned level, struct err *e) {
    return gate_api_level(d, id, level, e);
}

struct retired {
    const struct platform_desc *next;
    void (*fn)(void *userdata, const struct db_version *v);
    void *userdata;
};

static int report_retired(void *ud, const struct db_package *p, const struct db_version *v) {
    struct retired *r = ud;
    (void)p;
    if (r->fn && platform_runs(r->next, v->id, v->api_level, NULL) < 0)
        r->fn(r->userdata, v);
    return 0;
}

static int check_change(const struct device *d, const struct platform_change *c, const struct abi_table *sdk,
                        struct err *e) {
    const struct platform_desc *now = &d->desc;
    if (now->eol)
        return err_set(e, -E_STATE, "this device is end-of-life (release %s): it takes no more platform upgrades",
                       now->release);
    if (c->min_api_level < 1 || c->min_api_level > c->api_level)
        return err_set(e, -EINVAL, "API levels must satisfy 1 <= min-api-level (%u) <= api-level (%u)",
                       c->min_api_level, c->api_level);
    if (c->api_level < now->api_level)
        return err_set(e, -E_LEVEL, "a platform upgrade cannot go back from API level %u to %u", now->api_level,
                       c->api_level);
    if (c->min_api_level < now->min_api_level)
        return err_set(e, -E_LEVEL, "API level %u was retired; the platform keeps no compatibility layer below %u",
                       c->min_api_level, now->min_api_level);
    if (c->api_level > sdk->latest)
        return err_set(e, -E_LEVEL, "this platform build provides API levels up to %u, not %u", sdk->latest,
                       c->api_level);
    return 0;
}

int platform_upgrade(struct device *d, const struct platform_change *c,
                     void (*on_retired)(void *userdata, const struct db_version *v), void *userdata, struct err *e) {
    _cleanup_abi_ struct abi_table *sdk = NULL;
    struct platform_desc next = d->desc;
    char text[512];
    int r;

    if ((r = abi_parse(slate_abi_builtin, strlen(slate_abi_builtin), &sdk, e)) < 0 ||
        (r = check_change(d, c, sdk, e)) < 0)
        return r;
    next.api_level = c->api_level;
    next.min_api_level = c->min_api_level;
    next.eol = c->eol || d->desc.eol;
    if (c->release)
        snprintf(next.release, sizeof next.release, "%s", c->release);

    struct retired ret = {&next, on_retired, userdata};
    if ((r = db_for_each(d->db, report_retired, &ret, e)) < 0)
        return r;

    /* The library's table first: a crash between the two leaves the old window over a newer libslate, which
     * still exports every level the old window names. */
    _cleanup_close_ int share = openat(d->rootfd, "usr/share/slate", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (share < 0 || (r = write_file_atomic_at(share, "abi", slate_abi_builtin, strlen(slate_abi_builtin), 0644)) < 0)
        return err_set(e, share < 0 ? -errno : r, "%s/%s: cannot write the ABI table", d->root, ABI_TABLE_PATH);
    _cleanup_close_ int etc = openat(d->rootfd, "etc/slate", O_PATH | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    int n = platform_desc_format(&next, text, sizeof text);
    if (etc < 0 || n < 0 || (r = write_file_atomic_at(etc, "platform", text, (size_t)n, 0644)) < 0)
        return err_set(e, etc < 0 ? -errno : n < 0 ? n : r, "%s/%s: cannot write the descriptor", d->root,
                       PLATFORM_DESCRIPTOR);
    d->desc = next;
    return 0;
}
