/* Routing, representation, transitions and escalation of suggestions. */
#include "domain/suggestions.h"

#include "crypto/tokens.h"
#include "domain/notify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

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

static json_t *id_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col)
               ? json_null()
               : json_integer((json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10));
}

/* Text of a column as a JSON string without a second UTF-8 check: the
 * database's encoding is UTF8 (scripts/pg.sh, initdb -E UTF8) and libpq
 * hands the server's text over as it is. Most of a list's cost was
 * jansson validating and measuring strings it was given (perf, bench). */
static json_t *col_str(PGresult *res, int row, int col)
{
    return json_stringn_nocheck(PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

static json_t *col_str_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : col_str(res, row, col);
}

static json_t *col_int(PGresult *res, int row, int col)
{
    return json_integer((json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10));
}

json_t *suggestion_json(PGresult *res, int row, bool show_author)
{
    bool anonymous = PQgetvalue(res, row, 9)[0] == 't';
    json_t *s = json_object();
    json_object_set_new_nocheck(s, "id", col_str(res, row, 1));
    json_object_set_new_nocheck(s, "unit_id", col_int(res, row, 2));
    json_object_set_new_nocheck(s, "unit_name", col_str(res, row, 3));
    json_object_set_new_nocheck(s, "category_id", col_int(res, row, 4));
    json_object_set_new_nocheck(s, "category_name", col_str(res, row, 5));
    json_object_set_new_nocheck(s, "title", col_str(res, row, 6));
    json_object_set_new_nocheck(s, "body", col_str(res, row, 7));
    json_object_set_new_nocheck(s, "anonymous", json_boolean(anonymous));
    json_object_set_new_nocheck(s, "publish_name", json_boolean(PQgetvalue(res, row, 10)[0] == 't'));
    json_object_set_new_nocheck(s, "status", col_str(res, row, 12));
    json_object_set_new_nocheck(s, "reopened", json_boolean(PQgetvalue(res, row, 13)[0] == 't'));
    json_object_set_new_nocheck(s, "cosign_count", col_int(res, row, 15));
    json_object_set_new_nocheck(s, "created_at", col_str(res, row, 16));
    json_object_set_new_nocheck(s, "ack_due", col_str(res, row, 17));
    json_object_set_new_nocheck(s, "answer_due", col_str(res, row, 18));
    json_object_set_new_nocheck(s, "overdue", json_boolean(PQgetvalue(res, row, 24)[0] == 't'));
    json_object_set_new_nocheck(s, "assignee_id", id_or_null(res, row, 11));
    json_object_set_new_nocheck(s, "assignee_name", col_str_or_null(res, row, 26));
    json_object_set_new_nocheck(s, "merged_into", col_str_or_null(res, row, 14));
    json_object_set_new_nocheck(s, "accepted_at", col_str_or_null(res, row, 19));
    json_object_set_new_nocheck(s, "answered_at", col_str_or_null(res, row, 20));
    json_object_set_new_nocheck(s, "published_at", col_str_or_null(res, row, 21));
    json_object_set_new_nocheck(s, "escalated_to", id_or_null(res, row, 22));
    json_object_set_new_nocheck(s, "escalation_reason", col_str_or_null(res, row, 23));
    json_object_set_new_nocheck(s, "author_name", show_author && !anonymous
                                                      ? col_str_or_null(res, row, 25)
                                                      : json_null());
    return s;
}

/* Columns written as JSON: a string, an integer or a boolean; NULL as null. */
static void w_str(struct jsonw *w, const char *key, PGresult *res, int row, int col)
{
    jsonw_key(w, key);
    if (PQgetisnull(res, row, col))
        JSONW_LIT(w, "null");
    else
        jsonw_str(w, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

static void w_num(struct jsonw *w, const char *key, PGresult *res, int row, int col)
{
    jsonw_key(w, key);
    if (PQgetisnull(res, row, col))
        JSONW_LIT(w, "null");
    else /* an integer column as PostgreSQL prints it */
        jsonw_raw(w, PQgetvalue(res, row, col), (size_t)PQgetlength(res, row, col));
}

static void w_bool(struct jsonw *w, const char *key, bool v)
{
    jsonw_key(w, key);
    jsonw_raw(w, v ? "true" : "false", v ? 4 : 5);
}

void suggestion_write(struct jsonw *w, PGresult *res, int row, bool show_author)
{
    bool anonymous = PQgetvalue(res, row, 9)[0] == 't';
    JSONW_LIT(w, "{");
    w_str(w, "id", res, row, 1);
    JSONW_LIT(w, ",");
    w_num(w, "unit_id", res, row, 2);
    JSONW_LIT(w, ",");
    w_str(w, "unit_name", res, row, 3);
    JSONW_LIT(w, ",");
    w_num(w, "category_id", res, row, 4);
    JSONW_LIT(w, ",");
    w_str(w, "category_name", res, row, 5);
    JSONW_LIT(w, ",");
    w_str(w, "title", res, row, 6);
    JSONW_LIT(w, ",");
    w_str(w, "body", res, row, 7);
    JSONW_LIT(w, ",");
    w_bool(w, "anonymous", anonymous);
    JSONW_LIT(w, ",");
    w_bool(w, "publish_name", PQgetvalue(res, row, 10)[0] == 't');
    JSONW_LIT(w, ",");
    w_str(w, "status", res, row, 12);
    JSONW_LIT(w, ",");
    w_bool(w, "reopened", PQgetvalue(res, row, 13)[0] == 't');
    JSONW_LIT(w, ",");
    w_num(w, "cosign_count", res, row, 15);
    JSONW_LIT(w, ",");
    w_str(w, "created_at", res, row, 16);
    JSONW_LIT(w, ",");
    w_str(w, "ack_due", res, row, 17);
    JSONW_LIT(w, ",");
    w_str(w, "answer_due", res, row, 18);
    JSONW_LIT(w, ",");
    w_bool(w, "overdue", PQgetvalue(res, row, 24)[0] == 't');
    JSONW_LIT(w, ",");
    w_num(w, "assignee_id", res, row, 11);
    JSONW_LIT(w, ",");
    w_str(w, "assignee_name", res, row, 26);
    JSONW_LIT(w, ",");
    w_str(w, "merged_into", res, row, 14);
    JSONW_LIT(w, ",");
    w_str(w, "accepted_at", res, row, 19);
    JSONW_LIT(w, ",");
    w_str(w, "answered_at", res, row, 20);
    JSONW_LIT(w, ",");
    w_str(w, "published_at", res, row, 21);
    JSONW_LIT(w, ",");
    w_num(w, "escalated_to", res, row, 22);
    JSONW_LIT(w, ",");
    w_str(w, "escalation_reason", res, row, 23);
    JSONW_LIT(w, ",");
    if (show_author && !anonymous) {
        w_str(w, "author_name", res, row, 25);
    } else {
        jsonw_key(w, "author_name");
        JSONW_LIT(w, "null");
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
    enum db_status st;
    PGresult *res = db_exec(c, STMT_ESCALATION_LOCK, NULL, &st);
    if (!res)
        return st;
    bool locked = PQgetvalue(res, 0, 0)[0] == 't';
    PQclear(res);
    if (!locked)
        return DB_OK;
    res = db_exec(c, STMT_ESCALATE_DUE, NULL, &st);
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
