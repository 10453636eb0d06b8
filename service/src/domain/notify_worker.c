/* Sends the outbox: claim a due row, send it, record the attempt; on
 * failure wait base * 2^(n-1) (capped) before the next try, and after
 * NOTIFY_MAX_ATTEMPTS put it in dead-letter for a secretary to retry. */
#include "domain/notify_worker.h"

#include <jansson.h>
#include <sodium.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/secrets.h"
#include "db/db.h"
#include "db/rows.h"
#include "domain/audit.h"
#include "util/hex.h"
#include "util/log.h"
#include "util/worker.h"
#include "webhook/messenger.h"
#include "webhook/payload.h"
#include "webhook/send.h"

/* Rows sent per wake-up before the loop looks at the clock again. */
#define BATCH_MAX 50
/* A lease outlives the longest request by this much. */
#define LEASE_MARGIN_S 30

static void loop(struct worker *w);
static struct worker worker = WORKER_INIT(loop);
static const struct config *config;
static struct db_conn *conn;

static bool stop_requested(void)
{
    return worker_stopping(&worker);
}

/* One claimed row, and what it takes to send it. */
struct claim {
    bool found;
    long long id, webhook_id;
    int attempt;
    char event[32];
    enum webhook_kind kind;
    bool of_account; /* an account's webhook: no private addresses */
    json_t *payload;
    char user_id[72]; /* an application's: the person's user id ("" none) */
    unsigned char nonce[SECRET_NONCE_BYTES];
    unsigned char *sealed;
    size_t sealed_len;
};

static void claim_clear(struct claim *k)
{
    json_decref(k->payload);
    free(k->sealed);
    memset(k, 0, sizeof *k);
}

static enum db_status claim_tx(struct db_conn *c, void *arg)
{
    struct claim *k = arg;
    claim_clear(k);
    char lease[16];
    snprintf(lease, sizeof lease, "%u", config->notify_timeout + LEASE_MARGIN_S);
    const char *p[] = { lease };
    char kind[16], nonce_hex[2 * SECRET_NONCE_BYTES + 8];
    char *sealed_hex = NULL;
    const struct db_field spec[] = {
        DB_I64("outbox_id", &k->id), DB_I32("attempt", &k->attempt), DB_TEXT("event", k->event),
        DB_JSON("payload", &k->payload), DB_I64("webhook_id", &k->webhook_id),
        DB_TEXT("kind", kind), DB_TEXT("nonce", nonce_hex), DB_TEXT_DUP("sealed", &sealed_hex),
        DB_BOOL("of_account", &k->of_account), DB_TEXT_N("user_id", k->user_id), DB_END,
    };
    enum db_status st;
    int found = db_one(c, STMT_OUTBOX_CLAIM, p, spec, &st);
    if (found < 0)
        return st;
    if (found == 1) {
        k->found = true;
        if (!webhook_kind_parse(kind, &k->kind))
            k->kind = WEBHOOK_JSON;
        size_t sealed_len = strlen(sealed_hex) / 2;
        k->sealed = malloc(sealed_len + 1);
        if (k->sealed && hex_to_bytes(nonce_hex, k->nonce, sizeof k->nonce) &&
            hex_to_bytes(sealed_hex, k->sealed, sealed_len))
            k->sealed_len = sealed_len;
        else
            k->sealed_len = 0;
    }
    free(sealed_hex);
    return DB_OK;
}

struct record {
    const struct claim *k;
    const struct webhook_outcome *o;
};

static enum db_status record_tx(struct db_conn *c, void *arg)
{
    const struct record *r = arg;
    char id[24], attempt[16], status[16], ms[24];
    snprintf(id, sizeof id, "%lld", r->k->id);
    snprintf(attempt, sizeof attempt, "%d", r->k->attempt);
    snprintf(status, sizeof status, "%d", r->o->http_status);
    snprintf(ms, sizeof ms, "%ld", r->o->duration_ms > 0 ? r->o->duration_ms : 0);
    const char *pa[] = { id, attempt, r->o->http_status ? status : NULL,
                         r->o->delivered ? NULL : r->o->error, ms };
    enum db_status st = db_run(c, STMT_OUTBOX_ATTEMPT_INSERT, pa, NULL);
    if (st != DB_OK)
        return st;
    if (r->o->delivered) {
        const char *pd[] = { id };
        return db_run(c, STMT_OUTBOX_DELIVERED, pd, NULL);
    }
    char max[16], base[16], cap[16];
    snprintf(max, sizeof max, "%u", config->notify_max_attempts);
    snprintf(base, sizeof base, "%u", config->notify_backoff_base_ms);
    snprintf(cap, sizeof cap, "%u", config->notify_backoff_max_ms);
    const char *pf[] = { id, r->o->error, max, base, cap };
    char status_after[16] = "";
    long long unit_id = 0;
    const struct db_field spec[] = { DB_TEXT("status", status_after),
                                     DB_I64_N("unit_id", &unit_id), DB_END };
    if (db_one(c, STMT_OUTBOX_FAILED, pf, spec, &st) < 0)
        return st;
    if (strcmp(status_after, "dead"))
        return DB_OK;
    json_t *change = json_pack("{s:{s:s, s:I, s:i, s:s}}", "after", "status", "dead", "webhook_id",
                               (json_int_t)r->k->webhook_id, "attempts", r->k->attempt,
                               "last_error", r->o->error);
    struct audit_entry e = { .actor = AUDIT_SYSTEM, .action = "notification.dead",
                             .object_type = "notification", .object_id = id, .change = change };
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}

