/* Routing, representation, transitions and escalation of suggestions. */
#include "domain/suggestions.h"

#include "crypto/tokens.h"
#include "domain/notify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* The column of SUGGESTION_COLUMNS (db/statements.c) that says whether
 * the author is anonymous. */
#define SUGGESTION_COL_ANONYMOUS 9

void suggestion_public_id(char out[PUBLIC_ID_CHARS + 1])
{
    out[0] = 'S';
    out[1] = '-';
    for (int i = 2; i < PUBLIC_ID_CHARS; i++)
        out[i] = crockford32[randombytes_uniform(32)];
    out[PUBLIC_ID_CHARS] = '\0';
}

enum db_status suggestion_route(struct db_conn *c, long long unit_id, const char *portfolio,
                                struct route_result *out)
{
    memset(out, 0, sizeof out->reason);
    out->assignee_id = 0;
    enum db_status st = DB_OK;
    /* Bounded: a tree deeper than this is a data error, not a route. */
    for (int depth = 0; unit_id && depth < 32; depth++) {
        char u[24];
        snprintf(u, sizeof u, "%lld", unit_id);
        /* The lock, then both candidates' queries, in one round trip: the
         * statements run in order, so both read under the lock. */
        const char *lock[] = { u };
        const char *pc[] = { u, portfolio };
        const char *ps[] = { u };
        const enum stmt ids[] = { STMT_ROUTING_LOCK, STMT_ROUTE_COMMITTEE, STMT_ROUTE_SECRETARY };
        const char *const *const params[] = { lock, pc, ps };
        PGresult *got[3];
        db_exec_batch(c, 3, ids, params, got, &st);
        if (st != DB_OK)
            return st;
        long long who = PQntuples(got[1]) ? strtoll(PQgetvalue(got[1], 0, 0), NULL, 10) : 0;
        long long secretary = PQntuples(got[2]) ? strtoll(PQgetvalue(got[2], 0, 0), NULL, 10) : 0;
        for (int i = 0; i < 3; i++)
            PQclear(got[i]);
        if (who) {
            out->assignee_id = who;
            out->unit_id = unit_id;
            snprintf(out->reason, sizeof out->reason,
                     "committee member holding portfolio \"%s\"%s", portfolio,
                     depth ? " in a unit above (none below)" : "");
            return DB_OK;
        }
        if (secretary) {
            out->assignee_id = secretary;
            out->unit_id = unit_id;
            snprintf(out->reason, sizeof out->reason,
                     "secretary: no committee member holds portfolio \"%s\"%s", portfolio,
                     depth ? " (in a unit above)" : "");
            return DB_OK;
        }
        PGresult *res = db_exec(c, STMT_UNIT_BY_ID, ps, &st);
        if (!res)
            return st;
        unit_id = PQntuples(res) && !PQgetisnull(res, 0, 1)
                      ? strtoll(PQgetvalue(res, 0, 1), NULL, 10) : 0;
        PQclear(res);
    }
    snprintf(out->reason, sizeof out->reason,
             "nobody: no committee member or secretary in the unit or above");
    return DB_OK;
}

/* A suggestion as the API shows it: one table, in the order of the JSON
 * object, that both writers walk (suggestion_json for one suggestion,
 * suggestion_write for a page of the list). col is the column of
 * SUGGESTION_COLUMNS (db/statements.c); a NULL column is JSON null. */
enum sfield_kind {
    SF_TEXT,   /* a string */
    SF_INT,    /* an integer as PostgreSQL prints it */
    SF_BOOL,   /* 't' or 'f' */
    SF_AUTHOR, /* a string, shown only to those who may see a named author */
};

