/* JSON-lines logger: each line is built in memory, newline included, and
 * handed to the kernel with one write(2) on descriptor 2. No user-space lock
 * is taken: the kernel keeps one write whole (a regular file's offset moves
 * atomically; a pipe keeps writes up to PIPE_BUF whole), so lines of
 * concurrent threads never mix. Nothing is buffered: a line is in the file
 * before the answer it describes has left (docs/performance.md measured the
 * stdio lock this replaced: the HTTP threads queued on it). */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "util/jsonw.h"

static enum log_level min_level = LOG_INFO;
static const char *const level_names[] = { "debug", "info", "warn", "error" };

void log_set_level(enum log_level level) { min_level = level; }

int log_level_parse(const char *s)
{
    for (size_t i = 0; i < sizeof level_names / sizeof level_names[0]; i++)
        if (strcmp(s, level_names[i]) == 0)
            return (int)i;
    return -1;
}

/* 2026-11-27T03:04:05.678Z. The part up to the seconds is formatted once
 * per second and thread (strftime takes glibc's time-zone lock). */
static void timestamp(char ts[40])
{
    static _Thread_local time_t last_sec = (time_t)-1;
    static _Thread_local char last[24];
    struct timeval tv;
    gettimeofday(&tv, NULL);
    if (tv.tv_sec != last_sec) {
        struct tm tm;
        gmtime_r(&tv.tv_sec, &tm);
        if (strftime(last, sizeof last, "%Y-%m-%dT%H:%M:%S", &tm) == 0)
            last[0] = '\0';
        last_sec = tv.tv_sec;
    }
    size_t n = strlen(last);
    memcpy(ts, last, n);
    unsigned ms = (unsigned)(tv.tv_usec / 1000);
    ts[n++] = '.';
    ts[n++] = (char)('0' + ms / 100);
    ts[n++] = (char)('0' + ms / 10 % 10);
    ts[n++] = (char)('0' + ms % 10);
    ts[n++] = 'Z';
    ts[n] = '\0';
}

/* text[len] must be writable: the newline goes there. */
static void write_line(char *text, size_t len)
{
    text[len++] = '\n';
    const char *p = text;
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report a failing log */
        }
        p += n;
        len -= (size_t)n;
    }
}

void log_request(enum log_level level, const char *request_id, const char *method,
                 const char *route, unsigned status, double duration_ms, int terminated)
{
    if (level < min_level)
        return;
    char ts[40], tail[96];
    timestamp(ts);
    struct jsonw w = { 0 };
    JSONW_LIT(&w, "{\"time\":\"");
    jsonw_raw(&w, ts, strlen(ts));
    JSONW_LIT(&w, "\",\"level\":\"");
    jsonw_raw(&w, level_names[level], strlen(level_names[level]));
    JSONW_LIT(&w, "\",\"msg\":\"request\",");
    jsonw_key(&w, "request_id");
    jsonw_str(&w, request_id, strlen(request_id));
    JSONW_LIT(&w, ",");
    jsonw_key(&w, "method");
    jsonw_str(&w, method, strlen(method));
    JSONW_LIT(&w, ",");
    jsonw_key(&w, "route");
    jsonw_str(&w, route, strlen(route));
    int n = snprintf(tail, sizeof tail, ",\"status\":%u,\"duration_ms\":%.3f", status, duration_ms);
    jsonw_raw(&w, tail, (size_t)n);
    if (terminated >= 0) {
        n = snprintf(tail, sizeof tail, ",\"terminated\":%d", terminated);
        jsonw_raw(&w, tail, (size_t)n);
    }
    JSONW_LIT(&w, "}");
    size_t len;
    char *text = jsonw_finish(&w, &len);
    if (!text)
        return;
    write_line(text, len);
    free(text);
}

void log_json(enum log_level level, const char *msg, json_t *fields)
{
    if (level < min_level)
        return;

    char ts[40];
    timestamp(ts);

    json_t *line = json_object();
    json_object_set_new(line, "time", json_string(ts));
    json_object_set_new(line, "level", json_string(level_names[level]));
    json_object_set_new(line, "msg", json_string(msg ? msg : ""));
    if (fields)
        json_object_update(line, fields);

    char *text = json_dumps(line, JSON_COMPACT | JSON_ENSURE_ASCII | JSON_REAL_PRECISION(6));
    json_decref(line);
    if (!text)
        return;
    write_line(text, strlen(text));
    free(text);
}

void log_msg(enum log_level level, const char *fmt, ...)
{
    if (level < min_level)
        return;
    char buf[1024];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(buf, sizeof buf, fmt, ap);
    va_end(ap);
    log_json(level, buf, NULL);
}
