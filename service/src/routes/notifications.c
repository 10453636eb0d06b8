/* Notifications over HTTP: the caller's inbox, the webhooks of a unit,
 * and the unit's deliveries with their attempts and the dead-letter
 * retry (docs/notifications.md). */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/secrets.h"
#include "domain/audit.h"
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

static json_t *text_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_int_t int_at(PGresult *res, int row, int col)
{
    return (json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

/* ?cursor= and ?limit=; false with a 422 queued in *out. */
static bool page_params(struct request *r, long long *cursor, long long *limit,
                        json_t *errors)
{
    const char *names[] = { "cursor", "limit" };
    long long *vals[] = { cursor, limit };
    *cursor = 0;
    *limit = PAGE_DEFAULT;
    for (int i = 0; i < 2; i++) {
        const char *s = request_query(r, names[i]);
        if (!s)
            continue;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end || v <= 0 || (i == 1 && v > PAGE_MAX))
            json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                    i ? "limit: 1 to 100" : "cursor: a positive id"));
        else
            *vals[i] = v;
    }
    return json_array_size(errors) == 0;
}

/* ------------------------------------------------------------------ */
/* the inbox                                                           */
/* ------------------------------------------------------------------ */

enum handler_result notifications_list(struct request *r)
{
    json_t *errors = json_array();
    long long cursor, limit;
    page_params(r, &cursor, &limit, errors);
    const char *unread = request_query(r, "unread");
    if (unread && strcmp(unread, "true") && strcmp(unread, "false"))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "unread: true or false"));
    if (json_array_size(errors))
        return reply_validation(r, errors);
    json_decref(errors);

    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    char acct[24], cur[24], lim[24];
    const char *p[] = { fmt_id(acct, az.account_id), cursor ? fmt_id(cur, cursor) : NULL,
                        unread && !strcmp(unread, "true") ? "true" : "false", fmt_id(lim, limit) };
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_NOTIFICATIONS_LIST, p, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *items = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        json_t *item = json_pack("{s:I, s:s, s:s, s:s, s:s, s:s, s:s}", "id", int_at(res, i, 0),
                                 "event", PQgetvalue(res, i, 1), "suggestion_id",
                                 PQgetvalue(res, i, 2), "subject", PQgetvalue(res, i, 3), "body",
                                 PQgetvalue(res, i, 4), "link", PQgetvalue(res, i, 5),
                                 "created_at", PQgetvalue(res, i, 6));
        json_object_set_new(item, "read_at", text_or_null(res, i, 7));
        json_array_append_new(items, item);
    }
    json_t *next = n == limit ? json_integer(int_at(res, n - 1, 0)) : json_null();
    PQclear(res);
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
    PGresult *res = db_exec(r->db, STMT_NOTIFICATION_READ, p, &st);
    if (!res)
        return reply_db_error(r, st);
    bool found = PQntuples(res) == 1;
    PQclear(res);
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
    PGresult *res = db_exec(r->db, STMT_NOTIFICATIONS_READ_ALL, p, &st);
    if (!res)
        return reply_db_error(r, st);
    PQclear(res);
    return reply_empty(r, 204);
}

/* ------------------------------------------------------------------ */
/* webhooks of a unit                                                  */
/* ------------------------------------------------------------------ */

/* The caller manages the unit of the path; false: a problem is queued. */
static bool unit_manager(struct request *r, long long *unit_id, struct authz *az,
                         enum handler_result *out)
{
    if (!request_param_id(r, 0, unit_id)) {
        *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
        return false;
    }
    if (!caller_load(r, *unit_id, az, out))
        return false;
    if (!az->unit_exists) {
        *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
        return false;
    }
    if (!authz_allows(az, AUTHZ_MANAGE_UNIT)) {
        *out = reply_forbidden(r);
        return false;
    }
    return true;
}

/* A webhook row (id, unit_id, kind, url_hint, has_secret, created_at). */
static json_t *webhook_json(PGresult *res, int i)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:b, s:s}", "id", int_at(res, i, 0), "unit_id",
                     int_at(res, i, 1), "kind", PQgetvalue(res, i, 2), "url",
                     PQgetvalue(res, i, 3), "secret_set", PQgetvalue(res, i, 4)[0] == 't',
                     "created_at", PQgetvalue(res, i, 5));
}

