/* What a domain operation answers: done, or refused and why, in words of
 * the domain. routes/ maps it to a reply (reply_domain); nothing below
 * routes/ knows HTTP. */
#ifndef YIJIAN_DOMAIN_RESULT_H
#define YIJIAN_DOMAIN_RESULT_H

#include <stdbool.h>

#include "db/db.h"

enum domain_outcome {
    DOMAIN_OK,
    DOMAIN_NOT_FOUND,      /* no such object, or not one the caller may see */
    DOMAIN_FORBIDDEN,      /* seen, but the caller's rights do not reach */
    DOMAIN_CONFLICT,       /* the object's state refuses the step */
    DOMAIN_INVALID,        /* a field is wrong: pointer and detail */
    DOMAIN_UNAUTHORIZED,   /* the session ended */
    DOMAIN_TOKEN_SPENT,    /* an anonymity token was spent already */
    DOMAIN_THROTTLED,      /* too many failures: retry_after seconds */
    DOMAIN_BAD_TRACKING_CODE,
    DOMAIN_DB,             /* the database failed: st */
};

struct domain_result {
    enum domain_outcome outcome;
    enum db_status st;    /* DOMAIN_DB */
    int retry_after;      /* DOMAIN_THROTTLED */
    char pointer[32];     /* DOMAIN_INVALID: JSON pointer of the field ("" the body) */
    char detail[200];     /* "" for the problem's own title */
};

/* Sets r to a refusal with the detail (may be NULL) and, for
 * DOMAIN_INVALID, the pointer; returns DB_ABORT so that a transaction
 * callback can `return domain_refuse(...)`. */
enum db_status domain_refuse(struct domain_result *r, enum domain_outcome outcome,
                             const char *pointer, const char *detail);

/* Sets r to DOMAIN_DB with st (DB_ABORT, which means a refusal already
 * recorded, is left alone); returns whether r is DOMAIN_OK. */
bool domain_settle(struct domain_result *r, enum db_status st);

#endif
