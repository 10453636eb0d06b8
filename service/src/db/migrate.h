/* Schema migrations: the embedded sql/NNNN-*.sql files, applied in order. */
#ifndef YIJIAN_DB_MIGRATE_H
#define YIJIAN_DB_MIGRATE_H

#include <stddef.h>

#include "embedded.h"

/*
 * Applies every embedded migration the database lacks, each in its own
 * transaction, under an advisory lock. Refuses (returns -1, logged) when
 * the database holds a version this binary does not know or an applied
 * file has changed. Returns the number applied, or -1.
 */
int migrate_run(const char *owner_conninfo, unsigned connect_timeout);

/* The highest version this binary knows. */
int migrate_latest_version(void);

/* Checks that the list is strictly increasing from 1 without gaps;
 * returns 0 or -1 with a message in err. */
int migrate_check_list(const struct embedded_migration *list, size_t n, char *err,
                       size_t errlen);

#endif
