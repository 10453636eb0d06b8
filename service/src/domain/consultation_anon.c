/* Anonymous answers to a consultation (domain/consultation_anon.h). What
 * arrives only reads, spends its token and is held: nothing anyone can see
 * changes before the release (docs/threat-model.md "The release window"). */
#include "domain/consultation_anon.h"

#include <sodium.h>
#include <stdio.h>
#include <string.h>

#include "domain/audit.h"
#include "domain/release.h"
#include "domain/token_keys.h"

#define KIND_ANSWER "consultation_answer"
#define KIND_CHANGE "consultation_answer_change"

static json_t *b64_json(const unsigned char *bin, size_t len)
{
    char out[OPRF_PROOF_BYTES * 2];
    sodium_bin2base64(out, sizeof out, bin, len, sodium_base64_VARIANT_URLSAFE_NO_PADDING);
    return json_string(out);
}

static bool takes_anonymous(const struct consultation_row *row)
{
    return row->answer_mode && strcmp(row->answer_mode, "named_only") != 0;
}

/* Open for answers now, in a mode that takes anonymous ones; else refused. */
static bool open_for_anonymous(const struct consultation_row *row, struct domain_result *out)
{
    if (strcmp(row->status, "open") != 0 || !row->started || row->ended) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the consultation is not open for answers");
        return false;
    }
    if (!takes_anonymous(row)) {
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "this consultation takes named answers only");
        return false;
    }
    return true;
}

json_t *consultation_public_key(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                long long id, const char *answer_mode, const char *status,
                                struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    if (!answer_mode || !status || !strcmp(answer_mode, "named_only") || !strcmp(status, "draft"))
        return NULL;
    struct oprf_scalar sk;
    struct oprf_element pk;
    enum db_status st;
    enum secret_status ss = consultation_key_load(c, master, id, true, &sk, &pk, &st);
    sodium_memzero(&sk, sizeof sk);
    if (ss != SECRET_OK) {
        domain_settle(out, st != DB_OK ? st : DB_ERROR);
        return NULL;
    }
    return b64_json(pk.bytes, sizeof pk.bytes);
}

/* ---- issuance ---- */

struct issue_ctx {
    long long id, account;
    struct domain_result *out;
};

static enum db_status issue_tx(struct db_conn *c, void *arg)
{
    struct issue_ctx *k = arg;
    bool taken;
    enum db_status st = db_consultation_token_take(c, k->id, k->account, &taken);
    if (st == DB_OK && !taken)
        return domain_refuse(k->out, DOMAIN_CONFLICT, NULL,
                             "your one token of this consultation was issued already");
    return st;
}

json_t *consultation_token_issue(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                 const struct consultation_caller *who, long long id,
                                 const struct oprf_element *blinded, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct consultation_row row;
    bool staff;
    json_t *j = NULL;
    if (!consultation_load(c, who, id, &row, &staff, out))
        goto done;
    if (!row.in_audience) {
        domain_refuse(out, DOMAIN_FORBIDDEN, NULL, "you are not among those it asks");
        goto done;
    }
    if (!open_for_anonymous(&row, out))
        goto done;
    /* The key first: a failure here must not cost the member the token. */
    struct oprf_scalar sk;
    struct oprf_element pk;
    enum db_status st;
    if (consultation_key_load(c, master, id, true, &sk, &pk, &st) != SECRET_OK) {
        domain_settle(out, st != DB_OK ? st : DB_ERROR);
        goto done;
    }
    struct issue_ctx k = { id, who->account_id, out };
    st = db_transaction(c, issue_tx, &k);
    if (!domain_settle(out, st)) {
        sodium_memzero(&sk, sizeof sk);
        goto done;
    }
    struct oprf_element evaluated;
    struct oprf_proof proof;
    enum oprf_status os = oprf_voprf_blind_evaluate(&sk, 1, blinded, &evaluated, &proof, NULL);
    sodium_memzero(&sk, sizeof sk);
    if (os != OPRF_OK) {
        domain_settle(out, DB_ERROR);
        goto done;
    }
    unsigned char proof_bytes[OPRF_PROOF_BYTES];
    oprf_proof_serialize(&proof, proof_bytes);
    j = json_pack("{s:I, s:o, s:o, s:o}", "consultation_id", (json_int_t)id, "public_key",
                  b64_json(pk.bytes, sizeof pk.bytes), "evaluated",
                  b64_json(evaluated.bytes, sizeof evaluated.bytes), "proof",
                  b64_json(proof_bytes, sizeof proof_bytes));
done:
    consultation_row_clear(&row);
    return j;
}

/* ---- arrival: checked, paid, held ---- */

