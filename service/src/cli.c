/* Operator CLI commands. They use the same statements, transaction runner
 * and audit writer as the HTTP handlers. */
#include "cli.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "domain/accounts.h"
#include "db/db.h"
#include "util/log.h"
#include "util/utf8.h"

struct create_admin_ctx {
    const char *login, *display_name;
    unsigned ttl;
    struct account_new out;
};

static enum db_status create_admin_tx(struct db_conn *c, void *arg)
{
    struct create_admin_ctx *a = arg;
    struct audit_entry system = { .actor = AUDIT_SYSTEM };
    return account_create(c, &system, a->login, a->display_name, true, a->ttl, &a->out);
}

int cli_create_admin(const struct config *cfg, const char *login, const char *display_name)
{
    size_t ln = utf8_length(login, strlen(login)), dn = utf8_length(display_name, strlen(display_name));
    if (!utf8_valid(login, strlen(login)) || ln < 1 || ln > LOGIN_MAX_CHARS ||
        !utf8_valid(display_name, strlen(display_name)) || dn < 1 ||
        dn > DISPLAY_NAME_MAX_CHARS) {
        fprintf(stderr, "yijian: login must be 1-%d and name 1-%d characters of UTF-8\n",
                LOGIN_MAX_CHARS, DISPLAY_NAME_MAX_CHARS);
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
    printf("%s\n", a.out.code);
    fflush(stdout);
    return 0;
}
