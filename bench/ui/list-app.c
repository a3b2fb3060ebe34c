/* list-app.c: the UI benchmark's screen (rows.h) as an API level 4 app, which bench/ui.sh runs under slated. */
#include <slate/slate.h>

#include "rows.h"

static void on_start(void *userdata) {
    (void)userdata;
    slate_ui_push(slate_list(BENCH_ROWS, bench_row, NULL), NULL);
}

int main(void) {
    struct slate_app_callbacks cb = {.size = sizeof cb, .on_start = on_start};
    return slate_app_run(&cb, NULL);
}
