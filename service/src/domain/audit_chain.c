/* The hash chain over audit_log and the sealer. The encodings here are
 * the ones docs/audit.md specifies; change them only with a new format. */
#include "domain/audit_chain.h"

#include <jansson.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"

/* ------------------------------------------------------------------ */
/* encoding                                                            */
/* ------------------------------------------------------------------ */

int audit_buf_append(struct audit_buf *b, const void *p, size_t n)
{
    if (b->len + n > b->cap) {
        size_t cap = b->cap ? b->cap : 256;
        while (cap < b->len + n)
            cap *= 2;
        unsigned char *data = realloc(b->data, cap);
        if (!data)
            return -1;
        b->data = data;
        b->cap = cap;
    }
    if (n)
        memcpy(b->data + b->len, p, n);
    b->len += n;
    return 0;
}

void audit_buf_free(struct audit_buf *b)
{
    free(b->data);
    b->data = NULL;
    b->len = b->cap = 0;
}

static void put_u32(unsigned char out[4], unsigned long v)
{
    for (int i = 3; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)(v & 0xff);
}

static void put_u64(unsigned char out[8], unsigned long long v)
{
    for (int i = 7; i >= 0; i--, v >>= 8)
        out[i] = (unsigned char)(v & 0xff);
}

/* A field: its length and bytes; a tag byte (0 for none) counts in the
 * length. NULL is the length 0xFFFFFFFF alone. */
static int put_field(struct audit_buf *b, char tag, const char *s, size_t n)
{
    unsigned char len[4];
    if (!s) {
        put_u32(len, AUDIT_NULL_LENGTH);
        return audit_buf_append(b, len, sizeof len);
    }
    put_u32(len, (unsigned long)(n + (tag ? 1 : 0)));
    if (audit_buf_append(b, len, sizeof len) < 0 || (tag && audit_buf_append(b, &tag, 1) < 0))
        return -1;
    return audit_buf_append(b, s, n);
}

static int put_text(struct audit_buf *b, const char *s)
{
    return put_field(b, 0, s, s ? strlen(s) : 0);
}

/* Reals (jansson keeps them as doubles) would make the canonical form
 * lose digits, so that two different texts hashed alike. */
static bool exact(const json_t *j)
{
    if (json_is_real(j))
        return false;
    if (json_is_array(j)) {
        for (size_t i = 0; i < json_array_size(j); i++)
            if (!exact(json_array_get(j, i)))
                return false;
    } else if (json_is_object(j)) {
        const char *key;
        json_t *v;
        json_object_foreach((json_t *)j, key, v) {
            if (!exact(v))
                return false;
        }
    }
    return true;
}

static int put_change(struct audit_buf *b, const char *text)
{
    if (!text)
        return put_field(b, 0, NULL, 0);
    json_t *j = json_loads(text, JSON_DECODE_ANY, NULL);
    if (!j || !exact(j)) {
        json_decref(j);
        return put_field(b, 'T', text, strlen(text));
    }
    char *canon = json_dumps(j, JSON_SORT_KEYS | JSON_COMPACT | JSON_ENCODE_ANY);
    json_decref(j);
    int rc = canon ? put_field(b, 'J', canon, strlen(canon)) : -1;
    free(canon);
    return rc;
}

int audit_canonical(const struct audit_row *row, struct audit_buf *b)
{
    b->len = 0;
    char id[24];
    snprintf(id, sizeof id, "%lld", row->id);
    return put_text(b, id) || put_text(b, row->at) || put_text(b, row->actor_kind) ||
                   put_text(b, row->actor_id) || put_text(b, row->action) ||
                   put_text(b, row->object_type) || put_text(b, row->object_id) ||
                   put_change(b, row->change) || put_text(b, row->request_id)
               ? -1
               : 0;
}

void audit_chain_link(const unsigned char prev[AUDIT_HASH_BYTES], const unsigned char *canon,
                      size_t len, unsigned char out[AUDIT_HASH_BYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, NULL, 0, AUDIT_HASH_BYTES);
    crypto_generichash_update(&h, prev, AUDIT_HASH_BYTES);
    crypto_generichash_update(&h, canon, len);
    crypto_generichash_final(&h, out, AUDIT_HASH_BYTES);
}

