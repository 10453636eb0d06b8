/* Notifications over HTTP: the caller's inbox, the webhooks of a unit and
 * of an account, and their deliveries with the attempts and the
 * dead-letter retry (docs/notifications.md). */
#include <limits.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secrets.h"
#include "db/rows.h"
#include "domain/audit.h"
#include "domain/notify.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"
#include "webhook/payload.h"
#include "webhook/url.h"

#define PAGE_DEFAULT 20
#define PAGE_MAX 100
#define WEBHOOK_SECRET_MIN_CHARS 16
#define WEBHOOK_SECRET_MAX_CHARS 200

static char *fmt_id(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

/* The next page's cursor: the last item's id when the page is full. */
static json_t *next_cursor(json_t *items, long long limit)
{
    size_t n = json_array_size(items);
    return n && (long long)n == limit ? json_incref(json_object_get(json_array_get(items, n - 1), "id"))
                                      : json_null();
}

/* ?cursor= and ?limit=, refusals recorded in v. */
static void page_params(struct validator *v, long long *cursor, long long *limit)
{
    *cursor = 0;
    *limit = PAGE_DEFAULT;
    query_decimal(v, "cursor", false, 1, LLONG_MAX, cursor, "cursor: a positive id");
    query_decimal(v, "limit", false, 1, PAGE_MAX, limit, "limit: 1 to 100");
}

static const char *const booleans[] = { "true", "false", NULL };

/* ------------------------------------------------------------------ */
/* the inbox                                                           */
/* ------------------------------------------------------------------ */

enum handler_result notifications_list(struct request *r)
{
    struct validator v;
    validator_init_query(&v, r);
    long long cursor, limit;
    page_params(&v, &cursor, &limit);
    const char *unread = query_word(&v, "unread", booleans, "unread: true or false");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!caller_load(r, 0, &az, &out))
        return out;
    char acct[24], cur[24], lim[24];
    const char *p[] = { fmt_id(acct, az.account_id), cursor ? fmt_id(cur, cursor) : NULL,
                        unread && !strcmp(unread, "true") ? "true" : "false", fmt_id(lim, limit) };
    enum db_status st;
    static const struct db_json_col cols[] = {
        DBJ("id", "id", INT), DBJ("event", "event", STRING),
        DBJ("suggestion_id", "public_id", STRING), DBJ("subject", "subject", STRING),
        DBJ("body", "body", STRING), DBJ("link", "link", STRING),
        DBJ("created_at", "created_at", STRING), DBJ("read_at", "read_at", STRING), DBJ_DONE,
    };
    json_t *items = db_json_rows(r->db, STMT_NOTIFICATIONS_LIST, p, cols, &st);
    if (!items)
        return reply_db_error(r, st);
    json_t *next = next_cursor(items, limit);
    return reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

enum handler_result notifications_read(struct request *r)
{
    long long id;
    if (!request_param_id(r, 0, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such notification");
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    char acct[24], nid[24];
    const char *p[] = { fmt_id(acct, az.account_id), fmt_id(nid, id) };
    enum db_status st;
    int found = db_one(r->db, STMT_NOTIFICATION_READ, p, NULL, &st);
    if (found < 0)
        return reply_db_error(r, st);
    /* Someone else's notification does not exist, for this caller. */
    if (!found)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such notification");
    return reply_empty(r, 204);
}

enum handler_result notifications_read_all(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    char acct[24];
    const char *p[] = { fmt_id(acct, az.account_id) };
    enum db_status st;
    if ((st = db_run(r->db, STMT_NOTIFICATIONS_READ_ALL, p, NULL)) != DB_OK)
        return reply_db_error(r, st);
    return reply_empty(r, 204);
}

/* ------------------------------------------------------------------ */
/* webhooks: a unit's and an account's own                             */
/* ------------------------------------------------------------------ */

/* Whose webhooks a route is about: a unit's (its managers may,
 * /v1/org-units/{id}/...) or the caller's own (/v1/me/...). */
struct owner {
    long long unit_id;    /* 0: an account's */
    long long account_id; /* 0: a unit's */
    long long caller;     /* who acts, for the audit */
    int param;            /* the index of the path parameter after the owner */
    char unit[24], account[24];
};

static void owner_texts(struct owner *o)
{
    fmt_id(o->unit, o->unit_id);
    fmt_id(o->account, o->account_id);
}
#define OWNER_UNIT(o) ((o)->unit_id ? (o)->unit : NULL)
#define OWNER_ACCOUNT(o) ((o)->account_id ? (o)->account : NULL)

/* The caller manages the unit of the path; false: a problem is queued. */
static bool unit_owner(struct request *r, struct owner *o, enum handler_result *out)
{
    struct authz az;
    if (!unit_from_path(r, &az, out))
        return false;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT)) {
        *out = reply_forbidden(r);
        return false;
    }
    *o = (struct owner){ .unit_id = az.unit_id, .caller = az.account_id, .param = 1 };
    owner_texts(o);
    return true;
}

/* The signed-in caller, for their own webhooks. */
static bool self_owner(struct request *r, struct owner *o, enum handler_result *out)
{
    struct authz az;
    if (!caller_load(r, 0, &az, out))
        return false;
    *o = (struct owner){ .account_id = az.account_id, .caller = az.account_id, .param = 0 };
    owner_texts(o);
    return true;
}

/* A webhook as the API shows it (WEBHOOK_COLUMNS of db/statements.c). */
static const struct db_json_col webhook_cols[] = {
    DBJ("id", "id", INT), DBJ("kind", "kind", STRING), DBJ("url", "url_hint", STRING),
    DBJ("secret_set", "has_secret", BOOL), DBJ("created_at", "created_at", STRING),
    DBJ("unit_id", "unit_id", INT), DBJ("account_id", "account_id", INT), DBJ_DONE,
};

static enum handler_result list_webhooks(struct request *r, struct owner *o)
{
    const char *p[] = { OWNER_UNIT(o), OWNER_ACCOUNT(o) };
    enum db_status st;
    json_t *items = db_json_rows(r->db, STMT_WEBHOOKS_OF_OWNER, p, webhook_cols, &st);
    if (!items)
        return reply_db_error(r, st);
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

enum handler_result webhooks_list(struct request *r)
{
    struct owner o;
    enum handler_result out;
    return unit_owner(r, &o, &out) ? list_webhooks(r, &o) : out;
}

enum handler_result my_webhooks_list(struct request *r)
{
    struct owner o;
    enum handler_result out;
    return self_owner(r, &o, &out) ? list_webhooks(r, &o) : out;
}

struct webhook_ctx {
    struct audit_entry actor;
    struct owner *owner;
    const char *kind, *hint, *url, *secret;
    json_t *target; /* an application's sealed ids and secret, else NULL */
    const unsigned char *master;
    json_t *out;
};

static enum db_status webhook_create_tx(struct db_conn *c, void *arg)
{
    struct webhook_ctx *k = arg;
    json_decref(k->out);
    k->out = NULL;
    enum db_status st;
    long long next = 0;
    const struct db_field spec[] = { DB_I64("id", &next), DB_END };
    if (db_one(c, STMT_WEBHOOK_NEXT_ID, NULL, spec, &st) < 0)
        return st;
    char id[24], name[48], by[24];
    fmt_id(id, next);

    /* The URL and the secret, sealed together under a name bound to the id. */
    json_t *target = k->target ? json_incref(k->target)
                               : json_pack("{s:s, s:s?}", "url", k->url, "secret", k->secret);
    char *plain = target ? json_dumps(target, JSON_COMPACT) : NULL;
    json_decref(target);
    if (!plain)
        return DB_ERROR;
    size_t n = strlen(plain), sealed_len = n + crypto_secretbox_MACBYTES;
    unsigned char nonce[SECRET_NONCE_BYTES];
    unsigned char *sealed = malloc(sealed_len);
    char *sealed_hex = malloc(2 * sealed_len + 1);
    char nonce_hex[2 * SECRET_NONCE_BYTES + 1];
    if (!sealed || !sealed_hex) {
        sodium_memzero(plain, n);
        free(plain);
        free(sealed);
        free(sealed_hex);
        return DB_ERROR;
    }
    snprintf(name, sizeof name, "webhook:%s", id);
    secret_seal_bytes(k->master, name, (const unsigned char *)plain, n, nonce, sealed);
    sodium_memzero(plain, n);
    free(plain);
    sodium_bin2hex(sealed_hex, 2 * sealed_len + 1, sealed, sealed_len);
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    free(sealed);
    const char *pi[] = { id, OWNER_UNIT(k->owner), k->kind, k->hint,
                         k->secret ? "true" : "false", nonce_hex, sealed_hex,
                         fmt_id(by, k->actor.actor_id), OWNER_ACCOUNT(k->owner) };
    int made = db_json_one(c, STMT_WEBHOOK_INSERT, pi, webhook_cols, &k->out, &st);
    free(sealed_hex);
    if (made < 0)
        return st;
    json_t *after = json_pack("{s:s, s:s, s:b}", "kind", k->kind, "url", k->hint, "secret_set",
                              k->secret != NULL);
    json_object_set_new(after, k->owner->unit_id ? "unit_id" : "account_id",
                        json_integer(k->owner->unit_id ? k->owner->unit_id
                                                       : k->owner->account_id));
    json_t *change = json_pack("{s:o}", "after", after);
    st = audit_change(c, &k->actor, "webhook.create", "webhook",
                       id, change);
    return st;
}

static enum handler_result create_webhook(struct request *r,
                                          bool (*owner_of)(struct request *, struct owner *,
                                                           enum handler_result *))
{
    struct validator v;
    validator_init(&v, r->json);
    const char *kind_s = validate_string(&v, "kind", true, 1, 16);
    enum webhook_kind kind = WEBHOOK_JSON;
    if (kind_s && !webhook_kind_parse(kind_s, &kind))
        validator_error(&v, "kind", "must be json, wecom, dingtalk, wecom_app or dingtalk_app");
    /* A work-messenger application: ids and a secret, no URL; a unit's. */
    bool app = kind == WEBHOOK_WECOM_APP || kind == WEBHOOK_DINGTALK_APP;
    json_t *target = NULL;
    char app_hint[200];
    if (app && owner_of == self_owner)
        validator_error(&v, "kind", "an application belongs to a unit, not to an account");
    if (app && !messenger_app_target(&v, r->json, kind, &target, app_hint, sizeof app_hint))
        return validator_reply(r, &v);
    const char *url = app ? NULL : validate_string(&v, "url", true, 1, WEBHOOK_URL_MAX);
    const char *secret = app ? "" : validate_string(&v, "secret", false, 1, WEBHOOK_SECRET_MAX_CHARS);
    struct webhook_target t;
    const char *why = url ? webhook_url_parse(url, &t) : NULL;
    if (why)
        validator_error(&v, "url", why);
    if (kind_s && kind == WEBHOOK_JSON) {
        if (!secret)
            validator_error(&v, "secret", "is required: the generic webhook is always signed");
        else if (strlen(secret) < WEBHOOK_SECRET_MIN_CHARS)
            validator_error(&v, "secret", "must be at least 16 characters");
    }
    if (kind_s && kind == WEBHOOK_WECOM && secret)
        validator_error(&v, "secret", "a WeCom group robot has no secret (its key is in the URL)");
    if (validator_failed(&v)) {
        json_decref(target);
        return validator_reply(r, &v);
    }
    validator_cleanup(&v);

    struct owner o;
    enum handler_result out;
    if (!owner_of(r, &o, &out)) {
        json_decref(target);
        return out;
    }
    /* Resolved only for a caller who may configure: nobody else gets to
     * use the service to ask the DNS. An account's webhook may not point
     * into private networks: any member may make one. (An application's
     * server is the vendor's, from the configuration.) */
    struct webhook_policy policy = { .allow_loopback = r->cfg->webhook_allow_loopback,
                                     .refuse_private = o.account_id != 0,
                                     .self_port = webhook_self_port() };
    char addr[WEBHOOK_ADDR_MAX], reason[200];
    why = app ? NULL : webhook_resolve(&t, &policy, addr, reason, sizeof reason);
    if (why)
        return reply_invalid(r, "url", why);

    struct webhook_ctx k = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = o.caller, .request_id = r->request_id },
        .owner = &o, .kind = webhook_kind_name(kind), .hint = app ? app_hint : t.hint, .url = url,
        .secret = secret, .target = target, .master = r->cfg->master_key,
    };
    enum db_status st = db_transaction(r->db, webhook_create_tx, &k);
    json_decref(target); /* the secret's copy goes with it */
    if (st != DB_OK) {
        json_decref(k.out);
        return reply_db_error(r, st);
    }
    return reply_json(r, 201, k.out);
}

