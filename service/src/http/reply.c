/* Responses: every reply goes through queue(), which adds the request id
 * and the pending headers and records the status for log and metrics. */
#include "http/reply.h"

#include "http/problem_text.h"

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

const struct problem_def problem_defs[PROBLEM__COUNT] = {
    [PROBLEM_MALFORMED_JSON] = { 400, "malformed-json", "Request body is not valid JSON" },
    [PROBLEM_INVALID_UTF8] = { 400, "invalid-utf8", "Request body is not valid UTF-8" },
    [PROBLEM_UNAUTHORIZED] = { 401, "unauthorized", "Sign-in required" },
    [PROBLEM_INVALID_CREDENTIALS] = { 401, "invalid-credentials", "Login or password is wrong" },
    [PROBLEM_ACTIVATION_FAILED] = { 401, "activation-failed",
                                    "Activation code is not valid for this login" },
    [PROBLEM_FORBIDDEN] = { 403, "forbidden", "Not allowed" },
    [PROBLEM_NOT_FOUND] = { 404, "not-found", "Not found" },
    [PROBLEM_METHOD_NOT_ALLOWED] = { 405, "method-not-allowed", "Method not allowed" },
    [PROBLEM_CONFLICT] = { 409, "conflict", "Conflicts with the current state" },
    [PROBLEM_PAYLOAD_TOO_LARGE] = { 413, "payload-too-large", "Request body is too large" },
    [PROBLEM_URI_TOO_LONG] = { 414, "uri-too-long", "Request URI is too long" },
    [PROBLEM_UNSUPPORTED_MEDIA_TYPE] = { 415, "unsupported-media-type",
                                         "Request body must be application/json" },
    [PROBLEM_VALIDATION_FAILED] = { 422, "validation-failed", "Request is not acceptable" },
    [PROBLEM_TOO_MANY_ATTEMPTS] = { 429, "too-many-attempts", "Too many attempts; wait and retry" },
    [PROBLEM_INTERNAL_ERROR] = { 500, "internal-error", "Internal error" },
    [PROBLEM_DATABASE_UNAVAILABLE] = { 503, "database-unavailable",
                                       "Database unavailable; retry shortly" },
    [PROBLEM_TOKEN_QUOTA_EXHAUSTED] = { 429, "token-quota-exhausted",
                                        "Not enough anonymity tokens left in this epoch" },
    [PROBLEM_INVALID_TOKEN] = { 403, "invalid-token",
                                "The token is not one this service issued" },
    [PROBLEM_TOKEN_SPENT] = { 409, "token-spent", "The token was spent already" },
    [PROBLEM_INVALID_TRACKING_CODE] = { 401, "invalid-tracking-code",
                                        "Tracking code required or not known" },
    [PROBLEM_BAD_FRAMING] = { 400, "bad-framing", "Request framing is ambiguous" },
};

static enum handler_result queue(struct request *r, unsigned status, struct MHD_Response *resp,
                                 const char *content_type)
{
    if (!resp)
        return HANDLER_FATAL;
    if (content_type)
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CONTENT_TYPE, content_type);
    MHD_add_response_header(resp, "X-Request-Id", r->request_id);
    /* An answer that is not a success is never cached, whatever the
     * handler had set before it failed. */
    bool cacheable = status < 300 || status == 304;
    for (int i = 0; i < r->n_extra_headers; i++)
        if (cacheable || strcasecmp(r->extra_names[i], MHD_HTTP_HEADER_CACHE_CONTROL) != 0)
            MHD_add_response_header(resp, r->extra_names[i], r->extra_values[i]);
    /* The security headers of every answer (docs/security.md, "Response
     * headers"); a handler may set its own Content-Security-Policy (the
     * bulletin page does) or Cache-Control (public, immutable things). */
    if (!MHD_get_response_header(resp, "X-Content-Type-Options"))
        MHD_add_response_header(resp, "X-Content-Type-Options", "nosniff");
    if (!MHD_get_response_header(resp, "Referrer-Policy"))
        MHD_add_response_header(resp, "Referrer-Policy", "no-referrer");
    if (!MHD_get_response_header(resp, "Content-Security-Policy"))
        MHD_add_response_header(resp, "Content-Security-Policy", REPLY_DEFAULT_CSP);
    /* API answers are personal unless a handler says otherwise. */
    if (!MHD_get_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL))
        MHD_add_response_header(resp, MHD_HTTP_HEADER_CACHE_CONTROL, "no-store");
    if (r->off_thread) {
        /* Queued by the HTTP thread when the connection resumes. */
        MHD_destroy_response(r->pending);
        r->pending = resp;
        r->pending_status = status;
        r->status = status;
        r->responded = true;
        return HANDLER_DONE;
    }
    enum MHD_Result ok = MHD_queue_response(r->conn, status, resp);
    MHD_destroy_response(resp);
    if (ok != MHD_YES)
        return HANDLER_FATAL;
    r->status = status;
    r->responded = true;
    return HANDLER_DONE;
}

