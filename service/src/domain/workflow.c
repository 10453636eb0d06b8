/* The suggestion's workflow (domain/workflow.h): submission and every
 * step after it, each in one transaction that writes its audit row. */
#include "domain/workflow.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tokens.h"
#include "db/rows.h"
#include "domain/authz.h"
#include "domain/consultation_anon.h"
#include "domain/notify.h"
#include "domain/release.h"
#include "domain/suggestion_view.h"
#include "domain/units.h"

static char *fmt_id(char buf[24], long long v)
{
    snprintf(buf, 24, "%lld", v);
    return buf;
}

/* Who the audit names: the account with the request id, or for the
 * anonymous only that. */
static struct audit_entry actor_entry(const struct wf_actor *a)
{
    if (a->anonymous)
        return (struct audit_entry){ .actor = AUDIT_ANONYMOUS };
    return (struct audit_entry){ .actor = AUDIT_ACCOUNT, .actor_id = a->account_id,
                                 .request_id = a->request_id };
}

bool suggestion_public_id_ok(const char *s)
{
    if (!s || strlen(s) != PUBLIC_ID_CHARS || s[0] != 'S' || s[1] != '-')
        return false;
    for (int i = 2; i < PUBLIC_ID_CHARS; i++)
        if (!strchr(crockford32, s[i]) || !s[i])
            return false;
    return true;
}

/* ------------------------------------------------------------------ */
/* submission                                                          */
/* ------------------------------------------------------------------ */

struct submit_ctx {
    const struct wf_submission *s;
    long long unit_id;
    const char *portfolio;
    int ack_days, answer_days, grace_days;
    char scope[80];
    struct domain_result *out;
    /* A named submission: the unit and the category are checked in the
     * transaction's first pipeline (named_checks), not before it. */
    bool checks_in_tx;
    char pf[PORTFOLIO_NAME_MAX_CHARS * 4 + 1]; /* their portfolio */
    /* out */
    char public_id[PUBLIC_ID_CHARS + 1];
    unsigned replay_status; /* a stored answer to replay; 0 when new */
    struct notify_subject subj; /* the new row, as a notice tells of it */
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
        const struct wf_submission *s = k->s;
        const char *params[] = { k->public_id, fmt_id(unit, k->unit_id),
                                 fmt_id(cat, s->category_id), s->title, s->body,
                                 s->actor.anonymous ? NULL : fmt_id(author, s->actor.account_id),
                                 s->actor.anonymous ? "true" : "false",
                                 s->publish_name ? "true" : "false",
                                 assignee ? fmt_id(asg, assignee) : NULL, a, b, g };
        enum db_status st;
        memset(&k->subj, 0, sizeof k->subj);
        const struct db_field spec[] = { NOTIFY_SUBJECT_FIELDS(&k->subj), DB_END };
        if (db_one(c, STMT_SUGGESTION_INSERT, params, spec, &st) < 0)
            return st;
        *id = k->subj.id;
        if (*id)
            return DB_OK;
    }
    return DB_ERROR;
}

/* What the first pipeline of a named submission found of the stored
 * answer to its Idempotency-Key: answers as it was answered, or refuses
 * another body. Always DB_ABORT (the claim's no-op is rolled back). */
static enum db_status idem_replay(struct submit_ctx *k, const char *hash, bool unanswered,
                                  int status, json_t *replay)
{
    bool mismatch = strcmp(hash, k->s->request_hash) != 0;
    if (!mismatch && !unanswered) {
        k->replay_status = (unsigned)status;
        const char *id = json_string_value(json_object_get(replay, "id"));
        snprintf(k->public_id, sizeof k->public_id, "%s", id ? id : "");
    }
    if (mismatch)
        return domain_refuse(k->out, DOMAIN_INVALID, "",
                             "Idempotency-Key was used with another body");
    return DB_ABORT;
}

/* A named submission's first round trip, BEGIN with it: the key's claim
 * and its stored answer (with an Idempotency-Key), the category, whether
 * the member may address the unit, the routing lock and both candidates
 * of the unit. The statements run in order, so the candidates are read
 * under the lock; a refusal rolls the claim back. */
static enum db_status named_checks(struct db_conn *c, struct submit_ctx *k,
                                   struct route_result *route)
{
    const struct wf_submission *s = k->s;
    enum db_status st;
    char acct[24], unit[24], cat[24];
    fmt_id(acct, s->actor.account_id);
    fmt_id(unit, k->unit_id);
    fmt_id(cat, s->category_id);
    const char *claim[] = { k->scope, s->idem_key, s->request_hash };
    const char *get[] = { k->scope, s->idem_key };
    const char *pc[] = { unit, cat };
    const char *pu[] = { acct, unit };
    const char *pl[] = { unit };
    char hash[129] = "";
    int status = 0;
    bool unanswered = true;
    json_t *replay = NULL;
    const struct db_field get_spec[] = {
        DB_TEXT("request_hash", hash), DB_I32_N("status", &status),
        DB_ISNULL("status", &unanswered), DB_JSON_N("response", &replay), DB_END,
    };
    char pf[PORTFOLIO_NAME_MAX_CHARS * 4 + 1] = "";
    int ack_days = 0, answer_days = 0, grace_days = 0;
    bool allowed = true, unit_retired = false, category_open = true;
    const struct db_field cat_spec[] = {
        DB_TEXT("portfolio", pf), DB_I32("ack_days", &ack_days),
        DB_I32("answer_days", &answer_days), DB_I32("grace_days", &grace_days),
        DB_BOOL_N("unit_retired", &unit_retired), DB_ISNULL("retired_at", &category_open),
        DB_END,
    };
    const struct db_field allowed_spec[] = { DB_BOOL("allowed", &allowed), DB_END };
    long long who = 0, secretary = 0;
    const struct db_field committee_spec[] = { DB_I64("account_id", &who), DB_END };
    const struct db_field sec_spec[] = { DB_I64("account_id", &secretary), DB_END };
    struct db_query q[8];
    size_t n = 0, first = 0;
    if (s->idem_key) {
        q[n++] = (struct db_query){ .id = STMT_IDEMPOTENCY_CLAIM, .params = claim };
        q[n++] = (struct db_query){ .id = STMT_IDEMPOTENCY_GET, .params = get, .spec = get_spec };
        first = 2;
    }
    q[n++] = (struct db_query){ .id = STMT_CATEGORY_FOR_UNIT, .params = pc, .spec = cat_spec };
    q[n++] = (struct db_query){ .id = STMT_SUBMIT_UNIT_ALLOWED, .params = pu,
                                .spec = allowed_spec };
    q[n++] = (struct db_query){ .id = STMT_ROUTING_LOCK, .params = pl };
    q[n++] = (struct db_query){ .id = STMT_ROUTE_COMMITTEE_FOR_CATEGORY, .params = pc,
                                .spec = committee_spec };
    q[n++] = (struct db_query){ .id = STMT_ROUTE_SECRETARY, .params = pl, .spec = sec_spec };
    db_batch(c, n, q, &st);
    if (st != DB_OK) {
        json_decref(replay);
        return st;
    }
    /* The refusals of submit_prepare, in its order, before the key. */
    if (!allowed)
        st = domain_refuse(k->out, DOMAIN_INVALID, "/unit_id", "not a unit of yours or above yours");
    else if (q[first].rows == 0)
        st = domain_refuse(k->out, DOMAIN_INVALID, "/category_id", "not a category of that unit");
    else if (unit_retired)
        st = domain_refuse(k->out, DOMAIN_INVALID, "/unit_id", "the unit is retired");
    else if (!category_open)
        st = domain_refuse(k->out, DOMAIN_INVALID, "/category_id", "the category is retired");
    else if (s->idem_key && q[0].rows == 0) /* the first request with the key has committed */
        st = q[1].rows ? idem_replay(k, hash, unanswered, status, replay) : DB_ERROR;
    json_decref(replay);
    if (st != DB_OK)
        return st;
    snprintf(k->pf, sizeof k->pf, "%s", pf);
    k->portfolio = k->pf;
    k->ack_days = ack_days;
    k->answer_days = answer_days;
    k->grace_days = grace_days;
    return suggestion_route_with(c, k->unit_id, k->portfolio, who, secretary, route);
}

/* The start of a submission whose unit and category were checked before
 * its transaction (anonymous, held, released): the key's claim, the
 * token, the routing. */
