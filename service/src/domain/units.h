/* Organisation units and memberships: the writes shared by the HTTP
 * routes and the roster import. Each audits what it changes. */
#ifndef YIJIAN_DOMAIN_UNITS_H
#define YIJIAN_DOMAIN_UNITS_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "db/rows.h"
#include "domain/audit.h"

#define UNIT_NAME_MAX_CHARS 100
#define PORTFOLIO_NAME_MAX_CHARS 50

/* True for committee, general_branch, branch, group. */
bool unit_level_valid(const char *level);

/* True for member, committee, secretary. */
bool membership_role_valid(const char *role);

/* A unit as the API shows it, from a row of (id, parent_id, name, level,
 * requires_approval, retired_at): the columns for db_json_rows (db/rows.h). */
extern const struct db_json_col unit_json_cols[];

/* Inserts a unit under parent_id (0: a root) and audits it; *out is a new
 * reference to the unit. DB_UNIQUE when the parent has a unit of that name. */
enum db_status unit_create(struct db_conn *c, const struct audit_entry *actor,
                           long long parent_id, const char *name, const char *level,
                           json_t **out);

/*
 * Makes account's roles in unit exactly roles, and its portfolios in the
 * unit exactly portfolios (JSON arrays of strings, borrowed; portfolios
 * only with "committee"). Audits the change when there is one, with
 * before and after. *changed says whether anything changed. DB_ABORT when
 * a portfolio does not exist in the unit.
 */
enum db_status membership_set(struct db_conn *c, const struct audit_entry *actor,
                              long long unit_id, long long account_id, json_t *roles,
                              json_t *portfolios, bool *changed);

/*
 * Takes account out of unit: every role it holds there and its portfolios
 * there go (membership_set, audited), and each open suggestion it was
 * assigned through that role is routed again as at submission, the
 * account no longer counted (audited as suggestion.assign, the people
 * concerned notified). *out (a new reference) says what was held and
 * where each suggestion went: {roles, portfolios, reassigned: [{
 * suggestion_id, title, status, assignee_id, assignee_name}]}. DB_ABORT
 * with *out NULL when the account holds no role in the unit (*out is
 * NULL on any failure too). Run inside db_transaction; a preview runs it in one that is rolled back.
 */
enum db_status membership_remove(struct db_conn *c, const struct audit_entry *actor,
                                 long long unit_id, long long account_id, json_t **out);

#endif
