/* Units and memberships. Roles and portfolios travel to SQL as JSON
 * arrays, so no SQL text or array literal is ever built from input. */
#include "domain/units.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

json_t *unit_json(PGresult *res, int row)
{
    json_t *u = json_pack("{s:I, s:s, s:s, s:b}", "id",
                          (json_int_t)strtoll(PQgetvalue(res, row, 0), NULL, 10), "name",
                          PQgetvalue(res, row, 2), "level", PQgetvalue(res, row, 3),
                          "requires_approval", PQgetvalue(res, row, 4)[0] == 't');
    json_object_set_new(u, "retired_at",
                        PQgetisnull(res, row, 5) ? json_null() : json_string(PQgetvalue(res, row, 5)));
    json_object_set_new(u, "parent_id",
                        PQgetisnull(res, row, 1)
                            ? json_null()
                            : json_integer((json_int_t)strtoll(PQgetvalue(res, row, 1), NULL, 10)));
    return u;
}

enum db_status unit_create(struct db_conn *c, const struct audit_entry *actor,
                           long long parent_id, const char *name, const char *level,
                           json_t **out)
{
    char parent[24];
    snprintf(parent, sizeof parent, "%lld", parent_id);
    const char *params[] = { parent_id ? parent : NULL, name, level };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_UNIT_INSERT, params, &st);
    if (!res)
        return st;
    *out = unit_json(res, 0);
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    json_t *change = json_pack("{s:O}", "after", *out);
    st = audit_change(c, actor, "unit.create", "unit",
                       id, change);
    return st;
}

/* Runs a statement returning one JSON text value; a new reference. */
static json_t *json_value(struct db_conn *c, enum stmt id, const char *const *params,
                          enum db_status *st)
{
    PGresult *res = db_exec(c, id, params, st);
    if (!res)
        return NULL;
    json_t *v = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    return v;
}

static enum db_status exec_only(struct db_conn *c, enum stmt id, const char *const *params)
{
    enum db_status st;
    PQclear(db_exec(c, id, params, &st));
    return st;
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
    before_roles = json_value(c, STMT_MEMBERSHIP_ROLES, pk, &st);
    if (!before_roles)
        goto out;
    before_ports = json_value(c, STMT_COMMITTEE_PORTFOLIOS_OF, pk, &st);
    if (!before_ports)
        goto out;

    /* Every named portfolio must exist in the unit. */
    const char *pc[] = { u, ports_text };
    PGresult *res = db_exec(c, STMT_PORTFOLIOS_COUNT_NAMED, pc, &st);
    if (!res)
        goto out;
    long long found = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
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

    after_roles = json_value(c, STMT_MEMBERSHIP_ROLES, pk, &st);
    if (!after_roles)
        goto out;
    after_ports = json_value(c, STMT_COMMITTEE_PORTFOLIOS_OF, pk, &st);
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
