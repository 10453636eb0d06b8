/* Verification of the audit chain: recomputes every link from audit_log in
 * chain order, checks every checkpoint's signature, and looks for rows
 * inserted below the horizon; names each problem precisely
 * (docs/audit.md, "Verification"). */
#ifndef YIJIAN_DOMAIN_AUDIT_VERIFY_H
#define YIJIAN_DOMAIN_AUDIT_VERIFY_H

#include <jansson.h>
#include <stdbool.h>
#include <stddef.h>

#include "crypto/signing.h"
#include "db/db.h"
#include "domain/audit_chain.h"

#define AUDIT_VERIFY_MAX_PROBLEMS 100 /* listed; all are counted */

enum audit_problem_kind {
    AUDIT_PROBLEM_CHANGED,         /* a sealed row's content changed */
    AUDIT_PROBLEM_SWAPPED,         /* two sealed rows hold each other's content */
    AUDIT_PROBLEM_DELETED,         /* a sealed row is gone */
    AUDIT_PROBLEM_CHAIN_GAP,       /* links are missing from the chain */
    AUDIT_PROBLEM_CHAIN_REWRITTEN, /* the chain no longer has the hash a checkpoint signed */
    AUDIT_PROBLEM_CHAIN_TRUNCATED, /* a checkpoint is past the end of the chain */
    AUDIT_PROBLEM_BAD_SIGNATURE,   /* a checkpoint's signature does not verify */
    AUDIT_PROBLEM_UNSIGNED,        /* links after the last checkpoint */
    AUDIT_PROBLEM_UNSEALED,        /* a row at or below the horizon that was never sealed */
};

struct audit_problem {
    enum audit_problem_kind kind;
    long long seq;      /* the first link concerned; 0: none */
    long long audit_id; /* the first audit row concerned; 0: none */
    char message[256];
};

struct audit_report {
    bool intact;
    long long sealed_through; /* the chain's last seq (0: empty) */
    unsigned char head[AUDIT_HASH_BYTES]; /* the hash there, as recomputed */
    long long signed_through; /* the last checkpoint's seq (0: none) */
    long long horizon;        /* the last checkpoint's horizon */
    long long pending;        /* unsealed rows above the horizon: not sealed yet */
    long long problem_count;  /* every problem found */
    size_t n_problems;        /* the first ones, in chain order, then unsealed rows */
    struct audit_problem problems[AUDIT_VERIFY_MAX_PROBLEMS];
};

/*
 * Verifies the whole chain in one REPEATABLE READ, READ ONLY transaction of
 * its own on c (so c must not be inside one), with pk for the checkpoint
 * signatures. Fills *out (a large struct: allocate it). DB_OK means the
 * verification ran, whatever it found.
 */
enum db_status audit_verify(struct db_conn *c, const unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                            struct audit_report *out);

/* "changed", "swapped", ... as the API names them. */
const char *audit_problem_kind_name(enum audit_problem_kind kind);

/* The first line of the report: "intact through seq N, head H" or
 * "tampered: N problems; the first: ...". */
void audit_report_summary(const struct audit_report *r, char *out, size_t size);

/* The report as GET /v1/audit/verify returns it; a new reference. */
json_t *audit_report_json(const struct audit_report *r);

#endif
