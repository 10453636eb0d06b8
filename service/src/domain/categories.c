/* A unit's categories (domain/categories.h). */
#include "domain/categories.h"

#include <stdio.h>
#include <string.h>

#include "db/rows.h"

/* A category as the API shows it, from any of the category statements. */
static const struct db_json_col category_cols[] = {
    DBJ("id", "id", INT),
    DBJ("unit_id", "unit_id", INT),
    DBJ("name", "name", STRING),
    DBJ("portfolio", "portfolio", STRING),
    DBJ("ack_days", "ack_days", INT),
    DBJ("answer_days", "answer_days", INT),
    DBJ("grace_days", "grace_days", INT),
    DBJ("retired_at", "retired_at", STRING),
    DBJ_DONE,
};

json_t *categories_of_unit(struct db_conn *c, long long unit_id, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    char u[24];
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *params[] = { u };
    enum db_status st;
    json_t *list = db_json_rows(c, STMT_CATEGORIES_FOR_UNIT, params, category_cols, &st);
    if (!list)
        domain_settle(out, st);
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
    if (db_json_one(c, STMT_CATEGORY_INSERT, k->params, category_cols, &k->category, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    char id[24];
    snprintf(id, sizeof id, "%" JSON_INTEGER_FORMAT,
             json_integer_value(json_object_get(k->category, "id")));
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
    int found = db_json_one(c, STMT_CATEGORY_GET, pg, category_cols, &k->before, &st);
    if (found < 0)
        return st;
    k->missing = found == 0;
    if (k->missing)
        return DB_ABORT;
    if (db_json_one(c, STMT_CATEGORY_UPDATE, k->params, category_cols, &k->after, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
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
