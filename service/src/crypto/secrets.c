/* Secrets sealed under the master key. Plaintext lives only in buffers the
 * caller owns and wipes; nothing here logs a secret or a key. */
#include "crypto/secrets.h"

#include <string.h>

#include "util/log.h"

static const char box_key_label[] = "yijian secret v1";

bool secret_name_valid(const char *name)
{
    size_t n = strlen(name);
    if (n == 0 || n > SECRET_NAME_MAX)
        return false;
    for (size_t i = 0; i < n; i++) {
        char ch = name[i];
        bool alnum = (ch >= 'a' && ch <= 'z') || (ch >= '0' && ch <= '9');
        if (!alnum && (i == 0 || !strchr(":._-", ch)))
            return false;
    }
    return true;
}

/* One box key per name, so that rows cannot be swapped between names. */
static void box_key(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                    unsigned char key[crypto_secretbox_KEYBYTES])
{
    crypto_generichash_state h;
    crypto_generichash_init(&h, master, MASTER_KEY_BYTES, crypto_secretbox_KEYBYTES);
    crypto_generichash_update(&h, (const unsigned char *)box_key_label, sizeof box_key_label);
    crypto_generichash_update(&h, (const unsigned char *)name, strlen(name));
    crypto_generichash_final(&h, key, crypto_secretbox_KEYBYTES);
    sodium_memzero(&h, sizeof h);
}

void secret_seal_bytes(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                       const unsigned char *data, size_t len,
                       unsigned char nonce[SECRET_NONCE_BYTES], unsigned char *sealed)
{
    unsigned char key[crypto_secretbox_KEYBYTES];
    box_key(master, name, key);
    randombytes_buf(nonce, SECRET_NONCE_BYTES);
    crypto_secretbox_easy(sealed, data, len, nonce, key);
    sodium_memzero(key, sizeof key);
}

bool secret_open_bytes(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                       const unsigned char nonce[SECRET_NONCE_BYTES], const unsigned char *sealed,
                       size_t sealed_len, unsigned char *out)
{
    if (sealed_len < crypto_secretbox_MACBYTES)
        return false;
    unsigned char key[crypto_secretbox_KEYBYTES];
    box_key(master, name, key);
    int rc = crypto_secretbox_open_easy(out, sealed, sealed_len, nonce, key);
    sodium_memzero(key, sizeof key);
    if (rc != 0) {
        sodium_memzero(out, sealed_len - crypto_secretbox_MACBYTES);
        return false;
    }
    return true;
}

void secret_seal(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                 const unsigned char secret[SECRET_BYTES],
                 unsigned char nonce[SECRET_NONCE_BYTES],
                 unsigned char sealed[SECRET_SEALED_BYTES])
{
    secret_seal_bytes(master, name, secret, SECRET_BYTES, nonce, sealed);
}

bool secret_open(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                 const unsigned char nonce[SECRET_NONCE_BYTES], const unsigned char *sealed,
                 size_t sealed_len, unsigned char out[SECRET_BYTES])
{
    if (sealed_len != SECRET_SEALED_BYTES || !secret_open_bytes(master, name, nonce, sealed,
                                                                 sealed_len, out)) {
        sodium_memzero(out, SECRET_BYTES);
        return false;
    }
    return true;
}

/* ------------------------------------------------------------------ */
/* the secrets table                                                   */
/* ------------------------------------------------------------------ */

/* Strict lowercase hex of exactly len bytes, as encode(x, 'hex') gives. */
static bool from_hex(const char *hex, unsigned char *out, size_t len)
{
    size_t n = 0;
    const char *end = NULL;
    size_t hex_len = strlen(hex);
    return hex_len == 2 * len && sodium_hex2bin(out, len, hex, hex_len, NULL, &n, &end) == 0 &&
           n == len && end == hex + hex_len;
}

/* Reads the row for name: 1 found and opened, 0 absent, -1 failed. */
static int load(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES], const char *name,
                unsigned char out[SECRET_BYTES], enum secret_status *ss, enum db_status *st)
{
    const char *params[] = { name };
    PGresult *res = db_exec(c, STMT_SECRET_GET, params, st);
    if (!res) {
        *ss = SECRET_DB_FAILED;
        return -1;
    }
    if (PQntuples(res) == 0) {
        PQclear(res);
        return 0;
    }
    unsigned char nonce[SECRET_NONCE_BYTES], sealed[SECRET_SEALED_BYTES];
    bool ok = from_hex(PQgetvalue(res, 0, 0), nonce, sizeof nonce) &&
              from_hex(PQgetvalue(res, 0, 1), sealed, sizeof sealed) &&
              secret_open(master, name, nonce, sealed, sizeof sealed, out);
    PQclear(res);
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
    PGresult *res = db_exec(c, STMT_SECRET_INSERT, params, st);
    if (!res)
        return SECRET_DB_FAILED;
    PQclear(res);
    found = load(c, master, name, out, &ss, st);
    if (found == 0) { /* inserted or present, yet not there: a bug */
        *st = DB_ERROR;
        return SECRET_DB_FAILED;
    }
    return found > 0 ? SECRET_OK : ss;
}
