/* Routing, representation, transitions and escalation of suggestions. */
#include "domain/suggestions.h"

#include "crypto/tokens.h"
#include "domain/notify.h"

#include <sodium.h>
#include <stddef.h>
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

/* Who of the candidates of unit_id (read under the routing lock) gets
 * it, with why; false: neither. depth: levels above the submission's. */
static bool route_pick(long long unit_id, const char *portfolio, int depth, long long who,
                       long long secretary, struct route_result *out)
{
    if (who) {
        out->assignee_id = who;
        out->unit_id = unit_id;
        snprintf(out->reason, sizeof out->reason,
                 "committee member holding portfolio \"%s\"%s", portfolio,
                 depth ? " in a unit above (none below)" : "");
        return true;
    }
    if (secretary) {
        out->assignee_id = secretary;
        out->unit_id = unit_id;
        snprintf(out->reason, sizeof out->reason,
                 "secretary: no committee member holds portfolio \"%s\"%s", portfolio,
                 depth ? " (in a unit above)" : "");
        return true;
    }
    return false;
}

/* Routing from unit_id, depth levels above the submission's unit, up. */
static enum db_status route_from(struct db_conn *c, long long unit_id, const char *portfolio,
                                 int depth, struct route_result *out)
{
    enum db_status st = DB_OK;
    /* Bounded: a tree deeper than this is a data error, not a route. */
    for (; unit_id && depth < 32; depth++) {
        char u[24];
        snprintf(u, sizeof u, "%lld", unit_id);
        /* The lock, then both candidates' queries, in one round trip: the
         * statements run in order, so both read under the lock. */
        const char *lock[] = { u };
        const char *pc[] = { u, portfolio };
        const char *ps[] = { u };
        long long who = 0, secretary = 0;
        const struct db_field committee[] = { DB_I64("account_id", &who), DB_END };
        const struct db_field sec[] = { DB_I64("account_id", &secretary), DB_END };
        struct db_query q[] = {
            { .id = STMT_ROUTING_LOCK, .params = lock },
            { .id = STMT_ROUTE_COMMITTEE, .params = pc, .spec = committee },
            { .id = STMT_ROUTE_SECRETARY, .params = ps, .spec = sec },
        };
        db_batch(c, 3, q, &st);
        if (st != DB_OK)
            return st;
        if (route_pick(unit_id, portfolio, depth, who, secretary, out))
            return DB_OK;
        long long parent = 0;
        const struct db_field up[] = { DB_I64_N("parent_id", &parent), DB_END };
        if (db_one(c, STMT_UNIT_BY_ID, ps, up, &st) < 0)
            return st;
        unit_id = parent;
    }
    snprintf(out->reason, sizeof out->reason,
             "nobody: no committee member or secretary in the unit or above");
    return DB_OK;
}

enum db_status suggestion_route(struct db_conn *c, long long unit_id, const char *portfolio,
                                struct route_result *out)
{
    memset(out, 0, sizeof *out);
    return route_from(c, unit_id, portfolio, 0, out);
}

enum db_status suggestion_route_with(struct db_conn *c, long long unit_id, const char *portfolio,
                                     long long committee, long long secretary,
                                     struct route_result *out)
{
    memset(out, 0, sizeof *out);
    if (route_pick(unit_id, portfolio, 0, committee, secretary, out))
        return DB_OK;
    char u[24];
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *ps[] = { u };
    long long parent = 0;
    enum db_status st;
    const struct db_field up[] = { DB_I64_N("parent_id", &parent), DB_END };
    if (db_one(c, STMT_UNIT_BY_ID, ps, up, &st) < 0)
        return st;
    return route_from(c, parent, portfolio, 1, out);
}

/* A suggestion as the API shows it: one table, in the order of the JSON
 * object, that drives the reading of the row (suggestion_row_spec) and
 * both writers (suggestion_json for one suggestion, suggestion_write for a
 * page of the list). column is its name in SUGGESTION_COLUMNS
 * (db/statements.c); a NULL column is JSON null. */
