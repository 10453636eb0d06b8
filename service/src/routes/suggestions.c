/* Suggestions over HTTP: categories of a unit, submission (idempotent),
 * lists and detail, and every step of the workflow. The workflow itself is
 * enforced by the database (sql/0003); this file decides who may ask. */
#include <sodium.h>
#include <strings.h>
#include <time.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/notify.h"
#include "domain/redeem.h"
#include "domain/suggestions.h"
#include "domain/units.h"
#include "domain/session.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define LIST_PAGE_DEFAULT 20
#define LIST_PAGE_MAX 100
#define IDEMPOTENCY_KEY_MAX 200

static struct audit_entry actor_of(const struct request *r, long long account_id)
{
    struct audit_entry e = { .actor = AUDIT_ACCOUNT, .actor_id = account_id,
                             .request_id = r->request_id };
    return e;
}

static bool public_id_ok(const char *s)
{
    if (!s || strlen(s) != PUBLIC_ID_CHARS || s[0] != 'S' || s[1] != '-')
        return false;
    for (int i = 2; i < PUBLIC_ID_CHARS; i++)
        if (!strchr("0123456789ABCDEFGHJKMNPQRSTVWXYZ", s[i]) || !s[i])
            return false;
    return true;
}

static json_t *text_or_null_res(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static char *fmt_id(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

/* ------------------------------------------------------------------ */
/* categories                                                          */
/* ------------------------------------------------------------------ */

static json_t *category_json(PGresult *res, int i)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:i, s:i, s:i}", "id",
                     (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "unit_id",
                     (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10), "name",
                     PQgetvalue(res, i, 2), "portfolio", PQgetvalue(res, i, 3), "ack_days",
                     atoi(PQgetvalue(res, i, 4)), "answer_days", atoi(PQgetvalue(res, i, 5)),
                     "grace_days", atoi(PQgetvalue(res, i, 6)));
}

enum handler_result categories_list(struct request *r)
{
    long long unit_id;
    if (!request_param_id(r, 0, &unit_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, unit_id, &az, &out))
        return out;
    if (!az.unit_exists)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    if (!authz_allows(&az, AUTHZ_VIEW_TREE))
        return reply_forbidden(r);
    char u[24];
    const char *params[] = { fmt_id(u, unit_id) };
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_CATEGORIES_FOR_UNIT, params, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, category_json(res, i));
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:o}", "categories", list));
}

struct category_ctx {
    struct audit_entry actor;
    const char *params[6];
    json_t *category;
};

static enum db_status category_create_tx(struct db_conn *c, void *arg)
{
    struct category_ctx *k = arg;
    json_decref(k->category);
    k->category = NULL;
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CATEGORY_INSERT, k->params, &st);
    if (!res)
        return st;
    k->category = category_json(res, 0);
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    json_t *change = json_pack("{s:O}", "after", k->category);
    st = audit_change(c, &k->actor, "category.create", "category",
                       id, change);
    return st;
}

static int day_count(struct validator *v, const char *field, int fallback)
{
    json_t *x = json_is_object(v->body) ? json_object_get(v->body, field) : NULL;
    if (!x || json_is_null(x))
        return fallback;
    if (!json_is_integer(x) || json_integer_value(x) < 0 || json_integer_value(x) > 365) {
        validator_error(v, field, "must be a whole number of days from 0 to 365");
        return fallback;
    }
    return (int)json_integer_value(x);
}

enum handler_result categories_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *name = validate_name(&v, "name", true, 50);
    const char *portfolio = validate_name(&v, "portfolio", true, PORTFOLIO_NAME_MAX_CHARS);
    int ack = day_count(&v, "ack_days", 3), answer = day_count(&v, "answer_days", 15);
    int grace = day_count(&v, "grace_days", 7);
    if (ack < 1)
        validator_error(&v, "ack_days", "must be at least 1");
    if (answer < ack)
        validator_error(&v, "answer_days", "must be at least ack_days");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    long long unit_id;
    if (!request_param_id(r, 0, &unit_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, unit_id, &az, &out))
        return out;
    if (!az.unit_exists)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);

    char u[24], a[16], b[16], g[16];
    snprintf(a, sizeof a, "%d", ack);
    snprintf(b, sizeof b, "%d", answer);
    snprintf(g, sizeof g, "%d", grace);
    struct category_ctx k = { actor_of(r, az.account_id),
                              { fmt_id(u, unit_id), name, portfolio, a, b, g }, NULL };
    enum db_status st = db_transaction(r->db, category_create_tx, &k);
    if (st == DB_UNIQUE)
        return reply_problem(r, PROBLEM_CONFLICT, "the unit already has a category of that name");
    if (st != DB_OK) {
        json_decref(k.category);
        return reply_db_error(r, st);
    }
    return reply_json(r, 201, k.category);
}

struct category_update_ctx {
    struct audit_entry actor;
    char id[24], unit[24];
    const char *params[6];
    json_t *before, *after;
    bool missing;
};

static enum db_status category_update_tx(struct db_conn *c, void *arg)
{
    struct category_update_ctx *k = arg;
    json_decref(k->before);
    json_decref(k->after);
    k->before = k->after = NULL;
    const char *pg[] = { k->id, k->unit };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CATEGORY_GET, pg, &st);
    if (!res)
        return st;
    k->missing = PQntuples(res) == 0;
    if (!k->missing)
        k->before = category_json(res, 0);
    PQclear(res);
    if (k->missing)
        return DB_ABORT;
    res = db_exec(c, STMT_CATEGORY_UPDATE, k->params, &st);
    if (!res)
        return st;
    k->after = category_json(res, 0);
    PQclear(res);
    if (json_equal(k->before, k->after))
        return DB_OK;
    json_t *change = json_pack("{s:O, s:O}", "before", k->before, "after", k->after);
    st = audit_change(c, &k->actor, "category.update", "category",
                       k->id, change);
    return st;
}

enum handler_result categories_update(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *name = validate_name(&v, "name", false, 50);
    const char *portfolio = validate_name(&v, "portfolio", false, PORTFOLIO_NAME_MAX_CHARS);
    const char *fields[] = { "ack_days", "answer_days", "grace_days" };
    char days[3][16];
    const char *given[3] = { NULL, NULL, NULL };
    for (int i = 0; i < 3; i++) {
        int d = day_count(&v, fields[i], -1);
        if (d >= 0) {
            snprintf(days[i], sizeof days[i], "%d", d);
            given[i] = days[i];
        }
    }
    if (given[0] && atoi(given[0]) < 1)
        validator_error(&v, "ack_days", "must be at least 1");
    if (!validator_failed(&v) && !name && !portfolio && !given[0] && !given[1] && !given[2])
        validator_error(&v, "", "give at least one field to change");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    long long unit_id, category_id;
    if (!request_param_id(r, 0, &unit_id) || !request_param_id(r, 1, &category_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such category");
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, unit_id, &az, &out))
        return out;
    if (!az.unit_exists)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct category_update_ctx k = { .actor = actor_of(r, az.account_id) };
    fmt_id(k.id, category_id);
    fmt_id(k.unit, unit_id);
    k.params[0] = k.id;
    k.params[1] = name;
    k.params[2] = portfolio;
    k.params[3] = given[0];
    k.params[4] = given[1];
    k.params[5] = given[2];
    enum db_status st = db_transaction(r->db, category_update_tx, &k);
    json_decref(k.before);
    if (st == DB_ABORT && k.missing)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such category in this unit");
    if (st != DB_OK) {
        json_decref(k.after);
        if (st == DB_UNIQUE)
            return reply_problem(r, PROBLEM_CONFLICT, "the unit already has a category of that name");
        if (st == DB_CONSTRAINT)
            return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "/answer_days",
                                                 "detail", "must be at least ack_days"));
        return reply_db_error(r, st);
    }
    return reply_json(r, 200, k.after);
}

/* ------------------------------------------------------------------ */
/* who the caller is to a suggestion                                   */
/* ------------------------------------------------------------------ */

