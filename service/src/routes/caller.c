/* The prologue of every signed-in route: who is calling, and what they
 * hold in the unit the request is about. */
#include "domain/session.h"
#include "http/reply.h"
#include "routes/routes.h"

bool caller_load(struct request *r, long long unit_id, struct authz *az,
                 enum handler_result *out)
{
    long long account_id;
    bool ok;
    *out = session_require(r, &account_id, &ok);
    if (!ok)
        return false;
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (c)
        st = authz_load(c, account_id, unit_id, az);
    if (st != DB_OK) {
        *out = reply_db_error(r, st);
        return false;
    }
    return true;
}

enum handler_result reply_forbidden(struct request *r)
{
    return reply_problem(r, PROBLEM_FORBIDDEN, "your roles do not allow this");
}
