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

static json_t *text_or_null(const char *s)
{
    return s ? json_string(s) : json_null();
}

/* One row of STMT_BULLETIN_ITEMS, as the spec reads it. */
struct item_row {
    long long id, cosign_count;
    const char *public_id, *title, *body, *category, *decision, *answer_body, *reason,
        *submitted_at, *answered_at, *author;
};

/* What publishing needs of each item once the rows are gone. */
struct item_ref {
    long long id;
    char public_id[32];
};

struct items {
    struct item_row row;
    json_t *list;            /* the items of the document, oldest answer first */
    struct item_ref *refs;
    size_t n, cap;
    char first_answered[32]; /* the first item's answered_at */
};

static json_t *item_json(const struct item_row *r)
{
    /* An answered_at that is NULL is written "", as the row's text was. */
    return json_pack("{s:s, s:s, s:s, s:s, s:s, s:{s:s, s:o}, s:s, s:s, s:I, s:o}",
                     "public_id", r->public_id, "title", r->title, "body", r->body, "category",
                     r->category, "decision", r->decision, "answer", "body", r->answer_body,
                     "reason", text_or_null(r->reason), "submitted_at", r->submitted_at,
                     "answered_at", r->answered_at ? r->answered_at : "", "cosign_count",
                     (json_int_t)r->cosign_count, "author", text_or_null(r->author));
}

static enum db_status read_item(void *cls, size_t row)
{
    struct items *it = cls;
    const struct item_row *r = &it->row;
    if (it->n == it->cap) {
        size_t cap = it->cap ? 2 * it->cap : 16;
        struct item_ref *refs = realloc(it->refs, cap * sizeof *refs);
        if (!refs)
            return DB_ERROR;
        it->refs = refs;
        it->cap = cap;
    }
    struct item_ref *ref = &it->refs[it->n];
    ref->id = r->id;
    if ((size_t)snprintf(ref->public_id, sizeof ref->public_id, "%s", r->public_id) >=
        sizeof ref->public_id)
        return DB_ERROR;
    if (row == 0)
        snprintf(it->first_answered, sizeof it->first_answered, "%s",
                 r->answered_at ? r->answered_at : "");
    it->n++;
    json_array_append_new(it->list, item_json(r));
    return DB_OK;
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
    struct items it = { .list = json_array() };
    json_t *content = NULL;
    char *canon = NULL, *unit_name = NULL;
    int found;

