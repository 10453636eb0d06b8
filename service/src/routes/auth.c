/* POST /v1/auth/activate, POST /v1/auth/login, POST /v1/auth/logout,
 * GET /v1/me. Passwords are argon2id (crypto_pwhash_str); the slow hash
 * runs without holding a database connection. */
#include <netdb.h>
#include <pthread.h>
#include <sodium.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "crypto/tokens.h"
#include "domain/accounts.h"
#include "db/rows.h"
#include "domain/audit.h"
#include "domain/session.h"
#include "domain/throttle.h"
#include "http/reply.h"
#include "http/validate.h"
#include "routes/routes.h"
#include "util/log.h"

#define PASSWORD_MIN_CHARS 10
#define PASSWORD_MAX_CHARS 1024
/* Attempts an hour before back-off starts, per login and per client
 * address (a right one is given back). An address is shared by everyone
 * behind one NAT, so it gets more room. */
#define THROTTLE_LOGIN_FAILURES "5"
#define THROTTLE_ADDRESS_FAILURES "20"

/* An account as the API shows it (account_set_password, account_by_id,
 * account_by_login). */
static const struct db_json_col account_cols[] = {
    DBJ("id", "id", INT), DBJ("login", "login", STRING),
    DBJ("display_name", "display_name", STRING), DBJ("is_admin", "is_admin", BOOL), DBJ_DONE,
};

/* ------------------------------------------------------------------ */
/* activate                                                            */
/* ------------------------------------------------------------------ */

struct activate_ctx {
    struct request *r;
    const char *login;
    char code_hash[HASH_HEX_CHARS + 1];
    const char *password_hash;
    json_t *account; /* out: set when activated */
};

static enum db_status activate_tx(struct db_conn *c, void *arg)
{
    struct activate_ctx *a = arg;
    json_decref(a->account);
    a->account = NULL;

    enum db_status st;
    const char *claim[] = { a->login, a->code_hash };
    long long account_id;
    const struct db_field spec[] = { DB_I64("id", &account_id), DB_END };
    int claimed = db_one(c, STMT_ACTIVATION_CLAIM, claim, spec, &st);
    if (claimed < 0)
        return st;
    if (claimed == 0)
        return DB_ABORT;
    char id[24];
    snprintf(id, sizeof id, "%lld", account_id);

    const char *set[] = { id, a->password_hash };
    if (db_json_one(c, STMT_ACCOUNT_SET_PASSWORD, set, account_cols, &a->account, &st) < 0)
        return st;

    /* A new password ends the sessions the old one opened. */
    const char *who[] = { id };
    if ((st = db_run(c, STMT_SESSIONS_END_ALL, who, NULL)) != DB_OK)
        return st;

    struct audit_entry e = { .actor = AUDIT_ACCOUNT, .actor_id = account_id,
                             .action = "account.activate", .object_type = "account",
                             .object_id = id, .request_id = a->r->request_id };
    return audit_record(c, &e);
}

/* The caller's address as a throttle subject: kept only as a hash, and
 * only in the throttle. */
static void address_hash(struct request *r, char out[33])
{
    const union MHD_ConnectionInfo *ci =
        MHD_get_connection_info(r->conn, MHD_CONNECTION_INFO_CLIENT_ADDRESS);
    char host[64] = "unknown";
    if (ci && ci->client_addr)
        getnameinfo(ci->client_addr,
                    ci->client_addr->sa_family == AF_INET6 ? sizeof(struct sockaddr_in6)
                                                           : sizeof(struct sockaddr_in),
                    host, sizeof host, NULL, 0, NI_NUMERICHOST);
    char h[HASH_HEX_CHARS + 1];
    secret_hash_hex(host, h);
    snprintf(out, 33, "%.32s", h);
}

/* Queues the 429 for a throttled caller. */
static enum handler_result too_many(struct request *r, int wait)
{
    char secs[16];
    snprintf(secs, sizeof secs, "%d", wait);
    request_add_header(r, MHD_HTTP_HEADER_RETRY_AFTER, secs);
    return reply_problem(r, PROBLEM_TOO_MANY_ATTEMPTS, NULL);
}

/* The doors' keys: a door for each of login and address, so that failures
 * at sign-in do not lock activation or the other way round. The login is
 * folded by the database (domain/throttle.h). */
struct doors {
    struct throttle_key login, addr;
    char addr_hash[33];
};

static void doors_init(struct doors *d, struct request *r, bool activation, const char *login)
{
    address_hash(r, d->addr_hash);
    d->login = (struct throttle_key){ activation ? "activate:" : "login:", login,
                                      THROTTLE_LOGIN_FAILURES };
    d->addr = (struct throttle_key){ activation ? "activate-addr:" : "addr:", d->addr_hash,
                                     THROTTLE_ADDRESS_FAILURES };
}

/* A right guess: the login's count is forgotten and the address's given
 * back. Failing to write this only leaves a count standing. */