static enum db_status submit_begin(struct db_conn *c, struct submit_ctx *k,
                                   struct route_result *route)
{
    enum db_status st;
    if (k->s->idem_key) {
        const char *claim[] = { k->scope, k->s->idem_key, k->s->request_hash };
        int claimed = db_one(c, STMT_IDEMPOTENCY_CLAIM, claim, NULL, &st);
        if (claimed < 0)
            return st;
        if (!claimed) {
            /* The first request with this key has committed (the claim
             * waited for it): answer as it was answered. */
            const char *get[] = { k->scope, k->s->idem_key };
            char hash[129];
            int status;
            bool unanswered;
            json_t *replay;
            const struct db_field spec[] = {
                DB_TEXT("request_hash", hash), DB_I32_N("status", &status),
                DB_ISNULL("status", &unanswered), DB_JSON_N("response", &replay), DB_END,
            };
            if (db_one(c, STMT_IDEMPOTENCY_GET, get, spec, &st) <= 0)
                return st == DB_OK ? DB_ERROR : st; /* the claim saw it: it is there */
            /* A replay rolls back the claim's no-op: nothing was written. */
            st = idem_replay(k, hash, unanswered, status, replay);
            json_decref(replay);
            return st;
        }
    }

    if (k->s->actor.anonymous && k->s->token) {
        st = token_spend(c, k->s->token);
        if (st == DB_UNIQUE)
            return domain_refuse(k->out, DOMAIN_TOKEN_SPENT, NULL, NULL);
        if (st != DB_OK)
            return st;
    }

    return suggestion_route(c, k->unit_id, k->portfolio, route);
}

static enum db_status submit_tx(struct db_conn *c, void *arg)
{
    struct submit_ctx *k = arg;
    k->replay_status = 0;
    k->out->outcome = DOMAIN_OK;
    enum db_status st;
    struct route_result route;

    st = k->checks_in_tx ? named_checks(c, k, &route) : submit_begin(c, k, &route);
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
                                      0, k->s->actor.anonymous, &k->subj);
    if (st != DB_OK)
        return st;

    if (k->s->actor.anonymous) {
        char code[TRACKING_CODE_CHARS + 1], hash[65];
        if (k->s->tracking_hash) { /* released: spent at arrival */
            snprintf(hash, sizeof hash, "%s", k->s->tracking_hash);
        } else {
            tracking_code_from_output(k->s->token->output, code);
            tracking_code_hash(code, hash);
            sodium_memzero(code, sizeof code);
        }
        const char *pt[] = { hash, sid };
        st = db_run(c, STMT_TRACKING_INSERT, pt, NULL);
        if (st != DB_OK)
            return st;
    }
    /* Built after the last statement that can fail before it is handed
     * on: a failed tracking insert once leaked it on every retry. */
    json_t *change = json_pack("{s:{s:s, s:I, s:I, s:s, s:b, s:o, s:s}}", "after", "status",
                               "submitted", "unit_id", (json_int_t)k->unit_id, "category_id",
                               (json_int_t)k->s->category_id, "title", k->s->title, "publish_name",
                               k->s->publish_name, "assignee_id",
                               route.assignee_id ? json_integer((json_int_t)route.assignee_id)
                                                 : json_null(),
                               "routing", route.reason);
    struct audit_entry e = actor_entry(&k->s->actor);
    st = audit_change(c, &e, "suggestion.submit", "suggestion", k->public_id, change);
    if (st != DB_OK)
        return st;

    if (k->s->idem_key) {
        /* The replayed answer: what a retry needs to find its suggestion. */
        json_t *stored = json_pack("{s:s, s:s}", "id", k->public_id, "status", "submitted");
        char *text = json_dumps(stored, JSON_COMPACT);
        json_decref(stored);
        const char *ps[] = { k->scope, k->s->idem_key, "201", text };
        /* Nothing reads it back: it goes with the COMMIT. */
        st = text ? db_exec_later(c, STMT_IDEMPOTENCY_STORE, ps) : DB_ERROR;
        free(text);
    }
    return st;
}

/* The unit s is addressed to: the one given, or the member's own branch
 * when there is exactly one. false: refused or failed, as out says. */
static bool submit_unit(struct db_conn *c, const struct wf_submission *s, long long *unit_id,
                        struct domain_result *out)
{
    *unit_id = s->unit_id;
    if (*unit_id)
        return true;
    char acct[24];
    const char *p[] = { fmt_id(acct, s->actor.account_id) };
    long long only = 0;
    enum db_status st;
    const struct db_field spec[] = { DB_I64("unit_id", &only), DB_END };
    long long n = db_each(c, STMT_DEFAULT_UNITS, p, spec, NULL, NULL, &st);
    if (!domain_settle(out, n < 0 ? st : DB_OK))
        return false;
    if (n == 1)
        *unit_id = only;
    if (!*unit_id) {
        domain_refuse(out, DOMAIN_INVALID, "/unit_id",
                      "say which unit: you belong to none or several");
        return false;
    }
    return true;
}

/* The checks before the transaction (the unit, the category), filling k;
 * portfolio is k's buffer. false: refused or failed, as out says. */
static bool submit_prepare(struct db_conn *c, const struct wf_submission *s,
                           struct submit_ctx *k, char *portfolio, size_t portfolio_len,
                           struct domain_result *out)
{
    enum db_status st;
    char acct[24], unit[24], cat[24];
    fmt_id(acct, s->actor.account_id);
    long long unit_id;
    if (!submit_unit(c, s, &unit_id, out))
        return false;
    fmt_id(unit, unit_id);
    /* Whether the member may address the unit, and the category: one
     * round trip (the token paid for an anonymous one: only the category). */
    bool anonymous = s->actor.anonymous;
    const char *pu[] = { acct, unit };
    const char *pc[] = { unit, fmt_id(cat, s->category_id) };
    char pf[PORTFOLIO_NAME_MAX_CHARS * 4 + 1];
    int ack_days, answer_days, grace_days;
    bool allowed = true, unit_retired = false, category_open = true;
    const struct db_field cat_spec[] = {
        DB_TEXT("portfolio", pf), DB_I32("ack_days", &ack_days),
        DB_I32("answer_days", &answer_days), DB_I32("grace_days", &grace_days),
        DB_BOOL_N("unit_retired", &unit_retired), DB_ISNULL("retired_at", &category_open),
        DB_END,
    };
    const struct db_field allowed_spec[] = { DB_BOOL("allowed", &allowed), DB_END };
    struct db_query q[] = {
        { .id = STMT_CATEGORY_FOR_UNIT, .params = pc, .spec = cat_spec },
        { .id = STMT_SUBMIT_UNIT_ALLOWED, .params = pu, .spec = allowed_spec },
    };
    db_batch(c, anonymous ? 1 : 2, q, &st);
    if (!domain_settle(out, st))
        return false;
    if (!allowed) {
        domain_refuse(out, DOMAIN_INVALID, "/unit_id", "not a unit of yours or above yours");
        return false;
    }
    if (q[0].rows == 0) {
        domain_refuse(out, DOMAIN_INVALID, "/category_id", "not a category of that unit");
        return false;
    }
    /* Retired (sql/0024): kept for the history, closed to new suggestions. */
    if (unit_retired || !category_open) {
        if (unit_retired)
            domain_refuse(out, DOMAIN_INVALID, "/unit_id", "the unit is retired");
        else
            domain_refuse(out, DOMAIN_INVALID, "/category_id", "the category is retired");
        return false;
    }
    snprintf(portfolio, portfolio_len, "%s", pf);
    *k = (struct submit_ctx){
        .s = s, .unit_id = unit_id, .portfolio = portfolio, .ack_days = ack_days,
        .answer_days = answer_days, .grace_days = grace_days, .out = out,
    };
    if (s->idem_key) {
        /* The same key with another body is a client bug, not a retry. An
         * anonymous retry is scoped by its token, not by a person. */
        if (anonymous)
            snprintf(k->scope, sizeof k->scope, "token:%s", s->token->spent_hex);
        else
            snprintf(k->scope, sizeof k->scope, "account:%lld", s->actor.account_id);
    }
    return true;
}

