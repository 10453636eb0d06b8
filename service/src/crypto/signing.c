/* The Ed25519 signing key from its sealed seed. The secret key lives only
 * in buffers the caller owns and wipes. */
#include "crypto/signing.h"

void signing_key_derive(const unsigned char seed[SECRET_BYTES],
                        unsigned char pk[SIGNING_PUBLIC_KEY_BYTES],
                        unsigned char sk[SIGNING_SECRET_KEY_BYTES])
{
    crypto_sign_seed_keypair(pk, sk, seed);
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
