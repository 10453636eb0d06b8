/* Operator CLI commands. They use the same statements, transaction runner
 * and audit writer as the HTTP handlers. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tokens.h"
#include "db/db.h"
#include "domain/audit.h"
#include "util/log.h"
#include "util/utf8.h"

struct create_admin_ctx {
    const char *login, *display_name;
    unsigned ttl;
    char code[ACTIVATION_CODE_CHARS + 1];
};

static enum db_status create_admin_tx(struct db_conn *c, void *arg)
{
    struct create_admin_ctx *a = arg;
    enum db_status st;
    const char *p1[] = { a->login, a->display_name, "true" };
    PGresult *res = db_exec(c, STMT_ACCOUNT_INSERT, p1, &st);
    if (!res)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%s", PQgetvalue(res, 0, 0));
    PQclear(res);

    char normal[13], hash[HASH_HEX_CHARS + 1], ttl[16];
    activation_code_new(a->code);
    activation_code_normalise(a->code, normal);
    secret_hash_hex(normal, hash);
    snprintf(ttl, sizeof ttl, "%u", a->ttl);
    const char *p2[] = { id, hash, ttl };
    res = db_exec(c, STMT_ACTIVATION_UPSERT, p2, &st);
    PQclear(res);
    if (st != DB_OK)
        return st;

    json_t *change = json_pack("{s:s, s:s, s:b}", "login", a->login, "display_name",
                               a->display_name, "is_admin", 1);
    struct audit_entry e = { .actor = AUDIT_SYSTEM, .action = "account.create",
                             .object_type = "account", .object_id = id, .change = change };
    st = audit_record(c, &e);
    json_decref(change);
    return st;
}

int cli_create_admin(const struct config *cfg, const char *login, const char *display_name)
{
    size_t ln = utf8_length(login, strlen(login)), dn = utf8_length(display_name, strlen(display_name));
    if (!utf8_valid(login, strlen(login)) || ln < 1 || ln > 64 ||
        !utf8_valid(display_name, strlen(display_name)) || dn < 1 || dn > 100) {
        fprintf(stderr, "yijian: login must be 1-64 and name 1-100 characters of UTF-8\n");
        return 2;
    }
    struct db_conn *c = db_open(cfg->database_url, cfg->db_connect_timeout);
    if (!c)
        return 1;
    struct create_admin_ctx a = { .login = login, .display_name = display_name,
                                  .ttl = cfg->activation_ttl };
    enum db_status st = db_transaction(c, create_admin_tx, &a);
    db_close(c);
    if (st == DB_UNIQUE) {
        fprintf(stderr, "yijian: an account with login \"%s\" already exists\n", login);
        return 1;
    }
    if (st != DB_OK) {
        fprintf(stderr, "yijian: could not create the account (see the log above)\n");
        return 1;
    }
    printf("%s\n", a.code);
    fflush(stdout);
    return 0;
}
