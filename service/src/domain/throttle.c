/* Back-off for the doors that take guesses; the rules (fold, bound,
 * count first) are in the statements, db/statements.c "throttle_take". */
#include "domain/throttle.h"

#include <stdlib.h>

enum db_status throttle_take(struct db_conn *c, const struct throttle_key *k, int *wait)
{
    const char *params[] = { k->door, k->subject, k->limit };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_THROTTLE_TAKE, params, &st);
    if (!res)
        return st;
    /* No row: the key was locked and then vanished between the statement's
     * snapshot and its lock; treat it as locked for a second. */
    *wait = PQntuples(res) ? atoi(PQgetvalue(res, 0, 0)) : 1;
    PQclear(res);
    return DB_OK;
}

enum db_status throttle_refund(struct db_conn *c, const struct throttle_key *k)
{
    const char *params[] = { k->door, k->subject, k->limit };
    enum db_status st;
    PQclear(db_exec(c, STMT_THROTTLE_REFUND, params, &st));
    return st;
}

enum db_status throttle_clear(struct db_conn *c, const struct throttle_key *k)
{
    const char *params[] = { k->door, k->subject };
    enum db_status st;
    PQclear(db_exec(c, STMT_THROTTLE_CLEAR, params, &st));
    return st;
}