void workflow_submit_view(struct db_conn *c, const struct wf_submission *s,
                          char public_id[PUBLIC_ID_CHARS + 1], unsigned *status, json_t **view,
                          struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    public_id[0] = '\0';
    *status = 0;
    if (view)
        *view = NULL;
    char portfolio[PORTFOLIO_NAME_MAX_CHARS * 4 + 1];
    struct submit_ctx k;
    if (s->actor.anonymous) {
        if (!submit_prepare(c, s, &k, portfolio, sizeof portfolio, out))
            return;
    } else {
        /* Named: the unit and the category are checked in the
         * transaction's first round trip (named_checks). */
        long long unit_id;
        if (!submit_unit(c, s, &unit_id, out))
            return;
        k = (struct submit_ctx){ .s = s, .unit_id = unit_id, .out = out, .checks_in_tx = true };
        if (s->idem_key)
            snprintf(k.scope, sizeof k.scope, "account:%lld", s->actor.account_id);
    }
    /* The answer is read with the COMMIT, in its pipeline. */
    struct db_query q[SUGGESTION_VIEW_READS];
    struct view_reads *v = view ? suggestion_view_reads(k.public_id, s->actor.account_id,
                                                        s->actor.anonymous, q)
                                : NULL;
    enum db_status st = v ? db_transaction_batch(c, submit_tx, &k, SUGGESTION_VIEW_READS, q)
                          : db_transaction(c, submit_tx, &k);
    if (st == DB_ABORT && k.replay_status) {
        suggestion_view_free(v);
        *status = k.replay_status;
        snprintf(public_id, PUBLIC_ID_CHARS + 1, "%s", k.public_id);
        return;
    }
    if (!domain_settle(out, st)) {
        suggestion_view_free(v);
        return;
    }
    *status = 201;
    snprintf(public_id, PUBLIC_ID_CHARS + 1, "%s", k.public_id);
    if (v)
        *view = suggestion_view_finish(v, out);
}

void workflow_submit(struct db_conn *c, const struct wf_submission *s,
                     char public_id[PUBLIC_ID_CHARS + 1], unsigned *status,
                     struct domain_result *out)
{
    workflow_submit_view(c, s, public_id, status, NULL, out);
}

/* ------------------------------------------------------------------ */
/* the release window: holding an anonymous submission, replaying it   */
/* ------------------------------------------------------------------ */

struct hold_ctx {
    const struct wf_submission *s;
    const unsigned char *master;
    unsigned window;
    char tracking_hash[65], lookup[RELEASE_LOOKUP_HEX];
    struct domain_result *out;
    long long release_at; /* out */
};

/* The window's end of the submission held under k->lookup, or 0. */
static enum db_status held_submission(struct db_conn *c, struct hold_ctx *k, long long *at)
{
    enum db_status st;
    json_t *held = release_held(c, k->master, k->lookup, &st);
    if (!held)
        return st;
    size_t i;
    json_t *act;
    *at = 0;
    json_array_foreach(held, i, act) {
        if (!strcmp(json_string_value(json_object_get(act, "kind")) ? json_string_value(json_object_get(act, "kind")) : "", "submit"))
            *at = (long long)json_integer_value(json_object_get(act, "release_at"));
    }
    json_decref(held);
    return DB_OK;
}

static enum db_status hold_tx(struct db_conn *c, void *arg)
{
    struct hold_ctx *k = arg;
    k->out->outcome = DOMAIN_OK;
    enum db_status st = token_spend(c, k->s->token);
    if (st == DB_UNIQUE) {
        /* A retry of a held submission (its token, its code) gets the
         * same answer; any other spent token is refused. */
        st = held_submission(c, k, &k->release_at);
        if (st != DB_OK)
            return st;
        return k->release_at ? DB_ABORT
                             : domain_refuse(k->out, DOMAIN_TOKEN_SPENT, NULL, NULL);
    }
    if (st != DB_OK)
        return st;
    json_t *act = json_pack("{s:s, s:I, s:I, s:s, s:s, s:s}", "kind", "submit", "unit_id",
                            (json_int_t)k->s->unit_id, "category_id",
                            (json_int_t)k->s->category_id, "title", k->s->title, "body",
                            k->s->body, "tracking_hash", k->tracking_hash);
    if (!act)
        return DB_ERROR;
    st = release_hold(c, k->master, k->window, k->lookup, act, &k->release_at);
    json_decref(act);
    return st;
}

void workflow_hold_submission(struct db_conn *c, const struct wf_submission *s,
                              const unsigned char *master, unsigned window,
                              long long *release_at, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    *release_at = 0;
    /* The unit and the category are checked now: a submission that would
     * be refused is refused at once, not dropped at release. */
    char portfolio[PORTFOLIO_NAME_MAX_CHARS * 4 + 1];
    struct submit_ctx prep;
    if (!submit_prepare(c, s, &prep, portfolio, sizeof portfolio, out))
        return;
    struct hold_ctx k = { .s = s, .master = master, .window = window, .out = out };
    char code[TRACKING_CODE_CHARS + 1];
    tracking_code_from_output(s->token->output, code);
    tracking_code_hash(code, k.tracking_hash);
    sodium_memzero(code, sizeof code);
    release_lookup(master, k.tracking_hash, k.lookup);
    enum db_status st = db_transaction(c, hold_tx, &k);
    if (st == DB_ABORT && k.release_at) {
        *release_at = k.release_at;
        return;
    }
    if (!domain_settle(out, st))
        return;
    *release_at = k.release_at;
}

static enum db_status replay_step(struct db_conn *c, json_t *act, const char *kind);

enum db_status workflow_replay(struct db_conn *c, json_t *act, void *arg)
{
    (void)arg;
    const char *kind = json_string_value(json_object_get(act, "kind"));
    if (!kind)
        return DB_ABORT;
    if (consultation_act_kind(kind))
        return consultation_replay(c, act);
    if (strcmp(kind, "submit"))
        return replay_step(c, act, kind);
    struct wf_submission s = {
        .actor = { .anonymous = true },
        .unit_id = (long long)json_integer_value(json_object_get(act, "unit_id")),
        .category_id = (long long)json_integer_value(json_object_get(act, "category_id")),
        .title = json_string_value(json_object_get(act, "title")),
        .body = json_string_value(json_object_get(act, "body")),
        .tracking_hash = json_string_value(json_object_get(act, "tracking_hash")),
    };
    if (!s.title || !s.body || !s.tracking_hash || strlen(s.tracking_hash) != 64 || !s.unit_id)
        return DB_ABORT;
    struct domain_result out = { .outcome = DOMAIN_OK };
    char portfolio[PORTFOLIO_NAME_MAX_CHARS * 4 + 1];
    struct submit_ctx k;
    /* The category may have gone meanwhile: then it is refused and dropped. */
    if (!submit_prepare(c, &s, &k, portfolio, sizeof portfolio, &out))
        return out.outcome == DOMAIN_DB ? out.st : DB_ABORT;
    return submit_tx(c, &k);
}

/* ------------------------------------------------------------------ */
/* the steps after submission                                          */
/* ------------------------------------------------------------------ */

/* A suggestion's row as suggestion_lock reads it, FOR UPDATE. */
struct locked_row {
    long long id, unit_id, author_id, assignee_id, escalated_to;
    char status[16];
    bool reopened;
};

/* 1 and *r when public_id exists, 0 when not, -1 on failure (*st). */
static int lock_suggestion(struct db_conn *c, const char *public_id, struct locked_row *r,
                           enum db_status *st)
{
    memset(r, 0, sizeof *r);
    const struct db_field spec[] = {
        DB_I64("id", &r->id), DB_TEXT("status", r->status), DB_I64("unit_id", &r->unit_id),
        DB_I64_N("author_id", &r->author_id), DB_I64_N("assignee_id", &r->assignee_id),
        DB_BOOL("reopened", &r->reopened), DB_I64_N("escalated_to", &r->escalated_to), DB_END,
    };
    const char *p[] = { public_id };
    return db_one(c, STMT_SUGGESTION_LOCK, p, spec, st);
}

struct action_ctx {
    const struct wf_action *in;
    struct domain_result *out;
    /* the locked row */
    long long id, unit_id, author_id, assignee, escalated_to;
    char status[16];
    bool reopened;
    struct authz_suggestion g;
    bool replayed; /* the Idempotency-Key had been used: nothing done */
    /* read in the lock's pipeline (step_tx): what a notice says of it,
     * and what the step asks besides */
    struct notify_subject subj;
    bool assignable, made_by, unapproved;
    long long msg_total, msg_mine, drafter;
    long long answers; /* rows of the draft */
    char decision[32];
    int last_round;
    char last_rating[32];
    bool cosign_member;
    /* merge: the target's row, locked, and the actor's facts in its unit */
    struct locked_row target;
    long long target_rows;
    struct authz_facts target_unit, target_esc;
    struct notify_subject target_subj;
};

