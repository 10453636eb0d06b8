/* A unit's categories of suggestions: each names the portfolio that
 * routing looks for and the unit's deadlines for it. */
#ifndef YIJIAN_DOMAIN_CATEGORIES_H
#define YIJIAN_DOMAIN_CATEGORIES_H

#include <jansson.h>

#include "db/db.h"
#include "domain/audit.h"
#include "domain/result.h"

#define CATEGORY_NAME_MAX_CHARS 50

/* A category's fields; on an update NULL and -1 leave a field as it is. */
struct category_fields {
    const char *name, *portfolio;
    int ack_days, answer_days, grace_days;
};

/* The categories of unit_id as a JSON array (a new reference); NULL with
 * *out set on a database failure. */
json_t *categories_of_unit(struct db_conn *c, long long unit_id, struct domain_result *out);

/* Creates a category of unit_id, audited as actor (its action, object and
 * change are set here). The new category (a new reference), or NULL with
 * *out: DOMAIN_CONFLICT (the name is taken), DOMAIN_DB. */
json_t *category_create(struct db_conn *c, const struct audit_entry *actor, long long unit_id,
                        const struct category_fields *f, struct domain_result *out);

/* Changes category_id of unit_id. The category after (a new reference),
 * or NULL with *out: DOMAIN_NOT_FOUND, DOMAIN_CONFLICT, DOMAIN_INVALID
 * (/answer_days below ack_days), DOMAIN_DB. */
json_t *category_update(struct db_conn *c, const struct audit_entry *actor, long long unit_id,
                        long long category_id, const struct category_fields *f,
                        struct domain_result *out);

#endif
