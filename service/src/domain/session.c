/* Sessions. The token is 256 random bits given to the client once; the
 * database keeps BLAKE2b(token), so a copy of the database signs nobody in. */
#include "domain/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/rows.h"
#include "domain/audit.h"

enum db_status session_create(struct db_conn *c, unsigned ttl_seconds, const char *request_id,
                              long long account_id, struct session_new *out)
{
    char hash[HASH_HEX_CHARS + 1], id[24], ttl[16];
    token_new(out->token);
    secret_hash_hex(out->token, hash);
    snprintf(id, sizeof id, "%lld", account_id);
    snprintf(ttl, sizeof ttl, "%u", ttl_seconds);
    const char *params[] = { hash, id, ttl };
    const struct db_field spec[] = { DB_TEXT("expires_at", out->expires_at), DB_END };
    enum db_status st;
    if (db_one(c, STMT_SESSION_INSERT, params, spec, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;

    /* The audit row names the account, never the token or its hash. */
    json_t *change = json_pack("{s:s}", "expires_at", out->expires_at);
    struct audit_entry e = { .actor = AUDIT_ACCOUNT, .actor_id = account_id,
                             .action = "session.create", .object_type = "account",
                             .object_id = id, .change = change, .request_id = request_id };
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}