enum sfield_kind {
    SF_TEXT,   /* a string */
    SF_ID,     /* an id; 0 (SQL NULL) is null */
    SF_INT,    /* an integer */
    SF_BOOL,   /* a boolean */
    SF_AUTHOR, /* a string, shown only to those who may see a named author */
};

#define SF_(key, column, kind, member) { key, column, kind, offsetof(struct suggestion_row, member) }
static const struct sfield {
    const char *key, *column;
    enum sfield_kind kind;
    size_t offset;
} suggestion_fields[] = {
    SF_("id", "public_id", SF_TEXT, public_id),
    SF_("unit_id", "unit_id", SF_ID, unit_id),
    SF_("unit_name", "unit_name", SF_TEXT, unit_name),
    SF_("category_id", "category_id", SF_ID, category_id),
    SF_("category_name", "category_name", SF_TEXT, category_name),
    SF_("title", "title", SF_TEXT, title),
    SF_("body", "body", SF_TEXT, body),
    SF_("anonymous", "anonymous", SF_BOOL, anonymous),
    SF_("publish_name", "publish_name", SF_BOOL, publish_name),
    SF_("status", "status", SF_TEXT, status),
    SF_("reopened", "reopened", SF_BOOL, reopened),
    SF_("cosign_count", "cosign_count", SF_INT, cosign_count),
    SF_("created_at", "created_at", SF_TEXT, created_at),
    SF_("ack_due", "ack_due", SF_TEXT, ack_due),
    SF_("answer_due", "answer_due", SF_TEXT, answer_due),
    SF_("overdue", "overdue", SF_BOOL, overdue),
    SF_("assignee_id", "assignee_id", SF_ID, assignee_id),
    SF_("assignee_name", "assignee_name", SF_TEXT, assignee_name),
    SF_("merged_into", "merged_into", SF_TEXT, merged_into),
    SF_("accepted_at", "accepted_at", SF_TEXT, accepted_at),
    SF_("answered_at", "answered_at", SF_TEXT, answered_at),
    SF_("published_at", "published_at", SF_TEXT, published_at),
    SF_("escalated_to", "escalated_to", SF_ID, escalated_to),
    SF_("escalation_reason", "escalation_reason", SF_TEXT, escalation_reason),
    SF_("author_name", "author_name", SF_AUTHOR, author_name),
};
#define N_SFIELDS (sizeof suggestion_fields / sizeof suggestion_fields[0])
_Static_assert(N_SFIELDS + 2 == SUGGESTION_SPEC_FIELDS, "SUGGESTION_SPEC_FIELDS is out of date");

size_t suggestion_row_spec(struct suggestion_row *r, struct db_field *spec, size_t cap)
{
    memset(r, 0, sizeof *r);
    if (cap < SUGGESTION_SPEC_FIELDS)
        return 0;
    size_t n = 0;
    /* Beside the JSON's fields: the row's own id and its author. Every
     * field allows NULL: a statement that answers a row of NULLs (no
     * such suggestion) is read the same way, and its id is then 0. */
    spec[n++] = (struct db_field)DB_I64_N("id", &r->id);
    spec[n++] = (struct db_field)DB_I64_N("author_id", &r->author_id);
    for (size_t i = 0; i < N_SFIELDS; i++) {
        const struct sfield *f = &suggestion_fields[i];
        void *dst = (char *)r + f->offset;
        enum db_kind k = f->kind == SF_BOOL ? DB_KIND_BOOL
                         : f->kind == SF_ID || f->kind == SF_INT ? DB_KIND_INT64
                                                                 : DB_KIND_TEXT_REF;
        spec[n++] = (struct db_field){ .name = f->column, .kind = k, .dst = dst,
                                       .nullable = true };
    }
    return n;
}

/* The value of field f of r as the viewer sees it: NULL when null,
 * else its JSON text in buf (numbers, booleans) or its string. */
