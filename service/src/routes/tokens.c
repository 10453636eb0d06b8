/* GET /v1/tokens/keys?unit= (a unit's public keys of the current and the
 * next epoch, then those past their epoch whose tokens are still
 * redeemable) and POST /v1/tokens/issue (a signed-in member's blinded
 * elements evaluated under the current key of a unit they may address,
 * with one batched DLEQ proof). RFC 9497 VOPRF, ristretto255-SHA512; keys
 * are per (unit, epoch), see docs/threat-model.md.
 *
 * Issuance writes no audit row: it changes nothing anyone sees, and a row
 * with the account and the time per issuance is exactly the timing
 * metadata DESIGN §3 keeps out. Only (account, epoch, count) is stored. */
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "crypto/oprf.h"
#include "db/rows.h"
#include "domain/session.h"
#include "domain/token_keys.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"
#include "util/log.h"

/* 32 bytes as base64url without padding. */
#define ELEMENT_B64_CHARS 43
#define PROOF_B64_CHARS 86
/* Caches may keep the key list this long; a client that meets a new epoch
 * early gets 422 for the old key id and fetches the list again. */
#define KEYS_MAX_AGE 300
/* Keys past their epoch listed at most (a few: grace periods are days). */
#define KEYS_IN_GRACE_MAX 8

static json_t *b64_json(const unsigned char *bin, size_t len)
{
    char out[PROOF_B64_CHARS + 1];
    sodium_bin2base64(out, sizeof out, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return json_string(out);
}

/* The key of unit unit_id in epoch e, loaded on the request's connection;
 * on false a problem has been queued and *out is what the handler returns. */
static bool load_key(struct request *r, const struct token_epoch *e, long long unit_id,
                     struct oprf_scalar *sk, struct oprf_element *pk, enum handler_result *out)
{
    if (!r->cfg->master_key_set) { /* serve refuses to start without one */
        *out = reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
        return false;
    }
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c) {
        *out = reply_db_error(r, st);
        return false;
    }
    enum secret_status ss =
        token_key_load(c, r->cfg->master_key, e->key_id, unit_id, sk, pk, &st);
    /* The times shown for the key are the ones redemption goes by. */
    if (ss == SECRET_OK && (st = token_key_register(c, e)) == DB_OK)
        return true;
    if (ss == SECRET_OK) {
        sodium_memzero(sk, sizeof *sk);
        *out = reply_db_error(r, st);
        return false;
    }
    *out = ss == SECRET_DB_FAILED ? reply_db_error(r, st)
                                  : reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    return false;
}

/* ------------------------------------------------------------------ */
/* GET /v1/tokens/keys                                                 */
/* ------------------------------------------------------------------ */

static json_t *key_json(const struct token_epoch *e, long long unit_id,
                        const struct oprf_element *pk)
{
    char nb[TOKEN_TIME_CHARS + 1], na[TOKEN_TIME_CHARS + 1], ru[TOKEN_TIME_CHARS + 1];
    token_time_format(e->not_before, nb);
    token_time_format(e->not_after, na);
    token_time_format(e->redeem_until, ru);
    return json_pack("{s:s, s:I, s:o, s:s, s:s, s:s}", "key_id", e->key_id, "unit_id",
                     (json_int_t)unit_id, "public_key", b64_json(pk->bytes, sizeof pk->bytes),
                     "not_before", nb, "not_after", na, "redeem_until", ru);
}

/* Whether unit exists; false with a problem queued in *out when it does
 * not or the database failed. */
static bool unit_known(struct request *r, long long unit, enum handler_result *out)
{
    enum db_status st;
    if (!request_db(r, &st)) {
        *out = reply_db_error(r, st);
        return false;
    }
    char us[24];
    snprintf(us, sizeof us, "%lld", unit);
    const char *p[] = { us };
    int found = db_one(r->db, STMT_UNIT_BY_ID, p, NULL, &st);
    if (found < 0)
        *out = reply_db_error(r, st);
    else if (!found)
        *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
    return found > 0;
}

