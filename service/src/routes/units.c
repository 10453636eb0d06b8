/* The organisation tree: GET/POST /v1/org-units, PATCH /v1/org-units/{id},
 * members, portfolios and the bulletin schedule of a unit. Who may do what is in domain/authz.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "db/shown.h"
#include "domain/bulletin_schedule.h"
#include "domain/units.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

#define MEMBERS_PAGE_DEFAULT 100
#define MEMBERS_PAGE_MAX 500

static struct audit_entry actor_of(const struct request *r, const struct authz *az)
{
    struct audit_entry e = { .actor = AUDIT_ACCOUNT, .actor_id = az->account_id,
                             .request_id = r->request_id };
    return e;
}

/* The unit named by path parameter 0 and the caller's facts about it.
 * false: a response has been queued (401, 404, 503). */
/* ------------------------------------------------------------------ */
/* the tree                                                            */
/* ------------------------------------------------------------------ */

enum handler_result units_list(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_VIEW_TREE))
        return reply_forbidden(r);

    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_UNITS_ALL, NULL, &st);
    if (!res)
        return reply_db_error(r, st);
    /* Rows come by id and a parent is always older than its child only
     * until units move, so index every node first, then link. */
    int n = PQntuples(res);
    json_t **nodes = calloc((size_t)n + 1, sizeof *nodes);
    if (!nodes) {
        PQclear(res);
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    }
    json_t *roots = json_array();
    for (int i = 0; i < n; i++) {
        nodes[i] = unit_json(res, i);
        json_object_set_new(nodes[i], "children", json_array());
    }
    for (int i = 0; i < n; i++) {
        json_t *parent = NULL;
        json_int_t pid = json_integer_value(json_object_get(nodes[i], "parent_id"));
        for (int k = 0; pid && k < n && !parent; k++)
            if (json_integer_value(json_object_get(nodes[k], "id")) == pid)
                parent = nodes[k];
        json_array_append(parent ? json_object_get(parent, "children") : roots, nodes[i]);
    }
    for (int i = 0; i < n; i++)
        json_decref(nodes[i]);
    free(nodes);
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:o}", "units", roots));
}

/* ------------------------------------------------------------------ */
/* create, rename, move                                                */
/* ------------------------------------------------------------------ */

/* The levels the tree would have with unit (0: a new one) under parent
 * (0: at the top); -1 on a database failure (*st says why). */
static long long levels_with(struct db_conn *c, long long parent, long long unit,
                             enum db_status *st)
{
    char p[24], u[24];
    snprintf(p, sizeof p, "%lld", parent);
    snprintf(u, sizeof u, "%lld", unit);
    const char *params[] = { parent ? p : NULL, unit ? u : NULL };
    PGresult *res = db_exec(c, STMT_UNIT_LEVELS_WITH, params, st);
    if (!res)
        return -1;
    long long n = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    return n;
}

/* A refusal decided inside a transaction, answered after it. */
struct unit_limit {
    enum problem problem; /* PROBLEM_VALIDATION_FAILED: the detail is /parent_id's */
    char detail[200];
    bool hit;
};

static enum db_status limit_hit(struct unit_limit *l, enum problem p, const char *detail)
{
    l->hit = true;
    l->problem = p;
    snprintf(l->detail, sizeof l->detail, "%s", detail);
    return DB_ABORT;
}

static enum handler_result limit_reply(struct request *r, const struct unit_limit *l)
{
    if (l->problem == PROBLEM_VALIDATION_FAILED)
        return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "/parent_id", "detail",
                                             l->detail));
    if (l->problem == PROBLEM_TOO_MANY_ATTEMPTS)
        request_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, "3600");
    return reply_problem(r, l->problem, l->detail);
}