static const char *sfield_value(const struct sfield *f, const struct suggestion_row *r,
                                bool show_author, char buf[24], bool *string)
{
    const void *p = (const char *)r + f->offset;
    *string = false;
    switch (f->kind) {
    case SF_ID:
        if (!*(const long long *)p)
            return NULL;
        /* fall through */
    case SF_INT:
        snprintf(buf, 24, "%lld", *(const long long *)p);
        return buf;
    case SF_BOOL:
        return *(const bool *)p ? "true" : "false";
    case SF_AUTHOR:
        if (!show_author || r->anonymous)
            return NULL;
        /* fall through */
    case SF_TEXT:
        *string = true;
        return *(const char *const *)p;
    }
    return NULL;
}

json_t *suggestion_json(const struct suggestion_row *r, bool show_author)
{
    json_t *s = json_object();
    for (size_t i = 0; i < N_SFIELDS; i++) {
        const struct sfield *f = &suggestion_fields[i];
        char buf[24];
        bool string;
        const char *v = sfield_value(f, r, show_author, buf, &string);
        json_t *x;
        if (!v)
            x = json_null();
        else if (f->kind == SF_ID || f->kind == SF_INT)
            x = json_integer((json_int_t)*(const long long *)((const char *)r + f->offset));
        else if (f->kind == SF_BOOL)
            x = json_boolean(*(const bool *)((const char *)r + f->offset));
        else /* Text without a second UTF-8 check: the database's encoding
              * is UTF8 (scripts/pg.sh, initdb -E UTF8) and libpq hands the
              * server's text over as it is. Most of a list's cost was
              * jansson validating and measuring strings (perf, bench). */
            x = json_stringn_nocheck(v, strlen(v));
        json_object_set_new_nocheck(s, f->key, x);
    }
    return s;
}

void suggestion_write(struct jsonw *w, const struct suggestion_row *r, bool show_author)
{
    JSONW_LIT(w, "{");
    for (size_t i = 0; i < N_SFIELDS; i++) {
        const struct sfield *f = &suggestion_fields[i];
        if (i)
            JSONW_LIT(w, ",");
        jsonw_key(w, f->key);
        char buf[24];
        bool string;
        const char *v = sfield_value(f, r, show_author, buf, &string);
        if (!v)
            JSONW_LIT(w, "null");
        else if (string)
            jsonw_str(w, v, strlen(v));
        else
            jsonw_raw(w, v, strlen(v));
    }
    JSONW_LIT(w, "}");
}

enum db_status suggestion_transition(struct db_conn *c, const struct audit_entry *actor,
                                     long long id, const char *public_id, const char *from,
                                     const char *to, long long merged_into, const char *verb,
                                     json_t *extra, const struct notify_subject *subj)
{
    char sid[24], mid[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(mid, sizeof mid, "%lld", merged_into);
    const char *params[] = { sid, to, merged_into ? mid : NULL,
                             strcmp(verb, "reopen") ? "false" : "true" };
    long long moved = 0;
    enum db_status st = db_run(c, STMT_SUGGESTION_SET_STATUS, params, &moved);
    if (st != DB_OK)
        return st;
    if (!moved)
        return DB_CONSTRAINT; /* not a step of the workflow from where it is */
    return suggestion_transition_record(c, actor, id, public_id, from, to, verb, extra, subj);
}

/* notify_suggestion, or with the facts the caller has. */
static enum db_status notify_one(struct db_conn *c, enum notify_event ev, long long id,
                                 const struct notify_subject *subj,
                                 const struct notify_opts *opts)
{
    return subj ? notify_suggestion_about(c, ev, subj, opts) : notify_suggestion(c, ev, id, opts);
}

enum db_status suggestion_transition_record(struct db_conn *c, const struct audit_entry *actor,
                                            long long id, const char *public_id,
                                            const char *from, const char *to, const char *verb,
                                            json_t *extra, const struct notify_subject *subj)
{
    char action[64];
    snprintf(action, sizeof action, "suggestion.%s", verb);
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "status", from, "after",
                               "status", to);
    if (extra)
        json_object_update(json_object_get(change, "after"), extra);
    enum db_status st = audit_change(c, actor, action, "suggestion", public_id, change);
    /* The named author hears of it (an anonymous one follows by code). */
    if (st == DB_OK && !strcmp(to, "answered"))
        st = notify_one(c, NOTIFY_ANSWERED, id, subj, NULL);
    else if (st == DB_OK && !strcmp(to, "merged"))
        st = notify_one(c, NOTIFY_MERGED, id, subj, NULL);
    return st;
}

