/* JSON-lines logger: each line is built in memory and written with one
 * fwrite under the stdio lock, so lines of concurrent threads never mix. */
#include "util/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>

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

static void timestamp(char ts[40])
{
    struct timeval tv;
    gettimeofday(&tv, NULL);
    struct tm tm;
    gmtime_r(&tv.tv_sec, &tm);
    size_t n = strftime(ts, 40, "%Y-%m-%dT%H:%M:%S", &tm);
    snprintf(ts + n, 40 - n, ".%03ldZ", (long)(tv.tv_usec / 1000));
}

static void write_line(const char *text, size_t len)
{
    flockfile(stderr);
    fwrite(text, 1, len, stderr);
    fputc('\n', stderr);
    fflush(stderr);
    funlockfile(stderr);
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
