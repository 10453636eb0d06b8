/* The member client's HTTP: libcurl, one easy handle per attempt, JSON in
 * and out. See http.h. */
#include "client/http.h"

#include <curl/curl.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#define BACKOFF_FIRST_MS 500L
#define BACKOFF_MAX_MS 5000L

int http_init(void)
{
    return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK ? 0 : -1;
}

void http_cleanup(void)
{
    curl_global_cleanup();
}

void http_reply_cleanup(struct http_reply *reply)
{
    if (!reply)
        return;
    json_decref(reply->json);
    reply->json = NULL;
    reply->status = 0;
}

/* ---- one attempt --------------------------------------------------------- */

struct answer {
    unsigned char *data;
    size_t len, cap;
    bool too_large;
};

static void answer_wipe(struct answer *a)
{
    if (a->data) {
        sodium_memzero(a->data, a->cap); /* a sign-in answer holds the session token */
        free(a->data);
    }
    a->data = NULL;
    a->len = a->cap = 0;
}

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct answer *a = arg;
    size_t n = size * nmemb;
    if (n > HTTP_MAX_ANSWER_BYTES - a->len) {
        a->too_large = true;
        return 0; /* libcurl stops with CURLE_WRITE_ERROR */
    }
    if (a->len + n > a->cap) {
        size_t cap = a->cap ? a->cap : 4096;
        while (cap < a->len + n)
            cap *= 2;
        unsigned char *grown = malloc(cap);
        if (!grown)
            return 0;
        if (a->data)
            memcpy(grown, a->data, a->len);
        size_t len = a->len;
        answer_wipe(a);
        a->data = grown;
        a->len = len;
        a->cap = cap;
    }
    memcpy(a->data + a->len, ptr, n);
    a->len += n;
    return n;
}

struct outcome {
    CURLcode rc;
    long status;
    long bytes_sent;       /* of the request; 0 means it never left */
    curl_off_t retry_after; /* seconds, from a Retry-After header; 0 if none */
    char error[CURL_ERROR_SIZE];
};

static void attempt(const char *method, const char *url, struct curl_slist *headers,
                    const char *body, struct answer *a, struct outcome *o)
{
    memset(o, 0, sizeof *o);
    CURL *h = curl_easy_init();
    if (!h) {
        o->rc = CURLE_OUT_OF_MEMORY;
        return;
    }
    curl_easy_setopt(h, CURLOPT_URL, url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L); /* never carry a header elsewhere */
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, HTTP_CONNECT_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, HTTP_TOTAL_TIMEOUT_S);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    /* A connection of its own, closed after the answer. */
    curl_easy_setopt(h, CURLOPT_FRESH_CONNECT, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_MAXFILESIZE_LARGE, (curl_off_t)HTTP_MAX_ANSWER_BYTES);
    curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, o->error);
    if (!strcmp(method, "GET")) {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    } else {
        if (strcmp(method, "POST") != 0)
            curl_easy_setopt(h, CURLOPT_CUSTOMREQUEST, method);
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, body ? body : "");
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)(body ? strlen(body) : 0));
    }
    o->rc = curl_easy_perform(h);
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &o->status);
    curl_easy_getinfo(h, CURLINFO_REQUEST_SIZE, &o->bytes_sent);
    curl_easy_getinfo(h, CURLINFO_RETRY_AFTER, &o->retry_after);
    curl_easy_cleanup(h);
}

/* ---- retries ------------------------------------------------------------- */

/* Errors that a later attempt may not meet. */
static bool transient(CURLcode rc)
{
    switch (rc) {
    case CURLE_COULDNT_RESOLVE_PROXY:
    case CURLE_COULDNT_RESOLVE_HOST:
    case CURLE_COULDNT_CONNECT:
    case CURLE_OPERATION_TIMEDOUT:
    case CURLE_SEND_ERROR:
    case CURLE_RECV_ERROR:
    case CURLE_GOT_NOTHING:
    case CURLE_PARTIAL_FILE:
    case CURLE_SSL_CONNECT_ERROR:
    case CURLE_HTTP2:
    case CURLE_HTTP2_STREAM:
        return true;
    default:
        return false;
    }
}

/* Exponential back-off from BACKOFF_FIRST_MS with up to half again as
 * jitter, at least what Retry-After asked, at most BACKOFF_MAX_MS. */
static void back_off(int tries, curl_off_t retry_after)
{
    long ms = BACKOFF_FIRST_MS << (tries - 1);
    ms += (long)randombytes_uniform((uint32_t)(ms / 2 + 1));
    if (retry_after > 0 && retry_after * 1000 > ms)
        ms = (long)(retry_after < BACKOFF_MAX_MS / 1000 ? retry_after * 1000 : BACKOFF_MAX_MS);
    if (ms > BACKOFF_MAX_MS)
        ms = BACKOFF_MAX_MS;
    struct timespec ts = { .tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L };
    while (nanosleep(&ts, &ts) != 0) {
    }
}

int http_request(const char *method, const char *url, const char *const *headers, json_t *body,
                 enum http_retry retry, struct http_reply *reply, char *err, size_t errlen)
{
    reply->status = 0;
    reply->json = NULL;
    int rc = -1;
    char *text = NULL;
    struct curl_slist *list = NULL, *next;
    struct answer a = { 0 };
    struct outcome o;
    const char *fixed[] = {
        "Accept: application/json, application/problem+json",
        "Expect:", /* no 100-continue round trip */
        body ? "Content-Type: application/json" : NULL,
    };
    for (size_t i = 0; i < sizeof fixed / sizeof fixed[0]; i++) {
        if (!fixed[i])
            continue;
        if (!(next = curl_slist_append(list, fixed[i])))
            goto oom;
        list = next;
    }
    for (size_t i = 0; headers && headers[i]; i++) {
        if (!(next = curl_slist_append(list, headers[i])))
            goto oom;
        list = next;
    }
    if (body && !(text = json_dumps(body, JSON_COMPACT)))
        goto oom;

    for (int tries = 1;; tries++) {
        answer_wipe(&a);
        a.too_large = false;
        attempt(method, url, list, text, &a, &o);
        bool last = tries >= HTTP_MAX_ATTEMPTS;
        if (o.rc == CURLE_OK) {
            if (o.status == 503 && retry == HTTP_RETRY_SAFE && !last) {
                back_off(tries, o.retry_after);
                continue;
            }
            break;
        }
        if (!last && transient(o.rc) && (retry == HTTP_RETRY_SAFE || o.bytes_sent == 0)) {
            back_off(tries, 0);
            continue;
        }
        if (a.too_large)
            snprintf(err, errlen, "the answer of %s is larger than %d bytes", url,
                     HTTP_MAX_ANSWER_BYTES);
        else
            snprintf(err, errlen, "could not reach %s%s: %s", url,
                     tries > 1 ? " (tried several times)" : "",
                     o.error[0] ? o.error : curl_easy_strerror(o.rc));
        answer_wipe(&a);
        goto out;
    }
    reply->status = o.status;
    if (a.len > 0)
        reply->json = json_loadb((const char *)a.data, a.len, JSON_REJECT_DUPLICATES, NULL);
    answer_wipe(&a);
    rc = 0;
    goto out;
oom:
    snprintf(err, errlen, "out of memory");
out:
    if (text) {
        sodium_memzero(text, strlen(text));
        free(text);
    }
    /* libcurl's copies of the headers hold the session token or the tracking code. */
    for (struct curl_slist *n = list; n; n = n->next)
        sodium_memzero(n->data, strlen(n->data));
    curl_slist_free_all(list);
    return rc;
}