struct rights {
    long long account_id;
    bool author, assignee, committee, manages, admin;
};

static bool can_view(const struct rights *g)
{
    return g->author || g->assignee || g->committee || g->manages;
}

/* Handling (accept, answer, internal messages) is for the assignee and
 * whoever manages the unit; the committee may read and discuss. */
static bool can_handle(const struct rights *g)
{
    return g->assignee || g->manages;
}

/* The rights from the caller's facts for the suggestion's unit and, when
 * it was escalated, for that unit (esc; NULL when not). */
static void rights_from(long long account_id, long long author_id, long long assignee_id,
                        const struct authz *unit, const struct authz *esc, struct rights *g)
{
    memset(g, 0, sizeof *g);
    g->account_id = account_id;
    g->author = author_id == account_id;
    g->assignee = assignee_id == account_id;
    g->admin = unit->is_admin;
    g->committee = unit->committee || unit->secretary;
    g->manages = unit->is_admin || unit->secretary_above;
    if (esc) {
        g->committee |= esc->committee || esc->secretary;
        g->manages |= esc->secretary_above;
    }
}

static enum db_status rights_load(struct db_conn *c, long long account_id, long long unit_id,
                                  long long escalated_to, long long author_id,
                                  long long assignee_id, struct rights *g)
{
    struct authz au, ae;
    enum db_status st = authz_load(c, account_id, unit_id, &au);
    if (st == DB_OK && escalated_to)
        st = authz_load(c, account_id, escalated_to, &ae);
    if (st != DB_OK)
        return st;
    rights_from(account_id, author_id, assignee_id, &au, escalated_to ? &ae : NULL, g);
    return DB_OK;
}

static long long col_id(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? 0 : strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static bool public_step(const char *action)
{
    static const char *const steps[] = { "suggestion.submit", "suggestion.accept",
                                         "suggestion.answer", "suggestion.rate",
                                         "suggestion.reopen", "suggestion.withdraw",
                                         "suggestion.merge", "suggestion.publish",
                                         "suggestion.escalate" };
    for (size_t i = 0; i < sizeof steps / sizeof steps[0]; i++)
        if (!strcmp(action, steps[i]))
            return true;
    return false;
}

/* The full view of one suggestion for a viewer with rights g. */
/* The thread's four reads of suggestion public_id, in the order
 * detail_build takes them: messages, answer, ratings, history. */
#define THREAD_READS 4
#define THREAD_STMTS STMT_THREAD_MESSAGES, STMT_THREAD_ANSWER, STMT_THREAD_RATINGS, \
                     STMT_SUGGESTION_HISTORY

/* The suggestion of row (suggestion_get's columns) with its thread as the
 * rights g let the caller see it; got[] are THREAD_STMTS' results, each
 * PQclear()ed here. */
static json_t *detail_build(PGresult *row, const struct rights *g, PGresult *got[THREAD_READS])
{
    json_t *s = suggestion_json(row, 0, g->author || g->committee || g->manages ||
                                            g->assignee);
    if (!can_view(g)) {
        /* A co-signer reads the suggestion, not the thread around it. */
        for (int i = 0; i < THREAD_READS; i++)
            PQclear(got[i]);
        json_object_set_new(s, "messages", json_array());
        json_object_set_new(s, "answer", json_null());
        json_object_set_new(s, "ratings", json_array());
        json_object_set_new(s, "history", json_array());
        return s;
    }
    const char *status = PQgetvalue(row, 0, 12);
    bool staff = g->committee || g->manages || g->assignee;

    PGresult *res = got[0];
    json_t *messages = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        /* The committee's internal messages only for the committee. */
        if (!staff && strcmp(PQgetvalue(res, i, 3), "submitter"))
            continue;
        json_t *m = json_pack("{s:I, s:s, s:s, s:s, s:s}", "id", (json_int_t)col_id(res, i, 0),
                              "author_kind", PQgetvalue(res, i, 1), "visibility",
                              PQgetvalue(res, i, 3), "body", PQgetvalue(res, i, 4), "created_at",
                              PQgetvalue(res, i, 5));
        /* Committee names are shown; a submitter's never is (the author
         * knows who they are, and the committee sees author_name). */
        bool committee_msg = !strcmp(PQgetvalue(res, i, 1), "committee");
        json_object_set_new(m, "author_name",
                            committee_msg ? json_string(PQgetvalue(res, i, 2)) : json_null());
        json_array_append_new(messages, m);
    }
    PQclear(res);
    json_object_set_new(s, "messages", messages);

    res = got[1];
    json_t *answer = json_null();
    if (PQntuples(res)) {
        bool approved = !PQgetisnull(res, 0, 6);
        bool released = !strcmp(status, "answered") || !strcmp(status, "published");
        if (staff || approved || released) {
            answer = json_pack("{s:s, s:s, s:s, s:s, s:b}", "decision", PQgetvalue(res, 0, 0),
                               "body", PQgetvalue(res, 0, 2), "drafted_by_name",
                               PQgetvalue(res, 0, 4), "drafted_at", PQgetvalue(res, 0, 5),
                               "approved", approved);
            json_object_set_new(answer, "reason", text_or_null_res(res, 0, 1));
            json_object_set_new(answer, "approved_at", text_or_null_res(res, 0, 8));
        }
    }
    PQclear(res);
    json_object_set_new(s, "answer", answer);

    res = got[2];
    json_t *ratings = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(ratings, json_pack("{s:i, s:s, s:s}", "round",
                                                 atoi(PQgetvalue(res, i, 0)), "rating",
                                                 PQgetvalue(res, i, 1), "rated_at",
                                                 PQgetvalue(res, i, 2)));
    PQclear(res);
    json_object_set_new(s, "ratings", ratings);

    res = got[3];
    json_t *history = json_array();
    for (int i = 0; i < PQntuples(res); i++) {
        /* The author sees the steps of the workflow, not the committee's
         * work around it (messages, drafts, reassignments). */
        if (!staff && !public_step(PQgetvalue(res, i, 0)))
            continue;
        json_array_append_new(history, json_pack("{s:s, s:s, s:o*}", "action",
                                                 PQgetvalue(res, i, 0), "at",
                                                 PQgetvalue(res, i, 1), "change",
                                                 staff ? json_loads(PQgetvalue(res, i, 3), 0, NULL)
                                                       : NULL));
    }
    PQclear(res);
    json_object_set_new(s, "history", history);
    return s;
}

/* detail_build after reading the thread in one round trip. */
static json_t *detail_json(struct db_conn *c, PGresult *row, const struct rights *g,
                           enum db_status *st)
{
    const char *pid[] = { PQgetvalue(row, 0, 1) };
    const enum stmt ids[] = { THREAD_STMTS };
    const char *const *const params[] = { pid, pid, pid, pid };
    PGresult *got[THREAD_READS];
    db_exec_batch(c, THREAD_READS, ids, params, got, st);
    if (*st != DB_OK)
        return NULL;
    return detail_build(row, g, got);
}

/* ------------------------------------------------------------------ */
/* submission                                                          */
/* ------------------------------------------------------------------ */

struct submit_ctx {
    struct request *r;
    long long account_id, unit_id, category_id;
    const char *title, *body, *portfolio;
    bool publish_name;
    int ack_days, answer_days, grace_days;
    const char *idem_key;
    char scope[80], request_hash[65];
    /* anonymous: the token pays, nobody is named */
    bool anonymous;
    const struct token *token;
    bool token_spent; /* out */
    /* out */
    char public_id[PUBLIC_ID_CHARS + 1];
    int replay_status;  /* a stored answer to replay; 0 when new */
    json_t *replay;     /* its body */
    bool key_mismatch;
};

/* Inserts with a fresh public id; a collision (one in a billion per
 * thousand suggestions) just draws another. */