static enum db_status refuse(struct action_ctx *a, enum domain_outcome o, const char *detail)
{
    return domain_refuse(a->out, o, "", detail);
}

/* A transition the database refused is a 409 naming the current status. */
static enum db_status transition(struct action_ctx *a, struct db_conn *c, const char *to,
                                 long long merged_into, const char *verb, json_t *extra)
{
    struct audit_entry actor = actor_entry(&a->in->actor);
    enum db_status st = suggestion_transition(c, &actor, a->id, a->in->public_id, a->status, to,
                                              merged_into, verb, extra, &a->subj);
    if (st == DB_CONSTRAINT) {
        char d[200];
        snprintf(d, sizeof d, "cannot %s a suggestion that is %s", verb, a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    return st;
}

static enum db_status audit_simple(struct action_ctx *a, struct db_conn *c, const char *action,
                                   json_t *change)
{
    struct audit_entry actor = actor_entry(&a->in->actor);
    return audit_change(c, &actor, action, "suggestion", a->in->public_id, change);
}

static enum db_status do_assign(struct action_ctx *a, struct db_conn *c)
{
    if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_MANAGE))
        return refuse(a, DOMAIN_FORBIDDEN, "only a secretary of the unit reassigns");
    if (strcmp(a->status, "submitted") && strcmp(a->status, "accepted")) {
        char d[120];
        snprintf(d, sizeof d, "cannot assign a suggestion that is %s", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    char who[24], sid[24];
    /* assignable_for was read in the lock's pipeline. */
    if (!a->assignable)
        return refuse(a, DOMAIN_INVALID,
                      "assignee_id: not a committee member or secretary of the unit or above");
    const char *ps[] = { fmt_id(sid, a->id), fmt_id(who, a->in->assignee_id) };
    /* Nothing reads these writes back: they go with the COMMIT. */
    enum db_status st = db_exec_later(c, STMT_SUGGESTION_SET_ASSIGNEE, ps);
    if (st != DB_OK)
        return st;
    a->subj.assignee_id = a->in->assignee_id;
    st = suggestion_assignment_record(c, a->id, a->in->assignee_id, a->unit_id, a->in->reason,
                                      a->in->actor.account_id, a->assignee, false, &a->subj);
    if (st != DB_OK)
        return st;
    json_t *before = a->assignee ? json_integer((json_int_t)a->assignee) : json_null();
    return audit_simple(a, c, "suggestion.assign",
                        json_pack("{s:{s:o}, s:{s:I, s:s}}", "before", "assignee_id", before,
                                  "after", "assignee_id", (json_int_t)a->in->assignee_id, "reason",
                                  a->in->reason));
}

static enum db_status do_merge(struct action_ctx *a, struct db_conn *c)
{
    if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_MANAGE))
        return refuse(a, DOMAIN_FORBIDDEN, "only a secretary of the unit merges");
    if (!strcmp(a->in->into, a->in->public_id))
        return refuse(a, DOMAIN_INVALID, "into: a suggestion cannot merge into itself");
    enum db_status st;
    /* The target was locked, and the actor's facts in its unit read, in
     * the lock's pipeline. */
    const struct locked_row *t = &a->target;
    if (a->target_rows == 0)
        return refuse(a, DOMAIN_INVALID, "into: no such suggestion");
    long long target = t->id;
    bool open = !strcmp(t->status, "submitted") || !strcmp(t->status, "accepted") ||
                !strcmp(t->status, "answered");
    struct authz tu = { 0 };
    authz_from_facts(&a->target_unit, &tu);
    struct authz_suggestion tg;
    authz_suggestion_from(a->in->actor.account_id, 0, 0, &tu, NULL, &tg);
    if (!authz_suggestion_allows(&tg, AUTHZ_SUGGESTION_MANAGE))
        return refuse(a, DOMAIN_FORBIDDEN, "you do not manage the unit of the target");
    if (!open)
        return refuse(a, DOMAIN_CONFLICT, "the target is withdrawn, merged or published");

    json_t *extra = json_pack("{s:s}", "merged_into", a->in->into);
    st = transition(a, c, "merged", target, "merge", extra);
    json_decref(extra);
    if (st != DB_OK)
        return st;
    char sid[24], tid[24];
    const char *pm[] = { fmt_id(sid, a->id), fmt_id(tid, target) };
    /* Nothing reads these back: they go with the COMMIT. */
    st = db_exec_later(c, STMT_COSIGNS_MOVE, pm);
    if (st != DB_OK)
        return st;
    /* The author learns where it went, in the thread they can read. */
    char note[160];
    snprintf(note, sizeof note, "此意见已合并到 %s。This suggestion was merged into %s.",
             a->in->into,
             a->in->into);
    const char *pn[] = { sid, "system", NULL, "submitter", note };
    return db_exec_later(c, STMT_MESSAGE_INSERT, pn);
}

/* The cooling-off period of the two-person rule, for this transaction's
 * checks in the schema (sql/0020: account_made_by). */
static enum db_status set_cooling_off(struct action_ctx *a, struct db_conn *c)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%u", a->in->approval_cooling_off);
    const char *p[] = { secs };
    return db_exec_later(c, STMT_APPROVAL_COOLING_OFF_SET, p);
}

/* The approvers of a draft, as an array literal "{1,2}" (notify.h). */
struct approvers {
    long long id;
    char list[1024];
};

static enum db_status approver_row(void *cls, size_t row)
{
    struct approvers *x = cls;
    size_t used = strlen(x->list);
    char one[24];
    int n = snprintf(one, sizeof one, "%s%lld", row ? "," : "", x->id);
    /* as many as fit whole: a unit has a handful of secretaries */
    if (n > 0 && (size_t)n < sizeof x->list - used - 1)
        memcpy(x->list + used, one, (size_t)n + 1);
    return DB_OK;
}

