/* Units and memberships. Roles and portfolios travel to SQL as JSON
 * arrays, so no SQL text or array literal is ever built from input. */
#include "domain/units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/suggestions.h"

static const char *const levels[] = { "committee", "general_branch", "branch", "group" };
static const char *const roles_known[] = { "member", "committee", "secretary" };

static bool in_list(const char *s, const char *const *list, size_t n)
{
    for (size_t i = 0; s && i < n; i++)
        if (!strcmp(s, list[i]))
            return true;
    return false;
}

bool unit_level_valid(const char *level) { return in_list(level, levels, 4); }
bool membership_role_valid(const char *role) { return in_list(role, roles_known, 3); }

const struct db_json_col unit_json_cols[] = {
    DBJ("id", "id", INT), DBJ("name", "name", STRING), DBJ("level", "level", STRING),
    DBJ("requires_approval", "requires_approval", BOOL), DBJ("retired_at", "retired_at", STRING),
    DBJ("parent_id", "parent_id", INT), DBJ_DONE,
};

enum db_status unit_create(struct db_conn *c, const struct audit_entry *actor,
                           long long parent_id, const char *name, const char *level,
                           json_t **out)
{
    char parent[24];
    snprintf(parent, sizeof parent, "%lld", parent_id);
    const char *params[] = { parent_id ? parent : NULL, name, level };
    enum db_status st;
    if (db_json_one(c, STMT_UNIT_INSERT, params, unit_json_cols, out, &st) < 0)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", (long long)json_integer_value(json_object_get(*out, "id")));

    json_t *change = json_pack("{s:O}", "after", *out);
    st = audit_change(c, actor, "unit.create", "unit",
                       id, change);
    return st;
}

static enum db_status exec_only(struct db_conn *c, enum stmt id, const char *const *params)
{
    return db_run(c, id, params, NULL);
}

enum db_status membership_set(struct db_conn *c, const struct audit_entry *actor,
                              long long unit_id, long long account_id, json_t *roles,
                              json_t *portfolios, bool *changed)
{
    char a[24], u[24];
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", unit_id);
    char *roles_text = json_dumps(roles, JSON_COMPACT);
    char *ports_text = json_dumps(portfolios, JSON_COMPACT);
    enum db_status st = DB_ERROR;
    json_t *before_roles = NULL, *before_ports = NULL, *after_roles = NULL, *after_ports = NULL;
    *changed = false;
    if (!roles_text || !ports_text)
        goto out;

    const char *pk[] = { a, u };
    before_roles = db_json_value(c, STMT_MEMBERSHIP_ROLES, pk, "roles", &st);
    if (!before_roles)
        goto out;
    before_ports = db_json_value(c, STMT_COMMITTEE_PORTFOLIOS_OF, pk, "portfolios", &st);
    if (!before_ports)
        goto out;

    /* Every named portfolio must exist in the unit. */
    const char *pc[] = { u, ports_text };
    long long found = 0;
    const struct db_field spec[] = { DB_I64("named", &found), DB_END };
    if (db_one(c, STMT_PORTFOLIOS_COUNT_NAMED, pc, spec, &st) < 0)
        goto out;
    if ((size_t)found != json_array_size(portfolios)) {
        st = DB_ABORT;
        goto out;
    }

    const char *pr[] = { a, u, roles_text };
    const char *pp[] = { a, u, ports_text };
    if ((st = exec_only(c, STMT_MEMBERSHIP_DELETE_OTHER_ROLES, pr)) != DB_OK ||
        (st = exec_only(c, STMT_MEMBERSHIP_ADD, pr)) != DB_OK ||
        (st = exec_only(c, STMT_COMMITTEE_PORTFOLIOS_DELETE_OTHERS, pp)) != DB_OK ||
        (st = exec_only(c, STMT_COMMITTEE_PORTFOLIOS_ADD, pp)) != DB_OK)
        goto out;

    after_roles = db_json_value(c, STMT_MEMBERSHIP_ROLES, pk, "roles", &st);
    if (!after_roles)
        goto out;
    after_ports = db_json_value(c, STMT_COMMITTEE_PORTFOLIOS_OF, pk, "portfolios", &st);
    if (!after_ports)
        goto out;
    *changed = !json_equal(before_roles, after_roles) || !json_equal(before_ports, after_ports);
    st = DB_OK;
    if (*changed) {
        char object[56];
        snprintf(object, sizeof object, "%s/%s", u, a);
        json_t *change = json_pack("{s:{s:O, s:O}, s:{s:O, s:O}}", "before", "roles",
                                   before_roles, "portfolios", before_ports, "after", "roles",
                                   after_roles, "portfolios", after_ports);
        st = audit_change(c, actor, "membership.set", "membership",
                           object, change);
    }
out:
    json_decref(before_roles);
    json_decref(before_ports);
    json_decref(after_roles);
    json_decref(after_ports);
    free(roles_text);
    free(ports_text);
    return st;
}