static enum db_status insert_suggestion(struct db_conn *c, struct submit_ctx *k,
                                        long long assignee, long long *id)
{
    char unit[24], cat[24], author[24], asg[24], a[16], b[16], g[16];
    snprintf(a, sizeof a, "%d", k->ack_days);
    snprintf(b, sizeof b, "%d", k->answer_days);
    snprintf(g, sizeof g, "%d", k->grace_days);
    for (int attempt = 0; attempt < 8; attempt++) {
        suggestion_public_id(k->public_id);
        const char *params[] = { k->public_id, fmt_id(unit, k->unit_id), fmt_id(cat, k->category_id),
                                 k->title, k->body,
                                 k->anonymous ? NULL : fmt_id(author, k->account_id),
                                 k->anonymous ? "true" : "false",
                                 k->publish_name ? "true" : "false",
                                 assignee ? fmt_id(asg, assignee) : NULL, a, b, g };
        enum db_status st;
        PGresult *res = db_exec(c, STMT_SUGGESTION_INSERT, params, &st);
        if (!res)
            return st;
        *id = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
        PQclear(res);
        if (*id)
            return DB_OK;
    }
    return DB_ERROR;
}

static enum db_status submit_tx(struct db_conn *c, void *arg)
{
    struct submit_ctx *k = arg;
    json_decref(k->replay);
    k->replay = NULL;
    k->replay_status = 0;
    k->key_mismatch = false;
    enum db_status st;

    if (k->idem_key) {
        const char *claim[] = { k->scope, k->idem_key, k->request_hash };
        PGresult *res = db_exec(c, STMT_IDEMPOTENCY_CLAIM, claim, &st);
        if (!res)
            return st;
        bool claimed = PQntuples(res) == 1;
        PQclear(res);
        if (!claimed) {
            /* The first request with this key has committed (the claim
             * waited for it): answer as it was answered. */
            const char *get[] = { k->scope, k->idem_key };
            res = db_exec(c, STMT_IDEMPOTENCY_GET, get, &st);
            if (!res)
                return st;
            k->key_mismatch = strcmp(PQgetvalue(res, 0, 0), k->request_hash) != 0;
            if (!k->key_mismatch && !PQgetisnull(res, 0, 1)) {
                k->replay_status = atoi(PQgetvalue(res, 0, 1));
                k->replay = json_loads(PQgetvalue(res, 0, 2), 0, NULL);
            }
            PQclear(res);
            return DB_ABORT;
        }
    }

    if (k->anonymous) {
        st = token_spend(c, k->token);
        if (st == DB_UNIQUE) {
            k->token_spent = true;
            return DB_ABORT;
        }
        if (st != DB_OK)
            return st;
    }

    struct route_result route;
    st = suggestion_route(c, k->unit_id, k->portfolio, &route);
    if (st != DB_OK)
        return st;
    long long id;
    st = insert_suggestion(c, k, route.assignee_id, &id);
    if (st != DB_OK)
        return st;
    char sid[24];
    fmt_id(sid, id);
    st = suggestion_assignment_record(c, id, route.assignee_id,
                                      route.unit_id ? route.unit_id : k->unit_id, route.reason, 0,
                                      0, k->anonymous);
    if (st != DB_OK)
        return st;

    json_t *change = json_pack("{s:{s:s, s:I, s:I, s:s, s:b, s:o, s:s}}", "after", "status",
                               "submitted", "unit_id", (json_int_t)k->unit_id, "category_id",
                               (json_int_t)k->category_id, "title", k->title, "publish_name",
                               k->publish_name, "assignee_id",
                               route.assignee_id ? json_integer((json_int_t)route.assignee_id)
                                                 : json_null(),
                               "routing", route.reason);
    if (k->anonymous) {
        char code[TRACKING_CODE_CHARS + 1], hash[65];
        tracking_code_from_output(k->token->output, code);
        tracking_code_hash(code, hash);
        sodium_memzero(code, sizeof code);
        const char *pt[] = { hash, sid };
        PQclear(db_exec(c, STMT_TRACKING_INSERT, pt, &st));
        if (st != DB_OK)
            return st;
    }
    struct audit_entry e = actor_of(k->r, k->account_id);
    if (k->anonymous)
        e = (struct audit_entry){ .actor = AUDIT_ANONYMOUS };
    st = audit_change(c, &e, "suggestion.submit", "suggestion", k->public_id, change);
    if (st != DB_OK)
        return st;

    if (k->idem_key) {
        /* The replayed answer: what a retry needs to find its suggestion. */
        json_t *stored = json_pack("{s:s, s:s}", "id", k->public_id, "status", "submitted");
        char *text = json_dumps(stored, JSON_COMPACT);
        json_decref(stored);
        const char *ps[] = { k->scope, k->idem_key, "201", text };
        PQclear(db_exec(c, STMT_IDEMPOTENCY_STORE, ps, &st));
        free(text);
    }
    return st;
}

/* The suggestion as the caller sees it, fetched after the change: as the
 * account's rights allow, or (as_author) as its author — the holder of a
 * tracking code. extra (stolen, may be NULL) is merged into the body. */
static enum handler_result reply_suggestion(struct request *r, unsigned status,
                                            const char *public_id, long long account_id,
                                            bool as_author, json_t *extra)
{
    const char *p[] = { public_id };
    enum db_status st;
    PGresult *row = db_exec(r->db, STMT_SUGGESTION_GET, p, &st);
    if (!row) {
        json_decref(extra);
        return reply_db_error(r, st);
    }
    if (PQntuples(row) == 0) {
        PQclear(row);
        json_decref(extra);
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    }
    struct rights g = { .author = as_author };
    if (!as_author)
        st = rights_load(r->db, account_id, col_id(row, 0, 2), col_id(row, 0, 22),
                         col_id(row, 0, 8), col_id(row, 0, 11), &g);
    json_t *body = st == DB_OK ? detail_json(r->db, row, &g, &st) : NULL;
    PQclear(row);
    if (!body) {
        json_decref(extra);
        return reply_db_error(r, st);
    }
    if (extra)
        json_object_update(body, extra);
    json_decref(extra);
    return reply_json(r, status, body);
}

/* Reads and checks the token of an anonymous request, and verifies it
 * against the epoch's key. false: a problem has been queued in *out. */
static bool token_accept(struct request *r, struct token *t, enum handler_result *out)
{
    const char *field;
    const char *why = token_parse(json_object_get(r->json, "token"), r->cfg, (long long)time(NULL),
                                  t, &field);
    if (why) {
        char pointer[32];
        snprintf(pointer, sizeof pointer, "/token%s%s", *field ? "/" : "", field);
        *out = reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", pointer, "detail", why));
        return false;
    }
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    int genuine = token_verify(r->db, r->cfg, t, &st);
    if (genuine < 0) {
        *out = reply_db_error(r, st);
        return false;
    }
    if (!genuine) {
        *out = reply_problem(r, PROBLEM_INVALID_TOKEN, NULL);
        return false;
    }
    return true;
}

/* An anonymous request: no Authorization header, a token in the body. */
static bool is_anonymous(struct request *r)
{
    return !request_header(r, MHD_HTTP_HEADER_AUTHORIZATION) && json_is_object(r->json) &&
           json_object_get(r->json, "token");
}

static void request_hash(json_t *body, char out[65])
{
    char *canon = json_dumps(body, JSON_COMPACT | JSON_SORT_KEYS);
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)(canon ? canon : ""),
                       canon ? strlen(canon) : 0, NULL, 0);
    free(canon);
    sodium_bin2hex(out, 65, h, sizeof h);
}

enum handler_result suggestions_create(struct request *r)
{
    bool anonymous = is_anonymous(r);
    /* Nothing of an anonymous request is logged: not even that it came. */
    if (anonymous)
        r->anonymous = true;