/* UNIT_MAX_DEPTH, for a new unit (unit 0) or a move. */
static enum db_status check_depth(struct db_conn *c, const struct config *cfg, long long parent,
                                  long long unit, struct unit_limit *l)
{
    enum db_status st;
    long long levels = levels_with(c, parent, unit, &st);
    if (levels < 0)
        return st;
    if (levels <= (long long)cfg->unit_max_depth)
        return DB_OK;
    char d[200];
    snprintf(d, sizeof d, "the tree would have %lld levels there; UNIT_MAX_DEPTH allows %u",
             levels, cfg->unit_max_depth);
    return limit_hit(l, PROBLEM_VALIDATION_FAILED, d);
}

struct unit_create_ctx {
    struct audit_entry actor;
    const struct config *cfg;
    bool admin;
    long long parent_id;
    const char *name, *level;
    json_t *unit;
    struct unit_limit limit;
};

static enum db_status unit_create_tx(struct db_conn *c, void *arg)
{
    struct unit_create_ctx *u = arg;
    json_decref(u->unit);
    u->unit = NULL;
    u->limit.hit = false;
    enum db_status st = check_depth(c, u->cfg, u->parent_id, 0, &u->limit);
    if (st != DB_OK)
        return st;
    if (!u->admin) {
        /* UNITS_PER_DAY: one secretary cannot flood the tree. */
        char a[24];
        snprintf(a, sizeof a, "%lld", u->actor.actor_id);
        const char *p[] = { a };
        PQclear(db_exec(c, STMT_UNIT_CREATE_LOCK, p, &st));
        if (st != DB_OK)
            return st;
        PGresult *res = db_exec(c, STMT_UNITS_CREATED_BY, p, &st);
        if (!res)
            return st;
        long long made = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
        PQclear(res);
        if (made >= (long long)u->cfg->units_per_day) {
            char d[200];
            snprintf(d, sizeof d, "%lld units were created by this account in the last 24 hours; "
                     "UNITS_PER_DAY allows %u", made, u->cfg->units_per_day);
            return limit_hit(&u->limit, PROBLEM_TOO_MANY_ATTEMPTS, d);
        }
    }
    return unit_create(c, &u->actor, u->parent_id, u->name, u->level, &u->unit);
}

enum handler_result units_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *name = validate_name(&v, "name", true, UNIT_NAME_MAX_CHARS);
    const char *level = validate_string(&v, "level", true, 1, 32);
    long long parent_id;
    bool parent_given;
    validate_id(&v, "parent_id", false, true, &parent_id, &parent_given);
    if (name && strchr(name, '/'))
        validator_error(&v, "name", "must not contain /");
    if (level && !unit_level_valid(level))
        validator_error(&v, "level", "must be committee, general_branch, branch or group");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    struct authz az;
    enum handler_result out;
    if (!caller_load(r, parent_id, &az, &out))
        return out;
    if (parent_id && !az.unit_exists) {
        validator_init(&v, r->json);
        validator_error(&v, "parent_id", "no such unit");
        return validator_reply(r, &v);
    }
    if (!authz_allows(&az, parent_id ? AUTHZ_MANAGE_UNIT : AUTHZ_CREATE_ROOT_UNIT))
        return reply_forbidden(r);

    struct unit_create_ctx u = { .actor = actor_of(r, &az), .cfg = r->cfg, .admin = az.is_admin,
                                 .parent_id = parent_id, .name = name, .level = level };
    enum db_status st = db_transaction(r->db, unit_create_tx, &u);
    if (st == DB_ABORT && u.limit.hit) {
        json_decref(u.unit);
        return limit_reply(r, &u.limit);
    }
    if (st != DB_OK) {
        json_decref(u.unit);
        if (st == DB_UNIQUE)
            return reply_problem(r, PROBLEM_CONFLICT, "the parent already has a unit of that name");
        if (st == DB_CONSTRAINT) /* sql/0024 */
            return reply_problem(r, PROBLEM_CONFLICT, "the unit is retired");
        return reply_db_error(r, st);
    }
    json_object_set_new(u.unit, "children", json_array());
    return reply_json(r, 201, u.unit);
}

