/* Recomputes the audit chain and names what does not match. Each link is
 * checked against the stored hash before it (not only against the
 * recomputation from the start), so that one changed row is one problem,
 * not every link after it; a chain rewritten to hide a change is caught by
 * the signed checkpoints instead. */
#include "domain/audit_verify.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "util/hex.h"

#define CHAIN_PAGE 5000
#define CHECKPOINT_PAGE 2000
#define MAX_KEPT (4 * AUDIT_VERIFY_MAX_PROBLEMS) /* problems kept for sorting */
#define MAX_MISMATCHES AUDIT_VERIFY_MAX_PROBLEMS  /* links kept to find swaps */

static const char *const kind_names[] = {
    [AUDIT_PROBLEM_CHANGED] = "changed",
    [AUDIT_PROBLEM_SWAPPED] = "swapped",
    [AUDIT_PROBLEM_DELETED] = "deleted",
    [AUDIT_PROBLEM_CHAIN_GAP] = "chain_gap",
    [AUDIT_PROBLEM_CHAIN_REWRITTEN] = "chain_rewritten",
    [AUDIT_PROBLEM_CHAIN_TRUNCATED] = "chain_truncated",
    [AUDIT_PROBLEM_BAD_SIGNATURE] = "bad_signature",
    [AUDIT_PROBLEM_UNSIGNED] = "unsigned",
    [AUDIT_PROBLEM_UNSEALED] = "unsealed",
};

const char *audit_problem_kind_name(enum audit_problem_kind kind)
{
    return kind_names[kind];
}

/* A link that did not match, with a copy of its row, to tell a swap of two
 * rows from two changes. */
struct mismatch {
    long long seq;
    unsigned char prev[AUDIT_HASH_BYTES], stored[AUDIT_HASH_BYTES];
    long long id;
    char *text[AUDIT_ROW_FIELDS - 1]; /* at .. request_id, NULL for SQL NULL */
    bool paired;
};

struct verify_ctx {
    const unsigned char *pk;
    struct audit_report *r;
    struct audit_problem *kept; /* MAX_KEPT, then sorted into r->problems */
    size_t n_kept;
    struct mismatch mm[MAX_MISMATCHES];
    size_t n_mm;
    bool oom;
};

static void add_problem(struct verify_ctx *v, enum audit_problem_kind kind, long long seq,
                        long long audit_id, const char *fmt, ...)
    __attribute__((format(printf, 5, 6)));

static void add_problem(struct verify_ctx *v, enum audit_problem_kind kind, long long seq,
                        long long audit_id, const char *fmt, ...)
{
    v->r->problem_count++;
    if (v->n_kept == MAX_KEPT)
        return;
    struct audit_problem *p = &v->kept[v->n_kept++];
    p->kind = kind;
    p->seq = seq;
    p->audit_id = audit_id;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(p->message, sizeof p->message, fmt, ap);
    va_end(ap);
}

/* Chain order first (by seq), rows never sealed after (by id). */
static int problem_order(const void *a, const void *b)
{
    const struct audit_problem *x = a, *y = b;
    bool xu = x->kind == AUDIT_PROBLEM_UNSEALED, yu = y->kind == AUDIT_PROBLEM_UNSEALED;
    if (xu != yu)
        return xu ? 1 : -1;
    long long kx = xu ? x->audit_id : x->seq, ky = yu ? y->audit_id : y->seq;
    if (kx != ky)
        return kx < ky ? -1 : 1;
    return (int)x->kind - (int)y->kind;
}

static void free_mismatches(struct verify_ctx *v)
{
    for (size_t i = 0; i < v->n_mm; i++)
        for (int f = 0; f < AUDIT_ROW_FIELDS - 1; f++)
            free(v->mm[i].text[f]);
    v->n_mm = 0;
}

/* ------------------------------------------------------------------ */
/* the links                                                           */
/* ------------------------------------------------------------------ */

