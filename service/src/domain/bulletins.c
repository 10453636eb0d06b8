/* Making and checking bulletins (docs/bulletins.md). */
#include "domain/bulletins.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <sodium.h>

#include "domain/audit_chain.h"
#include "domain/notify.h"

/* ------------------------------------------------------------------ */
/* canonical JSON                                                      */
/* ------------------------------------------------------------------ */

char *bulletin_canonical(const json_t *content)
{
    /* Without JSON_ENSURE_ASCII jansson writes non-ASCII as its UTF-8
     * bytes; it escapes only '"', '\\' and the control characters. */
    return json_dumps(content, JSON_COMPACT | JSON_SORT_KEYS);
}

/* ------------------------------------------------------------------ */
/* publishing                                                          */
/* ------------------------------------------------------------------ */

static json_t *text_or_null(PGresult *res, int row, int col)
{
    return PQgetisnull(res, row, col) ? json_null() : json_string(PQgetvalue(res, row, col));
}

static json_int_t int_at(PGresult *res, int row, int col)
{
    return (json_int_t)strtoll(PQgetvalue(res, row, col), NULL, 10);
}

static json_t *item_json(PGresult *res, int i)
{
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:s, s:s, s:I, s:o}",
                     "public_id", PQgetvalue(res, i, 1), "title", PQgetvalue(res, i, 2), "body",
                     PQgetvalue(res, i, 3), "category", PQgetvalue(res, i, 4), "decision",
                     PQgetvalue(res, i, 5), "answer", "body", PQgetvalue(res, i, 6), "reason",
                     text_or_null(res, i, 7), "submitted_at", PQgetvalue(res, i, 8),
                     "answered_at", PQgetvalue(res, i, 9), "cosign_count", int_at(res, i, 10),
                     "author", text_or_null(res, i, 11));
}

/* Audits one published suggestion. */
static enum db_status audit_item(struct db_conn *c, const struct bulletin_request *q,
                                 const char *public_id)
{
    json_t *change = json_pack("{s:{s:s, s:I}}", "after", "status", "published", "bulletin",
                               (json_int_t)q->id);
    struct audit_entry e = { q->actor, q->actor_id, "suggestion.publish", "suggestion", public_id,
                             change, q->request_id };
    enum db_status st = change ? audit_record(c, &e) : DB_ERROR;
    json_decref(change);
    return st;
}

enum db_status bulletin_publish_tx(struct db_conn *c, void *arg)
{
    struct bulletin_request *q = arg;
    q->outcome = BULLETIN_PUBLISHED;
    q->id = 0;
    q->items = 0;
    char unit[24], corrects[24], id[24], seq[24];
    snprintf(unit, sizeof unit, "%lld", q->unit_id);
    snprintf(corrects, sizeof corrects, "%lld", q->corrects);
    enum db_status st;
    PGresult *lock = NULL, *next = NULL, *items = NULL, *ck = NULL, *res;
    json_t *content = NULL;
    char *canon = NULL;

    const char *pu[] = { unit };
    if (!(lock = db_exec(c, STMT_BULLETIN_UNIT_LOCK, pu, &st)))
        goto out;
    if (PQntuples(lock) != 1) {
        q->outcome = BULLETIN_NO_UNIT;
        st = DB_ABORT;
        goto out;
    }
    if (q->corrects) {
        const char *pc[] = { corrects };
        if (!(res = db_exec(c, STMT_BULLETIN_UNIT_OF, pc, &st)))
            goto out;
        bool same = PQntuples(res) == 1 && strtoll(PQgetvalue(res, 0, 0), NULL, 10) == q->unit_id;
        PQclear(res);
        if (!same) {
            q->outcome = BULLETIN_BAD_CORRECTS;
            st = DB_ABORT;
            goto out;
        }
    }
    char slot[24];
    snprintf(slot, sizeof slot, "%lld", q->slot);
    if (q->slot) {
        /* Under the unit's lock: whoever comes second sees the first's. */
        const char *pd[] = { unit, slot };
        if (!(res = db_exec(c, STMT_BULLETIN_SLOT_DONE, pd, &st)))
            goto out;
        bool done = PQgetvalue(res, 0, 0)[0] == 't';
        PQclear(res);
        if (done) {
            q->outcome = BULLETIN_SLOT_DONE;
            st = DB_ABORT;
            goto out;
        }
    }
    if (!(items = db_exec(c, STMT_BULLETIN_ITEMS, pu, &st)))
        goto out;
    int n = PQntuples(items);
    if (n == 0 && !q->slot) {
        q->outcome = BULLETIN_NOTHING;
        st = DB_ABORT;
        goto out;
    }
    if (!(next = db_exec(c, STMT_BULLETIN_NEXT, pu, &st)))
        goto out;
    if (!(ck = db_exec(c, STMT_CHECKPOINT_LATEST, NULL, &st)))
        goto out;