struct unit_update_ctx {
    struct audit_entry actor;
    const struct config *cfg;
    long long unit_id;
    struct unit_limit limit;
    char id[24], parent[24];
    const char *name;
    bool move;
    long long parent_id;
    const char *requires_approval; /* "true", "false" or NULL: unchanged */
    json_t *before, *after;
};

static enum db_status unit_update_tx(struct db_conn *c, void *arg)
{
    struct unit_update_ctx *u = arg;
    json_decref(u->before);
    json_decref(u->after);
    u->before = u->after = NULL;
    u->limit.hit = false;

    enum db_status st;
    if (u->move && (st = check_depth(c, u->cfg, u->parent_id, u->unit_id, &u->limit)) != DB_OK)
        return st;
    const char *p1[] = { u->id };
    PGresult *res = db_exec(c, STMT_UNIT_BY_ID, p1, &st);
    if (!res)
        return st;
    u->before = unit_json(res, 0);
    PQclear(res);

    snprintf(u->parent, sizeof u->parent, "%lld", u->parent_id);
    char by[24]; /* who turns approval off, if this does (sql/0020) */
    snprintf(by, sizeof by, "%lld", u->actor.actor_id);
    const char *p2[] = { u->id, u->name, u->move ? "true" : "false",
                         u->move && u->parent_id ? u->parent : NULL, u->requires_approval, by };
    res = db_exec(c, STMT_UNIT_UPDATE, p2, &st);
    if (!res)
        return st;
    u->after = unit_json(res, 0);
    PQclear(res);
    if (json_equal(u->before, u->after))
        return DB_OK;

    json_t *change = json_pack("{s:O, s:O}", "before", u->before, "after", u->after);
    st = audit_change(c, &u->actor, u->move ? "unit.move" : u->name ? "unit.rename" : "unit.update", "unit",
                       u->id, change);
    return st;
}

enum handler_result units_update(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *name = validate_name(&v, "name", false, UNIT_NAME_MAX_CHARS);
    long long parent_id;
    bool move;
    validate_id(&v, "parent_id", false, true, &parent_id, &move);
    if (name && strchr(name, '/'))
        validator_error(&v, "name", "must not contain /");
    json_t *ra = json_is_object(r->json) ? json_object_get(r->json, "requires_approval") : NULL;
    if (ra && !json_is_boolean(ra))
        validator_error(&v, "requires_approval", "must be true or false");
    if (!validator_failed(&v) && !name && !move && !ra)
        validator_error(&v, "", "give name, parent_id, requires_approval or several");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    if (move) {
        /* Moving needs a say over the new place as well. */
        struct authz target;
        enum db_status st = authz_load(r->db, az.account_id, parent_id, &target);
        if (st != DB_OK)
            return reply_db_error(r, st);
        if (parent_id && !target.unit_exists) {
            validator_init(&v, r->json);
            validator_error(&v, "parent_id", "no such unit");
            return validator_reply(r, &v);
        }
        if (!authz_allows(&target, parent_id ? AUTHZ_MANAGE_UNIT : AUTHZ_CREATE_ROOT_UNIT))
            return reply_forbidden(r);
    }

    struct unit_update_ctx u = { .actor = actor_of(r, &az), .cfg = r->cfg,
                                 .unit_id = az.unit_id, .name = name, .move = move,
                                 .parent_id = parent_id,
                                 .requires_approval = !ra ? NULL
                                                     : json_is_true(ra) ? "true" : "false" };
    snprintf(u.id, sizeof u.id, "%lld", az.unit_id);
    enum db_status st = db_transaction(r->db, unit_update_tx, &u);
    json_decref(u.before);
    if (st == DB_ABORT && u.limit.hit) {
        json_decref(u.after);
        return limit_reply(r, &u.limit);
    }
    if (st != DB_OK) {
        json_decref(u.after);
        if (st == DB_UNIQUE)
            return reply_problem(r, PROBLEM_CONFLICT, "the parent already has a unit of that name");
        if (st == DB_CONSTRAINT)
            return reply_problem(r, PROBLEM_CONFLICT, "a unit cannot move under itself or its descendants");
        return reply_db_error(r, st);
    }
    return reply_json(r, 200, u.after);
}