    struct validator v;
    validator_init(&v, r->json);
    long long unit_id, category_id;
    bool unit_given, cat_given;
    validate_id(&v, "unit_id", anonymous, !anonymous, &unit_id, &unit_given);
    validate_id(&v, "category_id", true, false, &category_id, &cat_given);
    const char *title = validate_string(&v, "title", true, 1, SUGGESTION_TITLE_MAX_CHARS);
    const char *body = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    validate_not_blank(&v, "title", title);
    validate_not_blank(&v, "body", body);
    bool publish_name = validate_bool(&v, "publish_name", false);
    if (anonymous && publish_name)
        validator_error(&v, "publish_name", "an anonymous suggestion has no name to publish");
    const char *key = request_header(r, "Idempotency-Key");
    if (key && (strlen(key) == 0 || strlen(key) > IDEMPOTENCY_KEY_MAX))
        validator_error(&v, "", "Idempotency-Key must be 1 to 200 characters");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    enum handler_result out;
    struct token token;
    struct authz az = { 0 };
    if (anonymous) {
        if (!token_accept(r, &token, &out))
            return out;
    } else if (!caller_load(r, 0, &az, &out)) {
        return out;
    }
    enum db_status st;
    char acct[24], unit[24], cat[24];
    fmt_id(acct, az.account_id);
    if (!unit_id) {
        /* Default: the member's own branch, when there is exactly one. */
        const char *p[] = { acct };
        PGresult *res = db_exec(r->db, STMT_DEFAULT_UNITS, p, &st);
        if (!res)
            return reply_db_error(r, st);
        if (PQntuples(res) == 1)
            unit_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (!unit_id)
            return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "/unit_id", "detail",
                                                 "say which unit: you belong to none or several"));
    }
    fmt_id(unit, unit_id);
    /* Whether the member may address the unit, and the category: one
     * round trip (the token paid for an anonymous one: only the category). */
    const char *pu[] = { acct, unit };
    const char *pc[] = { unit, fmt_id(cat, category_id) };
    const enum stmt ids[] = { STMT_CATEGORY_FOR_UNIT, STMT_SUBMIT_UNIT_ALLOWED };
    const char *const *const params[] = { pc, pu };
    PGresult *got[2];
    db_exec_batch(r->db, anonymous ? 1 : 2, ids, params, got, &st);
    if (st != DB_OK)
        return reply_db_error(r, st);
    PGresult *res = got[0];
    if (!anonymous) {
        bool allowed = PQgetvalue(got[1], 0, 0)[0] == 't';
        PQclear(got[1]);
        if (!allowed) {
            PQclear(res);
            return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "/unit_id", "detail",
                                                 "not a unit of yours or above yours"));
        }
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "/category_id", "detail",
                                             "not a category of that unit"));
    }
    char portfolio[PORTFOLIO_NAME_MAX_CHARS * 4 + 1];
    snprintf(portfolio, sizeof portfolio, "%s", PQgetvalue(res, 0, 3));
    struct submit_ctx k = {
        .r = r, .account_id = az.account_id, .unit_id = unit_id, .category_id = category_id,
        .title = title, .body = body, .portfolio = portfolio, .publish_name = publish_name,
        .ack_days = atoi(PQgetvalue(res, 0, 4)), .answer_days = atoi(PQgetvalue(res, 0, 5)),
        .grace_days = atoi(PQgetvalue(res, 0, 6)), .idem_key = key,
        .anonymous = anonymous, .token = anonymous ? &token : NULL,
    };
    PQclear(res);
    if (key) {
        /* The same key with another body is a client bug, not a retry. An
         * anonymous retry is scoped by its token, not by a person. */
        if (anonymous)
            snprintf(k.scope, sizeof k.scope, "token:%s", token.spent_hex);
        else
            snprintf(k.scope, sizeof k.scope, "account:%lld", az.account_id);
        request_hash(r->json, k.request_hash);
    }
    st = db_transaction(r->db, submit_tx, &k);
    json_t *extra = NULL;
    if (anonymous) {
        /* Recomputed, never stored: a retry gets the same code back. */
        char code[TRACKING_CODE_CHARS + 1];
        tracking_code_from_output(token.output, code);
        extra = json_pack("{s:s}", "tracking_code", code);
        sodium_memzero(code, sizeof code);
        sodium_memzero(&token, sizeof token);
    }
    if (st == DB_ABORT && k.key_mismatch) {
        json_decref(extra);
        return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "", "detail",
                                             "Idempotency-Key was used with another body"));
    }
    if (st == DB_ABORT && k.replay) {
        const char *id = json_string_value(json_object_get(k.replay, "id"));
        char pid[PUBLIC_ID_CHARS + 1];
        snprintf(pid, sizeof pid, "%s", id ? id : "");
        unsigned status = (unsigned)k.replay_status;
        json_decref(k.replay);
        return reply_suggestion(r, status, pid, az.account_id, anonymous, extra);
    }
    if (st == DB_ABORT && k.token_spent) {
        json_decref(extra);
        return reply_problem(r, PROBLEM_TOKEN_SPENT, NULL);
    }
    if (st != DB_OK) {
        json_decref(extra);
        return reply_db_error(r, st == DB_ABORT ? DB_ERROR : st);
    }
    return reply_suggestion(r, 201, k.public_id, az.account_id, anonymous, extra);
}

/* ------------------------------------------------------------------ */
/* reading                                                             */
/* ------------------------------------------------------------------ */

enum handler_result suggestions_get(struct request *r)
{
    if (!public_id_ok(r->params[0]))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    const char *token = session_bearer(r);
    if (!token)
        return reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);
    enum db_status st;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    /* The session, the row, the caller's rights and the thread in one
     * round trip (docs/performance.md): the thread is read for whoever
     * asks, and what the caller may not see is left out here. */
    char hash[HASH_HEX_CHARS + 1], ttl[16];
    secret_hash_hex(token, hash);
    snprintf(ttl, sizeof ttl, "%u", r->cfg->session_ttl);
    const char *p[] = { hash, ttl, r->params[0] };
    const char *pid[] = { r->params[0] };
    const enum stmt ids[] = { STMT_SUGGESTION_VIEW, THREAD_STMTS };
    const char *const *const params[] = { p, pid, pid, pid, pid };
    PGresult *got[1 + THREAD_READS];
    db_exec_batch(r->db, 1 + THREAD_READS, ids, params, got, &st);
    if (st != DB_OK)
        return reply_db_error(r, st);
    PGresult *row = got[0];
    if (PQntuples(row) == 0 || PQgetisnull(row, 0, 0)) {
        bool signed_in = PQntuples(row) > 0;
        for (int i = 0; i <= THREAD_READS; i++)
            PQclear(got[i]);
        return signed_in ? reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion")
                         : reply_problem(r, PROBLEM_UNAUTHORIZED, "session expired or signed out");
    }
    /* After the suggestion's columns: the account, then four facts for
     * its unit and four for the unit it was escalated to. */
    int x = PQnfields(row) - 9;
    struct authz au = { 0 }, ae = { 0 };
    authz_from_row(row, x + 1, &au);
    authz_from_row(row, x + 5, &ae);
    long long escalated_to = col_id(row, 0, 22);
    struct rights g;
    rights_from(col_id(row, 0, x), col_id(row, 0, 8), col_id(row, 0, 11), &au,
                escalated_to ? &ae : NULL, &g);
    if (!can_view(&g)) {
        for (int i = 0; i <= THREAD_READS; i++)
            PQclear(got[i]);
        /* Not telling apart "exists but not yours" from "does not exist". */
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    }
    json_t *body = detail_build(row, &g, got + 1);
    PQclear(row);
    return reply_json(r, 200, body);
}

static const char *const statuses[] = { "submitted", "accepted", "answered", "published",
                                        "withdrawn", "merged" };

/* A page of the search for params[8] in two steps (docs/performance.md,
 * "Scale and free-text search"): the newest SEARCH_WINDOW rows below the
 * cursor (walking the primary key for an admin, the indexes of the units,
 * authorship and assignment for anyone else), where a common word fills
 * the page; when it does not, the older rows through the bigram index,
 * where a rare word has few candidates. Either way the rows are the newest matches, in id order.
 * *older stays NULL when the first step filled the page or read every row. */
