/* POST /v1/org-units/{id}/roster/preview and /roster: the roster import of
 * the command line (domain/roster.c) for a secretary, for one unit and what
 * is below it. The preview writes nothing; the import is all or nothing. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "domain/roster.h"
#include "http/reply.h"
#include "routes/routes.h"

struct roster_req {
    struct authz az;
    struct audit_entry actor;
    struct roster_options opt;
    struct roster roster;
    struct roster_errors errs;
    bool parsed;
};

static void roster_req_free(struct roster_req *q)
{
    roster_free(&q->roster);
    roster_errors_free(&q->errs);
}

/*
 * The caller's rights, the unit, and the file parsed and checked against
 * the unit. false: a reply has been queued in *out. true: q->errs may
 * still hold the file's errors (q->parsed false then).
 */
static bool roster_load(struct request *r, struct roster_req *q, enum handler_result *out)
{
    if (!unit_from_path(r, &q->az, out))
        return false;
    if (!authz_allows(&q->az, AUTHZ_MANAGE_UNIT)) {
        *out = reply_forbidden(r);
        return false;
    }
    char uid[24];
    snprintf(uid, sizeof uid, "%lld", q->az.unit_id);
    const char *params[] = { uid };
    enum db_status st;
    char *name = NULL;
    const struct db_field spec[] = { DB_I64_N("parent_id", &q->opt.root_parent),
                                     DB_TEXT_DUP("name", &name), DB_END };
    int found = db_one(r->db, STMT_UNIT_BY_ID, params, spec, &st);
    if (found <= 0) {
        *out = found < 0 ? reply_db_error(r, st)
                         : reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
        return false;
    }
    q->opt.keep_names = true;
    q->actor = (struct audit_entry){ .actor = AUDIT_ACCOUNT, .actor_id = q->az.account_id,
                                     .request_id = r->request_id };
    q->opt.actor = &q->actor;
    if (roster_parse(r->body ? r->body : "", r->body_len, &q->roster, &q->errs) == 0) {
        roster_require_root(&q->roster, name, &q->errs);
        q->parsed = q->errs.total == 0;
    }
    free(name);
    return true;
}

/* The path of unit i of the file, "a/b/c". */
static json_t *unit_path(const struct roster *ro, size_t i)
{
    size_t chain[64], n = 0;
    for (size_t k = i; k != ROSTER_NONE && n < 64; k = ro->units[k].parent)
        chain[n++] = k;
    size_t len = 0;
    for (size_t k = 0; k < n; k++)
        len += strlen(ro->units[chain[k]].name) + 1;
    char *path = malloc(len + 1);
    if (!path)
        return NULL;
    path[0] = '\0';
    for (size_t k = n; k-- > 0;) {
        strcat(path, ro->units[chain[k]].name);
        if (k)
            strcat(path, "/");
    }
    json_t *v = json_string(path);
    free(path);
    return v;
}

/* [{line, message}] of the errors kept. */
static json_t *errors_json(const struct roster_errors *errs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < errs->count; i++)
        json_array_append_new(a, json_pack("{s:I, s:s}", "line", (json_int_t)errs->items[i].line,
                                           "message", errs->items[i].message));
    return a;
}

/* The problem for a refused file: 422, each error with its line. */
static enum handler_result reply_roster_errors(struct request *r, const struct roster_errors *errs)
{
    json_t *a = json_array();
    for (size_t i = 0; i < errs->count; i++) {
        char detail[ROSTER_ERROR_BYTES + 32];
        if (errs->items[i].line)
            snprintf(detail, sizeof detail, "第 %u 行：%s", errs->items[i].line,
                     errs->items[i].message);
        else
            snprintf(detail, sizeof detail, "%s", errs->items[i].message);
        json_array_append_new(a, json_pack("{s:s, s:s}", "pointer", "", "detail", detail));
    }
    if (errs->total > errs->count) {
        char detail[64];
        snprintf(detail, sizeof detail, "……另有 %zu 处错误", errs->total - errs->count);
        json_array_append_new(a, json_pack("{s:s, s:s}", "pointer", "", "detail", detail));
    }
    return reply_validation(r, a);
}