static void keep_mismatch(struct verify_ctx *v, long long seq, const struct audit_row *row,
                          const unsigned char prev[AUDIT_HASH_BYTES],
                          const unsigned char stored[AUDIT_HASH_BYTES])
{
    if (v->n_mm == MAX_MISMATCHES) {
        add_problem(v, AUDIT_PROBLEM_CHANGED, seq, row->id,
                    "row changed: audit id %lld (seq %lld) does not match the hash sealed for it",
                    row->id, seq);
        return;
    }
    struct mismatch *m = &v->mm[v->n_mm++];
    memset(m, 0, sizeof *m);
    m->seq = seq;
    m->id = row->id;
    memcpy(m->prev, prev, AUDIT_HASH_BYTES);
    memcpy(m->stored, stored, AUDIT_HASH_BYTES);
    const char *const fields[AUDIT_ROW_FIELDS - 1] = { row->at, row->actor_kind, row->actor_id,
                                                       row->action, row->object_type,
                                                       row->object_id, row->change,
                                                       row->request_id };
    for (int f = 0; f < AUDIT_ROW_FIELDS - 1; f++)
        if (fields[f] && !(m->text[f] = strdup(fields[f])))
            v->oom = true;
}

static void mismatch_row(const struct mismatch *m, long long id, struct audit_row *out)
{
    *out = (struct audit_row){ id, m->text[0], m->text[1], m->text[2], m->text[3],
                               m->text[4], m->text[5], m->text[6], m->text[7] };
}

/* Would the row of m, with the id `id`, be the link sealed at `at`? */
static bool fits(const struct mismatch *m, long long id, const struct mismatch *at,
                 struct audit_buf *buf)
{
    struct audit_row row;
    mismatch_row(m, id, &row);
    unsigned char h[AUDIT_HASH_BYTES];
    if (audit_canonical(&row, buf) < 0)
        return false;
    audit_chain_link(at->prev, buf->data, buf->len, h);
    return sodium_memcmp(h, at->stored, AUDIT_HASH_BYTES) == 0;
}

/* Two mismatched links that match each other's rows are a swap: of the
 * rows' content between their ids (each fits the other's link once given
 * that link's id), or of the links' order (each fits as it is). Whatever
 * is left changed. */
static void explain_mismatches(struct verify_ctx *v)
{
    struct audit_buf buf = { 0 };
    for (size_t i = 0; i < v->n_mm; i++) {
        struct mismatch *a = &v->mm[i];
        for (size_t j = i + 1; j < v->n_mm && !a->paired; j++) {
            struct mismatch *b = &v->mm[j];
            if (b->paired)
                continue;
            if (fits(b, a->id, a, &buf) && fits(a, b->id, b, &buf)) {
                add_problem(v, AUDIT_PROBLEM_SWAPPED, a->seq, a->id,
                            "rows swapped: audit ids %lld and %lld (seq %lld and %lld) hold each "
                            "other's content",
                            a->id, b->id, a->seq, b->seq);
            } else if (fits(b, b->id, a, &buf) && fits(a, a->id, b, &buf)) {
                add_problem(v, AUDIT_PROBLEM_SWAPPED, a->seq, a->id,
                            "rows swapped: the chain has audit ids %lld and %lld in each other's "
                            "place (seq %lld and %lld)",
                            a->id, b->id, a->seq, b->seq);
            } else {
                continue;
            }
            a->paired = b->paired = true;
        }
        if (!a->paired)
            add_problem(v, AUDIT_PROBLEM_CHANGED, a->seq, a->id,
                        "row changed: audit id %lld (seq %lld) does not match the hash sealed for "
                        "it",
                        a->id, a->seq);
    }
    audit_buf_free(&buf);
}

/* The walk along the chain: the link just read and what came before. */
struct chain_walk {
    struct verify_ctx *v;
    long long seq, audit_id;
    const char *hash;
    bool present;
    struct audit_row row;
    unsigned char prev[AUDIT_HASH_BYTES];
    long long last;
    struct audit_buf buf;
};