static void doors_succeeded(struct request *r, const struct doors *d)
{
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c)
        return;
    throttle_clear(c, &d->login);
    throttle_refund(c, &d->addr);
}

enum handler_result auth_activate(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *login = validate_string(&v, "login", true, 1, LOGIN_MAX_CHARS);
    const char *code = validate_string(&v, "code", true, 1, 64);
    const char *password =
        validate_string(&v, "password", true, PASSWORD_MIN_CHARS, PASSWORD_MAX_CHARS);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    /* Throttled before the password is hashed: each try costs the service
     * an Argon2id hash (64 MiB), and codes must not be guessed. Both keys
     * count the attempt before the code is looked at, so parallel tries do
     * not pass the limit. The address's lock refuses everything; the
     * login's refuses only wrong codes: anybody can lock a login with wrong
     * codes, and that must not keep its owner, holding a fresh code from
     * their secretary, from getting in. A right code is a 60-bit secret, so
     * letting it through a login's lock does not help guessing, which the
     * address's count still bounds. */
    struct doors d;
    doors_init(&d, r, true, login);
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c)
        return reply_db_error(r, st);
    int wait_addr = 0, wait_login = 0;
    if ((st = throttle_take(c, &d.addr, &wait_addr)) != DB_OK)
        return reply_db_error(r, st);
    if (wait_addr > 0)
        return too_many(r, wait_addr);
    if ((st = throttle_take(c, &d.login, &wait_login)) != DB_OK)
        return reply_db_error(r, st);

    struct activate_ctx a = { .r = r, .login = login };
    char normal[13];
    /* A code that cannot be one is refused like a wrong one. */
    bool right = activation_code_normalise(code, normal);
    if (right) {
        secret_hash_hex(normal, a.code_hash);
        const char *p[] = { login, a.code_hash };
        int found = db_one(c, STMT_ACTIVATION_CHECK, p, NULL, &st);
        if (found < 0)
            return reply_db_error(r, st);
        right = found == 1;
    }
    if (!right) {
        if (wait_login > 0)
            return too_many(r, wait_login);
        return reply_problem(r, PROBLEM_ACTIVATION_FAILED, NULL);
    }
    request_db_release(r);

    char hash[crypto_pwhash_STRBYTES];
    if (crypto_pwhash_str(hash, password, strlen(password), crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        return reply_problem(r, PROBLEM_INTERNAL_ERROR, "out of memory hashing the password");
    a.password_hash = hash;

    c = request_db(r, &st);
    if (!c)
        return reply_db_error(r, st);
    st = db_transaction(c, activate_tx, &a);
    sodium_memzero(hash, sizeof hash);
    if (st == DB_ABORT) /* used by a parallel request meanwhile */
        return reply_problem(r, PROBLEM_ACTIVATION_FAILED, NULL);
    if (st != DB_OK) {
        json_decref(a.account);
        return reply_db_error(r, st);
    }
    doors_succeeded(r, &d);
    return reply_json(r, 200, json_pack("{s:o}", "account", a.account));
}

/* ------------------------------------------------------------------ */
/* login                                                               */
/* ------------------------------------------------------------------ */

/* A hash to verify against when the login is unknown, so that an unknown
 * login costs the same time as a wrong password. */
static char dummy_hash[crypto_pwhash_STRBYTES];
static pthread_once_t dummy_once = PTHREAD_ONCE_INIT;

static void make_dummy_hash(void)
{
    unsigned char pw[16];
    randombytes_buf(pw, sizeof pw);
    if (crypto_pwhash_str(dummy_hash, (const char *)pw, sizeof pw,
                          crypto_pwhash_OPSLIMIT_INTERACTIVE,
                          crypto_pwhash_MEMLIMIT_INTERACTIVE) != 0)
        dummy_hash[0] = '\0';
}

struct login_ctx {
    struct request *r;
    long long account_id;
    struct session_new session;
};

static enum db_status login_session_tx(struct db_conn *c, void *arg)
{
    struct login_ctx *l = arg;
    return session_create(c, l->r->cfg->session_ttl, l->r->request_id, l->account_id,
                          &l->session);
}

enum handler_result auth_login(struct request *r)
{
    struct validator v;
    validator_init(&v, r->json);
    const char *login = validate_string(&v, "login", true, 1, LOGIN_MAX_CHARS);
    const char *password = validate_string(&v, "password", true, 1, PASSWORD_MAX_CHARS);
    enum handler_result out;
    if (!validator_passed(r, &v, &out))
        return out;

    /* The attempt is counted against the login and the address before the
     * password is checked, so parallel attempts cannot pass the limit;
     * a locked key refuses even the right password (otherwise the back-off
     * would not slow guessing). */
    struct doors d;
    doors_init(&d, r, false, login);
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (!c)
        return reply_db_error(r, st);
    int wait = 0;
    if ((st = throttle_take(c, &d.login, &wait)) != DB_OK)
        return reply_db_error(r, st);
    if (wait > 0)
        return too_many(r, wait);
    if ((st = throttle_take(c, &d.addr, &wait)) != DB_OK)
        return reply_db_error(r, st);
    if (wait > 0) {
        /* Not tried: the login's count is given back. */
        throttle_refund(c, &d.login);
        return too_many(r, wait);
    }

    const char *params[] = { login };
    json_t *account = NULL;
    char stored[crypto_pwhash_STRBYTES] = "";
    long long id = 0;
    char *name = NULL, *shown = NULL;
    bool admin = false;
    const struct db_field spec[] = {
        DB_I64("id", &id), DB_TEXT_DUP("login", &name), DB_TEXT_DUP("display_name", &shown),
        DB_BOOL("is_admin", &admin), DB_TEXT_N("password_hash", stored), DB_END,
    };
    int found = db_one(c, STMT_ACCOUNT_BY_LOGIN, params, spec, &st);
    if (found < 0)
        return reply_db_error(r, st);
    if (found && stored[0]) /* no hash: not activated */
        account = json_pack("{s:I, s:s, s:s, s:b}", "id", (json_int_t)id, "login", name,
                            "display_name", shown, "is_admin", admin);
    free(name);
    free(shown);
    request_db_release(r);

    pthread_once(&dummy_once, make_dummy_hash);
    bool good = crypto_pwhash_str_verify(account ? stored : dummy_hash, password,
                                         strlen(password)) == 0 && account;
    if (!good) {
        json_decref(account);
        return reply_problem(r, PROBLEM_INVALID_CREDENTIALS, NULL);
    }

    struct login_ctx l = { .r = r };
    l.account_id = (long long)json_integer_value(json_object_get(account, "id"));
    c = request_db(r, &st);
    if (c)
        st = db_transaction(c, login_session_tx, &l);
    if (st != DB_OK) {
        json_decref(account);
        return reply_db_error(r, st);
    }
    doors_succeeded(r, &d);
    return reply_json(r, 200, json_pack("{s:s, s:s, s:o}", "token", l.session.token,
                                        "expires_at", l.session.expires_at, "account",
                                        account));
}

/* ------------------------------------------------------------------ */
/* logout, me                                                          */
/* ------------------------------------------------------------------ */

struct logout_ctx {
    struct request *r;
    const char *hash;
    long long account_id;
};

static enum db_status logout_tx(struct db_conn *c, void *arg)
{
    struct logout_ctx *l = arg;
    enum db_status st;
    const char *params[] = { l->hash };
    if ((st = db_run(c, STMT_SESSION_REVOKE, params, NULL)) != DB_OK)
        return st;
    char id[24];
    snprintf(id, sizeof id, "%lld", l->account_id);
    struct audit_entry e = { .actor = AUDIT_ACCOUNT, .actor_id = l->account_id,
                             .action = "session.revoke", .object_type = "account",
                             .object_id = id, .request_id = l->r->request_id };
    return audit_record(c, &e);
}

enum handler_result auth_logout(struct request *r)
{
    long long account_id;
    bool ok;
    enum handler_result res = session_require(r, &account_id, &ok);
    if (!ok)
        return res;
    char hash[HASH_HEX_CHARS + 1];
    secret_hash_hex(session_bearer(r), hash);
    struct logout_ctx l = { r, hash, account_id };
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    if (c)
        st = db_transaction(c, logout_tx, &l);
    if (st != DB_OK)
        return reply_db_error(r, st);
    return reply_empty(r, 204);
}

enum handler_result auth_me(struct request *r)
{
    long long account_id;
    bool ok;
    enum handler_result hr = session_require(r, &account_id, &ok);
    if (!ok)
        return hr;
    enum db_status st;
    struct db_conn *c = request_db(r, &st);
    char id[24];
    snprintf(id, sizeof id, "%lld", account_id);
    const char *params[] = { id };
    json_t *me;
    int found = db_json_one(c, STMT_ACCOUNT_BY_ID, params, account_cols, &me, &st);
    if (found < 0)
        return reply_db_error(r, st);
    if (found == 0)
        return reply_problem(r, PROBLEM_UNAUTHORIZED, NULL);
    static const struct db_json_col membership_cols[] = {
        DBJ("unit_id", "id", INT), DBJ("unit_name", "name", STRING),
        DBJ("roles", "roles", JSON), DBJ("portfolios", "portfolios", JSON), DBJ_DONE,
    };
    json_t *memberships = db_json_rows(c, STMT_MEMBERSHIPS_OF_ACCOUNT, params, membership_cols,
                                       &st);
    if (!memberships) {
        json_decref(me);
        return reply_db_error(r, st);
    }
    json_object_set_new(me, "memberships", memberships);
    return reply_json(r, 200, me);
}
