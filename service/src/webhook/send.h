/* One webhook request over libcurl: resolved and checked first, then
 * connected only to the address checked (pinned with CURLOPT_RESOLVE, and
 * checked again as the socket opens), bounded in time, no redirects, no
 * proxy. Runs on the delivery worker's thread. */
#ifndef YIJIAN_WEBHOOK_SEND_H
#define YIJIAN_WEBHOOK_SEND_H

#include <stdbool.h>
#include <stddef.h>

#include "webhook/payload.h"
#include "webhook/url.h"

#define WEBHOOK_ANSWER_MAX_BYTES (64 * 1024)

struct webhook_request {
    enum webhook_kind kind;
    const char *url;
    const char *secret; /* may be NULL (a robot without signing) */
    size_t secret_len;
    const char *body;   /* from webhook_body */
    long long delivery_id;
    const char *event;
    unsigned timeout_s;
    /* Polled while the request runs; true aborts it (the service stops).
     * May be NULL. */
    bool (*cancelled)(void);
};

struct webhook_outcome {
    bool delivered;
    int http_status;    /* 0 when no answer came */
    char error[300];    /* "" when delivered */
    long duration_ms;
};

/* One HTTP request (the robots' and the messengers' calls). */
struct webhook_call {
    const char *url;       /* what is requested */
    const char *check_url; /* what is checked, when not url (NULL: url) */
    const char *body;      /* JSON, POSTed; NULL: a GET */
    const char *const *headers; /* more header lines, NULL-terminated; may be NULL */
    unsigned timeout_s;
    bool (*cancelled)(void);
};

/*
 * Checks, resolves, pins and requests q->url once. Returns true when a
 * 2xx answer came; otherwise o->error says why. o->http_status and
 * o->duration_ms are set; o->delivered is left false (the caller judges
 * the answer). When answer is not NULL and an answer came, *answer is its
 * first WEBHOOK_ANSWER_MAX_BYTES, NUL-terminated (the caller free()s it),
 * and *answer_len (may be NULL) its length. Errors never repeat the URL's
 * query.
 */
bool webhook_http(const struct webhook_call *q, const struct webhook_policy *p,
                  struct webhook_outcome *o, char **answer, size_t *answer_len);

/*
 * Sends q once. Delivered means a 2xx answer, and for the robots also
 * {"errcode": 0} in it (both answer 200 with a non-zero errcode when they
 * refuse a message). Call curl_global_init once before the first call.
 */
void webhook_send(const struct webhook_request *q, const struct webhook_policy *p,
                  struct webhook_outcome *o);

#endif