static enum db_status chain_link(void *cls, size_t i)
{
    (void)i;
    struct chain_walk *w = cls;
    struct verify_ctx *v = w->v;
    long long seq = w->seq;
    unsigned char stored[AUDIT_HASH_BYTES];
    if (!audit_hash_from_hex(w->hash, stored))
        memset(stored, 0, sizeof stored); /* the table's CHECK makes this impossible */
    bool gap = seq != w->last + 1;
    if (gap)
        add_problem(v, AUDIT_PROBLEM_CHAIN_GAP, w->last + 1, 0,
                    "chain links deleted: seq %lld to %lld are missing", w->last + 1, seq - 1);
    if (!w->present) {
        add_problem(v, AUDIT_PROBLEM_DELETED, seq, w->audit_id,
                    "row deleted: audit id %lld (seq %lld) was sealed and is gone from "
                    "audit_log",
                    w->audit_id, seq);
    } else if (!gap) { /* after a gap the link before is unknown */
        unsigned char h[AUDIT_HASH_BYTES];
        if (audit_canonical(&w->row, &w->buf) < 0) {
            v->oom = true;
        } else {
            audit_chain_link(w->prev, w->buf.data, w->buf.len, h);
            if (sodium_memcmp(h, stored, sizeof h) != 0)
                keep_mismatch(v, seq, &w->row, w->prev, stored);
        }
    }
    /* Go on from the hash that was sealed, so that the next link is judged
     * on its own. */
    memcpy(w->prev, stored, sizeof w->prev);
    w->last = seq;
    return DB_OK;
}

static enum db_status walk_chain(struct db_conn *c, struct verify_ctx *v)
{
    struct audit_report *r = v->r;
    struct chain_walk w = { .v = v };
    const struct db_field spec[] = {
        DB_I64("seq", &w.seq), DB_I64("audit_id", &w.audit_id), DB_TEXT_REF("hash", &w.hash),
        DB_BOOL("present", &w.present), AUDIT_ROW_SPEC(&w.row), DB_END,
    };
    enum db_status st = DB_OK;
    char after[24], limit[24];
    snprintf(limit, sizeof limit, "%d", CHAIN_PAGE);
    for (long long n = CHAIN_PAGE; n == CHAIN_PAGE;) {
        snprintf(after, sizeof after, "%lld", w.last);
        const char *p[] = { after, limit };
        n = db_each(c, STMT_AUDIT_VERIFY_CHAIN, p, spec, chain_link, &w, &st);
    }
    audit_buf_free(&w.buf);
    r->sealed_through = w.last;
    memcpy(r->head, w.prev, sizeof w.prev);
    return st;
}

/* ------------------------------------------------------------------ */
/* the checkpoints and the rows never sealed                           */
/* ------------------------------------------------------------------ */

/* The walk along the checkpoints: the one just read. */
struct checkpoint_walk {
    struct verify_ctx *v;
    long long seq, horizon;
    const char *hash, *signature, *chain_hash; /* chain_hash NULL: no link at seq */
    long long last_matching;
};

