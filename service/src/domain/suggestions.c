/* Routing, representation, transitions and escalation of suggestions. */
#include "domain/suggestions.h"

#include "domain/notify.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char crockford[] = "0123456789ABCDEFGHJKMNPQRSTVWXYZ";

void suggestion_public_id(char out[PUBLIC_ID_CHARS + 1])
{
    out[0] = 'S';
    out[1] = '-';
    for (int i = 2; i < PUBLIC_ID_CHARS; i++)
        out[i] = crockford[randombytes_uniform(32)];
    out[PUBLIC_ID_CHARS] = '\0';
}

/* First row's first column as an id; 0 when there is no row. */
static long long first_id(struct db_conn *c, enum stmt id, const char *const *params,
                          enum db_status *st)
{
    PGresult *res = db_exec(c, id, params, st);
    if (!res)
        return -1;
    long long v = PQntuples(res) ? strtoll(PQgetvalue(res, 0, 0), NULL, 10) : 0;
    PQclear(res);
    return v;
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
        const char *lock[] = { u };
        PQclear(db_exec(c, STMT_ROUTING_LOCK, lock, &st));
        if (st != DB_OK)
            return st;

        const char *pc[] = { u, portfolio };
        long long who = first_id(c, STMT_ROUTE_COMMITTEE, pc, &st);
        if (who < 0)
            return st;
        if (who) {
            out->assignee_id = who;
            out->unit_id = unit_id;
            snprintf(out->reason, sizeof out->reason,
                     "committee member holding portfolio \"%s\"%s", portfolio,
                     depth ? " in a unit above (none below)" : "");
            return DB_OK;
        }
        const char *ps[] = { u };
        who = first_id(c, STMT_ROUTE_SECRETARY, ps, &st);
        if (who < 0)
            return st;
        if (who) {
            out->assignee_id = who;
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

static json_t *text_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

json_t *suggestion_json(PGresult *res, int row, bool show_author)
{
    bool anonymous = PQgetvalue(res, row, 9)[0] == 't';
    json_t *s = json_pack(
        "{s:s, s:I, s:s, s:I, s:s, s:s, s:s, s:b, s:b, s:s, s:b, s:i, s:s, s:s, s:s, s:b}",
        "id", PQgetvalue(res, row, 1),
        "unit_id", (json_int_t)strtoll(PQgetvalue(res, row, 2), NULL, 10),
        "unit_name", PQgetvalue(res, row, 3),
        "category_id", (json_int_t)strtoll(PQgetvalue(res, row, 4), NULL, 10),
        "category_name", PQgetvalue(res, row, 5),
        "title", PQgetvalue(res, row, 6),
        "body", PQgetvalue(res, row, 7),
        "anonymous", anonymous,
        "publish_name", PQgetvalue(res, row, 10)[0] == 't',
        "status", PQgetvalue(res, row, 12),
        "reopened", PQgetvalue(res, row, 13)[0] == 't',
        "cosign_count", atoi(PQgetvalue(res, row, 15)),
        "created_at", PQgetvalue(res, row, 16),
        "ack_due", PQgetvalue(res, row, 17),
        "answer_due", PQgetvalue(res, row, 18),
        "overdue", PQgetvalue(res, row, 24)[0] == 't');
    json_object_set_new(s, "assignee_id", id_or_null(res, row, 11));
    json_object_set_new(s, "assignee_name", text_or_null(res, row, 26));
    json_object_set_new(s, "merged_into", text_or_null(res, row, 14));
    json_object_set_new(s, "accepted_at", text_or_null(res, row, 19));
    json_object_set_new(s, "answered_at", text_or_null(res, row, 20));
    json_object_set_new(s, "published_at", text_or_null(res, row, 21));
    json_object_set_new(s, "escalated_to", id_or_null(res, row, 22));
    json_object_set_new(s, "escalation_reason", text_or_null(res, row, 23));
    json_object_set_new(s, "author_name",
                        show_author && !anonymous ? text_or_null(res, row, 25) : json_null());
    return s;
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
    PQclear(res);

    char action[64];
    snprintf(action, sizeof action, "suggestion.%s", verb);
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "status", from, "after",
                               "status", to);
    if (extra)
        json_object_update(json_object_get(change, "after"), extra);
    struct audit_entry e = *actor;
    e.action = action;
    e.object_type = "suggestion";
    e.object_id = public_id;
    e.change = change;
    st = audit_record(c, &e);
    json_decref(change);
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