static enum db_status do_answer(struct action_ctx *a, struct db_conn *c)
{
    if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_HANDLE))
        return refuse(a, DOMAIN_FORBIDDEN, "only the assignee or a secretary answers");
    if (strcmp(a->status, "accepted")) {
        char d[120];
        snprintf(d, sizeof d, "cannot answer a suggestion that is %s (accept it first)", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    char sid[24], by[24], unit[24];
    const char *p[] = { fmt_id(sid, a->id), a->in->decision, a->in->reason, a->in->text,
                        fmt_id(by, a->in->actor.account_id) };
    /* The draft, its audit row and the cooling-off go ahead of the
     * questions below, in their pipeline. */
    enum db_status st = db_exec_later(c, STMT_ANSWER_UPSERT, p);
    if (st != DB_OK)
        return st;
    st = audit_simple(a, c, "suggestion.draft_answer",
                      json_pack("{s:{s:s, s:s*}}", "after", "decision", a->in->decision, "reason",
                                a->in->reason));
    if (st != DB_OK)
        return st;
    /* Whether this drafter's answer waits for an approval: the unit asks
     * for one, or its waiver was made by the drafter or by an account the
     * drafter made (sql/0020, which holds every writer to the same). In
     * one round trip: the question, who would approve, and the answer
     * given at once when no approval is needed (its own statement asks
     * the same rule, so exactly one of the two takes effect). */
    if ((st = set_cooling_off(a, c)) != DB_OK)
        return st;
    const char *pu[] = { fmt_id(unit, a->unit_id), by };
    const char *pd[] = { sid, unit, by };
    bool approval = true;
    struct approvers who = { .list = "{" };
    const struct db_field spec[] = { DB_BOOL("needs_approval", &approval), DB_END };
    const struct db_field who_spec[] = { DB_I64("account_id", &who.id), DB_END };
    struct db_query q[] = {
        { .id = STMT_UNIT_REQUIRES_APPROVAL, .params = pu, .spec = spec },
        { .id = STMT_NOTIFY_APPROVERS, .params = pu, .spec = who_spec, .fn = approver_row,
          .cls = &who },
        { .id = STMT_SUGGESTION_ANSWER_DIRECT, .params = pd },
    };
    db_batch(c, 3, q, &st);
    if (st != DB_OK)
        return st;
    if (approval) {
        strcat(who.list, "}");
        struct notify_opts no = { .except = a->in->actor.account_id, .approvers = who.list };
        return notify_suggestion_about(c, NOTIFY_APPROVAL_NEEDED, &a->subj, &no);
    }
    if (q[2].rows == 0) {
        char d[200]; /* as transition() words it */
        snprintf(d, sizeof d, "cannot %s a suggestion that is %s", "answer", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    struct audit_entry actor = actor_entry(&a->in->actor);
    json_t *extra = json_pack("{s:s}", "decision", a->in->decision);
    st = suggestion_transition_record(c, &actor, a->id, a->in->public_id, a->status, "answered",
                                      "answer", extra, &a->subj);
    json_decref(extra);
    return st;
}

static enum db_status do_approve(struct action_ctx *a, struct db_conn *c)
{
    if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_MANAGE))
        return refuse(a, DOMAIN_FORBIDDEN, "only a secretary approves answers");
    if (strcmp(a->status, "accepted")) {
        char d[120];
        snprintf(d, sizeof d, "cannot approve an answer of a suggestion that is %s", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    /* The draft, and whether its drafter made the approver's account
     * (the cooling-off set first), were read in the lock's pipeline. */
    bool approved = a->answers && !a->unapproved;
    if (!a->answers || approved)
        return refuse(a, DOMAIN_CONFLICT,
                      "there is no draft answer waiting for approval (status is accepted)");
    if (a->drafter == a->in->actor.account_id)
        return refuse(a, DOMAIN_FORBIDDEN, "the drafter cannot approve their own answer");
    /* Nor can an account the drafter created or gave a new activation code
     * within the cooling-off period: a puppet, or a peer taken over. */
    if (a->made_by)
        return refuse(a, DOMAIN_FORBIDDEN,
                      "the drafter created or reset your account recently: someone else must approve");
    char sid[24], by[24];
    const char *p[] = { fmt_id(sid, a->id), fmt_id(by, a->in->actor.account_id) };
    /* The row is locked and the draft unapproved: nothing reads it back. */
    enum db_status st = db_exec_later(c, STMT_ANSWER_APPROVE, p);
    if (st != DB_OK)
        return st;
    json_t *extra = json_pack("{s:s}", "decision", a->decision);
    st = transition(a, c, "answered", 0, "answer", extra);
    json_decref(extra);
    return st;
}

static enum db_status do_rate(struct action_ctx *a, struct db_conn *c)
{
    if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_AUTHOR))
        return refuse(a, DOMAIN_FORBIDDEN, "only the author rates the answer");
    if (strcmp(a->status, "answered") && strcmp(a->status, "published")) {
        char d[120];
        snprintf(d, sizeof d, "cannot rate a suggestion that is %s", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    char sid[24];
    const char *p[] = { fmt_id(sid, a->id), a->reopened ? "1" : "0", a->in->rating,
                        a->in->actor.anonymous ? "true" : "false" };
    long long rows = 0;
    enum db_status st = db_run(c, STMT_RATING_INSERT, p, &rows);
    if (st == DB_OK && rows == 0)
        st = DB_UNIQUE; /* rated already: no row, and no error logged */
    if (st == DB_UNIQUE)
    {
        char d[120];
        snprintf(d, sizeof d, "this answer is rated already (status is %s)", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.rate", json_pack("{s:{s:s}}", "after", "rating",
                                                           a->in->rating));
}

static enum db_status do_reopen(struct action_ctx *a, struct db_conn *c)
{
    if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_AUTHOR))
        return refuse(a, DOMAIN_FORBIDDEN, "only the author reopens");
    /* The last rating (by round) is the one that counts; read in the
     * lock's pipeline. */
    bool unsatisfied = a->last_round >= 0 && !strcmp(a->last_rating, "unsatisfied") &&
                       a->last_round == (a->reopened ? 1 : 0);
    if (strcmp(a->status, "answered")) {
        char d[120];
        snprintf(d, sizeof d, "cannot reopen a suggestion that is %s", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    if (a->reopened || !unsatisfied)
        return refuse(a, DOMAIN_CONFLICT, a->reopened
                      ? "a suggestion is reopened only once (status is answered)"
                      : "rate the answer \"unsatisfied\" first (status is answered)");
    return transition(a, c, "accepted", 0, "reopen", NULL);
}

/* MESSAGES_PER_SUGGESTION and MESSAGES_PER_DAY (workflow_configure). */
static unsigned messages_per_suggestion = 200, messages_per_day = 50;

void workflow_configure(const struct config *cfg)
{
    messages_per_suggestion = cfg->messages_per_suggestion;
    messages_per_day = cfg->messages_per_day;
}

/* A thread has a length, and one writer a pace: 300 messages of 5,000
 * characters made every view of a suggestion 4.5 MB (issue 22). The
 * suggestion's row is locked, so two messages at once are counted in
 * turn. The writer is the account, or for the holder of a tracking code
 * the anonymous submitter (whose messages keep only their hour). */
static enum db_status check_message_limits(struct action_ctx *a, struct db_conn *c)
{
    (void)c;
    /* Counted in the lock's pipeline (message_counts_for). */
    long long all = a->msg_total, mine = a->msg_mine;
    char d[200];
    if (all >= (long long)messages_per_suggestion) {
        snprintf(d, sizeof d, "the thread holds %lld messages; MESSAGES_PER_SUGGESTION allows %u",
                 all, messages_per_suggestion);
        return domain_refuse(a->out, DOMAIN_INVALID, "", d);
    }
    if (mine >= (long long)messages_per_day) {
        snprintf(d, sizeof d, "%lld messages to this suggestion in the last 24 hours; "
                 "MESSAGES_PER_DAY allows %u", mine, messages_per_day);
        enum db_status r = domain_refuse(a->out, DOMAIN_THROTTLED, NULL, d);
        a->out->retry_after = 3600;
        return r;
    }
    return DB_OK;
}

static enum db_status do_message(struct action_ctx *a, struct db_conn *c)
{
    bool staff = authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_STAFF);
    const char *visibility = a->in->visibility ? a->in->visibility : "submitter";
    if (!staff && strcmp(visibility, "submitter"))
        return refuse(a, DOMAIN_FORBIDDEN, "internal messages are for the committee");
    enum db_status lim = check_message_limits(a, c);
    if (lim != DB_OK)
        return lim;
    char mid[24];
    const struct wf_actor *who = &a->in->actor;
    enum db_status st = suggestion_message_add(c, a->id, staff ? "committee" : "submitter",
                                               who->anonymous ? 0 : who->account_id, visibility,
                                               a->in->text, who->anonymous, mid, &a->subj);
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.message",
                        json_pack("{s:{s:s, s:s}}", "after", "message_id", mid, "visibility",
                                  visibility));
}

#define MERGE_HOPS_MAX 8 /* a merged suggestion's target merged in turn, and so on */

/*
 * A co-sign held while its suggestion was merged into another: at the
 * release it goes where the suggestion went, as named co-signers are
 * moved by the merge, so that the member's support is not lost without a
 * word (the co-signer holds no code to look the co-sign up by). Dropped
 * when the chain ends withdrawn, merged too deep, or in another unit (the
 * token paid for a co-sign in its own).
 */
static enum db_status cosign_merge_target(struct action_ctx *a, struct db_conn *c)
{
    long long from = a->id;
    for (int hop = 0; hop < MERGE_HOPS_MAX; hop++) {
        char sid[24], target[32] = "";
        const char *p[] = { fmt_id(sid, from) };
        enum db_status st;
        const struct db_field spec[] = { DB_TEXT("public_id", target), DB_END };
        int found = db_one(c, STMT_MERGE_TARGET, p, spec, &st);
        if (found < 0)
            return st;
        struct locked_row t;
        found = found ? lock_suggestion(c, target, &t, &st) : 0;
        if (found < 0)
            return st;
        /* The token paid for a co-sign in its unit, and nowhere else. */
        if (found == 0 || !strcmp(t.status, "withdrawn") || t.unit_id != a->unit_id)
            break;
        if (!strcmp(t.status, "merged")) {
            from = t.id;
            continue;
        }
        char tid[24];
        const char *pi[] = { fmt_id(tid, t.id) };
        st = db_run(c, STMT_ANON_COSIGN_INSERT, pi, NULL);
        if (st != DB_OK)
            return st;
        struct audit_entry actor = actor_entry(&a->in->actor);
        return audit_change(c, &actor, "suggestion.cosign", "suggestion", target,
                            json_pack("{s:{s:s}}", "after", "merged_from", a->in->public_id));
    }
    return refuse(a, DOMAIN_CONFLICT, "cannot co-sign a suggestion that is merged");
}

static enum db_status do_anonymous_cosign(struct action_ctx *a, struct db_conn *c)
{
    /* At its release (its token spent at arrival), a held co-sign follows a merge. */
    if (!a->in->token && !strcmp(a->status, "merged"))
        return cosign_merge_target(a, c);
    if (!strcmp(a->status, "withdrawn") || !strcmp(a->status, "merged")) {
        char d[120];
        snprintf(d, sizeof d, "cannot co-sign a suggestion that is %s", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    /* A held co-sign at its release spent its token at arrival. */
    enum db_status st = a->in->token ? token_spend(c, a->in->token) : DB_OK;
    if (st == DB_UNIQUE)
        return refuse(a, DOMAIN_TOKEN_SPENT, "the token was spent already");
    if (st != DB_OK)
        return st;
    char sid[24];
    const char *p[] = { fmt_id(sid, a->id) };
    st = db_run(c, STMT_ANON_COSIGN_INSERT, p, NULL);
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.cosign", NULL);
}

static enum db_status do_cosign(struct action_ctx *a, struct db_conn *c)
{
    if (a->in->actor.anonymous)
        return do_anonymous_cosign(a, c);
    if (a->g.author)
        return refuse(a, DOMAIN_CONFLICT, "authors do not co-sign their own suggestion");
    char acct[24], sid[24];
    fmt_id(acct, a->in->actor.account_id);
    enum db_status st;
    /* cosign_allowed was read in the lock's pipeline. */
    bool member = a->cosign_member;
    /* Someone who may not read it learns nothing of it, not even that it
     * exists: the answer of a missing id. */
    if (!member)
        return authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_VIEW)
                   ? refuse(a, DOMAIN_FORBIDDEN, "only members of the unit co-sign")
                   : refuse(a, DOMAIN_NOT_FOUND, "no such suggestion");
    if (!strcmp(a->status, "withdrawn") || !strcmp(a->status, "merged")) {
        char d[120];
        snprintf(d, sizeof d, "cannot co-sign a suggestion that is %s", a->status);
        return refuse(a, DOMAIN_CONFLICT, d);
    }
    const char *p[] = { fmt_id(sid, a->id), acct };
    st = db_run(c, STMT_COSIGN_INSERT, p, NULL);
    if (st == DB_UNIQUE)
        return refuse(a, DOMAIN_CONFLICT, "you co-signed this already");
    if (st != DB_OK)
        return st;
    return audit_simple(a, c, "suggestion.cosign", NULL);
}

/* The author shows the suggestion to the unit's members, with or without
 * their name, or hides it again (sql/0027). Not the holder of a tracking
 * code: the moment an anonymous suggestion appeared in the list would be
 * an act of its author that the branch sees. */
static enum db_status do_show(struct action_ctx *a, struct db_conn *c)
{
    if (a->in->actor.anonymous || !authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_AUTHOR))
        return refuse(a, DOMAIN_FORBIDDEN, "only its author shows a suggestion to the unit");
    if (!a->author_id)
        return refuse(a, DOMAIN_CONFLICT, "an anonymous suggestion is not shown to the unit");
    bool with_name = a->in->shown && a->in->show_name;
    char sid[24];
    const char *p[] = { fmt_id(sid, a->id), a->in->shown ? "true" : "false", with_name ? "true" : "false" };
    enum db_status st = db_run(c, STMT_SUGGESTION_SET_SHOWN, p, NULL);
    if (st != DB_OK)
        return st;
    json_t *change = json_pack("{s:{s:b, s:b}}", "after", "shown_to_unit", a->in->shown,
                               "shown_with_name", with_name);
    return audit_simple(a, c, "suggestion.show", change);
}


/* A row of the ratings read in the lock's pipeline: the last one stays. */
static enum db_status rating_seen(void *cls, size_t row)
{
    (void)cls;
    (void)row;
    return DB_OK;
}

static enum db_status step_tx(struct db_conn *c, struct action_ctx *a)
{
    enum db_status st;
    struct locked_row r;
    memset(&r, 0, sizeof r);
    memset(&a->subj, 0, sizeof a->subj);
    a->assignable = a->made_by = false;
    a->unapproved = true;
    a->msg_total = a->msg_mine = a->drafter = a->answers = 0;
    a->decision[0] = a->last_rating[0] = '\0';
    a->last_round = -1;
    const struct wf_action *in = a->in;
    bool anonymous = in->actor.anonymous;
    char acct[24], cand[24];
    const char *pl[] = { in->public_id };
    const char *pf[] = { anonymous ? NULL : fmt_id(acct, in->actor.account_id), in->public_id };
    struct authz_facts fu, fe;
    memset(&fu, 0, sizeof fu);
    memset(&fe, 0, sizeof fe);
    const struct db_field lock_spec[] = {
        DB_I64("id", &r.id), DB_TEXT("status", r.status), DB_I64("unit_id", &r.unit_id),
        DB_I64_N("author_id", &r.author_id), DB_I64_N("assignee_id", &r.assignee_id),
        DB_BOOL("reopened", &r.reopened), DB_I64_N("escalated_to", &r.escalated_to), DB_END,
    };
    const struct db_field facts_spec[] = {
        AUTHZ_FACTS_FIELDS("unit_", &fu), AUTHZ_FACTS_FIELDS("esc_", &fe),
        NOTIFY_SUBJECT_FIELDS(&a->subj), DB_END,
    };
    /* The row's lock, then (under it, in the same round trip) the actor's
     * rights in its units, what a notice would say of it, and what the
     * step asks besides: the statements run in order. */
    struct db_query q[4] = {
        { .id = STMT_SUGGESTION_LOCK, .params = pl, .spec = lock_spec },
        { .id = STMT_SUGGESTION_STEP_FACTS, .params = pf, .spec = facts_spec },
    };
    size_t n = 2;
    const char *pa[] = { in->public_id, fmt_id(cand, in->assignee_id) };
    const struct db_field assign_spec[] = { DB_BOOL("assignable", &a->assignable), DB_END };
    const struct db_field count_spec[] = { DB_I64("total", &a->msg_total),
                                           DB_I64("mine", &a->msg_mine), DB_END };
    const char *pp[] = { in->public_id, pf[0] };
    const struct db_field draft_spec[] = {
        DB_TEXT("decision", a->decision), DB_I64("drafted_by", &a->drafter),
        DB_ISNULL("approved_by", &a->unapproved), DB_BOOL_N("made_by", &a->made_by), DB_END,
    };
    const struct db_field rating_spec[] = { DB_I32("round", &a->last_round),
                                            DB_TEXT("rating", a->last_rating), DB_END };
    const struct db_field member_spec[] = { DB_BOOL("allowed", &a->cosign_member), DB_END };
    struct locked_row *t = &a->target;
    memset(t, 0, sizeof *t);
    a->cosign_member = false;
    a->target_rows = 0;
    const char *pt[] = { in->into };
    const char *ptf[] = { pf[0], in->into };
    const struct db_field target_spec[] = {
        DB_I64("id", &t->id), DB_TEXT("status", t->status), DB_I64("unit_id", &t->unit_id),
        DB_I64_N("author_id", &t->author_id), DB_I64_N("assignee_id", &t->assignee_id),
        DB_BOOL("reopened", &t->reopened), DB_I64_N("escalated_to", &t->escalated_to), DB_END,
    };
    const struct db_field target_facts_spec[] = {
        AUTHZ_FACTS_FIELDS("unit_", &a->target_unit), AUTHZ_FACTS_FIELDS("esc_", &a->target_esc),
        NOTIFY_SUBJECT_FIELDS(&a->target_subj), DB_END,
    };
    switch (in->step) {
    case WF_COSIGN:
        if (!anonymous)
            q[n++] = (struct db_query){ .id = STMT_COSIGN_ALLOWED, .params = pf,
                                        .spec = member_spec };
        break;
    case WF_MERGE:
        /* The target's lock after the source's, as before; its facts
         * under it. */
        if (anonymous || !in->into)
            break;
        q[n++] = (struct db_query){ .id = STMT_SUGGESTION_LOCK, .params = pt,
                                    .spec = target_spec };
        q[n++] = (struct db_query){ .id = STMT_SUGGESTION_STEP_FACTS, .params = ptf,
                                    .spec = target_facts_spec };
        break;
    case WF_ASSIGN:
        q[n++] = (struct db_query){ .id = STMT_ASSIGNABLE_FOR, .params = pa, .spec = assign_spec };
        break;
    case WF_MESSAGE:
        q[n++] = (struct db_query){ .id = STMT_MESSAGE_COUNTS_FOR, .params = pp,
                                    .spec = count_spec };
        break;
    case WF_APPROVE:
        if (anonymous)
            break;
        /* account_made_by reads the cooling-off: set ahead of it. */
        if ((st = set_cooling_off(a, c)) != DB_OK)
            return st;
        q[n++] = (struct db_query){ .id = STMT_ANSWER_FOR_APPROVAL, .params = pp,
                                    .spec = draft_spec };
        break;
    case WF_REOPEN:
        q[n++] = (struct db_query){ .id = STMT_THREAD_RATINGS, .params = pl, .spec = rating_spec,
                                    .fn = rating_seen };
        break;
    default:
        break;
    }
    db_batch(c, n, q, &st);
    if (st != DB_OK)
        return st;
    if (q[0].rows == 0 || q[1].rows == 0)
        return refuse(a, DOMAIN_NOT_FOUND, "no such suggestion");
    if (in->step == WF_APPROVE && n > 2)
        a->answers = q[2].rows;
    if (in->step == WF_MERGE && n > 2)
        a->target_rows = q[2].rows;
    a->id = r.id;
    snprintf(a->status, sizeof a->status, "%s", r.status);
    a->unit_id = r.unit_id;
    a->author_id = r.author_id;
    a->assignee = r.assignee_id;
    a->reopened = r.reopened;
    a->escalated_to = r.escalated_to;
    if (anonymous) {
        /* The holder of the tracking code is the author; an anonymous
         * co-signer is nobody at all. */
        memset(&a->g, 0, sizeof a->g);
        a->g.author = in->step != WF_COSIGN;
    } else {
        struct authz au = { 0 }, ae = { 0 };
        authz_from_facts(&fu, &au);
        authz_from_facts(&fe, &ae);
        authz_suggestion_from(in->actor.account_id, a->author_id, a->assignee, &au,
                              a->escalated_to ? &ae : NULL, &a->g);
    }
    /* Co-signing needs membership, not the right to read the thread. */
    if (a->in->step != WF_COSIGN && !authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_VIEW))
        return refuse(a, DOMAIN_NOT_FOUND, "no such suggestion");

    switch (a->in->step) {
    case WF_ACCEPT:
        if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_HANDLE))
            return refuse(a, DOMAIN_FORBIDDEN, "only the assignee or a secretary accepts");
        /* answered -> accepted is the author's reopen, not an accept. */
        if (strcmp(a->status, "submitted")) {
            char d[120];
            snprintf(d, sizeof d, "cannot accept a suggestion that is %s", a->status);
            return refuse(a, DOMAIN_CONFLICT, d);
        }
        return transition(a, c, "accepted", 0, "accept", NULL);
    case WF_WITHDRAW:
        if (!authz_suggestion_allows(&a->g, AUTHZ_SUGGESTION_AUTHOR))
            return refuse(a, DOMAIN_FORBIDDEN, "only the author withdraws");
        /* Asked here rather than of the trigger (sql/0003), which would
         * raise an error, and a log line, for a held withdraw refused at
         * its release. */
        if (strcmp(a->status, "submitted")) {
            char d[120];
            snprintf(d, sizeof d, "cannot withdraw a suggestion that is %s", a->status);
            return refuse(a, DOMAIN_CONFLICT, d);
        }
        return transition(a, c, "withdrawn", 0, "withdraw", NULL);
    case WF_ASSIGN:
        return do_assign(a, c);
    case WF_MERGE:
        return do_merge(a, c);
    case WF_REOPEN:
        return do_reopen(a, c);
    case WF_MESSAGE:
        return do_message(a, c);
    case WF_ANSWER:
        return do_answer(a, c);
    case WF_APPROVE:
        return do_approve(a, c);
    case WF_RATE:
        return do_rate(a, c);
    case WF_COSIGN:
        return do_cosign(a, c);
    case WF_SHOW:
        return do_show(a, c);
    }
    return DB_ERROR;
}

