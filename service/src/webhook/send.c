/* Webhook delivery with libcurl. */
#include "webhook/send.h"

#include <arpa/inet.h>
#include <curl/curl.h>
#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>

#define CONNECT_TIMEOUT_MAX_S 5L

struct answer {
    char data[WEBHOOK_ANSWER_MAX_BYTES + 1];
    size_t len;
};

static size_t on_data(char *ptr, size_t size, size_t nmemb, void *arg)
{
    struct answer *a = arg;
    size_t n = size * nmemb;
    size_t room = WEBHOOK_ANSWER_MAX_BYTES - a->len;
    size_t take = n < room ? n : room;
    memcpy(a->data + a->len, ptr, take);
    a->len += take;
    a->data[a->len] = '\0';
    return n; /* the rest is dropped, not an error */
}

struct guard {
    const struct webhook_policy *policy;
    bool (*cancelled)(void);
    char refused[160];
};

/* Non-zero aborts the transfer: the worker is asked to stop. */
static int on_progress(void *clientp, curl_off_t dltotal, curl_off_t dlnow, curl_off_t ultotal,
                       curl_off_t ulnow)
{
    const struct guard *g = clientp;
    (void)dltotal;
    (void)dlnow;
    (void)ultotal;
    (void)ulnow;
    return g->cancelled && g->cancelled() ? 1 : 0;
}

/* The last check, on the address libcurl is about to connect to. */
static curl_socket_t on_open_socket(void *clientp, curlsocktype purpose,
                                    struct curl_sockaddr *address)
{
    struct guard *g = clientp;
    (void)purpose;
    const struct sockaddr *sa = &address->addr;
    unsigned port = 0;
    if (sa->sa_family == AF_INET)
        port = ntohs(((const struct sockaddr_in *)(const void *)sa)->sin_port);
    else if (sa->sa_family == AF_INET6)
        port = ntohs(((const struct sockaddr_in6 *)(const void *)sa)->sin6_port);
    const char *why = webhook_address_refusal(sa, port, g->policy);
    if (why) {
        snprintf(g->refused, sizeof g->refused, "refused to connect to %s", why);
        return CURL_SOCKET_BAD;
    }
    return socket(address->family, address->socktype, address->protocol);
}

static long ms_since(const struct timespec *t0)
{
    struct timespec t1;
    clock_gettime(CLOCK_MONOTONIC, &t1);
    return (long)(t1.tv_sec - t0->tv_sec) * 1000 + (t1.tv_nsec - t0->tv_nsec) / 1000000;
}

/* The robots answer 200 and say in the body whether they took it. */
static bool robot_accepted(const char *data, size_t len, char *err, size_t errlen)
{
    json_t *j = json_loadb(data, len, 0, NULL);
    json_t *code = json_object_get(j, "errcode");
    bool ok = json_is_integer(code) && json_integer_value(code) == 0;
    if (!ok) {
        const char *msg = json_string_value(json_object_get(j, "errmsg"));
        snprintf(err, errlen, "the robot refused the message: errcode %lld%s%.200s",
                 json_is_integer(code) ? (long long)json_integer_value(code) : -1LL,
                 msg ? ", " : "", msg ? msg : "");
    }
    json_decref(j);
    return ok;
}

bool webhook_http(const struct webhook_call *q, const struct webhook_policy *p,
                  struct webhook_outcome *o, char **answer, size_t *answer_len)
{
    struct timespec t0;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(o, 0, sizeof *o);
    if (answer)
        *answer = NULL;
    if (answer_len)
        *answer_len = 0;
    struct webhook_target t;
    const char *why = webhook_url_parse(q->check_url ? q->check_url : q->url, &t);
    if (why) {
        snprintf(o->error, sizeof o->error, "the URL %s", why);
        return false;
    }
    char addr[WEBHOOK_ADDR_MAX], reason[200];
    why = webhook_resolve(&t, p, addr, reason, sizeof reason);
    if (why) {
        snprintf(o->error, sizeof o->error, "%s", why);
        o->duration_ms = ms_since(&t0);
        return false;
    }

    struct curl_slist *headers = NULL, *pin = NULL;
    char line[WEBHOOK_HOST_MAX + WEBHOOK_ADDR_MAX + 32];
    bool ok = true;
    if (q->body) {
        headers = curl_slist_append(headers, "Content-Type: application/json; charset=utf-8");
        ok &= headers != NULL;
        headers = curl_slist_append(headers, "Expect:");
    }
    for (size_t i = 0; q->headers && q->headers[i]; i++) {
        struct curl_slist *more = curl_slist_append(headers, q->headers[i]);
        ok &= more != NULL;
        headers = more ? more : headers;
    }
    if (!t.host_is_literal) {
        bool v6 = strchr(addr, ':') != NULL;
        snprintf(line, sizeof line, "%s:%u:%s%s%s", t.host, t.port, v6 ? "[" : "", addr,
                 v6 ? "]" : "");
        pin = curl_slist_append(NULL, line);
    }