static bool search(struct request *r, const char *const params[11], long long cursor,
                   long long limit, PGresult **recent, PGresult **older, enum db_status *st)
{
    long long window = r->cfg->search_window, start = cursor;
    bool admin = !strcmp(params[1], "true");
    char from[24], to[24], lim[24];
    const char *p[12];
    memcpy(p, params, sizeof(p[0]) * 11);
    if (!admin) {
        /* Each way the caller sees rows, newest first. The statement finds
         * the newest id itself when there is no cursor, and every row it
         * returns carries the upper end of its window. */
        p[11] = fmt_id(to, window);
        *recent = db_exec(r->db, STMT_SUGGESTIONS_SEARCH_SEEN, p, st);
        if (!*recent)
            return false;
        if (PQntuples(*recent) >= limit)
            return true;
        if (PQntuples(*recent) > 0)
            start = strtoll(PQgetvalue(*recent, 0, PQnfields(*recent) - 1), NULL, 10);
    }
    if (!start) {
        /* (Without a row of the first step to tell: rows written since it
         * ran are newer than the page and only move the floor up over rows
         * that step found nothing in.) */
        PGresult *m = db_exec(r->db, STMT_SUGGESTIONS_MAX_ID, NULL, st);
        if (!m)
            return false;
        start = strtoll(PQgetvalue(m, 0, 0), NULL, 10) + 1;
        PQclear(m);
    }
    long long floor = start > window ? start - window : 0;
    if (admin) {
        /* An admin sees every row: the newest ones in id order are the way. */
        p[2] = fmt_id(from, start);
        p[11] = fmt_id(to, floor);
        *recent = db_exec(r->db, STMT_SUGGESTIONS_SEARCH_RECENT, p, st);
        if (!*recent)
            return false;
    }
    long long got = PQntuples(*recent);
    if (got >= limit || floor <= 1)
        return true;
    p[2] = fmt_id(from, floor);
    p[9] = fmt_id(lim, limit - got);
    *older = db_exec(r->db, STMT_SUGGESTIONS_SEARCH, p, st);
    return *older != NULL;
}

enum handler_result suggestions_list(struct request *r)
{
    json_t *errors = json_array();
    const char *status = request_query(r, "status");
    if (status) {
        bool known = false;
        for (size_t i = 0; i < sizeof statuses / sizeof statuses[0]; i++)
            known |= !strcmp(status, statuses[i]);
        if (!known)
            json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                    "status: not a status"));
    }
    const char *names[] = { "unit", "category", "cursor", "limit" };
    long long nums[4] = { 0, 0, 0, LIST_PAGE_DEFAULT };
    for (int i = 0; i < 4; i++) {
        const char *s = request_query(r, names[i]);
        if (!s)
            continue;
        char *end;
        long long v = strtoll(s, &end, 10);
        if (!*s || *end || v <= 0 || (i == 3 && v > LIST_PAGE_MAX)) {
            char d[64];
            snprintf(d, sizeof d, "%s: expected %s", names[i],
                     i == 3 ? "1 to 100" : "a positive id");
            json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail", d));
        } else {
            nums[i] = v;
        }
    }
    const char *assignee = request_query(r, "assignee");
    if (assignee && strcmp(assignee, "me"))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "assignee: only \"me\" is supported"));
    const char *author = request_query(r, "author");
    if (author && strcmp(author, "me"))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "author: only \"me\" is supported"));
    const char *overdue = request_query(r, "overdue");
    if (overdue && strcmp(overdue, "true") && strcmp(overdue, "false"))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "overdue: true or false"));
    const char *q = request_query(r, "q");
    if (q && (!*q || strlen(q) > 200))
        json_array_append_new(errors, json_pack("{s:s, s:s}", "pointer", "", "detail",
                                                "q: 1 to 200 bytes"));
    if (json_array_size(errors))
        return reply_validation(r, errors);
    json_decref(errors);

    /* The caller: for a search, caller_load's account and admin flag; for
     * the list, the session itself, which the list statement checks and
     * touches as caller_load would, in the same round trip
     * (db/statements.c SESSION_LIST). */
    char acct[24], unit[24], cat[24], cur[24], lim[24], hash[HASH_HEX_CHARS + 1], ttl[16];
    const char *me, *admin;
    enum db_status st;
    if (q) {
        struct authz az;
        enum handler_result out;
        if (!caller_load(r, 0, &az, &out))
            return out;
        me = fmt_id(acct, az.account_id);
        admin = az.is_admin ? "true" : "false";
    } else {
        const char *token = session_bearer(r);
        if (!token)
            return reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);
        if (!request_db(r, &st))
            return reply_db_error(r, st);
        secret_hash_hex(token, hash);
        snprintf(ttl, sizeof ttl, "%u", r->cfg->session_ttl);
        me = hash;
        admin = ttl;
    }
    const char *params[] = {
        me, admin,
        nums[2] ? fmt_id(cur, nums[2]) : NULL, status,
        nums[0] ? fmt_id(unit, nums[0]) : NULL, nums[1] ? fmt_id(cat, nums[1]) : NULL,
        assignee ? "true" : "false", overdue && !strcmp(overdue, "true") ? "true" : "false",
        q, fmt_id(lim, nums[3]), author ? "true" : "false",
    };
    PGresult *res = NULL, *older = NULL;
    if (!q) {
        /* The cursor is never NULL here: the first page is below every id. */
        if (!params[2])
            params[2] = "9223372036854775807";
        res = db_exec(r->db, assignee ? STMT_SUGGESTIONS_LIST_ASSIGNED
                             : author ? STMT_SUGGESTIONS_LIST_AUTHORED
                                      : STMT_SUGGESTIONS_LIST,
                      params, &st);
        if (res && PQntuples(res) == 0) {
            PQclear(res);
            return reply_problem(r, PROBLEM_UNAUTHORIZED, "session expired or signed out");
        }
    } else if (!search(r, params, nums[2], nums[3], &res, &older, &st)) {
        PQclear(res);
        return reply_db_error(r, st);
    }
    if (!res)
        return reply_db_error(r, st);
    /* Written as text: building jansson objects for a page of rows only to
     * dump them was most of this endpoint's own time (docs/performance.md). */
    struct jsonw w = { 0 };
    JSONW_LIT(&w, "{\"items\":[");
    PGresult *parts[2] = { res, older };
    int n = 0;
    const PGresult *last = NULL;
    for (int k = 0; k < 2 && parts[k]; k++) {
        for (int i = 0; i < PQntuples(parts[k]); i++) {
            if (PQgetisnull(parts[k], i, 0))
                continue; /* the session's row of an empty page */
            if (n++)
                JSONW_LIT(&w, ",");
            suggestion_write(&w, parts[k], i, true);
            last = parts[k];
        }
    }
    JSONW_LIT(&w, "],\"next_cursor\":");
    if (n == nums[3]) {
        int i = PQntuples(last) - 1;
        jsonw_str(&w, PQgetvalue(last, i, 0), (size_t)PQgetlength(last, i, 0));
    } else {
        JSONW_LIT(&w, "null");
    }
    JSONW_LIT(&w, "}");
    PQclear(res);
    PQclear(older);
    size_t len;
    char *text = jsonw_finish(&w, &len);
    if (!text)
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    return reply_json_text(r, 200, text, len);
}

/* ------------------------------------------------------------------ */
/* the workflow                                                        */
/* ------------------------------------------------------------------ */

enum action { ACT_ACCEPT, ACT_WITHDRAW, ACT_ASSIGN, ACT_MERGE, ACT_REOPEN, ACT_MESSAGE,
              ACT_ANSWER, ACT_APPROVE, ACT_RATE, ACT_COSIGN };

struct action_ctx {
    struct request *r;
    enum action kind;
    long long account_id;
    /* the holder of a tracking code, or an anonymous co-signer: nobody */
    bool anonymous;
    const struct token *token;
    const char *public_id;
    /* validated inputs */
    long long assignee_id;
    const char *text, *reason, *decision, *visibility, *rating, *into;
    /* the locked row */
    long long id, unit_id, author_id, assignee, escalated_to;
    char status[16];
    bool reopened;
    struct rights g;
    /* a refusal */
    enum problem problem;
    char detail[200];
    bool refused;
};

