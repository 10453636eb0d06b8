/* Migration runner: advisory lock, versions table, one transaction per
 * file, checksum of every file, and an audit row for each. */
#include "db/migrate.h"

#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "db/db.h"
#include "util/log.h"

/* Created here rather than in a migration: it must exist before the first. */
static const char versions_table_sql[] =
    "CREATE TABLE IF NOT EXISTS schema_migrations ("
    " version int PRIMARY KEY,"
    " name text NOT NULL,"
    " checksum text NOT NULL,"
    " applied_at timestamptz NOT NULL DEFAULT now())";

int migrate_latest_version(void)
{
    return embedded_migrations_count
               ? embedded_migrations[embedded_migrations_count - 1].version : 0;
}

int migrate_check_list(const struct embedded_migration *list, size_t n, char *err,
                       size_t errlen)
{
    for (size_t i = 0; i < n; i++) {
        if (list[i].version != (int)i + 1) {
            snprintf(err, errlen, "migration %s: expected version %zu", list[i].name, i + 1);
            return -1;
        }
    }
    return 0;
}

static void checksum_hex(const char *sql, char out[65])
{
    unsigned char h[32];
    crypto_generichash(h, sizeof h, (const unsigned char *)sql, strlen(sql), NULL, 0);
    sodium_bin2hex(out, 65, h, sizeof h);
}

struct apply_ctx {
    const struct embedded_migration *m;
    const char *checksum;
    migrate_recorder record;
};

static enum db_status apply_one(struct db_conn *c, void *arg)
{
    struct apply_ctx *a = arg;
    enum db_status st = db_exec_script(c, a->m->sql);
    if (st != DB_OK) {
        log_msg(LOG_ERROR, "migration %s failed: %s", a->m->name, db_last_error(c));
        return st;
    }
    char version[16];
    snprintf(version, sizeof version, "%d", a->m->version);
    const char *params[] = { version, a->m->name, a->checksum };
    PGresult *r = db_exec(c, STMT_MIGRATION_RECORD, params, &st);
    PQclear(r);
    if (st != DB_OK)
        return st;

    return a->record ? a->record(c, a->m->version, a->m->name, a->checksum) : DB_OK;
}

/* Compares what the database has applied with what we carry. */
static int check_applied(struct db_conn *c, int *applied_max)
{
    enum db_status st;
    PGresult *r = db_exec(c, STMT_MIGRATION_APPLIED, NULL, &st);
    if (!r)
        return -1;
    int rc = 0;
    *applied_max = 0;
    for (int i = 0; i < PQntuples(r) && rc == 0; i++) {
        int v = atoi(PQgetvalue(r, i, 0));
        if (v > *applied_max)
            *applied_max = v;
        if (v < 1) {
            log_msg(LOG_ERROR, "database schema version %d is not a version; refusing to run", v);
            rc = -1;
            break;
        }
        if (v > migrate_latest_version()) {
            log_msg(LOG_ERROR,
                    "database schema version %d is newer than this binary knows (%d); "
                    "refusing to run: upgrade yijian", v, migrate_latest_version());
            rc = -1;
            break;
        }
        const struct embedded_migration *m = &embedded_migrations[v - 1];
        char sum[65];
        checksum_hex(m->sql, sum);
        if (strcmp(sum, PQgetvalue(r, i, 2)) != 0) {
            log_msg(LOG_ERROR, "migration %s was changed after it was applied "
                    "(checksum %s in the database); refusing to run", m->name,
                    PQgetvalue(r, i, 2));
            rc = -1;
        }
    }
    PQclear(r);
    return rc;
}

int migrate_run(const char *owner_conninfo, unsigned connect_timeout, migrate_recorder record)
{
    char err[256];
    if (migrate_check_list(embedded_migrations, embedded_migrations_count, err,
                           sizeof err) < 0) {
        log_msg(LOG_ERROR, "embedded migrations are broken: %s", err);
        return -1;
    }
    struct db_conn *c = db_open(owner_conninfo, connect_timeout);
    if (!c)
        return -1;

    int applied = 0, rc = -1, applied_max = 0;
    enum db_status st;
    PGresult *r = db_exec(c, STMT_MIGRATION_LOCK, NULL, &st);
    PQclear(r);
    if (st != DB_OK)
        goto out;
    if (db_exec_script(c, versions_table_sql) != DB_OK) {
        log_msg(LOG_ERROR, "could not create schema_migrations: %s", db_last_error(c));
        goto unlock;
    }
    if (check_applied(c, &applied_max) < 0)
        goto unlock;

    for (size_t i = (size_t)applied_max; i < embedded_migrations_count; i++) {
        char sum[65];
        checksum_hex(embedded_migrations[i].sql, sum);
        struct apply_ctx a = { &embedded_migrations[i], sum, record };
        if (db_transaction(c, apply_one, &a) != DB_OK) {
            log_msg(LOG_ERROR, "migration %s not applied: %s", embedded_migrations[i].name,
                    db_last_error(c));
            goto unlock;
        }
        json_t *f = json_pack("{s:i, s:s}", "version", embedded_migrations[i].version,
                              "name", embedded_migrations[i].name);
        log_json(LOG_INFO, "migration applied", f);
        json_decref(f);
        applied++;
    }
    rc = applied;
unlock:
    r = db_exec(c, STMT_MIGRATION_UNLOCK, NULL, &st);
    PQclear(r);
out:
    db_close(c);
    return rc;
}
