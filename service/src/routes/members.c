/* A unit's people: its members with their roles and portfolios
 * (GET /v1/org-units/{id}/members, PUT .../members/{account_id}), its
 * portfolios, and the suggestions its members were shown. Who may do what
 * is in domain/authz.c. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "db/shown.h"
#include "domain/units.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"
#include "util/decimal.h"

#define MEMBERS_PAGE_DEFAULT 100
#define MEMBERS_PAGE_MAX 500

enum handler_result units_members(struct request *r)
{
    long long cursor = 0, limit = MEMBERS_PAGE_DEFAULT;
    const char *cs = request_query(r, "cursor"), *ls = request_query(r, "limit");
    if ((cs && !decimal_parse(cs, 0, 1000000000000000000LL, &cursor)) ||
        (ls && !decimal_parse(ls, 1, MEMBERS_PAGE_MAX, &limit)))
        return reply_invalid(r, "", "cursor must be an account id and limit 1-500");
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
    static const struct db_json_col cols[] = {
        DBJ("account_id", "id", INT), DBJ("login", "login", STRING),
        DBJ("display_name", "display_name", STRING), DBJ("roles", "roles", JSON),
        DBJ("portfolios", "portfolios", JSON), DBJ_DONE,
    };
    json_t *members = db_json_rows(r->db, STMT_MEMBERS_OF_UNIT, params, cols, &st);
    if (!members)
        return reply_db_error(r, st);
    size_t n = json_array_size(members);
    json_t *next = json_null();
    if (n && n == (size_t)limit) {
        char last[24];
        snprintf(last, sizeof last, "%lld",
                 (long long)json_integer_value(
                     json_object_get(json_array_get(members, n - 1), "account_id")));
        json_decref(next);
        next = json_string(last);
    }
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
    int found = db_one(c, STMT_ACCOUNT_BY_ID, params, NULL, &st);
    if (found < 0)
        return st;
    m->account_missing = found == 0;
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
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long account_id;
    if (!request_param_id(r, 1, &account_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
    struct authz az;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);

    json_t *no_portfolios = json_array();
    struct member_set_ctx m = { request_actor(r, az.account_id), az.unit_id, account_id, roles,
                                portfolios ? portfolios : no_portfolios, false };
    enum db_status st = db_transaction(r->db, member_set_tx, &m);
    if (st == DB_ABORT && m.account_missing) {
        json_decref(no_portfolios);
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
    }
    if (st == DB_ABORT) {
        json_decref(no_portfolios);
        return reply_invalid(r, "portfolios", "names a portfolio this unit does not have");
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

/* A portfolio as the API shows it (STMT_PORTFOLIOS_OF_UNIT). */
static const struct db_json_col portfolio_cols[] = {
    DBJ("id", "id", INT), DBJ("name", "name", STRING), DBJ("retired_at", "retired_at", STRING),
    DBJ_DONE,
};

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
    json_t *list = db_json_rows(r->db, STMT_PORTFOLIOS_OF_UNIT, params, portfolio_cols, &st);
    if (!list)
        return reply_db_error(r, st);
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
    static const struct db_json_col cols[] = {
        DBJ("id", "id", INT), DBJ("name", "name", STRING), DBJ_DONE,
    };
    if (db_json_one(c, STMT_PORTFOLIO_INSERT, params, cols, &p->portfolio, &st) != 1)
        return st == DB_OK ? DB_ERROR : st;
    json_object_set_new(p->portfolio, "retired_at", json_null());
    char id[24];
    snprintf(id, sizeof id, "%lld",
             (long long)json_integer_value(json_object_get(p->portfolio, "id")));
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
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct portfolio_ctx p = { .actor = request_actor(r, az.account_id), .name = name };
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
/* taking a member out of the unit                                     */
/* ------------------------------------------------------------------ */

struct member_remove_ctx {
    struct audit_entry actor;
    long long unit_id, account_id;
    bool preview, not_member;
    json_t *out;
};

static enum db_status member_remove_tx(struct db_conn *c, void *arg)
{
    struct member_remove_ctx *m = arg;
    json_decref(m->out);
    m->out = NULL;
    enum db_status st = membership_remove(c, &m->actor, m->unit_id, m->account_id, &m->out);
    m->not_member = st == DB_ABORT && !m->out;
    /* The preview is the removal itself, rolled back: it cannot differ
     * from what the removal would do at that moment. */
    return st == DB_OK && m->preview ? DB_ABORT : st;
}

/* GET .../members/{account_id}/removal (preview) and DELETE
 * .../members/{account_id}: the same answer. */
static enum handler_result member_remove(struct request *r, bool preview)
{
    long long account_id;
    if (!request_param_id(r, 1, &account_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "the account holds no role in this unit");
    struct authz az;
    enum handler_result out;
    if (!unit_from_path(r, &az, &out))
        return out;
    if (!authz_allows(&az, AUTHZ_MANAGE_UNIT))
        return reply_forbidden(r);
    struct member_remove_ctx m = { .actor = request_actor(r, az.account_id),
                                   .unit_id = az.unit_id, .account_id = account_id,
                                   .preview = preview };
    enum db_status st = db_transaction(r->db, member_remove_tx, &m);
    if (m.not_member)
        return reply_problem(r, PROBLEM_NOT_FOUND, "the account holds no role in this unit");
    if (st != DB_OK && !(preview && st == DB_ABORT && m.out)) {
        json_decref(m.out);
        return reply_db_error(r, st);
    }
    json_object_set_new(m.out, "unit_id", json_integer((json_int_t)az.unit_id));
    json_object_set_new(m.out, "account_id", json_integer((json_int_t)account_id));
    json_object_set_new(m.out, "done", json_boolean(!preview));
    return reply_json(r, 200, m.out);
}

enum handler_result units_member_removal_preview(struct request *r)
{
    return member_remove(r, true);
}

enum handler_result units_member_remove(struct request *r)
{
    return member_remove(r, false);
}
