/* test-logbuf.c: the log ring (what it keeps, what it drops) and the split of an app's output into lines. */
#include "helpers.h"

#include <string.h>

#include "logbuf.h"

/* ---- the ring ---- */

struct seen {
    size_t n;
    uint64_t times[4096];
    uint32_t pids[4096];
    uint8_t streams[4096];
    size_t lens[4096];
    char first[LOG_LINE_MAX + 1];
    size_t bytes;
};

static void see(void *ud, const struct log_line *l) {
    struct seen *s = ud;
    assert_true(s->n < 4096);
    assert_int_equal(strlen(l->text), l->len); /* NUL-terminated, no NUL inside for these texts */
    if (s->n == 0)
        memcpy(s->first, l->text, l->len + 1);
    s->times[s->n] = l->time_us;
    s->pids[s->n] = l->pid;
    s->streams[s->n] = l->stream;
    s->lens[s->n] = l->len;
    s->bytes += l->len;
    s->n++;
}

static void append(struct logbuf *b, uint64_t time_us, const char *text, size_t len) {
    struct log_line l = {.time_us = time_us, .pid = (uint32_t)time_us + 1000, .stream = LOG_STDOUT, .text = text};
    l.len = (uint16_t)len;
    logbuf_append(b, &l);
}

/* A record's header size: what the ring uses beyond the text (learned, not assumed). */
static size_t header_size(void) {
    struct logbuf b = {0};
    append(&b, 0, "abc", 3);
    size_t h = b.len - 3;
    logbuf_free(&b);
    return h;
}

static void test_ring_empty(void **state) {
    (void)state;
    struct logbuf b = {0};
    struct seen *s = calloc(1, sizeof *s);
    logbuf_for_each(&b, see, s);
    assert_int_equal(s->n, 0);
    assert_null(b.buf); /* nothing allocated until the first line */
    logbuf_free(&b);
    logbuf_free(&b); /* twice is fine */
    free(s);
}

static void test_ring_keeps_what_was_said(void **state) {
    (void)state;
    struct logbuf b = {0};
    struct seen *s = calloc(1, sizeof *s);
    struct log_line l = {.time_us = 1764042142123456, .pid = 4242, .stream = LOG_STDERR, .text = "it broke", .len = 8};
    logbuf_append(&b, &l);
    append(&b, 7, "", 0);
    logbuf_for_each(&b, see, s);
    assert_int_equal(s->n, 2);
    assert_string_equal(s->first, "it broke");
    assert_int_equal(s->times[0], 1764042142123456);
    assert_int_equal(s->pids[0], 4242);
    assert_int_equal(s->streams[0], LOG_STDERR);
    assert_int_equal(s->lens[1], 0);
    assert_int_equal(s->times[1], 7);
    assert_int_equal(b.dropped, 0);
    logbuf_free(&b);
    free(s);
}

/* Lines of 100 bytes: the ring keeps exactly the newest that fit, oldest first, and never more than its size. */
static void test_ring_eviction_order(void **state) {
    (void)state;
    struct logbuf b = {0};
    struct seen *s = calloc(1, sizeof *s);
    char text[101];
    size_t record = header_size() + 100, fit = LOGBUF_SIZE / record, total = 3 * fit + 17;
    for (size_t i = 0; i < total; i++) {
        snprintf(text, sizeof text, "%-100zu", i);
        append(&b, i, text, 100);
        assert_true(b.len <= LOGBUF_SIZE);
        assert_int_equal(b.len, (i + 1 < fit ? i + 1 : fit) * record);
        /* It grows from 4 KiB as lines come, no further than it needs, and never past LOGBUF_SIZE. */
        assert_true(b.cap >= b.len && b.cap <= LOGBUF_SIZE);
        assert_true(b.cap == 4096 || b.cap / 2 < b.len + record);
    }
    assert_int_equal(b.cap, LOGBUF_SIZE);
    logbuf_for_each(&b, see, s);
    assert_int_equal(s->n, fit);
    for (size_t i = 0; i < s->n; i++)
        assert_int_equal(s->times[i], total - fit + i);
    snprintf(text, sizeof text, "%-100zu", total - fit);
    assert_string_equal(s->first, text);
    logbuf_free(&b);
    free(s);
}