enum handler_result webhooks_create(struct request *r)
{
    return create_webhook(r, unit_owner);
}

enum handler_result my_webhooks_create(struct request *r)
{
    return create_webhook(r, self_owner);
}

struct webhook_delete_ctx {
    struct audit_entry actor;
    struct owner *owner;
    char id[24];
    bool found;
};

static enum db_status webhook_delete_tx(struct db_conn *c, void *arg)
{
    struct webhook_delete_ctx *k = arg;
    const char *p[] = { OWNER_UNIT(k->owner), k->id, OWNER_ACCOUNT(k->owner) };
    enum db_status st;
    json_t *before;
    int found = db_json_one(c, STMT_WEBHOOK_DELETE, p, webhook_cols, &before, &st);
    if (found < 0)
        return st;
    k->found = found == 1;
    if (!k->found)
        return DB_ABORT;
    json_t *change = json_pack("{s:o}", "before", before);
    st = audit_change(c, &k->actor, "webhook.delete", "webhook",
                       k->id, change);
    return st;
}

static enum handler_result delete_webhook(struct request *r, struct owner *o)
{
    long long id;
    if (!request_param_id(r, o->param, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such webhook");
    struct webhook_delete_ctx k = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = o->caller, .request_id = r->request_id },
        .owner = o,
    };
    fmt_id(k.id, id);
    enum db_status st = db_transaction(r->db, webhook_delete_tx, &k);
    if (st == DB_ABORT && !k.found)
        return reply_problem(r, PROBLEM_NOT_FOUND,
                             o->unit_id ? "no such webhook in this unit" : "no such webhook of yours");
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_empty(r, 204);
}