/* Opens the webhook's sealed {"url", "secret"}; fills o->error when it
 * cannot. The caller wipes and frees *plain. */
static json_t *open_target(const struct claim *k, struct webhook_outcome *o)
{
    char name[48];
    snprintf(name, sizeof name, "webhook:%lld", k->webhook_id);
    if (k->sealed_len <= crypto_secretbox_MACBYTES) {
        snprintf(o->error, sizeof o->error, "the webhook's stored address is unreadable");
        return NULL;
    }
    size_t n = k->sealed_len - crypto_secretbox_MACBYTES;
    unsigned char *plain = malloc(n);
    if (!plain) {
        snprintf(o->error, sizeof o->error, "out of memory");
        return NULL;
    }
    json_t *t = NULL;
    if (secret_open_bytes(config->master_key, name, k->nonce, k->sealed, k->sealed_len, plain))
        t = json_loadb((const char *)plain, n, 0, NULL);
    sodium_memzero(plain, n);
    free(plain);
    if (!t)
        snprintf(o->error, sizeof o->error,
                 "the webhook's stored address does not open under this master key");
    return t;
}

static void deliver(struct claim *k)
{
    struct webhook_outcome o = { 0 };
    json_t *target = open_target(k, &o);
    bool app = k->kind == WEBHOOK_WECOM_APP || k->kind == WEBHOOK_DINGTALK_APP;
    /* An application's body is made by messenger_send, with the user id. */
    char *body = k->payload ? app ? strdup("") : webhook_body(k->kind, k->payload, k->id) : NULL;
    if (target && !body)
        snprintf(o.error, sizeof o.error, "the stored notice is incomplete");
    if (target && body) {
        const char *secret = json_string_value(json_object_get(target, "secret"));
        struct webhook_request q = {
            .kind = k->kind, .url = json_string_value(json_object_get(target, "url")),
            .secret = secret, .secret_len = secret ? strlen(secret) : 0, .body = body,
            .delivery_id = k->id, .event = k->event, .timeout_s = config->notify_timeout,
            .cancelled = stop_requested,
        };
        struct webhook_policy policy = { .allow_loopback = config->webhook_allow_loopback,
                                         .refuse_private = k->of_account,
                                         .self_port = webhook_self_port() };
        json_t *agent = json_object_get(target, "agent_id");
        struct messenger_app m = {
            .kind = k->kind, .id = k->webhook_id,
            .app_id = json_string_value(json_object_get(target, "app_id")), .secret = secret,
            .agent_id = json_is_integer(agent) ? (long long)json_integer_value(agent) : 0,
            .api_base = k->kind == WEBHOOK_WECOM_APP ? config->wecom_api_base
                                                     : config->dingtalk_api_base,
        };
        if (app && (!m.app_id || !m.secret))
            snprintf(o.error, sizeof o.error, "the application's stored credentials are incomplete");
        else if (app && !k->user_id[0])
            snprintf(o.error, sizeof o.error,
                     "the person has no user id in this messenger (any more)");
        else if (app)
            messenger_send(&m, k->user_id, k->payload, config->notify_timeout, stop_requested,
                           &policy, &o);
        else if (!q.url)
            snprintf(o.error, sizeof o.error, "the webhook has no address");
        else
            webhook_send(&q, &policy, &o);
    }
    free(body);
    if (target) {
        /* The secret's copy in jansson's memory is freed with the object;
         * wipe what is reachable first. */
        const char *s = json_string_value(json_object_get(target, "secret"));
        if (s)
            sodium_memzero((void *)s, strlen(s));
        json_decref(target);
    }
    struct record r = { k, &o };
    enum db_status st = db_transaction(conn, record_tx, &r);
    if (st != DB_OK)
        log_msg(LOG_WARN, "notification %lld: could not record attempt %d (its lease will expire "
                          "and it will be sent again)", k->id, k->attempt);
    else if (!o.delivered)
        log_msg(LOG_INFO, "notification %lld: attempt %d failed: %s", k->id, k->attempt, o.error);
}

static void pass(void)
{
    if (!conn)
        conn = db_open(config->database_url, config->db_connect_timeout);
    if (!conn)
        return;
    for (int i = 0; i < BATCH_MAX && !stop_requested(); i++) {
        struct claim k = { 0 };
        enum db_status st = db_transaction(conn, claim_tx, &k);
        if (st != DB_OK || !k.found) {
            claim_clear(&k);
            return;
        }
        deliver(&k);
        claim_clear(&k);
    }
}

static void loop(struct worker *w)
{
    struct timespec next;
    do {
        pass();
        next = worker_deadline_ms(config->notify_interval_ms);
    } while (worker_sleep_until(w, &next));
}

int notify_worker_start(const struct config *cfg)
{
    config = cfg;
    if (!cfg->notify_interval_ms)
        return 0;
    return worker_start(&worker);
}

void notify_worker_stop(void)
{
    if (!worker.running)
        return;
    worker_stop(&worker);
    messenger_forget_tokens();
    db_close(conn);
    conn = NULL;
}
