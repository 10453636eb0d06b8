/* The service's Ed25519 signing key, shared by every instance: its 32-byte
 * seed is the secret "signing-key:ed25519" (crypto/secrets.h). It signs the
 * audit checkpoints and, later, the bulletins. */
#ifndef YIJIAN_CRYPTO_SIGNING_H
#define YIJIAN_CRYPTO_SIGNING_H

#include <sodium.h>

#include "crypto/secrets.h"
#include "db/db.h"

#define SIGNING_PUBLIC_KEY_BYTES crypto_sign_PUBLICKEYBYTES /* 32 */
#define SIGNING_SECRET_KEY_BYTES crypto_sign_SECRETKEYBYTES /* 64 */
#define SIGNATURE_BYTES crypto_sign_BYTES                   /* 64 */
#define SIGNING_SEED_NAME "signing-key:ed25519"

/* The key pair of a seed: crypto_sign_seed_keypair. */
void signing_key_derive(const unsigned char seed[SECRET_BYTES],
                        unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                        unsigned char sk[SIGNING_SECRET_KEY_BYTES]);

/*
 * The service's key pair; the seed is created by whichever instance asks
 * first. Call it outside a transaction (secret_get_or_create). On anything
 * but SECRET_OK nothing is in pk and sk. The caller wipes sk
 * (sodium_memzero) when done.
 */
enum secret_status signing_key_load(struct db_conn *c,
                                    const unsigned char master[MASTER_KEY_BYTES],
                                    unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                                    unsigned char sk[SIGNING_SECRET_KEY_BYTES],
                                    enum db_status *st);

#endif
