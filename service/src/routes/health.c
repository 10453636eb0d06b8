/* GET /healthz (the process answers) and GET /readyz (the database is
 * reachable and carries the schema this binary expects). /healthz runs
 * on the HTTP thread and never touches the database; /readyz says at once
 * that the database is stuck when the last call to pass its deadline came
 * after the last one answered (db_stuck), without waiting on it again. */
#include <stdio.h>

#include "db/db.h"
#include "db/rows.h"
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
    /* While stuck, one /readyz at a time (and at most one per
     * DB_TIMEOUT_MS) asks the database again; the others answer at once.
     * Without that, a database that came back would never be seen again by
     * an instance that gets no other traffic. */
    static int probing;
    long long since_ms;
    bool stuck = db_stuck(&since_ms);
    bool probe = !stuck || (since_ms >= (long long)r->cfg->db_timeout_ms &&
                            !__atomic_exchange_n(&probing, 1, __ATOMIC_SEQ_CST));
    if (!probe) {
        char detail[120];
        snprintf(detail, sizeof detail,
                 "the database is not answering (a call passed its deadline %lld s ago)",
                 since_ms / 1000);
        return reply_problem(r, PROBLEM_DATABASE_UNAVAILABLE, detail);
    }
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c) {
        if (stuck)
            __atomic_store_n(&probing, 0, __ATOMIC_SEQ_CST);
        return reply_db_error(r, st);
    }
    int version = 0;
    const struct db_field spec[] = { DB_I32("version", &version), DB_END };
    int found = db_one(c, STMT_SCHEMA_VERSION, NULL, spec, &st);
    request_db_release(r);
    if (stuck)
        __atomic_store_n(&probing, 0, __ATOMIC_SEQ_CST);
    if (found <= 0)
        return reply_db_error(r, DB_UNAVAILABLE);
    if (version != migrate_latest_version())
        return reply_problem(r, PROBLEM_DATABASE_UNAVAILABLE,
                             version < migrate_latest_version()
                                 ? "database schema is not migrated yet"
                                 : "database schema is newer than this binary");
    return reply_json(r, 200, json_pack("{s:s, s:i}", "status", "ready", "schema_version",
                                        version));
}
