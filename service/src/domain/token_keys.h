/* Anonymity-token keys: one VOPRF key per epoch (a calendar month in UTC,
 * or a fixed number of days), derived from a seed kept in the secrets
 * table, so that every instance computes the same key and rotation needs
 * no restart (DESIGN §3). */
#ifndef YIJIAN_DOMAIN_TOKEN_KEYS_H
#define YIJIAN_DOMAIN_TOKEN_KEYS_H

#include <stdbool.h>

#include "config.h"
#include "crypto/oprf.h"
#include "crypto/secrets.h"
#include "db/db.h"

#define TOKEN_KEY_ID_MAX 10 /* "YYYY-MM" for months, "YYYY-MM-DD" (the first day) for days */
#define TOKEN_TIME_CHARS 20 /* "YYYY-MM-DDTHH:MM:SSZ" */

/* An epoch and the times its key is good for, in Unix seconds (UTC):
 * tokens are issued in [not_before, not_after) and redeemed until
 * redeem_until (not_after plus the grace period). */
struct token_epoch {
    char key_id[TOKEN_KEY_ID_MAX + 1];
    long long not_before, not_after, redeem_until;
};

/*
 * The epoch holding time t. epoch_days 0 means calendar months, else
 * epochs of that many days counted from 1970-01-01. False when t is outside
 * the years 1970-9998.
 */
bool token_epoch_at(unsigned epoch_days, unsigned grace_days, long long t,
                    struct token_epoch *out);

/* The epoch right after e; false past the year 9998. */
bool token_epoch_next(unsigned epoch_days, unsigned grace_days, const struct token_epoch *e,
                      struct token_epoch *out);

/* The epoch whose key id is key_id under this configuration; false when
 * key_id is not one it would make (malformed, or not an epoch start). */
bool token_epoch_parse(unsigned epoch_days, unsigned grace_days, const char *key_id,
                       struct token_epoch *out);

/* t as RFC 3339 UTC, "2026-11-01T00:00:00Z". */
void token_time_format(long long t, char out[TOKEN_TIME_CHARS + 1]);

/*
 * The key pair of unit unit_id in epoch key_id from the epoch's 32-byte
 * seed: RFC 9497 DeriveKeyPair in VOPRF mode with info
 * "yijian token key " || key_id || " unit " || unit_id (decimal). A token
 * made under one unit's key does not verify under another's: that is what
 * binds it to the unit. The caller wipes sk when done.
 */
enum oprf_status token_key_derive(const unsigned char seed[SECRET_BYTES], const char *key_id,
                                  long long unit_id, struct oprf_scalar *sk,
                                  struct oprf_element *pk);

/*
 * The key pair of unit unit_id in epoch key_id: the epoch's seed is the
 * secret "token-key:<key_id>" (created by whichever instance asks first),
 * run through token_key_derive. Call outside a transaction. On anything but
 * SECRET_OK nothing is in sk and pk. The caller wipes sk when done.
 */
enum secret_status token_key_load(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                  const char *key_id, long long unit_id, struct oprf_scalar *sk,
                                  struct oprf_element *pk, enum db_status *st);

/*
 * The VOPRF key pair of a consultation (its anonymous answers, issue 23):
 * DeriveKeyPair of the seed "consultation-key:<id>" with info
 * "yijian consultation key <id>". create: make the seed if there is none
 * (issuing, showing the key); without, a consultation whose key was never
 * made gives SECRET_NOT_FOUND and nothing is written (redeeming). Call
 * outside a transaction. The caller wipes sk.
 */
enum secret_status consultation_key_load(struct db_conn *c,
                                         const unsigned char master[MASTER_KEY_BYTES],
                                         long long consultation_id, bool create,
                                         struct oprf_scalar *sk, struct oprf_element *pk,
                                         enum db_status *st);

/*
 * Keeps the times published for epoch e (sql/0015 token_keys), once per
 * key and process: what redemption later goes by, whatever the
 * configuration says then. Call with every epoch the key list or
 * issuance shows.
 */
enum db_status token_key_register(struct db_conn *c, const struct token_epoch *e);

/*
 * For redemption: the key pair of unit unit_id in key_id when its tokens
 * are redeemable at now, by the times published for it. SECRET_NOT_FOUND when key_id never
 * had a key or its tokens are not redeemable now; nothing is ever
 * created. The caller wipes sk.
 */
enum secret_status token_key_redeemable(struct db_conn *c,
                                        const unsigned char master[MASTER_KEY_BYTES],
                                        const char *key_id, long long unit_id, long long now,
                                        struct oprf_scalar *sk, struct oprf_element *pk,
                                        enum db_status *st);

/*
 * Up to max keys whose tokens are redeemable at now, oldest first, into
 * out: the current epoch's, those in their grace period, and those of an
 * epoch made under an earlier TOKEN_EPOCH. Returns how many, or -1 (*st
 * says why).
 */
int token_keys_in_grace(struct db_conn *c, long long now, struct token_epoch *out, int max,
                        enum db_status *st);

/*
 * At start-up, on the pool: loads (or creates) the current epoch's key, so
 * that a master key that does not open the stored secrets stops `serve`
 * with a message instead of failing every issuance later. Returns -1 only
 * for a wrong master key; a database that cannot be reached yet is logged
 * and left to the requests.
 */
int token_keys_startup_check(const struct config *cfg);

#endif
