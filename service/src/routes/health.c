/* GET /healthz (the process answers) and GET /readyz (the database is
 * reachable and carries the schema this binary expects). */
#include <stdlib.h>

#include "db/db.h"
#include "db/migrate.h"
#include "http/reply.h"
#include "routes/routes.h"

enum handler_result health_live(struct request *r)
{
    static const char body[] = "{\"status\":\"ok\"}";
    return reply_bytes(r, 200, "application/json", body, sizeof body - 1, 1);
}

enum handler_result health_ready(struct request *r)
{
    enum db_status st;
    struct db_conn *c = db_pool_acquire(&st);
    if (!c)
        return reply_db_error(r, st);
    PGresult *res = db_exec(c, STMT_SCHEMA_VERSION, NULL, &st);
    db_pool_release(c);
    if (!res)
        return reply_db_error(r, DB_UNAVAILABLE);
    int version = atoi(PQgetvalue(res, 0, 0));
    PQclear(res);
    if (version != migrate_latest_version())
        return reply_problem(r, PROBLEM_DATABASE_UNAVAILABLE,
                             version < migrate_latest_version()
                                 ? "database schema is not migrated yet"
                                 : "database schema is newer than this binary");
    return reply_json(r, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version",
                                        version));
}
