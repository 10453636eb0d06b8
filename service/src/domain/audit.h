/* The one audit writer: every change of every object is recorded through
 * audit_record, inside the transaction that makes the change. */
#ifndef YIJIAN_DOMAIN_AUDIT_H
#define YIJIAN_DOMAIN_AUDIT_H

#include <jansson.h>

#include "db/db.h"

enum audit_actor { AUDIT_ACCOUNT, AUDIT_ANONYMOUS, AUDIT_SYSTEM };

struct audit_entry {
    enum audit_actor actor;
    long long actor_id;      /* the account, when actor is AUDIT_ACCOUNT */
    const char *action;      /* "object.verb", e.g. "account.create" */
    const char *object_type; /* "account" */
    const char *object_id;   /* may be NULL */
    json_t *change;          /* borrowed; NULL records {} */
    const char *request_id;  /* may be NULL */
};

/*
 * Inserts one audit row on c, which must be inside the caller's
 * transaction, after the change it records (the sealer counts on the
 * transaction having written before its audit row gets an id: "Rows that
 * commit out of order" in docs/audit.md). For AUDIT_ANONYMOUS the account
 * and the request id are dropped whatever the caller passed: nothing about
 * an anonymous actor but the word "anonymous" is ever stored.
 */
enum db_status audit_record(struct db_conn *c, const struct audit_entry *e);

/*
 * audit_record of the entry *actor with action, object_type, object_id and
 * change set: the common case. change is stolen (released here; NULL
 * records {}).
 */
enum db_status audit_change(struct db_conn *c, const struct audit_entry *actor,
                            const char *action, const char *object_type, const char *object_id,
                            json_t *change);

/* The audit row of a schema migration (db/migrate.h migrate_recorder):
 * "schema.migrate" by the system, with its name and checksum. */
enum db_status audit_migration(struct db_conn *c, int version, const char *name,
                               const char *checksum);

#endif
