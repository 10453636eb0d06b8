/* Schema migrations: the embedded sql/NNNN-*.sql files, applied in order. */
#ifndef YIJIAN_DB_MIGRATE_H
#define YIJIAN_DB_MIGRATE_H

#include <stddef.h>

#include "db/db.h"
#include "embedded.h"

/* Records migration version (name, checksum) inside the transaction that
 * applied it: the audit row (domain/audit.h audit_migration), given by the
 * caller so that db/ does not reach up into the domain. */
typedef enum db_status (*migrate_recorder)(struct db_conn *c, int version, const char *name,
                                           const char *checksum);

/*
 * Applies every embedded migration the database lacks, each in its own
 * transaction, under an advisory lock. Refuses (returns -1, logged) when
 * the database holds a version this binary does not know or an applied
 * file has changed; record (may be NULL) runs after each. Returns the number applied, or -1.
 */
int migrate_run(const char *owner_conninfo, unsigned connect_timeout, migrate_recorder record);

/* The highest version this binary knows. */
int migrate_latest_version(void);

/* Checks that the list is strictly increasing from 1 without gaps;
 * returns 0 or -1 with a message in err. */
int migrate_check_list(const struct embedded_migration *list, size_t n, char *err,
                       size_t errlen);

#endif