enum handler_result tokens_keys(struct request *r)
{
    /* Anyone may ask, an anonymous submitter included: no log line. */
    r->anonymous = true;
    long long unit = 0;
    struct validator v;
    validator_init_query(&v, r);
    query_decimal(&v, "unit", true, 1, ID_MAX, &unit,
                  "unit: expected the id of the unit whose keys to list");
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;
    if (!unit_known(r, unit, &out))
        return out;
    long long now = (long long)time(NULL);
    const struct config *cfg = r->cfg;
    struct token_epoch epochs[2];
    if (!token_epoch_at(cfg->token_epoch_days, cfg->token_grace_days, now, &epochs[0]) ||
        !token_epoch_next(cfg->token_epoch_days, cfg->token_grace_days, &epochs[0], &epochs[1]))
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, "the clock is out of range");

    json_t *keys = json_array();
    for (size_t i = 0; i < 2; i++) {
        struct oprf_scalar sk;
        struct oprf_element pk;
        if (!load_key(r, &epochs[i], unit, &sk, &pk, &out)) {
            json_decref(keys);
            return out;
        }
        sodium_memzero(&sk, sizeof sk);
        json_array_append_new(keys, key_json(&epochs[i], unit, &pk));
    }

    /* Then the keys past their epoch whose tokens are still redeemable (a
     * grace period, or an epoch of an earlier TOKEN_EPOCH), so that a
     * client can learn them again after a rotation. */
    struct token_epoch grace[KEYS_IN_GRACE_MAX];
    enum db_status st;
    int n = token_keys_in_grace(r->db, now, grace, KEYS_IN_GRACE_MAX, &st);
    if (n < 0) {
        json_decref(keys);
        return reply_db_error(r, st);
    }
    for (int i = 0; i < n; i++) {
        if (!strcmp(grace[i].key_id, epochs[0].key_id) || !strcmp(grace[i].key_id, epochs[1].key_id))
            continue;
        struct oprf_scalar sk;
        struct oprf_element pk;
        if (token_key_redeemable(r->db, cfg->master_key, grace[i].key_id, unit, now, &sk, &pk,
                                 &st) != SECRET_OK)
            continue; /* its seed does not open: it is not shown */
        sodium_memzero(&sk, sizeof sk);
        json_array_append_new(keys, key_json(&grace[i], unit, &pk));
    }

    long long left = epochs[0].not_after - now;
    char cache[64];
    snprintf(cache, sizeof cache, "public, max-age=%lld",
             left < KEYS_MAX_AGE ? left : (long long)KEYS_MAX_AGE);
    request_add_header(r, MHD_HTTP_HEADER_CACHE_CONTROL, cache);
    /* The release window is public and the same for everyone: a client
     * sends an anonymous act at a random moment before its next end. */
    return reply_json(r, 200, json_pack("{s:o, s:I}", "keys", keys, "release_window_seconds",
                                        (json_int_t)cfg->anon_release_window));
}

/* ------------------------------------------------------------------ */
/* POST /v1/tokens/issue                                               */
/* ------------------------------------------------------------------ */

/* Strict base64url (no padding, no white space, zero trailing bits) of a
 * canonical element that is not the identity. The alphabet is checked
 * first: libsodium 1.0.18 decodes every byte above 0x7F as '_' (a
 * sign-extended char in its constant-time lookup). */
static const char *element_decode(json_t *item, struct oprf_element *out)
{
    static const char alphabet[] =
        "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
    if (!json_is_string(item))
        return "must be a string";
    const char *s = json_string_value(item);
    size_t len = json_string_length(item);
    unsigned char raw[OPRF_ELEMENT_BYTES];
    size_t n = 0;
    const char *end = NULL;
    if (len != ELEMENT_B64_CHARS || strspn(s, alphabet) != len ||
        sodium_base642bin(raw, sizeof raw, s, len, NULL, &n, &end,
                          sodium_base64_VARIANT_URLSAFE_NO_PADDING) != 0 ||
        n != sizeof raw || end != s + len)
        return "must be 32 bytes as base64url without padding (43 characters)";
    if (oprf_element_deserialize(out, raw, n) != OPRF_OK)
        return "is not the canonical encoding of a ristretto255 element other than the identity";
    return NULL;
}

struct issue_ctx {
    char account[24], count[16], quota[16], unit[24];
    const char *key_id;
    bool granted; /* out */
    long long issued; /* out: taken in the epoch, after this request if granted */
};

/* Takes the tokens, or reads how many were taken when there are not
 * enough left (then nothing is written). */
