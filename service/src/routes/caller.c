/* The prologue of every signed-in route: who is calling, and what they
 * hold in the unit the request is about. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tokens.h"
#include "domain/session.h"
#include "http/reply.h"
#include "routes/routes.h"

bool caller_load(struct request *r, long long unit_id, struct authz *az,
                 enum handler_result *out)
{
    /* The session and the facts about the unit in one round trip
     * (STMT_SESSION_AUTHZ): session_require's check, authz_load's facts. */
    const char *token = session_bearer(r);
    if (!token) {
        *out = reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);
        return false;
    }
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c) {
        *out = reply_db_error(r, st);
        return false;
    }
    char hash[HASH_HEX_CHARS + 1], ttl[16], unit[24];
    secret_hash_hex(token, hash);
    snprintf(ttl, sizeof ttl, "%u", r->cfg->session_ttl);
    snprintf(unit, sizeof unit, "%lld", unit_id);
    const char *params[] = { hash, ttl, unit };
    PGresult *res = db_exec(c, STMT_SESSION_AUTHZ, params, &st);
    if (!res) {
        *out = reply_db_error(r, st);
        return false;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        *out = reply_problem(r, PROBLEM_UNAUTHORIZED, "session expired or signed out");
        return false;
    }
    memset(az, 0, sizeof *az);
    az->account_id = strtoll(PQgetvalue(res, 0, 0), NULL, 10);
    az->unit_id = unit_id;
    authz_from_row(res, 1, az);
    PQclear(res);
    return true;
}

enum handler_result reply_forbidden(struct request *r)
{
    return reply_problem(r, PROBLEM_FORBIDDEN, "your roles do not allow this");
}

bool unit_from_path(struct request *r, struct authz *az, enum handler_result *out)
{
    long long unit_id;
    if (!request_param_id(r, 0, &unit_id)) {
        *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
        return false;
    }
    if (!caller_load(r, unit_id, az, out))
        return false;
    if (!az->unit_exists) {
        *out = reply_problem(r, PROBLEM_NOT_FOUND, "no such unit");
        return false;
    }
    return true;
}
