/* Named 32-byte secrets kept in the database, sealed with crypto_secretbox
 * under the master key, so that every instance shares them (DESIGN §5). */
#ifndef YIJIAN_CRYPTO_SECRETS_H
#define YIJIAN_CRYPTO_SECRETS_H

#include <sodium.h>
#include <stdbool.h>
#include <stddef.h>

#define MASTER_KEY_BYTES 32
#define SECRET_BYTES 32
#define SECRET_NONCE_BYTES crypto_secretbox_NONCEBYTES                     /* 24 */
#define SECRET_SEALED_BYTES (SECRET_BYTES + crypto_secretbox_MACBYTES)      /* 48 */
#define SECRET_NAME_MAX 100 /* [a-z0-9][a-z0-9:._-]*, as the table's CHECK */

enum secret_status {
    SECRET_OK = 0,
    SECRET_DB_FAILED, /* the database failed (domain/secret_store.h): *st says how */
    SECRET_WRONG_KEY, /* stored, but does not open under this master key */
    SECRET_BAD_NAME,  /* not a name the table accepts */
    SECRET_NOT_FOUND, /* secret_get only: no such secret */
};

/* True when name is 1..SECRET_NAME_MAX of [a-z0-9:._-], starting with a
 * letter or digit. */
bool secret_name_valid(const char *name);

/*
 * Seals secret under master for name with a fresh random nonce. The box key
 * is BLAKE2b-256 keyed with master over "yijian secret v1" || 0 || name, so
 * that a sealed value copied under another name does not open.
 */
void secret_seal(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                 const unsigned char secret[SECRET_BYTES],
                 unsigned char nonce[SECRET_NONCE_BYTES],
                 unsigned char sealed[SECRET_SEALED_BYTES]);

/*
 * The same for len bytes of any length (a webhook's URL and secret):
 * sealed receives len + crypto_secretbox_MACBYTES bytes. secret_open_bytes
 * writes sealed_len - crypto_secretbox_MACBYTES bytes to out; false (out
 * zeroed) when it does not authenticate.
 */
void secret_seal_bytes(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                       const unsigned char *data, size_t len,
                       unsigned char nonce[SECRET_NONCE_BYTES], unsigned char *sealed);
bool secret_open_bytes(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                       const unsigned char nonce[SECRET_NONCE_BYTES], const unsigned char *sealed,
                       size_t sealed_len, unsigned char *out);

/*
 * Opens what secret_seal made. Returns false, with out zeroed, when sealed
 * is not SECRET_SEALED_BYTES long or does not authenticate under master and
 * name (a wrong master key, another name, tampering).
 */
bool secret_open(const unsigned char master[MASTER_KEY_BYTES], const char *name,
                 const unsigned char nonce[SECRET_NONCE_BYTES], const unsigned char *sealed,
                 size_t sealed_len, unsigned char out[SECRET_BYTES]);

#endif
