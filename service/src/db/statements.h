/* Every SQL statement the service runs, by name. Each is prepared on each
 * new pooled connection; no SQL text is ever assembled from input. */
#ifndef YIJIAN_DB_STATEMENTS_H
#define YIJIAN_DB_STATEMENTS_H

#include <stddef.h>

enum stmt {
    STMT_SCHEMA_VERSION,
    STMT_AUDIT_INSERT,
    STMT_MIGRATION_LOCK,
    STMT_MIGRATION_UNLOCK,
    STMT_MIGRATION_APPLIED,
    STMT_MIGRATION_RECORD,
    STMT_ACCOUNT_INSERT,
    STMT_ACTIVATION_UPSERT,
    STMT_ACTIVATION_CLAIM,
    STMT_ACCOUNT_SET_PASSWORD,
    STMT_ACCOUNT_BY_LOGIN,
    STMT_ACCOUNT_BY_ID,
    STMT_SESSION_INSERT,
    STMT_SESSION_TOUCH,
    STMT_SESSION_REVOKE,
    STMT_THROTTLE_GET,
    STMT_THROTTLE_FAIL,
    STMT_THROTTLE_CLEAR,
    STMT_MEMBERSHIPS_OF_ACCOUNT,
    STMT_ACCOUNT_SET_DISPLAY_NAME,
    STMT_UNITS_ALL,
    STMT_UNIT_BY_ID,
    STMT_UNIT_BY_PARENT_NAME,
    STMT_UNIT_INSERT,
    STMT_UNIT_UPDATE,
    STMT_AUTHZ_UNIT,
    STMT_AUTHZ_MANAGES_ACCOUNT,
    STMT_MEMBERSHIP_ROLES,
    STMT_MEMBERSHIP_DELETE_OTHER_ROLES,
    STMT_MEMBERSHIP_ADD,
    STMT_MEMBERS_OF_UNIT,
    STMT_PORTFOLIOS_OF_UNIT,
    STMT_PORTFOLIO_INSERT,
    STMT_PORTFOLIO_ENSURE,
    STMT_PORTFOLIOS_COUNT_NAMED,
    STMT_COMMITTEE_PORTFOLIOS_OF,
    STMT_COMMITTEE_PORTFOLIOS_DELETE_OTHERS,
    STMT_COMMITTEE_PORTFOLIOS_ADD,
    STMT__COUNT
};

struct stmt_def {
    const char *name;
    const char *sql;
    int nparams;
    /* Prepared on pooled connections. Migration statements are not: they
     * run on the owner's connection before the schema exists. */
    int pooled;
};

extern const struct stmt_def stmt_defs[STMT__COUNT];

#endif