enum handler_result webhooks_delete(struct request *r)
{
    struct owner o;
    enum handler_result out;
    return unit_owner(r, &o, &out) ? delete_webhook(r, &o) : out;
}

enum handler_result my_webhooks_delete(struct request *r)
{
    struct owner o;
    enum handler_result out;
    return self_owner(r, &o, &out) ? delete_webhook(r, &o) : out;
}

struct webhook_test_ctx {
    struct audit_entry actor;
    long long unit_id, webhook_id, delivery_id;
};

static enum db_status webhook_test_tx(struct db_conn *c, void *arg)
{
    struct webhook_test_ctx *k = arg;
    enum db_status st = notify_webhook_test(c, k->unit_id, k->webhook_id, k->actor.actor_id,
                                            &k->delivery_id);
    if (st != DB_OK)
        return st;
    if (!k->delivery_id)
        return DB_ABORT;
    char id[24];
    json_t *change = json_pack("{s:{s:I}}", "after", "delivery_id", (json_int_t)k->delivery_id);
    return audit_change(c, &k->actor, "webhook.test", "webhook",
                        fmt_id(id, k->webhook_id), change);
}

/* A test message to one of the unit's webhooks: queued in the outbox, so
 * that it goes the way every notice goes (same address checks, attempts,
 * dead letter), and the secretary sees it arrive in the group. */
