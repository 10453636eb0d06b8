/* The domain result's two setters (domain/result.h). */
#include "domain/result.h"

#include <stdio.h>

enum db_status domain_refuse(struct domain_result *r, enum domain_outcome outcome,
                             const char *pointer, const char *detail)
{
    r->outcome = outcome;
    snprintf(r->pointer, sizeof r->pointer, "%s", pointer ? pointer : "");
    snprintf(r->detail, sizeof r->detail, "%s", detail ? detail : "");
    return DB_ABORT;
}

bool domain_settle(struct domain_result *r, enum db_status st)
{
    if (st == DB_OK && r->outcome == DOMAIN_OK)
        return true;
    if (r->outcome != DOMAIN_OK && st == DB_ABORT)
        return false;
    r->outcome = DOMAIN_DB;
    r->st = st == DB_ABORT || st == DB_OK ? DB_ERROR : st;
    return false;
}
