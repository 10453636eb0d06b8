/* Back-off for the doors that take guesses; the rules (fold, bound,
 * count first) are in the statements, db/statements.c "throttle_take". */
#include "domain/throttle.h"

#include "db/rows.h"

enum db_status throttle_take(struct db_conn *c, const struct throttle_key *k, int *wait)
{
    const char *params[] = { k->door, k->subject, k->limit };
    const struct db_field spec[] = { DB_I32("wait", wait), DB_END };
    enum db_status st;
    int found = db_one(c, STMT_THROTTLE_TAKE, params, spec, &st);
    if (found < 0)
        return st;
    /* No row: the key was locked and then vanished between the statement's
     * snapshot and its lock; treat it as locked for a second. */
    if (found == 0)
        *wait = 1;
    return DB_OK;
}

enum db_status throttle_refund(struct db_conn *c, const struct throttle_key *k)
{
    const char *params[] = { k->door, k->subject, k->limit };
    return db_run(c, STMT_THROTTLE_REFUND, params, NULL);
}

enum db_status throttle_clear(struct db_conn *c, const struct throttle_key *k)
{
    const char *params[] = { k->door, k->subject };
    return db_run(c, STMT_THROTTLE_CLEAR, params, NULL);
}
