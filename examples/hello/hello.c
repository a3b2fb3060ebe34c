/* hello.c: the example app: it reports the platform it runs on, using nothing but the SDK and libc. */
#include <stdio.h>
#include <string.h>

#include <slate/slate.h>

int main(void) {
    int api = slate_platform_api_level();
    if (api < 0) {
        slate_log(SLATE_LOG_ERROR, "cannot read the platform descriptor: %s", strerror(-api));
        return 1;
    }
#if SLATE_TARGET_API >= 2
    /* Level 2 lets an app skip messages that would be dropped. */
    if (slate_log_enabled(SLATE_LOG_DEBUG))
        slate_log(SLATE_LOG_DEBUG, "debug logging is on");
#endif
    slate_log(SLATE_LOG_INFO, "hello, built for API level %d", SLATE_TARGET_API);
    printf("hello from an app built for API level %d, running on %s (API levels %d to %d%s)\n", SLATE_TARGET_API,
           slate_platform_release(), slate_platform_min_api_level(), api,
           slate_platform_eol() == 1 ? ", end of life" : "");
    return 0;
}
