/* Suggestions: routing, the JSON shape, status changes and escalation —
 * the rules several routes (and later the anonymous ones) share. */
#ifndef YIJIAN_DOMAIN_SUGGESTIONS_H
#define YIJIAN_DOMAIN_SUGGESTIONS_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
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

/* A fresh public id "S-" and six symbols (Crockford base32, 30 random bits). */
void suggestion_public_id(char out[PUBLIC_ID_CHARS + 1]);

/*
 * The suggestion row res[row] (columns of SUGGESTION_COLUMNS) as JSON. The
 * author's name is included only when show_author (the viewer may see it).
 * A new reference.
 */
json_t *suggestion_json(PGresult *res, int row, bool show_author);

/* The same object as suggestion_json, written as JSON text into w (lists:
 * no jansson objects to build and dump again). */
void suggestion_write(struct jsonw *w, PGresult *res, int row, bool show_author);

/*
 * Changes the status of suggestion id, and audits it as
 * "suggestion.<verb>" with before/after status and extra (borrowed, may
 * be NULL) merged into the change. DB_CONSTRAINT when the workflow refuses
 * the edge (the trigger in sql/0003).
 */
enum db_status suggestion_transition(struct db_conn *c, const struct audit_entry *actor,
                                     long long id, const char *public_id, const char *from,
                                     const char *to, long long merged_into, const char *verb,
                                     json_t *extra);

/*
 * One pass of the escalation job: every suggestion whose answer is overdue
 * by more than its grace period moves up to the parent unit's list, once,
 * audited. Runs under an advisory lock so that several instances never
 * escalate twice; returns the number escalated in *n (0 when another
 * instance holds the lock).
 */
enum db_status suggestions_escalate(struct db_conn *c, int *n);

#endif
