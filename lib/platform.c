/* platform.c: the SDK's view of the device: levels, release, end of life. */
#include <fcntl.h>
#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <slate/platform.h>

#include "channel.h"
#include "descriptor.h"
#include "proto.h"

static pthread_once_t once = PTHREAD_ONCE_INIT;
static struct platform_desc desc;
static int desc_error; /* 0, or the negative errno that loading gave */

/* Under slated the sandbox holds no descriptor: slated answers for the platform. */
static int load_from_slated(void) {
    uint8_t buf[64], *rbuf = malloc(IPC_MSG_MAX);
    struct ipc_msg m;
    struct ipc_view v;
    const char *release;
    bool eol;
    int r;

    if (!rbuf)
        return -ENOMEM;
    ipc_msg_init(&m, buf, sizeof buf, MSG_PLATFORM, channel_serial(), 0);
    if ((r = channel_call(&m, rbuf, &v)) == 0) {
        if (ipc_msg_get_u32(&v, F_API_LEVEL, &desc.api_level, NULL) < 0 ||
            ipc_msg_get_u32(&v, F_MIN_API_LEVEL, &desc.min_api_level, NULL) < 0 ||
            ipc_msg_get_string(&v, F_RELEASE, &release, NULL, NULL) < 0 ||
            ipc_msg_get_bool(&v, F_EOL, &eol, NULL) < 0 || strlen(release) >= sizeof desc.release)
            r = -EBADMSG;
        else {
            strcpy(desc.release, release);
            desc.eol = eol;
        }
        ipc_view_finish(&v);
    }
    free(rbuf);
    return r;
}

static void load(void) {
    if (channel_fd() >= 0) {
        desc_error = load_from_slated();
        return;
    }
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
