/* Field checks for JSON request bodies and for query strings, collecting
 * every problem as {pointer, detail} so that one 422 lists them all. */
#ifndef YIJIAN_HTTP_VALIDATE_H
#define YIJIAN_HTTP_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"

struct validator {
    json_t *body;          /* borrowed */
    json_t *errors;        /* owned until handed to reply_validation */
    struct request *query; /* validator_init_query: whose query string */
};

/* Starts checking body; a body that is not an object is the first error. */
void validator_init(struct validator *v, json_t *body);

/* Releases errors if they were not handed on; safe to call twice. */
void validator_cleanup(struct validator *v);

/* Records an error at "/field". */
void validator_error(struct validator *v, const char *field, const char *detail);

/*
 * Returns the string field, or NULL with an error recorded when it is
 * missing (and required), not a string, or not min..max characters
 * (code points, not bytes). The string belongs to the body.
 */
const char *validate_string(struct validator *v, const char *field, bool required,
                            size_t min_chars, size_t max_chars);

/*
 * An id field: a positive integer. Returns true when present and valid
 * (*out set). When nullable, JSON null is accepted and reported with
 * *out = 0 and *present true; absent means *present false.
 */
bool validate_id(struct validator *v, const char *field, bool required, bool nullable,
                 long long *out, bool *present);

/*
 * An integer field of min..max. Returns true when present and valid
 * (*out set); absent or null is *present false, and an error when
 * required; anything else records an error naming the range.
 */
bool validate_int(struct validator *v, const char *field, bool required, long long min,
                  long long max, long long *out, bool *present);

/*
 * A time field in RFC 3339 with seconds and a zone ("2026-12-07T09:00:00Z",
 * "2026-12-07T17:00:00+08:00"), a real date. Returns the string (the
 * body's) or NULL, with an error when it is malformed or missing and
 * required.
 */
const char *validate_time(struct validator *v, const char *field, bool required);

/* A boolean field; absent or null gives fallback. */
bool validate_bool(struct validator *v, const char *field, bool fallback);

/*
 * An array of distinct strings of min..max characters, at most max_items.
 * Returns the array (borrowed from the body) or NULL with an error recorded
 * (or NULL without an error when absent and not required).
 */
json_t *validate_string_array(struct validator *v, const char *field, bool required,
                              size_t max_items, size_t min_chars, size_t max_chars);

/*
 * A name field (of a unit, portfolio, category or person): first rewritten
 * in the body in its normal form (util/text.h: full-width and invisible
 * spaces, full-width letters, digits and separators), then checked as
 * validate_string with 1..max_chars characters. The string belongs to the
 * body.
 */
const char *validate_name(struct validator *v, const char *field, bool required,
                          size_t max_chars);

/* validate_string_array of names, each normalised as validate_name (so two
 * spellings of one name are duplicates). */
json_t *validate_name_array(struct validator *v, const char *field, bool required,
                            size_t max_items, size_t max_chars);

/* Records an error when s (may be NULL) starts or ends with white space:
 * names and logins are compared as stored. */
void validate_trimmed(struct validator *v, const char *field, const char *s);

/* Records an error when s (may be NULL) shows nothing: only white space,
 * invisible, direction or control characters (util/text.h). */
void validate_not_blank(struct validator *v, const char *field, const char *s);

bool validator_failed(const struct validator *v);

/* Answers 422 with the collected errors (handed over: v is cleaned up). */
enum handler_result validator_reply(struct request *r, struct validator *v);

/*
 * The end of a handler's checks: true when nothing was refused (v is
 * cleaned up), false with the 422 queued in *out.
 */
bool validator_passed(struct request *r, struct validator *v, enum handler_result *out);

/* Answers 422 with one problem at "/field" ("" for the whole body or the
 * query). */
enum handler_result reply_invalid(struct request *r, const char *field, const char *detail);

/* ---- query strings ----
 * The same collection for a request's query string. A parameter has no
 * place in a body, so each problem is {pointer: "", detail}, the detail
 * naming the parameter ("limit: 1 to 200"); validator_failed,
 * validator_passed and validator_reply as for a body. */

/* The largest id a query or a path may name: 18 digits. */
#define ID_MAX 999999999999999999LL

/* Starts checking r's query string. */
void validator_init_query(struct validator *v, struct request *r);

/* Records a problem with the query as a whole or a parameter. */
void query_error(struct validator *v, const char *detail);

/*
 * Parameter name: decimal digits only (util/decimal.h) of a value in
 * [min, max], true with *out set. Absent: false, *out untouched, detail
 * recorded only when required. Anything else: false, detail recorded.
 */
bool query_decimal(struct validator *v, const char *name, bool required, long long min,
                   long long max, long long *out, const char *detail);

/* Parameter name, when given: one of words (a NULL-terminated list).
 * Returns it, or NULL when absent or refused (detail recorded). */
const char *query_word(struct validator *v, const char *name, const char *const words[],
                       const char *detail);

/* Parameter name, a day YYYY-MM-DD (util/day.h). Returns it, or NULL when
 * absent (recorded when required) or refused (detail recorded). */
const char *query_day(struct validator *v, const char *name, bool required, const char *detail);

#endif
