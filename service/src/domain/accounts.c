/* Account creation and activation codes. */
#include "domain/accounts.h"

#include <stdio.h>
#include <stdlib.h>

static enum db_status issue_code(struct db_conn *c, const char *id, unsigned ttl,
                                 struct account_new *out)
{
    char normal[13], hash[HASH_HEX_CHARS + 1], ttl_s[16];
    activation_code_new(out->code);
    activation_code_normalise(out->code, normal);
    secret_hash_hex(normal, hash);
    snprintf(ttl_s, sizeof ttl_s, "%u", ttl);
    const char *params[] = { id, hash, ttl_s };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_ACTIVATION_UPSERT, params, &st);
    if (!res)
        return st;
    snprintf(out->code_expires_at, sizeof out->code_expires_at, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    return DB_OK;
}

enum db_status account_create(struct db_conn *c, const struct audit_entry *actor,
                              const char *login, const char *display_name, bool is_admin,
                              unsigned activation_ttl, struct account_new *out)
{
    enum db_status st;
    const char *p1[] = { login, display_name, is_admin ? "true" : "false" };
    PGresult *res = db_exec(c, STMT_ACCOUNT_INSERT, p1, &st);
    if (!res)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);
    out->id = strtoll(id, NULL, 10);

    st = issue_code(c, id, activation_ttl, out);
    if (st != DB_OK)
        return st;

    json_t *change = json_pack("{s:{s:s, s:s, s:b}}", "after", "login", login, "display_name",
                               display_name, "is_admin", is_admin);
    st = audit_change(c, actor, "account.create", "account",
                       id, change);
    return st;
}

enum db_status account_new_code(struct db_conn *c, const struct audit_entry *actor,
                                long long account_id, unsigned activation_ttl,
                                struct account_new *out)
{
    char id[24];
    snprintf(id, sizeof id, "%lld", account_id);
    const char *params[] = { id };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_ACCOUNT_BY_ID, params, &st);
    if (!res)
        return st;
    int found = PQntuples(res);
    PQclear(res);
    if (!found)
        return DB_ABORT;
    out->id = account_id;
    st = issue_code(c, id, activation_ttl, out);
    if (st != DB_OK)
        return st;
    /* A reset ends the account's sessions: whoever holds one (perhaps the
     * reason for the reset) is signed out. */
    PQclear(db_exec(c, STMT_SESSIONS_END_ALL, params, &st));
    if (st != DB_OK)
        return st;
    struct audit_entry e = *actor;
    e.action = "account.new_activation_code";
    e.object_type = "account";
    e.object_id = id;
    e.change = NULL;
    return audit_record(c, &e);
}

enum db_status account_set_display_name(struct db_conn *c, const struct audit_entry *actor,
                                        long long account_id, const char *display_name,
                                        bool *changed)
{
    *changed = false;
    char id[24];
    snprintf(id, sizeof id, "%lld", account_id);
    const char *p1[] = { id };
    enum db_status st;
    PGresult *res = db_exec(c, STMT_ACCOUNT_BY_ID, p1, &st);
    if (!res)
        return st;
    if (!PQntuples(res)) {
        PQclear(res);
        return DB_ABORT;
    }
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "display_name",
                               PQgetvalue(res, 0, 2), "after", "display_name", display_name);
    PQclear(res);
    if (!change)
        return DB_ERROR;

    const char *p2[] = { id, display_name };
    res = db_exec(c, STMT_ACCOUNT_SET_DISPLAY_NAME, p2, &st);
    if (res) {
        /* No row: the name already was that (the statement skips equal names). */
        *changed = PQntuples(res) > 0;
        PQclear(res);
    }
    if (res && *changed)
        return audit_change(c, actor, "account.update", "account", id, change);
    json_decref(change);
    return st;
}