/* Lines of mixed sizes: a long line pushes out as many whole old lines as it needs, no more. */
static void test_ring_eviction_sizes(void **state) {
    (void)state;
    struct logbuf b = {0};
    struct seen *s = calloc(1, sizeof *s);
    static char big[LOG_LINE_MAX];
    size_t h = header_size();
    memset(big, 'b', sizeof big);
    size_t used = 0, i = 0;
    /* Fill with 10-byte lines until the next one would not fit. */
    while (used + h + 10 <= LOGBUF_SIZE) {
        append(&b, i++, "0123456789", 10);
        used += h + 10;
    }
    assert_int_equal(b.len, used);
    size_t small = i;
    /* A full-size line needs ceil((h + 1024 - free) / (h + 10)) of the oldest lines to go. */
    size_t free_bytes = LOGBUF_SIZE - used, need = h + LOG_LINE_MAX - free_bytes;
    size_t gone = (need + h + 10 - 1) / (h + 10);
    append(&b, i++, big, sizeof big);
    logbuf_for_each(&b, see, s);
    assert_int_equal(s->n, small - gone + 1);
    assert_int_equal(s->times[0], gone);
    assert_int_equal(s->lens[s->n - 1], LOG_LINE_MAX);
    assert_int_equal(b.len, (small - gone) * (h + 10) + h + LOG_LINE_MAX);
    assert_true(b.len <= LOGBUF_SIZE);
    logbuf_free(&b);
    free(s);
}

/* A line longer than LOG_LINE_MAX given to the ring is cut to LOG_LINE_MAX; the ring wraps around cleanly. */
static void test_ring_cuts_and_wraps(void **state) {
    (void)state;
    struct logbuf b = {0};
    struct seen *s = calloc(1, sizeof *s);
    static char text[5000];
    for (size_t i = 0; i < sizeof text; i++)
        text[i] = (char)('a' + i % 26);
    for (size_t i = 0; i < 200; i++) /* 200 records of 1024 + header: the ring wraps many times */
        append(&b, i, text + i % 26, 4000);
    logbuf_for_each(&b, see, s);
    size_t fit = LOGBUF_SIZE / (header_size() + LOG_LINE_MAX);
    assert_int_equal(s->n, fit);
    for (size_t i = 0; i < s->n; i++) {
        assert_int_equal(s->lens[i], LOG_LINE_MAX);
        assert_int_equal(s->times[i], 200 - fit + i);
    }
    assert_memory_equal(s->first, text + (200 - fit) % 26, LOG_LINE_MAX);
    logbuf_free(&b);
    free(s);
}

/* ---- the line splitter ---- */

struct lines {
    size_t n;
    char *line[64];
};

static void on_line(void *ud, const char *line, size_t len) {
    struct lines *ls = ud;
    assert_true(ls->n < 64);
    assert_true(len <= LOG_LINE_MAX);
    ls->line[ls->n++] = strndup(line, len);
}

static void lines_free(struct lines *ls) {
    for (size_t i = 0; i < ls->n; i++)
        free(ls->line[i]);
    ls->n = 0;
}

static void split(struct lines *ls, const char *data) {
    struct line_splitter sp = {.len = 0};
    line_split(&sp, data, strlen(data), on_line, ls);
    line_flush(&sp, on_line, ls);
}

static void test_split_lines(void **state) {
    (void)state;
    struct lines ls = {0};
    split(&ls, "one\ntwo\n\nfour\n");
    assert_int_equal(ls.n, 4);
    assert_string_equal(ls.line[0], "one");
    assert_string_equal(ls.line[1], "two");
    assert_string_equal(ls.line[2], "");
    assert_string_equal(ls.line[3], "four");
    lines_free(&ls);
}

/* A last line without a newline waits until the flush. */
static void test_split_no_trailing_newline(void **state) {
    (void)state;
    struct lines ls = {0};
    struct line_splitter sp = {.len = 0};
    line_split(&sp, "done\nhalf", 9, on_line, &ls);
    assert_int_equal(ls.n, 1);
    line_split(&sp, " a line", 7, on_line, &ls);
    assert_int_equal(ls.n, 1);
    line_flush(&sp, on_line, &ls);
    assert_int_equal(ls.n, 2);
    assert_string_equal(ls.line[1], "half a line");
    line_flush(&sp, on_line, &ls); /* nothing left: no empty line */
    assert_int_equal(ls.n, 2);
    lines_free(&ls);
}

/* CR is the app's byte like any other: kept (slate logs shows it as '?'), only LF ends a line. */
static void test_split_cr(void **state) {
    (void)state;
    struct lines ls = {0};
    split(&ls, "dos\r\nline\r\n\rcr only\rstill\n");
    assert_int_equal(ls.n, 3);
    assert_string_equal(ls.line[0], "dos\r");
    assert_string_equal(ls.line[1], "line\r");
    assert_string_equal(ls.line[2], "\rcr only\rstill");
    lines_free(&ls);
}

