/* The one way to answer: JSON, problem+json (RFC 9457), text, or empty. */
#ifndef YIJIAN_HTTP_REPLY_H
#define YIJIAN_HTTP_REPLY_H

#include <jansson.h>

#include "db/db.h"
#include "http/request.h"

/* The Content-Security-Policy of every answer whose handler sets none:
 * JSON loads nothing and is framed by nobody. */
#define REPLY_DEFAULT_CSP "default-src 'none'; frame-ancestors 'none'"

/* Each kind has one stable type URI "/problems/<slug>" and one status. */
enum problem {
    PROBLEM_MALFORMED_JSON,
    PROBLEM_INVALID_UTF8,
    PROBLEM_UNAUTHORIZED,
    PROBLEM_INVALID_CREDENTIALS,
    PROBLEM_ACTIVATION_FAILED,
    PROBLEM_FORBIDDEN,
    PROBLEM_NOT_FOUND,
    PROBLEM_METHOD_NOT_ALLOWED,
    PROBLEM_CONFLICT,
    PROBLEM_PAYLOAD_TOO_LARGE,
    PROBLEM_URI_TOO_LONG,
    PROBLEM_UNSUPPORTED_MEDIA_TYPE,
    PROBLEM_VALIDATION_FAILED,
    PROBLEM_TOO_MANY_ATTEMPTS,
    PROBLEM_INTERNAL_ERROR,
    PROBLEM_DATABASE_UNAVAILABLE,
    PROBLEM_TOKEN_QUOTA_EXHAUSTED,
    PROBLEM_INVALID_TOKEN,
    PROBLEM_TOKEN_SPENT,
    PROBLEM_INVALID_TRACKING_CODE,
    PROBLEM_BAD_FRAMING,
    PROBLEM__COUNT
};

struct problem_def {
    unsigned status;
    const char *slug;
    const char *title;
};
extern const struct problem_def problem_defs[PROBLEM__COUNT];

/* Queues body (stolen: the reply json_decref()s it) as application/json. */
enum handler_result reply_json(struct request *r, unsigned status, json_t *body);

/* A JSON body already written as text (malloc'd; taken, also on failure). */
enum handler_result reply_json_text(struct request *r, unsigned status, char *text, size_t len);

/* Queues a problem of kind with an optional detail. */
enum handler_result reply_problem(struct request *r, enum problem kind, const char *detail);

/* 422 with errors: [{pointer, detail}] (stolen). */
enum handler_result reply_validation(struct request *r, json_t *errors);

/* Maps a failed database status to its problem: 503 for an unavailable
 * database (with Retry-After), 409 for a unique violation, else 500. */
enum handler_result reply_db_error(struct request *r, enum db_status st);

/* Queues data (copied unless persistent) with the given content type. */
enum handler_result reply_bytes(struct request *r, unsigned status, const char *content_type,
                                const void *data, size_t len, int persistent);

enum handler_result reply_empty(struct request *r, unsigned status);

/* Queues a response the caller built (taken over: destroyed here, also on
 * failure), for headers beyond what request_add_header holds, such as the
 * web client's Content-Security-Policy. content_type may be NULL. */
enum handler_result reply_response(struct request *r, unsigned status, struct MHD_Response *resp,
                                   const char *content_type);

#endif
