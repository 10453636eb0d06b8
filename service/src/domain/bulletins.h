/* Bulletins: collecting a unit's answered suggestions into a signed,
 * immutable document, its canonical JSON, and checking a saved one.
 * docs/bulletins.md defines the document and every byte that is signed. */
#ifndef YIJIAN_DOMAIN_BULLETINS_H
#define YIJIAN_DOMAIN_BULLETINS_H

#include <jansson.h>
#include <stdbool.h>

#include "crypto/signing.h"
#include "db/db.h"
#include "domain/audit.h"

#define BULLETIN_FORMAT "yijian-bulletin/1"

enum bulletin_outcome {
    BULLETIN_PUBLISHED,
    BULLETIN_NO_UNIT,        /* the unit does not exist */
    BULLETIN_BAD_CORRECTS,   /* corrects names no bulletin of this unit */
    BULLETIN_NOTHING,        /* no answered suggestion waits: nothing made */
    BULLETIN_SLOT_DONE,      /* a bulletin of this slot or a later one exists */
};

struct bulletin_request {
    long long unit_id;
    long long corrects;      /* 0: none */
    long long slot;          /* the scheduled slot (Unix seconds); 0: on demand */
    enum audit_actor actor;  /* AUDIT_ACCOUNT or AUDIT_SYSTEM */
    long long actor_id;
    const char *request_id;  /* may be NULL */
    const unsigned char *sk; /* SIGNING_SECRET_KEY_BYTES */
    /* out */
    enum bulletin_outcome outcome;
    long long id;
    int items;
};

/*
 * A db_transaction callback (arg: struct bulletin_request): under a lock
 * on the unit, publishes every answered suggestion of the unit in a new
 * bulletin signed with req->sk, moves them to `published`, and audits it.
 * On demand (slot 0) a bulletin needs at least one suggestion; on a
 * schedule it is made even when empty, once per (unit, slot).
 * Any outcome but BULLETIN_PUBLISHED returns DB_ABORT with nothing written.
 */
enum db_status bulletin_publish_tx(struct db_conn *c, void *arg);

/* The canonical JSON of a document (docs/bulletins.md): a new string the
 * caller free()s, or NULL when out of memory. */
char *bulletin_canonical(const json_t *content);

/*
 * The JSON a client saves: {bulletin, signature, public_key}, the last two
 * base64 (standard, padded). content_text is the stored jsonb text,
 * sig_hex the signature in hex. Returns a new reference, or NULL when the
 * stored values do not decode.
 */
json_t *bulletin_document(const char *content_text, const char *sig_hex,
                          const unsigned char pk[SIGNING_PUBLIC_KEY_BYTES]);

/*
 * Checks a saved document: its signature over the canonical JSON of
 * "bulletin" under "public_key", and, when expected_pk is not NULL, that
 * the key is that one. True when valid; else *why says what failed.
 */
bool bulletin_verify_document(const json_t *doc, const unsigned char *expected_pk,
                              const char **why);

#endif