    const char *pu[] = { unit };
    const struct db_field lock_spec[] = { DB_TEXT_DUP("name", &unit_name), DB_END };
    if ((found = db_one(c, STMT_BULLETIN_UNIT_LOCK, pu, lock_spec, &st)) < 0)
        goto out;
    if (found != 1) {
        q->outcome = BULLETIN_NO_UNIT;
        st = DB_ABORT;
        goto out;
    }
    if (q->corrects) {
        long long of = 0;
        const char *pc[] = { corrects };
        const struct db_field of_spec[] = { DB_I64("unit_id", &of), DB_END };
        if ((found = db_one(c, STMT_BULLETIN_UNIT_OF, pc, of_spec, &st)) < 0)
            goto out;
        if (found != 1 || of != q->unit_id) {
            q->outcome = BULLETIN_BAD_CORRECTS;
            st = DB_ABORT;
            goto out;
        }
    }
    char slot[24];
    snprintf(slot, sizeof slot, "%lld", q->slot);
    if (q->slot) {
        /* Under the unit's lock: whoever comes second sees the first's. */
        bool done = false;
        const char *pd[] = { unit, slot };
        const struct db_field done_spec[] = { DB_BOOL("done", &done), DB_END };
        if (db_one(c, STMT_BULLETIN_SLOT_DONE, pd, done_spec, &st) < 0)
            goto out;
        if (done) {
            q->outcome = BULLETIN_SLOT_DONE;
            st = DB_ABORT;
            goto out;
        }
    }
    struct item_row *r = &it.row;
    const struct db_field item_spec[] = {
        DB_I64("id", &r->id),
        DB_TEXT_REF("public_id", &r->public_id),
        DB_TEXT_REF("title", &r->title),
        DB_TEXT_REF("body", &r->body),
        DB_TEXT_REF("category", &r->category),
        DB_TEXT_REF("decision", &r->decision),
        DB_TEXT_REF("answer_body", &r->answer_body),
        DB_TEXT_REF_N("reason", &r->reason),
        DB_TEXT_REF("submitted_at", &r->submitted_at),
        DB_TEXT_REF_N("answered_at", &r->answered_at),
        DB_I64("cosign_count", &r->cosign_count),
        DB_TEXT_REF_N("author", &r->author),
        DB_END,
    };
    st = DB_ERROR;
    if (!it.list)
        goto out;
    if (db_each(c, STMT_BULLETIN_ITEMS, pu, item_spec, read_item, &it, &st) < 0)
        goto out;
    int n = (int)it.n;
    if (n == 0 && !q->slot) {
        q->outcome = BULLETIN_NOTHING;
        st = DB_ABORT;
        goto out;
    }
    char previous_to[32], now[32];
    bool first = false;
    const struct db_field next_spec[] = {
        DB_TEXT("seq", seq),
        DB_TEXT_N("previous_to", previous_to),
        DB_ISNULL("previous_to", &first),
        DB_I64("id", &q->id),
        DB_TEXT("now", now),
        DB_END,
    };
    if ((found = db_one(c, STMT_BULLETIN_NEXT, pu, next_spec, &st)) < 0)
        goto out;
    if (found != 1) { /* an aggregate: always one row */
        st = DB_ERROR;
        goto out;
    }
    long long ck_seq = 0, ck_horizon = 0;
    char ck_hash[80], ck_sig[160], ck_seq_text[24];
    const struct db_field ck_spec[] = {
        DB_I64("seq", &ck_seq),
        DB_TEXT("hash", ck_hash),
        DB_I64("horizon", &ck_horizon),
        DB_TEXT("signature", ck_sig),
        DB_END,
    };
    if ((found = db_one(c, STMT_CHECKPOINT_LATEST, NULL, ck_spec, &st)) < 0)
        goto out;
    bool has_ck = found == 1;
    snprintf(ck_seq_text, sizeof ck_seq_text, "%lld", ck_seq);

    snprintf(id, sizeof id, "%lld", q->id);
    /* The period starts where the previous one ended; the first starts at
     * the earliest answer it publishes (an empty first one: when made). */
    const char *from = !first ? previous_to : n > 0 ? it.first_answered : now;
    char slot_ts[32] = "";
    if (q->slot) {
        time_t t = (time_t)q->slot;
        struct tm tm;
        gmtime_r(&t, &tm);
        strftime(slot_ts, sizeof slot_ts, "%Y-%m-%dT%H:%M:%SZ", &tm);
    }
    json_t *checkpoint = has_ck ? json_pack("{s:I, s:s, s:I, s:s}", "seq", (json_int_t)ck_seq,
                                            "hash", ck_hash, "horizon", (json_int_t)ck_horizon,
                                            "signature", ck_sig)
                                : json_null();
    json_t *list = it.list;
    it.list = NULL; /* the document's now */
    content = json_pack("{s:s, s:I, s:{s:I, s:s}, s:I, s:o, s:o, s:s, s:s, s:s, s:o, s:o}",
                        "format", BULLETIN_FORMAT, "id", (json_int_t)q->id, "unit", "id",
                        (json_int_t)q->unit_id, "name", unit_name, "seq",
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
    const char *pi[] = { id,   unit, seq, q->corrects ? corrects : NULL, from, now, canon, sig_hex,
                         has_ck ? ck_seq_text : NULL, has_ck ? ck_hash : NULL,
                         q->slot ? slot : NULL };
    if ((st = db_run(c, STMT_BULLETIN_INSERT, pi, NULL)) != DB_OK)
        goto out;

    for (int i = 0; i < n; i++) {
        char item_id[24];
        snprintf(item_id, sizeof item_id, "%lld", it.refs[i].id);
        const char *ps[] = { item_id };
        if ((st = db_run(c, STMT_SUGGESTION_PUBLISH, ps, NULL)) != DB_OK)
            goto out;
        if ((st = audit_item(c, q, it.refs[i].public_id)) != DB_OK)
            goto out;
        if ((st = notify_suggestion(c, NOTIFY_PUBLISHED, it.refs[i].id, NULL)) != DB_OK)
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
    json_decref(it.list);
    free(it.refs);
    free(unit_name);
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
