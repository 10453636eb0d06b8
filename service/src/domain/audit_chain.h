/* The audit log's hash chain: the canonical encoding of a row, the link
 * function, the signed checkpoint, and the sealer that links unsealed rows
 * in batches. docs/audit.md defines every byte and the sealing rules. */
#ifndef YIJIAN_DOMAIN_AUDIT_CHAIN_H
#define YIJIAN_DOMAIN_AUDIT_CHAIN_H

#include <stdbool.h>
#include <stddef.h>

#include "crypto/signing.h"
#include "db/db.h"
#include "db/rows.h"

#define AUDIT_HASH_BYTES 32
#define AUDIT_HASH_HEX (2 * AUDIT_HASH_BYTES)
#define AUDIT_SEAL_BATCH 1000 /* rows per sealed batch, and so per checkpoint */
#define AUDIT_ROW_FIELDS 9    /* the columns of AUDIT_ROW_COLUMNS (db/statements.c) */
#define AUDIT_NULL_LENGTH 0xFFFFFFFFu
#define AUDIT_CHECKPOINT_LABEL "yijian audit checkpoint"
#define AUDIT_CHECKPOINT_MESSAGE_BYTES (sizeof AUDIT_CHECKPOINT_LABEL - 1 + 8 + AUDIT_HASH_BYTES + 8)

/* One audit row as the chain sees it: text as PostgreSQL returns it, NULL
 * for SQL NULL. */
struct audit_row {
    long long id;
    const char *at;          /* UTC with microseconds: "2026-11-05T09:00:00.123456Z" */
    const char *actor_kind;  /* "account", "anonymous", "system" */
    const char *actor_id;    /* decimal, or NULL */
    const char *action;
    const char *object_type;
    const char *object_id;   /* or NULL */
    const char *change;      /* jsonb text */
    const char *request_id;  /* or NULL */
};

/* The fields of a spec that read the columns of AUDIT_ROW_COLUMNS into
 * *r, by name; the text is borrowed, so only for a row callback. Each
 * may be NULL (a link whose row is gone has none). */
#define AUDIT_ROW_SPEC(r)                                                                   \
    DB_I64_N("id", &(r)->id), DB_TEXT_REF_N("at", &(r)->at),                                \
        DB_TEXT_REF_N("actor_kind", &(r)->actor_kind),                                      \
        DB_TEXT_REF_N("actor_id", &(r)->actor_id), DB_TEXT_REF_N("action", &(r)->action),   \
        DB_TEXT_REF_N("object_type", &(r)->object_type),                                    \
        DB_TEXT_REF_N("object_id", &(r)->object_id), DB_TEXT_REF_N("change", &(r)->change), \
        DB_TEXT_REF_N("request_id", &(r)->request_id)

/* A growable byte buffer; a zeroed one is empty. */
struct audit_buf {
    unsigned char *data;
    size_t len, cap;
};
/* Appends n bytes; -1 when out of memory (b unchanged). */
int audit_buf_append(struct audit_buf *b, const void *p, size_t n);
/* Frees the bytes; b is empty again. */
void audit_buf_free(struct audit_buf *b);

/*
 * Replaces b's content with canonical(row): the nine fields in column
 * order, each a 4-byte big-endian length and that many bytes, or the
 * length 0xFFFFFFFF alone for NULL. id is decimal; change is 'J' and its
 * canonical JSON (keys sorted, no white space) when it holds only strings,
 * 64-bit integers, booleans, null, arrays and objects, else 'T' and the
 * text as given. Returns 0, or -1 when out of memory.
 */
int audit_canonical(const struct audit_row *row, struct audit_buf *b);

/* out = BLAKE2b-256(prev || canon): one link of the chain. The link before
 * the first (seq 0) is 32 zero bytes. out may be prev. */
void audit_chain_link(const unsigned char prev[AUDIT_HASH_BYTES], const unsigned char *canon,
                      size_t len, unsigned char out[AUDIT_HASH_BYTES]);

/* What a checkpoint signs: "yijian audit checkpoint" || seq || hash ||
 * horizon, seq and horizon as 8-byte big-endian unsigned integers. */
void audit_checkpoint_message(long long seq, const unsigned char hash[AUDIT_HASH_BYTES],
                              long long horizon, unsigned char out[AUDIT_CHECKPOINT_MESSAGE_BYTES]);

/* Lowercase hex of exactly AUDIT_HASH_BYTES to bytes; false otherwise. */
bool audit_hash_from_hex(const char *hex, unsigned char out[AUDIT_HASH_BYTES]);

struct audit_seal_result {
    bool locked;       /* false: another sealer holds the lock; nothing done */
    int sealed;        /* rows linked by this batch */
    long long seq;     /* the chain's head after it */
    long long horizon; /* the horizon its checkpoint signs */
};

/*
 * Seals one batch inside the caller's transaction (READ COMMITTED, on a
 * connection of its own so that the statements run in the order written):
 * under the sealer's advisory lock, links up to AUDIT_SEAL_BATCH unsealed
 * rows above the horizon in id order and writes one checkpoint signed with
 * sk. Takes no lock an ordinary write waits for. Resets *out first.
 */
enum db_status audit_seal_batch(struct db_conn *c, const unsigned char sk[SIGNING_SECRET_KEY_BYTES],
                                struct audit_seal_result *out);

#endif