static enum handler_result queue_json(struct request *r, unsigned status, json_t *body,
                                      const char *content_type)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return HANDLER_FATAL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return HANDLER_FATAL;
    }
    return queue(r, status, resp, content_type);
}

enum handler_result reply_json(struct request *r, unsigned status, json_t *body)
{
    return queue_json(r, status, body, "application/json");
}

enum handler_result reply_json_text(struct request *r, unsigned status, char *text, size_t len)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(len, text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return HANDLER_FATAL;
    }
    return queue(r, status, resp, "application/json");
}

/* Chinese when the caller asks for it (problem_text.h); the type, status
 * and pointers stay as they are. A detail the catalogue lacks (the unit
 * test tests/unit/http/problem_text.c keeps that from happening) is left
 * out rather than sent in English. */
static bool wants_chinese(struct request *r)
{
    return problem_text_wants_chinese(request_header(r, "Accept-Language"));
}

/* A problem answer says its language (Content-Language) and that it
 * depends on Accept-Language. */
static enum handler_result queue_problem(struct request *r, unsigned status, json_t *body, bool zh)
{
    char *text = json_dumps(body, JSON_COMPACT);
    json_decref(body);
    if (!text)
        return HANDLER_FATAL;
    struct MHD_Response *resp =
        MHD_create_response_from_buffer(strlen(text), text, MHD_RESPMEM_MUST_FREE);
    if (!resp) {
        free(text);
        return HANDLER_FATAL;
    }
    MHD_add_response_header(resp, "Content-Language", zh ? "zh-CN" : "en");
    MHD_add_response_header(resp, "Vary", "Accept-Language");
    return queue(r, status, resp, "application/problem+json");
}

static json_t *problem_body(struct request *r, enum problem kind, const char *detail, bool zh)
{
    const struct problem_def *d = &problem_defs[kind];
    char type[64];
    snprintf(type, sizeof type, "/problems/%s", d->slug);
    const char *title = zh && problem_text_title_zh(kind) ? problem_text_title_zh(kind) : d->title;
    json_t *p = json_pack("{s:s, s:s, s:i, s:s}", "type", type, "title", title,
                          "status", (int)d->status, "request_id", r->request_id);
    char text[512];
    if (detail && zh && problem_text_detail_zh(detail, text, sizeof text))
        json_object_set_new(p, "detail", json_string(text));
    else if (detail && !zh)
        json_object_set_new(p, "detail", json_string(detail));
    return p;
}

enum handler_result reply_problem(struct request *r, enum problem kind, const char *detail)
{
    if (kind == PROBLEM_DATABASE_UNAVAILABLE)
        request_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "2");
    if (kind == PROBLEM_UNAUTHORIZED)
        request_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Bearer");
    if (kind == PROBLEM_INVALID_TRACKING_CODE)
        request_add_header(r, MHD_HTTP_HEADER_WWW_AUTHENTICATE, "Tracking");
    bool zh = wants_chinese(r);
    return queue_problem(r, problem_defs[kind].status, problem_body(r, kind, detail, zh), zh);
}

enum handler_result reply_validation(struct request *r, json_t *errors)
{
    bool zh = wants_chinese(r);
    json_t *p = problem_body(r, PROBLEM_VALIDATION_FAILED, NULL, zh);
    if (zh) {
        size_t i;
        json_t *e;
        json_array_foreach(errors, i, e) {
            char text[512];
            const char *en = json_string_value(json_object_get(e, "detail"));
            json_object_set_new(e, "detail", json_string(en && problem_text_detail_zh(en, text, sizeof text)
                                                             ? text
                                                             : "填写有误"));
        }
    }
    json_object_set_new(p, "errors", errors);
    return queue_problem(r, 422, p, zh);
}

enum handler_result reply_db_error(struct request *r, enum db_status st)
{
    switch (st) {
    case DB_UNAVAILABLE:
    case DB_SERIALIZATION: /* retries exhausted: transient */
        return reply_problem(r, PROBLEM_DATABASE_UNAVAILABLE, NULL);
    case DB_UNIQUE:
        return reply_problem(r, PROBLEM_CONFLICT, NULL);
    default:
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    }
}

enum handler_result reply_bytes(struct request *r, unsigned status, const char *content_type,
                                const void *data, size_t len, int persistent)
{
    struct MHD_Response *resp = MHD_create_response_from_buffer(
        len, (void *)(uintptr_t)data, persistent ? MHD_RESPMEM_PERSISTENT : MHD_RESPMEM_MUST_COPY);
    return queue(r, status, resp, content_type);
}

enum handler_result reply_response(struct request *r, unsigned status, struct MHD_Response *resp,
                                   const char *content_type)
{
    return queue(r, status, resp, content_type);
}

enum handler_result reply_empty(struct request *r, unsigned status)
{
    /* 204 carries no content type. */
    return queue(r, status, MHD_create_response_from_buffer(0, NULL, MHD_RESPMEM_PERSISTENT),
                 NULL);
}