/* ------------------------------------------------------------------ */
/* members                                                             */
/* ------------------------------------------------------------------ */

static long long query_number(struct request *r, const char *name, long long fallback,
                              long long max, bool *bad)
{
    const char *s = request_query(r, name);
    if (!s)
        return fallback;
    char *end;
    long long v = strtoll(s, &end, 10);
    if (!*s || *end || v < 0 || v > max) {
        *bad = true;
        return fallback;
    }
    return v;
}

enum handler_result units_members(struct request *r)
{
    bool bad = false;
    long long cursor = query_number(r, "cursor", 0, 1000000000000000000LL, &bad);
    long long limit = query_number(r, "limit", MEMBERS_PAGE_DEFAULT, MEMBERS_PAGE_MAX, &bad);
    if (bad || limit == 0)
        return reply_validation(r, json_pack("[{s:s, s:s}]", "pointer", "", "detail",
                                             "cursor must be an account id and limit 1-500"));
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_VIEW_MEMBERS))
        return reply_forbidden(r);

    char u[24], c[24], l[24];
    snprintf(u, sizeof u, "%lld", az.unit_id);
    snprintf(c, sizeof c, "%lld", cursor);
    snprintf(l, sizeof l, "%lld", limit);
    const char *params[] = { u, c, l };
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_MEMBERS_OF_UNIT, params, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *members = json_array();
    int n = PQntuples(res);
    for (int i = 0; i < n; i++)
        json_array_append_new(
            members,
            json_pack("{s:I, s:s, s:s, s:o*, s:o*}", "account_id",
                      (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "login",
                      PQgetvalue(res, i, 1), "display_name", PQgetvalue(res, i, 2), "roles",
                      json_loads(PQgetvalue(res, i, 3), 0, NULL), "portfolios",
                      json_loads(PQgetvalue(res, i, 4), 0, NULL)));
    json_t *next = n == limit ? json_string(PQgetvalue(res, n - 1, 0)) : json_null();
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:o, s:o}", "members", members, "next_cursor", next));
}

struct member_set_ctx {
    struct audit_entry actor;
    long long unit_id, account_id;
    json_t *roles, *portfolios;
    bool account_missing;
};

static enum db_status member_set_tx(struct db_conn *c, void *arg)
{
    struct member_set_ctx *m = arg;
    char a[24];
    snprintf(a, sizeof a, "%lld", m->account_id);
    const char *params[] = { a };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_ACCOUNT_BY_ID, params, &st);
    if (!res)
        return st;
    m->account_missing = PQntuples(res) == 0;
    PQclear(res);
    if (m->account_missing)
        return DB_ABORT;
    bool changed;
    return membership_set(c, &m->actor, m->unit_id, m->account_id, m->roles, m->portfolios,
                          &changed);
}

