/* The roster import (`yijian import-roster FILE.csv`): a CSV of people,
 * their units, roles and portfolios. Parsing is pure (no database, safe on
 * any bytes, fuzzable); applying runs inside the caller's transaction. */
#ifndef YIJIAN_DOMAIN_ROSTER_H
#define YIJIAN_DOMAIN_ROSTER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "db/db.h"
#include "domain/accounts.h"
#include "domain/audit.h"

#define ROSTER_MAX_BYTES (10u * 1024u * 1024u) /* larger files are refused unread */
#define ROSTER_MAX_ROWS 100000u                 /* data rows, blank lines not counted */
#define ROSTER_ERRORS_KEPT 1000u                /* errors past this are only counted */
#define ROSTER_MAX_PORTFOLIOS 32u               /* per row, as the members API */
#define ROSTER_ERROR_BYTES 400u
#define ROSTER_HEADER "login,display_name,unit_path,role,portfolios"
#define ROSTER_NONE SIZE_MAX

/* One distinct unit of the file: a path prefix, parents before children. */
struct roster_unit {
    size_t parent;     /* index into units, ROSTER_NONE for a root */
    const char *name;  /* the path segment */
    const char *level; /* inferred from the name (roster_unit_level), may be NULL */
    unsigned line;     /* first line that names it */
};

struct roster_row {
    unsigned line; /* where the row starts, 1-based */
    const char *login, *display_name;
    const char *role; /* "member", "committee" or "secretary" */
    size_t unit;      /* the last segment of unit_path, index into units */
    const char **portfolios;
    size_t portfolio_count;
};

/* One distinct login (ASCII case folded), in order of first appearance. */
struct roster_account {
    const char *login, *display_name;
    unsigned line;
};

/* One distinct (login, unit): the rows that name it, merged. */
struct roster_membership {
    size_t account, unit;
    unsigned line; /* first row */
    bool member, committee, secretary;
    /* With committee: the portfolios (every committee row of the pair
     * names the same set). Borrowed from a row. */
    const char *const *portfolios;
    size_t portfolio_count;
};

struct roster {
    struct roster_row *rows;
    size_t row_count;
    struct roster_unit *units;
    size_t unit_count;
    struct roster_account *accounts;
    size_t account_count;
    struct roster_membership *memberships;
    size_t membership_count;
    char *text; /* every string above points into this */
};

struct roster_error {
    unsigned line; /* 0: about the whole file */
    char message[ROSTER_ERROR_BYTES];
};

/* Errors in line order; only the first ROSTER_ERRORS_KEPT are kept, total
 * counts them all. */
struct roster_errors {
    struct roster_error *items;
    size_t count, total;
};

/*
 * Parses and validates a whole roster file (data[0..len), any bytes). On
 * success returns 0 and fills *out, which the caller releases with
 * roster_free. Otherwise returns -1 with every problem found in *errs
 * (each with its line) and *out empty. *errs must be zeroed or fresh from
 * roster_errors_free; release it with roster_errors_free.
 */
int roster_parse(const char *data, size_t len, struct roster *out, struct roster_errors *errs);

/* Adds an error (sorted in) for every first path segment of r that is not
 * named root: the API's import is of one unit and what is below it. */
void roster_require_root(const struct roster *r, const char *root, struct roster_errors *errs);

/* Both accept NULL and leave the struct zeroed, ready for reuse. */
void roster_free(struct roster *r);
void roster_errors_free(struct roster_errors *errs);

/* The level a unit called name would get: "committee" (…党委),
 * "general_branch" (…党总支), "branch" (…党支部), "group" (…党小组), or
 * NULL when the suffix says nothing. */
const char *roster_unit_level(const char *name);

/* What applying changed. created lists the new accounts with their codes,
 * to be shown only once the transaction has committed. */
struct roster_created {
    const char *login; /* borrowed from the roster */
    struct account_new account;
};

struct roster_outcome {
    size_t units_created, accounts_created, accounts_updated, memberships_changed;
    struct roster_created *created; /* accounts_created entries */
};

/* Accepts NULL; leaves the struct zeroed. */
void roster_outcome_free(struct roster_outcome *o);

/* Where and as whom a roster is applied. NULL options: the command line's
 * import (roots are roots, the system actor, names updated). */
struct roster_options {
    /* The file's first path segments are children of this unit; 0: they
     * are root units. */
    long long root_parent;
    /* Existing accounts keep their display names: the API's import, where
     * a secretary may not rename someone of another unit. */
    bool keep_names;
    /* The actor of the audit rows (borrowed); NULL: the system. */
    const struct audit_entry *actor;
};

/* What applying would change, found without writing (roster_plan). The
 * arrays hold indexes into the roster's units and accounts. */
struct roster_plan {
    size_t *units_new, units_new_count;       /* parents first */
    size_t *accounts_new, accounts_new_count;
    size_t *accounts_renamed, accounts_renamed_count; /* display name differs */
};

/* Accepts NULL; leaves the struct zeroed. */
void roster_plan_free(struct roster_plan *plan);

/*
 * Reads what applying r with opt would change into *plan (reset first),
 * with the refusals roster_apply would give in *errs. Writes nothing.
 * DB_ABORT when there are such errors; other statuses from the database.
 */
enum db_status roster_plan(struct db_conn *c, const struct roster *r,
                           const struct roster_options *opt, struct roster_plan *plan,
                           struct roster_errors *errs);

/*
 * Applies r on c, inside the caller's transaction, as opt says (NULL: as
 * the system actor, roots as roots):
 * creates missing units (parents first) and accounts, updates changed
 * display names, adds roles and sets committee portfolios. Never removes a
 * unit, an account or a role. Resets *out and *errs first, so that it may be
 * called again when the transaction is retried.
 *
 * DB_ABORT, before anything is written, when a unit to be created has a
 * name whose level cannot be told, or two logins of the file that differ
 * beyond ASCII case are one existing account (errors in *errs, by line).
 * DB_UNIQUE when a unit or an account was created by someone else
 * meanwhile, or two such logins are both new; other statuses from the
 * database.
 */
enum db_status roster_apply(struct db_conn *c, const struct roster *r,
                            const struct roster_options *opt, unsigned activation_ttl,
                            struct roster_outcome *out, struct roster_errors *errs);

#endif