static const struct sfield {
    const char *key;
    int col;
    enum sfield_kind kind;
} suggestion_fields[] = {
    { "id", 1, SF_TEXT },
    { "unit_id", 2, SF_INT },
    { "unit_name", 3, SF_TEXT },
    { "category_id", 4, SF_INT },
    { "category_name", 5, SF_TEXT },
    { "title", 6, SF_TEXT },
    { "body", 7, SF_TEXT },
    { "anonymous", SUGGESTION_COL_ANONYMOUS, SF_BOOL },
    { "publish_name", 10, SF_BOOL },
    { "status", 12, SF_TEXT },
    { "reopened", 13, SF_BOOL },
    { "cosign_count", 15, SF_INT },
    { "created_at", 16, SF_TEXT },
    { "ack_due", 17, SF_TEXT },
    { "answer_due", 18, SF_TEXT },
    { "overdue", 24, SF_BOOL },
    { "assignee_id", 11, SF_INT },
    { "assignee_name", 26, SF_TEXT },
    { "merged_into", 14, SF_TEXT },
    { "accepted_at", 19, SF_TEXT },
    { "answered_at", 20, SF_TEXT },
    { "published_at", 21, SF_TEXT },
    { "escalated_to", 22, SF_INT },
    { "escalation_reason", 23, SF_TEXT },
    { "author_name", 25, SF_AUTHOR },
};
#define N_SFIELDS (sizeof suggestion_fields / sizeof suggestion_fields[0])

/* Whether field f of the row is null as the viewer sees it. */
static bool sfield_null(const struct sfield *f, PGresult *res, int row, bool show_author)
{
    if (f->kind == SF_AUTHOR &&
        (!show_author || PQgetvalue(res, row, SUGGESTION_COL_ANONYMOUS)[0] == 't'))
        return true;
    return PQgetisnull(res, row, f->col);
}

json_t *suggestion_json(PGresult *res, int row, bool show_author)
{
    json_t *s = json_object();
    for (size_t i = 0; i < N_SFIELDS; i++) {
        const struct sfield *f = &suggestion_fields[i];
        const char *v = PQgetvalue(res, row, f->col);
        json_t *x;
        if (sfield_null(f, res, row, show_author))
            x = json_null();
        else if (f->kind == SF_INT)
            x = json_integer((json_int_t)strtoll(v, NULL, 10));
        else if (f->kind == SF_BOOL)
            x = json_boolean(v[0] == 't');
        else /* Text without a second UTF-8 check: the database's encoding
              * is UTF8 (scripts/pg.sh, initdb -E UTF8) and libpq hands the
              * server's text over as it is. Most of a list's cost was
              * jansson validating and measuring strings (perf, bench). */
            x = json_stringn_nocheck(v, (size_t)PQgetlength(res, row, f->col));
        json_object_set_new_nocheck(s, f->key, x);
    }
    return s;
}

void suggestion_write(struct jsonw *w, PGresult *res, int row, bool show_author)
{
    JSONW_LIT(w, "{");
    for (size_t i = 0; i < N_SFIELDS; i++) {
        const struct sfield *f = &suggestion_fields[i];
        if (i)
            JSONW_LIT(w, ",");
        jsonw_key(w, f->key);
        const char *v = PQgetvalue(res, row, f->col);
        size_t len = (size_t)PQgetlength(res, row, f->col);
        if (sfield_null(f, res, row, show_author))
            JSONW_LIT(w, "null");
        else if (f->kind == SF_INT)
            jsonw_raw(w, v, len);
        else if (f->kind == SF_BOOL)
            jsonw_raw(w, v[0] == 't' ? "true" : "false", v[0] == 't' ? 4 : 5);
        else
            jsonw_str(w, v, len);
    }
    JSONW_LIT(w, "}");
}

