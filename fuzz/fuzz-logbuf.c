/* fuzz-logbuf.c: libFuzzer target for an app's output: line_split in chunkings the input picks, and the log ring. */
#include <stdbool.h>
#include <string.h>

#include "fuzz.h"
#include "logbuf.h"

/*
 * Input: two bytes seed the chunking (how the kernel might cut the app's
 * writes into reads), one byte of flags, then the app's output. Checked:
 *
 * - the output split in one read gives lines that rebuild it exactly (a line
 *   ends at a newline, or is cut at LOG_LINE_MAX, a newline right after a cut
 *   belonging to it);
 * - split in the chunks, it gives the same lines, whatever the chunks;
 * - every line is at most LOG_LINE_MAX bytes and holds no newline;
 * - the ring hands back, oldest first, exactly the newest lines that fit in
 *   LOGBUF_SIZE, with their time, pid and stream.
 */

/*
 * This target found line_split handing out an extra empty line when a read
 * ended right where a line was cut at LOG_LINE_MAX and the next read started
 * with its newline (fuzz/corpus/logbuf/cut-at-read-end). Fixed; setting this
 * to 1 would tolerate it again.
 */
#ifndef ALLOW_EMPTY_LINE_AFTER_CUT_AT_READ_END
#define ALLOW_EMPTY_LINE_AFTER_CUT_AT_READ_END 0
#endif

struct line {
    size_t off, len;
    uint64_t time_us;
    uint32_t pid;
    uint8_t stream;
    bool extra; /* the empty line described above */
};

struct lines {
    struct line *v;
    size_t n;
    char *text; /* every line's bytes, one after another */
    size_t used;
    bool mark_next; /* the next line handed out is the extra empty one */
};

static void fail(const char *what) {
    fprintf(stderr, "fuzz-logbuf: %s\n", what);
    abort();
}

static void collect(void *ud, const char *line, size_t len) {
    struct lines *ls = ud;
    if (len > LOG_LINE_MAX)
        fail("a line is longer than LOG_LINE_MAX");
    if (memchr(line, '\n', len))
        fail("a line holds a newline");
    struct line *l = &ls->v[ls->n++];
    *l = (struct line){.off = ls->used, .len = len, .extra = ls->mark_next && len == 0};
    ls->mark_next = false;
    memcpy(ls->text + ls->used, line, len);
    ls->used += len;
}

static bool lines_init(struct lines *ls, size_t size) {
    /* At most one line per byte, and one more flushed at the end. */
    *ls = (struct lines){.v = calloc(size + 2, sizeof *ls->v), .text = malloc(size + 1)};
    return ls->v && ls->text;
}

static void lines_finish(struct lines *ls) {
    free(ls->v);
    free(ls->text);
}

/* The lines of one read must rebuild the output: each line, then its newline (optional after a cut). */
static void check_rebuild(const struct lines *w, const uint8_t *data, size_t size) {
    size_t at = 0;
    for (size_t i = 0; i < w->n; i++) {
        const struct line *l = &w->v[i];
        if (l->len > size - at || memcmp(data + at, w->text + l->off, l->len) != 0)
            fail("the lines do not rebuild the output");
        at += l->len;
        bool last = i + 1 == w->n;
        if (at < size && data[at] == '\n')
            at++;
        else if (l->len < LOG_LINE_MAX && !(last && at == size))
            fail("a short line did not end at a newline");
        if (l->len == 0 && (at == 0 || data[at - 1] != '\n'))
            fail("an empty line without a newline");
    }
    if (at != size)
        fail("bytes of the output are missing from the lines");
}

static uint32_t next_rand(uint32_t *x) {
    *x ^= *x << 13;
    *x ^= *x >> 17;
    *x ^= *x << 5;
    return *x;
}

/*
 * Split in chunks whose sizes the seed picks: single bytes, short runs, what
 * fills the splitter's buffer give or take a byte, around LOG_LINE_MAX, or
 * all the rest.
 */