enum db_status suggestion_assignment_record(struct db_conn *c, long long id, long long assignee,
                                            long long unit_id, const char *reason, long long by,
                                            long long previous, bool anonymous,
                                            const struct notify_subject *subj)
{
    char sid[24], asg[24], unit[24], who[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(asg, sizeof asg, "%lld", assignee);
    snprintf(unit, sizeof unit, "%lld", unit_id);
    snprintf(who, sizeof who, "%lld", by);
    const char *p[] = { sid, assignee ? asg : NULL, unit, reason, by ? who : NULL,
                        anonymous ? "true" : "false" };
    /* Nothing reads it back, and its failure fails the transaction. */
    enum db_status st = db_exec_later(c, STMT_ASSIGNMENT_INSERT, p);
    if (st != DB_OK)
        return st;
    if (!by) {
        struct notify_opts no = { .anonymous_cause = anonymous };
        return notify_one(c, NOTIFY_ASSIGNED, id, subj, &no);
    }
    st = notify_one(c, NOTIFY_REASSIGNED, id, subj, NULL);
    if (st == DB_OK && previous && previous != assignee) {
        struct notify_opts prev = { .recipient = previous };
        st = notify_one(c, NOTIFY_UNASSIGNED, id, subj, &prev);
    }
    return st;
}

enum db_status suggestion_message_add(struct db_conn *c, long long id, const char *kind,
                                      long long author_id, const char *visibility,
                                      const char *body, bool anonymous, char message_id[24],
                                      const struct notify_subject *subj)
{
    char sid[24], by[24];
    snprintf(sid, sizeof sid, "%lld", id);
    snprintf(by, sizeof by, "%lld", author_id);
    const char *p[] = { sid, kind, author_id ? by : NULL, visibility, body };
    enum db_status st;
    long long mid = 0;
    const struct db_field spec[] = { DB_I64("id", &mid), DB_END };
    if (db_one(c, STMT_MESSAGE_INSERT, p, spec, &st) < 0)
        return st;
    snprintf(message_id, 24, "%lld", mid);
    if (strcmp(kind, "submitter"))
        return DB_OK;
    struct notify_opts no = { .anonymous_cause = anonymous };
    return notify_one(c, NOTIFY_SUBMITTER_MESSAGE, id, subj, &no);
}

/* One row of escalate_due: audited and told (suggestions_escalate). */
struct escalated {
    struct db_conn *c;
    int *n;
    long long id, escalated_to;
    const char *public_id, *reason;
};

static enum db_status audit_escalated(void *cls, size_t row)
{
    (void)row;
    struct escalated *k = cls;
    json_t *change = json_pack("{s:{s:I, s:s}}", "after", "escalated_to",
                               (json_int_t)k->escalated_to, "escalation_reason", k->reason);
    struct audit_entry e = { .actor = AUDIT_SYSTEM, .action = "suggestion.escalate",
                             .object_type = "suggestion", .object_id = k->public_id,
                             .change = change };
    enum db_status st = audit_record(k->c, &e);
    json_decref(change);
    if (st == DB_OK)
        st = notify_suggestion(k->c, NOTIFY_ESCALATED, k->id, NULL);
    (*k->n)++;
    return st;
}

enum db_status suggestions_escalate(struct db_conn *c, int *n)
{
    *n = 0;
    bool locked;
    enum db_status st = db_try_lock(c, STMT_ESCALATION_LOCK, &locked);
    if (st != DB_OK || !locked)
        return st;
    struct escalated k = { .c = c, .n = n };
    const struct db_field spec[] = {
        DB_I64("id", &k.id), DB_TEXT_REF("public_id", &k.public_id),
        DB_I64("escalated_to", &k.escalated_to), DB_TEXT_REF("escalation_reason", &k.reason),
        DB_END,
    };
    if (db_each(c, STMT_ESCALATE_DUE, NULL, spec, audit_escalated, &k, &st) < 0)
        return st;
    return DB_OK;
}

