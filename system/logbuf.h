/* logbuf.h: what an app writes, kept in a bounded ring for `slate logs` and appended to a log file. */
#pragma once

#include <stddef.h>
#include <stdint.h>

#define LOGBUF_SIZE (32 * 1024) /* per app: the newest lines that fit */
#define LOG_LINE_MAX 1024       /* longer output is cut into lines of this size */
#define LOG_FILE_MAX (1024 * 1024) /* the file is rotated to NAME.log.1 beyond this */

enum log_stream {
    LOG_SLATED = 0, /* what slated says about the app: started, frozen, crashed ... */
    LOG_STDOUT = 1,
    LOG_STDERR = 2,
};

/*
 * log_line.stream: the stream in the low 4 bits; in the high 4, the syslog
 * priority + 1 of a line written by slate_log ("<6>tag: text" on stderr, kept
 * as the text alone), 0 for a line without one.
 */
#define LOG_STREAM(s) ((s) & 0x0f)
#define LOG_PRIORITY(s) (((s) >> 4) - 1) /* -1: none */
#define LOG_WITH_PRIORITY(stream, prio) ((uint8_t)((stream) | ((prio) + 1) << 4))

/* A line from slate_log ("<N>TAG: TEXT"): its priority, and the text with the prefix (and TAG when it is tag) cut. */
int log_parse_priority(const char *line, size_t len, const char *tag, size_t *ret_skip);

struct log_line {
    uint64_t time_us; /* CLOCK_REALTIME */
    uint32_t pid;
    uint8_t stream;
    uint16_t len;
    const char *text; /* not NUL-terminated when read from the ring: len bytes */
};

/*
 * Records (a header, then the text) in a ring that drops the oldest whole
 * records to make room. The buffer is allocated on the first line and grows
 * (4 KiB, doubling) to LOGBUF_SIZE, so an app that never writes costs nothing
 * and one that writes a few lines little.
 */
struct logbuf {
    uint8_t *buf;
    size_t cap;       /* bytes allocated: 0, then 4 KiB up to LOGBUF_SIZE */
    size_t head, len; /* the oldest byte, and how many bytes are used */
    uint64_t dropped; /* lines that did not fit (allocation failed) */
};

void logbuf_append(struct logbuf *b, const struct log_line *l);
void logbuf_free(struct logbuf *b);

/* Calls fn for each line, oldest first, with the text copied into a NUL-terminated buffer. */
void logbuf_for_each(const struct logbuf *b, void (*fn)(void *ud, const struct log_line *l), void *ud);

/*
 * The split of a pipe's bytes into lines: bytes accumulate until a newline or
 * LOG_LINE_MAX, then fn gets one line (without the newline).
 */
struct line_splitter {
    char buf[LOG_LINE_MAX];
    size_t len;
};
void line_split(struct line_splitter *s, const char *data, size_t n, void (*fn)(void *ud, const char *line, size_t len),
                void *ud);
/* Hand out what is left (an unterminated last line). */
void line_flush(struct line_splitter *s, void (*fn)(void *ud, const char *line, size_t len), void *ud);

/* How a line is labelled for a person: "slated", "stdout", "stderr", or slate_log's priority ("info", "error" ...). */
const char *log_label(uint8_t stream);

/* "2026-11-25T03:42:22.123Z" into buf (at least 25 bytes). */
void log_format_time(uint64_t time_us, char *buf, size_t size);
