/* Sessions. The token is 256 random bits given to the client once; the
 * database keeps BLAKE2b(token), so a copy of the database signs nobody in. */
#include "domain/session.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "domain/audit.h"
#include "http/reply.h"

enum db_status session_create(struct db_conn *c, struct request *r, long long account_id,
                              struct session_new *out)
{
    char hash[HASH_HEX_CHARS + 1], id[24], ttl[16];
    token_new(out->token);
    secret_hash_hex(out->token, hash);
    snprintf(id, sizeof id, "%lld", account_id);
    snprintf(ttl, sizeof ttl, "%u", r->cfg->session_ttl);
    const char *params[] = { hash, id, ttl };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_SESSION_INSERT, params, &st);
    if (!res)
        return st;
    snprintf(out->expires_at, sizeof out->expires_at, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    /* The audit row names the account, never the token or its hash. */
    json_t *change = json_pack("{s:s}", "expires_at", out->expires_at);
    struct audit_entry e = { .actor = AUDIT_ACCOUNT, .actor_id = account_id,
                             .action = "session.create", .object_type = "account",
                             .object_id = id, .change = change, .request_id = r->request_id };
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}

const char *session_bearer(struct request *r)
{
    const char *h = request_header(r, MHD_HTTP_HEADER_AUTHORIZATION);
    if (!h || strncasecmp(h, "Bearer ", 7) != 0)
        return NULL;
    h += 7;
    while (*h == ' ')
        h++;
    return token_well_formed(h) ? h : NULL;
}

enum handler_result session_require(struct request *r, long long *account_id, bool *ok)
{
    *ok = false;
    const char *token = session_bearer(r);
    if (!token)
        return reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);

    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c)
        return reply_db_error(r, st);
    char hash[HASH_HEX_CHARS + 1], ttl[16];
    secret_hash_hex(token, hash);
    snprintf(ttl, sizeof ttl, "%u", r->cfg->session_ttl);
    const char *params[] = { hash, ttl };
    PGresult *res = db_exec(c, STMT_SESSION_TOUCH, params, &st);
    if (!res)
        return reply_db_error(r, st);
    if (PQntuples(res) == 0) {
        PQclear(res);
        return reply_problem(r, PROBLEM_UNAUTHORIZED, "session expired or signed out");
    }
    *account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    PQclear(res);
    *ok = true;
    return HANDLER_DONE;
}