enum handler_result units_member_set(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    json_t *roles = validate_string_array(&v, "roles", true, 3, 1, 16);
    json_t *portfolios = validate_name_array(&v, "portfolios", false, 32,
                                             PORTFOLIO_NAME_MAX_CHARS);
    bool committee = false;
    size_t i;
    json_t *role;
    json_array_foreach(roles, i, role) {
        if (!membership_role_valid(json_string_value(role))) {
            char pointer[32];
            snprintf(pointer, sizeof pointer, "roles/%zu", i);
            validator_error(&v, pointer, "must be member, committee or secretary");
        }
        committee |= !strcmp(json_string_value(role), "committee");
    }
    if (json_array_size(portfolios) && !committee)
        validator_error(&v, "portfolios", "only a committee member holds portfolios");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    long long account_id;
    if (!request_param_id(r, 1, &account_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);

    json_t *no_portfolios = json_array();
    struct member_set_ctx m = { actor_of(r, &az), az.unit_id, account_id, roles,
                                portfolios ? portfolios : no_portfolios, false };
    enum db_status st = db_transaction(r->db, member_set_tx, &m);
    if (st == DB_ABORT && m.account_missing) {
        json_decref(no_portfolios);
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
    }
    if (st == DB_ABORT) {
        json_decref(no_portfolios);
        validator_init(&v, r->json);
        validator_error(&v, "portfolios", "names a portfolio this unit does not have");
        return validator_reply(r, &v);
    }
    if (st != DB_OK) {
        json_decref(no_portfolios);
        if (st == DB_CONSTRAINT) /* sql/0024: a new member of a retired unit */
            return reply_problem(r, PROBLEM_CONFLICT, "the unit is retired");
        return reply_db_error(r, st);
    }
    json_t *body = json_pack("{s:I, s:I, s:O, s:O}", "unit_id", (json_int_t)az.unit_id,
                             "account_id", (json_int_t)account_id, "roles", roles, "portfolios",
                             m.portfolios);
    json_decref(no_portfolios);
    return reply_json(r, 200, body);
}

/* ------------------------------------------------------------------ */
/* portfolios                                                          */
/* ------------------------------------------------------------------ */

enum handler_result units_portfolios(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_VIEW_PORTFOLIOS))
        return reply_forbidden(r);
    char u[24];
    snprintf(u, sizeof u, "%lld", az.unit_id);
    const char *params[] = { u };
    enum db_status st;
    PGresult *res = db_exec(r->db, STMT_PORTFOLIOS_OF_UNIT, params, &st);
    if (!res)
        return reply_db_error(r, st);
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, json_pack("{s:I, s:s, s:o}", "id",
                                              (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                              "name", PQgetvalue(res, i, 1), "retired_at",
                                              PQgetisnull(res, i, 2) ? json_null()
                                                  : json_string(PQgetvalue(res, i, 2))));
    PQclear(res);
    return reply_json(r, 200, json_pack("{s:o}", "portfolios", list));
}

/* GET /v1/org-units/{id}/shown-suggestions: what the authors chose to
 * show to the unit's members (sql/0027), so that they can co-sign it. */
enum handler_result units_shown_suggestions(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_VIEW_SHOWN))
        return reply_forbidden(r);
    enum db_status st;
    json_t *list = shown_suggestions_of_unit(r->db, az.unit_id, &st);
    if (!list)
        return reply_db_error(r, st);
    return reply_json(r, 200, json_pack("{s:o}", "suggestions", list));
}

struct portfolio_ctx {
    struct audit_entry actor;
    char unit[24];
    const char *name;
    json_t *portfolio;
};

static enum db_status portfolio_create_tx(struct db_conn *c, void *arg)
{
    struct portfolio_ctx *p = arg;
    json_decref(p->portfolio);
    p->portfolio = NULL;
    const char *params[] = { p->unit, p->name };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_PORTFOLIO_INSERT, params, &st);
    if (!res)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    p->portfolio = json_pack("{s:I, s:s, s:n}", "id", (json_int_t)strtoll(id, NULL, 10), "name",
                             PQgetvalue(res, 0, 1), "retired_at");
    PQclear(res);
    json_t *change = json_pack("{s:{s:s, s:s}}", "after", "unit_id", p->unit, "name", p->name);
    st = audit_change(c, &p->actor, "portfolio.create", "portfolio",
                       id, change);
    return st;
}