enum db_status suggestion_transition(struct db_conn *c, const struct audit_entry *actor,
                                     long long id, const char *public_id, const char *from,
                                     const char *to, long long merged_into, const char *verb,
                                     json_t *extra)
{
    char sid[24], mid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(mid, sizeof mid, "%lld", merged_into);
    const char *params[] = { sid, to, merged_into ? mid : NULL,
                             strcmp(verb, "reopen") ? "false" : "true" };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_SUGGESTION_SET_STATUS, params, &st);
    if (!res)
        return st;
    int moved = PQntuples(res);
    PQclear(res);
    if (!moved)
        return DB_CONSTRAINT; /* not a step of the workflow from where it is */

    char action[64];
    snprintf(action, sizeof action, "suggestion.%s", verb);
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "status", from, "after",
                               "status", to);
    if (extra)
        json_object_update(json_object_get(change, "after"), extra);
    st = audit_change(c, actor, action, "suggestion",
                       public_id, change);
    /* The named author hears of it (an anonymous one follows by code). */
    if (st == DB_OK && !strcmp(to, "answered"))
        st = notify_suggestion(c, NOTIFY_ANSWERED, id, NULL);
    else if (st == DB_OK && !strcmp(to, "merged"))
        st = notify_suggestion(c, NOTIFY_MERGED, id, NULL);
    return st;
}

enum db_status suggestion_assignment_record(struct db_conn *c, long long id, long long assignee,
                                            long long unit_id, const char *reason, long long by,
                                            long long previous, bool anonymous)
{
    char sid[24], asg[24], unit[24], who[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(asg, sizeof asg, "%lld", assignee);
    snprintf(unit, sizeof unit, "%lld", unit_id);
    snprintf(who, sizeof who, "%lld", by);
    const char *p[] = { sid, assignee ? asg : NULL, unit, reason, by ? who : NULL,
                        anonymous ? "true" : "false" };
    enum db_status st;
    PQclear(db_exec(c, STMT_ASSIGNMENT_INSERT, p, &st));
    if (st != DB_OK)
        return st;
    if (!by) {
        struct notify_opts no = { .anonymous_cause = anonymous };
        return notify_suggestion(c, NOTIFY_ASSIGNED, id, &no);
    }
    st = notify_suggestion(c, NOTIFY_REASSIGNED, id, NULL);
    if (st == DB_OK && previous && previous != assignee) {
        struct notify_opts prev = { .recipient = previous };
        st = notify_suggestion(c, NOTIFY_UNASSIGNED, id, &prev);
    }
    return st;
}

enum db_status suggestion_message_add(struct db_conn *c, long long id, const char *kind,
                                      long long author_id, const char *visibility,
                                      const char *body, bool anonymous, char message_id[24])
{
    char sid[24], by[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(by, sizeof by, "%lld", author_id);
    const char *p[] = { sid, kind, author_id ? by : NULL, visibility, body };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_MESSAGE_INSERT, p, &st);
    if (!res)
        return st;
    snprintf(message_id, 24, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    if (strcmp(kind, "submitter"))
        return DB_OK;
    struct notify_opts no = { .anonymous_cause = anonymous };
    return notify_suggestion(c, NOTIFY_SUBMITTER_MESSAGE, id, &no);
}

enum db_status suggestions_escalate(struct db_conn *c, int *n)
{
    *n = 0;
    bool locked;
    enum db_status st = db_try_lock(c, STMT_ESCALATION_LOCK, &locked);
    if (st != DB_OK || !locked)
        return st;
    PGresult *res = db_exec(c, STMT_ESCALATE_DUE, NULL, &st);
    if (!res)
        return st;
    for (int i = 0; i < PQntuples(res) && st == DB_OK; i++) {
        json_t *change = json_pack("{s:{s:I, s:s}}", "after", "escalated_to",
                                   (json_int_t)strtoll(PQgetvalue(res, i, 2), NULL, 10),
                                   "escalation_reason", PQgetvalue(res, i, 3));
        struct audit_entry e = { .actor = AUDIT_SYSTEM, .action = "suggestion.escalate",
                                 .object_type = "suggestion", .object_id = PQgetvalue(res, i, 1),
                                 .change = change };
        st = audit_record(c, &e);
        json_decref(change);
        if (st == DB_OK)
            st = notify_suggestion(c, NOTIFY_ESCALATED, strtoll(PQgetvalue(res, i, 0), NULL, 10),
                                   NULL);
        (*n)++;
    }
    PQclear(res);
    return st;
}
