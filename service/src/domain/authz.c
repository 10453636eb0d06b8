/* The policy table of who may do what. A secretary manages their unit and
 * everything below it; an admin manages everything. */
#include "domain/authz.h"

#include <jansson.h>
#include <stdio.h>
#include <string.h>

enum db_status authz_load(struct db_conn *c, long long account_id, long long unit_id,
                          struct authz *out)
{
    memset(out, 0, sizeof *out);
    out->account_id = account_id;
    out->unit_id = unit_id;
    char a[24], u[24];
    snprintf(a, sizeof a, "%lld", account_id);
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *params[] = { a, u };
    enum db_status st;
    struct authz_facts f;
    const struct db_field spec[] = { AUTHZ_FACTS_FIELDS("", &f), DB_END };
    if (db_one(c, STMT_AUTHZ_UNIT, params, spec, &st) < 0)
        return st;
    authz_from_facts(&f, out);
    return DB_OK;
}

void authz_from_facts(const struct authz_facts *f, struct authz *out)
{
    out->is_admin = f->is_admin;
    out->unit_exists = f->unit_exists;
    out->secretary_above = f->secretary_above;
    json_t *roles = json_loads(f->roles, 0, NULL);
    size_t i;
    json_t *r;
    json_array_foreach(roles, i, r) {
        const char *role = json_string_value(r);
        if (!role)
            continue;
        out->member |= !strcmp(role, "member");
        out->committee |= !strcmp(role, "committee");
        out->secretary |= !strcmp(role, "secretary");
    }
    json_decref(roles);
}

bool authz_allows(const struct authz *a, enum authz_action action)
{
    bool manages = a->is_admin || a->secretary_above;
    switch (action) {
    case AUTHZ_VIEW_TREE:
        return a->account_id > 0;
    case AUTHZ_CREATE_ROOT_UNIT:
    case AUTHZ_GRANT_ADMIN:
        return a->is_admin;
    case AUTHZ_MANAGE_UNIT:
        return manages;
    case AUTHZ_VIEW_MEMBERS:
        return manages || a->committee || a->secretary;
    case AUTHZ_VIEW_PORTFOLIOS:
    case AUTHZ_VIEW_SHOWN:
        return manages || a->member || a->committee || a->secretary;
    case AUTHZ_CREATE_ACCOUNT:
        return a->unit_id ? manages : a->is_admin;
    }
    return false;
}

enum db_status authz_manages_account(struct db_conn *c, const struct authz *manager,
                                     long long target, bool *yes)
{
    *yes = manager->is_admin;
    if (*yes)
        return DB_OK;
    char a[24], t[24];
    snprintf(a, sizeof a, "%lld", manager->account_id);
    snprintf(t, sizeof t, "%lld", target);
    const char *params[] = { a, t };
    enum db_status st;
    const struct db_field spec[] = { DB_BOOL("manages", yes), DB_END };
    return db_one(c, STMT_AUTHZ_MANAGES_ACCOUNT, params, spec, &st) < 0 ? st : DB_OK;
}

void authz_suggestion_from(long long account_id, long long author_id, long long assignee_id,
                           const struct authz *unit, const struct authz *esc,
                           struct authz_suggestion *g)
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

enum db_status authz_suggestion_load(struct db_conn *c, long long account_id, long long unit_id,
                                     long long escalated_to, long long author_id,
                                     long long assignee_id, struct authz_suggestion *g)
{
    struct authz au, ae;
    enum db_status st = authz_load(c, account_id, unit_id, &au);
    if (st == DB_OK && escalated_to)
        st = authz_load(c, account_id, escalated_to, &ae);
    if (st != DB_OK)
        return st;
    authz_suggestion_from(account_id, author_id, assignee_id, &au, escalated_to ? &ae : NULL, g);
    return DB_OK;
}

bool authz_suggestion_allows(const struct authz_suggestion *g,
                             enum authz_suggestion_action action)
{
    switch (action) {
    case AUTHZ_SUGGESTION_VIEW:
        return g->author || g->assignee || g->committee || g->manages;
    case AUTHZ_SUGGESTION_READ:
        /* Who co-signed it, or whose suggestion was merged into it, reads
         * the suggestion they now support (issue 22), not its thread. */
        return g->author || g->assignee || g->committee || g->manages || g->supporter;
    case AUTHZ_SUGGESTION_HANDLE:
        /* The committee may read and discuss; handling is the assignee's
         * and the managers'. */
        return g->assignee || g->manages;
    case AUTHZ_SUGGESTION_MANAGE:
        return g->manages;
    case AUTHZ_SUGGESTION_STAFF:
        return g->committee || g->manages || g->assignee;
    case AUTHZ_SUGGESTION_AUTHOR:
        return g->author;
    }
    return false;
}