/* The consultation as anyone sees it (no viewer): found and open for an
 * anonymous answer that fits. Reads only: no row lock, which would write
 * the consultation's xmax at the answer's arrival. */
static bool arrival_check(struct db_conn *c, long long id, json_t *answers,
                          struct domain_result *out)
{
    struct consultation_row row;
    bool found;
    enum db_status st = db_consultation_get(c, id, 0, &row, &found);
    bool ok = domain_settle(out, st);
    if (ok && (!found || !strcmp(row.status, "draft"))) {
        domain_refuse(out, DOMAIN_NOT_FOUND, NULL, "no such consultation");
        ok = false;
    }
    ok = ok && open_for_anonymous(&row, out) &&
         consultation_answers_valid(row.questions, answers, out);
    consultation_row_clear(&row);
    return ok;
}

struct hold_ctx {
    const unsigned char *master;
    unsigned window;
    long long id;
    const struct token *t; /* the answer; NULL for a change */
    json_t *answers;
    char code_hash[65], lookup[RELEASE_LOOKUP_HEX];
    long long release_at; /* out */
    struct domain_result *out;
};

static json_t *act_of(const struct hold_ctx *k, const char *kind, size_t seq)
{
    return json_pack("{s:s, s:I, s:O, s:s, s:s, s:I}", "kind", kind, "consultation_id",
                     (json_int_t)k->id, "answers", k->answers, "code_hash", k->code_hash,
                     "chain", k->lookup, "seq", (json_int_t)seq);
}

/* The acts of consultation id among those held under k->lookup (a new
 * array), or NULL on a database failure. */
static json_t *held_of(struct db_conn *c, const struct hold_ctx *k, enum db_status *st)
{
    json_t *all = release_held(c, k->master, k->lookup, st);
    if (!all)
        return NULL;
    json_t *mine = json_array();
    size_t i;
    json_t *act;
    json_array_foreach(all, i, act) {
        if (consultation_act_kind(json_string_value(json_object_get(act, "kind"))) &&
            json_integer_value(json_object_get(act, "consultation_id")) == k->id)
            json_array_append(mine, act);
    }
    json_decref(all);
    return mine;
}

static enum db_status answer_hold_tx(struct db_conn *c, void *arg)
{
    struct hold_ctx *k = arg;
    k->out->outcome = DOMAIN_OK;
    enum db_status st = token_spend(c, k->t);
    if (st == DB_UNIQUE) {
        /* A retry of a held answer (its token, its answers) gets the same
         * reply; any other spent token is refused. */
        json_t *held = held_of(c, k, &st);
        if (!held)
            return st;
        json_t *first = json_array_get(held, 0);
        if (first && json_equal(json_object_get(first, "answers"), k->answers))
            k->release_at = (long long)json_integer_value(json_object_get(first, "release_at"));
        json_decref(held);
        return k->release_at ? DB_ABORT : domain_refuse(k->out, DOMAIN_TOKEN_SPENT, NULL, NULL);
    }
    if (st != DB_OK)
        return st;
    json_t *act = act_of(k, KIND_ANSWER, 0);
    if (!act)
        return DB_ERROR;
    if (k->window == 0) {
        st = consultation_replay(c, act);
        k->release_at = 0;
    } else {
        st = release_hold(c, k->master, k->window, k->lookup, act, &k->release_at);
    }
    json_decref(act);
    return st;
}

/* The end of a refused write at window 0: the schema refused it (the
 * closing time came in between). */
static void settle_hold(struct domain_result *out, enum db_status st)
{
    if (st == DB_ABORT && out->outcome == DOMAIN_OK)
        domain_refuse(out, DOMAIN_CONFLICT, NULL, "the consultation is not open for answers");
    else
        domain_settle(out, st);
}

void consultation_hold_answer(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              unsigned window, long long id, const struct token *t,
                              json_t *answers, char code[TRACKING_CODE_CHARS + 1],
                              long long *release_at, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    *release_at = 0;
    code[0] = '\0';
    if (!arrival_check(c, id, answers, out))
        return;
    struct hold_ctx k = { .master = master, .window = window, .id = id, .t = t,
                          .answers = answers, .out = out };
    tracking_code_from_output(t->output, code);
    tracking_code_hash(code, k.code_hash);
    release_lookup(master, k.code_hash, k.lookup);
    enum db_status st = db_transaction(c, answer_hold_tx, &k);
    if (st == DB_ABORT && k.release_at) {
        *release_at = k.release_at;
        return;
    }
    settle_hold(out, st);
    if (out->outcome == DOMAIN_OK)
        *release_at = k.release_at;
    else
        sodium_memzero(code, TRACKING_CODE_CHARS + 1);
}

