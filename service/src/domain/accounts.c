/* Account creation and activation codes. */
#include "domain/accounts.h"

#include <stdio.h>
#include <stdlib.h>

#include "db/rows.h"

static enum db_status issue_code(struct db_conn *c, const char *id, unsigned ttl,
                                 struct account_new *out)
{
    char normal[13], hash[HASH_HEX_CHARS + 1], ttl_s[16];
    activation_code_new(out->code);
    activation_code_normalise(out->code, normal);
    secret_hash_hex(normal, hash);
    snprintf(ttl_s, sizeof ttl_s, "%u", ttl);
    const char *params[] = { id, hash, ttl_s };
    const struct db_field spec[] = { DB_TEXT("expires_at", out->code_expires_at), DB_END };
    enum db_status st;
    if (db_one(c, STMT_ACTIVATION_UPSERT, params, spec, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    return DB_OK;
}

enum db_status account_create(struct db_conn *c, const struct audit_entry *actor,
                              const char *login, const char *display_name, bool is_admin,
                              unsigned activation_ttl, struct account_new *out)
{
    enum db_status st;
    const char *p1[] = { login, display_name, is_admin ? "true" : "false" };
    const struct db_field spec[] = { DB_I64("id", &out->id), DB_END };
    if (db_one(c, STMT_ACCOUNT_INSERT, p1, spec, &st) <= 0)
        return st == DB_OK ? DB_ERROR : st;
    char id[24];
    snprintf(id, sizeof id, "%lld", out->id);

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
    int found = db_one(c, STMT_ACCOUNT_BY_ID, params, NULL, &st);
    if (found < 0)
        return st;
    if (!found)
        return DB_ABORT;
    out->id = account_id;
    st = issue_code(c, id, activation_ttl, out);
    if (st != DB_OK)
        return st;
    /* A reset ends the account's sessions: whoever holds one (perhaps the
     * reason for the reset) is signed out. */
    st = db_run(c, STMT_SESSIONS_END_ALL, params, NULL);
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
    char *before = NULL;
    const struct db_field spec[] = { DB_TEXT_DUP("display_name", &before), DB_END };
    int found = db_one(c, STMT_ACCOUNT_BY_ID, p1, spec, &st);
    if (found <= 0)
        return found < 0 ? st : DB_ABORT;
    json_t *change = json_pack("{s:{s:s}, s:{s:s}}", "before", "display_name", before, "after",
                               "display_name", display_name);
    free(before);
    if (!change)
        return DB_ERROR;

    const char *p2[] = { id, display_name };
    long long rows = 0;
    st = db_run(c, STMT_ACCOUNT_SET_DISPLAY_NAME, p2, &rows);
    /* No row: the name already was that (the statement skips equal names). */
    *changed = st == DB_OK && rows > 0;
    if (*changed)
        return audit_change(c, actor, "account.update", "account", id, change);
    json_decref(change);
    return st;
}
