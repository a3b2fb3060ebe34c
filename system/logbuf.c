/* logbuf.c: a ring of whole log records, and the line splitter that feeds it. */
#include "logbuf.h"

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define HEADER_SIZE (8 + 4 + 1 + 2)
#define LOGBUF_FIRST 4096 /* the first allocation; it doubles up to LOGBUF_SIZE as lines come */

static void ring_put(struct logbuf *b, size_t off, const void *p, size_t n) {
    size_t at = (b->head + off) % b->cap, first = n < b->cap - at ? n : b->cap - at;
    memcpy(b->buf + at, p, first);
    memcpy(b->buf, (const uint8_t *)p + first, n - first);
}

static void ring_get(const struct logbuf *b, size_t off, void *p, size_t n) {
    size_t at = (b->head + off) % b->cap, first = n < b->cap - at ? n : b->cap - at;
    memcpy(p, b->buf + at, first);
    memcpy((uint8_t *)p + first, b->buf, n - first);
}

/* Double the ring (up to LOGBUF_SIZE), its records laid out from the start; false when it cannot. */
static bool grow(struct logbuf *b) {
    size_t cap = b->cap ? 2 * b->cap : LOGBUF_FIRST;
    if (cap > LOGBUF_SIZE)
        return false;
    uint8_t *buf = malloc(cap);
    if (!buf)
        return false;
    if (b->buf)
        ring_get(b, 0, buf, b->len);
    free(b->buf);
    b->buf = buf;
    b->cap = cap;
    b->head = 0;
    return true;
}

static size_t record_size(const struct logbuf *b, size_t off) {
    uint16_t len;
    ring_get(b, off + 13, &len, sizeof len);
    return HEADER_SIZE + len;
}

void logbuf_append(struct logbuf *b, const struct log_line *l) {
    size_t len = l->len < LOG_LINE_MAX ? l->len : LOG_LINE_MAX;
    /* Room: a bigger ring while it may grow, then the oldest records go. */
    while (b->cap - b->len < HEADER_SIZE + len && (b->cap < LOGBUF_SIZE || !b->buf))
        if (!grow(b))
            break;
    if (!b->buf || b->cap < HEADER_SIZE + len) {
        b->dropped++;
        return;
    }
    while (b->cap - b->len < HEADER_SIZE + len) {
        size_t n = record_size(b, 0);
        b->head = (b->head + n) % b->cap;
        b->len -= n;
    }
    uint8_t h[HEADER_SIZE];
    uint16_t len16 = (uint16_t)len;
    memcpy(h, &l->time_us, 8);
    memcpy(h + 8, &l->pid, 4);
    h[12] = l->stream;
    memcpy(h + 13, &len16, 2);
    ring_put(b, b->len, h, sizeof h);
    ring_put(b, b->len + HEADER_SIZE, l->text, len);
    b->len += HEADER_SIZE + len;
}

void logbuf_free(struct logbuf *b) {
    free(b->buf);
    *b = (struct logbuf){0};
}

void logbuf_for_each(const struct logbuf *b, void (*fn)(void *ud, const struct log_line *l), void *ud) {
    char text[LOG_LINE_MAX + 1];
    uint8_t h[HEADER_SIZE];
    for (size_t off = 0; b->buf && off < b->len;) {
        struct log_line l;
        ring_get(b, off, h, sizeof h);
        memcpy(&l.time_us, h, 8);
        memcpy(&l.pid, h + 8, 4);
        l.stream = h[12];
        memcpy(&l.len, h + 13, 2);
        ring_get(b, off + HEADER_SIZE, text, l.len);
        text[l.len] = '\0';
        l.text = text;
        fn(ud, &l);
        off += HEADER_SIZE + l.len;
    }
}

void line_split(struct line_splitter *s, const char *data, size_t n, void (*fn)(void *ud, const char *line, size_t len),
                void *ud) {
    while (n > 0) {
        const char *nl = memchr(data, '\n', n);
        size_t take = nl ? (size_t)(nl - data) : n, room = sizeof s->buf - s->len;
        if (take > room)
            take = room;
        memcpy(s->buf + s->len, data, take);
        s->len += take;
        data += take;
        n -= take;
        if (n > 0 && *data == '\n') {
            data++;
            n--;
            fn(ud, s->buf, s->len);
            s->len = 0;
        } else if (s->len == sizeof s->buf && n > 0) {
            /* Full, and more follows that is not its newline: cut here. A read that ends just as the
             * buffer fills waits, so the newline that may start the next read still ends this line. */
            fn(ud, s->buf, s->len);
            s->len = 0;
        }
    }
}

void line_flush(struct line_splitter *s, void (*fn)(void *ud, const char *line, size_t len), void *ud) {
    if (s->len > 0)
        fn(ud, s->buf, s->len);
    s->len = 0;
}

void log_format_time(uint64_t time_us, char *buf, size_t size) {
    time_t t = (time_t)(time_us / 1000000);
    struct tm tm;
    gmtime_r(&t, &tm);
    size_t n = strftime(buf, size, "%Y-%m-%dT%H:%M:%S", &tm);
    if (n > 0 && n < size)
        snprintf(buf + n, size - n, ".%03uZ", (unsigned)(time_us / 1000 % 1000));
}

int log_parse_priority(const char *line, size_t len, const char *tag, size_t *ret_skip) {
    if (len < 3 || line[0] != '<' || line[1] < '0' || line[1] > '7' || line[2] != '>')
        return -1;
    size_t skip = 3, n = strlen(tag);
    if (len >= skip + n + 2 && memcmp(line + skip, tag, n) == 0 && line[skip + n] == ':' && line[skip + n + 1] == ' ')
        skip += n + 2;
    *ret_skip = skip;
    return line[1] - '0';
}

const char *log_label(uint8_t stream) {
    static const char *const streams[] = {"slated", "stdout", "stderr"};
    static const char *const priorities[] = {"emerg", "alert", "crit", "error", "warning", "notice", "info", "debug"};
    int prio = LOG_PRIORITY(stream);
    if (prio >= 0 && prio < 8)
        return priorities[prio];
    return LOG_STREAM(stream) < 3 ? streams[LOG_STREAM(stream)] : "?";
}
