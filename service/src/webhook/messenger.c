/* Work-messenger applications: access tokens and one message each. */
#include "webhook/messenger.h"

#include <curl/curl.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>

/* Applications whose token is kept; a branch has a handful. */
#define CACHE_SLOTS 32
/* A token is used until this long before the vendor said it expires. */
#define EXPIRY_MARGIN_S 120
/* WeCom's tokens are at most 512 bytes. */
#define TOKEN_MAX 600

struct slot {
    long long app;
    time_t expires;
    char token[TOKEN_MAX];
};

static pthread_mutex_t cache_lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot cache[CACHE_SLOTS];

static bool cache_get(long long app, char out[TOKEN_MAX])
{
    bool found = false;
    time_t now = time(NULL);
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS && !found; i++)
        if (cache[i].app == app && cache[i].expires > now) {
            memcpy(out, cache[i].token, TOKEN_MAX);
            found = true;
        }
    pthread_mutex_unlock(&cache_lock);
    return found;
}

static void cache_drop(long long app)
{
    pthread_mutex_lock(&cache_lock);
    for (int i = 0; i < CACHE_SLOTS; i++)
        if (cache[i].app == app)
            sodium_memzero(&cache[i], sizeof cache[i]);
    pthread_mutex_unlock(&cache_lock);
}

static void cache_put(long long app, const char *token, time_t expires)
{
    pthread_mutex_lock(&cache_lock);
    int pick = 0;
    for (int i = 0; i < CACHE_SLOTS; i++) {
        if (cache[i].app == app || cache[i].app == 0) {
            pick = i;
            break;
        }
        if (cache[i].expires < cache[pick].expires)
            pick = i; /* the one that runs out first makes room */
    }
    cache[pick].app = app;
    cache[pick].expires = expires;
    snprintf(cache[pick].token, sizeof cache[pick].token, "%s", token);
    pthread_mutex_unlock(&cache_lock);
}

void messenger_forget_tokens(void)
{
    pthread_mutex_lock(&cache_lock);
    sodium_memzero(cache, sizeof cache);
    pthread_mutex_unlock(&cache_lock);
}

bool messenger_token_expired(long long errcode)
{
    return errcode == 40014 || errcode == 42001;
}

static const char *vendor(const struct messenger_app *app)
{
    return app->kind == WEBHOOK_WECOM_APP ? "WeCom" : "DingTalk";
}

/* The answer's errcode (-1 when there is none) and errmsg; a new
 * reference in *j. */
static long long errcode_of(const char *answer, size_t len, json_t **j)
{
    *j = answer ? json_loadb(answer, len, 0, NULL) : NULL;
    json_t *code = json_object_get(*j, "errcode");
    return json_is_integer(code) ? (long long)json_integer_value(code) : -1;
}

static void refused(struct webhook_outcome *o, const char *what, const struct messenger_app *app,
                    long long code, const json_t *j)
{
    const char *msg = json_string_value(json_object_get(j, "errmsg"));
    snprintf(o->error, sizeof o->error, "%s %s refused: errcode %lld%s%.200s", vendor(app), what,
             code, msg ? ", " : "", msg ? msg : "");
}

/* Fetches a new token into token; false with o->error set. */
static bool fetch_token(const struct messenger_app *app, unsigned timeout_s,
                        bool (*cancelled)(void), const struct webhook_policy *p,
                        struct webhook_outcome *o, char token[TOKEN_MAX])
{
    char *id = curl_easy_escape(NULL, app->app_id, 0);
    char *secret = curl_easy_escape(NULL, app->secret, 0);
    char url[WEBHOOK_URL_MAX + 1200], check[WEBHOOK_URL_MAX + 100];
    bool ok = false;
    if (!id || !secret) {
        snprintf(o->error, sizeof o->error, "out of memory");
        goto out;
    }
    bool wecom = app->kind == WEBHOOK_WECOM_APP;
    snprintf(check, sizeof check, "%s%s", app->api_base, wecom ? "/cgi-bin/gettoken" : "/gettoken");
    snprintf(url, sizeof url, "%s?%s=%s&%s=%s", check, wecom ? "corpid" : "appkey", id,
             wecom ? "corpsecret" : "appsecret", secret);
    struct webhook_call call = { .url = url, .check_url = check, .timeout_s = timeout_s,
                                 .cancelled = cancelled };
    char *answer = NULL;
    size_t len = 0;
    bool got = webhook_http(&call, p, o, &answer, &len);
    sodium_memzero(url, sizeof url);
    if (got) {
        json_t *j;
        long long code = errcode_of(answer, len, &j);
        const char *t = json_string_value(json_object_get(j, "access_token"));
        json_t *in = json_object_get(j, "expires_in");
        if (code != 0 || !t || !*t || strlen(t) >= TOKEN_MAX) {
            refused(o, "gettoken", app, code, j);
        } else {
            long long life = json_is_integer(in) ? (long long)json_integer_value(in) : 7200;
            life = life > EXPIRY_MARGIN_S ? life - EXPIRY_MARGIN_S : 0;
            snprintf(token, TOKEN_MAX, "%s", t);
            if (life > 0)
                cache_put(app->id, t, time(NULL) + (time_t)life);
            ok = true;
        }
        json_decref(j);
    }
    if (answer) {
        sodium_memzero(answer, len);
        free(answer);
    }
out:
    if (secret) {
        sodium_memzero(secret, strlen(secret));
        curl_free(secret);
    }
    curl_free(id);
    return ok;
}