enum handler_result units_portfolio_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *name = validate_name(&v, "name", true, PORTFOLIO_NAME_MAX_CHARS);
    /* ';' separates portfolios in a roster file: a name holding one could
     * never be written there. */
    if (name && strchr(name, ';'))
        validator_error(&v, "name", "must not contain ;");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct portfolio_ctx p = { .actor = actor_of(r, &az), .name = name };
    snprintf(p.unit, sizeof p.unit, "%lld", az.unit_id);
    enum db_status st = db_transaction(r->db, portfolio_create_tx, &p);
    if (st != DB_OK) {
        json_decref(p.portfolio);
        if (st == DB_UNIQUE)
            return reply_problem(r, PROBLEM_CONFLICT, "the unit already has a portfolio of that name");
        if (st == DB_CONSTRAINT) /* sql/0024 */
            return reply_problem(r, PROBLEM_CONFLICT, "the unit is retired");
        return reply_db_error(r, st);
    }
    return reply_json(r, 201, p.portfolio);
}

/* ------------------------------------------------------------------ */
/* bulletin schedule                                                   */
/* ------------------------------------------------------------------ */

/* "2026-12-01T01:00:00Z", or null for 0 / -1 (none). */
static json_t *slot_json(long long t)
{
    if (t <= 0)
        return json_null();
    time_t tt = (time_t)t;
    struct tm tm;
    char buf[32];
    if (!gmtime_r(&tt, &tm) || !strftime(buf, sizeof buf, "%Y-%m-%dT%H:%M:%SZ", &tm))
        return json_null();
    return json_string(buf);
}

/* The schedule as the API shows it; a new reference. */
static json_t *schedule_json(const struct unit_schedule *u, long long now)
{
    const struct bulletin_schedule *s = &u->schedule;
    json_t *o = json_pack("{s:I, s:s, s:b, s:s, s:o, s:o}", "unit_id", (json_int_t)u->unit_id,
                          "frequency", schedule_frequency_name(s->frequency), "default",
                          u->is_default, "time_zone", "Asia/Shanghai", "next_slot",
                          slot_json(unit_schedule_next(u, now)), "last_slot",
                          slot_json(u->last_slot));
    if (o && s->frequency != SCHEDULE_OFF) {
        json_object_set_new(o, s->frequency == SCHEDULE_MONTHLY ? "day_of_month" : "day_of_week",
                            json_integer(s->day));
        json_object_set_new(o, "hour", json_integer(s->hour));
    }
    return o;
}

/* The scheduler's clock (SCHEDULER_NOW, a testing aid), so that
 * next_slot says what the scheduler will do. */
static long long scheduler_now(const struct request *r)
{
    return r->cfg->scheduler_now ? r->cfg->scheduler_now : (long long)time(NULL);
}

static enum db_status schedule_load(struct db_conn *c, const struct config *cfg, const char *unit,
                                    struct unit_schedule *out)
{
    const char *p[] = { unit };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_BULLETIN_SCHEDULES, p, &st);
    if (!res)
        return st;
    if (PQntuples(res) != 1) {
        PQclear(res);
        return DB_ERROR; /* the caller saw the unit exist; units are never removed */
    }
    unit_schedule_from_row(res, 0, &cfg->bulletin_schedule, out);
    PQclear(res);
    return DB_OK;
}

enum handler_result units_schedule_get(struct request *r)
{
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_VIEW_TREE))
        return reply_forbidden(r);
    char u[24];
    snprintf(u, sizeof u, "%lld", az.unit_id);
    struct unit_schedule s;
    enum db_status st = schedule_load(r->db, r->cfg, u, &s);
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_json(r, 200, schedule_json(&s, scheduler_now(r)));
}

struct schedule_set_ctx {
    struct audit_entry actor;
    const struct config *cfg;
    char unit[24];
    struct bulletin_schedule schedule;
    long long now;
    json_t *after;
};