/* A named step with an Idempotency-Key claims it in the account's scope
 * first (the claim waits for a concurrent twin to commit); a key already
 * used with the same request takes no step. Anonymous steps keep no key:
 * a co-sign is made once by its token, a rating by the workflow. */
static enum db_status action_tx(struct db_conn *c, void *arg)
{
    struct action_ctx *a = arg;
    a->out->outcome = DOMAIN_OK;
    a->replayed = false;
    const struct wf_action *in = a->in;
    bool keyed = in->idem_key && in->request_hash && !in->actor.anonymous;
    char scope[40];
    enum db_status st;
    if (keyed) {
        snprintf(scope, sizeof scope, "step:%lld", in->actor.account_id);
        const char *claim[] = { scope, in->idem_key, in->request_hash };
        int claimed = db_one(c, STMT_IDEMPOTENCY_CLAIM, claim, NULL, &st);
        if (claimed < 0)
            return st;
        if (!claimed) {
            const char *get[] = { scope, in->idem_key };
            char hash[129];
            const struct db_field spec[] = { DB_TEXT("request_hash", hash), DB_END };
            if (db_one(c, STMT_IDEMPOTENCY_GET, get, spec, &st) <= 0)
                return st == DB_OK ? DB_ERROR : st; /* the claim saw it: it is there */
            bool mismatch = strcmp(hash, in->request_hash) != 0;
            if (mismatch)
                return refuse(a, DOMAIN_INVALID, "Idempotency-Key was used with another body");
            a->replayed = true;
            return DB_ABORT; /* rolls back the claim's no-op */
        }
    }
    st = step_tx(c, a);
    if (st != DB_OK || a->out->outcome != DOMAIN_OK || !keyed)
        return st;
    const char *ps[] = { scope, in->idem_key, "200", "{}" };
    return db_run(c, STMT_IDEMPOTENCY_STORE, ps, NULL);
}