void audit_checkpoint_message(long long seq, const unsigned char hash[AUDIT_HASH_BYTES],
                              long long horizon, unsigned char out[AUDIT_CHECKPOINT_MESSAGE_BYTES])
{
    size_t n = sizeof AUDIT_CHECKPOINT_LABEL - 1;
    memcpy(out, AUDIT_CHECKPOINT_LABEL, n);
    put_u64(out + n, (unsigned long long)seq);
    memcpy(out + n + 8, hash, AUDIT_HASH_BYTES);
    put_u64(out + n + 8 + AUDIT_HASH_BYTES, (unsigned long long)horizon);
}

bool audit_hash_from_hex(const char *hex, unsigned char out[AUDIT_HASH_BYTES])
{
    return hex && hex_to_bytes(hex, out, AUDIT_HASH_BYTES);
}

/* ------------------------------------------------------------------ */
/* the sealer                                                          */
/* ------------------------------------------------------------------ */

/* The state a batch starts from (audit_seal_state). */
struct seal_state {
    char xid[24];            /* this transaction's id, taken after last_id was read */
    long long last_id;       /* the last audit id handed out when the batch began */
    long long seq;           /* the chain's head */
    unsigned char head[AUDIT_HASH_BYTES];
    bool have_checkpoint;
    long long horizon;       /* of the last checkpoint */
    long long candidate;     /* its next_horizon */
    char candidate_xid[24];  /* its next_xid */
    bool candidate_final;    /* every transaction older than candidate_xid has ended */
};