static enum db_status checkpoint_read(void *cls, size_t i)
{
    (void)i;
    struct checkpoint_walk *w = cls;
    struct verify_ctx *v = w->v;
    struct audit_report *r = v->r;
    long long seq = w->seq;
    unsigned char hash[AUDIT_HASH_BYTES], chain[AUDIT_HASH_BYTES], sig[SIGNATURE_BYTES];
    bool ok = audit_hash_from_hex(w->hash, hash) && hex_to_bytes(w->signature, sig, sizeof sig);
    if (!w->chain_hash) {
        if (seq > r->sealed_through)
            add_problem(v, AUDIT_PROBLEM_CHAIN_TRUNCATED, seq, 0,
                        "chain truncated: a checkpoint is signed at seq %lld but the "
                        "chain ends at seq %lld",
                        seq, r->sealed_through);
        /* else: a gap, named by the chain walk */
    } else if (!audit_hash_from_hex(w->chain_hash, chain) || !ok ||
               sodium_memcmp(hash, chain, sizeof hash) != 0) {
        add_problem(v, AUDIT_PROBLEM_CHAIN_REWRITTEN, seq, 0,
                    "chain rewritten: the hash signed at seq %lld is not the chain's; a "
                    "row sealed after seq %lld was changed and the links recomputed",
                    seq, w->last_matching);
    } else {
        w->last_matching = seq;
    }
    unsigned char msg[AUDIT_CHECKPOINT_MESSAGE_BYTES];
    audit_checkpoint_message(seq, hash, w->horizon, msg);
    if (!ok || crypto_sign_verify_detached(sig, msg, sizeof msg, v->pk) != 0)
        add_problem(v, AUDIT_PROBLEM_BAD_SIGNATURE, seq, 0,
                    "checkpoint at seq %lld: the signature does not verify", seq);
    r->signed_through = seq;
    r->horizon = w->horizon;
    return DB_OK;
}

static enum db_status walk_checkpoints(struct db_conn *c, struct verify_ctx *v)
{
    struct audit_report *r = v->r;
    struct checkpoint_walk w = { .v = v };
    const struct db_field spec[] = {
        DB_I64("seq", &w.seq), DB_I64("horizon", &w.horizon), DB_TEXT_REF("hash", &w.hash),
        DB_TEXT_REF("signature", &w.signature), DB_TEXT_REF_N("chain_hash", &w.chain_hash),
        DB_END,
    };
    enum db_status st = DB_OK;
    char after[24], limit[24];
    snprintf(limit, sizeof limit, "%d", CHECKPOINT_PAGE);
    for (long long n = CHECKPOINT_PAGE; n == CHECKPOINT_PAGE;) {
        /* The last checkpoint read: none before the first page. */
        snprintf(after, sizeof after, "%lld", r->signed_through);
        const char *p[] = { after, limit };
        n = db_each(c, STMT_AUDIT_VERIFY_CHECKPOINTS, p, spec, checkpoint_read, &w, &st);
    }
    if (st == DB_OK && r->sealed_through > r->signed_through)
        add_problem(v, AUDIT_PROBLEM_UNSIGNED, r->signed_through + 1, 0,
                    "chain links seq %lld to %lld are not covered by a signed checkpoint",
                    r->signed_through + 1, r->sealed_through);
    return st;
}

struct unsealed_walk {
    struct verify_ctx *v;
    long long id;
};

static enum db_status unsealed_row(void *cls, size_t i)
{
    (void)i;
    struct unsealed_walk *w = cls;
    struct audit_report *r = w->v->r;
    add_problem(w->v, AUDIT_PROBLEM_UNSEALED, 0, w->id,
                "unsealed row %lld older than sealed rows: ids up to %lld were final and "
                "sealed at checkpoint seq %lld, so it was inserted afterwards",
                w->id, r->horizon, r->signed_through);
    return DB_OK;
}