enum handler_result webhooks_list(struct request *r)
{
    long long unit_id;
    struct authz az;
    enum handler_result out;
    if (!unit_manager(r, &unit_id, &az, &out))
        return out;
    char u[24];
    const char *p[] = { fmt_id(u, unit_id) };
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_WEBHOOKS_OF_UNIT, p, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *items = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(items, webhook_json(res, i));
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:o}", "items", items));
}

struct webhook_ctx {
    struct audit_entry actor;
    long long unit_id;
    const char *kind, *hint, *url, *secret;
    const unsigned char *master;
    json_t *out;
};

static enum db_status webhook_create_tx(struct db_conn *c, void *arg)
{
    struct webhook_ctx *k = arg;
    json_decref(k->out);
    k->out = NULL;
    enum db_status st;
    PGresult *res = db_exec(c, STMT_WEBHOOK_NEXT_ID, NULL, &st);
    if (!res)
        return st;
    char id[24], name[48], unit[24], by[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    /* The URL and the secret, sealed together under a name bound to the id. */
    json_t *target = json_pack("{s:s, s:s?}", "url", k->url, "secret", k->secret);
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
    const char *pi[] = { id, fmt_id(unit, k->unit_id), k->kind, k->hint,
                         k->secret ? "true" : "false", nonce_hex, sealed_hex,
                         fmt_id(by, k->actor.actor_id) };
    res = db_exec(c, STMT_WEBHOOK_INSERT, pi, &st);
    free(sealed_hex);
    if (!res)
        return st;
    k->out = webhook_json(res, 0);
    PQclear(res);
    json_t *change = json_pack("{s:{s:I, s:s, s:s, s:b}}", "after", "unit_id",
                               (json_int_t)k->unit_id, "kind", k->kind, "url", k->hint,
                               "secret_set", k->secret != NULL);
    struct audit_entry e = k->actor;
    e.action = "webhook.create";
    e.object_type = "webhook";
    e.object_id = id;
    e.change = change;
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}

enum handler_result webhooks_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *kind_s = validate_string(&v, "kind", true, 1, 16);
    const char *url = validate_string(&v, "url", true, 1, WEBHOOK_URL_MAX);
    const char *secret = validate_string(&v, "secret", false, 1, WEBHOOK_SECRET_MAX_CHARS);
    enum webhook_kind kind = WEBHOOK_JSON;
    if (kind_s && !webhook_kind_parse(kind_s, &kind))
        validator_error(&v, "kind", "must be json, wecom or dingtalk");
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
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    long long unit_id;
    struct authz az;
    enum handler_result out;
    if (!unit_manager(r, &unit_id, &az, &out))
        return out;
    /* Resolved only for a caller who may configure: nobody else gets to
     * use the service to ask the DNS. */
    struct webhook_policy policy = { .allow_loopback = r->cfg->webhook_allow_loopback,
                                     .self_port = webhook_self_port() };
    char addr[WEBHOOK_ADDR_MAX], reason[200];
    why = webhook_resolve(&t, &policy, addr, reason, sizeof reason);
    if (why)
        return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "/url", "detail", why));

    struct webhook_ctx k = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id,
                   .request_id = r->request_id },
        .unit_id = unit_id, .kind = webhook_kind_name(kind), .hint = t.hint, .url = url,
        .secret = secret, .master = r->cfg->master_key,
    };
    enum db_status st = db_transaction(r->db, webhook_create_tx, &k);
    if (st != DB_OK) {
        json_decref(k.out);
        return reply_db_error(r, st);
    }
    return reply_json(r, 201, k.out);
}

struct webhook_delete_ctx {
    struct audit_entry actor;
    char unit[24], id[24];
    bool found;
};

static enum db_status webhook_delete_tx(struct db_conn *c, void *arg)
{
    struct webhook_delete_ctx *k = arg;
    const char *p[] = { k->unit, k->id };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_WEBHOOK_DELETE, p, &st);
    if (!res)
        return st;
    k->found = PQntuples(res) == 1;
    json_t *before = k->found ? webhook_json(res, 0) : NULL;
    PQclear(res);
    if (!k->found)
        return DB_ABORT;
    json_t *change = json_pack("{s:o}", "before", before);
    struct audit_entry e = k->actor;
    e.action = "webhook.delete";
    e.object_type = "webhook";
    e.object_id = k->id;
    e.change = change;
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}