enum handler_result webhooks_test(struct request *r)
{
    struct owner o;
    enum handler_result out;
    if (!unit_owner(r, &o, &out))
        return out;
    long long id;
    if (!request_param_id(r, o.param, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such webhook in this unit");
    struct webhook_test_ctx k = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = o.caller, .request_id = r->request_id },
        .unit_id = o.unit_id, .webhook_id = id,
    };
    enum db_status st = db_transaction(r->db, webhook_test_tx, &k);
    if (st == DB_ABORT)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such webhook in this unit");
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_json(r, 202, json_pack("{s:I, s:I, s:s}", "delivery_id",
                                        (json_int_t)k.delivery_id, "webhook_id", (json_int_t)id,
                                        "status", "pending"));
}

/* ------------------------------------------------------------------ */
/* deliveries and the dead letters                                     */
/* ------------------------------------------------------------------ */

static enum handler_result list_deliveries(struct request *r,
                                           bool (*owner_of)(struct request *, struct owner *,
                                                            enum handler_result *))
{
    struct validator v;
    validator_init_query(&v, r);
    long long cursor, limit;
    page_params(&v, &cursor, &limit);
    static const char *const statuses[] = { "pending", "delivered", "dead", NULL };
    const char *status = query_word(&v, "status", statuses, "status: pending, delivered or dead");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct owner o;
    if (!owner_of(r, &o, &out))
        return out;
    char cur[24], lim[24];
    const char *p[] = { OWNER_UNIT(&o), status, cursor ? fmt_id(cur, cursor) : NULL,
                        fmt_id(lim, limit), OWNER_ACCOUNT(&o) };
    enum db_status st;
    static const struct db_json_col cols[] = {
        DBJ("id", "id", INT), DBJ("webhook_id", "webhook_id", INT), DBJ("kind", "kind", STRING),
        DBJ("event", "event", STRING), DBJ("suggestion_id", "public_id", STRING),
        DBJ("status", "status", STRING), DBJ("attempts", "attempts", INT),
        DBJ("created_at", "created_at", STRING), DBJ("attempt_log", "attempt_log", JSON),
        DBJ("next_attempt_at", "next_attempt_at", STRING),
        DBJ("delivered_at", "delivered_at", STRING), DBJ("last_error", "last_error", STRING),
        DBJ_DONE,
    };
    json_t *items = db_json_rows(r->db, STMT_OUTBOX_LIST, p, cols, &st);
    if (!items)
        return reply_db_error(r, st);
    size_t i;
    json_t *item;
    json_array_foreach(items, i, item) {
        /* When the next attempt is due matters only while one is. */
        if (strcmp(json_string_value(json_object_get(item, "status")), "pending"))
            json_object_set_new(item, "next_attempt_at", json_null());
    }
    json_t *next = next_cursor(items, limit);
    return reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

enum handler_result outbox_list(struct request *r)
{
    return list_deliveries(r, unit_owner);
}

enum handler_result my_outbox_list(struct request *r)
{
    return list_deliveries(r, self_owner);
}

struct retry_ctx {
    struct audit_entry actor;
    struct owner *owner;
    char id[24];
    bool found;        /* a delivery to the owner's webhooks */
    char status[16];   /* its status when it was not dead */
    json_int_t attempts;
};

static enum db_status retry_tx(struct db_conn *c, void *arg)
{
    struct retry_ctx *k = arg;
    const char *p[] = { OWNER_UNIT(k->owner), k->id, OWNER_ACCOUNT(k->owner) };
    enum db_status st;
    long long attempts = 0;
    const struct db_field spec[] = { DB_I64("attempts", &attempts), DB_END };
    int retried = db_one(c, STMT_OUTBOX_RETRY, p, spec, &st);
    if (retried < 0)
        return st;
    k->attempts = (json_int_t)attempts;
    if (!retried) {
        const struct db_field status[] = { DB_TEXT("status", k->status), DB_END };
        int found = db_one(c, STMT_OUTBOX_STATUS, p, status, &st);
        if (found < 0)
            return st;
        k->found = found == 1;
        return DB_ABORT;
    }
    k->found = true;
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "status", "dead", "after",
                               "status", "pending");
    st = audit_change(c, &k->actor, "notification.retry", "notification",
                       k->id, change);
    return st;
}