static enum db_status find_unsealed(struct db_conn *c, struct verify_ctx *v)
{
    struct audit_report *r = v->r;
    char horizon[24], limit[24];
    snprintf(horizon, sizeof horizon, "%lld", r->horizon);
    snprintf(limit, sizeof limit, "%d", AUDIT_VERIFY_MAX_PROBLEMS);
    const char *p[] = { horizon, limit };
    enum db_status st;
    struct unsealed_walk w = { .v = v };
    const struct db_field spec[] = { DB_I64("id", &w.id), DB_END };
    long long listed = db_each(c, STMT_AUDIT_VERIFY_UNSEALED, p, spec, unsealed_row, &w, &st);
    if (listed < 0)
        return st;
    const char *pc[] = { horizon };
    long long below = 0;
    const struct db_field count[] = { DB_I64("below", &below), DB_I64("pending", &r->pending),
                                      DB_END };
    if (db_one(c, STMT_AUDIT_VERIFY_UNSEALED_COUNT, pc, count, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    if (below > listed)
        r->problem_count += below - listed;
    return DB_OK;
}

static enum db_status verify_tx(struct db_conn *c, void *arg)
{
    struct verify_ctx *v = arg;
    free_mismatches(v);
    v->n_kept = 0;
    v->oom = false;
    memset(v->r, 0, sizeof *v->r);

    enum db_status st = db_run(c, STMT_AUDIT_VERIFY_SNAPSHOT, NULL, NULL);
    if (st != DB_OK)
        return st;
    if ((st = walk_chain(c, v)) != DB_OK)
        return st;
    explain_mismatches(v);
    if ((st = walk_checkpoints(c, v)) != DB_OK)
        return st;
    if ((st = find_unsealed(c, v)) != DB_OK)
        return st;
    return v->oom ? DB_ERROR : DB_OK;
}

enum db_status audit_verify(struct db_conn *c, const unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                            struct audit_report *out)
{
    struct verify_ctx *v = calloc(1, sizeof *v);
    struct audit_problem *kept = calloc(MAX_KEPT, sizeof *kept);
    if (!v || !kept) {
        free(v);
        free(kept);
        return DB_ERROR;
    }
    v->pk = pk;
    v->r = out;
    v->kept = kept;
    enum db_status st = db_transaction(c, verify_tx, v);
    if (st == DB_OK) {
        qsort(v->kept, v->n_kept, sizeof *v->kept, problem_order);
        out->n_problems = v->n_kept < AUDIT_VERIFY_MAX_PROBLEMS ? v->n_kept
                                                                : AUDIT_VERIFY_MAX_PROBLEMS;
        memcpy(out->problems, v->kept, out->n_problems * sizeof *v->kept);
        out->intact = out->problem_count == 0;
    }
    free_mismatches(v);
    free(v);
    free(kept);
    return st;
}

/* ------------------------------------------------------------------ */
/* the report                                                          */
/* ------------------------------------------------------------------ */

void audit_report_summary(const struct audit_report *r, char *out, size_t size)
{
    char head[AUDIT_HASH_HEX + 1];
    sodium_bin2hex(head, sizeof head, r->head, sizeof r->head);
    if (r->intact)
        snprintf(out, size, "intact through seq %lld, head %s", r->sealed_through, head);
    else
        snprintf(out, size, "tampered: %lld problem%s; the first: %s", r->problem_count,
                 r->problem_count == 1 ? "" : "s",
                 r->n_problems ? r->problems[0].message : "(not listed)");
}

static json_t *id_or_null(long long v)
{
    return v ? json_integer((json_int_t)v) : json_null();
}

json_t *audit_report_json(const struct audit_report *r)
{
    char head[AUDIT_HASH_HEX + 1];
    sodium_bin2hex(head, sizeof head, r->head, sizeof r->head);
    json_t *problems = json_array();
    for (size_t i = 0; i < r->n_problems; i++) {
        const struct audit_problem *p = &r->problems[i];
        json_array_append_new(problems,
                              json_pack("{s:s, s:o, s:o, s:s}", "kind",
                                        audit_problem_kind_name(p->kind), "seq",
                                        id_or_null(p->seq), "audit_id", id_or_null(p->audit_id),
                                        "message", p->message));
    }
    return json_pack("{s:b, s:I, s:s, s:I, s:I, s:I, s:I, s:o}", "intact", r->intact,
                     "sealed_through", (json_int_t)r->sealed_through, "head", head,
                     "signed_through", (json_int_t)r->signed_through, "horizon",
                     (json_int_t)r->horizon, "pending", (json_int_t)r->pending,
                     "problem_count", (json_int_t)r->problem_count, "problems", problems);
}
