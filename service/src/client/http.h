/* A small libcurl wrapper for the member client: one JSON request, one
 * parsed answer, bounded in time and size, retried on network errors when
 * that is safe. */
#ifndef YIJIAN_CLIENT_HTTP_H
#define YIJIAN_CLIENT_HTTP_H

#include <jansson.h>
#include <stddef.h>

#define HTTP_CONNECT_TIMEOUT_S 10L
#define HTTP_TOTAL_TIMEOUT_S 30L   /* per attempt */
#define HTTP_MAX_ATTEMPTS 4        /* the first try and three retries */
#define HTTP_MAX_ANSWER_BYTES (1024 * 1024)

/* When a request that got no answer may be sent again. */
enum http_retry {
    /* Only when it certainly never reached the service (no connection, or
     * not a byte sent): for requests that change something each time they
     * arrive (sign-in, token issuance, a message). */
    HTTP_RETRY_UNSENT,
    /* On any network error and on 503: for requests that are idempotent
     * (GET) or carry an Idempotency-Key. */
    HTTP_RETRY_SAFE,
};

struct http_reply {
    long status;  /* the HTTP status */
    json_t *json; /* the body parsed as JSON, or NULL (empty, or not JSON) */
};

/* Call once before any request (curl_global_init) / at the end. */
int http_init(void);
void http_cleanup(void);

/*
 * Sends method url with the extra headers (a NULL-terminated list of
 * "Name: value", or NULL) and body as JSON (borrowed; NULL for none), on a
 * connection of its own: nothing (connection, cookie, TLS session) is
 * shared with another request, so that an anonymous request cannot be tied
 * to a signed-in one at the transport. Redirects are not followed.
 *
 * Returns 0 when an answer came, whatever its status (reply filled; the
 * caller calls http_reply_cleanup), or -1 with err set when none did after
 * the retries retry allows. The headers and the body may hold secrets: they
 * are never written anywhere but to the connection, and the serialized
 * body is wiped after use.
 */
int http_request(const char *method, const char *url, const char *const *headers, json_t *body,
                 enum http_retry retry, struct http_reply *reply, char *err, size_t errlen);

/* Frees what reply holds; safe on a zeroed reply. */
void http_reply_cleanup(struct http_reply *reply);

#endif