enum handler_result webhooks_delete(struct request *r)
{
    long long unit_id, id;
    struct authz az;
    enum handler_result out;
    if (!unit_manager(r, &unit_id, &az, &out))
        return out;
    if (!request_param_id(r, 1, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such webhook");
    struct webhook_delete_ctx k = { .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id,
                                               .request_id = r->request_id } };
    fmt_id(k.unit, unit_id);
    fmt_id(k.id, id);
    enum db_status st = db_transaction(r->db, webhook_delete_tx, &k);
    if (st == DB_ABORT && !k.found)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such webhook in this unit");
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_empty(r, 204);
}

/* ------------------------------------------------------------------ */
/* deliveries and the dead letters                                     */
/* ------------------------------------------------------------------ */

enum handler_result outbox_list(struct request *r)
{
    json_t *errors = json_array();
    long long cursor, limit;
    page_params(r, &cursor, &limit, errors);
    const char *status = request_query(r, "status");
    if (status && strcmp(status, "pending") && strcmp(status, "delivered") &&
        strcmp(status, "dead"))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "status: pending, delivered or dead"));
    if (json_array_size(errors))
        return reply_validation(r, errors);
    json_decref(errors);

    long long unit_id;
    struct authz az;
    enum handler_result out;
    if (!unit_manager(r, &unit_id, &az, &out))
        return out;
    char u[24], cur[24], lim[24];
    const char *p[] = { fmt_id(u, unit_id), status, cursor ? fmt_id(cur, cursor) : NULL,
                        fmt_id(lim, limit) };
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_OUTBOX_LIST, p, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *items = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++) {
        json_t *item = json_pack(
            "{s:I, s:I, s:s, s:s, s:s, s:s, s:I, s:s, s:o}", "id", int_at(res, i, 0),
            "webhook_id", int_at(res, i, 1), "kind", PQgetvalue(res, i, 2), "event",
            PQgetvalue(res, i, 3), "suggestion_id", PQgetvalue(res, i, 4), "status",
            PQgetvalue(res, i, 5), "attempts", int_at(res, i, 6), "created_at",
            PQgetvalue(res, i, 7), "attempt_log", json_loads(PQgetvalue(res, i, 11), 0, NULL));
        bool pending = !strcmp(PQgetvalue(res, i, 5), "pending");
        json_object_set_new(item, "next_attempt_at",
                            pending ? json_string(PQgetvalue(res, i, 8)) : json_null());
        json_object_set_new(item, "delivered_at", text_or_null(res, i, 9));
        json_object_set_new(item, "last_error", text_or_null(res, i, 10));
        json_array_append_new(items, item);
    }
    json_t *next = n == limit ? json_integer(int_at(res, n - 1, 0)) : json_null();
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

struct retry_ctx {
    struct audit_entry actor;
    char unit[24], id[24];
    bool found;        /* a delivery of the unit's webhooks */
    char status[16];   /* its status when it was not dead */
    json_int_t attempts;
};

static enum db_status retry_tx(struct db_conn *c, void *arg)
{
    struct retry_ctx *k = arg;
    const char *p[] = { k->unit, k->id };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_OUTBOX_RETRY, p, &st);
    if (!res)
        return st;
    bool retried = PQntuples(res) == 1;
    k->attempts = retried ? int_at(res, 0, 0) : 0;
    PQclear(res);
    if (!retried) {
        res = db_exec(c, STMT_OUTBOX_STATUS, p, &st);
        if (!res)
            return st;
        k->found = PQntuples(res) == 1;
        if (k->found)
            snprintf(k->status, sizeof k->status, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
        return DB_ABORT;
    }
    k->found = true;
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "status", "dead", "after",
                               "status", "pending");
    struct audit_entry e = k->actor;
    e.action = "notification.retry";
    e.object_type = "notification";
    e.object_id = k->id;
    e.change = change;
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}

enum handler_result outbox_retry(struct request *r)
{
    long long unit_id, id;
    struct authz az;
    enum handler_result out;
    if (!unit_manager(r, &unit_id, &az, &out))
        return out;
    if (!request_param_id(r, 1, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such delivery");
    struct retry_ctx k = { .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id,
                                      .request_id = r->request_id } };
    fmt_id(k.unit, unit_id);
    fmt_id(k.id, id);
    enum db_status st = db_transaction(r->db, retry_tx, &k);
    if (st == DB_ABORT && !k.found)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such delivery to this unit's webhooks");
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
