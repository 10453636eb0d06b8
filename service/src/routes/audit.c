/* The audit log over HTTP: GET /v1/audit (the entries about an object or
 * by an account, oldest first, a page at a time) and GET /v1/audit/verify
 * (the recomputation of the chain). Who may read what is decided here and
 * documented in docs/audit.md. */
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/signing.h"
#include "db/rows.h"
#include "domain/audit_chain.h"
#include "domain/audit_verify.h"
#include "domain/secret_store.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"
#include "util/decimal.h"
#include "util/utf8.h"

#define AUDIT_PAGE_DEFAULT 50
#define AUDIT_PAGE_MAX 200
#define OBJECT_TYPE_MAX 50
#define OBJECT_ID_MAX 200
#define CURSOR_MAX 1000000000000000000LL

static bool object_type_ok(const char *s)
{
    size_t n = strlen(s);
    if (n == 0 || n > OBJECT_TYPE_MAX)
        return false;
    for (size_t i = 0; i < n; i++)
        if (!((s[i] >= 'a' && s[i] <= 'z') || s[i] == '_'))
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* who may read the entries about an object                            */
/* ------------------------------------------------------------------ */

/* Does the caller manage unit_id (secretary of it or of a unit above)? */
static enum db_status manages_unit(struct request *r, const struct authz *az, long long unit_id,
                                   bool *yes)
{
    struct authz u;
    enum db_status st = authz_load(r->db, az->account_id, unit_id, &u);
    if (st == DB_OK)
        *yes = *yes || (u.unit_exists && u.secretary_above);
    return st;
}

/*
 * Admins read everything. A secretary reads the entries about a suggestion
 * of a unit they manage (or escalated to one), about such a unit, and
 * about memberships in it: an object query with an id, of those three
 * types. An account's actions span units a secretary may not manage, so
 * actor queries are for admins.
 */
static enum db_status may_read(struct request *r, const struct authz *az, const char *type,
                               const char *object_id, bool *yes)
{
    *yes = az->is_admin;
    if (*yes || !type || !object_id)
        return DB_OK;
    long long unit = 0;
    if (!strcmp(type, "suggestion")) {
        const char *p[] = { object_id };
        enum db_status st;
        long long own = 0, escalated = 0;
        const struct db_field spec[] = { DB_I64("unit_id", &own),
                                         DB_I64_N("escalated_to", &escalated), DB_END };
        if (db_one(r->db, STMT_AUDIT_SUGGESTION_UNITS, p, spec, &st) < 0)
            return st;
        if (own && (st = manages_unit(r, az, own, yes)) != DB_OK)
            return st;
        return escalated && !*yes ? manages_unit(r, az, escalated, yes) : DB_OK;
    }
    if (!strcmp(type, "unit") || !strcmp(type, "membership")) {
        /* A membership's id is "unit/account". */
        char head[24];
        size_t n = strcspn(object_id, "/");
        if (n == 0 || n >= sizeof head || (!strcmp(type, "unit") && object_id[n]))
            return DB_OK;
        memcpy(head, object_id, n);
        head[n] = '\0';
        if (!decimal_parse(head, 1, CURSOR_MAX, &unit))
            return DB_OK;
        return manages_unit(r, az, unit, yes);
    }
    return DB_OK;
}

/* ------------------------------------------------------------------ */
/* GET /v1/audit                                                       */
/* ------------------------------------------------------------------ */

/* An entry as the API shows it: AUDIT_ROW_COLUMNS followed by the seq;
 * the change is text here, parsed below. */
static const struct db_json_col entry_cols[] = {
    DBJ("id", "id", INT), DBJ("seq", "seq", INT), DBJ("at", "at", STRING),
    DBJ("actor_kind", "actor_kind", STRING), DBJ("actor_id", "actor_id", INT),
    DBJ("action", "action", STRING), DBJ("object_type", "object_type", STRING),
    DBJ("object_id", "object_id", STRING), DBJ("change", "change", STRING),
    DBJ("request_id", "request_id", STRING), DBJ_DONE,
};

enum handler_result audit_log_list(struct request *r)
{
    struct validator v;
    validator_init_query(&v, r);
    const char *type = request_query(r, "object_type");
    const char *object_id = request_query(r, "object_id");
    const char *actor = request_query(r, "actor_id");
    long long actor_id = 0, cursor = 0, limit = AUDIT_PAGE_DEFAULT;
    if (type && !object_type_ok(type))
        query_error(&v, "object_type: 1 to 50 of a-z and _");
    if (object_id && (!*object_id || strlen(object_id) > OBJECT_ID_MAX ||
                      !utf8_valid(object_id, strlen(object_id))))
        query_error(&v, "object_id: 1 to 200 bytes of UTF-8");
    if (object_id && !type)
        query_error(&v, "object_id: only with object_type");
    query_decimal(&v, "actor_id", false, 1, CURSOR_MAX, &actor_id, "actor_id: expected a positive id");
    if (!type && !actor)
        query_error(&v, "give object_type (and object_id) or actor_id");
    if (type && actor)
        query_error(&v, "give object_type or actor_id, not both");
    query_decimal(&v, "cursor", false, 0, CURSOR_MAX, &cursor,
                  "cursor: expected the next_cursor of the previous page");
    query_decimal(&v, "limit", false, 1, AUDIT_PAGE_MAX, &limit, "limit: 1 to 200");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!caller_load(r, 0, &az, &out))
        return out;
    bool allowed;
    enum db_status st = may_read(r, &az, type, object_id, &allowed);
    if (st != DB_OK)
        return reply_db_error(r, st);
    if (!allowed)
        return reply_forbidden(r);

    char ca[24], cu[24], li[24];
    snprintf(cu, sizeof cu, "%lld", cursor);
    snprintf(li, sizeof li, "%lld", limit);
    json_t *items;
    if (type) {
        const char *p[] = { type, object_id, cu, li };
        items = db_json_rows(r->db, STMT_AUDIT_LIST_OBJECT, p, entry_cols, &st);
    } else {
        snprintf(ca, sizeof ca, "%lld", actor_id);
        const char *p[] = { ca, cu, li };
        items = db_json_rows(r->db, STMT_AUDIT_LIST_ACTOR, p, entry_cols, &st);
    }
    if (!items)
        return reply_db_error(r, st);
    size_t i, n = json_array_size(items);
    json_t *e;
    json_array_foreach(items, i, e) {
        /* null when the stored JSON holds a number jansson cannot
         * represent (only a hand-made row can) */
        json_t *change = json_loads(json_string_value(json_object_get(e, "change")), 0, NULL);
        json_object_set_new(e, "change", change ? change : json_null());
    }
    json_t *next = json_null();
    if (n && (long long)n == limit) {
        char last[24];
        snprintf(last, sizeof last, "%lld",
                 (long long)json_integer_value(json_object_get(json_array_get(items, n - 1), "id")));
        next = json_string(last);
    }
    return reply_json(r, 200, json_pack("{s:o, s:o}", "items", items, "next_cursor", next));
}

