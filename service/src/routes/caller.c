/* The prologue of every signed-in route: who is calling, and what they
 * hold in the unit the request is about. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "crypto/tokens.h"
#include "db/rows.h"
#include "domain/session.h"
#include "http/reply.h"
#include "http/validate.h"
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
    memset(az, 0, sizeof *az);
    struct authz_facts f;
    const struct db_field spec[] = { DB_I64("account_id", &az->account_id),
                                     AUTHZ_FACTS_FIELDS("", &f), DB_END };
    int found = db_one(c, STMT_SESSION_AUTHZ, params, spec, &st);
    if (found < 0) {
        *out = reply_db_error(r, st);
        return false;
    }
    if (found == 0) {
        *out = reply_problem(r, PROBLEM_UNAUTHORIZED, "session expired or signed out");
        return false;
    }
    az->unit_id = unit_id;
    authz_from_facts(&f, az);
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

enum handler_result reply_domain(struct request *r, const struct domain_result *d)
{
    const char *detail = d->detail[0] ? d->detail : NULL;
    switch (d->outcome) {
    case DOMAIN_OK:
        break;
    case DOMAIN_NOT_FOUND:
        return reply_problem(r, PROBLEM_NOT_FOUND, detail);
    case DOMAIN_FORBIDDEN:
        return reply_problem(r, PROBLEM_FORBIDDEN, detail);
    case DOMAIN_CONFLICT:
        return reply_problem(r, PROBLEM_CONFLICT, detail);
    case DOMAIN_INVALID:
        /* d->pointer is a JSON pointer: "" or "/field". */
        return reply_invalid(r, d->pointer[0] == '/' ? d->pointer + 1 : d->pointer, d->detail);
    case DOMAIN_UNAUTHORIZED:
        return reply_problem(r, PROBLEM_UNAUTHORIZED, detail);
    case DOMAIN_TOKEN_SPENT:
        return reply_problem(r, PROBLEM_TOKEN_SPENT, detail);
    case DOMAIN_THROTTLED: {
        char secs[16];
        snprintf(secs, sizeof secs, "%d", d->retry_after);
        request_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
        return reply_problem(r, PROBLEM_TOO_MANY_ATTEMPTS, detail);
    }
    case DOMAIN_BAD_TRACKING_CODE:
        return reply_problem(r, PROBLEM_INVALID_TRACKING_CODE, detail);
    case DOMAIN_DB:
        return reply_db_error(r, d->st);
    }
    return reply_problem(r, PROBLEM_INTERNAL_ERROR, NULL);
}

struct audit_entry request_actor(const struct request *r, long long account_id)
{
    return (struct audit_entry){ .actor = AUDIT_ACCOUNT, .actor_id = account_id,
                                 .request_id = r->request_id };
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
    const struct db_field spec[] = { DB_I64("account_id", account_id), DB_END };
    int found = db_one(c, STMT_SESSION_TOUCH, params, spec, &st);
    if (found < 0)
        return reply_db_error(r, st);
    if (found == 0)
        return reply_problem(r, PROBLEM_UNAUTHORIZED, "session expired or signed out");
    *ok = true;
    return HANDLER_DONE;
}