static enum db_status schedule_set_tx(struct db_conn *c, void *arg)
{
    struct schedule_set_ctx *k = arg;
    json_decref(k->after);
    k->after = NULL;
    struct unit_schedule before, after;
    enum db_status st = schedule_load(c, k->cfg, k->unit, &before);
    if (st != DB_OK)
        return st;
    const struct bulletin_schedule *s = &k->schedule;
    if (!before.is_default && before.schedule.frequency == s->frequency &&
        before.schedule.day == s->day && before.schedule.hour == s->hour) {
        /* Unchanged: nothing written, and the schedule keeps its start. */
        k->after = schedule_json(&before, k->now);
        return DB_OK;
    }
    char day[8], hour[8];
    snprintf(day, sizeof day, "%d", s->day);
    snprintf(hour, sizeof hour, "%d", s->hour);
    bool off = s->frequency == SCHEDULE_OFF;
    const char *p[] = { k->unit, schedule_frequency_name(s->frequency), off ? NULL : day,
                        off ? NULL : hour };
    PGresult *res = db_exec(c, STMT_BULLETIN_SCHEDULE_SET, p, &st);
    if (!res)
        return st;
    PQclear(res);
    if ((st = schedule_load(c, k->cfg, k->unit, &after)) != DB_OK)
        return st;
    k->after = schedule_json(&after, k->now);
    json_t *b = schedule_json(&before, k->now), *a = json_deep_copy(k->after);
    /* The audit keeps the schedule, not what the clock made of it. */
    json_object_del(b, "next_slot");
    json_object_del(b, "last_slot");
    json_object_del(a, "next_slot");
    json_object_del(a, "last_slot");
    json_t *change = json_pack("{s:o, s:o}", "before", b, "after", a);
    st = change ? audit_change(c, &k->actor, "unit.bulletin_schedule", "unit", k->unit, change)
                : DB_ERROR;
    return st;
}

enum handler_result units_schedule_set(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *freq = validate_string(&v, "frequency", true, 1, 16);
    struct bulletin_schedule s = { SCHEDULE_OFF, 0, 0 };
    if (freq && !schedule_frequency_parse(freq, &s.frequency)) {
        validator_error(&v, "frequency", "must be monthly, weekly or off");
        freq = NULL;
    }
    long long dom = 0, dow = 0, hour = 0;
    bool dom_given, dow_given, hour_given;
    bool monthly = freq && s.frequency == SCHEDULE_MONTHLY;
    bool weekly = freq && s.frequency == SCHEDULE_WEEKLY;
    validate_int(&v, "day_of_month", monthly, 1, 31, &dom, &dom_given);
    validate_int(&v, "day_of_week", weekly, 1, 7, &dow, &dow_given);
    validate_int(&v, "hour", monthly || weekly, 0, 23, &hour, &hour_given);
    if (freq && !monthly && dom_given)
        validator_error(&v, "day_of_month", "only with frequency monthly");
    if (freq && !weekly && dow_given)
        validator_error(&v, "day_of_week", "only with frequency weekly");
    if (freq && !monthly && !weekly && hour_given)
        validator_error(&v, "hour", "not with frequency off");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);
    s.day = (int)(monthly ? dom : weekly ? dow : 0);
    s.hour = (int)(monthly || weekly ? hour : 0);

    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct schedule_set_ctx k = { .actor = actor_of(r, &az), .cfg = r->cfg, .schedule = s,
                                  .now = scheduler_now(r) };
    snprintf(k.unit, sizeof k.unit, "%lld", az.unit_id);
    enum db_status st = db_transaction(r->db, schedule_set_tx, &k);
    if (st != DB_OK) {
        json_decref(k.after);
        return reply_db_error(r, st);
    }
    return reply_json(r, 200, k.after);
}

/* ------------------------------------------------------------------ */
/* retiring (sql/0024)                                                 */
/* ------------------------------------------------------------------ */

/* What is retired: a unit, or a portfolio or category of the unit. */
struct retire_kind {
    enum stmt stmt;
    const char *object;         /* audit object type, and the action's prefix */
    const char *not_found;      /* 404 detail */
};