/* ------------------------------------------------------------------ */
/* GET /v1/audit/verify                                                */
/* ------------------------------------------------------------------ */

/* One verification at a time per instance: each reads the whole log and
 * holds an HTTP thread while it does. A second one is refused at once
 * (429) rather than queued: callers queued on the lock held one HTTP
 * thread each, and with them every connection those threads serve. */
static pthread_mutex_t verify_lock = PTHREAD_MUTEX_INITIALIZER;
#define VERIFY_RETRY_AFTER "5"

enum handler_result audit_log_verify(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    if (!az.is_admin)
        return reply_forbidden(r);
    if (pthread_mutex_trylock(&verify_lock) != 0) {
        request_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, VERIFY_RETRY_AFTER);
        return reply_problem(r, PROBLEM_TOO_MANY_ATTEMPTS,
                             "a verification of the audit log is already running; retry when it is done");
    }

    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sk[SIGNING_SECRET_KEY_BYTES];
    enum db_status st;
    enum secret_status ss = signing_key_load(r->db, r->cfg->master_key, pk, sk, &st);
    sodium_memzero(sk, sizeof sk);
    if (ss != SECRET_OK) {
        pthread_mutex_unlock(&verify_lock);
        return reply_db_error(r, ss == SECRET_DB_FAILED ? st : DB_ERROR);
    }
    struct audit_report *report = malloc(sizeof *report);
    if (!report) {
        pthread_mutex_unlock(&verify_lock);
        return reply_db_error(r, DB_ERROR);
    }
    st = audit_verify(r->db, pk, report);
    pthread_mutex_unlock(&verify_lock);
    json_t *body = st == DB_OK ? audit_report_json(report) : NULL;
    free(report);
    if (!body)
        return reply_db_error(r, st == DB_OK ? DB_ERROR : st);
    return reply_json(r, 200, body);
}
