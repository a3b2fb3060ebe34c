/* platform.c: the SDK's view of the device: levels, release, end of life. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <unistd.h>

#include <slate/platform.h>

#include "descriptor.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct platform_desc desc;
static int desc_error; /* 0, or the negative errno that loading gave */

static void load(void) {
    const char *root = getenv("SLATE_ROOT");
    int fd = open(root && *root ? root : "/", O_PATH | O_DIRECTORY | O_CLOEXEC);
    if (fd < 0) {
        desc_error = -errno;
        return;
    }
    int r = platform_desc_load(fd, &desc, NULL);
    close(fd);
    if (r < 0)
        desc_error = err_is_refusal(r) ? -EBADMSG : r;
}

static int loaded(void) {
    pthread_once(&once, load);
    return desc_error;
}

int slate_platform_api_level(void) {
    int r = loaded();
    return r < 0 ? r : (int)desc.api_level;
}

int slate_platform_min_api_level(void) {
    int r = loaded();
    return r < 0 ? r : (int)desc.min_api_level;
}

const char *slate_platform_release(void) {
    return loaded() < 0 ? NULL : desc.release;
}

int slate_platform_eol(void) {
    int r = loaded();
    return r < 0 ? r : desc.eol;
}
