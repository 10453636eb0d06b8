/* The suggestion's workflow: submission (named, anonymous, idempotent)
 * and every step after it (accept, assign, answer, approve, rate, reopen,
 * withdraw, merge, message, co-sign), each in one transaction with its
 * audit row. Who may take a step is asked of domain/authz.h; which edges
 * exist is the database's rule (sql/0003). Knows nothing of HTTP: the
 * caller passes plain values and gets a domain_result. */
#ifndef YIJIAN_DOMAIN_WORKFLOW_H
#define YIJIAN_DOMAIN_WORKFLOW_H

#include <jansson.h>
#include <stdbool.h>

#include "db/db.h"
#include "domain/redeem.h"
#include "domain/result.h"
#include "domain/suggestions.h"

/* Who acts: an account, or someone anonymous (the holder of a tracking
 * code, or an anonymous co-signer, or the author of an anonymous
 * submission). request_id (may be NULL) reaches a named actor's audit
 * rows; an anonymous actor's rows never get one. */
struct wf_actor {
    long long account_id; /* 0 when anonymous */
    bool anonymous;
    const char *request_id;
};

/* Validation limits shared with the route that parses the body. */
#define IDEMPOTENCY_KEY_MAX 200

struct wf_submission {
    struct wf_actor actor;
    const struct token *token; /* anonymous: the verified token that pays */
    long long unit_id;         /* 0: the member's own unit, when there is exactly one */
    long long category_id;
    const char *title, *body;
    bool publish_name;
    const char *idem_key;      /* Idempotency-Key, or NULL */
    const char *request_hash;  /* with idem_key: BLAKE2b of the canonical body */
    /* a held anonymous submission at its release: the token was spent at
     * arrival (token is NULL), this is its tracking code's hash */
    const char *tracking_hash;
};

/*
 * Submits s on c: checks the unit and the category, then in one
 * transaction claims the idempotency key, spends the token, routes,
 * inserts, records the assignment, the tracking code and the audit row.
 * On DOMAIN_OK public_id is the suggestion's and *status 201, or the
 * status of the first answer given to the same Idempotency-Key (a
 * replay). Refusals: DOMAIN_INVALID (/unit_id, /category_id, or the key
 * reused with another body), DOMAIN_TOKEN_SPENT.
 */
void workflow_submit(struct db_conn *c, const struct wf_submission *s,
                     char public_id[PUBLIC_ID_CHARS + 1], unsigned *status,
                     struct domain_result *out);

/*
 * workflow_submit answering, when the suggestion was made, the suggestion
 * as its submitter sees it in *view (a new reference; as its author, for
 * an anonymous one), read in the pipeline of the COMMIT; NULL for a
 * replay (nothing was read) or a refusal. view may be NULL.
 */
void workflow_submit_view(struct db_conn *c, const struct wf_submission *s,
                          char public_id[PUBLIC_ID_CHARS + 1], unsigned *status, json_t **view,
                          struct domain_result *out);

/*
 * An anonymous submission while ANON_RELEASE_WINDOW is on: checks the
 * unit and the category, then in one transaction spends the token and
 * holds the submission, sealed under master, until the end of the
 * current window (domain/release.c), when workflow_replay submits it.
 * *release_at gets that end (Unix seconds). A retry with the same token
 * while it is held gets the same answer. Refusals: DOMAIN_INVALID
 * (/unit_id, /category_id), DOMAIN_TOKEN_SPENT.
 */
void workflow_hold_submission(struct db_conn *c, const struct wf_submission *s,
                              const unsigned char *master, unsigned window,
                              long long *release_at, struct domain_result *out);

/*
 * Replays a held act at its release (a release_replay_fn of
 * domain/release.h), inside the release's transaction, through the same
 * steps as the immediate path: DB_OK, DB_ABORT when refused now (it is
 * dropped), or the database's failure.
 */
enum db_status workflow_replay(struct db_conn *c, json_t *act, void *arg);

