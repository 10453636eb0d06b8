/* Spending anonymity tokens and following anonymous suggestions by their
 * tracking codes (DESIGN §3, steps 4 and 5). */
#ifndef YIJIAN_DOMAIN_REDEEM_H
#define YIJIAN_DOMAIN_REDEEM_H

#include <jansson.h>
#include <stdbool.h>

#include "config.h"
#include "crypto/oprf.h"
#include "crypto/tokens.h"
#include "db/db.h"
#include "domain/token_keys.h"

#define TOKEN_INPUT_MIN_BYTES 16
#define TOKEN_INPUT_MAX_BYTES 128

/* A token as a client sends it: {key_id, input, output}, base64url. */
struct token {
    char key_id[TOKEN_KEY_ID_MAX + 1];
    unsigned char input[TOKEN_INPUT_MAX_BYTES];
    size_t input_len;
    unsigned char output[OPRF_OUTPUT_BYTES];
    char spent_hex[65]; /* BLAKE2b-256(key_id, 0, input): what is stored */
};

/*
 * Parses and checks the shape of j: a key id in the form of one
 * ("YYYY-MM" or "YYYY-MM-DD"), an input of 16-128 bytes and a 64-byte
 * output, both strict base64url. Whether the key exists and its tokens
 * are redeemable now is token_verify's to say, by the times published for
 * it (a change of TOKEN_EPOCH does not cut them short). Returns NULL, or a
 * detail with *field set to the member at fault ("" for the object).
 * cfg and now are kept for the callers; unused.
 */
const char *token_parse(json_t *j, const struct config *cfg, long long now, struct token *t,
                        const char **field);

/* token_verify: the token names no key whose tokens are redeemable now. */
#define TOKEN_KEY_UNKNOWN 2

/*
 * Recomputes the output with the key of unit_id in the token's epoch and
 * compares in constant time: a token of another unit is not genuine (the
 * unit binding, docs/threat-model.md). Call outside a transaction. 1
 * genuine, 0 not, TOKEN_KEY_UNKNOWN
 * when its key id never had a key or its tokens are past their published
 * redeem_until (nothing is stored then), -1 on a database or key failure
 * (*st says which). Takes the same time whoever holds a genuine one.
 */
int token_verify(struct db_conn *c, const struct config *cfg, const struct token *t,
                 long long unit_id, enum db_status *st);

/*
 * A consultation's token (issue 23): {input, output} under the
 * consultation's own key (consultation_key_load), spent as
 * BLAKE2b-256("consultation <id>", 0, input). Same contract as
 * token_parse and token_verify; consultation_token_verify gives 0 (not
 * genuine) for a consultation whose key was never made.
 */
const char *consultation_token_parse(json_t *j, long long consultation_id, struct token *t,
                                     const char **field);
int consultation_token_verify(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              long long consultation_id, const struct token *t,
                              enum db_status *st);

/* Marks t spent inside the caller's transaction; DB_UNIQUE when it was. */
enum db_status token_spend(struct db_conn *c, const struct token *t);

#endif
