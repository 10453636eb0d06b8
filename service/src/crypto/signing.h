/* The service's Ed25519 signing key, shared by every instance: its 32-byte
 * seed is the secret "signing-key:ed25519" (crypto/secrets.h). It signs the
 * audit checkpoints and, later, the bulletins. */
#ifndef YIJIAN_CRYPTO_SIGNING_H
#define YIJIAN_CRYPTO_SIGNING_H

#include <sodium.h>

#include "crypto/secrets.h"

#define SIGNING_PUBLIC_KEY_BYTES crypto_sign_PUBLICKEYBYTES /* 32 */
#define SIGNING_SECRET_KEY_BYTES crypto_sign_SECRETKEYBYTES /* 64 */
#define SIGNATURE_BYTES crypto_sign_BYTES                   /* 64 */
#define SIGNING_SEED_NAME "signing-key:ed25519"

/* The key pair of a seed: crypto_sign_seed_keypair. */
void signing_key_derive(const unsigned char seed[SECRET_BYTES],
                        unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                        unsigned char sk[SIGNING_SECRET_KEY_BYTES]);


#endif
