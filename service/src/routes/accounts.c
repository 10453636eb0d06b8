/* POST /v1/accounts (an admin, or a secretary for their units, creates an
 * account with a one-time activation code) and POST
 * /v1/accounts/{id}/activation-code (a new code for a lost one). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/accounts.h"
#include "domain/units.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"

struct account_create_ctx {
    struct audit_entry actor;
    const char *login, *display_name;
    bool is_admin;
    long long unit_id;
    json_t *roles;
    unsigned ttl;
    struct account_new out;
};

static enum db_status account_create_tx(struct db_conn *c, void *arg)
{
    struct account_create_ctx *a = arg;
    enum db_status st = account_create(c, &a->actor, a->login, a->display_name, a->is_admin,
                                       a->ttl, &a->out);
    if (st != DB_OK || !a->unit_id)
        return st;
    json_t *none = json_array();
    bool changed;
    st = membership_set(c, &a->actor, a->unit_id, a->out.id, a->roles, none, &changed);
    json_decref(none);
    return st;
}

static json_t *code_json(const struct account_new *n)
{
    return json_pack("{s:s, s:s}", "activation_code", n->code, "activation_expires_at",
                     n->code_expires_at);
}

enum handler_result accounts_create(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *login = validate_string(&v, "login", true, 1, LOGIN_MAX_CHARS);
    const char *name = validate_name(&v, "display_name", true, DISPLAY_NAME_MAX_CHARS);
    validate_trimmed(&v, "login", login);
    long long unit_id;
    bool unit_given;
    validate_id(&v, "unit_id", false, true, &unit_id, &unit_given);
    json_t *roles = validate_string_array(&v, "roles", false, 3, 1, 16);
    bool is_admin = validate_bool(&v, "is_admin", false);
    size_t i;
    json_t *role;
    json_array_foreach(roles, i, role) {
        if (!membership_role_valid(json_string_value(role))) {
            char pointer[32];
            snprintf(pointer, sizeof pointer, "roles/%zu", i);
            validator_error(&v, pointer, "must be member, committee or secretary");
        }
    }
    if (roles && !unit_id)
        validator_error(&v, "roles", "roles need a unit_id");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    struct authz az;
    if (!caller_load(r, unit_id, &az, &out))
        return out;
    if (unit_id && !az.unit_exists) {
        return reply_invalid(r, "unit_id", "no such unit");
    }
    if (!authz_allows(&az, AUTHZ_CREATE_ACCOUNT) ||
        (is_admin && !authz_allows(&az, AUTHZ_GRANT_ADMIN)))
        return reply_forbidden(r);

    json_t *default_roles = json_pack("[s]", "member");
    struct account_create_ctx a = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id, .request_id = r->request_id },
        .login = login, .display_name = name, .is_admin = is_admin, .unit_id = unit_id,
        .roles = roles ? roles : default_roles, .ttl = r->cfg->activation_ttl,
    };
    enum db_status st = db_transaction(r->db, account_create_tx, &a);
    json_decref(default_roles);
    if (st == DB_UNIQUE)
        return reply_problem(r, PROBLEM_CONFLICT, "an account with that login exists");
    if (st != DB_OK)
        return reply_db_error(r, st);

    json_t *body = code_json(&a.out);
    json_object_set_new(body, "account",
                        json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)a.out.id, "login",
                                  login, "display_name", name, "is_admin", is_admin));
    return reply_json(r, 201, body);
}

struct new_code_ctx {
    struct audit_entry actor;
    long long account_id;
    unsigned ttl;
    struct account_new out;
};

static enum db_status new_code_tx(struct db_conn *c, void *arg)
{
    struct new_code_ctx *n = arg;
    return account_new_code(c, &n->actor, n->account_id, n->ttl, &n->out);
}

enum handler_result accounts_new_code(struct request *r)
{
    long long account_id;
    if (!request_param_id(r, 0, &account_id))
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
    struct authz az;
    enum handler_result out;
    if (!caller_load(r, 0, &az, &out))
        return out;
    bool manages;
    enum db_status st = authz_manages_account(r->db, &az, account_id, &manages);
    if (st != DB_OK)
        return reply_db_error(r, st);
    if (!manages)
        return reply_forbidden(r);

    struct new_code_ctx n = {
        .actor = { .actor = AUDIT_ACCOUNT, .actor_id = az.account_id, .request_id = r->request_id },
        .account_id = account_id, .ttl = r->cfg->activation_ttl,
    };
    st = db_transaction(r->db, new_code_tx, &n);
    if (st == DB_ABORT)
        return reply_problem(r, PROBLEM_NOT_FOUND, "no such account");
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_json(r, 200, code_json(&n.out));
}