static void split_chunked(struct lines *c, const uint8_t *data, size_t size, uint32_t seed) {
    struct line_splitter sp = {.len = 0};
    uint32_t x = seed | 1;
    for (size_t at = 0; at < size;) {
        uint32_t r = next_rand(&x), n;
        switch (r & 7) {
        case 0:
        case 1: n = 1; break;
        case 2:
        case 3: n = 1 + (r >> 8) % 16; break;
        case 4:
        case 5: n = (uint32_t)(LOG_LINE_MAX - sp.len) + (r >> 8) % 3 - 1; break;
        case 6: n = LOG_LINE_MAX - 8 + (r >> 8) % 17; break;
        default: n = (r >> 8) % 8 == 0 ? (uint32_t)(size - at) : 1 + (r >> 8) % 3000; break;
        }
        if (n == 0)
            n = 1;
        if (n > size - at)
            n = (uint32_t)(size - at);
        size_t before = c->n;
        line_split(&sp, (const char *)data + at, n, collect, c);
        at += n;
        /* This read ended just as a line was cut, and the next one starts with its newline. */
        c->mark_next = ALLOW_EMPTY_LINE_AFTER_CUT_AT_READ_END && c->n > before && c->v[c->n - 1].len == LOG_LINE_MAX &&
                       sp.len == 0 && data[at - 1] != '\n' && at < size && data[at] == '\n';
    }
    line_flush(&sp, collect, c);
}

/* The chunked split, without the allowed extra lines, must equal the split in one read. */
static void check_same(const struct lines *c, const struct lines *w) {
    size_t j = 0;
    for (size_t i = 0; i < c->n; i++) {
        const struct line *a = &c->v[i];
        if (a->extra)
            continue;
        if (j == w->n || a->len != w->v[j].len || memcmp(c->text + a->off, w->text + w->v[j].off, a->len) != 0)
            fail("the lines depend on how the output was cut into reads");
        j++;
    }
    if (j != w->n)
        fail("the chunked split lost lines");
}

/* ---- the ring ---- */

struct ring_check {
    const struct lines *c;
    size_t next; /* the model line the ring should hand out next */
    size_t end;
    size_t calls;
};

static void compare(void *ud, const struct log_line *l) {
    struct ring_check *rc = ud;
    if (rc->next >= rc->end)
        fail("the ring hands out more lines than were appended");
    const struct line *m = &rc->c->v[rc->next++];
    size_t want = m->len < LOG_LINE_MAX ? m->len : LOG_LINE_MAX;
    if (l->len != want || memcmp(l->text, rc->c->text + m->off, want) != 0 || l->text[l->len] != '\0')
        fail("the ring hands back another line than was appended");
    if (l->time_us != m->time_us || l->pid != m->pid || l->stream != m->stream)
        fail("the ring hands back another time, pid or stream");
    rc->calls++;
}

/* Append lines [0, n), and expect exactly the newest ones whose records fit in LOGBUF_SIZE back. */
static void check_ring(struct lines *c, size_t n) {
    struct logbuf b = {0};
    size_t header = 0, first = 0, used = 0;
    for (size_t i = 0; i < n; i++) {
        struct line *m = &c->v[i];
        m->time_us = (uint64_t)i * 1000003;
        m->pid = (uint32_t)(i * 7 + 1);
        m->stream = (uint8_t)(i * 37);
        struct log_line l = {.time_us = m->time_us, .pid = m->pid, .stream = m->stream, .text = c->text + m->off};
        l.len = (uint16_t)m->len;
        size_t len = m->len < LOG_LINE_MAX ? m->len : LOG_LINE_MAX;
        logbuf_append(&b, &l);
        if (!b.buf)
            return; /* out of memory: counted as dropped, nothing to check */
        if (i == 0)
            header = b.len - len; /* the record header's size, learned from the first record */
        while (LOGBUF_SIZE - used < header + len) {
            size_t old = c->v[first].len;
            used -= header + (old < LOG_LINE_MAX ? old : LOG_LINE_MAX);
            first++;
        }
        used += header + len;
        if (b.len != used || b.len > LOGBUF_SIZE || b.head >= LOGBUF_SIZE)
            fail("the ring holds another number of bytes than its lines need, or more than LOGBUF_SIZE");
    }
    struct ring_check rc = {.c = c, .next = first, .end = n};
    logbuf_for_each(&b, compare, &rc);
    if (rc.next != n)
        fail("the ring lost some of the newest lines");
    logbuf_free(&b);
    if (b.buf || b.len)
        fail("logbuf_free left the ring in use");
}

