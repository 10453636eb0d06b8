/* The secrets table (domain/secret_store.h): the sealing is
 * crypto/secrets.c's, the rows are read and written here. */
#include "domain/secret_store.h"

#include <sodium.h>
#include <string.h>

#include "db/rows.h"
#include "util/hex.h"
#include "util/log.h"

/* Reads the row for name: 1 found and opened, 0 absent, -1 failed. */
static int load(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES], const char *name,
                unsigned char out[SECRET_BYTES], enum secret_status *ss, enum db_status *st)
{
    const char *params[] = { name };
    /* One byte more than the hex of each, so that a longer value is a
     * failed read rather than a truncated one. */
    char nonce_hex[2 * SECRET_NONCE_BYTES + 2], sealed_hex[2 * SECRET_SEALED_BYTES + 2];
    const struct db_field spec[] = { DB_TEXT("nonce", nonce_hex), DB_TEXT("sealed", sealed_hex),
                                     DB_END };
    int found = db_one(c, STMT_SECRET_GET, params, spec, st);
    if (found <= 0) {
        if (found < 0)
            *ss = SECRET_DB_FAILED;
        return found;
    }
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES];
    bool ok = hex_to_bytes(nonce_hex, nonce, sizeof nonce) &&
              hex_to_bytes(sealed_hex, sealed, sizeof sealed) &&
              secret_open(master, name, nonce, sealed, sizeof sealed, out);
    if (!ok) {
        log_msg(LOG_ERROR,
                "could not decrypt secret \"%s\" stored in the database: the master key "
                "(MASTER_KEY or MASTER_KEY_FILE) is not the one it was stored under",
                name);
        *ss = SECRET_WRONG_KEY;
        return -1;
    }
    return 1;
}

enum secret_status secret_get(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              const char *name, unsigned char out[SECRET_BYTES],
                              enum db_status *st)
{
    *st = DB_OK;
    if (!secret_name_valid(name))
        return SECRET_BAD_NAME;
    enum secret_status ss = SECRET_OK;
    int found = load(c, master, name, out, &ss, st);
    return found > 0 ? SECRET_OK : found == 0 ? SECRET_NOT_FOUND : ss;
}

enum secret_status secret_get_or_create(struct db_conn *c,
                                        const unsigned char master[MASTER_KEY_BYTES],
                                        const char *name, unsigned char out[SECRET_BYTES],
                                        enum db_status *st)
{
    *st = DB_OK;
    if (!secret_name_valid(name))
        return SECRET_BAD_NAME;
    enum secret_status ss = SECRET_OK;
    /* Almost always the row exists: one read, no write. */
    int found = load(c, master, name, out, &ss, st);
    if (found != 0)
        return found > 0 ? SECRET_OK : ss;

    unsigned char fresh[SECRET_BYTES], nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES];
    randombytes_buf(fresh, sizeof fresh);
    secret_seal(master, name, fresh, nonce, sealed);
    sodium_memzero(fresh, sizeof fresh);
    char nonce_hex[2 * SECRET_NONCE_BYTES + 1], sealed_hex[2 * SECRET_SEALED_BYTES + 1];
    sodium_bin2hex(nonce_hex, sizeof nonce_hex, nonce, sizeof nonce);
    sodium_bin2hex(sealed_hex, sizeof sealed_hex, sealed, sizeof sealed);
    const char *params[] = { name, nonce_hex, sealed_hex };
    /* Whoever inserts first wins; everyone then reads the winner's row. */
    *st = db_run(c, STMT_SECRET_INSERT, params, NULL);
    if (*st != DB_OK)
        return SECRET_DB_FAILED;
    found = load(c, master, name, out, &ss, st);
    if (found == 0) { /* inserted or present, yet not there: a bug */
        *st = DB_ERROR;
        return SECRET_DB_FAILED;
    }
    return found > 0 ? SECRET_OK : ss;
}

enum secret_status signing_key_load(struct db_conn *c,
                                    const unsigned char master[MASTER_KEY_BYTES],
                                    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                                    unsigned char sk[SIGNING_SECRET_KEY_BYTES],
                                    enum db_status *st)
{
    unsigned char seed[SECRET_BYTES];
    enum secret_status ss = secret_get_or_create(c, master, SIGNING_SEED_NAME, seed, st);
    if (ss == SECRET_OK)
        signing_key_derive(seed, pk, sk);
    sodium_memzero(seed, sizeof seed);
    return ss;
}
