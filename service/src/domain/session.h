/* Signed-in sessions: bearer tokens stored only as hashes. */
#ifndef YIJIAN_DOMAIN_SESSION_H
#define YIJIAN_DOMAIN_SESSION_H

#include "crypto/tokens.h"
#include "db/db.h"

struct session_new {
    char token[TOKEN_CHARS + 1];
    char expires_at[32];
};

/*
 * Creates a session for account_id on c (inside the caller's transaction),
 * valid for ttl_seconds, and records it in the audit log with request_id
 * (may be NULL). The token is only ever in out.
 */
enum db_status session_create(struct db_conn *c, unsigned ttl_seconds, const char *request_id,
                              long long account_id, struct session_new *out);

#endif
