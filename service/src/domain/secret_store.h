/* The shared secrets as rows of the secrets table: each sealed under the
 * master key (crypto/secrets.h), created by the first instance that asks,
 * and the signing key made from its seed (crypto/signing.h). */
#ifndef YIJIAN_DOMAIN_SECRET_STORE_H
#define YIJIAN_DOMAIN_SECRET_STORE_H

#include "crypto/secrets.h"
#include "crypto/signing.h"
#include "db/db.h"

/*
 * The secret called name if it exists (SECRET_NOT_FOUND if not): nothing
 * is ever written. For a lookup driven by what a client sent, which must
 * not create anything (a token naming an epoch that never had a key).
 */
enum secret_status secret_get(struct db_conn *c, const unsigned char master[MASTER_KEY_BYTES],
                              const char *name, unsigned char out[SECRET_BYTES],
                              enum db_status *st);

/*
 * The secret called name, created with random bytes the first time any
 * instance asks: INSERT ... ON CONFLICT DO NOTHING, then SELECT, so that
 * concurrent callers everywhere get the one value that was stored first.
 * Run it outside a transaction (or in READ COMMITTED) so that the SELECT
 * sees a row another instance committed meanwhile. On SECRET_WRONG_KEY the
 * reason is logged. The caller wipes out (sodium_memzero) when done.
 */
enum secret_status secret_get_or_create(struct db_conn *c,
                                        const unsigned char master[MASTER_KEY_BYTES],
                                        const char *name, unsigned char out[SECRET_BYTES],
                                        enum db_status *st);

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