static enum db_status change_hold_tx(struct db_conn *c, void *arg)
{
    struct hold_ctx *k = arg;
    k->out->outcome = DOMAIN_OK;
    enum db_status st;
    json_t *held = held_of(c, k, &st), *released = NULL;
    if (!held)
        return st;
    size_t seq = json_array_size(held) + 1;
    bool holds_answer = false;
    size_t i;
    json_t *act;
    json_array_foreach(held, i, act) {
        const char *kind = json_string_value(json_object_get(act, "kind"));
        holds_answer = holds_answer || (kind && !strcmp(kind, KIND_ANSWER));
    }
    json_decref(held);
    if (!holds_answer) {
        st = db_consultation_answer_by_code(c, k->id, k->code_hash, &released);
        if (st != DB_OK)
            return st;
        if (!released)
            return domain_refuse(k->out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        json_decref(released);
    }
    act = act_of(k, KIND_CHANGE, seq);
    if (!act)
        return DB_ERROR;
    if (k->window == 0)
        st = consultation_replay(c, act);
    else
        st = release_hold(c, k->master, k->window, k->lookup, act, &k->release_at);
    json_decref(act);
    return st;
}

void consultation_hold_change(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              unsigned window, long long id, const char *code, json_t *answers,
                              long long *release_at, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    *release_at = 0;
    struct hold_ctx k = { .master = master, .window = window, .id = id, .answers = answers,
                          .out = out };
    if (!code || !tracking_code_hash(code, k.code_hash)) {
        domain_refuse(out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        return;
    }
    if (!arrival_check(c, id, answers, out))
        return;
    release_lookup(master, k.code_hash, k.lookup);
    settle_hold(out, db_transaction(c, change_hold_tx, &k));
    if (out->outcome == DOMAIN_OK)
        *release_at = k.release_at;
}

json_t *consultation_tracked_answer(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                                    long long id, const char *code, struct domain_result *out)
{
    memset(out, 0, sizeof *out);
    struct hold_ctx k = { .master = master, .id = id, .out = out };
    if (!code || !tracking_code_hash(code, k.code_hash)) {
        domain_refuse(out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        return NULL;
    }
    release_lookup(master, k.code_hash, k.lookup);
    enum db_status st;
    json_t *released = NULL, *held = held_of(c, &k, &st);
    if (!held || (st = db_consultation_answer_by_code(c, id, k.code_hash, &released)) != DB_OK) {
        json_decref(held);
        domain_settle(out, st);
        return NULL;
    }
    if (!released && json_array_size(held) == 0) {
        json_decref(held);
        domain_refuse(out, DOMAIN_BAD_TRACKING_CODE, NULL, NULL);
        return NULL;
    }
    json_t *list = json_array();
    size_t i;
    json_t *act;
    json_array_foreach(held, i, act) {
        char at[TOKEN_TIME_CHARS + 1];
        token_time_format((long long)json_integer_value(json_object_get(act, "release_at")), at);
        json_array_append_new(list, json_pack("{s:O, s:s, s:O}", "kind", json_object_get(act, "kind"),
                                              "release_at", at, "answers",
                                              json_object_get(act, "answers")));
    }
    json_decref(held);
    return json_pack("{s:I, s:o, s:o}", "consultation_id", (json_int_t)id, "answers",
                     released ? released : json_null(), "held", list);
}

/* ---- release ---- */

bool consultation_act_kind(const char *kind)
{
    return kind && (!strcmp(kind, KIND_ANSWER) || !strcmp(kind, KIND_CHANGE));
}

enum db_status consultation_replay(struct db_conn *c, json_t *act)
{
    const char *kind = json_string_value(json_object_get(act, "kind"));
    long long id = (long long)json_integer_value(json_object_get(act, "consultation_id"));
    const char *code_hash = json_string_value(json_object_get(act, "code_hash"));
    json_t *answers = json_object_get(act, "answers");
    if (!consultation_act_kind(kind) || id <= 0 || !code_hash || strlen(code_hash) != 64 ||
        !json_is_object(answers))
        return DB_ABORT;
    bool change = !strcmp(kind, KIND_CHANGE);
    enum db_status st = db_consultation_answer_anonymous(c, id, code_hash, answers, change);
    /* Refused by the schema (its release time passed): dropped. */
    if (st == DB_CONSTRAINT)
        return DB_ABORT;
    if (st != DB_OK)
        return st;
    char cid[24];
    snprintf(cid, sizeof cid, "%lld", id);
    /* Like a named answer's: that someone answered, not what; and here
     * not who, and only the hour (audit.c). */
    struct audit_entry anonymous = { .actor = AUDIT_ANONYMOUS };
    return audit_change(c, &anonymous, change ? "consultation.answer_change" : "consultation.answer",
                        "consultation", cid, NULL);
}