void workflow_act_once(struct db_conn *c, const struct wf_action *in, struct domain_result *out,
                       bool *replayed)
{
    memset(out, 0, sizeof *out);
    struct action_ctx a = { .in = in, .out = out };
    enum db_status st = db_transaction(c, action_tx, &a);
    *replayed = st == DB_ABORT && a.replayed;
    if (!*replayed)
        domain_settle(out, st);
}

void workflow_act_view(struct db_conn *c, const struct wf_action *in, bool as_author,
                       json_t **view, struct domain_result *out, bool *replayed)
{
    memset(out, 0, sizeof *out);
    *view = NULL;
    struct action_ctx a = { .in = in, .out = out };
    /* The answer is read with the COMMIT, in its pipeline. */
    struct db_query q[SUGGESTION_VIEW_READS];
    struct view_reads *v = suggestion_view_reads(in->public_id, in->actor.account_id, as_author, q);
    if (!v) {
        *replayed = false;
        domain_settle(out, DB_ERROR);
        return;
    }
    enum db_status st = db_transaction_batch(c, action_tx, &a, SUGGESTION_VIEW_READS, q);
    *replayed = st == DB_ABORT && a.replayed;
    if (st == DB_OK) {
        *view = suggestion_view_finish(v, out);
        return;
    }
    suggestion_view_free(v);
    if (!*replayed)
        domain_settle(out, st);
}

void workflow_act(struct db_conn *c, const struct wf_action *in, struct domain_result *out)
{
    bool replayed;
    workflow_act_once(c, in, out, &replayed);
}

long long workflow_unit_of(struct db_conn *c, const char *public_id, enum db_status *st)
{
    const char *p[] = { public_id };
    long long unit = 0;
    const struct db_field spec[] = { DB_I64("unit_id", &unit), DB_END };
    if (db_one(c, STMT_SUGGESTION_UNIT, p, spec, st) < 0)
        return -1;
    return unit;
}

/* ------------------------------------------------------------------ */
/* the release window: the other anonymous acts                        */
/* ------------------------------------------------------------------ */

/*
 * What is decided at arrival and what at release (docs/threat-model.md):
 * at arrival, from a plain read (no row lock: it would write the row's
 * xmax at the act's time), whatever the member can be told at once: the
 * token (spent now, so that a double spend is refused now), that the
 * suggestion exists, and that its status allows the step, counting the
 * acts the same code holds already (one rating, one withdraw, one reopen
 * a window; a reopen after an "unsatisfied" rating held in the same
 * window). At release the act is replayed through action_tx, the
 * immediate path's own checks under the row lock: what changed meanwhile
 * (a secretary merged the suggestion before a held withdraw, a thread
 * filled up before a held message) refuses it there, and it is dropped.
 */