enum wf_step { WF_ACCEPT, WF_WITHDRAW, WF_ASSIGN, WF_MERGE, WF_REOPEN, WF_MESSAGE,
               WF_ANSWER, WF_APPROVE, WF_RATE, WF_COSIGN, WF_SHOW };

struct wf_action {
    enum wf_step step;
    struct wf_actor actor;
    const struct token *token; /* an anonymous co-sign: the verified token */
    const char *public_id;
    /* the step's validated inputs */
    long long assignee_id;                                         /* assign */
    const char *text, *reason, *decision, *visibility, *rating, *into;
    /* APPROVAL_COOLING_OFF, seconds: answer and approve (sql/0020) */
    unsigned approval_cooling_off;
    /* A named step's Idempotency-Key and the hash of its request (path and
     * body), NULL without one: a repeat of the key by the same account
     * takes no step again and is answered with the suggestion as it is. */
    const char *idem_key, *request_hash;
    /* show: to the unit's members, and with the author's name */
    bool shown, show_name;
};

/*
 * Takes step a on suggestion a->public_id in one transaction on c (which
 * retries it whole on a serialization failure). Refusals: DOMAIN_NOT_FOUND
 * (no such suggestion, or one the actor may not see), DOMAIN_FORBIDDEN,
 * DOMAIN_CONFLICT (its status refuses the step), DOMAIN_INVALID,
 * DOMAIN_TOKEN_SPENT.
 */
void workflow_act(struct db_conn *c, const struct wf_action *a, struct domain_result *out);

/* Whether an anonymous step is held in the release window: co-sign,
 * message, rate, withdraw, reopen. */
bool workflow_holds(enum wf_step step);

/*
 * An anonymous step a (a->actor.anonymous) while ANON_RELEASE_WINDOW is
 * on: checks now what can be decided now (the token of a co-sign is spent
 * now; the suggestion's status, and the acts lookup_hex holds already),
 * then holds the step, sealed under master, until the end of the current
 * window, when workflow_replay takes it through the same checks as
 * workflow_act. lookup_hex is the release_lookup of the tracking code
 * (NULL for a co-sign, which nobody can look up). *release_at gets the
 * window's end. Refusals: those of workflow_act that the state at
 * arrival decides (DOMAIN_NOT_FOUND, DOMAIN_CONFLICT, DOMAIN_TOKEN_SPENT).
 */
void workflow_hold_act(struct db_conn *c, const struct wf_action *a,
                       const unsigned char *master, unsigned window, const char *lookup_hex,
                       long long *release_at, struct domain_result *out);

/* workflow_act for a step that may be a repeat (a->idem_key): *replayed
 * tells that the key had been used and nothing was done this time. */
void workflow_act_once(struct db_conn *c, const struct wf_action *a, struct domain_result *out,
                       bool *replayed);

/*
 * workflow_act_once answering, when the step was taken, the suggestion as
 * the actor now sees it (as_author: as its author sees it, the holder of
 * a tracking code) in *view (a new reference), read in the pipeline of
 * the step's COMMIT: no round trip of its own. *view is NULL when the
 * step was refused (out says why) or replayed (nothing was read).
 */
void workflow_act_view(struct db_conn *c, const struct wf_action *a, bool as_author,
                       json_t **view, struct domain_result *out, bool *replayed);

/* True when s looks like a public id ("S-" and six Crockford symbols). */
bool suggestion_public_id_ok(const char *s);

/*
 * The unit of the suggestion public_id, 0 when there is none, -1 on a
 * database failure (*st says why): what an anonymous co-sign's token must
 * be of. A suggestion never changes unit, so this may be read before the
 * step's transaction.
 */
long long workflow_unit_of(struct db_conn *c, const char *public_id, enum db_status *st);

/* Takes MESSAGES_PER_SUGGESTION and MESSAGES_PER_DAY from cfg; before it
 * is called the defaults of config.c apply. */
void workflow_configure(const struct config *cfg);

#endif
