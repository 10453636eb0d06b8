/* Field checks for JSON request bodies, collecting every problem as
 * {pointer, detail} so that one 422 lists them all. */
#ifndef YIJIAN_HTTP_VALIDATE_H
#define YIJIAN_HTTP_VALIDATE_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "http/request.h"

struct validator {
    json_t *body;   /* borrowed */
    json_t *errors; /* owned until handed to reply_validation */
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

#endif
