/* Audit rows. The table refuses UPDATE and DELETE (sql/0001); this file
 * only decides what goes into a row. */
#include "domain/audit.h"

#include <stdio.h>
#include <stdlib.h>

static const char *const actor_names[] = { "account", "anonymous", "system" };

enum db_status audit_record(struct db_conn *c, const struct audit_entry *e)
{
    char actor_id[24];
    const char *actor_param = NULL;
    const char *request_id = e->request_id;
    if (e->actor == AUDIT_ACCOUNT) {
        snprintf(actor_id, sizeof actor_id, "%lld", e->actor_id);
        actor_param = actor_id;
    }
    if (e->actor == AUDIT_ANONYMOUS)
        request_id = NULL;

    char *change = e->change ? json_dumps(e->change, JSON_COMPACT | JSON_SORT_KEYS)
                             : NULL;
    const char *params[7] = {
        actor_names[e->actor], actor_param, e->action, e->object_type, e->object_id,
        change ? change : "{}", request_id,
    };
    /* Nothing reads the row back: inside a transaction it goes out with
     * the next call (db_exec_later), in the order it was written. */
    enum db_status st = db_exec_later(c, STMT_AUDIT_INSERT, params);
    free(change);
    return st;
}

enum db_status audit_change(struct db_conn *c, const struct audit_entry *actor,
                            const char *action, const char *object_type, const char *object_id,
                            json_t *change)
{
    struct audit_entry e = *actor;
    e.action = action;
    e.object_type = object_type;
    e.object_id = object_id;
    e.change = change;
    enum db_status st = audit_record(c, &e);
    json_decref(change);
    return st;
}

enum db_status audit_migration(struct db_conn *c, int version, const char *name,
                               const char *checksum)
{
    char v[16];
    snprintf(v, sizeof v, "%d", version);
    json_t *change = json_pack("{s:s, s:s}", "name", name, "checksum", checksum);
    struct audit_entry e = {
        .actor = AUDIT_SYSTEM, .action = "schema.migrate", .object_type = "schema",
        .object_id = v, .change = change,
    };
    enum db_status st = audit_record(c, &e);
    json_decref(change);
    return st;
}
