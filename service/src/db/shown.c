/* The suggestions shown to a unit (db/shown.h). */
#include "db/shown.h"

#include <stdio.h>

#include "db/statements.h"

json_t *shown_suggestions_of_unit(struct db_conn *c, long long unit_id, enum db_status *st)
{
    char u[24];
    snprintf(u, sizeof u, "%lld", unit_id);
    const char *p[] = { u };
    PGresult *res = db_exec(c, STMT_UNIT_SHOWN_SUGGESTIONS, p, st);
    if (!res)
        return NULL;
    json_t *list = json_loads(PQgetvalue(res, 0, 0), 0, NULL);
    PQclear(res);
    if (!list)
        *st = DB_ERROR;
    return list;
}
