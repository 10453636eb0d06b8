/* The organisation tree: GET/POST /v1/org-units, PATCH /v1/org-units/{id}
 * (rename, move, the approval rule) and retiring a unit, a portfolio or a
 * category. A unit's members and portfolios are in routes/members.c, its
 * bulletin schedule in routes/unit_schedule.c. Who may do what is in
 * domain/authz.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "domain/units.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

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
    json_t *rows = db_json_rows(r->db, STMT_UNITS_ALL, NULL, unit_json_cols, &st);
    if (!rows)
        return reply_db_error(r, st);
    /* Rows come by id and a parent is always older than its child only
     * until units move, so index every node first, then link. */
    size_t n = json_array_size(rows);
    json_t *roots = json_array();
    for (size_t i = 0; i < n; i++)
        json_object_set_new(json_array_get(rows, i), "children", json_array());
    for (size_t i = 0; i < n; i++) {
        json_t *node = json_array_get(rows, i), *parent = NULL;
        json_int_t pid = json_integer_value(json_object_get(node, "parent_id"));
        for (size_t k = 0; pid && k < n && !parent; k++)
            if (json_integer_value(json_object_get(json_array_get(rows, k), "id")) == pid)
                parent = json_array_get(rows, k);
        json_array_append(parent ? json_object_get(parent, "children") : roots, node);
    }
    json_decref(rows);
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
    long long n = 0;
    const struct db_field spec[] = { DB_I64("levels", &n), DB_END };
    if (db_one(c, STMT_UNIT_LEVELS_WITH, params, spec, st) != 1)
        return -1; /* one row always; none would be a bug (db_one logs a failure) */
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
        return reply_invalid(r, "parent_id", l->detail);
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
        if ((st = db_run(c, STMT_UNIT_CREATE_LOCK, p, NULL)) != DB_OK)
            return st;
        long long made = 0;
        const struct db_field spec[] = { DB_I64("made", &made), DB_END };
        if (db_one(c, STMT_UNITS_CREATED_BY, p, spec, &st) < 0)
            return st;
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
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!caller_load(r, parent_id, &az, &out))
        return out;
    if (parent_id && !az.unit_exists) {
        return reply_invalid(r, "parent_id", "no such unit");
    }
    if (!authz_allows(&az, parent_id ? AUTHZ_MANAGE_UNIT : AUTHZ_CREATE_ROOT_UNIT))
        return reply_forbidden(r);

    struct unit_create_ctx u = { .actor = request_actor(r, az.account_id), .cfg = r->cfg, .admin = az.is_admin,
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
    if (db_json_one(c, STMT_UNIT_BY_ID, p1, unit_json_cols, &u->before, &st) != 1)
        return st == DB_OK ? DB_ERROR : st; /* the caller saw it; units are never removed */

    snprintf(u->parent, sizeof u->parent, "%lld", u->parent_id);
    char by[24]; /* who turns approval off, if this does (sql/0020) */
    snprintf(by, sizeof by, "%lld", u->actor.actor_id);
    const char *p2[] = { u->id, u->name, u->move ? "true" : "false",
                         u->move && u->parent_id ? u->parent : NULL, u->requires_approval, by };
    if (db_json_one(c, STMT_UNIT_UPDATE, p2, unit_json_cols, &u->after, &st) != 1)
        return st == DB_OK ? DB_ERROR : st;
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
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
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
            return reply_invalid(r, "parent_id", "no such unit");
        }
        if (!authz_allows(&target, parent_id ? AUTHZ_MANAGE_UNIT : AUTHZ_CREATE_ROOT_UNIT))
            return reply_forbidden(r);
    }

    struct unit_update_ctx u = { .actor = request_actor(r, az.account_id), .cfg = r->cfg,
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
    static const struct db_json_col cols[] = {
        DBJ("id", "id", INT), DBJ("name", "name", STRING),
        DBJ("retired_at", "retired_at", STRING), DBJ("was_retired", "was_retired", BOOL),
        DBJ_DONE,
    };
    int found = db_json_one(c, k->kind->stmt, p, cols, &k->out, &st);
    if (found < 0)
        return st;
    k->found = found == 1;
    if (!k->found)
        return DB_ABORT;
    bool was = json_is_true(json_object_get(k->out, "was_retired"));
    json_object_del(k->out, "was_retired");
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
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long id = 0;
    if (kind != &RETIRE_UNIT && !request_param_id(r, 1, &id))
        return reply_problem(r, PROBLEM_NOT_FOUND, kind->not_found);
    struct authz az;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct retire_ctx k = { .kind = kind, .actor = request_actor(r, az.account_id), .retire = json_is_true(x) };
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
