/* Token redemption and tracking codes. Nothing here touches an account,
 * an address or a clock finer than the hour. */
#include "domain/redeem.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "db/rows.h"

/* Strict base64url of between min and max bytes. */
static bool b64_decode(json_t *v, unsigned char *out, size_t min, size_t max, size_t *n)
{
    if (!json_is_string(v))
        return false;
    const char *s = json_string_value(v);
    size_t len = json_string_length(v);
    const char *end = NULL;
    if (len == 0 || len > (max * 4 + 2) / 3 ||
        sodium_base642bin(out, max, s, len, NULL, n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        end != s + len || *n < min)
        return false;
    /* Canonical only: re-encoding must give back the same text. */
    char again[TOKEN_INPUT_MAX_BYTES * 2];
    sodium_bin2base64(again, sizeof again, out, *n, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return strcmp(again, s) == 0;
}

const char *token_parse(json_t *j, const struct config *cfg, long long now, struct token *t,
                        const char **field)
{
    memset(t, 0, sizeof *t);
    *field = "";
    if (!json_is_object(j))
        return "must be an object {key_id, input, output}";
    json_t *kid = json_object_get(j, "key_id");
    *field = "key_id";
    if (!json_is_string(kid) || json_string_length(kid) == 0 ||
        json_string_length(kid) > TOKEN_KEY_ID_MAX)
        return "must be a key id from GET /v1/tokens/keys";
    (void)cfg;
    (void)now;
    struct token_epoch ep;
    if (!token_epoch_parse(0, 0, json_string_value(kid), &ep) &&
        !token_epoch_parse(1, 0, json_string_value(kid), &ep))
        return "is not a key id of this service";
    snprintf(t->key_id, sizeof t->key_id, "%s", json_string_value(kid));

    *field = "input";
    if (!b64_decode(json_object_get(j, "input"), t->input, TOKEN_INPUT_MIN_BYTES,
                    TOKEN_INPUT_MAX_BYTES, &t->input_len))
        return "must be 16 to 128 bytes as base64url without padding";
    *field = "output";
    size_t n = 0;
    if (!b64_decode(json_object_get(j, "output"), t->output, OPRF_OUTPUT_BYTES,
                    OPRF_OUTPUT_BYTES, &n))
        return "must be 64 bytes as base64url without padding";

    crypto_generichash_state h;
    unsigned char digest[32], zero = 0;
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    crypto_generichash_update(&h, (const unsigned char *)t->key_id, strlen(t->key_id));
    crypto_generichash_update(&h, &zero, 1);
    crypto_generichash_update(&h, t->input, t->input_len);
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(t->spent_hex, sizeof t->spent_hex, digest, sizeof digest);
    *field = NULL;
    return NULL;
}

/* Whether the token's output is the key's evaluation of its input; the
 * key and the expected output are wiped either way. */
static int token_genuine(struct oprf_scalar *sk, const struct token *t)
{
    unsigned char expected[OPRF_OUTPUT_BYTES];
    struct oprf_input in = { t->input, t->input_len };
    enum oprf_status os = oprf_evaluate(OPRF_MODE_VOPRF, sk, &in, expected);
    sodium_memzero(sk, sizeof *sk);
    int genuine = os == OPRF_OK && oprf_output_equal(expected, t->output);
    sodium_memzero(expected, sizeof expected);
    return genuine;
}

int token_verify(struct db_conn *c, const struct config *cfg, const struct token *t,
                 long long unit_id, enum db_status *st)
{
    struct oprf_scalar sk;
    struct oprf_element pk;
    *st = DB_OK;
    enum secret_status ss =
        token_key_redeemable(c, cfg->master_key, t->key_id, unit_id, (long long)time(NULL), &sk,
                             &pk, st);
    if (ss == SECRET_NOT_FOUND)
        return TOKEN_KEY_UNKNOWN;
    if (ss != SECRET_OK) {
        if (*st == DB_OK)
            *st = DB_ERROR;
        return -1;
    }
    return token_genuine(&sk, t);
}

enum db_status token_spend(struct db_conn *c, const struct token *t)
{
    const char *params[] = { t->spent_hex };
    enum db_status st;
    int fresh = db_one(c, STMT_TOKEN_SPEND, params, NULL, &st);
    if (fresh < 0)
        return st;
    return fresh ? DB_OK : DB_UNIQUE;
}

const char *consultation_token_parse(json_t *j, long long consultation_id, struct token *t,
                                     const char **field)
{
    memset(t, 0, sizeof *t);
    *field = "";
    if (!json_is_object(j))
        return "must be an object {input, output}";
    *field = "input";
    if (!b64_decode(json_object_get(j, "input"), t->input, TOKEN_INPUT_MIN_BYTES,
                    TOKEN_INPUT_MAX_BYTES, &t->input_len))
        return "must be 16 to 128 bytes as base64url without padding";
    *field = "output";
    size_t n = 0;
    if (!b64_decode(json_object_get(j, "output"), t->output, OPRF_OUTPUT_BYTES,
                    OPRF_OUTPUT_BYTES, &n))
        return "must be 64 bytes as base64url without padding";
    /* Spent under a label no epoch's key id can be: "consultation <id>". */
    char label[48];
    snprintf(label, sizeof label, "consultation %lld", consultation_id);
    crypto_generichash_state h;
    unsigned char digest[32], zero = 0;
    crypto_generichash_init(&h, NULL, 0, sizeof digest);
    crypto_generichash_update(&h, (const unsigned char *)label, strlen(label));
    crypto_generichash_update(&h, &zero, 1);
    crypto_generichash_update(&h, t->input, t->input_len);
    crypto_generichash_final(&h, digest, sizeof digest);
    sodium_bin2hex(t->spent_hex, sizeof t->spent_hex, digest, sizeof digest);
    *field = NULL;
    return NULL;
}

int consultation_token_verify(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              long long consultation_id, const struct token *t,
                              enum db_status *st)
{
    struct oprf_scalar sk;
    struct oprf_element pk;
    enum secret_status ss = consultation_key_load(c, master, consultation_id, false, &sk, &pk, st);
    /* No key was ever made: no token of it was ever issued. The same
     * work is not done, but nothing was issued to time it against. */
    if (ss == SECRET_NOT_FOUND)
        return 0;
    if (ss != SECRET_OK) {
        if (*st == DB_OK)
            *st = DB_ERROR;
        return -1;
    }
    return token_genuine(&sk, t);
}
