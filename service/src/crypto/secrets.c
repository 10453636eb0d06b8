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