/* Routes open suggestion o (a row of STMT_MEMBER_OPEN_ASSIGNMENTS) again
 * now that previous no longer holds the role that made it the assignee,
 * and adds where it went to o. */
static enum db_status reassign_one(struct db_conn *c, const struct audit_entry *actor,
                                   long long previous, json_t *o)
{
    long long id = (long long)json_integer_value(json_object_get(o, "id"));
    long long unit = (long long)json_integer_value(json_object_get(o, "unit_id"));
    const char *public_id = json_string_value(json_object_get(o, "suggestion_id"));
    const char *portfolio = json_string_value(json_object_get(o, "portfolio"));
    struct route_result route;
    enum db_status st = suggestion_route(c, unit, portfolio ? portfolio : "", &route);
    if (st != DB_OK)
        return st;
    char sid[24], who[24], reason[360];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(who, sizeof who, "%lld", route.assignee_id);
    snprintf(reason, sizeof reason, "the assignee left the unit; %s", route.reason);
    const char *ps[] = { sid, route.assignee_id ? who : NULL };
    if ((st = db_run(c, STMT_SUGGESTION_SET_ASSIGNEE, ps, NULL)) != DB_OK)
        return st;
    st = suggestion_assignment_record(c, id, route.assignee_id,
                                      route.assignee_id ? route.unit_id : unit, reason,
                                      actor->actor_id, previous, false, NULL);
    if (st != DB_OK)
        return st;
    json_t *name = json_null();
    if (route.assignee_id) {
        const char *pa[] = { who };
        json_t *a = NULL;
        static const struct db_json_col cols[] = { DBJ("display_name", "display_name", STRING),
                                                   DBJ_DONE };
        if (db_json_one(c, STMT_ACCOUNT_BY_ID, pa, cols, &a, &st) < 0)
            return st;
        if (a) {
            json_decref(name);
            name = json_incref(json_object_get(a, "display_name"));
            json_decref(a);
        }
    }
    json_object_set_new(o, "assignee_id", route.assignee_id
                                              ? json_integer((json_int_t)route.assignee_id)
                                              : json_null());
    json_object_set_new(o, "assignee_name", name);
    json_t *change = json_pack("{s:{s:I}, s:{s:o, s:s}}", "before", "assignee_id",
                               (json_int_t)previous, "after", "assignee_id",
                               json_incref(json_object_get(o, "assignee_id")), "reason", reason);
    return audit_change(c, actor, "suggestion.assign", "suggestion", public_id, change);
}

enum db_status membership_remove(struct db_conn *c, const struct audit_entry *actor,
                                 long long unit_id, long long account_id, json_t **out)
{
    *out = NULL;
    char a[24], u[24];
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *pk[] = { a, u };
    enum db_status st;
    json_t *roles = db_json_value(c, STMT_MEMBERSHIP_ROLES, pk, "roles", &st);
    if (!roles)
        return st;
    if (!json_array_size(roles)) {
        json_decref(roles);
        return DB_ABORT;
    }
    json_t *ports = db_json_value(c, STMT_COMMITTEE_PORTFOLIOS_OF, pk, "portfolios", &st);
    json_t *none = json_array();
    bool changed;
    if (!ports || (st = membership_set(c, actor, unit_id, account_id, none, none, &changed)) !=
                      DB_OK) {
        json_decref(roles);
        json_decref(ports);
        json_decref(none);
        return st;
    }
    json_decref(none);
    *out = json_pack("{s:o, s:o}", "roles", roles, "portfolios", ports);

    /* The roles are gone, so routing no longer finds the account here. */
    static const struct db_json_col open_cols[] = {
        DBJ("id", "id", INT), DBJ("suggestion_id", "public_id", STRING),
        DBJ("unit_id", "unit_id", INT), DBJ("status", "status", STRING),
        DBJ("title", "title", STRING), DBJ("portfolio", "portfolio", STRING), DBJ_DONE,
    };
    json_t *open = db_json_rows(c, STMT_MEMBER_OPEN_ASSIGNMENTS, pk, open_cols, &st);
    if (!open)
        goto fail;
    json_object_set_new(*out, "reassigned", open);
    size_t i;
    json_t *o;
    json_array_foreach(open, i, o) {
        if ((st = reassign_one(c, actor, account_id, o)) != DB_OK)
            goto fail;
        json_object_del(o, "id");
        json_object_del(o, "unit_id");
        json_object_del(o, "portfolio");
    }
    return DB_OK;
fail:
    json_decref(*out);
    *out = NULL;
    return st;
}
