/* A unit's categories (domain/categories.h). */
#include "domain/categories.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A row (id, unit_id, name, portfolio, ack_days, answer_days, grace_days,
 * retired_at). */
static json_t *category_json(PGresult *res, int i)
{
    return json_pack("{s:I, s:I, s:s, s:s, s:i, s:i, s:i, s:o}", "id",
                     (json_int_t)strtoll(PQgetvalue(res, i, 0), NULL, 10), "unit_id",
                     (json_int_t)strtoll(PQgetvalue(res, i, 1), NULL, 10), "name",
                     PQgetvalue(res, i, 2), "portfolio", PQgetvalue(res, i, 3), "ack_days",
                     atoi(PQgetvalue(res, i, 4)), "answer_days", atoi(PQgetvalue(res, i, 5)),
                     "grace_days", atoi(PQgetvalue(res, i, 6)), "retired_at",
                     PQgetisnull(res, i, 7) ? json_null() : json_string(PQgetvalue(res, i, 7)));
}

json_t *categories_of_unit(struct db_conn *c, long long unit_id, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    char u[24];
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *params[] = { u };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_CATEGORIES_FOR_UNIT, params, &st);
    if (!res) {
        domain_settle(out, st);
        return NULL;
    }
    json_t *list = json_array();
    for (int i = 0; i < PQntuples(res); i++)
        json_array_append_new(list, category_json(res, i));
    PQclear(res);
    return list;
}

struct category_ctx {
    const struct audit_entry *actor;
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
    return audit_change(c, k->actor, "category.create", "category", id, change);
}

json_t *category_create(struct db_conn *c, const struct audit_entry *actor, long long unit_id,
                        const struct category_fields *f, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    char u[24], a[16], b[16], g[16];
    snprintf(u, sizeof u, "%lld", unit_id);
    snprintf(a, sizeof a, "%d", f->ack_days);
    snprintf(b, sizeof b, "%d", f->answer_days);
    snprintf(g, sizeof g, "%d", f->grace_days);
    struct category_ctx k = { actor, { u, f->name, f->portfolio, a, b, g }, NULL };
    enum db_status st = db_transaction(c, category_create_tx, &k);
    if (st == DB_OK)
        return k.category;
    json_decref(k.category);
    if (st == DB_UNIQUE)
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the unit already has a category of that name");
    else if (st == DB_CONSTRAINT) /* sql/0024 */
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the unit is retired");
    else
        domain_settle(out, st);
    return NULL;
}

struct category_update_ctx {
    const struct audit_entry *actor;
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
    return audit_change(c, k->actor, "category.update", "category", k->id, change);
}

json_t *category_update(struct db_conn *c, const struct audit_entry *actor, long long unit_id,
                        long long category_id, const struct category_fields *f,
                        struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct category_update_ctx k = { .actor = actor };
    char days[3][16];
    const int given[3] = { f->ack_days, f->answer_days, f->grace_days };
    snprintf(k.id, sizeof k.id, "%lld", category_id);
    snprintf(k.unit, sizeof k.unit, "%lld", unit_id);
    k.params[0] = k.id;
    k.params[1] = f->name;
    k.params[2] = f->portfolio;
    for (int i = 0; i < 3; i++) {
        snprintf(days[i], sizeof days[i], "%d", given[i]);
        k.params[3 + i] = given[i] >= 0 ? days[i] : NULL;
    }
    enum db_status st = db_transaction(c, category_update_tx, &k);
    json_decref(k.before);
    if (st == DB_OK)
        return k.after;
    json_decref(k.after);
    if (st == DB_ABORT && k.missing)
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such category in this unit");
    else if (st == DB_UNIQUE)
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the unit already has a category of that name");
    else if (st == DB_CONSTRAINT)
        domain_refuse(out, DOMAIN_INVALID, "/answer_days", "must be at least ack_days");
    else
        domain_settle(out, st);
    return NULL;
}
