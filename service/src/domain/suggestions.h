/* Suggestions: routing, the JSON shape, status changes and escalation —
 * the rules several routes (and later the anonymous ones) share. */
#ifndef YIJIAN_DOMAIN_SUGGESTIONS_H
#define YIJIAN_DOMAIN_SUGGESTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "db/rows.h"
#include "domain/audit.h"
#include "util/jsonw.h"

#define SUGGESTION_TITLE_MAX_CHARS 100
#define SUGGESTION_BODY_MAX_CHARS 5000
#define PUBLIC_ID_CHARS 8 /* "S-" and six symbols */

/* Who routing chose, and why (both written to the assignment row). */
struct route_result {
    long long assignee_id; /* 0: nobody anywhere up the tree */
    long long unit_id;     /* the unit whose member got it */
    char reason[300];
};

/*
 * Routing, inside the submitting transaction: the unit's committee members
 * holding the category's portfolio, least loaded first (ties: longest since
 * last assigned); none: the unit's secretary; none: the same one level up.
 */
enum db_status suggestion_route(struct db_conn *c, long long unit_id, const char *portfolio,
                                struct route_result *out);

/* suggestion_route once the caller has read, under the routing lock of
 * unit_id and in a pipeline of its own (STMT_ROUTING_LOCK, then
 * STMT_ROUTE_COMMITTEE or _FOR_CATEGORY, STMT_ROUTE_SECRETARY), the
 * unit's candidates (0: none): decides, or goes on one level up. */
enum db_status suggestion_route_with(struct db_conn *c, long long unit_id, const char *portfolio,
                                     long long committee, long long secretary,
                                     struct route_result *out);

/* A fresh public id "S-" and six symbols (Crockford base32, 30 random bits). */
void suggestion_public_id(char out[PUBLIC_ID_CHARS + 1]);

/* A suggestion's row (SUGGESTION_COLUMNS of db/statements.c) as read by
 * suggestion_row_spec. The texts are borrowed from the result: valid in
 * the row's callback of db_each or db_batch (db/rows.h); NULL is SQL
 * NULL. */
struct suggestion_row {
    long long id, author_id; /* not shown: the row's own id and its author */
    long long unit_id, category_id, assignee_id, escalated_to, cosign_count;
    bool anonymous, publish_name, reopened, overdue;
    const char *public_id, *unit_name, *category_name, *title, *body, *status, *merged_into,
        *created_at, *ack_due, *answer_due, *accepted_at, *answered_at, *published_at,
        *escalation_reason, *author_name, *assignee_name;
};

/* How many fields suggestion_row_spec writes (without DB_END). */
#define SUGGESTION_SPEC_FIELDS 27

/*
 * Zeroes r and writes into spec[0..] the fields that read a row of
 * SUGGESTION_COLUMNS into it (every field allows NULL); the caller adds
 * its own and DB_END. Returns how many it wrote: SUGGESTION_SPEC_FIELDS,
 * or 0 when cap is too small.
 */
size_t suggestion_row_spec(struct suggestion_row *r, struct db_field *spec, size_t cap);

/*
 * Row r as JSON. The author's name is included only when show_author (the
 * viewer may see it). A new reference.
 */
json_t *suggestion_json(const struct suggestion_row *r, bool show_author);

/* The same object as suggestion_json, written as JSON text into w (lists:
 * no jansson objects to build and dump again). */
void suggestion_write(struct jsonw *w, const struct suggestion_row *r, bool show_author);

/*
 * Changes the status of suggestion id, and audits it as
 * "suggestion.<verb>" with before/after status and extra (borrowed, may
 * be NULL) merged into the change. DB_CONSTRAINT when the workflow refuses
 * the edge (the trigger in sql/0003).
 */
/* subj (may be NULL: read then) is what a notice of the change says
 * about the suggestion (domain/notify.h), read by the caller already. */
struct notify_subject;
enum db_status suggestion_transition(struct db_conn *c, const struct audit_entry *actor,
                                     long long id, const char *public_id, const char *from,
                                     const char *to, long long merged_into, const char *verb,
                                     json_t *extra, const struct notify_subject *subj);

/* What suggestion_transition records once the status changed: the audit
 * row and the notice (answered, merged). Queued writes only, when subj
 * is given. */
enum db_status suggestion_transition_record(struct db_conn *c, const struct audit_entry *actor,
                                            long long id, const char *public_id,
                                            const char *from, const char *to, const char *verb,
                                            json_t *extra, const struct notify_subject *subj);

/*
 * Records an assignment of suggestion id (whose assignee_id is already
 * assignee) to assignee (0: nobody was found) in unit_id, with reason, and
 * tells who it concerns (domain/notify.h): by 0 is routing at submission
 * (the assignee hears "assigned"); otherwise by reassigned it (the
 * assignee hears "reassigned", previous, when another, "unassigned").
 * anonymous: an anonymous submission, whose row keeps only the hour and
 * whose notices wait for their window. The row is written with the
 * transaction's next call (db_exec_later); subj as for
 * suggestion_transition (its assignee: the new one).
 */
enum db_status suggestion_assignment_record(struct db_conn *c, long long id, long long assignee,
                                            long long unit_id, const char *reason, long long by,
                                            long long previous, bool anonymous,
                                            const struct notify_subject *subj);

/*
 * Adds a message to suggestion id's thread: kind "submitter", "committee"
 * or "system", by author_id (0: none, as for the holder of a tracking
 * code), with visibility. A submitter's message tells the assignee
 * (anonymous: held to its window). The new message's id goes to
 * message_id (24 bytes); subj as for suggestion_transition.
 */
enum db_status suggestion_message_add(struct db_conn *c, long long id, const char *kind,
                                      long long author_id, const char *visibility,
                                      const char *body, bool anonymous, char message_id[24],
                                      const struct notify_subject *subj);

/*
 * One pass of the escalation job: every suggestion whose answer is overdue
 * by more than its grace period moves up to the parent unit's list, once,
 * audited. Runs under an advisory lock so that several instances never
 * escalate twice; returns the number escalated in *n (0 when another
 * instance holds the lock).
 */
enum db_status suggestions_escalate(struct db_conn *c, int *n);

#endif