/* Who the audit names: the account, or for the anonymous only that. */
static struct audit_entry action_actor(const struct action_ctx *a)
{
    if (a->anonymous)
        return (struct audit_entry){ .actor = AUDIT_ANONYMOUS };
    return actor_of(a->r, a->account_id);
}

static enum db_status refuse(struct action_ctx *a, enum problem p, const char *detail)
{
    a->refused = true;
    a->problem = p;
    snprintf(a->detail, sizeof a->detail, "%s", detail);
    return DB_ABORT;
}

/* A transition the database refused is a 409 naming the current status. */
static enum db_status transition(struct action_ctx *a, struct db_conn *c, const char *to,
                                 long long merged_into, const char *verb, json_t *extra)
{
    struct audit_entry actor = action_actor(a);
    enum db_status st = suggestion_transition(c, &actor, a->id, a->public_id, a->status, to,
                                              merged_into, verb, extra);
    if (st == DB_CONSTRAINT) {
        char d[200];
        snprintf(d, sizeof d, "cannot %s a suggestion that is %s", verb, a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    return st;
}

static enum db_status audit_simple(struct action_ctx *a, struct db_conn *c, const char *action,
                                   json_t *change)
{
    struct audit_entry actor = action_actor(a);
    return audit_change(c, &actor, action, "suggestion", a->public_id, change);
}

static enum db_status do_assign(struct action_ctx *a, struct db_conn *c)
{
    if (!a->g.manages)
        return refuse(a, PROBLEM_FORBIDDEN, "only a secretary of the unit reassigns");
    if (strcmp(a->status, "submitted") && strcmp(a->status, "accepted")) {
        char d[120];
        snprintf(d, sizeof d, "cannot assign a suggestion that is %s", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    char unit[24], who[24], sid[24];
    const char *pa[] = { fmt_id(unit, a->unit_id), fmt_id(who, a->assignee_id) };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_ASSIGNABLE, pa, &st);
    if (!res)
        return st;
    bool ok = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!ok)
        return refuse(a, PROBLEM_VALIDATION_FAILED,
                      "assignee_id: not a committee member or secretary of the unit or above");
    const char *ps[] = { fmt_id(sid, a->id), who };
    PQclear(db_exec(c, STMT_SUGGESTION_SET_ASSIGNEE, ps, &st));
    if (st != DB_OK)
        return st;
    st = suggestion_assignment_record(c, a->id, a->assignee_id, a->unit_id, a->reason,
                                      a->account_id, a->assignee, false);
    if (st != DB_OK)
        return st;
    json_t *before = a->assignee ? json_integer((json_int_t)a->assignee) : json_null();
    return audit_simple(a, c, "suggestion.assign",
                        json_pack("{s:{s:o}, s:{s:I, s:s}}", "before", "assignee_id", before,
                                  "after", "assignee_id", (json_int_t)a->assignee_id, "reason",
                                  a->reason));
}

static enum db_status do_merge(struct action_ctx *a, struct db_conn *c)
{
    if (!a->g.manages)
        return refuse(a, PROBLEM_FORBIDDEN, "only a secretary of the unit merges");
    if (!strcmp(a->into, a->public_id))
        return refuse(a, PROBLEM_VALIDATION_FAILED, "into: a suggestion cannot merge into itself");
    const char *pt[] = { a->into };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_SUGGESTION_LOCK, pt, &st);
    if (!res)
        return st;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return refuse(a, PROBLEM_VALIDATION_FAILED, "into: no such suggestion");
    }
    long long target = col_id(res, 0, 0), target_unit = col_id(res, 0, 2);
    bool open = !strcmp(PQgetvalue(res, 0, 1), "submitted") ||
                !strcmp(PQgetvalue(res, 0, 1), "accepted") ||
                !strcmp(PQgetvalue(res, 0, 1), "answered");
    PQclear(res);
    struct rights tg;
    st = rights_load(c, a->account_id, target_unit, 0, 0, 0, &tg);
    if (st != DB_OK)
        return st;
    if (!tg.manages)
        return refuse(a, PROBLEM_FORBIDDEN, "you do not manage the unit of the target");
    if (!open)
        return refuse(a, PROBLEM_CONFLICT, "the target is withdrawn, merged or published");

    json_t *extra = json_pack("{s:s}", "merged_into", a->into);
    st = transition(a, c, "merged", target, "merge", extra);
    json_decref(extra);
    if (st != DB_OK)
        return st;
    char sid[24], tid[24];
    const char *pm[] = { fmt_id(sid, a->id), fmt_id(tid, target) };
    PQclear(db_exec(c, STMT_COSIGNS_MOVE, pm, &st));
    if (st != DB_OK)
        return st;
    /* The author learns where it went, in the thread they can read. */
    char note[160];
    snprintf(note, sizeof note, "此意见已合并到 %s。This suggestion was merged into %s.", a->into,
             a->into);
    const char *pn[] = { sid, "system", NULL, "submitter", note };
    PQclear(db_exec(c, STMT_MESSAGE_INSERT, pn, &st));
    return st;
}

