/* Accounts: creation with a one-time activation code, shared by the
 * create-admin and import-roster commands and POST /v1/accounts. */
#ifndef YIJIAN_DOMAIN_ACCOUNTS_H
#define YIJIAN_DOMAIN_ACCOUNTS_H

#include <stdbool.h>

#include "crypto/tokens.h"
#include "db/db.h"
#include "domain/audit.h"

#define LOGIN_MAX_CHARS 64
#define DISPLAY_NAME_MAX_CHARS 100

struct account_new {
    long long id;
    char code[ACTIVATION_CODE_CHARS + 1]; /* shown once; only its hash is stored */
    char code_expires_at[32];
};

/*
 * Inserts an account and its activation code on c, inside the caller's
 * transaction, and audits it as actor. DB_UNIQUE when the login is taken
 * (case-insensitively).
 */
enum db_status account_create(struct db_conn *c, const struct audit_entry *actor,
                              const char *login, const char *display_name, bool is_admin,
                              unsigned activation_ttl, struct account_new *out);

/* Replaces the account's activation code with a new one (for a lost code),
 * ends the account's sessions and audits it. DB_ABORT when the account does
 * not exist. */
enum db_status account_new_code(struct db_conn *c, const struct audit_entry *actor,
                                long long account_id, unsigned activation_ttl,
                                struct account_new *out);

/*
 * Sets the account's display name and audits account.update with the
 * name before and after. *changed is false, and nothing is written, when
 * the name already was that. DB_ABORT when the account does not exist.
 */
enum db_status account_set_display_name(struct db_conn *c, const struct audit_entry *actor,
                                        long long account_id, const char *display_name,
                                        bool *changed);

#endif