/* Whether WeCom's answer names user_id among those it could not reach
 * ("invaliduser": "a|b", user ids compared without case). */
static bool wecom_invalid_user(const json_t *j, const char *user_id)
{
    const char *bad = json_string_value(json_object_get(j, "invaliduser"));
    size_t n = strlen(user_id);
    while (bad && *bad) {
        const char *end = strchr(bad, '|');
        size_t len = end ? (size_t)(end - bad) : strlen(bad);
        if (len == n && !strncasecmp(bad, user_id, n))
            return true;
        bad = end ? end + 1 : NULL;
    }
    return false;
}

/* One message with token; *expired when the vendor says the token is
 * no good. */
static void send_once(const struct messenger_app *app, const char *token, const char *body,
                      const char *user_id, unsigned timeout_s, bool (*cancelled)(void),
                      const struct webhook_policy *p, struct webhook_outcome *o, bool *expired)
{
    *expired = false;
    char *t = curl_easy_escape(NULL, token, 0);
    if (!t) {
        snprintf(o->error, sizeof o->error, "out of memory");
        return;
    }
    bool wecom = app->kind == WEBHOOK_WECOM_APP;
    char check[WEBHOOK_URL_MAX + 100], url[WEBHOOK_URL_MAX + 2000];
    snprintf(check, sizeof check, "%s%s", app->api_base,
             wecom ? "/cgi-bin/message/send" : "/topapi/message/corpconversation/asyncsend_v2");
    snprintf(url, sizeof url, "%s?access_token=%s", check, t);
    curl_free(t);
    struct webhook_call call = { .url = url, .check_url = check, .body = body,
                                 .timeout_s = timeout_s, .cancelled = cancelled };
    char *answer = NULL;
    size_t len = 0;
    bool got = webhook_http(&call, p, o, &answer, &len);
    sodium_memzero(url, sizeof url);
    if (got) {
        json_t *j;
        long long code = errcode_of(answer, len, &j);
        if (code == 0 && wecom && wecom_invalid_user(j, user_id))
            snprintf(o->error, sizeof o->error,
                     "WeCom did not reach the user id (not in the application's visible range?)");
        else if (code == 0)
            o->delivered = true;
        else {
            *expired = messenger_token_expired(code);
            refused(o, "message", app, code, j);
        }
        json_decref(j);
    }
    free(answer);
}

void messenger_send(const struct messenger_app *app, const char *user_id, const json_t *notice,
                    unsigned timeout_s, bool (*cancelled)(void),
                    const struct webhook_policy *p, struct webhook_outcome *o)
{
    struct timespec t0, t1;
    clock_gettime(CLOCK_MONOTONIC, &t0);
    memset(o, 0, sizeof *o);
    char *body = webhook_app_body(app->kind, notice, app->agent_id, user_id);
    char token[TOKEN_MAX];
    if (!body) {
        snprintf(o->error, sizeof o->error, "the stored notice is incomplete");
        goto out;
    }
    bool cached = cache_get(app->id, token);
    if (!cached && !fetch_token(app, timeout_s, cancelled, p, o, token))
        goto out;
    bool expired;
    send_once(app, token, body, user_id, timeout_s, cancelled, p, o, &expired);
    if (expired) {
        /* Revoked or out of time before we thought: a new token, once. */
        cache_drop(app->id);
        if (cached && fetch_token(app, timeout_s, cancelled, p, o, token))
            send_once(app, token, body, user_id, timeout_s, cancelled, p, o, &expired);
    }
out:
    sodium_memzero(token, sizeof token);
    free(body);
    clock_gettime(CLOCK_MONOTONIC, &t1);
    o->duration_ms = (long)(t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
}
