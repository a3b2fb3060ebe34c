/* slate/fetch.h: HTTP requests, made by slated for apps granted the network permission. */
#pragma once

#include <stddef.h>
#include <slate/api.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * The request runs in slated (libcurl), not in the app: an app's sandbox has
 * no network unless it holds `network`, and slated refuses apps without it.
 * http and https only, at most 5 redirects, replies of at most 16 MiB. The
 * call blocks the calling thread until the reply is complete or fails.
 */
struct slate_response {
    int status;              /* the HTTP status: 200, 404, ... */
    const void *body;        /* the reply body (read-only), body_len bytes; NULL when empty */
    size_t body_len;
    char content_type[128];  /* "" when the server sent none */
};

/**
 * GET @url into @ret. Returns 0 when the server answered (any status), or a
 * negative errno: -EACCES (no network permission), -EINVAL (not an http or
 * https URL), -ETIMEDOUT, -ECONNREFUSED, -EFBIG (reply too large), -ENOTCONN
 * (not under slated), ... Free @ret with slate_response_free().
 */
SLATE_SINCE(3) int slate_fetch_get(const char *url, struct slate_response *ret);

/** POST @body_len bytes of @body with @content_type (NULL: none) to @url; as slate_fetch_get(). */
SLATE_SINCE(3) int slate_fetch_post(const char *url, const char *content_type, const void *body, size_t body_len,
                                    struct slate_response *ret);

/** Release what a successful fetch returned. */
SLATE_SINCE(3) void slate_response_free(struct slate_response *r);

#ifdef __cplusplus
}
#endif