/* An over-long line given to the ring directly is cut to LOG_LINE_MAX. */
static void check_long_append(const uint8_t *data, size_t size) {
    struct logbuf b = {0};
    struct log_line l = {.time_us = 1, .pid = 2, .stream = LOG_STDERR, .text = (const char *)data};
    l.len = (uint16_t)(size < UINT16_MAX ? size : UINT16_MAX);
    logbuf_append(&b, &l);
    logbuf_append(&b, &l);
    struct lines c = {.n = 2};
    struct line v[2] = {{.off = 0, .len = l.len, .time_us = 1, .pid = 2, .stream = LOG_STDERR},
                        {.off = 0, .len = l.len, .time_us = 1, .pid = 2, .stream = LOG_STDERR}};
    c.v = v;
    c.text = (char *)data;
    struct ring_check rc = {.c = &c, .next = 0, .end = 2};
    logbuf_for_each(&b, compare, &rc);
    if (b.buf && rc.next != 2)
        fail("two cut lines do not both fit in the ring");
    logbuf_free(&b);
}

/* The time as slate logs prints it: always NUL-terminated, 24 bytes before the year 10000. */
static void check_time(const uint8_t *data, size_t size) {
    uint64_t t = 0;
    char buf[32];
    memcpy(&t, data, size < 8 ? size : 8);
    memset(buf, 0x7f, sizeof buf);
    log_format_time(t, buf, sizeof buf);
    if (!memchr(buf, '\0', sizeof buf))
        fail("log_format_time left the buffer unterminated");
    if (t < 253402300800000000ULL) {
        memset(buf, 0x7f, sizeof buf);
        log_format_time(t, buf, 25);
        if (strnlen(buf, sizeof buf) != 24 || buf[4] != '-' || buf[10] != 'T' || buf[23] != 'Z')
            fail("log_format_time did not give YYYY-MM-DDTHH:MM:SS.mmmZ in 25 bytes");
    }
}

static void check_priority(const struct lines *c) {
    for (size_t i = 0; i < c->n; i++) {
        size_t skip = 0;
        int prio = log_parse_priority(c->text + c->v[i].off, c->v[i].len, "org.example.app", &skip);
        if (prio >= 0 && (prio > 7 || skip > c->v[i].len))
            fail("log_parse_priority gave a priority or a cut out of range");
        if (!log_label(prio >= 0 ? LOG_WITH_PRIORITY(LOG_STDERR, prio) : (uint8_t)i))
            fail("log_label gave no label");
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 3)
        return 0;
    uint32_t seed = (uint32_t)data[0] | (uint32_t)data[1] << 8 | 0x10000u;
    uint8_t flags = data[2];
    data += 3;
    size -= 3;

    struct lines w, c;
    if (lines_init(&w, size) && lines_init(&c, size)) {
        struct line_splitter sp = {.len = 0};
        line_split(&sp, (const char *)data, size, collect, &w);
        line_flush(&sp, collect, &w);
        check_rebuild(&w, data, size);
        split_chunked(&c, data, size, seed);
        check_same(&c, &w);
        check_ring(&c, c.n);
        if (flags & 1)
            check_priority(&c);
        if (flags & 2)
            check_long_append(data, size);
        if (flags & 4)
            check_time(data, size);
    }
    lines_finish(&w);
    lines_finish(&c);
    return 0;
}
