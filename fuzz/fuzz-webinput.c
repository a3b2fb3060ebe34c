/* fuzz-webinput.c: libFuzzer target for the web viewer's input lines (POST /input), as a page, or anyone, may send them. */
#include <string.h>

#include "display.h"
#include "fuzz.h"
#include "util.h"

/*
 * Input: the request's body (cut at its first NUL, as libmicrohttpd's buffer is
 * read). Checked: the parser reads only the line; what it accepts is a pointer
 * event with coordinates of at most six digits, or a key or text that is
 * printable UTF-8 shorter than INPUT_KEY_MAX and lies inside the line.
 */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    static char line[4096];
    size_t n = size < sizeof line - 1 ? size : sizeof line - 1;
    memcpy(line, data, n);
    line[n] = '\0';
    struct web_input in;
    struct err e = {0};
    int r = web_parse_input(line, &in);
    fuzz_trace("webinput", r, &e);
    if (r < 0)
        return 0;
    switch (in.kind) {
    case INPUT_DOWN:
    case INPUT_MOVE:
    case INPUT_UP:
    case INPUT_CANCEL:
        if (in.x < -999999 || in.x > 999999 || in.y < -999999 || in.y > 999999 || in.key)
            abort();
        break;
    case INPUT_KEY:
    case INPUT_TEXT:
        if (!in.key || in.key < line || in.key >= line + n || !in.key[0] || strlen(in.key) >= INPUT_KEY_MAX ||
            !utf8_printable(in.key))
            abort();
        break;
    default:
        abort();
    }
    return 0;
}
