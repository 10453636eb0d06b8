/* Authorization, decided in one place from (account, unit, role). Handlers
 * load the facts with authz_load and ask authz_allows; nothing else looks
 * at roles. */
#ifndef YIJIAN_DOMAIN_AUTHZ_H
#define YIJIAN_DOMAIN_AUTHZ_H

#include <stdbool.h>

#include "db/db.h"
#include "db/rows.h"

struct authz {
    long long account_id;
    long long unit_id;     /* 0: no unit (global actions) */
    bool is_admin;
    bool unit_exists;
    bool member, committee, secretary; /* roles held in the unit itself */
    bool secretary_above;  /* secretary of the unit or of a unit above it */
};

enum authz_action {
    AUTHZ_VIEW_TREE,        /* any signed-in account */
    AUTHZ_CREATE_ROOT_UNIT, /* admin */
    AUTHZ_MANAGE_UNIT,      /* create children, rename, move, portfolios, members,
                             * bulletins and their schedule */
    AUTHZ_VIEW_MEMBERS,     /* the unit's committee, or whoever manages it */
    AUTHZ_VIEW_PORTFOLIOS,  /* anyone in the unit, or whoever manages it */
    AUTHZ_VIEW_SHOWN,       /* suggestions shown to the unit: the same */
    AUTHZ_CREATE_ACCOUNT,   /* in a unit: whoever manages it; without: admin */
    AUTHZ_GRANT_ADMIN,      /* admin */
};

/* Loads what account_id holds in unit_id (0 for none) on c. */
enum db_status authz_load(struct db_conn *c, long long account_id, long long unit_id,
                          struct authz *out);

/* The facts as a statement answers them (AUTHZ_FACTS in db/statements.c,
 * the one query of them): read with AUTHZ_FACTS_FIELDS(prefix, &facts)
 * in a spec of db/rows.h, then turned into a struct authz. */
struct authz_facts {
    bool is_admin, unit_exists, secretary_above;
    char roles[128]; /* a JSON array of role names */
};
#define AUTHZ_FACTS_FIELDS(p, f)                                                   \
    DB_BOOL(p "is_admin", &(f)->is_admin), DB_BOOL(p "unit_exists", &(f)->unit_exists), \
    DB_TEXT(p "roles", (f)->roles), DB_BOOL(p "secretary_above", &(f)->secretary_above)

/* The facts f into out; account_id and unit_id are the caller's to set. */
void authz_from_facts(const struct authz_facts *f, struct authz *out);

/* The policy: true when the facts in a allow the action. */
bool authz_allows(const struct authz *a, enum authz_action action);

/* Who an account is to one suggestion: its relation to the suggestion
 * and the roles it holds in the suggestion's unit (or the unit it was
 * escalated to). */
struct authz_suggestion {
    long long account_id;
    bool author, assignee, committee, manages, admin;
    bool supporter; /* co-signed it, or wrote a suggestion merged into it */
};

enum authz_suggestion_action {
    AUTHZ_SUGGESTION_VIEW,   /* read it and its thread: any relation to it */
    AUTHZ_SUGGESTION_READ,   /* read it without the thread: also its supporters */
    AUTHZ_SUGGESTION_HANDLE, /* accept, answer: the assignee, or whoever manages */
    AUTHZ_SUGGESTION_MANAGE, /* assign, merge, approve: whoever manages the unit */
    AUTHZ_SUGGESTION_STAFF,  /* internal messages, the committee's work: all but the author */
    AUTHZ_SUGGESTION_AUTHOR, /* withdraw, rate, reopen: the author (or tracking code holder) */
};

/* The relation of account_id to a suggestion by author_id, assigned to
 * assignee_id, from the facts for its unit and, when it was escalated,
 * for that unit (esc; NULL when not). */
void authz_suggestion_from(long long account_id, long long author_id, long long assignee_id,
                           const struct authz *unit, const struct authz *esc,
                           struct authz_suggestion *out);

/* authz_suggestion_from after loading the facts on c (escalated_to 0:
 * none). */
enum db_status authz_suggestion_load(struct db_conn *c, long long account_id, long long unit_id,
                                     long long escalated_to, long long author_id,
                                     long long assignee_id, struct authz_suggestion *out);

/* The policy for one suggestion. */
bool authz_suggestion_allows(const struct authz_suggestion *g,
                             enum authz_suggestion_action action);

/* True (in *yes) when manager may manage account target: admin, or, when
 * target is no admin, secretary of a unit at or above every unit target
 * holds a role in. */
enum db_status authz_manages_account(struct db_conn *c, const struct authz *manager,
                                     long long target, bool *yes);

#endif
