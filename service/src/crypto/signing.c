/* The Ed25519 signing key from its sealed seed. The secret key lives only
 * in buffers the caller owns and wipes. */
#include "crypto/signing.h"

void signing_key_derive(const unsigned char seed[SECRET_BYTES],
                        unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                        unsigned char sk[SIGNING_SECRET_KEY_BYTES])
{
    crypto_sign_seed_keypair(pk, sk, seed);
}