static const struct retire_kind RETIRE_UNIT = { STMT_UNIT_SET_RETIRED, "unit", "no such unit" };
static const struct retire_kind RETIRE_PORTFOLIO = { STMT_PORTFOLIO_SET_RETIRED, "portfolio",
                                                     "no such portfolio in this unit" };
static const struct retire_kind RETIRE_CATEGORY = { STMT_CATEGORY_SET_RETIRED, "category",
                                                    "no such category in this unit" };

struct retire_ctx {
    const struct retire_kind *kind;
    struct audit_entry actor;
    char id[24], unit[24];
    bool retire, found;
    json_t *out;
};

static enum db_status retire_tx(struct db_conn *c, void *arg)
{
    struct retire_ctx *k = arg;
    json_decref(k->out);
    k->out = NULL;
    const char *p[] = { k->id, k->retire ? "true" : "false", k->unit };
    enum db_status st;
    PGresult *res = db_exec(c, k->kind->stmt, p, &st);
    if (!res)
        return st;
    k->found = PQntuples(res) == 1;
    if (!k->found) {
        PQclear(res);
        return DB_ABORT;
    }
    bool was = PQgetvalue(res, 0, 3)[0] == 't';
    k->out = json_pack("{s:I, s:s, s:o}", "id", (json_int_t)strtoll(k->id, NULL, 10), "name",
                       PQgetvalue(res, 0, 1), "retired_at",
                       PQgetisnull(res, 0, 2) ? json_null() : json_string(PQgetvalue(res, 0, 2)));
    PQclear(res);
    if (was == k->retire)
        return DB_OK; /* nothing changed, nothing to audit */
    char action[32];
    snprintf(action, sizeof action, "%s.%s", k->kind->object, k->retire ? "retire" : "restore");
    json_t *change = json_pack("{s:{s:b}, s:{s:b}}", "before", "retired", was, "after",
                               "retired", k->retire);
    return audit_change(c, &k->actor, action, k->kind->object, k->id, change);
}

/* PUT .../retired {"retired": bool}: the unit of the path (param 0) or
 * its portfolio or category (param 1). Managers of the unit only. */
static enum handler_result set_retired(struct request *r, const struct retire_kind *kind)
{
    struct validator v;
    validator_init(&v, r->json);
    json_t *x = json_is_object(r->json) ? json_object_get(r->json, "retired") : NULL;
    if (!x)
        validator_error(&v, "retired", "is required");
    else if (!json_is_boolean(x))
        validator_error(&v, "retired", "must be true or false");
    if (validator_failed(&v))
        return validator_reply(r, &v);
    validator_cleanup(&v);

    long long id = 0;
    if (kind != &RETIRE_UNIT && !request_param_id(r, 1, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, kind->not_found);
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct retire_ctx k = { .kind = kind, .actor = actor_of(r, &az), .retire = json_is_true(x) };
    snprintf(k.id, sizeof k.id, "%lld", kind == &RETIRE_UNIT ? az.unit_id : id);
    snprintf(k.unit, sizeof k.unit, "%lld", az.unit_id);
    enum db_status st = db_transaction(r->db, retire_tx, &k);
    if (st == DB_OK)
        return reply_json(r, 200, k.out);
    json_decref(k.out);
    if (st == DB_ABORT && !k.found)
        return reply_problem(r, PROBLEM_NOT_FOUND, kind->not_found);
    if (st == DB_CONSTRAINT)
        return reply_problem(r, PROBLEM_CONFLICT,
                             "a unit is retired only after its sub-units, and brought back only "
                             "under a unit in use");
    return reply_db_error(r, st);
}

enum handler_result units_set_retired(struct request *r)
{
    return set_retired(r, &RETIRE_UNIT);
}

enum handler_result units_portfolio_set_retired(struct request *r)
{
    return set_retired(r, &RETIRE_PORTFOLIO);
}

enum handler_result categories_set_retired(struct request *r)
{
    return set_retired(r, &RETIRE_CATEGORY);
}