static enum db_status issue_tx(struct db_conn *c, void *arg)
{
    struct issue_ctx *a = arg;
    a->granted = false;
    a->issued = 0;
    enum db_status st;
    const char *take[] = { a->account, a->key_id, a->count, a->quota, a->unit };
    const struct db_field spec[] = { DB_I64("issued", &a->issued), DB_END };
    int took = db_one(c, STMT_TOKEN_ISSUE_COUNT, take, spec, &st);
    if (took < 0)
        return st;
    if (took) {
        a->granted = true;
        return DB_OK;
    }
    const char *read[] = { a->account, a->key_id, a->unit };
    if (db_one(c, STMT_TOKEN_ISSUED, read, spec, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    return DB_OK;
}

static enum handler_result quota_exhausted(struct request *r, const struct token_epoch *e,
                                           long long issued, size_t asked)
{
    long long quota = r->cfg->token_quota;
    long long left = issued < quota ? quota - issued : 0;
    char next[TOKEN_TIME_CHARS + 1], detail[256];
    token_time_format(e->not_after, next);
    snprintf(detail, sizeof detail,
             "%lld of the %lld tokens of epoch %s remain, %zu were asked for; "
             "the next epoch begins %s", left, quota, e->key_id, asked, next);
    return reply_problem(r, PROBLEM_TOKEN_QUOTA_EXHAUSTED, detail);
}

enum handler_result tokens_issue(struct request *r)
{
    const struct config *cfg = r->cfg;
    struct token_epoch epoch;
    if (!token_epoch_at(cfg->token_epoch_days, cfg->token_grace_days, (long long)time(NULL),
                        &epoch))
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, "the clock is out of range");

    struct validator v;
    validator_init(&v, r->json);
    const char *key_id = validate_string(&v, "key_id", true, 1, 64);
    long long unit_id = 0;
    bool unit_given;
    validate_id(&v, "unit_id", true, false, &unit_id, &unit_given);
    if (key_id && strcmp(key_id, epoch.key_id) != 0) {
        char detail[128];
        snprintf(detail, sizeof detail, "is not the current key: tokens are issued under %s "
                 "(GET /v1/tokens/keys)", epoch.key_id);
        validator_error(&v, "key_id", detail);
    }
    json_t *blinded = json_is_object(r->json) ? json_object_get(r->json, "blinded") : NULL;
    size_t n = json_array_size(blinded);
    struct oprf_element in[OPRF_MAX_BATCH];
    if (json_is_object(r->json) && !blinded) {
        validator_error(&v, "blinded", "is required");
    } else if (json_is_object(r->json) && (!json_is_array(blinded) || n == 0 || n > OPRF_MAX_BATCH)) {
        char detail[96];
        snprintf(detail, sizeof detail, "must be an array of 1 to %d blinded elements",
                 OPRF_MAX_BATCH);
        validator_error(&v, "blinded", detail);
    } else {
        for (size_t i = 0; i < n; i++) {
            const char *why = element_decode(json_array_get(blinded, i), &in[i]);
            if (why) {
                char pointer[32];
                snprintf(pointer, sizeof pointer, "blinded/%zu", i);
                validator_error(&v, pointer, why);
            }
        }
    }
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    long long account_id;
    bool ok;
    out = session_require(r, &account_id, &ok);
    if (!ok)
        return out;

    /* Tokens of a unit only for those who may address it, by the rule of
     * a named submission: a token then works only where its holder could
     * have written with their name. */
    struct issue_ctx a = { .key_id = epoch.key_id };
    snprintf(a.account, sizeof a.account, "%lld", account_id);
    snprintf(a.unit, sizeof a.unit, "%lld", unit_id);
    enum db_status st;
    if (!request_db(r, &st))
        return reply_db_error(r, st);
    const char *pu[] = { a.account, a.unit };
    bool allowed = false;
    const struct db_field aspec[] = { DB_BOOL("allowed", &allowed), DB_END };
    if (db_one(r->db, STMT_SUBMIT_UNIT_ALLOWED, pu, aspec, &st) <= 0)
        return reply_db_error(r, st == DB_OK ? DB_ERROR : st);
    if (!allowed)
        return reply_invalid(r, "unit_id", "not a unit of yours or above yours");

    /* The key first: a failure here must not cost the member tokens. */
    struct oprf_scalar sk;
    struct oprf_element pk;
    if (!load_key(r, &epoch, unit_id, &sk, &pk, &out))
        return out;

    snprintf(a.count, sizeof a.count, "%zu", n);
    snprintf(a.quota, sizeof a.quota, "%u", cfg->token_quota);
    st = db_transaction(r->db, issue_tx, &a);
    if (st != DB_OK) {
        sodium_memzero(&sk, sizeof sk);
        return reply_db_error(r, st);
    }
    if (!a.granted) {
        sodium_memzero(&sk, sizeof sk);
        return quota_exhausted(r, &epoch, a.issued, n);
    }

    struct oprf_element evaluated[OPRF_MAX_BATCH];
    struct oprf_proof proof;
    enum oprf_status os = oprf_voprf_blind_evaluate(&sk, n, in, evaluated, &proof, NULL);
    sodium_memzero(&sk, sizeof sk);
    if (os != OPRF_OK) {
        log_msg(LOG_ERROR, "token evaluation failed: %s", oprf_status_str(os));
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
    }
    unsigned char proof_bytes[OPRF_PROOF_BYTES];
    oprf_proof_serialize(&proof, proof_bytes);
    json_t *list = json_array();
    for (size_t i = 0; i < n; i++)
        json_array_append_new(list, b64_json(evaluated[i].bytes, sizeof evaluated[i].bytes));
    return reply_json(r, 200, json_pack("{s:s, s:I, s:o, s:o}", "key_id", epoch.key_id, "unit_id",
                                        (json_int_t)unit_id, "evaluated", list, "proof",
                                        b64_json(proof_bytes, sizeof proof_bytes)));
}
