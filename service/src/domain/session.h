/* Signed-in sessions: bearer tokens stored only as hashes. */
#ifndef YIJIAN_DOMAIN_SESSION_H
#define YIJIAN_DOMAIN_SESSION_H

#include "crypto/tokens.h"
#include "http/request.h"

struct session_new {
    char token[TOKEN_CHARS + 1];
    char expires_at[32];
};

/*
 * Creates a session for account_id on c (inside the caller's transaction)
 * and records it in the audit log. The token is only ever in out.
 */
enum db_status session_create(struct db_conn *c, struct request *r, long long account_id,
                              struct session_new *out);

/*
 * Who is calling: reads "Authorization: Bearer TOKEN", checks the session
 * (renewing it) and sets *account_id. Returns HANDLER_DONE with nothing
 * queued on success; otherwise a 401 or 503 has been queued and the
 * handler returns what this returned. ok tells the two apart.
 */
enum handler_result session_require(struct request *r, long long *account_id, bool *ok);

/* The bearer token of the request, or NULL when absent or malformed. */
const char *session_bearer(struct request *r);

#endif