    q->id = strtoll(PQgetvalue(next, 0, 2), NULL, 10);
    snprintf(id, sizeof id, "%lld", q->id);
    snprintf(seq, sizeof seq, "%s", PQgetvalue(next, 0, 0));
    const char *now = PQgetvalue(next, 0, 3);
    /* The period starts where the previous one ended; the first starts at
     * the earliest answer it publishes (an empty first one: when made). */
    const char *from = !PQgetisnull(next, 0, 1) ? PQgetvalue(next, 0, 1)
                       : n > 0                  ? PQgetvalue(items, 0, 9)
                                                : now;
    char slot_ts[32] = "";
    if (q->slot) {
        time_t t = (time_t)q->slot;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(slot_ts, sizeof slot_ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_t *list = json_array();
    for (int i = 0; i < n; i++)
        json_array_append_new(list, item_json(items, i));
    json_t *checkpoint =
        PQntuples(ck) == 1
            ? json_pack("{s:I, s:s, s:I, s:s}", "seq", int_at(ck, 0, 0), "hash",
                        PQgetvalue(ck, 0, 1), "horizon", int_at(ck, 0, 2), "signature",
                        PQgetvalue(ck, 0, 3))
            : json_null();
    content = json_pack("{s:s, s:I, s:{s:I, s:s}, s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:o}",
                        "format", BULLETIN_FORMAT, "id", (json_int_t)q->id, "unit", "id",
                        (json_int_t)q->unit_id, "name", PQgetvalue(lock, 0, 0), "seq",
                        (json_int_t)strtoll(seq, NULL, 10), "corrects",
                        q->corrects ? json_integer(q->corrects) : json_null(), "slot",
                        q->slot ? json_string(slot_ts) : json_null(), "period_from", from,
                        "period_to", now, "created_at", now, "items", list,
                        "audit_checkpoint", checkpoint);
    st = DB_ERROR;
    if (!content || !(canon = bulletin_canonical(content)))
        goto out;

    unsigned char sig[SIGNATURE_BYTES];
    crypto_sign_detached(sig, NULL, (const unsigned char *)canon, strlen(canon), q->sk);
    char sig_hex[2 * SIGNATURE_BYTES + 1];
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    bool has_ck = PQntuples(ck) == 1;
    const char *pi[] = { id,   unit, seq, q->corrects ? corrects : NULL, from, now, canon, sig_hex,
                         has_ck ? PQgetvalue(ck, 0, 0) : NULL, has_ck ? PQgetvalue(ck, 0, 1) : NULL,
                         q->slot ? slot : NULL };
    if (!(res = db_exec(c, STMT_BULLETIN_INSERT, pi, &st)))
        goto out;
    PQclear(res);

    for (int i = 0; i < n; i++) {
        const char *ps[] = { PQgetvalue(items, i, 0) };
        if (!(res = db_exec(c, STMT_SUGGESTION_PUBLISH, ps, &st)))
            goto out;
        PQclear(res);
        if ((st = audit_item(c, q, PQgetvalue(items, i, 1))) != DB_OK)
            goto out;
        if ((st = notify_suggestion(c, NOTIFY_PUBLISHED, strtoll(PQgetvalue(items, i, 0), NULL, 10),
                                    NULL)) != DB_OK)
            goto out;
    }
    json_t *change = json_pack("{s:I, s:I, s:o, s:o, s:i}", "unit_id", (json_int_t)q->unit_id,
                               "seq", (json_int_t)strtoll(seq, NULL, 10), "corrects",
                               q->corrects ? json_integer(q->corrects) : json_null(), "slot",
                               q->slot ? json_string(slot_ts) : json_null(), "items", n);
    struct audit_entry e = { q->actor, q->actor_id, "bulletin.publish", "bulletin", id, change,
                             q->request_id };
    st = change ? audit_record(c, &e) : DB_ERROR;
    json_decref(change);
    if (st == DB_OK)
        q->items = n;

out:
    free(canon);
    json_decref(content);
    PQclear(ck);
    PQclear(next);
    PQclear(items);
    PQclear(lock);
    return st;
}

/* ------------------------------------------------------------------ */
/* the saved document                                                  */
/* ------------------------------------------------------------------ */

static json_t *base64_json(const unsigned char *bin, size_t len)
{
    char b64[128];
    sodium_bin2base64(b64, sizeof b64, bin, len, sodium_base64_VARIANT_ORIGINAL);
    return json_string(b64);
}

json_t *bulletin_document(const char *content_text, const char *sig_hex,
                          const unsigned char pk[SIGNING_PUBLIC_KEY_BYTES])
{
    unsigned char sig[SIGNATURE_BYTES];
    size_t len = 0;
    if (sodium_hex2bin(sig, sizeof sig, sig_hex, strlen(sig_hex), NULL, &len, NULL) != 0 ||
        len != sizeof sig)
        return NULL;
    json_t *content = json_loads(content_text, 0, NULL);
    if (!content)
        return NULL;
    return json_pack("{s:o, s:o, s:o}", "bulletin", content, "signature",
                     base64_json(sig, sizeof sig), "public_key",
                     base64_json(pk, SIGNING_PUBLIC_KEY_BYTES));
}

/* Exactly n bytes of standard base64 in field name of doc, in its one
 * spelling: libsodium 1.0.18 reads every byte above 0x7F as '/' (see
 * docs/hardening.md), so a signature could otherwise be written in other
 * ways and a tampered file still verify. Re-encoding must give it back. */
static bool base64_field(const json_t *doc, const char *name, unsigned char *out, size_t n)
{
    const json_t *v = json_object_get(doc, name);
    const char *s = json_string_value(v);
    size_t len = 0;
    char again[128];
    if (!s || n > 64 ||
        sodium_base642bin(out, n, s, json_string_length(v), NULL, &len, NULL,
                          sodium_base64_VARIANT_ORIGINAL) != 0 ||
        len != n)
        return false;
    sodium_bin2base64(again, sizeof again, out, n, sodium_base64_VARIANT_ORIGINAL);
    return strlen(again) == json_string_length(v) && memcmp(again, s, strlen(again)) == 0;
}

bool bulletin_verify_document(const json_t *doc, const unsigned char *expected_pk,
                              const char **why)
{
    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES], sig[SIGNATURE_BYTES];
    const json_t *content = json_object_get(doc, "bulletin");
    if (!json_is_object(content)) {
        *why = "no \"bulletin\" object";
        return false;
    }
    if (!base64_field(doc, "public_key", pk, sizeof pk)) {
        *why = "\"public_key\" is not 32 bytes of base64";
        return false;
    }
    if (!base64_field(doc, "signature", sig, sizeof sig)) {
        *why = "\"signature\" is not 64 bytes of base64";
        return false;
    }
    if (expected_pk && sodium_memcmp(pk, expected_pk, sizeof pk) != 0) {
        *why = "signed with another key than the one given";
        return false;
    }
    char *canon = bulletin_canonical(content);
    if (!canon) {
        *why = "out of memory";
        return false;
    }
    int bad = crypto_sign_verify_detached(sig, (const unsigned char *)canon, strlen(canon), pk);
    free(canon);
    if (bad) {
        *why = "the signature does not match the content";
        return false;
    }
    return true;
}