enum handler_result roster_preview(struct request *r)
{
    struct roster_req q = { 0 };
    enum handler_result out;
    if (!roster_load(r, &q, &out))
        goto done;
    struct roster_plan plan = { 0 };
    if (q.parsed) {
        enum db_status st = roster_plan(r->db, &q.roster, &q.opt, &plan, &q.errs);
        if (st != DB_OK && st != DB_ABORT) {
            out = reply_db_error(r, st);
            goto done;
        }
    }
    const struct roster *ro = &q.roster;
    json_t *units = json_array(), *accounts = json_array(), *kept = json_array();
    for (size_t i = 0; i < plan.units_new_count; i++) {
        const struct roster_unit *u = &ro->units[plan.units_new[i]];
        json_array_append_new(units, json_pack("{s:o, s:s?, s:I}", "path",
                                               unit_path(ro, plan.units_new[i]), "level",
                                               u->level, "line", (json_int_t)u->line));
    }
    for (size_t i = 0; i < plan.accounts_new_count; i++) {
        const struct roster_account *a = &ro->accounts[plan.accounts_new[i]];
        json_array_append_new(accounts, json_pack("{s:s, s:s, s:I}", "login", a->login,
                                                  "display_name", a->display_name, "line",
                                                  (json_int_t)a->line));
    }
    for (size_t i = 0; i < plan.accounts_renamed_count; i++) {
        const struct roster_account *a = &ro->accounts[plan.accounts_renamed[i]];
        json_array_append_new(kept, json_pack("{s:s, s:s, s:I}", "login", a->login,
                                              "display_name", a->display_name, "line",
                                              (json_int_t)a->line));
    }
    roster_plan_free(&plan);
    bool valid = q.errs.total == 0;
    out = reply_json(r, 200,
                     json_pack("{s:b, s:I, s:o, s:I, s:o, s:o, s:o, s:I}", "valid", valid,
                               "rows", (json_int_t)(valid ? ro->row_count : 0), "errors",
                               errors_json(&q.errs), "errors_total", (json_int_t)q.errs.total,
                               "units_new", units, "accounts_new", accounts,
                               "accounts_name_kept", kept, "memberships",
                               (json_int_t)(valid ? ro->membership_count : 0)));
done:
    roster_req_free(&q);
    return out;
}

struct import_ctx {
    struct roster_req *q;
    unsigned ttl;
    struct roster_outcome outcome;
};

static enum db_status import_tx(struct db_conn *c, void *arg)
{
    struct import_ctx *x = arg;
    return roster_apply(c, &x->q->roster, &x->q->opt, x->ttl, &x->outcome, &x->q->errs);
}

enum handler_result roster_import(struct request *r)
{
    struct roster_req q = { 0 };
    struct import_ctx x = { .q = &q, .ttl = r->cfg->activation_ttl };
    enum handler_result out;
    if (!roster_load(r, &q, &out))
        goto done;
    if (!q.parsed) {
        out = reply_roster_errors(r, &q.errs);
        goto done;
    }
    enum db_status st = db_transaction(r->db, import_tx, &x);
    if (st == DB_ABORT && q.errs.total) {
        out = reply_roster_errors(r, &q.errs);
        goto done;
    }
    if (st == DB_UNIQUE) {
        out = reply_problem(r, PROBLEM_CONFLICT,
                            "a unit or an account of the file was created by someone else "
                            "meanwhile; nothing was imported");
        goto done;
    }
    if (st != DB_OK) {
        out = reply_db_error(r, st);
        goto done;
    }
    /* The codes only now that they are committed. */
    json_t *created = json_array();
    for (size_t i = 0; i < x.outcome.accounts_created; i++) {
        const struct roster_created *cr = &x.outcome.created[i];
        const char *name = "";
        for (size_t k = 0; k < q.roster.account_count; k++)
            if (q.roster.accounts[k].login == cr->login)
                name = q.roster.accounts[k].display_name;
        json_array_append_new(created,
                              json_pack("{s:I, s:s, s:s, s:s, s:s}", "account_id",
                                        (json_int_t)cr->account.id, "login", cr->login,
                                        "display_name", name, "activation_code",
                                        cr->account.code, "activation_expires_at",
                                        cr->account.code_expires_at));
    }
    out = reply_json(r, 200,
                     json_pack("{s:I, s:I, s:I, s:I, s:o}", "rows",
                               (json_int_t)q.roster.row_count, "units_created",
                               (json_int_t)x.outcome.units_created, "accounts_created",
                               (json_int_t)x.outcome.accounts_created, "memberships_changed",
                               (json_int_t)x.outcome.memberships_changed, "created", created));
done:
    roster_outcome_free(&x.outcome);
    roster_req_free(&q);
    return out;
}