static enum handler_result retry_delivery(struct request *r, struct owner *o)
{
    long long id;
    if (!request_param_id(r, o->param, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such delivery");
    struct retry_ctx k = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = o->caller, .request_id = r->request_id },
        .owner = o,
    };
    fmt_id(k.id, id);
    enum db_status st = db_transaction(r->db, retry_tx, &k);
    if (st == DB_ABORT && !k.found)
        return reply_problem(r, PROBLEM_NOT_FOUND,
                             o->unit_id ? "no such delivery to this unit's webhooks"
                                        : "no such delivery to your webhooks");
    if (st == DB_ABORT) {
        char d[120];
        snprintf(d, sizeof d, "only a dead delivery is retried; this one is %s", k.status);
        return reply_problem(r, PROBLEM_CONFLICT, d);
    }
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_json(r, 200, json_pack("{s:I, s:s, s:I}", "id", (json_int_t)id, "status",
                                        "pending", "attempts", k.attempts));
}

enum handler_result outbox_retry(struct request *r)
{
    struct owner o;
    enum handler_result out;
    return unit_owner(r, &o, &out) ? retry_delivery(r, &o) : out;
}

enum handler_result my_outbox_retry(struct request *r)
{
    struct owner o;
    enum handler_result out;
    return self_owner(r, &o, &out) ? retry_delivery(r, &o) : out;
}