static enum db_status do_answer(struct action_ctx *a, struct db_conn *c)
{
    if (!can_handle(&a->g))
        return refuse(a, PROBLEM_FORBIDDEN, "only the assignee or a secretary answers");
    if (strcmp(a->status, "accepted")) {
        char d[120];
        snprintf(d, sizeof d, "cannot answer a suggestion that is %s (accept it first)", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    char sid[24], by[24], unit[24];
    const char *p[] = { fmt_id(sid, a->id), a->decision, a->reason, a->text,
                        fmt_id(by, a->account_id) };
    enum db_status st;
    PQclear(db_exec(c, STMT_ANSWER_UPSERT, p, &st));
    if (st != DB_OK)
        return st;
    st = audit_simple(a, c, "suggestion.draft_answer",
                      json_pack("{s:{s:s, s:s*}}", "after", "decision", a->decision, "reason",
                                a->reason));
    if (st != DB_OK)
        return st;
    const char *pu[] = { fmt_id(unit, a->unit_id) };
    PGresult *res = db_exec(c, STMT_UNIT_REQUIRES_APPROVAL, pu, &st);
    if (!res)
        return st;
    bool approval = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (approval) {
        struct notify_opts no = { .except = a->account_id };
        return notify_suggestion(c, NOTIFY_APPROVAL_NEEDED, a->id, &no);
    }
    json_t *extra = json_pack("{s:s}", "decision", a->decision);
    st = transition(a, c, "answered", 0, "answer", extra);
    json_decref(extra);
    return st;
}

static enum db_status do_approve(struct action_ctx *a, struct db_conn *c)
{
    if (!a->g.manages)
        return refuse(a, PROBLEM_FORBIDDEN, "only a secretary approves answers");
    if (strcmp(a->status, "accepted")) {
        char d[120];
        snprintf(d, sizeof d, "cannot approve an answer of a suggestion that is %s", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    char sid[24], by[24];
    const char *p[] = { fmt_id(sid, a->id), fmt_id(by, a->account_id) };
    enum db_status st;
    const char *pg[] = { sid };
    PGresult *res = db_exec(c, STMT_ANSWER_GET, pg, &st);
    if (!res)
        return st;
    bool drafted = PQntuples(res) == 1, approved = drafted && !PQgetisnull(res, 0, 6);
    long long drafter = drafted ? col_id(res, 0, 3) : 0;
    char decision[32] = "";
    if (drafted)
        snprintf(decision, sizeof decision, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (!drafted || approved)
        return refuse(a, PROBLEM_CONFLICT,
                      "there is no draft answer waiting for approval (status is accepted)");
    if (drafter == a->account_id)
        return refuse(a, PROBLEM_FORBIDDEN, "the drafter cannot approve their own answer");
    PQclear(db_exec(c, STMT_ANSWER_APPROVE, p, &st));
    if (st != DB_OK)
        return st;
    json_t *extra = json_pack("{s:s}", "decision", decision);
    st = transition(a, c, "answered", 0, "answer", extra);
    json_decref(extra);
    return st;
}

static enum db_status do_rate(struct action_ctx *a, struct db_conn *c)
{
    if (!a->g.author)
        return refuse(a, PROBLEM_FORBIDDEN, "only the author rates the answer");
    if (strcmp(a->status, "answered") && strcmp(a->status, "published")) {
        char d[120];
        snprintf(d, sizeof d, "cannot rate a suggestion that is %s", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    char sid[24];
    const char *p[] = { fmt_id(sid, a->id), a->reopened ? "1" : "0", a->rating,
                        a->anonymous ? "true" : "false" };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_RATING_INSERT, p, &st);
    if (res && PQntuples(res) == 0)
        st = DB_UNIQUE; /* rated already: no row, and no error logged */
    PQclear(res);
    if (st == DB_UNIQUE)
    {
        char d[120];
        snprintf(d, sizeof d, "this answer is rated already (status is %s)", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.rate", json_pack("{s:{s:s}}", "after", "rating",
                                                           a->rating));
}

static enum db_status do_reopen(struct action_ctx *a, struct db_conn *c)
{
    if (!a->g.author)
        return refuse(a, PROBLEM_FORBIDDEN, "only the author reopens");
    char sid[24];
    const char *p[] = { fmt_id(sid, a->id) };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_RATINGS_OF, p, &st);
    if (!res)
        return st;
    int n = PQntuples(res);
    bool unsatisfied = n && !strcmp(PQgetvalue(res, n - 1, 1), "unsatisfied") &&
                       atoi(PQgetvalue(res, n - 1, 0)) == (a->reopened ? 1 : 0);
    PQclear(res);
    if (strcmp(a->status, "answered")) {
        char d[120];
        snprintf(d, sizeof d, "cannot reopen a suggestion that is %s", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    if (a->reopened || !unsatisfied)
        return refuse(a, PROBLEM_CONFLICT, a->reopened
                      ? "a suggestion is reopened only once (status is answered)"
                      : "rate the answer \"unsatisfied\" first (status is answered)");
    return transition(a, c, "accepted", 0, "reopen", NULL);
}

static enum db_status do_message(struct action_ctx *a, struct db_conn *c)
{
    bool staff = a->g.committee || a->g.manages || a->g.assignee;
    const char *visibility = a->visibility ? a->visibility : "submitter";
    if (!staff && strcmp(visibility, "submitter"))
        return refuse(a, PROBLEM_FORBIDDEN, "internal messages are for the committee");
    char mid[24];
    enum db_status st = suggestion_message_add(c, a->id, staff ? "committee" : "submitter",
                                               a->anonymous ? 0 : a->account_id, visibility,
                                               a->text, a->anonymous, mid);
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.message",
                        json_pack("{s:{s:s, s:s}}", "after", "message_id", mid, "visibility",
                                  visibility));
}

static enum db_status do_anonymous_cosign(struct action_ctx *a, struct db_conn *c)
{
    if (!strcmp(a->status, "withdrawn") || !strcmp(a->status, "merged")) {
        char d[120];
        snprintf(d, sizeof d, "cannot co-sign a suggestion that is %s", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    enum db_status st = token_spend(c, a->token);
    if (st == DB_UNIQUE)
        return refuse(a, PROBLEM_TOKEN_SPENT, "the token was spent already");
    if (st != DB_OK)
        return st;
    char sid[24];
    const char *p[] = { fmt_id(sid, a->id) };
    PQclear(db_exec(c, STMT_ANON_COSIGN_INSERT, p, &st));
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.cosign", NULL);
}

static enum db_status do_cosign(struct action_ctx *a, struct db_conn *c)
{
    if (a->anonymous)
        return do_anonymous_cosign(a, c);
    if (a->g.author)
        return refuse(a, PROBLEM_CONFLICT, "authors do not co-sign their own suggestion");
    char acct[24], unit[24], sid[24];
    const char *pu[] = { fmt_id(acct, a->account_id), fmt_id(unit, a->unit_id) };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_SUBMIT_UNIT_ALLOWED, pu, &st);
    if (!res)
        return st;
    bool member = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!member)
        return refuse(a, PROBLEM_FORBIDDEN, "only members of the unit co-sign");
    if (!strcmp(a->status, "withdrawn") || !strcmp(a->status, "merged")) {
        char d[120];
        snprintf(d, sizeof d, "cannot co-sign a suggestion that is %s", a->status);
        return refuse(a, PROBLEM_CONFLICT, d);
    }
    const char *p[] = { fmt_id(sid, a->id), acct };
    PQclear(db_exec(c, STMT_COSIGN_INSERT, p, &st));
    if (st == DB_UNIQUE)
        return refuse(a, PROBLEM_CONFLICT, "you co-signed this already");
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.cosign", NULL);
}

static enum db_status action_tx(struct db_conn *c, void *arg)
{
    struct action_ctx *a = arg;
    a->refused = false;
    const char *p[] = { a->public_id };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_SUGGESTION_LOCK, p, &st);
    if (!res)
        return st;
    if (PQntuples(res) == 0) {
        PQclear(res);
        return refuse(a, PROBLEM_NOT_FOUND, "no such suggestion");
    }
    a->id = col_id(res, 0, 0);
    snprintf(a->status, sizeof a->status, "%s", PQgetvalue(res, 0, 1));
    a->unit_id = col_id(res, 0, 2);
    a->author_id = col_id(res, 0, 3);
    a->assignee = col_id(res, 0, 4);
    a->reopened = PQgetvalue(res, 0, 5)[0] == 't';
    a->escalated_to = col_id(res, 0, 6);
    PQclear(res);
    if (a->anonymous) {
        /* The holder of the tracking code is the author; an anonymous
         * co-signer is nobody at all. */
        memset(&a->g, 0, sizeof a->g);
        a->g.author = a->kind != ACT_COSIGN;
    } else {
        st = rights_load(c, a->account_id, a->unit_id, a->escalated_to, a->author_id,
                         a->assignee, &a->g);
        if (st != DB_OK)
            return st;
    }
    /* Co-signing needs membership, not the right to read the thread. */
    if (a->kind != ACT_COSIGN && !can_view(&a->g))
        return refuse(a, PROBLEM_NOT_FOUND, "no such suggestion");

    switch (a->kind) {
    case ACT_ACCEPT:
        if (!can_handle(&a->g))
            return refuse(a, PROBLEM_FORBIDDEN, "only the assignee or a secretary accepts");
        /* answered -> accepted is the author's reopen, not an accept. */
        if (strcmp(a->status, "submitted")) {
            char d[120];
            snprintf(d, sizeof d, "cannot accept a suggestion that is %s", a->status);
            return refuse(a, PROBLEM_CONFLICT, d);
        }
        return transition(a, c, "accepted", 0, "accept", NULL);
    case ACT_WITHDRAW:
        if (!a->g.author)
            return refuse(a, PROBLEM_FORBIDDEN, "only the author withdraws");
        return transition(a, c, "withdrawn", 0, "withdraw", NULL);
    case ACT_ASSIGN:
        return do_assign(a, c);
    case ACT_MERGE:
        return do_merge(a, c);
    case ACT_REOPEN:
        return do_reopen(a, c);
    case ACT_MESSAGE:
        return do_message(a, c);
    case ACT_ANSWER:
        return do_answer(a, c);
    case ACT_APPROVE:
        return do_approve(a, c);
    case ACT_RATE:
        return do_rate(a, c);
    case ACT_COSIGN:
        return do_cosign(a, c);
    }
    return DB_ERROR;
}

/* Runs a prepared action in its transaction and answers with the
 * suggestion as the caller now sees it. */
static enum handler_result finish_action(struct request *r, struct action_ctx *a, unsigned ok)
{
    a->r = r;
    enum db_status st = db_transaction(r->db, action_tx, a);
    if (st == DB_ABORT && a->refused) {
        if (a->problem == PROBLEM_VALIDATION_FAILED)
            return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "", "detail",
                                                 a->detail));
        return reply_problem(r, a->problem, a->detail);
    }
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_suggestion(r, ok, a->public_id, a->account_id,
                            a->anonymous && a->kind != ACT_COSIGN, NULL);
}

static enum handler_result run_action(struct request *r, struct action_ctx *a, unsigned ok)
{
    if (!public_id_ok(r->params[0]))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    a->account_id = az.account_id;
    a->public_id = r->params[0];
    return finish_action(r, a, ok);
}

/* ------------------------------------------------------------------ */
/* following with a tracking code                                      */
/* ------------------------------------------------------------------ */

#define TRACKING_THROTTLE_KEY "tracking:any"
/* Wrong codes, service-wide, before back-off: 128-bit codes cannot be
 * guessed, so this only blunts a flood, and it keeps no address. */
#define TRACKING_THROTTLE_FAILURES "1000"

/* The suggestion the request's "Authorization: Tracking CODE" follows.
 * false: a problem has been queued in *out. */
static bool tracked_suggestion(struct request *r, char public_id[PUBLIC_ID_CHARS + 1],
                               enum handler_result *out)
{
    r->anonymous = true;
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    const char *pk[] = { TRACKING_THROTTLE_KEY };
    PGresult *res = db_exec(r->db, STMT_THROTTLE_GET, pk, &st);
    if (!res) {
        *out = reply_db_error(r, st);
        return false;
    }
    int wait = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 0;
    PQclear(res);
    if (wait > 0) {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", wait);
        request_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
        *out = reply_problem(r, PROBLEM_TOO_MANY_ATTEMPTS, NULL);
        return false;
    }
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    char hash[65];
    bool found = false;
    if (h && strncasecmp(h, "Tracking ", 9) == 0 && tracking_code_hash(h + 9, hash)) {
        const char *p[] = { hash };
        res = db_exec(r->db, STMT_TRACKING_LOOKUP, p, &st);
        if (!res) {
            *out = reply_db_error(r, st);
            return false;
        }
        found = PQntuples(res) == 1;
        if (found)
            snprintf(public_id, PUBLIC_ID_CHARS + 1, "%s", PQgetvalue(res, 0, 0));
        PQclear(res);
    }
    if (!found) {
        if (h) {
            const char *pf[] = { TRACKING_THROTTLE_KEY, TRACKING_THROTTLE_FAILURES };
            PQclear(db_exec(r->db, STMT_THROTTLE_FAIL, pf, &st));
        }
        *out = reply_problem(r, PROBLEM_INVALID_TRACKING_CODE, NULL);
        return false;
    }
    return true;
}

static enum handler_result run_tracked(struct request *r, struct action_ctx *a, unsigned ok)
{
    char public_id[PUBLIC_ID_CHARS + 1];
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &out))
        return out;
    a->anonymous = true;
    a->account_id = 0;
    a->public_id = public_id;
    return finish_action(r, a, ok);
}

enum handler_result tracked_get(struct request *r)
{
    char public_id[PUBLIC_ID_CHARS + 1];
    enum handler_result out;
    if (!tracked_suggestion(r, public_id, &out))
        return out;
    return reply_suggestion(r, 200, public_id, 0, true, NULL);
}

enum handler_result suggestions_accept(struct request *r)
{
    struct action_ctx a = { .kind = ACT_ACCEPT };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_withdraw(struct request *r)
{
    struct action_ctx a = { .kind = ACT_WITHDRAW };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_reopen(struct request *r)
{
    struct action_ctx a = { .kind = ACT_REOPEN };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_approve(struct request *r)
{
    struct action_ctx a = { .kind = ACT_APPROVE };
    return run_action(r, &a, 200);
}

enum handler_result suggestions_cosign(struct request *r)
{
    struct action_ctx a = { .kind = ACT_COSIGN };
    if (!is_anonymous(r))
        return run_action(r, &a, 200);
    r->anonymous = true;
    if (!public_id_ok(r->params[0]))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such suggestion");
    struct token token;
    enum handler_result out;
    if (!token_accept(r, &token, &out))
        return out;
    a.anonymous = true;
    a.token = &token;
    a.public_id = r->params[0];
    out = finish_action(r, &a, 200);
    sodium_memzero(&token, sizeof token);
    return out;
}

enum handler_result suggestions_assign(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct action_ctx a = { .kind = ACT_ASSIGN };
    bool given;
    validate_id(&v, "assignee_id", true, false, &a.assignee_id, &given);
    a.reason = validate_string(&v, "reason", true, 1, 500);
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    return run_action(r, &a, 200);
}

enum handler_result suggestions_merge(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct action_ctx a = { .kind = ACT_MERGE };
    a.into = validate_string(&v, "into", true, 1, 16);
    if (a.into && !public_id_ok(a.into))
        validator_error(&v, "into", "must be a suggestion id like S-7K3Q9D");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    return run_action(r, &a, 200);
}

enum handler_result suggestions_message(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct action_ctx a = { .kind = ACT_MESSAGE };
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    a.visibility = validate_string(&v, "visibility", false, 1, 16);
    if (a.visibility && strcmp(a.visibility, "submitter") && strcmp(a.visibility, "internal"))
        validator_error(&v, "visibility", "must be submitter or internal");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    return run_action(r, &a, 201);
}

enum handler_result suggestions_answer(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct action_ctx a = { .kind = ACT_ANSWER };
    a.decision = validate_string(&v, "decision", true, 1, 32);
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    a.reason = validate_string(&v, "reason", false, 1, 2000);
    if (a.decision && strcmp(a.decision, "adopted") && strcmp(a.decision, "partly_adopted") &&
        strcmp(a.decision, "not_adopted") && strcmp(a.decision, "noted"))
        validator_error(&v, "decision", "must be adopted, partly_adopted, not_adopted or noted");
    else if (a.decision && !strcmp(a.decision, "not_adopted") && !a.reason)
        validator_error(&v, "reason", "is required when the decision is not_adopted");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    return run_action(r, &a, 200);
}

/* The body of a rating, named or tracked; false: 422 queued in *out. */
static bool rating_read(struct request *r, struct action_ctx *a, enum handler_result *out)
{
    struct validator v;
    validator_init(&v, r->json);
    a->rating = validate_string(&v, "rating", true, 1, 32);
    if (a->rating && strcmp(a->rating, "satisfied") && strcmp(a->rating, "basically_satisfied") &&
        strcmp(a->rating, "unsatisfied"))
        validator_error(&v, "rating", "must be satisfied, basically_satisfied or unsatisfied");
    if (validator_failed(&v)) {
        *out = validator_reply(r, &v);
        return false;
    }
    validator_cleanup(&v);
    return true;
}

enum handler_result suggestions_rate(struct request *r)
{
    struct action_ctx a = { .kind = ACT_RATE };
    enum handler_result out;
    if (!rating_read(r, &a, &out))
        return out;
    return run_action(r, &a, 200);
}

enum handler_result tracked_message(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    struct action_ctx a = { .kind = ACT_MESSAGE };
    r->anonymous = true;
    a.text = validate_string(&v, "body", true, 1, SUGGESTION_BODY_MAX_CHARS);
    validate_not_blank(&v, "body", a.text);
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    return run_tracked(r, &a, 201);
}

enum handler_result tracked_rate(struct request *r)
{
    struct action_ctx a = { .kind = ACT_RATE };
    enum handler_result out;
    r->anonymous = true;
    if (!rating_read(r, &a, &out))
        return out;
    return run_tracked(r, &a, 200);
}

enum handler_result tracked_withdraw(struct request *r)
{
    struct action_ctx a = { .kind = ACT_WITHDRAW };
    return run_tracked(r, &a, 200);
}

enum handler_result tracked_reopen(struct request *r)
{
    struct action_ctx a = { .kind = ACT_REOPEN };
    return run_tracked(r, &a, 200);
}
