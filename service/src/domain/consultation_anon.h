/* Anonymous answers to a consultation (issue 23, docs/consultations.md
 * "Anonymous answers"): the member's one token under the consultation's
 * own VOPRF key, the answer held until the end of its release window
 * (domain/release.h) and written then without any account or time,
 * replaced until the close by the holder of its tracking code. */
#ifndef YIJIAN_DOMAIN_CONSULTATION_ANON_H
#define YIJIAN_DOMAIN_CONSULTATION_ANON_H

#include <jansson.h>

#include "crypto/oprf.h"
#include "crypto/secrets.h"
#include "crypto/tokens.h"
#include "domain/consultations.h"
#include "domain/redeem.h"
#include "domain/result.h"

/*
 * The consultation's public key as base64url (a new JSON string), for
 * whoever may see it, once it is open and takes anonymous answers; NULL
 * with *out DOMAIN_OK when it has no key to show. Call outside a
 * transaction: the key is made the first time it is asked for.
 */
json_t *consultation_public_key(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                long long id, const char *answer_mode, const char *status,
                                struct domain_result *out);

/*
 * Issues the caller's one token of consultation id: blinded evaluated
 * under its key with a DLEQ proof. Only to an account it asks, while it
 * is open and takes anonymous answers; a second one is refused
 * (DOMAIN_CONFLICT), also after a named answer took its place. Answers
 * {consultation_id, public_key, evaluated, proof} (base64url), a new
 * reference.
 */
json_t *consultation_token_issue(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                 const struct consultation_caller *who, long long id,
                                 const struct oprf_element *blinded, struct domain_result *out);

/*
 * An anonymous answer arriving with token t (verified by the caller):
 * checked against the consultation now (open, a mode that allows it, the
 * answers fit), the token spent, and the answer held until the end of
 * the window (written at once when window is 0). A retry with the same
 * token and answers while it is held gets the same *release_at.
 * code receives the tracking code.
 */
void consultation_hold_answer(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              unsigned window, long long id, const struct token *t,
                              json_t *answers, char code[TRACKING_CODE_CHARS + 1],
                              long long *release_at, struct domain_result *out);

/*
 * The holder of code replaces their anonymous answer while the
 * consultation is open: held like the answer, after it (its chain).
 */
void consultation_hold_change(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              unsigned window, long long id, const char *code, json_t *answers,
                              long long *release_at, struct domain_result *out);

/*
 * What the holder of code sees of their answer: {consultation_id,
 * answers (as released, or null), held: [{kind, release_at, answers}]}.
 * DOMAIN_BAD_TRACKING_CODE when the code holds nothing of id.
 */
json_t *consultation_tracked_answer(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                    long long id, const char *code, struct domain_result *out);

/* True for the kinds of held acts this file releases. */
bool consultation_act_kind(const char *kind);

/* A held answer or change at its release (release_replay_fn's contract):
 * DB_ABORT when refused then (the consultation's release time passed, an
 * answer of that code exists already or, for a change, none does). */
enum db_status consultation_replay(struct db_conn *c, json_t *act);

#endif