static const char *const step_kinds[] = {
    [WF_COSIGN] = "cosign", [WF_MESSAGE] = "message", [WF_RATE] = "rate",
    [WF_WITHDRAW] = "withdraw", [WF_REOPEN] = "reopen",
};

bool workflow_holds(enum wf_step step)
{
    return step == WF_COSIGN || step == WF_MESSAGE || step == WF_RATE ||
           step == WF_WITHDRAW || step == WF_REOPEN;
}

struct hold_act_ctx {
    const struct wf_action *a;
    const unsigned char *master;
    unsigned window;
    const char *lookup; /* the tracking code's; NULL for a co-sign */
    json_t *held;       /* the acts lookup holds already (borrowed) */
    json_t *view;       /* the suggestion as its author sees it (borrowed) */
    struct domain_result *out;
    long long release_at; /* out */
};

/* Whether the code holds an act of kind (and, rating non-NULL, with that
 * rating). */
static bool holds(json_t *held, const char *kind, const char *rating)
{
    size_t i;
    json_t *act;
    json_array_foreach(held, i, act) {
        const char *k = json_string_value(json_object_get(act, "kind"));
        const char *r = json_string_value(json_object_get(act, "rating"));
        if (k && !strcmp(k, kind) && (!rating || (r && !strcmp(r, rating))))
            return true;
    }
    return false;
}

/* The rating of the current round in the author's view, or NULL. */
static const char *round_rating(json_t *view)
{
    json_int_t round = json_is_true(json_object_get(view, "reopened")) ? 1 : 0;
    size_t i;
    json_t *r;
    const char *found = NULL;
    json_array_foreach(json_object_get(view, "ratings"), i, r) {
        if (json_integer_value(json_object_get(r, "round")) == round)
            found = json_string_value(json_object_get(r, "rating"));
    }
    return found;
}

/* The checks at arrival; DB_OK or a refusal in k->out. */
static enum db_status hold_check(struct hold_act_ctx *k)
{
    const struct wf_action *a = k->a;
    const char *status = json_string_value(json_object_get(k->view, "status"));
    if (!status)
        status = "";
    bool reopened = json_is_true(json_object_get(k->view, "reopened"));
    char d[160];
    switch (a->step) {
    case WF_COSIGN:
        if (!strcmp(status, "withdrawn") || !strcmp(status, "merged")) {
            snprintf(d, sizeof d, "cannot co-sign a suggestion that is %s", status);
            return domain_refuse(k->out, DOMAIN_CONFLICT, "", d);
        }
        return DB_OK;
    case WF_MESSAGE:
        return DB_OK; /* its limits are counted at release, under the lock */
    case WF_RATE:
        if (strcmp(status, "answered") && strcmp(status, "published")) {
            snprintf(d, sizeof d, "cannot rate a suggestion that is %s", status);
            return domain_refuse(k->out, DOMAIN_CONFLICT, "", d);
        }
        if (round_rating(k->view) || holds(k->held, "rate", NULL)) {
            snprintf(d, sizeof d, "this answer is rated already (status is %s)", status);
            return domain_refuse(k->out, DOMAIN_CONFLICT, "", d);
        }
        return DB_OK;
    case WF_WITHDRAW:
        if (strcmp(status, "submitted")) {
            snprintf(d, sizeof d, "cannot withdraw a suggestion that is %s", status);
            return domain_refuse(k->out, DOMAIN_CONFLICT, "", d);
        }
        if (holds(k->held, "withdraw", NULL))
            return domain_refuse(k->out, DOMAIN_CONFLICT, "",
                                 "the withdrawal is held already until its release");
        return DB_OK;
    case WF_REOPEN: {
        if (strcmp(status, "answered")) {
            snprintf(d, sizeof d, "cannot reopen a suggestion that is %s", status);
            return domain_refuse(k->out, DOMAIN_CONFLICT, "", d);
        }
        const char *r = round_rating(k->view);
        bool unsatisfied = (r && !strcmp(r, "unsatisfied")) ||
                           (!r && holds(k->held, "rate", "unsatisfied"));
        if (reopened || holds(k->held, "reopen", NULL))
            return domain_refuse(k->out, DOMAIN_CONFLICT, "",
                                 "a suggestion is reopened only once (status is answered)");
        if (!unsatisfied)
            return domain_refuse(k->out, DOMAIN_CONFLICT, "",
                                 "rate the answer \"unsatisfied\" first (status is answered)");
        return DB_OK;
    }
    default:
        return DB_ERROR;
    }
}

static enum db_status hold_act_tx(struct db_conn *c, void *arg)
{
    struct hold_act_ctx *k = arg;
    const struct wf_action *a = k->a;
    k->out->outcome = DOMAIN_OK;
    enum db_status st = hold_check(k);
    if (st != DB_OK)
        return st;
    if (a->step == WF_COSIGN) {
        st = token_spend(c, a->token);
        if (st == DB_UNIQUE)
            return domain_refuse(k->out, DOMAIN_TOKEN_SPENT, NULL, "the token was spent already");
        if (st != DB_OK)
            return st;
    }
    json_t *act = json_pack("{s:s, s:s}", "kind", step_kinds[a->step], "public_id", a->public_id);
    if (!act)
        return DB_ERROR;
    if (a->text)
        json_object_set_new(act, "text", json_string(a->text));
    if (a->rating)
        json_object_set_new(act, "rating", json_string(a->rating));
    /* The acts of one code keep their order at release (release.h). */
    char lookup[RELEASE_LOOKUP_HEX];
    if (k->lookup) {
        snprintf(lookup, sizeof lookup, "%s", k->lookup);
        json_object_set_new(act, "chain", json_string(k->lookup));
        json_object_set_new(act, "seq", json_integer((json_int_t)json_array_size(k->held) + 1));
    } else {
        /* A co-sign is nobody's: a lookup nobody can compute. */
        unsigned char r[32];
        randombytes_buf(r, sizeof r);
        sodium_bin2hex(lookup, sizeof lookup, r, sizeof r);
    }
    st = release_hold(c, k->master, k->window, lookup, act, &k->release_at);
    json_decref(act);
    return st;
}

void workflow_hold_act(struct db_conn *c, const struct wf_action *a,
                       const unsigned char *master, unsigned window, const char *lookup_hex,
                       long long *release_at, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    *release_at = 0;
    if (!workflow_holds(a->step)) {
        out->outcome = DOMAIN_DB;
        out->st = DB_ERROR;
        return;
    }
    struct hold_act_ctx k = { .a = a, .master = master, .window = window,
                              .lookup = lookup_hex, .out = out };
    k.view = suggestion_view(c, a->public_id, 0, true, out);
    if (!k.view)
        return;
    enum db_status st = DB_OK;
    k.held = lookup_hex ? release_held(c, master, lookup_hex, &st) : json_array();
    if (!k.held) {
        json_decref(k.view);
        domain_settle(out, st);
        return;
    }
    st = db_transaction(c, hold_act_tx, &k);
    json_decref(k.view);
    json_decref(k.held);
    if (domain_settle(out, st))
        *release_at = k.release_at;
}

/* A held step at its release: action_tx, as the immediate path takes it,
 * inside the release's transaction. A refusal is DB_ABORT: dropped. */
static enum db_status replay_step(struct db_conn *c, json_t *act, const char *kind)
{
    struct wf_action in = { .actor = { .anonymous = true } };
    size_t n = sizeof step_kinds / sizeof step_kinds[0], i;
    for (i = 0; i < n; i++)
        if (step_kinds[i] && !strcmp(step_kinds[i], kind))
            break;
    if (i == n)
        return DB_ABORT; /* not a kind this version holds */
    in.step = (enum wf_step)i;
    in.public_id = json_string_value(json_object_get(act, "public_id"));
    in.text = json_string_value(json_object_get(act, "text"));
    in.rating = json_string_value(json_object_get(act, "rating"));
    if (!in.public_id || (in.step == WF_MESSAGE && !in.text) || (in.step == WF_RATE && !in.rating))
        return DB_ABORT;
    struct domain_result out = { .outcome = DOMAIN_OK };
    struct action_ctx a = { .in = &in, .out = &out };
    return action_tx(c, &a); /* a refusal is DB_ABORT */
}