    struct guard g = { .policy = p, .cancelled = q->cancelled };
    struct answer *a = calloc(1, sizeof *a);
    CURL *h = curl_easy_init();
    bool got_2xx = false;
    if (!h || !a || !ok || (!t.host_is_literal && !pin)) {
        snprintf(o->error, sizeof o->error, "out of memory");
        goto out;
    }
    char curl_err[CURL_ERROR_SIZE] = "";
    long connect_s = (long)q->timeout_s < CONNECT_TIMEOUT_MAX_S ? (long)q->timeout_s
                                                                 : CONNECT_TIMEOUT_MAX_S;
    curl_easy_setopt(h, CURLOPT_URL, q->url);
    curl_easy_setopt(h, CURLOPT_PROTOCOLS_STR, "http,https");
    curl_easy_setopt(h, CURLOPT_FOLLOWLOCATION, 0L);
    curl_easy_setopt(h, CURLOPT_PROXY, "");
    curl_easy_setopt(h, CURLOPT_NOPROXY, "*");
    curl_easy_setopt(h, CURLOPT_CONNECTTIMEOUT, connect_s);
    curl_easy_setopt(h, CURLOPT_TIMEOUT, (long)q->timeout_s);
    curl_easy_setopt(h, CURLOPT_NOSIGNAL, 1L);
    curl_easy_setopt(h, CURLOPT_FORBID_REUSE, 1L);
    curl_easy_setopt(h, CURLOPT_USERAGENT, "yijian-notify/1");
    if (pin)
        curl_easy_setopt(h, CURLOPT_RESOLVE, pin);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETFUNCTION, on_open_socket);
    curl_easy_setopt(h, CURLOPT_OPENSOCKETDATA, &g);
    curl_easy_setopt(h, CURLOPT_XFERINFOFUNCTION, on_progress);
    curl_easy_setopt(h, CURLOPT_XFERINFODATA, &g);
    curl_easy_setopt(h, CURLOPT_NOPROGRESS, 0L);
    if (headers)
        curl_easy_setopt(h, CURLOPT_HTTPHEADER, headers);
    if (q->body) {
        curl_easy_setopt(h, CURLOPT_POST, 1L);
        curl_easy_setopt(h, CURLOPT_POSTFIELDS, q->body);
        curl_easy_setopt(h, CURLOPT_POSTFIELDSIZE_LARGE, (curl_off_t)strlen(q->body));
    } else {
        curl_easy_setopt(h, CURLOPT_HTTPGET, 1L);
    }
    curl_easy_setopt(h, CURLOPT_WRITEFUNCTION, on_data);
    curl_easy_setopt(h, CURLOPT_WRITEDATA, a);
    curl_easy_setopt(h, CURLOPT_ERRORBUFFER, curl_err);
    CURLcode rc = curl_easy_perform(h);
    long status = 0;
    curl_easy_getinfo(h, CURLINFO_RESPONSE_CODE, &status);
    if (rc != CURLE_OK) {
        /* Credentials in a query (a signed URL, an access token) are not
         * repeated: curl's message names the host, never the query. */
        snprintf(o->error, sizeof o->error, "%s", g.refused[0] ? g.refused
                                                  : curl_err[0] ? curl_err
                                                                : curl_easy_strerror(rc));
    } else {
        o->http_status = status >= 100 && status <= 599 ? (int)status : 0;
        if (status < 200 || status > 299)
            snprintf(o->error, sizeof o->error, "the receiver answered HTTP %ld", status);
        else
            got_2xx = true;
        if (answer) {
            *answer = malloc(a->len + 1);
            if (*answer) {
                memcpy(*answer, a->data, a->len + 1);
                if (answer_len)
                    *answer_len = a->len;
            } else {
                got_2xx = false;
                snprintf(o->error, sizeof o->error, "out of memory");
            }
        }
    }
out:
    if (h)
        curl_easy_cleanup(h);
    free(a);
    curl_slist_free_all(headers);
    curl_slist_free_all(pin);
    o->duration_ms = ms_since(&t0);
    return got_2xx;
}

void webhook_send(const struct webhook_request *q, const struct webhook_policy *p,
                  struct webhook_outcome *o)
{
    char url[WEBHOOK_URL_MAX + 200];
    char ts[32];
    struct timespec now;
    clock_gettime(CLOCK_REALTIME, &now);
    if (q->kind == WEBHOOK_DINGTALK && q->secret) {
        snprintf(ts, sizeof ts, "%lld", (long long)now.tv_sec * 1000 + now.tv_nsec / 1000000);
        char sign[100];
        webhook_sign_dingtalk(q->secret, q->secret_len, ts, sign);
        snprintf(url, sizeof url, "%s%stimestamp=%s&sign=%s", q->url,
                 strchr(q->url, '?') ? "&" : "?", ts, sign);
    } else {
        snprintf(ts, sizeof ts, "%lld", (long long)now.tv_sec);
        snprintf(url, sizeof url, "%s", q->url);
    }

    char event[64], delivery[48], stamp[64], sig[100], sig_hex[65];
    const char *headers[5] = { NULL };
    if (q->kind == WEBHOOK_JSON) {
        snprintf(event, sizeof event, "X-Yijian-Event: %s", q->event);
        snprintf(delivery, sizeof delivery, "X-Yijian-Delivery: %lld", q->delivery_id);
        snprintf(stamp, sizeof stamp, "X-Yijian-Timestamp: %s", ts);
        webhook_sign_json(q->secret ? q->secret : "", q->secret_len, ts, q->body,
                          strlen(q->body), sig_hex);
        snprintf(sig, sizeof sig, "X-Yijian-Signature: sha256=%s", sig_hex);
        headers[0] = event;
        headers[1] = delivery;
        headers[2] = stamp;
        headers[3] = sig;
    }
    struct webhook_call call = { .url = url, .check_url = q->url, .body = q->body,
                                 .headers = headers, .timeout_s = q->timeout_s,
                                 .cancelled = q->cancelled };
    char *answer = NULL;
    size_t len = 0;
    bool got = webhook_http(&call, p, o, q->kind == WEBHOOK_JSON ? NULL : &answer, &len);
    if (got)
        o->delivered = q->kind == WEBHOOK_JSON || robot_accepted(answer, len, o->error, sizeof o->error);
    free(answer);
}
