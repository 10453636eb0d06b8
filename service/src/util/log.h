/* JSON-lines logger on stderr: the one way the service writes a log line. */
#ifndef YIJIAN_LOG_H
#define YIJIAN_LOG_H

#include <jansson.h>

enum log_level { LOG_DEBUG = 0, LOG_INFO, LOG_WARN, LOG_ERROR };

/* While `serve` runs: request lines are written in groups by a thread of
 * the logger's own, at most about a millisecond after they were logged
 * (log.c says why); log_stop writes what is left. Without log_start every
 * line is written at once. log_start returns 0 or -1. */
int log_start(void);
void log_stop(void);

/* Sets the lowest level written; lines below it are dropped. */
void log_set_level(enum log_level level);

/* Parses "debug", "info", "warn" or "error"; returns -1 when unknown. */
int log_level_parse(const char *s);

/*
 * Writes one line {"time":...,"level":...,"msg":msg, ...fields}.
 * fields may be NULL; it is a borrowed reference (caller keeps ownership).
 * Never pass secrets, tokens, tracking codes or anything about an
 * anonymous request in fields.
 */
void log_json(enum log_level level, const char *msg, json_t *fields);

/*
 * The line of one finished request, {"time", "level", "msg":"request",
 * "request_id", "method", "route", "status", "duration_ms", "db_round_trips"
 * [, "terminated"]}, written without building JSON objects: it is written
 * for every request. terminated < 0 leaves it out.
 */
void log_request(enum log_level level, const char *request_id, const char *method,
                 const char *route, unsigned status, double duration_ms,
                 unsigned db_round_trips, int terminated);

/* printf-style convenience: {"msg": formatted}. */
void log_msg(enum log_level level, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

#endif