static enum db_status load_state(struct db_conn *c, struct seal_state *s)
{
    memset(s, 0, sizeof *s);
    enum db_status st;
    /* The order of these two statements is the point: every transaction
     * holding an id up to last_id had its transaction id before we take
     * ours (docs/audit.md). */
    const struct db_field last[] = { DB_I64_N("last_id", &s->last_id), DB_END };
    if (db_one(c, STMT_AUDIT_ID_LAST, NULL, last, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    char head[AUDIT_HASH_HEX + 2]; /* one more: a longer value fails below */
    bool no_head = true, no_checkpoint = true;
    const struct db_field state[] = {
        DB_TEXT("xid", s->xid),
        DB_I64_N("seq", &s->seq),
        DB_TEXT_N("head", head),
        DB_ISNULL("head", &no_head),
        DB_I64_N("horizon", &s->horizon),
        DB_ISNULL("horizon", &no_checkpoint),
        DB_I64_N("candidate", &s->candidate),
        DB_TEXT_N("candidate_xid", s->candidate_xid),
        DB_BOOL("candidate_final", &s->candidate_final),
        DB_END,
    };
    if (db_one(c, STMT_AUDIT_SEAL_STATE, NULL, state, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    s->have_checkpoint = !no_checkpoint;
    return no_head || audit_hash_from_hex(head, s->head) ? DB_OK : DB_ERROR;
}

/* The links of one batch as its rows are read (audit_unsealed). */
struct seal_walk {
    struct audit_row row;
    struct audit_buf canon, seqs, ids, hashes;
    unsigned char head[AUDIT_HASH_BYTES];
    long long seq, last_in_batch;
    int n;
};

/* Array literals for audit_chain_append: "{a,b,c}", NUL-terminated. */
static int append_elem(struct audit_buf *b, const char *v)
{
    return audit_buf_append(b, b->len ? "," : "{", 1) || audit_buf_append(b, v, strlen(v)) ? -1 : 0;
}

static int close_array(struct audit_buf *b)
{
    return b->len ? audit_buf_append(b, "}", 2) : audit_buf_append(b, "{}", 3);
}

/* Links the row just read to the head. */
static enum db_status seal_link(void *cls, size_t i)
{
    (void)i;
    struct seal_walk *w = cls;
    if (audit_canonical(&w->row, &w->canon) < 0)
        return DB_ERROR;
    audit_chain_link(w->head, w->canon.data, w->canon.len, w->head);
    char v[24], hex[AUDIT_HASH_HEX + 1];
    w->seq++;
    w->n++;
    w->last_in_batch = w->row.id;
    sodium_bin2hex(hex, sizeof hex, w->head, sizeof w->head);
    snprintf(v, sizeof v, "%lld", w->seq);
    if (append_elem(&w->seqs, v) < 0)
        return DB_ERROR;
    snprintf(v, sizeof v, "%lld", w->row.id);
    if (append_elem(&w->ids, v) < 0 || append_elem(&w->hashes, hex) < 0)
        return DB_ERROR;
    return DB_OK;
}

enum db_status audit_seal_batch(struct db_conn *c, const unsigned char sk[SIGNING_SECRET_KEY_BYTES],
                                struct audit_seal_result *out)
{
    memset(out, 0, sizeof *out);
    enum db_status st = db_try_lock(c, STMT_AUDIT_SEAL_LOCK, &out->locked);
    if (st != DB_OK || !out->locked)
        return st;

    struct seal_state s;
    st = load_state(c, &s);
    if (st != DB_OK)
        return st;
    out->seq = s.seq;
    out->horizon = s.horizon;

    char horizon[24], limit[24];
    snprintf(horizon, sizeof horizon, "%lld", s.horizon);
    snprintf(limit, sizeof limit, "%d", AUDIT_SEAL_BATCH);
    const char *pu[] = { horizon, limit };
    struct seal_walk w = { .seq = s.seq };
    memcpy(w.head, s.head, sizeof w.head);
    const struct db_field spec[] = { AUDIT_ROW_SPEC(&w.row), DB_END };
    if (db_each(c, STMT_AUDIT_UNSEALED, pu, spec, seal_link, &w, &st) < 0)
        goto out;
    int n = w.n;
    long long seq = w.seq;
    /* Nothing to seal: no checkpoint, and the horizon waits for the next
     * batch (a checkpoint is the head after new links). */
    if (n == 0)
        goto out;
    st = DB_ERROR; /* out of memory */
    if (close_array(&w.seqs) < 0 || close_array(&w.ids) < 0 || close_array(&w.hashes) < 0)
        goto out;
    long long last_in_batch = w.last_in_batch;

    /* The horizon: the candidate's ids are final once every transaction
     * older than its id has ended; they are all sealed once this batch is
     * (a full batch only up to its last id). */
    long long new_horizon = s.horizon;
    if (s.have_checkpoint && s.candidate_final) {
        long long h = s.candidate;
        if (n == AUDIT_SEAL_BATCH && last_in_batch < h)
            h = last_in_batch;
        if (h > new_horizon)
            new_horizon = h;
    }
    /* The next candidate: a fresh one once the last is final, else the
     * last one again, so that a long transaction delays it but does not
     * make it recede for ever. */
    bool fresh = !s.have_checkpoint || s.candidate_final;
    char candidate[24];
    snprintf(candidate, sizeof candidate, "%lld", fresh ? s.last_id : s.candidate);
    const char *candidate_xid = fresh ? s.xid : s.candidate_xid;

    const char *pa[] = { (const char *)w.seqs.data, (const char *)w.ids.data,
                         (const char *)w.hashes.data };
    st = db_run(c, STMT_AUDIT_CHAIN_APPEND, pa, NULL);
    if (st != DB_OK)
        goto out;

    unsigned char msg[AUDIT_CHECKPOINT_MESSAGE_BYTES], sig[SIGNATURE_BYTES];
    audit_checkpoint_message(seq, w.head, new_horizon, msg);
    crypto_sign_detached(sig, NULL, msg, sizeof msg, sk);
    char seq_text[24], hash_hex[AUDIT_HASH_HEX + 1], horizon_text[24],
        sig_hex[2 * SIGNATURE_BYTES + 1];
    snprintf(seq_text, sizeof seq_text, "%lld", seq);
    snprintf(horizon_text, sizeof horizon_text, "%lld", new_horizon);
    sodium_bin2hex(hash_hex, sizeof hash_hex, w.head, sizeof w.head);
    sodium_bin2hex(sig_hex, sizeof sig_hex, sig, sizeof sig);
    const char *pk[] = { seq_text, hash_hex, horizon_text, candidate, candidate_xid, sig_hex };
    st = db_run(c, STMT_AUDIT_CHECKPOINT_INSERT, pk, NULL);
    if (st == DB_OK) {
        out->sealed = n;
        out->seq = seq;
        out->horizon = new_horizon;
    }
out:
    audit_buf_free(&w.canon);
    audit_buf_free(&w.seqs);
    audit_buf_free(&w.ids);
    audit_buf_free(&w.hashes);
    return st;
}
