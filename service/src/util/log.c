/* JSON-lines logger on descriptor 2. Each line is built in memory, newline
 * included, and reaches the kernel whole in one write(2) (a regular file's
 * offset moves atomically; a pipe keeps writes up to PIPE_BUF whole), so
 * lines of concurrent threads never mix, and lines reach the file in the
 * order they were logged.
 *
 * Request lines while `serve` runs (log_start .. log_stop) are written in
 * groups: a request thread appends its line to a buffer, and the log
 * thread writes what has gathered, then lets lines gather for
 * LOG_GATHER_MS before it writes again. A line lags its answer by at most
 * about that; SIGTERM writes everything (log_stop); a kill -9 loses the
 * lines of the last LOG_GATHER_MS. Every other line (warnings, errors,
 * the job passes) first writes out the gathered request lines, then itself,
 * at once. docs/performance.md measured why: one write(2) per request to a
 * file was 12% of the service's CPU time on GET /healthz. */
#include "util/log.h"

#include <pthread.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/time.h>
#include <time.h>
#include <errno.h>
#include <unistd.h>

#include "util/jsonw.h"
#include "util/worker.h"

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

static void write_all(const char *p, size_t len)
{
    while (len > 0) {
        ssize_t n = write(STDERR_FILENO, p, len);
        if (n < 0) {
            if (errno == EINTR)
                continue;
            return; /* nowhere to report a failing log */
        }
        p += (size_t)n;
        len -= (size_t)n;
    }
}

/* ---- gathered request lines --------------------------------------------- */

#define LOG_GATHER_MS 1
#define LOG_BUFFER_BYTES (256 * 1024)

static struct {
    pthread_mutex_t lock;
    pthread_mutex_t write_lock; /* held across each write of gathered lines,
                                   so that lines reach the file in order */
    pthread_cond_t wake; /* on CLOCK_MONOTONIC */
    pthread_t thread;
    char *buf, *spare; /* LOG_BUFFER_BYTES each */
    size_t len;
    bool running, stopping, idle; /* idle: the thread waits for a line */
} g = { .lock = PTHREAD_MUTEX_INITIALIZER, .write_lock = PTHREAD_MUTEX_INITIALIZER };

/* Writes the gathered lines, then text if not NULL; g.lock held. */
static void flush_locked(const char *text, size_t len)
{
    pthread_mutex_lock(&g.write_lock);
    write_all(g.buf, g.len);
    g.len = 0;
    if (text)
        write_all(text, len);
    pthread_mutex_unlock(&g.write_lock);
}

static void *gather_loop(void *arg)
{
    (void)arg;
    pthread_mutex_lock(&g.lock);
    while (!g.stopping) {
        if (g.len == 0) {
            g.idle = true;
            pthread_cond_wait(&g.wake, &g.lock);
            g.idle = false;
            continue;
        }
        /* Write the lines so far from the spare buffer, unlocked: request
         * threads go on appending meanwhile. */
        char *out = g.buf;
        size_t n = g.len;
        g.buf = g.spare;
        g.spare = out;
        g.len = 0;
        pthread_mutex_lock(&g.write_lock);
        pthread_mutex_unlock(&g.lock);
        write_all(out, n);
        pthread_mutex_unlock(&g.write_lock);
        struct timespec t = worker_deadline_ms(LOG_GATHER_MS);
        pthread_mutex_lock(&g.lock);
        /* Let lines gather; only a stop ends this early. */
        while (!g.stopping && pthread_cond_timedwait(&g.wake, &g.lock, &t) == 0)
            ;
    }
    flush_locked(NULL, 0);
    pthread_mutex_unlock(&g.lock);
    return NULL;
}

int log_start(void)
{
    pthread_mutex_lock(&g.lock);
    if (g.running) {
        pthread_mutex_unlock(&g.lock);
        return 0;
    }
    pthread_condattr_t attr;
    pthread_condattr_init(&attr);
    pthread_condattr_setclock(&attr, CLOCK_MONOTONIC);
    int rc = pthread_cond_init(&g.wake, &attr);
    pthread_condattr_destroy(&attr);
    g.buf = malloc(LOG_BUFFER_BYTES);
    g.spare = malloc(LOG_BUFFER_BYTES);
    g.len = 0;
    g.stopping = false;
    if (rc != 0 || !g.buf || !g.spare || pthread_create(&g.thread, NULL, gather_loop, NULL) != 0) {
        free(g.buf);
        free(g.spare);
        g.buf = g.spare = NULL;
        if (rc == 0)
            pthread_cond_destroy(&g.wake);
        pthread_mutex_unlock(&g.lock);
        return -1;
    }
    g.running = true;
    pthread_mutex_unlock(&g.lock);
    return 0;
}

void log_stop(void)
{
    pthread_mutex_lock(&g.lock);
    if (!g.running) {
        pthread_mutex_unlock(&g.lock);
        return;
    }
    g.stopping = true;
    pthread_cond_signal(&g.wake);
    pthread_mutex_unlock(&g.lock);
    pthread_join(g.thread, NULL);
    pthread_mutex_lock(&g.lock);
    g.running = false;
    pthread_cond_destroy(&g.wake);
    free(g.buf);
    free(g.spare);
    g.buf = g.spare = NULL;
    pthread_mutex_unlock(&g.lock);
}

/* A line (text[len] must be writable: the newline goes there). gather:
 * a request line, which may wait for the log thread; anything else is
 * written now, after the request lines gathered before it. */
static void write_line(char *text, size_t len, bool gather)
{
    text[len++] = '\n';
    pthread_mutex_lock(&g.lock);
    if (!g.running) {
        pthread_mutex_unlock(&g.lock);
        write_all(text, len);
        return;
    }
    if (!gather || g.len + len > LOG_BUFFER_BYTES) {
        /* In order: what gathered, then this line (a full buffer is rare:
         * the thread writes every LOG_GATHER_MS). */
        flush_locked(text, len);
        pthread_mutex_unlock(&g.lock);
        return;
    }
    memcpy(g.buf + g.len, text, len);
    g.len += len;
    /* Woken only from its wait for a first line: while it lets lines
     * gather it is not, so that a busy service makes no futex call a line. */
    bool wake = g.idle;
    g.idle = false;
    pthread_mutex_unlock(&g.lock);
    if (wake)
        pthread_cond_signal(&g.wake);
}

void log_request(enum log_level level, const char *request_id, const char *method,
                 const char *route, unsigned status, double duration_ms,
                 unsigned db_round_trips, int terminated)
{
    if (level < min_level)
        return;
    char ts[40], tail[128];
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
    int n = snprintf(tail, sizeof tail, ",\"status\":%u,\"duration_ms\":%.3f,\"db_round_trips\":%u",
                     status, duration_ms, db_round_trips);
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
    write_line(text, len, true);
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
    write_line(text, strlen(text), false);
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