/* A long line is cut into lines of LOG_LINE_MAX; its newline ends the last piece. */
static void test_split_long_line(void **state) {
    (void)state;
    struct lines ls = {0};
    static char text[2 * LOG_LINE_MAX + 100];
    memset(text, 'x', 2 * LOG_LINE_MAX + 98);
    text[2 * LOG_LINE_MAX + 98] = '\n';
    split(&ls, text);
    assert_int_equal(ls.n, 3);
    assert_int_equal(strlen(ls.line[0]), LOG_LINE_MAX);
    assert_int_equal(strlen(ls.line[1]), LOG_LINE_MAX);
    assert_int_equal(strlen(ls.line[2]), 98);
    lines_free(&ls);

    /* Exactly LOG_LINE_MAX bytes and a newline, in one read: one line, no empty one after it. */
    memset(text, 'y', LOG_LINE_MAX);
    text[LOG_LINE_MAX] = '\n';
    text[LOG_LINE_MAX + 1] = '\0';
    split(&ls, text);
    assert_int_equal(ls.n, 1);
    assert_int_equal(strlen(ls.line[0]), LOG_LINE_MAX);
    lines_free(&ls);
}

/* One byte per write: the same lines as in one write. */
static void test_split_tiny_writes(void **state) {
    (void)state;
    struct lines ls = {0};
    struct line_splitter sp = {.len = 0};
    static char text[LOG_LINE_MAX + 200];
    const char *head = "first\n\nthird line\n";
    size_t n = strlen(head);
    memcpy(text, head, n);
    memset(text + n, 'z', LOG_LINE_MAX + 50);
    text[n + LOG_LINE_MAX + 50] = '\n';
    memcpy(text + n + LOG_LINE_MAX + 51, "end", 3);
    size_t total = n + LOG_LINE_MAX + 54;
    for (size_t i = 0; i < total; i++)
        line_split(&sp, text + i, 1, on_line, &ls);
    assert_int_equal(ls.n, 5);
    line_flush(&sp, on_line, &ls);
    assert_int_equal(ls.n, 6);
    assert_string_equal(ls.line[0], "first");
    assert_string_equal(ls.line[1], "");
    assert_string_equal(ls.line[2], "third line");
    assert_int_equal(strlen(ls.line[3]), LOG_LINE_MAX);
    assert_int_equal(strlen(ls.line[4]), 50);
    assert_string_equal(ls.line[5], "end");
    lines_free(&ls);
}

/*
 * A line cut at LOG_LINE_MAX just as a read ends, its newline first in the
 * next read: the lines must be those of one read (no empty line after the
 * cut). The fuzzer found this (fuzz/corpus/logbuf/cut-at-read-end).
 */
static void test_split_cut_at_read_end(void **state) {
    (void)state;
    struct lines ls = {0};
    struct line_splitter sp = {.len = 0};
    static char text[LOG_LINE_MAX];
    memset(text, 'w', sizeof text);
    line_split(&sp, text, sizeof text, on_line, &ls);
    line_split(&sp, "\nnext\n", 6, on_line, &ls);
    line_flush(&sp, on_line, &ls);
    assert_int_equal(ls.n, 2);
    assert_int_equal(strlen(ls.line[0]), LOG_LINE_MAX);
    assert_string_equal(ls.line[1], "next");
    lines_free(&ls);
}

/* ---- time ---- */

static void test_format_time(void **state) {
    (void)state;
    char buf[32];
    log_format_time(0, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.000Z");
    log_format_time(1764042142123456, buf, sizeof buf);
    assert_string_equal(buf, "2025-11-25T03:42:22.123Z");
    log_format_time(1795000000999999, buf, 25); /* the documented minimum: exactly fits */
    assert_string_equal(buf, "2026-11-18T11:06:40.999Z");
    log_format_time(253402300799999999, buf, sizeof buf);
    assert_string_equal(buf, "9999-12-31T23:59:59.999Z");
    /* Milliseconds are cut, not rounded. */
    log_format_time(1999, buf, sizeof buf);
    assert_string_equal(buf, "1970-01-01T00:00:00.001Z");
}

int main(void) {
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_ring_empty),
        cmocka_unit_test(test_ring_keeps_what_was_said),
        cmocka_unit_test(test_ring_eviction_order),
        cmocka_unit_test(test_ring_eviction_sizes),
        cmocka_unit_test(test_ring_cuts_and_wraps),
        cmocka_unit_test(test_split_lines),
        cmocka_unit_test(test_split_no_trailing_newline),
        cmocka_unit_test(test_split_cr),
        cmocka_unit_test(test_split_long_line),
        cmocka_unit_test(test_split_tiny_writes),
        cmocka_unit_test(test_split_cut_at_read_end),
        cmocka_unit_test(test_format_time),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
